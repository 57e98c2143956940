package runner

import (
	"context"
	"fmt"
	"github.com/gameday-dev/gameday/internal/exitcode"
	"io"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gameday-dev/gameday/analysis"
	"github.com/gameday-dev/gameday/attack"
	"github.com/gameday-dev/gameday/faults"
	"github.com/gameday-dev/gameday/probes"
	"github.com/gameday-dev/gameday/record"
	"github.com/gameday-dev/gameday/timeline"
)

// Exit codes of the run record: the documented set, defined once in
// internal/exitcode.
const (
	ExitPass        = exitcode.OK
	ExitGateFailed  = exitcode.GateFailed
	ExitBadInput    = exitcode.BadInput
	ExitAborted     = exitcode.Aborted
	ExitRollback    = exitcode.Rollback
	ExitError       = exitcode.Error
	ExitInterrupted = exitcode.Interrupted
)

// Options tune one run.
type Options struct {
	Progress    io.Writer // live progress; nil for none
	TTY         bool      // rewrite one line instead of printing periodic lines
	Raw         func(*vegeta.Result) error
	JournalPath string // rollback journal; "" disables it
	RunID       string
	// RollbackTimeout bounds the rollback of all faults (default 2m).
	RollbackTimeout time.Duration
	// Baseline, when set, is a previous run the experiment's regression
	// gates are judged against (BaselineFile names it in the record).
	Baseline     *record.Run
	BaselineFile string
	// Remote, when set, sends the load from other processes
	// (load.generators) instead of this one; see RemoteLoad.
	Remote RemoteLoad
}

type applied struct {
	idx        int
	f          faults.Fault
	entry      string
	injectedAt time.Time
	rolledBack bool
	rbAt       time.Time
	rbErr      error // the last rollback's error; nil once a retry succeeded
	// notes say what the scheduler changed (a hold cut short); rbNotes
	// what the rollback noticed (faults.Noter, a failure then a retry).
	notes, rbNotes []string
}

type run struct {
	p    *Prepared
	o    Options
	mu   sync.Mutex // guards tl
	tl   *timeline.Timeline
	jr   *faults.Journal
	rec  *record.Run
	done []*applied // every injected fault, in order of injection
	// notes are run-level notes gathered while the run goes (guarded by mu).
	notes []string
}

// Run executes the prepared experiment and returns its record; rec.ExitCode
// says how it ended. Every injected fault is rolled back before Run returns,
// whatever ended the run (its end, a stop condition, an error, or ctx being
// cancelled by a signal).
func (p *Prepared) Run(ctx context.Context, o Options) *record.Run {
	if o.RollbackTimeout == 0 {
		o.RollbackTimeout = 2 * time.Minute
	}
	if o.RunID == "" {
		o.RunID = NewRunID(p.Experiment.Name, time.Now())
	}
	r := &run{p: p, o: o}
	r.rec = &record.Run{Schema: record.Schema, ID: o.RunID, Experiment: p.Experiment.Name, File: p.Experiment.File, Target: p.Experiment.Target.Kind,
		WindowS: p.Experiment.SteadyState.Window.Seconds(), StableFor: p.Experiment.SteadyState.StableFor, Thresholds: p.Experiment.SteadyState.Thresholds, Spec: p.Experiment}
	if o.JournalPath != "" && len(p.Faults) > 0 {
		jr, err := faults.OpenJournal(o.JournalPath)
		if err != nil {
			r.rec.Status, r.rec.ExitCode, r.rec.Message = "error", ExitError, "open journal: "+err.Error()
			return r.rec
		}
		jr.SetLocation(p.Location)
		r.jr = jr
		defer jr.Close()
	}
	for _, pf := range p.Faults {
		if t, ok := pf.Fault.(faults.RunTagger); ok {
			t.SetRun(o.RunID)
		}
	}
	release, ok := r.takeLease(ctx) // runner/lease.go
	if !ok {
		return r.rec
	}
	defer release()
	r.execute(ctx)
	return r.rec
}

// guard runs fn and turns a panic into an abort of the run, so that a bug
// in a probe, the monitor or a result handler still ends in rollback
// instead of a crash that leaves faults behind.
func guard(where string, abort func(string), fn func()) {
	defer func() {
		if v := recover(); v != nil {
			abort(fmt.Sprintf("panic in %s: %v", where, v))
		}
	}()
	fn()
}

// hit is the runner's own work per request, besides the attack's: count it
// in the timeline, and write its raw result when asked. It keeps no state
// per request (runner/hitpath_test.go measures its memory over 10M hits).
func (r *run) hit(h *attack.Hit) {
	r.mu.Lock()
	r.tl.Add(timeline.Result{Due: h.Due, Start: h.Start, Latency: h.Latency, Service: h.Service,
		Class: h.Class, AZ: h.AZ, TargetAZ: h.TargetAZ, BytesIn: h.BytesIn, BytesOut: h.BytesOut})
	r.mu.Unlock()
	if r.o.Raw != nil && h.Raw != nil && h.Class != timeline.ClassAborted {
		_ = r.o.Raw(h.Raw)
	}
}

func (r *run) execute(ctx context.Context) {
	p, x := r.p, r.p.Experiment
	start := time.Now()
	if r.o.Remote != nil {
		defer r.o.Remote.Close() // every worker stopped, whatever ends the run
		var ok bool
		if start, ok = r.barrier(ctx); !ok {
			return
		}
	}
	r.rec.StartedAt = start
	tl, err := timeline.New(start, x.SteadyState.Window)
	if err != nil {
		r.rec.Status, r.rec.ExitCode, r.rec.Message = "error", ExitError, err.Error()
		return
	}
	r.tl = tl
	loadEnd := start.Add(x.Load.Duration)

	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	var abortMu sync.Mutex
	abortReason, panicked := "", ""
	abort := func(why string) {
		abortMu.Lock()
		if abortReason == "" {
			abortReason = why
		}
		abortMu.Unlock()
		cancelRun()
	}
	crash := func(why string) {
		abortMu.Lock()
		if panicked == "" {
			panicked = why
		}
		abortMu.Unlock()
		abort(why)
	}

	// Load.
	var wg sync.WaitGroup
	var sum attack.Summary
	var atkErr error
	loadDone := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(loadDone)
		guard("the load generator", crash, func() {
			if r.o.Remote != nil {
				sum, atkErr = r.remoteLoad(runCtx, abort)
				return
			}
			cfg := p.Attack
			cfg.Start = start // every hit's due time falls in [start, start+load.duration)
			sum, atkErr = attack.Run(runCtx, cfg, r.hit)
		})
	}()

	// Probes.
	probeCtx, stopProbes := context.WithCancel(runCtx)
	for i, pr := range p.Probes {
		spec := x.Probes[i]
		iv := spec.Interval
		if iv == 0 {
			iv = x.SteadyState.Window
		}
		name := pr.Name()
		wg.Add(1)
		go func() {
			defer wg.Done()
			guard("probe "+name, crash, func() {
				probes.Run(probeCtx, pr, iv, func(t time.Time, ss []probes.Sample, err error) {
					r.mu.Lock()
					defer r.mu.Unlock()
					if err != nil {
						r.tl.AddEvent(t, "probe-error", name, err.Error())
						return
					}
					for _, s := range ss {
						r.tl.AddSample(name+"/"+s.Series, t, s.Value)
					}
					if es, ok := pr.(probes.EventSource); ok {
						for _, e := range es.Events() {
							r.tl.AddEvent(e.Time, e.Kind, name, e.Detail)
						}
					}
				})
			})
		}()
	}

	// Monitor: stop conditions and progress.
	monCtx, stopMon := context.WithCancel(runCtx)
	var active sync.Map // fault name → struct{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		guard("the monitor", crash, func() { r.monitor(monCtx, start, &active, abort) })
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		guard("the stop-condition alarms", crash, func() { r.watchStopAlarms(monCtx, abort) })
	}()

	// Schedule faults. A panic while applying (a bug in a fault) must
	// still roll back what was applied.
	var status, msg string
	guard("the fault scheduler", crash, func() { status, msg = r.schedule(runCtx, start, loadEnd, &active, crash) })

	// Wait for the load to end (or the run to be cut short).
	if status == "" {
		select {
		case <-loadDone:
		case <-runCtx.Done():
		}
	}
	// Roll back whatever is still applied, last in first out, on a context
	// that a signal cannot cancel.
	r.rollbackAll(ctx)
	cancelRun()
	stopMon()
	stopProbes()
	wg.Wait()
	r.rec.EndedAt = time.Now()

	abortMu.Lock()
	reason, crashed := abortReason, panicked
	abortMu.Unlock()
	switch {
	case crashed != "":
		status, msg = "error", crashed+" (every fault was rolled back)"
	case status != "":
	case reason != "":
		status, msg = "aborted", reason
	case ctx.Err() != nil:
		status, msg = "interrupted", "interrupted by a signal; every fault was rolled back"
	}
	if atkErr != nil && status == "" {
		status, msg = "error", "load: "+atkErr.Error()
	}
	if r.o.Remote != nil {
		r.o.Remote.Record(r.rec)
	}
	r.finish(start, sum, status, msg)
}

// monitor evaluates stop conditions on settled windows and prints progress.
func (r *run) monitor(ctx context.Context, start time.Time, active *sync.Map, abort func(string)) {
	x := r.p.Experiment
	width := x.SteadyState.Window
	tk := time.NewTicker(min(width, time.Second))
	defer tk.Stop()
	lastPrint := time.Time{}
	for {
		select {
		case <-ctx.Done():
			if r.o.Progress != nil && r.o.TTY {
				fmt.Fprint(r.o.Progress, "\r\033[K")
			}
			return
		case now := <-tk.C:
			r.mu.Lock()
			settled := r.tl.Settled(now, r.settle())
			for _, e := range r.p.Compiled.StopConditions {
				n := int(math.Ceil(float64(e.For) / float64(width)))
				if n < 1 {
					n = 1
				}
				if settled-1 < n {
					continue
				}
				hit := true
				for i := settled - n; i < settled; i++ {
					w := r.tl.Window(i)
					if !e.Holds(analysis.WindowMetric(&w.Counts, e.Metric, width)) {
						hit = false
						break
					}
				}
				if hit {
					r.mu.Unlock()
					r.event(now, "abort", "stop-condition", e.Source)
					abort("stop condition met: " + e.Source)
					r.mu.Lock()
					break
				}
			}
			var line string
			if settled > 0 && r.o.Progress != nil {
				w := r.tl.Window(settled - 1)
				var names []string
				active.Range(func(k, _ any) bool { names = append(names, k.(string)); return true })
				sort.Strings(names)
				af := "none"
				if len(names) > 0 {
					af = strings.Join(names, ",")
				}
				line = fmt.Sprintf("%6.1fs  rate %6.1f/s  success %6.2f%%  p99 %-8s  faults: %s",
					now.Sub(start).Seconds(), float64(w.Requests)/width.Seconds(), 100*ratio(w.Successes, w.Requests),
					w.OKLatency.Quantile(0.99).Round(time.Millisecond), af)
			}
			r.mu.Unlock()
			if line != "" {
				if r.o.TTY {
					fmt.Fprint(r.o.Progress, "\r\033[K"+line)
				} else if now.Sub(lastPrint) >= 5*time.Second {
					fmt.Fprintln(r.o.Progress, line)
					lastPrint = now
				}
			}
		}
	}
}

func ratio(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
