package analysis

import (
	"math"
	"testing"
	"time"

	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/timeline"
)

// build makes a timeline of 1s windows with n requests each, of which the
// windows listed in bad have the given number of failures.
func build(t *testing.T, windows, n int, bad map[int]int) (*timeline.Timeline, time.Time) {
	t.Helper()
	start := time.Unix(1_700_000_000, 0)
	tl, err := timeline.New(start, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for w := 0; w < windows; w++ {
		for i := 0; i < n; i++ {
			c := timeline.Class("ok")
			if i < bad[w] {
				c = timeline.Class("elb_5xx")
			}
			tl.Add(timeline.Result{Start: start.Add(time.Duration(w)*time.Second + time.Duration(i)*time.Second/time.Duration(n)),
				Latency: 3 * time.Millisecond, Class: c, AZ: "a"})
		}
	}
	return tl, start
}

func mustExpr(t *testing.T, s string) []experiments.Expr {
	e, err := experiments.ParseExpr(s, experiments.ScopeWindow, false)
	if err != nil {
		t.Fatal(err)
	}
	return []experiments.Expr{e}
}

func TestMeasureRecovery(t *testing.T) {
	th := mustExpr(t, "success_ratio >= 0.99")
	for _, tc := range []struct {
		name                string
		bad                 map[int]int
		injectAt            time.Duration
		stableFor           int
		impacted, recovered bool
		tti, ttr, impact    float64
		failed              uint64
		worst               float64
	}{
		{name: "clean", bad: nil, injectAt: 5 * time.Second, stableFor: 3, recovered: true, worst: 1},
		{name: "two bad windows", bad: map[int]int{6: 50, 7: 20}, injectAt: 5500 * time.Millisecond, stableFor: 3,
			impacted: true, recovered: true, tti: 0.5, ttr: 2.5, impact: 2, failed: 70, worst: 0.5},
		{name: "flap inside stable run resets it", bad: map[int]int{6: 50, 8: 10}, injectAt: 6 * time.Second, stableFor: 2,
			impacted: true, recovered: true, tti: 0, ttr: 3, impact: 3, failed: 60, worst: 0.5},
		{name: "never recovers", bad: map[int]int{16: 5, 17: 5, 18: 5, 19: 5}, injectAt: 15 * time.Second, stableFor: 2,
			impacted: true, recovered: false, tti: 1, ttr: math.Inf(1), impact: math.Inf(1), failed: 20, worst: 0.95},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tl, start := build(t, 20, 100, tc.bad)
			r := Measure(tl, th, tc.stableFor, start.Add(tc.injectAt), start.Add(20*time.Second))
			if r.Impacted != tc.impacted || r.Recovered != tc.recovered {
				t.Fatalf("impacted=%v recovered=%v", r.Impacted, r.Recovered)
			}
			if r.TimeToImpact != tc.tti || r.TimeToRecover != tc.ttr || r.ImpactDuration != tc.impact {
				t.Errorf("tti %v ttr %v impact %v", r.TimeToImpact, r.TimeToRecover, r.ImpactDuration)
			}
			if r.FailedRequests != tc.failed || r.WorstSuccessRatio != tc.worst {
				t.Errorf("failed %d worst %v", r.FailedRequests, r.WorstSuccessRatio)
			}
		})
	}
}

func TestEmptyWindowBreaksSteadyState(t *testing.T) {
	var c timeline.Counts
	if ok, why := Holds(&c, mustExpr(t, "success_ratio >= 0.5"), time.Second); ok || len(why) == 0 {
		t.Fatal("a window without requests must not count as healthy")
	}
}

func TestJudgeUnrecoveredFails(t *testing.T) {
	e, _ := experiments.ParseExpr("time_to_recover <= 30s", experiments.ScopeFault, false)
	if v := Judge("f", e, math.Inf(1)); v.Pass || v.Measured != "never" || v.Value != -1 {
		t.Fatalf("%+v", v)
	}
	if v := Judge("f", e, math.NaN()); v.Pass {
		t.Fatalf("NaN (fault not injected) must fail: %+v", v)
	}
	if v := Judge("f", e, 12); !v.Pass || v.Measured != "12s" {
		t.Fatalf("%+v", v)
	}
}

// The impact lasts from the injection (not from the start of its window)
// to recovery, so it never exceeds the time to recover; failures after
// recovery while the fault is still applied are counted as late failures.
func TestImpactFromInjectionAndLateFailures(t *testing.T) {
	th := mustExpr(t, "success_ratio >= 0.99")
	// Injected 0.3 s into window 3, which breaks; 4 and 5 hold (recovered
	// at 4 s); windows 6 and 7 each lose 1 of 100 (still holding); the
	// rollback comes at 7.5 s; window 9's failure comes after it.
	tl, start := build(t, 12, 100, map[int]int{3: 30, 6: 1, 7: 1, 9: 1})
	inj := start.Add(3300 * time.Millisecond)
	r := Measure(tl, th, 2, inj, start.Add(12*time.Second))
	if !r.Recovered || math.Abs(r.TimeToRecover-0.7) > 1e-9 {
		t.Fatalf("recovery %+v", r)
	}
	if math.Abs(r.ImpactDuration-0.7) > 1e-9 {
		t.Fatalf("impact duration %v, want 0.7 (from the injection, ≤ time to recover %v)", r.ImpactDuration, r.TimeToRecover)
	}
	if n := LateFailures(tl, r, start.Add(7500*time.Millisecond)); n != 2 {
		t.Fatalf("late failures %d, want 2", n)
	}
}
