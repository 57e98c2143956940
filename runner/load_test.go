package runner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/timeline"
)

// starvedRun: a 100 ms app behind the sandbox ALB, 200 rps asked with only
// 8 workers (capacity ≈ 80 rps), no faults and no gates.
const starvedRun = `name: starved
target: {kind: sandbox, sandbox: {config: SANDBOX}}
load: {rate: 200, duration: 6s, timeout: 4s, max_workers: 8}
steady_state: {window: 1s, thresholds: ["success_ratio >= 0.99", "p99 < 1s"], stable_for: 2, baseline: 2s, verify: 1s}
`

// prepareWith prepares yaml against an in-process sandbox whose instances
// take serviceTime per request (SANDBOX in yaml names its config file).
func prepareWith(t *testing.T, yaml string, serviceTime string) *Prepared {
	t.Helper()
	f := filepath.Join(t.TempDir(), "sandbox.yaml")
	if err := os.WriteFile(f, []byte("region: {instance: {service_time: "+serviceTime+"}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	yaml = strings.ReplaceAll(yaml, "SANDBOX", f)
	x, c, err := experiments.Parse("test.yaml", []byte(yaml), nil, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	p, err := openPrepare(context.Background(), x, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// TestStarvedGeneratorFailsAndSaysSo: hits the generator could not send are
// failures of class not_sent, in the window they were due; latency counts
// from the intended send time; the run fails (exit 1) and blames the
// generator, not the stack; the total phase holds every hit of the plan.
func TestStarvedGeneratorFailsAndSaysSo(t *testing.T) {
	t.Parallel()
	p := prepareWith(t, starvedRun, "100ms")
	rec := p.Run(context.Background(), Options{})
	t.Logf("status %s exit %d: %s; load %+v", rec.Status, rec.ExitCode, rec.Message, rec.Load)
	if rec.ExitCode != ExitGateFailed || !strings.Contains(rec.Message, "load generator could not keep up") {
		t.Fatalf("exit %d %q, want 1 blaming the load generator", rec.ExitCode, rec.Message)
	}
	if rec.Load.NotSent < 300 || rec.Load.Sent+rec.Load.Dropped != rec.Load.Asked {
		t.Fatalf("load %+v", rec.Load)
	}
	var total, baseline *struct{ req, notSent, failed uint64 }
	for _, ph := range rec.Phases {
		v := &struct{ req, notSent, failed uint64 }{ph.Requests, ph.NotSent, ph.Failed}
		switch ph.Name {
		case "total":
			total = v
			if ph.P99S < 1 || ph.ServiceP99S > 0.6 || ph.ServiceP99S < 0.09 {
				t.Errorf("total p99 %.3fs from the due time, service p99 %.3fs: want seconds vs ≈0.1s", ph.P99S, ph.ServiceP99S)
			}
		case "baseline":
			baseline = v
		}
	}
	if total == nil || baseline == nil {
		t.Fatalf("phases %+v", rec.Phases)
	}
	if total.req != rec.Load.Asked || total.notSent != rec.Load.NotSent || total.failed < total.notSent {
		t.Fatalf("total phase: %d requests (%d not sent, %d failed); load asked %d, not sent %d",
			total.req, total.notSent, total.failed, rec.Load.Asked, rec.Load.NotSent)
	}
	var inWindows uint64
	for _, w := range rec.Windows {
		inWindows += w.Classes[string(timeline.ClassNotSent)]
	}
	if inWindows != rec.Load.NotSent {
		t.Fatalf("windows hold %d not_sent, load says %d", inWindows, rec.Load.NotSent)
	}
	noted := false
	for _, n := range rec.Notes {
		noted = noted || strings.Contains(n, "raise load.max_workers")
	}
	if !noted {
		t.Fatalf("notes %q", rec.Notes)
	}
}

// TestNoFaultsStillJudgesSteadyState: a run without faults or gates whose
// steady state never holds fails with exit 1 and says so.
func TestNoFaultsStillJudgesSteadyState(t *testing.T) {
	t.Parallel()
	const y = `name: never-healthy
target: {kind: sandbox, sandbox: {config: SANDBOX}}
load: {rate: 40, duration: 4s, timeout: 1s}
steady_state: {window: 1s, thresholds: ["p99 < 1ms"], stable_for: 1, baseline: 2s, verify: 1s}
`
	rec := prepareWith(t, y, "20ms").Run(context.Background(), Options{})
	if rec.ExitCode != ExitGateFailed || rec.Status != "baseline-failed" || !strings.Contains(rec.Message, "steady state did not hold") {
		t.Fatalf("status %s exit %d: %s", rec.Status, rec.ExitCode, rec.Message)
	}
	// 40 requests per window are too few for p99: the record says so.
	warned := false
	for _, n := range rec.Notes {
		warned = warned || strings.Contains(n, "use window: 3s")
	}
	if !warned {
		t.Fatalf("notes %q: no window-size warning", rec.Notes)
	}
}

// TestLateFailuresStayInTheirFault: failures after a fault recovered count
// as its late failures until its rollback, but never the next fault's: the
// window of the next injection belongs to the next fault.
func TestLateFailuresStayInTheirFault(t *testing.T) {
	t.Parallel()
	const y = `name: two-faults
target: {kind: sandbox, sandbox: {config: SANDBOX}}
load: {rate: 50, duration: 14s, timeout: 1s}
steady_state: {window: 1s, thresholds: ["success_ratio >= 0.98"], stable_for: 2, baseline: 3s, verify: 2s}
faults:
  - {name: kill, kind: terminate-instances, at: 4s}
  - {name: failover, kind: db-failover, at: 8s}
`
	rec := prepareWith(t, y, "2ms").Run(context.Background(), Options{})
	failed := map[string]uint64{}
	for _, ph := range rec.Phases {
		failed[ph.Name] = ph.Failed
	}
	for _, f := range rec.Faults {
		rc := f.Recovery
		t.Logf("%s: failed %d, late %d, phase %d", f.Name, rc.FailedRequests, rc.LateFailures, failed["fault: "+f.Name])
		if !f.Injected {
			t.Fatalf("%s not injected: %s", f.Name, f.Skipped)
		}
		if rc.FailedRequests+rc.LateFailures > failed["fault: "+f.Name] {
			t.Errorf("%s: %d failed + %d late, but its phase holds %d failures", f.Name, rc.FailedRequests, rc.LateFailures, failed["fault: "+f.Name])
		}
	}
}
