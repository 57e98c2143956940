package runner

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/gameday-dev/gameday/faults"
)

// reboot-db end to end: the writer stays in its AZ, the requests the
// restart failed are the ground truth's, within one window of the
// measured recovery.
func TestRebootDBRun(t *testing.T) {
	t.Parallel()
	p := prepare(t, `name: reboot-db
target: {kind: sandbox, require_tag: gameday:opt-in=true}
load:
  rate: 30
  duration: 11s
  timeout: 2s
  requests: [{method: POST, path: /orders, body: '{"sku":"gd-1","qty":1}'}]
steady_state: {window: 1s, thresholds: ["success_ratio >= 0.9"], stable_for: 2, baseline: 3s, verify: 2s}
faults:
  - {name: restart, kind: reboot-db, at: 4s}
`)
	before := inProcess(p).Region().WriterAZ()
	rec := p.Run(context.Background(), Options{JournalPath: filepath.Join(t.TempDir(), "journal.jsonl")})
	if len(rec.Faults) != 1 {
		t.Fatalf("faults %+v", rec.Faults)
	}
	f := rec.Faults[0]
	if f.Kind != faults.KindRebootDB || !f.Injected || !f.RolledBack || f.GroundTruth == nil || len(f.RollbackNotes) != 0 {
		t.Fatalf("want it injected, rolled back without notes and with ground truth: %+v", f)
	}
	if az := inProcess(p).Region().WriterAZ(); az != before {
		t.Errorf("writer in %s after a reboot without failover, was %s", az, before)
	}
	gt := f.GroundTruth
	t.Logf("ground truth %+v; measured %+v", *gt, f.Recovery)
	if gt.Failed == 0 || gt.Reasons["db-unreachable"] == 0 {
		t.Errorf("ground truth counts no database failure: %+v", *gt)
	}
	if !f.Recovery.Recovered || math.Abs(gt.MeasuredDeltaS) > rec.WindowS {
		t.Errorf("measured minus truth %.2fs (recovered %v): want within one window", gt.MeasuredDeltaS, f.Recovery.Recovered)
	}
}
