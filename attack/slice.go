package attack

import (
	"errors"
	"fmt"
	"sort"
	"time"
)

// Schedule is what a Pacer paces along: the due time of each of its hits
// (numbered from 0 in due order) and how many are due before an instant.
// A *Plan is the whole plan; a *Slice is one generator's exact share of it.
type Schedule interface {
	// Due returns when hit k is due, false if k lies beyond the schedule.
	Due(k uint64) (time.Duration, bool)
	// Asked is the number of hits due strictly before t.
	Asked(t time.Duration) uint64
	// Total is the number of hits in the whole schedule.
	Total() uint64
	// Rate is the instantaneous rate at t.
	Rate(t time.Duration) float64
	// Duration is the schedule's total length (the plan's).
	Duration() time.Duration
}

var (
	_ Schedule = (*Plan)(nil)
	_ Schedule = (*Slice)(nil)
)

// MaxSegments bounds the length of a segment sequence and MaxSegmentWeight
// each weight, so that a stripe (the sum of the weights) stays small enough
// to hold in memory and to multiply by a hit index without overflow.
const (
	MaxSegments      = 1024
	MaxSegmentWeight = 1024
)

// Segments is a segment sequence: the plan's hits are split into
// len(Segments) slices, slice i taking Segments[i]/sum(Segments) of them.
// This is k6's execution segment sequence ("0,1/3,2/3,1" is Segments{1,1,1})
// written with integer weights over their sum instead of fractions over
// their common denominator.
type Segments []uint64

// Equal is the sequence of n equal segments.
func Equal(n int) Segments {
	s := make(Segments, n)
	for i := range s {
		s[i] = 1
	}
	return s
}

// Validate reports why the sequence cannot be used.
func (s Segments) Validate() error {
	if len(s) == 0 || len(s) > MaxSegments {
		return fmt.Errorf("segments: want 1 to %d, got %d", MaxSegments, len(s))
	}
	for i, w := range s {
		if w == 0 || w > MaxSegmentWeight {
			return fmt.Errorf("segments[%d]: weight must be 1 to %d, got %d", i, MaxSegmentWeight, w)
		}
	}
	return nil
}

// stripe assigns each position of one stripe (sum of the weights, after
// dividing by their greatest common divisor) to a segment, the way k6's
// ExecutionSegmentSequence stripes its lowest common denominator
// (lib/execution_segment.go, GetStripedOffsets): position p goes to the
// largest segment (ties by order) whose share is not ahead of p, i.e. that
// has been chosen c times with c·L ≤ p·w. Some segment always qualifies
// (summing c·L > p·w over every segment would give p·L > p·L), and over one
// stripe segment i is chosen exactly w_i times, spread evenly. It returns
// the owner of every position.
func (s Segments) stripe() []int {
	g := s[0]
	for _, w := range s[1:] {
		g = gcd(g, w)
	}
	var L uint64
	ws := make([]uint64, len(s))
	for i, w := range s {
		ws[i] = w / g
		L += ws[i]
	}
	order := make([]int, len(s))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return ws[order[a]] > ws[order[b]] })
	chosen := make([]uint64, len(s))
	owner := make([]int, L)
	for p := uint64(0); p < L; p++ {
		for _, i := range order {
			if chosen[i]*L <= p*ws[i] {
				chosen[i]++
				owner[p] = i
				break
			}
		}
	}
	return owner
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Slice is one segment of a Plan: the plan's hits whose index falls, modulo
// the stripe length, on a position the segment owns. The slices of one
// segment sequence partition the plan exactly: every plan hit belongs to
// exactly one slice, at the plan's due time, so their union is the plan hit
// for hit. Slice hit k (its k-th hit in due order) is plan hit Global(k).
type Slice struct {
	plan  *Plan
	index int
	n     int
	lcd   uint64   // stripe length
	pos   []uint64 // stripe positions this slice owns, ascending
	total uint64
}

// NewSlice returns slice i of plan under segs.
func NewSlice(plan *Plan, segs Segments, i int) (*Slice, error) {
	if plan == nil {
		return nil, errors.New("slice: nil plan")
	}
	if err := segs.Validate(); err != nil {
		return nil, err
	}
	if i < 0 || i >= len(segs) {
		return nil, fmt.Errorf("slice: index %d outside 0..%d", i, len(segs)-1)
	}
	owner := segs.stripe()
	s := &Slice{plan: plan, index: i, n: len(segs), lcd: uint64(len(owner))}
	for p, o := range owner {
		if o == i {
			s.pos = append(s.pos, uint64(p))
		}
	}
	s.total = s.count(plan.Total())
	return s, nil
}

// Index is the slice's position in its sequence, Of the sequence's length.
func (s *Slice) Index() int { return s.index }

// Of is the number of slices in the sequence.
func (s *Slice) Of() int { return s.n }

// Plan is the whole plan the slice is cut from.
func (s *Slice) Plan() *Plan { return s.plan }

// Global returns the plan index of slice hit k.
func (s *Slice) Global(k uint64) uint64 {
	w := uint64(len(s.pos))
	return k/w*s.lcd + s.pos[k%w]
}

// count is the number of this slice's hits among plan hits [0, n).
func (s *Slice) count(n uint64) uint64 {
	w := uint64(len(s.pos))
	r := n % s.lcd
	return n/s.lcd*w + uint64(sort.Search(len(s.pos), func(j int) bool { return s.pos[j] >= r }))
}

// Due implements Schedule.
func (s *Slice) Due(k uint64) (time.Duration, bool) {
	if k >= s.total {
		return 0, false
	}
	return s.plan.Due(s.Global(k))
}

// Asked implements Schedule.
func (s *Slice) Asked(t time.Duration) uint64 { return s.count(s.plan.Asked(t)) }

// Total implements Schedule.
func (s *Slice) Total() uint64 { return s.total }

// Rate implements Schedule: the plan's rate times the slice's share.
func (s *Slice) Rate(t time.Duration) float64 {
	return s.plan.Rate(t) * float64(len(s.pos)) / float64(s.lcd)
}

// Duration implements Schedule.
func (s *Slice) Duration() time.Duration { return s.plan.Duration() }

// Share is the slice's fraction of the plan's hits.
func (s *Slice) Share() float64 { return float64(len(s.pos)) / float64(s.lcd) }

// Peak is the highest rate the slice asks for.
func (s *Slice) Peak() float64 { return s.plan.Peak() * s.Share() }
