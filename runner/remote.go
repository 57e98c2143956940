package runner

import (
	"context"
	"time"

	"github.com/gameday-dev/gameday/attack"
	"github.com/gameday-dev/gameday/record"
	"github.com/gameday-dev/gameday/timeline"
)

// RemoteLoad sends a run's load from other processes (load.generators:
// gameday workers) instead of this one; generators.Coordinator implements
// it. The runner calls Barrier first (nothing has been changed on the
// target yet), takes the instant it returns as the start of its timeline,
// merges the windows Run delivers into it, adds Record's per-worker table
// to the record, and calls Close on every exit path.
type RemoteLoad interface {
	// Barrier starts the workers on cfg with windows of width, waits for
	// all of them, and returns the start instant (on this clock, a little
	// ahead).
	Barrier(ctx context.Context, cfg attack.Config, width time.Duration) (time.Time, error)
	// Run merges the workers' window summaries with merge until they are
	// done or lost; abort ends the run early (a worker lost when the
	// experiment says fail). ctx ending stops the workers.
	Run(ctx context.Context, merge func(window int, c *timeline.Counts) error, abort func(why string)) (attack.Summary, error)
	// Lag is how much later than a local generator's a window's last
	// counts may arrive (the workers' flush interval plus the network).
	Lag() time.Duration
	Record(rec *record.Run)
	// Close stops every worker still running.
	Close() error
}

// settle is how long after a window's end it is final online.
func (r *run) settle() time.Duration {
	d := settleAfter(r.p.Experiment.Load.Timeout)
	if r.o.Remote != nil {
		d += r.o.Remote.Lag()
	}
	return d
}

// barrier runs the remote load's barrier; it returns the start instant, or
// false after setting the record's status (nothing was changed).
func (r *run) barrier(ctx context.Context) (time.Time, bool) {
	start, err := r.o.Remote.Barrier(ctx, r.p.Attack, r.p.Experiment.SteadyState.Window)
	if err == nil {
		t := time.NewTimer(time.Until(start))
		defer t.Stop()
		select {
		case <-t.C:
			return start, true
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	r.rec.StartedAt, r.rec.EndedAt = time.Now(), time.Now()
	if ctx.Err() != nil {
		r.rec.Status, r.rec.ExitCode, r.rec.Message = "interrupted", ExitInterrupted, "interrupted while the load generators were starting; nothing was injected"
	} else {
		r.rec.Status, r.rec.ExitCode, r.rec.Message = "error", ExitError, "load generators: "+err.Error()+"; nothing was injected"
	}
	return time.Time{}, false
}

// remoteLoad runs the remote load, merging into the timeline.
func (r *run) remoteLoad(ctx context.Context, abort func(string)) (attack.Summary, error) {
	return r.o.Remote.Run(ctx, func(i int, c *timeline.Counts) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.tl.MergeWindow(i, c)
	}, func(why string) {
		r.event(time.Now(), "abort", "load-generator", why)
		abort(why)
	})
}
