package runner

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gameday-dev/gameday/faults"
	"github.com/gameday-dev/gameday/sandbox/sim"
)

// stateOf is an instance's EC2 state in the in-process sandbox.
func stateOf(p *Prepared, id string) string {
	for _, in := range inProcess(p).Region().Instances() {
		if in.ID == id {
			return in.State
		}
	}
	return ""
}

// A kind added only by registering (stop-instances) runs end to end: held
// for its duration by the scheduler, rolled back, its rollback note in the
// record, its ground truth read from the sandbox.
func TestStopInstancesRun(t *testing.T) {
	t.Parallel()
	p := prepare(t, `name: stop-one
target: {kind: sandbox, require_tag: gameday:opt-in=true}
load: {rate: 30, duration: 9s, timeout: 2s}
steady_state: {window: 1s, thresholds: ["success_ratio >= 0.9"], stable_for: 2, baseline: 3s, verify: 2s}
faults:
  - {name: stop-one, kind: stop-instances, at: 4s, duration: 1500ms, force: true, targets: {count: 1}}
`)
	rec := p.Run(context.Background(), Options{JournalPath: filepath.Join(t.TempDir(), "journal.jsonl")})
	if len(rec.Faults) != 1 {
		t.Fatalf("faults %+v", rec.Faults)
	}
	f := rec.Faults[0]
	t.Logf("fault %+v", f)
	if f.Kind != faults.KindStopInstances || !f.Injected || !f.RolledBack || f.GroundTruth == nil {
		t.Fatalf("want it injected, rolled back and with ground truth: %+v", f)
	}
	// Held until its declared end (at 3.5s + 1.5s), as the scheduler holds
	// any fault with a duration.
	if f.RolledBackAtS < 4.9 || f.RolledBackAtS > 6.5 || f.RolledBackAtS <= f.InjectedAtS {
		t.Errorf("injected at %.2fs, rolled back at %.2fs: want it held until 5s", f.InjectedAtS, f.RolledBackAtS)
	}
	// The group's EC2 health check finds a stopped member only after
	// timings.stopped_health_check_delay (fast profile: 20 s): the stopped
	// instance is started again, with no note.
	if len(f.RollbackNotes) != 0 {
		t.Errorf("rollback notes %q: want the instance started again", f.RollbackNotes)
	}
	if in := stateOf(p, f.Resources[0]); in != sim.StatePending && in != sim.StateRunning {
		t.Errorf("after the run %s is %s, want started again", f.Resources[0], in)
	}
	// Ground truth within one window of the measured recovery.
	gt := f.GroundTruth
	t.Logf("ground truth %+v; measured %+v", *gt, f.Recovery)
	if gt.Failed == 0 {
		t.Errorf("ground truth counts no failure of the stopped instance: %+v", *gt)
	}
	if f.Recovery.Recovered && math.Abs(gt.MeasuredDeltaS) > rec.WindowS {
		t.Errorf("measured minus truth %.2fs: want within one window", gt.MeasuredDeltaS)
	}
	if !strings.Contains(f.Plan, "stop") {
		t.Errorf("plan %q", f.Plan)
	}
}
