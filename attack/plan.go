package attack

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Stage is one segment of a rate plan, in requests per second: constant when
// From == To, else a linear ramp from From to To over Duration.
type Stage struct {
	Duration time.Duration
	From, To float64
}

// Plan is a validated sequence of stages. Hit k (counting from 0) is due at
// the instant T_k where the integral of the rate from 0 to T_k equals k, so
// hit 0 goes at once and a constant r sends r·d hits in d.
type Plan struct {
	stages []Stage
	starts []time.Duration // start offset of each stage
	cum    []float64       // hits due before each stage starts; len = len(stages)+1
}

// NewPlan validates stages and returns their plan.
func NewPlan(stages []Stage) (*Plan, error) {
	if len(stages) == 0 {
		return nil, errors.New("rate plan: no stages")
	}
	p := &Plan{stages: stages, cum: []float64{0}}
	var errs []error
	var at time.Duration
	for i, s := range stages {
		if s.Duration <= 0 {
			errs = append(errs, fmt.Errorf("stages[%d].duration: must be positive, got %s", i, s.Duration))
		}
		for _, r := range []float64{s.From, s.To} {
			if r < 0 || math.IsNaN(r) || math.IsInf(r, 0) {
				errs = append(errs, fmt.Errorf("stages[%d]: rate %v must be a finite number ≥ 0", i, r))
			}
		}
		p.starts = append(p.starts, at)
		at += s.Duration
		p.cum = append(p.cum, p.cum[i]+(s.From+s.To)/2*s.Duration.Seconds())
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return p, nil
}

// Duration is the plan's total length.
func (p *Plan) Duration() time.Duration {
	n := len(p.stages) - 1
	return p.starts[n] + p.stages[n].Duration
}

// Peak is the highest rate the plan asks for.
func (p *Plan) Peak() float64 {
	var m float64
	for _, s := range p.stages {
		m = math.Max(m, math.Max(s.From, s.To))
	}
	return m
}

// stageAt returns the index of the stage running at t (clamped).
func (p *Plan) stageAt(t time.Duration) int {
	i := sort.Search(len(p.starts), func(i int) bool { return p.starts[i] > t }) - 1
	return max(i, 0)
}

// Rate is the instantaneous rate at t (0 outside the plan).
func (p *Plan) Rate(t time.Duration) float64 {
	if t < 0 || t >= p.Duration() {
		return 0
	}
	i := p.stageAt(t)
	s := p.stages[i]
	x := (t - p.starts[i]).Seconds()
	return s.From + (s.To-s.From)/s.Duration.Seconds()*x
}

// Hits is the integral of the rate over [0, t].
func (p *Plan) Hits(t time.Duration) float64 {
	if t <= 0 {
		return 0
	}
	if t >= p.Duration() {
		return p.cum[len(p.stages)]
	}
	i := p.stageAt(t)
	s := p.stages[i]
	x := (t - p.starts[i]).Seconds()
	a := (s.To - s.From) / s.Duration.Seconds()
	return p.cum[i] + s.From*x + a*x*x/2
}

// Asked is the number of hits due strictly before t: those the plan asked
// for in a run that lasted t.
func (p *Plan) Asked(t time.Duration) uint64 {
	h := p.Hits(t)
	if h <= 0 {
		return 0
	}
	return uint64(math.Ceil(h - 1e-9))
}

// Total is the number of hits in the whole plan.
func (p *Plan) Total() uint64 { return p.Asked(p.Duration() + 1) }

// Due returns when hit k is due, and false if k lies beyond the plan.
func (p *Plan) Due(k uint64) (time.Duration, bool) {
	kf := float64(k)
	n := len(p.stages)
	if kf >= p.cum[n]-1e-9 {
		return 0, false
	}
	// First stage whose cumulative end exceeds k.
	i := sort.Search(n, func(i int) bool { return p.cum[i+1] > kf })
	s := p.stages[i]
	rem := kf - p.cum[i]
	if rem <= 0 {
		return p.starts[i], true
	}
	a := (s.To - s.From) / s.Duration.Seconds()
	// Solve From·x + a·x²/2 = rem in the numerically stable form.
	disc := math.Max(s.From*s.From+2*a*rem, 0)
	x := 2 * rem / (s.From + math.Sqrt(disc))
	d := time.Duration(x * 1e9)
	d = min(max(d, 0), s.Duration)
	return p.starts[i] + d, true
}

// Pacer paces a vegeta attack along a Plan as an open model: every hit has a
// due time fixed by the plan, whatever happened to earlier hits. When the
// attacker falls behind (all MaxWorkers busy), a late hit is still sent as
// soon as a worker is free (its latency is then counted from its due time,
// see Hit.Latency); only the hits due more than MaxLag ago are skipped, as
// not sent, instead of being sent hopelessly late. Run sets MaxLag to half
// the request timeout (Config.MaxLag): a later start would leave the target
// too little of the user's timeout to be judged fairly.
//
// The Pacer also maps vegeta's sequence numbers to plan indexes (DueOf):
// vegeta sends one tick per Pace return and numbers results in tick order,
// so the tick Pace was called for with hits == c is plan hit c plus the hits
// skipped so far. Only the skips are recorded (as change points), so a run
// that keeps up costs nothing per hit. Two workers racing for vegeta's
// sequence lock can swap neighbouring sequence numbers: their due times are
// then swapped too, an error of one interval between hits (a whole skipped
// stretch only if the race straddles a skip).
//
// A Pacer is stateful and belongs to exactly one attack: vegeta calls Pace
// from a single goroutine; DueOf, TakeSkipped and Skipped are safe to call
// from others. It sleeps itself (returning a zero wait) so that closing Done
// stops the attack promptly even at low rates.
type Pacer struct {
	// Plan is what the pacer paces along: a whole *Plan, or one generator's
	// *Slice of it (then plan indexes below are the slice's own).
	Plan   Schedule
	MaxLag time.Duration
	// Done, when closed, makes Pace stop the attack (also mid-sleep).
	Done <-chan struct{}
	// Origin, when set, is the wall-clock time of the plan's t=0 (e.g. the
	// start of the run's timeline); zero means when Pace is first called.
	// A Pacer started after its Origin catches up (hits due meanwhile go at
	// once, or are skipped if more than MaxLag late).
	Origin time.Time
	// Skip, when non-nil, receives a token (without blocking) whenever Pace
	// skips hits, so that a consumer can collect them with TakeSkipped.
	Skip chan struct{}
	// KeepMarks bounds the seq → plan index change points kept while hits
	// are being skipped (default and minimum maxMarks); Index is exact for
	// the newest KeepMarks/2 sent ticks at least.
	KeepMarks int

	began   time.Time // wall clock of plan time 0
	whole   *Plan     // Plan when it is a whole *Plan: called directly, not through the interface
	shift   time.Duration
	stopped bool
	timer   *time.Timer

	mu      sync.Mutex
	dropped uint64
	// marks are the newest change points of the seq → plan index offset,
	// oldest first; floor is the newest one dropped to keep at most
	// maxMarks (a generator skipping hits for a long stretch adds one per
	// tick it sends).
	marks   []mark
	floor   mark
	pending []span // skipped plan indexes not yet taken
	// skipped is set once marks is not empty: until then Index is the
	// identity and takes no lock (a run that keeps up never skips).
	skipped atomic.Bool
}

// maxMarks is the default bound of Pacer.marks (16 bytes each). Index is
// asked about a tick as its request reaches the transport (or fails before
// it), so only the ticks workers hold between Pace and RoundTrip (at most
// the run's max workers) ever stand between the newest mark and the one
// Index needs: KeepMarks must exceed twice that (Run sets it so).
const maxMarks = 1 << 14

// mark: from vegeta sequence number seq on, plan index = seq + off.
type mark struct{ seq, off uint64 }

// span is the plan indexes [from, to).
type span struct{ from, to uint64 }

var _ vegeta.Pacer = (*Pacer)(nil)

// DefaultMaxLag is how late a hit may be sent before it counts as not sent,
// for a Pacer made by NewPacer (Run uses the request timeout instead).
const DefaultMaxLag = 50 * time.Millisecond

// NewPacer returns a pacer for plan with the default MaxLag.
func NewPacer(plan *Plan) *Pacer { return &Pacer{Plan: plan, MaxLag: DefaultMaxLag} }

// Pace implements vegeta.Pacer.
func (p *Pacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if p.began.IsZero() {
		p.whole, _ = p.Plan.(*Plan)
		p.began = time.Now().Add(-elapsed)
		if !p.Origin.IsZero() && p.Origin.Before(p.began) {
			p.shift = p.began.Sub(p.Origin)
			p.began = p.Origin
		}
	}
	if p.stopped || p.isDone() {
		p.stopped = true
		return 0, true
	}
	t := elapsed + p.shift // plan time
	p.mu.Lock()
	pos := hits + p.dropped
	if t > p.MaxLag {
		if late := min(p.asked(t-p.MaxLag), p.total()); late > pos {
			p.pending = append(p.pending, span{pos, late})
			p.dropped += late - pos
			if keep := max(p.KeepMarks, maxMarks); len(p.marks) >= keep { // drop the older half, keep the newest dropped
				p.floor = p.marks[keep/2-1]
				p.marks = append(p.marks[:0], p.marks[keep/2:]...)
			}
			p.marks = append(p.marks, mark{hits, p.dropped})
			p.skipped.Store(true)
			pos = late
			if p.Skip != nil {
				select {
				case p.Skip <- struct{}{}:
				default:
				}
			}
		}
	}
	p.mu.Unlock()
	due, ok := p.due(pos)
	if !ok {
		p.stopped = true
		return 0, true
	}
	wait := due - t
	if wait < time.Millisecond || p.Done == nil {
		return max(wait, 0), false // vegeta sleeps (or not at all)
	}
	if p.timer == nil {
		p.timer = time.NewTimer(wait)
	} else {
		p.timer.Reset(wait)
	}
	select {
	case <-p.timer.C:
		return 0, false
	case <-p.Done:
		p.timer.Stop()
		p.stopped = true
		return 0, true
	}
}

// asked, total and due call the whole plan directly when the pacer paces
// one (the hot path of a single-machine run), the Schedule otherwise.
func (p *Pacer) asked(t time.Duration) uint64 {
	if p.whole != nil {
		return p.whole.Asked(t)
	}
	return p.Plan.Asked(t)
}

func (p *Pacer) total() uint64 {
	if p.whole != nil {
		return p.whole.Total()
	}
	return p.Plan.Total()
}

func (p *Pacer) due(k uint64) (time.Duration, bool) {
	if p.whole != nil {
		return p.whole.Due(k)
	}
	return p.Plan.Due(k)
}

func (p *Pacer) isDone() bool {
	if p.Done == nil {
		return false
	}
	select {
	case <-p.Done:
		return true
	default:
		return false
	}
}

// Rate implements vegeta.Pacer.
func (p *Pacer) Rate(elapsed time.Duration) float64 { return p.Plan.Rate(elapsed + p.shift) }

// Dropped is the number of hits skipped for being more than MaxLag late.
func (p *Pacer) Dropped() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dropped
}

// Index returns the plan index of the hit vegeta numbered seq. Call it only
// for a seq whose tick was sent (Pace has run for it).
func (p *Pacer) Index(seq uint64) uint64 {
	if !p.skipped.Load() {
		// No skip yet, and none before seq's tick was sent (the mark
		// would have been stored before Pace returned for it).
		return seq
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	i := sort.Search(len(p.marks), func(i int) bool { return p.marks[i].seq > seq })
	if i == 0 {
		// Exact for seq ≥ floor.seq (floor is zero until marks were
		// dropped); an older seq gets a later index, by at most the hits
		// skipped since.
		return seq + p.floor.off
	}
	return seq + p.marks[i-1].off
}

// DueAt is the wall-clock time plan hit k is due (the zero time if k lies
// beyond the plan or Pace never ran).
func (p *Pacer) DueAt(k uint64) time.Time {
	if p.began.IsZero() {
		return time.Time{}
	}
	d, ok := p.due(k)
	if !ok {
		return time.Time{}
	}
	return p.began.Add(d)
}

// DueOf is DueAt(Index(seq)): when the hit vegeta numbered seq was due.
func (p *Pacer) DueOf(seq uint64) time.Time { return p.DueAt(p.Index(seq)) }

// TakeSkipped calls fn for each plan index skipped since the last call, in
// order.
func (p *Pacer) TakeSkipped(fn func(k uint64)) {
	p.mu.Lock()
	spans := p.pending
	p.pending = nil
	p.mu.Unlock()
	for _, s := range spans {
		for k := s.from; k < s.to; k++ {
			fn(k)
		}
	}
}

// Began is the wall-clock time of the plan's t=0 (zero if Pace was never
// called): Origin when set.
func (p *Pacer) Began() time.Time { return p.began }
