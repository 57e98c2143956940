package runner

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gameday-dev/gameday/faults"
)

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
	// The sandbox's group replaces a stopped member within about a second
	// (issue 13): the rollback says it did not start it, or started it.
	for _, n := range f.RollbackNotes {
		if !strings.Contains(n, "not started") {
			t.Errorf("unexpected rollback note %q", n)
		}
	}
	if !strings.Contains(f.Plan, "stop") {
		t.Errorf("plan %q", f.Plan)
	}
}
