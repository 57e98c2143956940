package runner

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gameday-dev/gameday/faults"
)

// LeaseTTL is how long a run's lease on what it faults lasts without a
// renewal; the run renews it every LeaseTTL/3 while it lives. A run that
// crashed on this host loses its lease at once (its process is gone); on
// another host, when the lease expires.
var LeaseTTL = 2 * time.Minute

// takeLease leases every resource the run's faults touch (faults.Acquire)
// before anything is applied, and keeps renewing it. On refusal (another
// live run holds a resource) the record says so with exit code 2 and ok
// is false. release stops the renewals and, when the journal says nothing
// is pending, deletes the lease; otherwise the lease stays, so that
// `gameday rollback` (which releases it) or its expiry ends it.
func (r *run) takeLease(ctx context.Context) (release func(), ok bool) {
	rs := faults.LeasesOf(r.p.faultList())
	if len(rs) == 0 || r.p.Location.InProcess {
		// An in-process sandbox is visible to this process only.
		return func() {}, true
	}
	c := r.p.Clients
	l := faults.NewLease(r.o.RunID, LeaseTTL)
	if err := faults.Acquire(ctx, c, rs, l); err != nil {
		if faults.Refused(err) {
			r.rec.Status, r.rec.ExitCode, r.rec.Message = "refused", ExitBadInput, err.Error()
		} else {
			r.rec.Status, r.rec.ExitCode, r.rec.Message = "error", ExitError, "take the lease: "+err.Error()
		}
		return nil, false
	}
	if r.jr != nil {
		r.jr.SetLease(l.ID)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				nl := l
				nl.Expires = time.Now().Add(LeaseTTL)
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), LeaseTTL/3)
				if err := faults.Renew(rctx, c, rs, nl); err == nil {
					l = nl
				} else if r.o.Progress != nil {
					fmt.Fprintf(r.o.Progress, "lease: renew failed (it expires at %s): %v\n", l.Expires.UTC().Format(time.RFC3339), err)
				}
				cancel()
			}
		}
	}()
	return func() {
		close(stop)
		wg.Wait()
		if r.o.JournalPath != "" {
			if p, err := faults.ReadPending(r.o.JournalPath); err != nil || len(p) > 0 {
				return // something to roll back: the lease guards it
			}
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = faults.Release(rctx, c, rs, l.ID)
	}, true
}
