package runner

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gameday-dev/gameday/analysis"
	"github.com/gameday-dev/gameday/attack"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/faults"
	"github.com/gameday-dev/gameday/probes"
	"github.com/gameday-dev/gameday/record"
	"github.com/gameday-dev/gameday/sandbox/truth"
	"github.com/gameday-dev/gameday/timeline"
)

// finish analyses the timeline and fills the record, gates and exit code.
func (r *run) finish(start time.Time, sum attack.Summary, status, msg string) {
	p, x, tl, rec := r.p, r.p.Experiment, r.tl, r.rec
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
	rec.Notes = append(rec.Notes, experiments.WindowWarnings(x, p.Compiled)...)
	generatorNote := ""
	if n := rec.Load.NotSent; n > 0 {
		generatorNote = generatorBottleneck(n, sum.Asked)
		rec.Notes = append(rec.Notes, generatorNote)
	}

	// Windows.
	plan, _ := attack.NewPlan(p.Attack.Stages) // validated in Prepare
	for i, w := range tl.Windows() {
		holds, _ := analysis.Holds(&w.Counts, p.Compiled.Thresholds, width)
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
	// Where each step of a fault began (a rolling deploy's batches), so the
	// timeline marks them.
	for _, a := range r.done {
		if s, ok := a.f.(faults.Stepper); ok {
			for _, st := range s.Steps() {
				rec.Events = append(rec.Events, record.Event{T: off(st.From), Kind: "step", Name: a.f.Name(), Detail: st.Name})
			}
		}
	}
	slices.SortStableFunc(rec.Events, func(a, b record.Event) int { return cmp.Compare(a.T, b.T) })
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

	// Recoveries and phases.
	in := analysis.FinishInput{Timeline: tl, Start: start, End: end, Thresholds: p.Compiled.Thresholds, StableFor: x.SteadyState.StableFor,
		JudgeWithoutFaults: len(p.Faults) == 0 && status == ""}
	for _, a := range r.done {
		span := analysis.FaultSpan{Name: a.f.Name(), InjectedAt: a.injectedAt, RolledBackAt: a.rbAt}
		if s, ok := a.f.(faults.Stepper); ok {
			for _, st := range s.Steps() {
				span.Steps = append(span.Steps, analysis.FaultStep{Name: st.Name, From: st.From, To: st.To})
			}
		}
		in.Faults = append(in.Faults, span)
	}
	for i, pr := range p.Probes {
		kind := x.Probes[i].Kind
		in.Probes = append(in.Probes, analysis.ProbeSeries{Name: pr.Name(),
			Healthy: func(last, base map[string]float64) bool { return probes.Healthy(kind, last, base) }})
	}
	if plan != nil {
		in.AskedHits = plan.Hits
	}
	res := analysis.Finish(in)

	// Faults.
	byIdx := map[int]int{}
	for j, a := range r.done {
		byIdx[a.idx] = j
	}
	rollbackOK := true
	for i, pf := range p.Faults {
		f := pf.Fault
		rf := record.Fault{Name: f.Name(), Kind: f.Kind(), Resources: f.Resources(), Plan: f.Describe()}
		j, ok := byIdx[i]
		if !ok {
			rf.Skipped = "not injected"
			for _, e := range tl.Events() {
				if e.Kind == "skip" && e.Name == f.Name() {
					rf.Skipped = e.Detail
				}
			}
			rec.Faults = append(rec.Faults, rf)
			continue
		}
		a, fr := r.done[j], res.Faults[j]
		rf.Injected, rf.InjectedAtS = true, off(a.injectedAt)
		rf.RolledBack = a.rolledBack
		if !a.rbAt.IsZero() {
			rf.RolledBackAtS = off(a.rbAt)
		}
		if a.rbErr != nil {
			rf.Error = "rollback: " + a.rbErr.Error()
			rollbackOK = false
		} else if !a.rolledBack {
			rollbackOK = false
		}
		rf.RollbackNotes, rf.Notes = a.rbNotes, a.notes
		for _, n := range a.notes {
			rec.Notes = append(rec.Notes, f.Name()+": "+n)
		}
		for _, n := range a.rbNotes {
			rec.Notes = append(rec.Notes, f.Name()+": rollback: "+n)
		}
		rf.Recovery, rf.InfraS = fr.Recovery.Record(), fr.InfraS
		for _, ph := range fr.Steps {
			ph.Name = strings.TrimPrefix(ph.Name, "fault: "+f.Name()+" / ")
			rf.Steps = append(rf.Steps, ph)
		}
		if haveFailures {
			rf.GroundTruth = groundTruthFromFailures(failures, events, f.Kind(), f.Resources(), a, pf.Spec, fr.SpanEnd, start, judgesLatency(p.Compiled.Thresholds), fr.Recovery.Recovered, fr.Recovery.TimeToRecover)
		}
		rec.Faults = append(rec.Faults, rf)
	}
	rec.Phases = res.Phases
	if len(res.BaselineBroken) > 0 {
		status = string(record.StatusBaselineFailed)
		msg = "the steady state did not hold during the run (" + strings.Join(res.BaselineBroken, "; ") + ")"
	}
	rec.Notes = append(rec.Notes, res.Notes...)
	total, post := res.Total, res.Post

	rec.Scaling = r.scaling(rec, start, status)

	// Gates.
	rec.Gates = analysis.JudgeGates(analysis.GateInput{Run: rec, Total: total, Post: post, Asked: sum.Asked,
		RunGates: p.Compiled.RunGates, CleanRollback: x.Gates.CleanRollback == nil || *x.Gates.CleanRollback,
		EachFaultGates: p.Compiled.EachFaultGates, FaultGates: p.Compiled.FaultGates, Regression: p.Compiled.Regression, Baseline: r.o.Baseline})
	rec.Notes = append(rec.Notes, r.notes...)
	switch b := r.o.Baseline; {
	case b != nil:
		if rec.Extra == nil {
			rec.Extra = map[string]any{}
		}
		rec.Extra["baseline"] = map[string]any{"file": r.o.BaselineFile, "id": b.ID, "experiment": b.Experiment, "started_at": b.StartedAt}
		if b.Experiment != rec.Experiment {
			rec.Notes = append(rec.Notes, fmt.Sprintf("the baseline %s is a run of another experiment (%s)", r.o.BaselineFile, b.Experiment))
		}
	case len(p.Compiled.Regression) > 0:
		rec.Notes = append(rec.Notes, "the regression gates were not judged: run with --baseline PREVIOUS/run.json")
	}
	failed := 0
	for _, g := range rec.Gates {
		if !g.Pass {
			failed++
		}
	}

	// Status and exit code, most severe first.
	st := record.Status(status)
	switch {
	case !rollbackOK:
		rec.Status, rec.ExitCode = record.StatusRollbackIncomplete, ExitRollback
		msg = strings.TrimSpace(msg + " a rollback did not complete: finish it with `gameday rollback`")
	case st == record.StatusInterrupted:
		rec.Status, rec.ExitCode = st, ExitInterrupted
	case st == record.StatusAborted:
		rec.Status, rec.ExitCode = st, ExitAborted
	case st == record.StatusError:
		rec.Status, rec.ExitCode = st, ExitError
	case st == record.StatusBaselineFailed:
		rec.Status, rec.ExitCode = st, ExitGateFailed
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

// meanRate is the plan's mean asked rate over [from, from+width).
func meanRate(p *attack.Plan, from, width time.Duration) float64 {
	return (p.Hits(from+width) - p.Hits(from)) / width.Seconds()
}

// generatorBottleneck says plainly that the load generator, not the stack,
// fell behind: notSent hits were judged as failures of class not_sent.
func generatorBottleneck(notSent, asked uint64) string {
	return fmt.Sprintf("the load generator could not keep up: %d hits not sent (of %d asked, counted as failures of class not_sent), raise load.max_workers or run fewer rps per machine", notSent, asked)
}
