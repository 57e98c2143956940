package runner

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gameday-dev/gameday/faults"
	"github.com/gameday-dev/gameday/sandbox/awsapi"
	"github.com/gameday-dev/gameday/sandbox/sim"
)

// hold is one blackhole as the sandbox's event log saw it: from the first
// subnet of its AZ leaving its ACL to the last one coming back (seconds
// from start).
type hold struct{ from, to float64 }

// darkness replays the sandbox's acl-association events: per AZ, the
// stretches during which any of its subnets was off the ACL it started on,
// and the most AZs that were dark at one instant.
func darkness(p *Prepared, start time.Time) (map[string][]hold, int) {
	azOf := map[string]string{}
	for _, s := range p.Topology.Subnets {
		azOf[s.ID] = s.AZ
	}
	orig, cur := map[string]string{}, map[string]string{}
	dark := map[string]float64{} // AZ → since
	holds := map[string][]hold{}
	most := 0
	for _, e := range inProcess(p).Region().Events() {
		if e.Kind != "acl-association" {
			continue
		}
		if _, ok := orig[e.Resource]; !ok {
			orig[e.Resource] = e.From
		}
		cur[e.Resource] = e.To
		t := e.Time.Sub(start).Seconds()
		az := azOf[e.Resource]
		off := false
		for sn, acl := range cur {
			if azOf[sn] == az && acl != orig[sn] {
				off = true
			}
		}
		if since, was := dark[az]; was && !off {
			holds[az] = append(holds[az], hold{since, t})
			delete(dark, az)
		} else if !was && off {
			dark[az] = t
		}
		most = max(most, len(dark))
	}
	for az, since := range dark {
		holds[az] = append(holds[az], hold{since, -1}) // never restored
	}
	return holds, most
}

func near(got, want, tol float64) bool { return got >= want-tol && got <= want+tol }

// TestFaultsStartAtTheirDeclaredTimes: two blackholes declared at 6s for
// 5s and a failover declared at 8s, on a 12s load, are held 6-11s
// together (as the sandbox's ACL associations show) and the failover
// starts at 8s; nothing is held after the load.
func TestFaultsStartAtTheirDeclaredTimes(t *testing.T) {
	t.Parallel()
	p := prepare(t, `name: concurrent
target: {kind: sandbox}
load: {rate: 20, duration: 12s, timeout: 1s, max_workers: 32, max_connections: 32}
steady_state: {window: 1s, thresholds: ["success_ratio >= 0.5"], stable_for: 1, baseline: 3s, verify: 1s}
faults:
  - {name: a, kind: az-blackhole, at: 6s, duration: 5s, targets: {az: local-1a}}
  - {name: b, kind: az-blackhole, at: 6s, duration: 5s, targets: {az: local-1b}}
  - {name: flip, kind: db-failover, at: 8s}
`)
	before := associations(p)
	rec := p.Run(context.Background(), Options{JournalPath: filepath.Join(t.TempDir(), "journal.jsonl")})
	start := rec.StartedAt
	if rec.ExitCode != ExitPass && rec.ExitCode != ExitGateFailed {
		t.Fatalf("exit %d (%s): %s", rec.ExitCode, rec.Status, rec.Message)
	}
	holds, most := darkness(p, start)
	for _, az := range []string{"local-1a", "local-1b"} {
		h := holds[az]
		if len(h) != 1 || !near(h[0].from, 6, 1) || !near(h[0].to, 11, 1) {
			t.Errorf("%s held %v, want once from 6s to 11s (events %+v)", az, h, rec.Events)
		}
		if len(h) == 1 && (h[0].to < 0 || h[0].to > 12) {
			t.Errorf("%s held until %.2fs, after the 12s load", az, h[0].to)
		}
	}
	if most != 2 {
		t.Errorf("at most %d AZs dark at once, want the 2 overlapping blackholes", most)
	}
	var failover float64 = -1
	for _, e := range inProcess(p).Region().Events() {
		if e.Kind == "db-status" && e.From == sim.DBAvailable && failover < 0 {
			failover = e.Time.Sub(start).Seconds()
		}
	}
	if !near(failover, 8, 1) {
		t.Errorf("the failover declared at 8s started at %.2fs", failover)
	}
	if after := associations(p); !sameMap(after, before) {
		t.Fatalf("ACL associations not restored:\n got %v\nwant %v", after, before)
	}
}

// TestFailedRollbackStopsInjecting: three blackholes meant to be one after
// the other; the first one's rollback fails once (a non-retryable AWS
// error). No further fault is injected (never every AZ dark), the run
// goes to its final rollback, which retries and succeeds: nothing is
// pending, so the exit code is 5 (an AWS error stopped the run), not 4.
func TestFailedRollbackStopsInjecting(t *testing.T) {
	t.Parallel()
	p := prepare(t, `name: sequential
target: {kind: sandbox}
load: {rate: 20, duration: 16s, timeout: 1s, max_workers: 32, max_connections: 32}
steady_state: {window: 1s, thresholds: ["success_ratio >= 0.5"], stable_for: 1, baseline: 3s, verify: 1s}
faults:
  - {name: a, kind: az-blackhole, at: 4s, duration: 2s, targets: {az: local-1a}}
  - {name: b, kind: az-blackhole, at: 7s, duration: 2s, targets: {az: local-1b}}
  - {name: c, kind: az-blackhole, at: 10s, duration: 2s, targets: {az: local-1c}}
`)
	before := associations(p)
	// a's apply moves two subnets; the next replace (a's rollback) fails.
	inProcess(p).APIErrors().Add(awsapi.ErrorRule{Service: "ec2", Action: "ReplaceNetworkAclAssociation", After: 2, Count: 1, Code: "UnauthorizedOperation"})
	jr := filepath.Join(t.TempDir(), "journal.jsonl")
	rec := p.Run(context.Background(), Options{JournalPath: jr})
	holds, most := darkness(p, rec.StartedAt)
	if most >= 3 {
		t.Errorf("every AZ was dark at once: %v", holds)
	}
	for _, f := range rec.Faults[1:] {
		if f.Injected || !strings.Contains(f.Skipped, "rollback of a failed") {
			t.Errorf("fault %s injected=%v skipped=%q; want it not injected after a's rollback failed", f.Name, f.Injected, f.Skipped)
		}
	}
	if len(holds["local-1b"]) > 0 || len(holds["local-1c"]) > 0 {
		t.Errorf("faults injected after the failed rollback: %v", holds)
	}
	if rec.ExitCode != ExitError || !strings.Contains(rec.Message, "rollback of a failed") {
		t.Errorf("exit %d (%s): %s; want %d naming the failed rollback", rec.ExitCode, rec.Status, rec.Message, ExitError)
	}
	if !rec.Faults[0].RolledBack || rec.Faults[0].Error != "" {
		t.Errorf("fault a: rolled back %v, error %q", rec.Faults[0].RolledBack, rec.Faults[0].Error)
	}
	if pend, err := faults.ReadPending(jr); err != nil || len(pend) != 0 {
		t.Fatalf("journal pending %d (%v)", len(pend), err)
	}
	if after := associations(p); !sameMap(after, before) {
		t.Fatalf("ACL associations not restored:\n got %v\nwant %v", after, before)
	}
}

// TestChainedHoldIsCutAtTheVerifyPeriod: an after: recovered blackhole,
// whose start is only known during the run, asks for a 30s hold on a 16s
// load; the hold ends where the verify period begins (the sandbox's ACL
// associations show it), and the run says so.
func TestChainedHoldIsCutAtTheVerifyPeriod(t *testing.T) {
	t.Parallel()
	p := prepare(t, `name: chained
target: {kind: sandbox}
load: {rate: 20, duration: 16s, timeout: 1s, max_workers: 32, max_connections: 32}
steady_state: {window: 1s, thresholds: ["success_ratio >= 0.5"], stable_for: 1, baseline: 2s, verify: 2s}
faults:
  - {name: flip, kind: db-failover, at: 3s}
  - {name: dark, kind: az-blackhole, after: recovered, duration: 30s, targets: {az: local-1b}}
`)
	before := associations(p)
	rec := p.Run(context.Background(), Options{JournalPath: filepath.Join(t.TempDir(), "journal.jsonl")})
	f := rec.Faults[1]
	if !f.Injected {
		t.Fatalf("the chained blackhole was not injected: %s (events %+v)", f.Skipped, rec.Events)
	}
	holds, _ := darkness(p, rec.StartedAt)
	h := holds["local-1b"]
	if len(h) != 1 || h[0].to < 0 || h[0].to > 14.5 {
		t.Fatalf("local-1b held %v; want the hold to end by the verify period at 14s", h)
	}
	if len(f.Notes) == 0 || !strings.Contains(f.Notes[0], "hold was cut") || !strings.Contains(strings.Join(rec.Notes, "\n"), "dark: the 30s hold was cut") {
		t.Fatalf("fault notes %q, run notes %q", f.Notes, rec.Notes)
	}
	if after := associations(p); !sameMap(after, before) {
		t.Fatalf("ACL associations not restored:\n got %v\nwant %v", after, before)
	}
}
