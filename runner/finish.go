package runner

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/gameday-dev/gameday/analysis"
	"github.com/gameday-dev/gameday/attack"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/probes"
	"github.com/gameday-dev/gameday/record"
	"github.com/gameday-dev/gameday/sandbox/truth"
	"github.com/gameday-dev/gameday/timeline"
)

// finish analyses the timeline and fills the record, gates and exit code.
func (r *run) finish(start time.Time, sum attack.Summary, status, msg string) {
	p, x, tl, rec := r.p, r.p.X, r.tl, r.rec
	width := x.SteadyState.Window
	off := func(t time.Time) float64 { return t.Sub(start).Seconds() }
	// A run that went its full length ends where the plan ends (the last
	// hit is sent a little before, which would drop the last window); a
	// run cut short ends where the load stopped.
	end := start.Add(x.Load.Duration)
	if status != "" && sum.Ended.After(start) && sum.Ended.Before(end) {
		end = sum.Ended
	}

	elapsed := sum.Ended.Sub(sum.Started).Seconds()
	// Not sent as judged: the not_sent hits the timeline holds (a cancelled
	// run's backlog is dropped but not judged).
	all := tl.Total()
	rec.Load = record.Load{Asked: sum.Asked, Sent: sum.Sent, Dropped: sum.Dropped, NotSent: all.Classes.Get(timeline.ClassNotSent),
		SentLate: sum.Late, Aborted: sum.Aborted, DurationS: elapsed, MaxWorkers: sum.MaxWorkersUsed, Dials: sum.Dials}
	if elapsed > 0 {
		rec.Load.AskedRPS = float64(sum.Asked) / elapsed
		rec.Load.AchievedRPS = float64(sum.Sent) / elapsed
	}
	rec.Notes = append(rec.Notes, experiments.WindowWarnings(x, p.C)...)
	generatorNote := ""
	if n := rec.Load.NotSent; n > 0 {
		generatorNote = generatorBottleneck(n, sum.Asked)
		rec.Notes = append(rec.Notes, generatorNote)
	}

	// Windows.
	plan, _ := attack.NewPlan(p.Attack.Stages) // validated in Prepare
	for i, w := range tl.Windows() {
		holds, _ := analysis.Holds(&w.Counts, p.C.Thresholds, width)
		rw := record.Window{T: float64(i) * width.Seconds(), Requests: w.Requests, Successes: w.Successes,
			P50S: w.OKLatency.Quantile(0.5).Seconds(), P99S: w.OKLatency.Quantile(0.99).Seconds(), MaxS: w.OKLatency.Max().Seconds(),
			ServiceP99S: w.OKService.Quantile(0.99).Seconds(), Holds: holds}
		for _, c := range timeline.Classes {
			if n := w.Classes.Get(c); n > 0 && c != timeline.Class("ok") {
				if rw.Classes == nil {
					rw.Classes = map[string]uint64{}
				}
				rw.Classes[string(c)] = n
			}
		}
		for az, c := range w.AZ {
			if rw.ByAZ == nil {
				rw.ByAZ = map[string][2]uint64{}
			}
			rw.ByAZ[az] = [2]uint64{c.Requests, c.Errors}
		}
		for az, c := range w.TargetAZ {
			if rw.ByTargetAZ == nil {
				rw.ByTargetAZ = map[string][2]uint64{}
			}
			rw.ByTargetAZ[az] = [2]uint64{c.Requests, c.Errors}
		}
		for name, s := range w.Samples {
			if rw.Samples == nil {
				rw.Samples = map[string]float64{}
			}
			rw.Samples[name] = s.Last
		}
		if plan != nil {
			rw.AskedRPS = meanRate(plan, time.Duration(i)*width, width)
		}
		rec.Windows = append(rec.Windows, rw)
	}
	for _, e := range tl.Events() {
		rec.Events = append(rec.Events, record.Event{T: off(e.Time), Kind: e.Kind, Name: e.Name, Detail: e.Detail})
	}
	var events []truth.Event
	failures, haveFailures, ferr := p.sandboxFailures(start)
	if ferr != nil {
		rec.Notes = append(rec.Notes, "no ground truth: the sandbox's failure record could not be read: "+ferr.Error())
	}
	if feed := p.Env.Truth(); feed != nil {
		for _, e := range feed.Events() {
			if e.Time.Before(start) || e.Kind == truth.EventAPICall {
				continue
			}
			events = append(events, e)
			rec.Truth = append(rec.Truth, record.Truth{T: off(e.Time), Kind: e.Kind, Resource: e.Resource, AZ: e.AZ, From: e.From, To: e.To, Detail: e.Detail})
		}
	}

	// Faults.
	firstInject := end
	if len(r.done) > 0 {
		firstInject = r.done[0].injectedAt
	}
	byIdx := map[int]*applied{}
	for _, a := range r.done {
		byIdx[a.idx] = a
	}
	lastRollback := time.Time{}
	rollbackOK := true
	for i, f := range p.Faults {
		rf := record.Fault{Name: f.Name(), Kind: f.Kind(), Targets: f.Targets(), Plan: f.Describe()}
		a := byIdx[i]
		if a == nil {
			rf.Skipped = "not injected"
			for _, e := range tl.Events() {
				if e.Kind == "skip" && e.Name == f.Name() {
					rf.Skipped = e.Detail
				}
			}
			rec.Faults = append(rec.Faults, rf)
			continue
		}
		rf.Injected, rf.InjectedAtS = true, off(a.injectedAt)
		rf.RolledBack = a.rolledBack
		if !a.rbAt.IsZero() {
			rf.RolledBackAtS = off(a.rbAt)
			if a.rbAt.After(lastRollback) {
				lastRollback = a.rbAt
			}
		}
		if a.rbErr != nil {
			rf.Error = "rollback: " + a.rbErr.Error()
			rollbackOK = false
		} else if !a.rolledBack {
			rollbackOK = false
		}
		spanEnd := end
		for _, b := range r.done {
			if b.injectedAt.After(a.injectedAt) {
				spanEnd = b.injectedAt
				break
			}
		}
		rf.RollbackNotes, rf.Notes = a.rbNotes, a.notes
		for _, n := range a.notes {
			rec.Notes = append(rec.Notes, f.Name()+": "+n)
		}
		for _, n := range a.rbNotes {
			rec.Notes = append(rec.Notes, f.Name()+": rollback: "+n)
		}
		rc := analysis.Measure(tl, p.C.Thresholds, x.SteadyState.StableFor, a.injectedAt, spanEnd)
		// Failures after recovery count until the rollback (its window
		// included), but never into the window of the next injection,
		// which belongs to the next fault as in the phases.
		lateUntil := tl.Start.Add(time.Duration(max(tl.IndexOf(spanEnd), 0)) * width)
		if !a.rbAt.IsZero() && a.rbAt.Before(lateUntil) {
			lateUntil = a.rbAt
		}
		rc.LateFailures = analysis.LateFailures(tl, rc, lateUntil)
		rf.Recovery = rc.Record()
		rf.InfraS = r.infraRecovery(a.injectedAt, spanEnd, firstInject)
		if haveFailures {
			rf.GroundTruth = groundTruthFromFailures(failures, events, f.Kind(), f.Targets(), a, x.Faults[i], spanEnd, start, judgesLatency(p.C.Thresholds), rc.Recovered, rc.TimeToRecover)
		}
		rec.Faults = append(rec.Faults, rf)
	}

	// Phases. A phase boundary at an event snaps down to the start of the
	// window the event falls in, so the window holding an injection belongs
	// to the fault, not to the phase before it.
	snap := func(t time.Time) time.Time {
		if i := tl.IndexOf(t); i >= 0 {
			return tl.Start.Add(time.Duration(i) * width)
		}
		return t
	}
	phase := func(name string, from, to time.Time) record.Phase {
		from, to = snap(from), snap(to)
		agg := tl.Aggregate(from, to)
		ph := record.Phase{Name: name, FromS: off(agg.From), ToS: off(agg.To), Requests: agg.Requests, Failed: agg.Errors(),
			SuccessRatio: ratio(agg.Successes, agg.Requests),
			P50S:         agg.OKLatency.Quantile(0.5).Seconds(), P90S: agg.OKLatency.Quantile(0.9).Seconds(),
			P99S: agg.OKLatency.Quantile(0.99).Seconds(), MaxS: agg.OKLatency.Max().Seconds(),
			ServiceP50S: agg.OKService.Quantile(0.5).Seconds(), ServiceP99S: agg.OKService.Quantile(0.99).Seconds(),
			NotSent: agg.Classes.Get(timeline.ClassNotSent)}
		if d := agg.To.Sub(agg.From).Seconds(); d > 0 {
			ph.AchievedRPS = float64(agg.Requests-ph.NotSent) / d
			if plan != nil {
				ph.AskedRPS = (plan.Hits(agg.To.Sub(start)) - plan.Hits(agg.From.Sub(start))) / d
			}
		}
		ph.Holds, _ = analysis.Holds(&agg.Counts, p.C.Thresholds, max(agg.To.Sub(agg.From), width))
		return ph
	}
	base := phase("baseline", start.Add(width), firstInject)
	rec.Phases = append(rec.Phases, base)
	if len(p.Faults) == 0 && status == "" && !base.Holds {
		// A run always judges its steady state: without faults the
		// scheduler never checks a baseline, so the whole load is one.
		agg := tl.Aggregate(snap(start.Add(width)), snap(firstInject))
		_, broken := analysis.Holds(&agg.Counts, p.C.Thresholds, max(agg.To.Sub(agg.From), width))
		status = "baseline-failed"
		msg = "the steady state did not hold during the run (" + strings.Join(broken, "; ") + ")"
	}
	for i, a := range r.done {
		to := end
		if i+1 < len(r.done) {
			to = r.done[i+1].injectedAt
		}
		rec.Phases = append(rec.Phases, phase("fault: "+a.f.Name(), a.injectedAt, to))
	}
	var post timeline.Aggregate
	if !lastRollback.IsZero() {
		// Skip the window the last rollback falls in: it straddles the change.
		vFrom := lastRollback.Add(width)
		// Both ends snap to windows: a verify period shorter than a whole
		// window after the rollback leaves nothing to judge.
		if vFrom.Before(end) && snap(vFrom).Before(snap(end)) {
			ph := phase("after rollback", vFrom, end)
			rec.Phases = append(rec.Phases, ph)
			post = tl.Aggregate(vFrom, end)
			if !ph.Holds {
				rec.Notes = append(rec.Notes, "the steady state did not hold after the last rollback")
			}
		} else {
			rec.Notes = append(rec.Notes, "no complete window of load was left after the last rollback to verify the steady state (raise steady_state.verify)")
		}
	}
	rec.Phases = append(rec.Phases, phase("total", start, end))
	total := tl.Aggregate(start, end)

	// Gates.
	for _, e := range p.C.RunGates {
		rec.Gates = append(rec.Gates, analysis.Judge("run", e, analysis.RunMetric(total, post, sum.Asked, rec.Load.NotSent, e.Metric)))
	}
	if len(rec.Faults) > 0 && (x.Gates.CleanRollback == nil || *x.Gates.CleanRollback) {
		rec.Gates = append(rec.Gates, cleanRollback(rec.Faults))
	}
	rec.Notes = append(rec.Notes, r.notes...)
	for _, rf := range rec.Faults {
		gates := append(append([]experiments.Expr{}, p.C.EachFaultGates...), p.C.FaultGates[rf.Name]...)
		for _, e := range gates {
			v := math.NaN()
			if rf.Injected {
				v = analysis.FaultMetric(rf.Recovery, infraMax(rf.InfraS), e.Metric)
			}
			rec.Gates = append(rec.Gates, analysis.Judge(rf.Name, e, v))
		}
	}
	// Regression gates, against a previous run.
	switch b := r.o.Baseline; {
	case b != nil:
		rec.Gates = append(rec.Gates, analysis.JudgeRegressions(b, rec, p.C.Regression)...)
		if rec.Extra == nil {
			rec.Extra = map[string]any{}
		}
		rec.Extra["baseline"] = map[string]any{"file": r.o.BaselineFile, "id": b.ID, "experiment": b.Experiment, "started_at": b.StartedAt}
		if b.Experiment != rec.Experiment {
			rec.Notes = append(rec.Notes, fmt.Sprintf("the baseline %s is a run of another experiment (%s)", r.o.BaselineFile, b.Experiment))
		}
	case len(p.C.Regression) > 0:
		rec.Notes = append(rec.Notes, "the regression gates were not judged: run with --baseline PREVIOUS/run.json")
	}
	failed := 0
	for _, g := range rec.Gates {
		if !g.Pass {
			failed++
		}
	}

	// Status and exit code, most severe first.
	switch {
	case !rollbackOK:
		rec.Status, rec.ExitCode = record.StatusRollbackIncomplete, ExitRollback
		msg = strings.TrimSpace(msg + " a rollback did not complete: finish it with `gameday rollback`")
	case status == "interrupted":
		rec.Status, rec.ExitCode = record.Status(status), ExitInterrupted
	case status == "aborted":
		rec.Status, rec.ExitCode = record.Status(status), ExitAborted
	case status == "error":
		rec.Status, rec.ExitCode = record.Status(status), ExitError
	case status == "baseline-failed":
		rec.Status, rec.ExitCode = record.Status(status), ExitGateFailed
		if generatorNote != "" {
			msg += "; " + generatorNote
		}
	case failed > 0:
		rec.Status, rec.ExitCode = record.StatusFailed, ExitGateFailed
		msg = fmt.Sprintf("%d of %d gates failed", failed, len(rec.Gates))
		if generatorNote != "" {
			msg += "; " + generatorNote
		}
	default:
		rec.Status, rec.ExitCode = record.StatusPassed, ExitPass
		msg = fmt.Sprintf("all %d gates held", len(rec.Gates))
	}
	rec.Message = msg
}

// infraRecovery returns, per probe, the seconds from injection until the
// probe was healthy again after its last unhealthy sample in the span
// (0 if it never went unhealthy, -1 if it had not recovered by the span's end).
func (r *run) infraRecovery(injected, spanEnd, baselineEnd time.Time) map[string]float64 {
	out := map[string]float64{}
	tl := r.tl
	for i, pr := range r.p.Probes {
		kind := r.p.X.Probes[i].Kind
		prefix := pr.Name() + "/"
		samples := func(w *timeline.Window) map[string]float64 {
			m := map[string]float64{}
			for k, s := range w.Samples {
				if strings.HasPrefix(k, prefix) {
					m[strings.TrimPrefix(k, prefix)] = s.Last
				}
			}
			return m
		}
		var base map[string]float64
		for j := tl.IndexOf(baselineEnd) - 1; j >= 0 && j < tl.Len(); j-- {
			if m := samples(tl.Window(j)); len(m) > 0 {
				base = m
				break
			}
		}
		from, to := tl.IndexOf(injected), min(tl.IndexOf(spanEnd), tl.Len())
		lastBad, sawBad := -1, false
		last := map[string]float64{}
		for j := max(from, 0); j < to; j++ {
			for k, v := range samples(tl.Window(j)) {
				last[k] = v
			}
			if len(last) > 0 && !probes.Healthy(kind, last, base) {
				lastBad, sawBad = j, true
			}
		}
		switch {
		case !sawBad:
			out[pr.Name()] = 0
		case lastBad >= to-1:
			out[pr.Name()] = -1
		default:
			out[pr.Name()] = tl.Start.Add(time.Duration(lastBad+1) * tl.Width).Sub(injected).Seconds()
		}
	}
	return out
}

func infraMax(m map[string]float64) float64 {
	v := 0.0
	for _, x := range m {
		if x < 0 {
			return math.Inf(1)
		}
		v = max(v, x)
	}
	return v
}

// meanRate is the plan's mean asked rate over [from, from+width).
func meanRate(p *attack.Plan, from, width time.Duration) float64 {
	return (p.Hits(from+width) - p.Hits(from)) / width.Seconds()
}

// generatorBottleneck says plainly that the load generator, not the stack,
// fell behind: notSent hits were judged as failures of class not_sent.
func generatorBottleneck(notSent, asked uint64) string {
	return fmt.Sprintf("the load generator could not keep up: %d hits not sent (of %d asked, counted as failures of class not_sent), raise load.max_workers or run fewer rps per machine", notSent, asked)
}
