package attack

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestPlanIntegralAndDue(t *testing.T) {
	p, err := NewPlan([]Stage{
		{Duration: time.Second, From: 100, To: 100},
		{Duration: 2 * time.Second, From: 100, To: 300},
		{Duration: time.Second, From: 0, To: 0},
		{Duration: 500 * time.Millisecond, From: 300, To: 0},
	})
	if err != nil {
		t.Fatal(err)
	}
	// 100 + (100+300)/2·2 + 0 + 300/2·0.5 = 100 + 400 + 75
	if got := p.Total(); got != 575 {
		t.Fatalf("total %d, want 575", got)
	}
	if p.Duration() != 4500*time.Millisecond || p.Peak() != 300 {
		t.Fatalf("duration %v peak %v", p.Duration(), p.Peak())
	}
	if got := p.Rate(2 * time.Second); math.Abs(got-200) > 1e-9 {
		t.Fatalf("rate at 2s = %v", got)
	}
	if got := p.Asked(time.Second); got != 100 {
		t.Fatalf("asked(1s) = %d", got)
	}
	// Due times are increasing, never inside the idle stage, and Asked(Due(k)) == k.
	var prev time.Duration = -1
	for k := uint64(0); k < 575; k++ {
		d, ok := p.Due(k)
		if !ok {
			t.Fatalf("hit %d beyond plan", k)
		}
		if d < prev {
			t.Fatalf("due(%d)=%v before due(%d)=%v", k, d, k-1, prev)
		}
		if d > 3*time.Second && d < 4*time.Second {
			t.Fatalf("hit %d due %v inside the zero-rate stage", k, d)
		}
		if a := p.Asked(d); a != k && a != k+1 && !(a+1 == k) {
			t.Fatalf("asked(due(%d)) = %d", k, a)
		}
		prev = d
	}
	if _, ok := p.Due(575); ok {
		t.Fatal("hit 575 must be beyond the plan")
	}
}

func TestPlanValidation(t *testing.T) {
	_, err := NewPlan([]Stage{{Duration: 0, From: 1, To: 1}, {Duration: time.Second, From: -1, To: math.NaN()}})
	if err == nil {
		t.Fatal("invalid stages accepted")
	}
	for _, want := range []string{"stages[0].duration", "stages[1]: rate -1", "stages[1]: rate NaN"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, err := NewPlan(nil); err == nil {
		t.Fatal("empty plan accepted")
	}
}

func TestPacerDropsLateHits(t *testing.T) {
	plan, _ := NewPlan([]Stage{{Duration: 10 * time.Second, From: 100, To: 100}})
	p := &Pacer{Plan: plan, MaxLag: 50 * time.Millisecond} // no Done: Pace never sleeps
	if wait, stop := p.Pace(0, 0); wait != 0 || stop {
		t.Fatalf("first hit: wait %v stop %v", wait, stop)
	}
	if wait, _ := p.Pace(0, 1); wait != 10*time.Millisecond {
		t.Fatalf("second hit wait %v", wait)
	}
	// The attacker was stuck for a second after sending 2 hits: hits due
	// before 950ms (95 of them) are dropped; the 5 due since go now.
	wait, stop := p.Pace(time.Second, 2)
	if stop || wait != 0 {
		t.Fatalf("wait %v stop %v", wait, stop)
	}
	if p.Dropped() != 93 {
		t.Fatalf("dropped %d, want 93", p.Dropped())
	}
	// Hits 95..99 (due within the lag) go at once, then hit 100, due at 1s.
	if wait, _ := p.Pace(time.Second, 7); wait != 0 {
		t.Fatalf("backlog hit must go at once, wait %v", wait)
	}
	if wait, _ := p.Pace(time.Second, 8); wait != 10*time.Millisecond {
		t.Fatalf("back on schedule: wait %v, want 10ms", wait)
	}
	if _, stop := p.Pace(11*time.Second, 8); !stop {
		t.Fatal("pacer must stop past the plan")
	}
	if p.Dropped()+8 != plan.Total() {
		t.Fatalf("dropped %d + sent 8 != total %d", p.Dropped(), plan.Total())
	}
}

func TestPacerStopsOnDoneWhileSleeping(t *testing.T) {
	plan, _ := NewPlan([]Stage{{Duration: time.Minute, From: 0.1, To: 0.1}}) // one hit per 10 s
	done := make(chan struct{})
	p := &Pacer{Plan: plan, MaxLag: DefaultMaxLag, Done: done}
	if _, stop := p.Pace(0, 0); stop {
		t.Fatal("stopped at once")
	}
	time.AfterFunc(50*time.Millisecond, func() { close(done) })
	start := time.Now()
	if _, stop := p.Pace(0, 1); !stop {
		t.Fatal("Pace must report stop after Done")
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("Pace kept sleeping %v after Done", el)
	}
}

// The pacer maps vegeta's sequence numbers to plan indexes across skips,
// and hands every skipped index over once.
func TestPacerIndexAndSkipped(t *testing.T) {
	plan, _ := NewPlan([]Stage{{Duration: 10 * time.Second, From: 100, To: 100}})
	p := &Pacer{Plan: plan, MaxLag: 50 * time.Millisecond}
	p.Pace(0, 0)
	p.Pace(0, 1)
	p.Pace(time.Second, 2) // skips plan hits 2..94
	var skipped []uint64
	p.TakeSkipped(func(k uint64) { skipped = append(skipped, k) })
	if len(skipped) != 93 || skipped[0] != 2 || skipped[92] != 94 {
		t.Fatalf("skipped %d hits: %v…", len(skipped), skipped[:min(3, len(skipped))])
	}
	p.TakeSkipped(func(k uint64) { t.Fatalf("index %d handed over twice", k) })
	for seq, want := range map[uint64]uint64{0: 0, 1: 1, 2: 95, 3: 96} {
		if got := p.Index(seq); got != want {
			t.Errorf("Index(%d) = %d, want %d", seq, got, want)
		}
	}
	if d := p.DueOf(2).Sub(p.Began()); d != 950*time.Millisecond {
		t.Fatalf("seq 2 due at %v, want 950ms", d)
	}
}

// A generator that keeps skipping hits (every worker busy for minutes) adds
// a mark per tick it sends; the pacer keeps at most maxMarks of them, and
// still maps every recent tick to its plan index and counts every skip.
func TestPacerMarksBounded(t *testing.T) {
	plan, err := NewPlan([]Stage{{Duration: 100 * time.Second, From: 20000, To: 20000}})
	if err != nil {
		t.Fatal(err)
	}
	p := NewPacer(plan)
	p.MaxLag = time.Second
	var hits uint64
	var want []uint64                                                                // plan index of each tick sent
	for el := time.Duration(0); el < 100*time.Second; el += 200 * time.Microsecond { // 5k of 20k rps sent
		if _, stop := p.Pace(el, hits); stop {
			break
		}
		want = append(want, hits+p.Dropped())
		hits++
		p.TakeSkipped(func(uint64) {})
	}
	if hits < 4*maxMarks {
		t.Fatalf("only %d ticks: the test needs more than %d", hits, 4*maxMarks)
	}
	p.mu.Lock()
	n := len(p.marks)
	p.mu.Unlock()
	if n > maxMarks {
		t.Fatalf("%d marks kept, more than %d", n, maxMarks)
	}
	for seq := hits - maxMarks/2; seq < hits; seq++ {
		if got := p.Index(seq); got != want[seq] {
			t.Fatalf("tick %d: plan index %d, want %d", seq, got, want[seq])
		}
	}
	if last := want[hits-1]; p.Dropped() != last-(hits-1) {
		t.Fatalf("dropped %d, but tick %d is plan hit %d", p.Dropped(), hits-1, last)
	}
}
