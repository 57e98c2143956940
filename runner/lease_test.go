package runner

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gameday-dev/gameday/faults"
	"github.com/gameday-dev/gameday/sandbox"
	"github.com/gameday-dev/gameday/sandbox/sim"
	"github.com/gameday-dev/gameday/sandbox/sim/simtest"
)

// TestLeaseRenewedWhileTheRunLives: against an attached sandbox (whose
// state outlives the run, as an AWS account's), the run leases the
// blackholed subnets before the fault, renews the lease while it runs
// (here every 0.5 s with a 1.5 s expiry, so a lease never renewed would
// have expired long before the end), and deletes it at the end.
func TestLeaseRenewedWhileTheRunLives(t *testing.T) {
	old := LeaseTTL
	LeaseTTL = 1500 * time.Millisecond
	defer func() { LeaseTTL = old }()
	ctx := context.Background()
	sb, err := sandbox.Start(ctx, sandbox.Config{Region: sim.Config{Timings: simtest.Timings(), Seed: 3}})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	p := prepare(t, fmt.Sprintf(`name: lease-test
target: {kind: sandbox, sandbox: {endpoint: %q}}
load: {rate: 20, duration: 9s, timeout: 1s, max_workers: 16, max_connections: 16}
steady_state: {window: 1s, thresholds: ["success_ratio >= 0.5"], stable_for: 1, baseline: 2s, verify: 1s}
faults:
  - {name: outage, kind: az-blackhole, at: 3s, duration: 4s, targets: {az: local-1b}, subnets: all}
`, sb.Endpoint()))
	rs := faults.LeasesOf(p.faultList())
	if len(rs) == 0 {
		t.Fatal("the blackhole leases nothing")
	}

	var mu sync.Mutex
	var seen []faults.Lease
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			ls, err := faults.ReadLeases(ctx, p.Clients, rs[:1])
			if err == nil && len(ls[rs[0]]) == 1 {
				mu.Lock()
				seen = append(seen, ls[rs[0]][0])
				mu.Unlock()
			}
		}
	}()
	rec := p.Run(ctx, Options{JournalPath: filepath.Join(t.TempDir(), "journal.jsonl"), RunID: "lease-test-run"})
	close(stop)
	wg.Wait()
	if rec.ExitCode != ExitPass {
		t.Fatalf("exit %d: %s", rec.ExitCode, rec.Message)
	}
	if len(seen) == 0 {
		t.Fatal("no lease seen during the run")
	}
	first, last := seen[0], seen[len(seen)-1]
	if first.Run != "lease-test-run" || last.ID != first.ID {
		t.Fatalf("leases %+v … %+v", first, last)
	}
	if !last.Expires.After(first.Expires.Add(2 * time.Second)) {
		t.Fatalf("the lease was not renewed: expiry %s then %s", first.Expires, last.Expires)
	}
	if ls, err := faults.ReadLeases(ctx, p.Clients, rs); err != nil || len(ls) != 0 {
		for _, l := range ls {
			if len(l) > 0 {
				t.Fatalf("leases left after the run: %v (%v)", ls, err)
			}
		}
	}
}
