package runner

import (
	"context"
	"math"
	"path/filepath"
	"testing"
)

// A blackhole of the AZ holding the database writer (local-1a in the
// sandbox): failures must be attributed to local-1a by target AZ (the
// client timeout exceeds the app's database timeout, so the app's 500 names
// the AZ it could not reach), and the ground truth must agree with the
// measurement.
const dbAZBlackholeRun = `name: db-az-blackhole
target: {kind: sandbox}
load:
  rate: 40
  duration: 14s
  timeout: 2s
  max_workers: 64
  max_connections: 64
  dns_ttl: 1s
  max_conn_age: 1s
  requests: [{method: POST, path: /orders, body: '{"sku":"gd-1","qty":1}'}]
steady_state: {window: 1s, thresholds: ["success_ratio >= 0.9"], stable_for: 2, baseline: 3s, verify: 3s}
faults:
  - {name: outage, kind: az-blackhole, at: 4s, duration: 5s, targets: {az: local-1a}, subnets: all}
`

func TestDBAZBlackholeTruthAndTargetAZ(t *testing.T) {
	t.Parallel()
	p := prepare(t, dbAZBlackholeRun)
	if az := p.Sandbox.Region().WriterAZ(); az != "local-1a" {
		t.Fatalf("the writer is in %s; the test assumes local-1a", az)
	}
	rec := p.Run(context.Background(), Options{JournalPath: filepath.Join(t.TempDir(), "journal.jsonl")})
	if len(rec.Faults) != 1 || !rec.Faults[0].Injected || !rec.Faults[0].RolledBack {
		t.Fatalf("faults %+v", rec.Faults)
	}
	f := rec.Faults[0]

	// Failures by the AZ of the target that served or should have served.
	byTarget, byNode := map[string]uint64{}, map[string]uint64{}
	for _, w := range rec.Windows {
		for az, c := range w.ByTargetAZ {
			byTarget[az] += c[1]
		}
		for az, c := range w.ByAZ {
			byNode[az] += c[1]
		}
	}
	var total uint64
	for _, n := range byTarget {
		total += n
	}
	t.Logf("failed by target AZ %v, by node AZ %v", byTarget, byNode)
	// Requests that timed out without any response can only be placed at
	// their node's AZ; the rest name the AZ that failed them.
	if total == 0 || float64(byTarget["local-1a"]) < 0.9*float64(total) {
		t.Errorf("failed requests by target AZ %v: want (nearly) all in local-1a, where the database writer is", byTarget)
	}

	// Ground truth: from the sandbox's failure record.
	gt := f.GroundTruth
	if gt == nil {
		t.Fatal("no ground truth")
	}
	held := f.RolledBackAtS - f.InjectedAtS
	t.Logf("ground truth %+v; rolled back %.2fs after injection; measured time to recover %.2fs", *gt, held, f.Recovery.TimeToRecover)
	if gt.Failed == 0 || gt.Reasons["db-unreachable"] == 0 {
		t.Errorf("ground truth counts no database failures: %+v", gt)
	}
	if gt.SinceInjectS > held+rec.WindowS || gt.SinceInjectS < 1 {
		t.Errorf("ground truth %.2fs after injection; the fault was held %.2fs", gt.SinceInjectS, held)
	}
	if !f.Recovery.Recovered || math.Abs(gt.MeasuredDeltaS) > rec.WindowS {
		t.Errorf("measured minus truth %.2fs (recovered %v): want within one window", gt.MeasuredDeltaS, f.Recovery.Recovered)
	}
}
