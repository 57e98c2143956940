package timeline

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Window widths.
const (
	DefaultWidth = time.Second
	MinWidth     = 100 * time.Millisecond
	// MaxWindows bounds how far past Start a timeline reaches (≈ 12 days at
	// 1 s, 29 h at 100 ms); results later than that are counted as Outside.
	MaxWindows = 1 << 20
)

// Result is one finished request, as the timeline needs it.
type Result struct {
	// Due is when the rate plan asked for the request (its intended send
	// time): it decides the window. Zero means Start.
	Due time.Time
	// Start is when a worker actually started the request (zero for a
	// ClassNotSent hit, which never started).
	Start time.Time
	// Latency runs from Due (zero: from Start) until the response was read
	// or the request failed: what a user who asked at Due waited, queueing
	// in the load generator included (coordinated-omission corrected).
	Latency time.Duration
	// Service runs from Start: the time the request itself took once sent.
	// Ignored for ClassNotSent.
	Service time.Duration
	Class   Class
	AZ      string // AZ of the load balancer node it went to, "" if unknown
	// TargetAZ is the AZ of the target that served or should have served
	// it (what the response said; the node's AZ when nothing did).
	TargetAZ string
	BytesIn  uint64
	BytesOut uint64
}

// AZCounts are per-AZ request counts inside a window or aggregate.
type AZCounts struct {
	Requests  uint64 `json:"requests"`
	Successes uint64 `json:"successes"`
	Errors    uint64 `json:"errors"`
}

// Sample summarises one probe's samples inside a window.
type Sample struct {
	Last   float64   `json:"last"`
	LastAt time.Time `json:"last_at"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	N      uint64    `json:"n"`
}

func (s *Sample) add(t time.Time, v float64) {
	if s.N == 0 {
		s.Min, s.Max = v, v
	} else {
		s.Min, s.Max = math.Min(s.Min, v), math.Max(s.Max, v)
	}
	if s.N == 0 || !t.Before(s.LastAt) {
		s.Last, s.LastAt = v, t
	}
	s.N++
}

// Counts are the additive request counters shared by a Window and an
// Aggregate.
type Counts struct {
	// Requests counts every request except ClassAborted ones.
	Requests  uint64      `json:"requests"`
	Successes uint64      `json:"successes"`
	Classes   ClassCounts `json:"classes"` // includes aborted
	BytesIn   uint64      `json:"bytes_in"`
	BytesOut  uint64      `json:"bytes_out"`
	// Latency holds every non-aborted request's latency, failures included
	// (a refused connection is fast, a timeout is as slow as the timeout);
	// OKLatency only successful requests'. Steady-state latency thresholds
	// should normally read OKLatency. Both measure from the intended send
	// time (Result.Latency). OKService holds successful requests' service
	// time (Result.Service, from the actual start), shown beside it.
	Latency   Histogram            `json:"latency"`
	OKLatency Histogram            `json:"ok_latency"`
	OKService Histogram            `json:"ok_service"`
	AZ        map[string]*AZCounts `json:"az,omitempty"`
	// TargetAZ counts the same requests by Result.TargetAZ.
	TargetAZ map[string]*AZCounts `json:"target_az,omitempty"`
}

// Per-AZ counters are keyed by a name the request carried: the load
// balancer node's AZ, and the AZ a response header named (Result.TargetAZ),
// which the application under test writes. So that a misbehaving
// application (a header that changes per response) cannot grow a window per
// request, one Counts keeps at most MaxAZs names, each at most MaxAZName
// bytes long; requests with any further or longer name are counted under
// AZOther. A region has at most six AZs, so real runs never reach the bound,
// and within it merging stays exact.
const (
	MaxAZs    = 32
	MaxAZName = 64
	AZOther   = "(other)"
)

// azCounter returns the counters of az in *m, creating the map and the
// entry as needed, and folding a name beyond the bounds into AZOther.
func azCounter(m *map[string]*AZCounts, az string) *AZCounts {
	if *m == nil {
		*m = make(map[string]*AZCounts, 4)
	}
	if a := (*m)[az]; a != nil {
		return a
	}
	names := len(*m)
	other := (*m)[AZOther]
	if other != nil {
		names--
	}
	if len(az) > MaxAZName || names >= MaxAZs {
		if other != nil {
			return other
		}
		az = AZOther
	}
	a := &AZCounts{}
	(*m)[strings.Clone(az)] = a // not pinning whatever buffer the name came in
	return a
}

func (a *AZCounts) count(ok bool) {
	a.Requests++
	if ok {
		a.Successes++
	} else {
		a.Errors++
	}
}

func mergeAZ(dst *map[string]*AZCounts, src map[string]*AZCounts) {
	for az, a := range src {
		m := azCounter(dst, az)
		m.Requests += a.Requests
		m.Successes += a.Successes
		m.Errors += a.Errors
	}
}

// azIndex finds a window's per-AZ counters without hashing: the few names a
// window sees, each with the counters the Counts map holds for it, compared
// in order (the strings of one AZ usually share their bytes, so a compare is
// a pointer check). Names beyond its length are looked up in the map.
type azIndex []azEntry

type azEntry struct {
	name string
	c    *AZCounts
}

const azIndexLen = 8

func (x *azIndex) get(m *map[string]*AZCounts, az string) *AZCounts {
	for i := range *x {
		if (*x)[i].name == az {
			return (*x)[i].c
		}
	}
	a := azCounter(m, az)
	if len(*x) < azIndexLen && len(az) <= MaxAZName {
		*x = append(*x, azEntry{az, a}) // the caller's string: the next compare is often a pointer check
	}
	return a
}

// Errors is Requests minus Successes.
func (c *Counts) Errors() uint64 { return c.Requests - c.Successes }

// SuccessRatio is Successes/Requests, or 1 when there were no requests
// (callers decide whether an empty window is healthy).
func (c *Counts) SuccessRatio() float64 {
	if c.Requests == 0 {
		return 1
	}
	return float64(c.Successes) / float64(c.Requests)
}

// add counts r.
func (c *Counts) add(r *Result) {
	counted, ok := c.addNoAZ(r)
	if !counted {
		return
	}
	if r.AZ != "" {
		azCounter(&c.AZ, r.AZ).count(ok)
	}
	if r.TargetAZ != "" {
		azCounter(&c.TargetAZ, r.TargetAZ).count(ok)
	}
}

// addNoAZ counts r but for its AZs; it returns whether r counts as a
// request and whether it succeeded.
func (c *Counts) addNoAZ(r *Result) (counted, ok bool) {
	c.Classes.Add(r.Class, 1)
	if r.Class == ClassAborted {
		return false, false
	}
	ok = r.Class.Success()
	c.Requests++
	c.BytesIn += r.BytesIn
	c.BytesOut += r.BytesOut
	lat := nanos(r.Latency)
	li := bucketOf(lat)
	c.Latency.record(lat, li)
	if ok {
		c.Successes++
		c.OKLatency.record(lat, li) // same value: one bucket lookup for both
		c.OKService.Record(r.Service)
	}
	return true, ok
}

func (c *Counts) merge(o *Counts) {
	c.Requests += o.Requests
	c.Successes += o.Successes
	c.Classes.Merge(&o.Classes)
	c.BytesIn += o.BytesIn
	c.BytesOut += o.BytesOut
	c.Latency.Merge(&o.Latency)
	c.OKLatency.Merge(&o.OKLatency)
	c.OKService.Merge(&o.OKService)
	mergeAZ(&c.TargetAZ, o.TargetAZ)
	mergeAZ(&c.AZ, o.AZ)
}

// Window is one fixed slice [Start, Start+Width) of the run.
type Window struct {
	Index int       `json:"index"`
	Start time.Time `json:"start"`
	Counts
	// Samples: probe name → summary of its samples taken in this window.
	Samples map[string]*Sample `json:"samples,omitempty"`

	// az and targetAZ index the entries of Counts.AZ and Counts.TargetAZ
	// for Add; so a window's Counts change only through its Timeline.
	az, targetAZ azIndex
}

// add counts one request in the window.
func (w *Window) add(r *Result) {
	counted, ok := w.addNoAZ(r)
	if !counted {
		return
	}
	if r.AZ != "" {
		w.az.get(&w.AZ, r.AZ).count(ok)
	}
	if r.TargetAZ != "" {
		w.targetAZ.get(&w.TargetAZ, r.TargetAZ).count(ok)
	}
}

// Event is something that happened at one instant: a fault applied, a phase
// starting, a probe changing state.
type Event struct {
	Time   time.Time `json:"time"`
	Kind   string    `json:"kind"`
	Name   string    `json:"name"`
	Detail string    `json:"detail,omitempty"`
}

// Timeline is the run's time series: fixed windows of Width starting at
// Start, plus a list of events. Memory is O(windows), never O(requests).
//
// A request is placed in the window of its DUE time (the moment the rate
// plan asked for it; its start time when no due time is known), so a slow
// or late request counts against the moment users asked, not the moment
// they gave up, and every hit of the plan, sent or not, lands inside the
// plan's span; as a consequence a window is only final once every request
// due in it has finished (see Settled). Samples are placed by their own timestamp.
// Results and samples before Start, or more than MaxWindows windows after it,
// are not placed; they are counted by Outside.
//
// Concurrency: a Timeline is not safe for concurrent use. One goroutine owns
// it and does every Add/AddSample/AddEvent and every read (the runner funnels
// attack results, probe samples and fault events into one goroutine); anyone
// else must synchronise externally. Pointers returned by Window/Windows are
// views into live state, valid to read only from that goroutine.
type Timeline struct {
	Start time.Time
	Width time.Duration

	windows []*Window
	events  []Event
	outside uint64
}

// New returns an empty timeline. A zero width means DefaultWidth; widths
// below MinWidth are an error.
func New(start time.Time, width time.Duration) (*Timeline, error) {
	if width == 0 {
		width = DefaultWidth
	}
	if width < MinWidth {
		return nil, fmt.Errorf("timeline: window width %s is below the minimum %s", width, MinWidth)
	}
	if start.IsZero() {
		return nil, errors.New("timeline: zero start time")
	}
	return &Timeline{Start: start, Width: width}, nil
}

// index returns the window index of t, or -1 if t is outside the timeline.
func (t *Timeline) index(ts time.Time) int {
	d := ts.Sub(t.Start)
	if d < 0 {
		return -1
	}
	i := d / t.Width
	if i >= MaxWindows {
		return -1
	}
	return int(i)
}

func (t *Timeline) window(i int) *Window {
	for len(t.windows) <= i {
		n := len(t.windows)
		t.windows = append(t.windows, &Window{Index: n, Start: t.Start.Add(time.Duration(n) * t.Width)})
	}
	return t.windows[i]
}

// Add places one finished request in the window of its due time (of its
// start time when Due is zero).
func (t *Timeline) Add(r Result) {
	if r.Due.IsZero() { // no intended time: latency is service time
		r.Due = r.Start
		if r.Service == 0 {
			r.Service = r.Latency
		}
	}
	i := t.index(r.Due)
	if i < 0 {
		t.outside++
		return
	}
	t.window(i).add(&r)
}

// AddSample records probe sample v of the named probe taken at ts; per window
// it keeps the last (by timestamp), min, max and count.
func (t *Timeline) AddSample(name string, ts time.Time, v float64) {
	i := t.index(ts)
	if i < 0 {
		t.outside++
		return
	}
	w := t.window(i)
	if w.Samples == nil {
		w.Samples = make(map[string]*Sample, 4)
	}
	s := w.Samples[name]
	if s == nil {
		s = &Sample{}
		w.Samples[name] = s
	}
	s.add(ts, v)
}

// AddEvent records an event. Events are kept whatever their time (also
// before Start) and returned sorted by time.
func (t *Timeline) AddEvent(ts time.Time, kind, name, detail string) {
	t.events = append(t.events, Event{Time: ts, Kind: kind, Name: name, Detail: detail})
}

// Events returns every event sorted by time (ties keep insertion order).
func (t *Timeline) Events() []Event {
	ev := append([]Event(nil), t.events...)
	sort.SliceStable(ev, func(i, j int) bool { return ev[i].Time.Before(ev[j].Time) })
	return ev
}

// EventsIn returns the events with from ≤ Time < to, sorted by time.
func (t *Timeline) EventsIn(from, to time.Time) []Event {
	var out []Event
	for _, e := range t.Events() {
		if !e.Time.Before(from) && e.Time.Before(to) {
			out = append(out, e)
		}
	}
	return out
}

// Outside counts results and samples that fell outside the timeline.
func (t *Timeline) Outside() uint64 { return t.outside }

// Len is the number of windows, up to the last one that holds anything.
func (t *Timeline) Len() int { return len(t.windows) }

// Window returns window i (an empty one if nothing reached it yet, without
// growing the timeline), or nil if i < 0.
func (t *Timeline) Window(i int) *Window {
	if i < 0 {
		return nil
	}
	if i < len(t.windows) {
		return t.windows[i]
	}
	return &Window{Index: i, Start: t.Start.Add(time.Duration(i) * t.Width)}
}

// Windows returns every window in order, gaps included (as empty windows).
func (t *Timeline) Windows() []*Window { return t.windows }

// IndexOf returns the index of the window holding ts, -1 if ts < Start.
func (t *Timeline) IndexOf(ts time.Time) int {
	if ts.Before(t.Start) {
		return -1
	}
	return int(ts.Sub(t.Start) / t.Width)
}

// Settled returns how many leading windows can no longer change at time now,
// given that every request is delivered within maxLatency of its due time
// (the load generator bounds it by the request timeout: a hit not started
// by then is delivered as not sent, a started one is cancelled then):
// window i is settled once Start+(i+1)·Width+maxLatency ≤ now.
func (t *Timeline) Settled(now time.Time, maxLatency time.Duration) int {
	d := now.Sub(t.Start) - maxLatency
	if d < 0 {
		return 0
	}
	return int(d / t.Width)
}

// Aggregate is the merge of a run of windows.
type Aggregate struct {
	From    time.Time `json:"from"` // start of the first window included
	To      time.Time `json:"to"`   // end of the last window included
	Windows int       `json:"windows"`
	Counts
}

// Aggregate merges the windows whose start lies in [from, to): phase
// boundaries are thereby rounded to window boundaries. Empty windows in the
// range count in Windows. From/To are the rounded bounds.
func (t *Timeline) Aggregate(from, to time.Time) Aggregate {
	first := 0
	if from.After(t.Start) {
		d := from.Sub(t.Start)
		first = int((d + t.Width - 1) / t.Width) // first window starting at or after from
	}
	last := -1 // last window starting before to
	if to.After(t.Start) {
		d := to.Sub(t.Start)
		last = int((d+t.Width-1)/t.Width) - 1
	}
	return t.AggregateIndex(first, last+1)
}

// AggregateIndex merges windows [first, end).
func (t *Timeline) AggregateIndex(first, end int) Aggregate {
	first = max(first, 0)
	end = max(end, first)
	a := Aggregate{
		From:    t.Start.Add(time.Duration(first) * t.Width),
		To:      t.Start.Add(time.Duration(end) * t.Width),
		Windows: end - first,
	}
	for i := first; i < end && i < len(t.windows); i++ {
		a.Counts.merge(&t.windows[i].Counts)
	}
	return a
}

// Total merges every window.
func (t *Timeline) Total() Aggregate { return t.AggregateIndex(0, len(t.windows)) }
