package analysis

import (
	"slices"
	"testing"
	"time"
)

func TestFinish(t *testing.T) {
	s := time.Second
	for _, tc := range []struct {
		name     string
		windows  int
		bad      map[int]int
		faults   [][3]time.Duration // injected, rolled back (0: not), -
		noFaults bool
		// want
		phases    []string
		recovered []bool
		ttr       []float64
		notes     []string
		broken    bool
	}{
		{name: "recovers, verified after rollback", windows: 20, bad: map[int]int{6: 50, 7: 50},
			faults: [][3]time.Duration{{5500 * time.Millisecond, 10 * s}},
			phases: []string{"baseline", "fault: a", "after rollback", "total"}, recovered: []bool{true}, ttr: []float64{2.5}},
		{name: "never recovers", windows: 12, bad: map[int]int{6: 50, 7: 50, 8: 50, 9: 50, 10: 50, 11: 50},
			faults: [][3]time.Duration{{6 * s, 9 * s}},
			phases: []string{"baseline", "fault: a", "after rollback", "total"}, recovered: []bool{false}, ttr: []float64{0},
			notes: []string{"the steady state did not hold after the last rollback"}},
		{name: "rollback in the last window leaves nothing to verify", windows: 10,
			faults: [][3]time.Duration{{5 * s, 9500 * time.Millisecond}},
			phases: []string{"baseline", "fault: a", "total"}, recovered: []bool{true}, ttr: []float64{0},
			notes: []string{"no complete window of load was left after the last rollback to verify the steady state (raise steady_state.verify)"}},
		{name: "two faults split the span", windows: 20, bad: map[int]int{5: 50, 12: 50},
			faults: [][3]time.Duration{{5 * s, 7 * s}, {12 * s, 14 * s}},
			phases: []string{"baseline", "fault: a", "fault: b", "after rollback", "total"}, recovered: []bool{true, true}, ttr: []float64{1, 1}},
		{name: "no faults, steady state broken", windows: 10, bad: map[int]int{3: 50}, noFaults: true,
			phases: []string{"baseline", "total"}, broken: true},
		{name: "no faults, steady state held", windows: 10, noFaults: true,
			phases: []string{"baseline", "total"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tl, start := build(t, tc.windows, 100, tc.bad)
			in := FinishInput{Timeline: tl, Start: start, End: start.Add(time.Duration(tc.windows) * s),
				Thresholds: mustExpr(t, "success_ratio >= 0.99"), StableFor: 1, JudgeWithoutFaults: tc.noFaults,
				AskedHits: func(d time.Duration) float64 { return 100 * d.Seconds() }}
			for i, f := range tc.faults {
				fs := FaultSpan{Name: string(rune('a' + i)), InjectedAt: start.Add(f[0])}
				if f[1] > 0 {
					fs.RolledBackAt = start.Add(f[1])
				}
				in.Faults = append(in.Faults, fs)
			}
			res := Finish(in)
			var names []string
			for _, p := range res.Phases {
				names = append(names, p.Name)
				if p.AskedRPS < 99 || p.AskedRPS > 101 {
					t.Errorf("phase %s asked %.1f rps, want 100", p.Name, p.AskedRPS)
				}
			}
			if !slices.Equal(names, tc.phases) {
				t.Errorf("phases %v, want %v", names, tc.phases)
			}
			for i, fr := range res.Faults {
				rc := fr.Recovery.Record()
				if rc.Recovered != tc.recovered[i] || rc.TimeToRecover != tc.ttr[i] {
					t.Errorf("fault %d: recovered %v after %vs, want %v after %vs", i, rc.Recovered, rc.TimeToRecover, tc.recovered[i], tc.ttr[i])
				}
				if rc.Never() == tc.recovered[i] {
					t.Errorf("fault %d: Never() = %v", i, rc.Never())
				}
			}
			if len(res.Faults) == 2 && !res.Faults[0].SpanEnd.Equal(in.Faults[1].InjectedAt) {
				t.Errorf("first fault's span ends at %v, want the second injection", res.Faults[0].SpanEnd.Sub(start))
			}
			if !slices.Equal(res.Notes, tc.notes) {
				t.Errorf("notes %q, want %q", res.Notes, tc.notes)
			}
			if (len(res.BaselineBroken) > 0) != tc.broken {
				t.Errorf("baseline broken %q, want %v", res.BaselineBroken, tc.broken)
			}
			if res.Total.Requests != uint64(100*tc.windows) {
				t.Errorf("total %d requests, want %d", res.Total.Requests, 100*tc.windows)
			}
		})
	}
}

func TestInfraRecovery(t *testing.T) {
	s := time.Second
	tl, start := build(t, 10, 10, nil)
	// Probe p: 3 healthy targets, down to 1 at 4s, back to 3 at 6.5s.
	// Probe q: down at 5s and never back.
	for i := 0; i < 10; i++ {
		at := start.Add(time.Duration(i)*s + 500*time.Millisecond)
		v := 3.0
		if i >= 4 && i < 6 {
			v = 1
		}
		tl.AddSample("p/healthy", at, v)
		q := 1.0
		if i >= 5 {
			q = 0
		}
		tl.AddSample("q/available", at, q)
	}
	healthy := func(last, base map[string]float64) bool {
		for k, v := range last {
			if v < base[k] {
				return false
			}
		}
		return true
	}
	got := InfraRecovery(tl, []ProbeSeries{{"p", healthy}, {"q", healthy}}, start.Add(3*s), start.Add(10*s), start.Add(3*s))
	if got["p"] != 3 || got["q"] != -1 {
		t.Errorf("infra recovery %v, want p 3s (healthy from the window at 6s) and q -1 (never)", got)
	}
}
