package sim

import (
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Region is the local region: the model behind the control plane and the
// live data plane. Every exported method is safe for concurrent use.
type Region struct {
	cfg Config
	t   Timings

	mu       sync.Mutex // guards the model below
	rng      *rand.Rand
	azs      []AZ
	vpc      VPC
	subnets  []*subnet // public subnets first (one per AZ, in AZ order), then private
	acls     []*acl    // in creation order; acls[0] is the default
	insts    []*instance
	group    *group
	cw       *cloudWatch // metrics, alarms, scaling policies
	lb       *loadBalancer
	tg       *targetGroup
	db       *database
	dbEvts   []DBEvent
	dnsSet   []string // last DNS answer set, for change events
	started  bool
	closed   bool
	building bool // New is assembling the initial stack: no DNS events yet

	clientEP endpoint

	// Hot-path snapshots, replaced (never mutated) under mu.
	net    atomic.Pointer[netSnap]
	routes atomic.Pointer[routeSet]
	dbSnap atomic.Pointer[dbState]
	dnsIPs atomic.Pointer[[]string]
	orders atomic.Int64 // orders written to the database

	events   eventLog
	failures failureLog
	sched    scheduler

	done chan struct{} // closed by Close
	wg   sync.WaitGroup
}

// New validates cfg, applies defaults and builds the region's model: the
// VPC, subnets, default network ACL, the group's instances (already running
// and healthy, as an existing stack), the load balancer, and the database.
// Nothing listens until Start.
func New(cfg Config) (*Region, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	r := &Region{
		cfg:      cfg,
		t:        cfg.Timings,
		rng:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		done:     make(chan struct{}),
		clientEP: endpoint{subnet: -1, ip: netip.MustParseAddr(cfg.ClientIP)},
	}
	r.sched.init()
	if cfg.EventLog != "" {
		f, err := os.OpenFile(cfg.EventLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("sandbox event log: %w", err)
		}
		r.events.file = f
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.building = true
	r.buildNetwork()
	r.buildLoadBalancer()
	r.buildDatabase()
	r.buildGroup()
	r.cw = newCloudWatch(r.t)
	if err := r.buildPoliciesLocked(); err != nil {
		r.events.close()
		return nil, fmt.Errorf("sandbox config: group.target_requests_per_target: %w", err)
	}
	if err := r.buildConfiguredLocked(); err != nil {
		r.events.close()
		return nil, fmt.Errorf("sandbox config: %w", err)
	}
	r.building = false
	r.refreshRoutesLocked()
	r.refreshDNSLocked()
	return r, nil
}

// Config returns the effective configuration, defaults applied.
func (r *Region) Config() Config { return r.cfg }

// Timings returns the effective timings.
func (r *Region) Timings() Timings { return r.t }

// AccountID is the simulated account id.
func (r *Region) AccountID() string { return r.cfg.AccountID }

// RegionName is the region's name, e.g. "local-1".
func (r *Region) RegionName() string { return r.cfg.Region }

// Start starts the data plane: instance web apps, load balancer nodes, the
// health checker, the Auto Scaling loop and the timer that drives delayed
// transitions. ctx only bounds the start itself; Close stops everything.
func (r *Region) Start(ctx context.Context) error {
	r.mu.Lock()
	if r.started || r.closed {
		r.mu.Unlock()
		return errors.New("sandbox region: already started or closed")
	}
	r.started = true
	r.cw.col.last = time.Now() // metrics count from here (metrics.go)
	for _, in := range r.insts {
		if in.m.State == StateRunning {
			if err := r.startAppLocked(in); err != nil {
				r.mu.Unlock()
				r.Close()
				return err
			}
		}
	}
	r.mu.Unlock()
	if err := ctx.Err(); err != nil {
		r.Close()
		return err
	}
	if err := r.startNodes(); err != nil {
		r.Close()
		return err
	}
	r.mu.Lock()
	r.refreshRoutesLocked()
	r.mu.Unlock()
	r.goLoop(r.sched.run(r.done))
	r.goLoop(r.healthLoop)
	r.goLoop(r.asgLoop)
	r.goLoop(r.metricsLoop)
	return nil
}

func (r *Region) goLoop(f func()) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		f()
	}()
}

// Close stops every listener and loop and waits for the region's
// goroutines. The model stays readable. Close is idempotent.
func (r *Region) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	close(r.done)
	for _, in := range r.insts {
		r.killAppLocked(in)
	}
	nodes := r.lb.nodes
	r.mu.Unlock()
	for _, n := range nodes {
		if n.srv != nil {
			n.srv.Close()
		}
	}
	r.wg.Wait()
	r.lb.transport.CloseIdleConnections()
	r.lb.hcTransport.CloseIdleConnections()
	return r.events.close()
}

// Done is closed when the region is closed.
func (r *Region) Done() <-chan struct{} { return r.done }

// ---- ids ----

func (r *Region) hexID(prefix string, n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 0, len(prefix)+n)
	b = append(b, prefix...)
	for range n {
		b = append(b, digits[r.rng.IntN(16)])
	}
	return string(b)
}

func (r *Region) uuid() string {
	h := r.hexID("", 32)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func (r *Region) arn(service, resource string) string {
	return "arn:aws:" + service + ":" + r.cfg.Region + ":" + r.cfg.AccountID + ":" + resource
}

// ---- ground truth ----

type eventLog struct {
	mu     sync.Mutex
	list   []Event
	file   *os.File
	subs   map[chan Event]struct{}
	err    error
	closed bool
}

func (l *eventLog) add(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.list = append(l.list, e)
	if l.file != nil && l.err == nil {
		b, _ := json.Marshal(e)
		b = append(b, '\n')
		if _, err := l.file.Write(b); err != nil {
			l.err = err
		}
	}
	for ch := range l.subs {
		select {
		case ch <- e:
		default: // a slow subscriber loses events; Events() has them all
		}
	}
}

func (l *eventLog) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for ch := range l.subs {
		close(ch)
	}
	l.subs = nil
	l.closed = true
	var err error
	if l.file != nil {
		err = errors.Join(l.err, l.file.Close())
		l.file = nil
	}
	return err
}

func (r *Region) emit(kind, resource, az, from, to, detail string) {
	r.events.add(Event{Time: time.Now(), Kind: kind, Resource: resource, AZ: az, From: from, To: to, Detail: detail})
}

// RecordEvent appends a ground-truth event for a service modelled beside
// the region (the sandbox's ECS records its tasks' lifecycle as kind
// "ecs-task").
func (r *Region) RecordEvent(kind, resource, az, from, to, detail string) {
	r.emit(kind, resource, az, from, to, detail)
}

// Events returns a copy of every ground-truth event so far, oldest first.
func (r *Region) Events() []Event {
	r.events.mu.Lock()
	defer r.events.mu.Unlock()
	return append([]Event(nil), r.events.list...)
}

// SubscribeEvents returns a channel that receives every event recorded from
// now on, and a function that ends the subscription. Delivery never blocks
// the region: if the channel's buffer is full, the event is skipped for this
// subscriber (Events still has it). The channel is closed by cancel or Close.
func (r *Region) SubscribeEvents(buffer int) (<-chan Event, func()) {
	ch := make(chan Event, buffer)
	l := &r.events
	l.mu.Lock()
	if l.closed {
		close(ch)
		l.mu.Unlock()
		return ch, func() {}
	}
	if l.subs == nil {
		l.subs = map[chan Event]struct{}{}
	}
	l.subs[ch] = struct{}{}
	l.mu.Unlock()
	return ch, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if _, ok := l.subs[ch]; ok {
			delete(l.subs, ch)
			close(ch)
		}
	}
}

// RecordAPICall appends an api-call event.
func (r *Region) RecordAPICall(service, action string, mutating bool) {
	r.events.add(Event{Time: time.Now(), Kind: "api-call", Resource: service, Detail: action, Mutating: mutating})
}

// ---- timers ----

// scheduler runs delayed model transitions on one goroutine, in time order.
type scheduler struct {
	mu   sync.Mutex
	h    taskHeap
	seq  uint64
	wake chan struct{}
}

type task struct {
	at  time.Time
	seq uint64
	fn  func()
}

type taskHeap []task

func (h taskHeap) Len() int { return len(h) }
func (h taskHeap) Less(i, j int) bool {
	if h[i].at.Equal(h[j].at) {
		return h[i].seq < h[j].seq
	}
	return h[i].at.Before(h[j].at)
}
func (h taskHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *taskHeap) Push(x any)   { *h = append(*h, x.(task)) }
func (h *taskHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}

func (s *scheduler) init() { s.wake = make(chan struct{}, 1) }

// after runs fn (which takes r.mu itself) once d has passed. Tasks queued
// before Start run once the region starts; after Close they never run.
func (s *scheduler) after(d time.Duration, fn func()) {
	s.mu.Lock()
	s.seq++
	heap.Push(&s.h, task{at: time.Now().Add(d), seq: s.seq, fn: fn})
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *scheduler) run(done <-chan struct{}) func() {
	return func() {
		timer := time.NewTimer(time.Hour)
		defer timer.Stop()
		for {
			s.mu.Lock()
			var due []task
			now := time.Now()
			for s.h.Len() > 0 && !s.h[0].at.After(now) {
				due = append(due, heap.Pop(&s.h).(task))
			}
			wait := time.Hour
			if s.h.Len() > 0 {
				wait = s.h[0].at.Sub(now)
			}
			s.mu.Unlock()
			for _, t := range due {
				select {
				case <-done:
					return
				default:
				}
				t.fn()
			}
			if len(due) > 0 {
				continue
			}
			timer.Reset(wait)
			select {
			case <-done:
				return
			case <-s.wake:
				if !timer.Stop() {
					select {
					case <-timer.C:
					default:
					}
				}
			case <-timer.C:
			}
		}
	}
}

// ---- helpers ----

func apiErr(status int, code, format string, args ...any) *APIError {
	return &APIError{Code: code, Message: fmt.Sprintf(format, args...), Status: status}
}

func copyTags(t []Tag) []Tag { return append([]Tag(nil), t...) }

func setTags(dst []Tag, tags []Tag) []Tag {
	for _, t := range tags {
		found := false
		for i := range dst {
			if dst[i].Key == t.Key {
				dst[i].Value = t.Value
				found = true
				break
			}
		}
		if !found {
			dst = append(dst, t)
		}
	}
	return dst
}

func awsTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func azIDPrefix(region string) string {
	if region == "local-1" {
		return "lcl1"
	}
	var b strings.Builder
	for _, p := range strings.Split(region, "-") {
		if p == "" {
			continue
		}
		if p[0] >= '0' && p[0] <= '9' {
			b.WriteString(p)
		} else {
			b.WriteByte(p[0])
		}
	}
	return b.String()
}

// sleepCtx waits d, returning false if ctx or done ends first.
func sleepCtx(ctx context.Context, done <-chan struct{}, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-done:
		return false
	}
}

// waitUntil polls ok every 50ms for up to d, as TCP retransmissions would
// get through once the path opens again. It reports whether ok became true.
func waitUntil(ctx context.Context, done <-chan struct{}, d time.Duration, ok func() bool) bool {
	deadline := time.Now().Add(d)
	const step = 50 * time.Millisecond
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		if !sleepCtx(ctx, done, min(step, left)) {
			return false
		}
		if ok() {
			return true
		}
	}
}
