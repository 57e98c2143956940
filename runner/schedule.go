package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gameday-dev/gameday/analysis"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/faults"
)

// The fault scheduler. Each fault has its own goroutine: it waits for its
// declared time (or for the previous fault to have ended and recovered,
// with `after: recovered`), injects, holds for its duration and rolls
// back. Faults whose times overlap are held together. Injections are
// serialised: right before each one the guards are judged again against
// the live state (what every fault of this run holds now, and what the
// AWS APIs say), and a stopped scheduler injects nothing more. A rollback
// that fails stops every further injection and ends the run early, so the
// final rollback (which retries) comes at once. No fault is held into the
// verify period: the final rollback of the scheduler is at its start
// (load end − steady_state.verify).

// sched is one run's fault scheduler.
type sched struct {
	r              *run
	active         *sync.Map
	start, holdEnd time.Time

	mu     sync.Mutex // serialises guard checks and injections; guards stop and the end status
	stop   string     // why no further fault may be injected ("" while injecting is allowed)
	status string     // non-empty when the run must end early
	msg    string
	cancel context.CancelFunc

	slots []*slot
}

// slot is one fault's outcome, for the fault that starts after it.
type slot struct {
	done chan struct{} // closed once the fault is over (held and rolled back) or was not injected
	a    *applied      // set before done is closed, nil if not injected
}

// schedule waits for the baseline, checks it, then runs every fault at its
// time. It returns once no fault is held any more (the verify period
// began, the run is ending, or a failure ended it early); a non-empty
// status says the run must end early.
func (r *run) schedule(ctx context.Context, start, loadEnd time.Time, active *sync.Map, crash func(string)) (string, string) {
	p, x := r.p, r.p.Experiment
	if len(p.Faults) == 0 {
		return "", ""
	}
	width := x.SteadyState.Window
	baselineEnd := start.Add(x.SteadyState.Baseline)
	if !sleepUntil(ctx, baselineEnd) {
		return "", ""
	}
	// The baseline's windows are final once the slowest request could have
	// ended; the first window is skipped as connection warm-up.
	if !sleepUntil(ctx, baselineEnd.Add(experiments.BaselineSettle(x))) {
		return "", ""
	}
	r.mu.Lock()
	agg := r.tl.Aggregate(start.Add(width), baselineEnd)
	ok, broken := analysis.Holds(&agg.Counts, p.Compiled.Thresholds, width*time.Duration(max(agg.Windows, 1)))
	r.tl.AddEvent(time.Now(), "baseline", "baseline", fmt.Sprintf("holds=%v %s", ok, strings.Join(broken, "; ")))
	r.mu.Unlock()
	if !ok {
		return "baseline-failed", "the steady state did not hold during the baseline (" + strings.Join(broken, "; ") + "); no fault was injected"
	}

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &sched{r: r, active: active, start: start, holdEnd: loadEnd.Add(-x.SteadyState.Verify), cancel: cancel}
	for range p.Faults {
		s.slots = append(s.slots, &slot{done: make(chan struct{})})
	}
	// Waiting for a fault's time ends when the verify period begins; a
	// hold ends by itself by then, so that holds ending right at its
	// start end in their own goroutines, together, not one after the
	// other in the final rollback. An early end cancels both.
	wctx, stopWaiting := context.WithCancel(sctx)
	defer stopWaiting()
	var wg sync.WaitGroup
	for i := range p.Faults {
		wg.Add(1)
		go func() {
			defer wg.Done()
			guard("the fault scheduler", crash, func() { s.runFault(wctx, sctx, i) })
		}()
	}
	// Until the verify period begins, or the run ends early.
	if sleepUntil(sctx, s.holdEnd) {
		s.halt("the verify period had begun")
	} else if ctx.Err() != nil {
		s.halt("the run was ending")
	}
	stopWaiting()
	wg.Wait()
	cancel()
	if ctx.Err() != nil {
		return "", ""
	}
	s.mu.Lock()
	status, msg := s.status, s.msg
	s.mu.Unlock()
	if status != "" {
		return status, msg
	}
	// Leave the verification phase fault-free: roll back what remains
	// (faults without a hold of their own, such as a decrementing terminate).
	r.rollbackAll(ctx)
	active.Range(func(k, _ any) bool { active.Delete(k); return true })
	return "", ""
}

// sleepUntil waits until t; false if ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tm.C:
		return true
	}
}

// halt stops further injections, giving why to the faults that were not
// injected because of it. The first reason stays.
func (s *sched) halt(why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stop == "" {
		s.stop = why
	}
}

// end stops further injections and ends the run early with status; the
// caller holds s.mu.
func (s *sched) endLocked(status, msg, why string) {
	if s.stop == "" {
		s.stop = why
	}
	if s.status == "" {
		s.status, s.msg = status, msg
	}
	s.cancel()
}

func (s *sched) end(status, msg, why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endLocked(status, msg, why)
}

// runFault is one fault's life: wait, inject, hold, roll back. ctx ends
// the waiting (and an apply under way), hold the hold.
func (s *sched) runFault(ctx, hold context.Context, i int) {
	r := s.r
	spec, f, sl := r.p.Faults[i].Spec, r.p.Faults[i].Fault, s.slots[i]
	defer close(sl.done)
	injected := false
	defer func() {
		// Not injected because the scheduler stopped: say why.
		if !injected {
			s.mu.Lock()
			why := s.stop
			s.mu.Unlock()
			if why != "" && !r.wasSkipped(i) {
				r.skip(i, "not injected: "+why)
			}
		}
	}()
	var at time.Time
	if spec.After == "recovered" {
		prev := s.slots[i-1]
		select {
		case <-prev.done:
		case <-ctx.Done():
			return
		}
		if prev.a == nil {
			r.skip(i, fmt.Sprintf("the previous fault %s was not injected", r.p.Faults[i-1].Fault.Name()))
			return
		}
		t, ok := r.waitRecovered(ctx, prev.a, s.holdEnd)
		if ctx.Err() != nil {
			return
		}
		if !ok {
			r.skip(i, fmt.Sprintf("%s had not recovered before the verify period began", prev.a.f.Name()))
			return
		}
		at = t.Add(spec.Delay)
	} else {
		at = s.start.Add(spec.At)
	}
	if !at.Before(s.holdEnd) {
		r.skip(i, fmt.Sprintf("it would start at %.1fs, inside the verify period (from %.1fs)", at.Sub(s.start).Seconds(), s.holdEnd.Sub(s.start).Seconds()))
		return
	}
	if !sleepUntil(ctx, at) {
		return
	}
	a := s.inject(ctx, i)
	if a == nil {
		return
	}
	injected = true
	if spec.Duration <= 0 {
		// Held until the scheduler's final rollback (e.g. a decrement),
		// but over as far as a fault starting after it is concerned.
		sl.a = a
		return
	}
	// A fixed-time hold ends at its declared end (a late injection does
	// not push it back); a chained one a duration after its injection.
	until := s.start.Add(spec.At + spec.Duration)
	if spec.After != "" {
		until = a.injectedAt.Add(spec.Duration)
	}
	if until.After(s.holdEnd) {
		// Only an `after: recovered` fault can get here: validation refuses
		// a fixed-time hold that reaches into the verify period.
		note := fmt.Sprintf("the %s hold was cut to %.1fs: it would have reached into the verify period (from %.1fs)",
			spec.Duration, s.holdEnd.Sub(a.injectedAt).Seconds(), s.holdEnd.Sub(s.start).Seconds())
		r.event(time.Now(), "hold-cut", f.Name(), note)
		r.addNote(a, note)
		until = s.holdEnd
	}
	if !sleepUntil(hold, until) {
		return // the final rollback undoes it
	}
	r.rollback(hold, a)
	s.active.Delete(f.Name())
	if a.rbErr != nil {
		why := fmt.Sprintf("the rollback of %s failed", f.Name())
		s.end("error", fmt.Sprintf("rollback of %s failed: %v; no further fault was injected", f.Name(), a.rbErr), why)
		return
	}
	sl.a = a
}

// inject judges the guards against the live state and applies fault i,
// journaled first. It returns nil if the fault was not injected; a failed
// apply ends the run early (what was applied is rolled back by then).
func (s *sched) inject(ctx context.Context, i int) *applied {
	r := s.r
	f := r.p.Faults[i].Fault
	s.mu.Lock()
	defer s.mu.Unlock()
	if ctx.Err() != nil || s.stop != "" {
		return nil // the deferred skip in runFault says why
	}
	if err := r.p.liveGuards(ctx, i, r.held()); err != nil {
		var ge *GuardError
		why := "the guards could not be checked: " + err.Error()
		if errors.As(err, &ge) {
			why = "refused by a guard: " + ge.Msg
		}
		r.event(time.Now(), "guard", f.Name(), why)
		r.skip(i, why)
		r.addRunNote(fmt.Sprintf("%s was not injected: %s", f.Name(), why))
		return nil
	}
	a := &applied{idx: i, f: f}
	if r.jr != nil {
		id, err := r.jr.Begin(r.o.RunID, f)
		if err != nil {
			s.endLocked("error", fmt.Sprintf("journal %s before applying: %v", f.Name(), err), "the journal could not be written")
			return nil
		}
		a.entry = id
	}
	a.injectedAt = time.Now()
	r.mu.Lock()
	r.done = append(r.done, a)
	r.mu.Unlock()
	r.event(a.injectedAt, "inject", f.Name(), f.Describe())
	s.active.Store(f.Name(), struct{}{})
	err := f.Apply(ctx)
	if r.jr != nil {
		// Record the fuller undo (e.g. the clone ACL's id) now that it is known.
		if jerr := r.jr.Applied(a.entry, r.o.RunID, f, err); jerr != nil {
			r.event(time.Now(), "journal-error", f.Name(), jerr.Error())
		}
	}
	if err != nil {
		r.event(time.Now(), "apply-error", f.Name(), err.Error())
		if ctx.Err() != nil {
			return nil // the run is ending anyway; the final rollback undoes it
		}
		s.endLocked("error", fmt.Sprintf("apply %s: %v (what was applied is being rolled back)", f.Name(), err), "applying "+f.Name()+" failed")
		return nil
	}
	return a
}

// held returns every fault this run injected, and whether it still holds
// what it took (not rolled back, including when its rollback failed).
func (r *run) held() []holding {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]holding, 0, len(r.done))
	for _, a := range r.done {
		out = append(out, holding{f: a.f, held: !a.rolledBack})
	}
	return out
}

// waitRecovered polls the settled windows after a's injection until they
// show recovery, or until limit is near.
func (r *run) waitRecovered(ctx context.Context, a *applied, limit time.Time) (time.Time, bool) {
	x := r.p.Experiment
	width := x.SteadyState.Window
	quiet := max(5*time.Second, 3*time.Duration(x.SteadyState.StableFor)*width)
	tk := time.NewTicker(width / 2)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return time.Time{}, false
		case <-tk.C:
		}
		now := time.Now()
		if now.After(limit.Add(-time.Duration(x.SteadyState.StableFor) * width)) {
			return time.Time{}, false
		}
		r.mu.Lock()
		settled := r.tl.Settled(now, r.settle())
		end := r.tl.Start.Add(time.Duration(settled) * width)
		rec := analysis.Measure(r.tl, r.p.Compiled.Thresholds, x.SteadyState.StableFor, a.injectedAt, end)
		r.mu.Unlock()
		if !rec.Recovered {
			continue
		}
		if rec.Impacted || end.Sub(a.injectedAt) >= quiet {
			return now, true
		}
	}
}

func (r *run) skip(i int, why string) {
	r.event(time.Now(), "skip", r.p.Faults[i].Fault.Name(), why)
}

// wasSkipped reports whether fault i has a skip event already.
func (r *run) wasSkipped(i int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	name := r.p.Faults[i].Fault.Name()
	for _, e := range r.tl.Events() {
		if e.Kind == "skip" && e.Name == name {
			return true
		}
	}
	return false
}

func (r *run) event(t time.Time, kind, name, detail string) {
	r.mu.Lock()
	r.tl.AddEvent(t, kind, name, detail)
	r.mu.Unlock()
	if r.o.Progress != nil {
		if r.o.TTY {
			fmt.Fprint(r.o.Progress, "\r\033[K")
		}
		fmt.Fprintf(r.o.Progress, "%6.1fs  %-12s %s  %s\n", t.Sub(r.tl.Start).Seconds(), kind, name, detail)
	}
}

// addNote records a note on a fault (and so in the run's notes).
func (r *run) addNote(a *applied, note string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a.notes = append(a.notes, note)
}

// addRollbackNote records what a fault's rollback noticed; any such note
// fails the clean_rollback gate.
func (r *run) addRollbackNote(a *applied, note string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a.rbNotes = append(a.rbNotes, note)
}

// addRunNote records a note about the run as a whole.
func (r *run) addRunNote(note string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, note)
}

// rollback undoes a, retrying through throttling. A rollback that fails
// leaves a pending (rbErr); a later call retries it, and one that succeeds
// clears the error (the earlier failure stays in the rollback notes).
// Whatever the fault's rollback noticed (faults.Noter) becomes its notes.
func (r *run) rollback(parent context.Context, a *applied) {
	if a.rolledBack {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), r.o.RollbackTimeout)
	defer cancel()
	attempts, err := faults.RollbackPatiently(ctx, a.f)
	a.rbAt = time.Now()
	if attempts > 1 && err == nil {
		r.event(a.rbAt, "rollback-retried", a.f.Name(), fmt.Sprintf("rolled back after %d attempts (the AWS API was throttling or failing)", attempts))
	}
	if err != nil {
		a.rbErr = err
		r.event(a.rbAt, "rollback-error", a.f.Name(), err.Error())
		return
	}
	if a.rbErr != nil {
		r.addRollbackNote(a, fmt.Sprintf("the rollback failed (%v) and succeeded when retried", a.rbErr))
	}
	r.mu.Lock()
	a.rbErr = nil
	a.rolledBack = true
	r.mu.Unlock()
	if n, ok := a.f.(faults.Noter); ok {
		for _, note := range n.Notes() {
			r.addRollbackNote(a, note)
			r.event(a.rbAt, "rollback-note", a.f.Name(), note)
		}
	}
	if r.jr != nil && a.entry != "" {
		if err := r.jr.Done(a.entry); err != nil {
			r.event(a.rbAt, "journal-error", a.f.Name(), err.Error())
		}
	}
	r.event(a.rbAt, "rollback", a.f.Name(), "rolled back")
}

// rollbackAll rolls back whatever is still applied, last injected first.
func (r *run) rollbackAll(parent context.Context) {
	for i := len(r.done) - 1; i >= 0; i-- {
		r.rollback(parent, r.done[i])
	}
}

// timelineText is the plan's fault timeline, as the scheduler will run it:
// each fault's start and end, the faults held at the same time, and the
// verify period, in which no fault is held.
func (p *Prepared) timelineText() string {
	var b strings.Builder
	x := p.Experiment
	verifyFrom := x.Load.Duration - x.SteadyState.Verify
	type span struct {
		name     string
		from, to time.Duration
		dur      bool
	}
	var spans []span
	for i, pf := range p.Faults {
		f, spec := pf.Fault, pf.Spec
		var when string
		switch {
		case spec.After != "":
			when = fmt.Sprintf("after %s is over and users recovered, + %s", p.Faults[i-1].Fault.Name(), spec.Delay)
			if spec.Duration > 0 {
				when += fmt.Sprintf(", held %s (cut at %s, where the verify period begins)", spec.Duration, verifyFrom)
			}
		case spec.Duration > 0:
			when = fmt.Sprintf("%s → %s (held %s)", spec.At, spec.At+spec.Duration, spec.Duration)
			spans = append(spans, span{f.Name(), spec.At, spec.At + spec.Duration, true})
		default:
			when = "at " + spec.At.String()
			spans = append(spans, span{f.Name(), spec.At, spec.At, false})
		}
		fmt.Fprintf(&b, "fault       %s %s: %s\n", f.Name(), when, f.Describe())
	}
	for i, a := range spans {
		for _, c := range spans[i+1:] {
			switch {
			case a.dur && c.dur && a.from < c.to && c.from < a.to:
				fmt.Fprintf(&b, "overlap     %s and %s are held together from %s to %s\n", a.name, c.name, max(a.from, c.from), min(a.to, c.to))
			case a.dur && !c.dur && a.from <= c.from && c.from < a.to:
				fmt.Fprintf(&b, "overlap     %s at %s falls inside %s's hold (%s → %s)\n", c.name, c.from, a.name, a.from, a.to)
			case !a.dur && c.dur && c.from <= a.from && a.from < c.to:
				fmt.Fprintf(&b, "overlap     %s at %s falls inside %s's hold (%s → %s)\n", a.name, a.from, c.name, c.from, c.to)
			case !a.dur && !c.dur && a.from == c.from:
				fmt.Fprintf(&b, "overlap     %s and %s start together at %s\n", a.name, c.name, a.from)
			}
		}
	}
	if len(p.Faults) > 0 {
		fmt.Fprintf(&b, "verify      %s → %s: every fault is rolled back at %s; none is held after it\n", verifyFrom, x.Load.Duration, verifyFrom)
	}
	return b.String()
}
