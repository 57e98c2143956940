package analysis

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/record"
)

// A fault's steps become phases of their own, after the fault's phase, each
// counting only its own windows; the step gates read them.
func TestFinishStepsArePhases(t *testing.T) {
	s := time.Second
	// 2 failures in window 6 (batch 1), none in batch 2, 5 in window 9 (batch 3).
	tl, start := build(t, 14, 100, map[int]int{6: 2, 9: 5})
	in := FinishInput{Timeline: tl, Start: start, End: start.Add(14 * s),
		Thresholds: mustExpr(t, "success_ratio >= 0.9"), StableFor: 1,
		Faults: []FaultSpan{{Name: "deploy", InjectedAt: start.Add(5 * s), RolledBackAt: start.Add(12 * s),
			Steps: []FaultStep{
				{Name: "batch 1", From: start.Add(5 * s), To: start.Add(7 * s)},
				{Name: "batch 2", From: start.Add(7 * s), To: start.Add(9 * s)},
				{Name: "batch 3", From: start.Add(9 * s), To: start.Add(11 * s)},
			}}}}
	res := Finish(in)
	var names []string
	failed := map[string]uint64{}
	for _, p := range res.Phases {
		names = append(names, p.Name)
		failed[p.Name] = p.Failed
	}
	want := []string{"baseline", "fault: deploy", "fault: deploy / batch 1", "fault: deploy / batch 2", "fault: deploy / batch 3", "after rollback", "total"}
	if !slices.Equal(names, want) {
		t.Fatalf("phases %q, want %q", names, want)
	}
	if failed["fault: deploy / batch 1"] != 2 || failed["fault: deploy / batch 2"] != 0 || failed["fault: deploy / batch 3"] != 5 {
		t.Errorf("failed per batch %v, want 2, 0, 5", failed)
	}
	steps := res.Faults[0].Steps
	if len(steps) != 3 || steps[0].Requests != 200 {
		t.Fatalf("fault steps %+v", steps)
	}
	if v, ok := StepMetric(steps, "batch_failed_requests"); !ok || v != 7 {
		t.Errorf("batch_failed_requests = %v, %v; want 7", v, ok)
	}
	if v, ok := StepMetric(steps, "batch_p99"); !ok || v <= 0 {
		t.Errorf("batch_p99 = %v, %v", v, ok)
	}
	if v, ok := StepMetric(nil, "batch_failed_requests"); !ok || !math.IsNaN(v) {
		t.Errorf("without steps: %v, %v; want NaN (not measured)", v, ok)
	}
	if _, ok := StepMetric(steps, "failed_requests"); ok {
		t.Error("StepMetric claims failed_requests")
	}
}

// The gate "batch_failed_requests == 0" fails on a deploy that failed
// requests in a batch and passes on one that did not; a fault without
// steps fails it as not measured.
func TestStepGates(t *testing.T) {
	e, err := experiments.ParseExpr("batch_failed_requests == 0", experiments.ScopeFault, false)
	if err != nil {
		t.Fatal(err)
	}
	rec := &record.Run{Faults: []record.Fault{
		{Name: "bad", Injected: true, Steps: []record.Phase{{Name: "batch 1", Failed: 0}, {Name: "batch 2", Failed: 3}}},
		{Name: "good", Injected: true, Steps: []record.Phase{{Name: "batch 1"}, {Name: "batch 2"}}},
		{Name: "none", Injected: true},
	}}
	vs := JudgeGates(GateInput{Run: rec, EachFaultGates: []experiments.Expr{e}})
	pass := map[string]bool{}
	for _, v := range vs {
		pass[v.Scope] = v.Pass
	}
	if pass["bad"] || !pass["good"] || pass["none"] {
		t.Errorf("verdicts %+v: want bad and none failing, good passing", vs)
	}
}
