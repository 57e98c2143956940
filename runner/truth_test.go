package runner

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gameday-dev/gameday/sandbox"
	"github.com/gameday-dev/gameday/sandbox/sim"
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
	if az := inProcess(p).Region().WriterAZ(); az != "local-1a" {
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

// An attached sandbox (target.sandbox.endpoint): the ground truth comes over
// HTTP from its /_sandbox/failures record. A terminate of two instances
// counts the failures of both.
const attachedTerminate = `name: attached-terminate
target: {kind: sandbox, sandbox: {endpoint: %q}}
guards: {max_instance_share: 0.7}
load: {rate: 40, duration: 9s, timeout: 1s, max_workers: 32, max_connections: 32, dns_ttl: 1s, max_conn_age: 1s}
steady_state: {window: 1s, thresholds: ["success_ratio >= 0.9"], stable_for: 2, baseline: 3s, verify: 2s}
faults:
  - {name: kill, kind: terminate-instances, at: 4s, targets: {count: 2, seed: 3}}
`

func TestAttachedSandboxGroundTruth(t *testing.T) {
	t.Parallel()
	sb, err := sandbox.Start(context.Background(), sandbox.Config{Region: sim.Config{Seed: 11}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	p := prepare(t, fmt.Sprintf(attachedTerminate, sb.Endpoint()))
	if !attached(p) || inProcess(p) != nil {
		t.Fatal("not an attached sandbox")
	}
	rec := p.Run(context.Background(), Options{JournalPath: filepath.Join(t.TempDir(), "journal.jsonl")})
	if len(rec.Faults) != 1 || !rec.Faults[0].Injected {
		t.Fatalf("faults %+v", rec.Faults)
	}
	f := rec.Faults[0]
	gt := f.GroundTruth
	if gt == nil {
		t.Fatalf("no ground truth for an attached sandbox; notes %v", rec.Notes)
	}
	t.Logf("targets %v; ground truth %+v; measured %+v", f.Resources, *gt, f.Recovery)
	// Every failure the sandbox blamed on the terminate names one of its targets.
	seen := map[string]bool{}
	for _, b := range sb.Region().Failures(time.Time{}) {
		if b.Reason == sim.FailTargetGone || b.Reason == sim.FailTargetUnreachable || b.Reason == sim.FailTargetTimeout {
			seen[b.Resource] = true
		}
	}
	if len(f.Resources) != 2 || len(seen) == 0 {
		t.Fatalf("targets %v, failures on %v", f.Resources, seen)
	}
	for id := range seen {
		if !slices.Contains(f.Resources, id) {
			t.Errorf("a target failure on %s, not a terminated instance %v", id, f.Resources)
		}
	}
	if gt.Failed == 0 {
		t.Errorf("ground truth counts no failure: %+v", gt)
	}
	if f.Recovery.Recovered && math.Abs(gt.MeasuredDeltaS) > rec.WindowS {
		t.Errorf("measured minus truth %.2fs: want within one window", gt.MeasuredDeltaS)
	}
}

// A blackhole too short for any target to leave rotation: nothing but the
// rollback ends the impact. Requests routed to the cut-off AZ fail until
// their arrival is less than the node's connect timeout before the rollback;
// later ones are only held back (target-delayed), which counts here since
// the steady state judges p99. The ground truth used to take the last DNS
// or target-health change before the hold ended.
const shortBlackhole = `name: short-blackhole
target: {kind: sandbox}
load: {rate: 50, duration: 9s, timeout: 2s, max_workers: 64, max_connections: 64, dns_ttl: 1s, max_conn_age: 1s}
steady_state: {window: 1s, thresholds: ["success_ratio >= 0.95", "p99 < 500ms"], stable_for: 2, baseline: 3s, verify: 2s}
faults:
  - {name: blip, kind: az-blackhole, at: 4s, duration: 1200ms, targets: {az: local-1b}, subnets: private}
`

func TestShortBlackholeGroundTruth(t *testing.T) {
	t.Parallel()
	p := prepare(t, shortBlackhole)
	rec := p.Run(context.Background(), Options{JournalPath: filepath.Join(t.TempDir(), "journal.jsonl")})
	f := rec.Faults[0]
	gt := f.GroundTruth
	if !f.Injected || gt == nil {
		t.Fatalf("fault %+v", f)
	}
	held := f.RolledBackAtS - f.InjectedAtS
	t.Logf("held %.2fs; ground truth %+v; measured %+v", held, *gt, f.Recovery)
	if gt.Failed == 0 || math.Abs(gt.SinceInjectS-held) > 0.3 || gt.Reasons["target-delayed"] == 0 {
		t.Errorf("ground truth %.2fs after injection (%d failed), want the rollback %.2fs after: nothing else ended the impact", gt.SinceInjectS, gt.Failed, held)
	}
	if f.Recovery.Recovered && math.Abs(gt.MeasuredDeltaS) > rec.WindowS {
		t.Errorf("measured minus truth %.2fs: want within one window", gt.MeasuredDeltaS)
	}
}
