package attack

import (
	"errors"
	"fmt"
	"math"
	"sort"
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
// attacker falls behind (all MaxWorkers busy), the hits due more than MaxLag
// ago are skipped and counted as dropped instead of being sent late in a
// burst; hits less late than that are sent at once. At most one hit per stall
// (the one already handed to vegeta while every worker was busy) is sent
// later than MaxLag.
//
// A Pacer is stateful and belongs to exactly one attack: vegeta calls Pace
// from a single goroutine. It sleeps itself (returning a zero wait) so that
// closing Done stops the attack promptly even at low rates.
type Pacer struct {
	Plan   *Plan
	MaxLag time.Duration
	// Done, when closed, makes Pace stop the attack (also mid-sleep).
	Done <-chan struct{}

	dropped uint64
	began   time.Time // wall clock of elapsed == 0, set on the first Pace
	stopped bool
	timer   *time.Timer
}

var _ vegeta.Pacer = (*Pacer)(nil)

// DefaultMaxLag is how late a hit may be sent before it counts as dropped.
const DefaultMaxLag = 50 * time.Millisecond

// NewPacer returns a pacer for plan with the default MaxLag.
func NewPacer(plan *Plan) *Pacer { return &Pacer{Plan: plan, MaxLag: DefaultMaxLag} }

// Pace implements vegeta.Pacer.
func (p *Pacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if p.began.IsZero() {
		p.began = time.Now().Add(-elapsed)
	}
	if p.stopped || p.isDone() {
		p.stopped = true
		return 0, true
	}
	pos := hits + p.dropped
	if elapsed > p.MaxLag {
		if late := p.Plan.Asked(elapsed - p.MaxLag); late > pos {
			p.dropped += late - pos
			pos = late
		}
	}
	due, ok := p.Plan.Due(pos)
	if !ok {
		p.stopped = true
		return 0, true
	}
	wait := due - elapsed
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
func (p *Pacer) Rate(elapsed time.Duration) float64 { return p.Plan.Rate(elapsed) }

// Dropped is the number of hits skipped for being more than MaxLag late.
// Read it only after the attack ended.
func (p *Pacer) Dropped() uint64 { return p.dropped }

// Began is the wall-clock time the attack's elapsed clock started (zero if
// Pace was never called).
func (p *Pacer) Began() time.Time { return p.began }
