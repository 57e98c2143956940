package attack

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// randomPlan draws a plan of 1-5 stages mixing constant, ramping and idle
// stages, 1 ms to 3 s long, at up to 2,000 rps.
func randomPlan(t *testing.T, rng *rand.Rand) *Plan {
	t.Helper()
	n := 1 + rng.IntN(5)
	st := make([]Stage, n)
	for i := range st {
		d := time.Duration(1+rng.Int64N(3000)) * time.Millisecond
		from := rng.Float64() * 2000
		to := from
		switch rng.IntN(3) {
		case 0: // ramp
			to = rng.Float64() * 2000
		case 1: // idle
			from, to = 0, 0
		}
		st[i] = Stage{Duration: d, From: from, To: to}
	}
	p, err := NewPlan(st)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func randomSegments(rng *rand.Rand) Segments {
	n := 1 + rng.IntN(9)
	if rng.IntN(2) == 0 {
		return Equal(n)
	}
	s := make(Segments, n)
	for i := range s {
		s[i] = 1 + uint64(rng.IntN(12))
	}
	return s
}

// The union of the slices of any segment sequence is the plan, hit for hit:
// every plan index is sent by exactly one slice, at the plan's due time, the
// slices' totals add up to the plan's total, and at any instant the hits
// the slices asked for add up to what the plan asked for.
func TestSlicesPartitionThePlanExactly(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 1))
	for trial := 0; trial < 200; trial++ {
		plan := randomPlan(t, rng)
		segs := randomSegments(rng)
		total := plan.Total()
		owner := make([]int, total)
		for k := range owner {
			owner[k] = -1
		}
		var sum uint64
		var union []time.Duration
		sl := make([]*Slice, len(segs))
		for i := range segs {
			s, err := NewSlice(plan, segs, i)
			if err != nil {
				t.Fatal(err)
			}
			sl[i] = s
			sum += s.Total()
			var prev time.Duration = -1
			for k := uint64(0); k < s.Total(); k++ {
				g := s.Global(k)
				if g >= total {
					t.Fatalf("trial %d: slice %d hit %d is plan hit %d, beyond the plan's %d", trial, i, k, g, total)
				}
				if owner[g] != -1 {
					t.Fatalf("trial %d: plan hit %d sent by slices %d and %d", trial, g, owner[g], i)
				}
				owner[g] = i
				d, ok := s.Due(k)
				pd, _ := plan.Due(g)
				if !ok || d != pd {
					t.Fatalf("trial %d: slice %d hit %d due %v (ok %v), plan says %v", trial, i, k, d, ok, pd)
				}
				if d < prev {
					t.Fatalf("trial %d: slice %d not in due order at hit %d", trial, i, k)
				}
				prev = d
				union = append(union, d)
			}
			if _, ok := s.Due(s.Total()); ok {
				t.Fatalf("trial %d: slice %d has a hit past its total", trial, i)
			}
		}
		if sum != total {
			t.Fatalf("trial %d: slices total %d, plan %d", trial, sum, total)
		}
		for g, o := range owner {
			if o == -1 {
				t.Fatalf("trial %d: plan hit %d sent by no slice (segments %v)", trial, g, segs)
			}
		}
		// Same multiset of due times as the plan.
		want := make([]time.Duration, total)
		for k := range want {
			want[k], _ = plan.Due(uint64(k))
		}
		slices.Sort(union)
		if !slices.Equal(union, want) {
			t.Fatalf("trial %d: union of slice due times differs from the plan's", trial)
		}
		for range 20 {
			at := time.Duration(rng.Int64N(int64(plan.Duration() + time.Second)))
			var asked uint64
			for _, s := range sl {
				asked += s.Asked(at)
			}
			if asked != plan.Asked(at) {
				t.Fatalf("trial %d: at %v slices asked %d, plan %d", trial, at, asked, plan.Asked(at))
			}
		}
	}
}

// Each slice gets its weight's share, within one hit per stripe position
// (k6 stripes so that no segment runs ahead of its share by a whole hit).
func TestSliceShareIsEven(t *testing.T) {
	plan, _ := NewPlan([]Stage{{Duration: 10 * time.Second, From: 1000, To: 1000}})
	for _, segs := range []Segments{Equal(3), {1, 2, 3}, {5, 3}, Equal(7)} {
		var W uint64
		for _, w := range segs {
			W += w
		}
		for i, w := range segs {
			s, _ := NewSlice(plan, segs, i)
			for _, n := range []uint64{1, 7, 100, 999, 10000} {
				got := float64(s.count(n))
				want := float64(n) * float64(w) / float64(W)
				if got < want-1 || got > want+1 {
					t.Errorf("segments %v slice %d: %v of the first %d hits, want %.2f ± 1", segs, i, got, n, want)
				}
			}
		}
	}
	// Equal slices of 3: slice i takes plan hits i, i+3, i+6, ...
	s, _ := NewSlice(plan, Equal(3), 1)
	for k, want := range []uint64{1, 4, 7, 10} {
		if g := s.Global(uint64(k)); g != want {
			t.Errorf("Equal(3)[1] hit %d = plan hit %d, want %d", k, g, want)
		}
	}
}

func TestSegmentsValidate(t *testing.T) {
	plan, _ := NewPlan([]Stage{{Duration: time.Second, From: 10, To: 10}})
	for _, c := range []struct {
		segs Segments
		i    int
	}{{nil, 0}, {Segments{1, 0}, 0}, {Equal(2), 2}, {Equal(2), -1}, {Segments{MaxSegmentWeight + 1}, 0}, {Equal(MaxSegments + 1), 0}} {
		if _, err := NewSlice(plan, c.segs, c.i); err == nil {
			t.Errorf("NewSlice(%v, %d) accepted", c.segs, c.i)
		}
	}
	if _, _, err := (Config{Requests: []Request{{URL: "http://127.0.0.1:1/"}}, Stages: []Stage{{Duration: time.Second, From: 1, To: 1}},
		Segments: Equal(2), Segment: 5}).withDefaults(); err == nil {
		t.Error("config with segment 5 of 2 accepted")
	}
}

// A Pacer on a slice paces the slice's own hits at the plan's due times.
func TestPacerOnSlice(t *testing.T) {
	plan, _ := NewPlan([]Stage{{Duration: time.Second, From: 100, To: 100}})
	s, _ := NewSlice(plan, Equal(4), 2)
	p := &Pacer{Plan: s, MaxLag: time.Second}
	var at time.Duration
	for hits := uint64(0); ; hits++ {
		wait, stop := p.Pace(at, hits)
		if stop {
			if hits != 25 {
				t.Fatalf("slice 2 of 4 of 100 hits stopped after %d, want 25", hits)
			}
			break
		}
		at += wait
		if want := time.Duration(2+4*hits) * 10 * time.Millisecond; at != want {
			t.Fatalf("hit %d paced at %v, want %v", hits, at, want)
		}
	}
}
