package runner

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gameday-dev/gameday/faults"
	"github.com/gameday-dev/gameday/sandbox/sim"
)

// reboot-instances end to end on a group with EC2 health checks: the
// instance comes back, the rollback has nothing to note, and the ground
// truth is within one window of the measured recovery.
func TestRebootInstancesRun(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(t.TempDir(), "sandbox.yaml")
	if err := os.WriteFile(cfg, []byte("region: {group: {health_check_type: EC2}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := prepare(t, strings.ReplaceAll(`name: reboot-one
target: {kind: sandbox, sandbox: {config: SANDBOX}, require_tag: gameday:opt-in=true}
load: {rate: 30, duration: 12s, timeout: 2s}
steady_state: {window: 1s, thresholds: ["success_ratio >= 0.9"], stable_for: 2, baseline: 3s, verify: 2s}
faults:
  - {name: reboot-one, kind: reboot-instances, at: 4s, targets: {count: 1}}
`, "SANDBOX", cfg))
	rec := p.Run(context.Background(), Options{JournalPath: filepath.Join(t.TempDir(), "journal.jsonl")})
	if len(rec.Faults) != 1 {
		t.Fatalf("faults %+v", rec.Faults)
	}
	f := rec.Faults[0]
	t.Logf("fault %+v", f)
	if f.Kind != faults.KindRebootInstances || !f.Injected || !f.RolledBack || f.GroundTruth == nil {
		t.Fatalf("want it injected, rolled back and with ground truth: %+v", f)
	}
	if len(f.RollbackNotes) != 0 {
		t.Errorf("rollback notes %q: want none (EC2 health checks keep a rebooting member)", f.RollbackNotes)
	}
	if s := stateOf(p, f.Resources[0]); s != sim.StateRunning {
		t.Errorf("after the run %s is %s, want running", f.Resources[0], s)
	}
	gt := f.GroundTruth
	t.Logf("ground truth %+v; measured %+v", *gt, f.Recovery)
	if gt.Failed == 0 {
		t.Errorf("ground truth counts no failure of the rebooting instance: %+v", *gt)
	}
	if !f.Recovery.Recovered || math.Abs(gt.MeasuredDeltaS) > rec.WindowS {
		t.Errorf("measured minus truth %.2fs (recovered %v): want within one window", gt.MeasuredDeltaS, f.Recovery.Recovered)
	}
}
