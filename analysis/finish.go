package analysis

import (
	"strings"
	"time"

	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/record"
	"github.com/gameday-dev/gameday/timeline"
)

// The finish of a run, as a pure function: from the timeline, the times
// each fault was injected and rolled back, and the probes' series, to each
// fault's recovery, the phases, the notes they call for and whether the
// steady state failed. The runner gathers the inputs and fills the record.

// FaultSpan is one injected fault: when it was injected and, if it was,
// rolled back (zero otherwise).
type FaultSpan struct {
	Name         string
	InjectedAt   time.Time
	RolledBackAt time.Time
	// Steps are the fault's own stretches (a rolling deploy's batches),
	// each measured as a phase "fault: <name> / <step>".
	Steps []FaultStep
}

// FaultStep is one step of a fault that moves in steps.
type FaultStep struct {
	Name     string
	From, To time.Time
}

// ProbeSeries is one probe: its samples are the timeline's series named
// Name + "/" + series, and Healthy judges the latest values of them against
// the last ones before the first injection.
type ProbeSeries struct {
	Name    string
	Healthy func(last, baseline map[string]float64) bool
}

// FinishInput is what the finish reads.
type FinishInput struct {
	Timeline *timeline.Timeline
	// Start is the start of the load; End where the analysis stops (the
	// plan's end, or where a run cut short stopped its load).
	Start, End time.Time
	Thresholds []experiments.Expr
	StableFor  int
	// Faults are the injected faults in the order they were injected.
	Faults []FaultSpan
	Probes []ProbeSeries
	// AskedHits is how many hits the rate plan asked for in its first d
	// (nil: the phases have no asked rate).
	AskedHits func(d time.Duration) float64
	// Judge says the run went its full length with no fault declared:
	// the steady state is then judged over the whole load.
	JudgeWithoutFaults bool
}

// FaultResult is one fault's outcome, in FinishInput.Faults' order.
type FaultResult struct {
	Recovery Recovery           // with LateFailures
	InfraS   map[string]float64 // probe → seconds from injection until healthy again (-1: never)
	SpanEnd  time.Time          // the next injection, or End
	Steps    []record.Phase     // one per FaultSpan.Steps, as in Phases
}

// FinishResult is the finish's verdict pieces.
type FinishResult struct {
	Faults []FaultResult
	// Phases: baseline, one per fault, "after rollback" when a complete
	// window is left after the last rollback, total.
	Phases []record.Phase
	// Post is the load after the last rollback (the window it falls in
	// skipped); empty without a rollback or a window to judge.
	Post  timeline.Aggregate
	Total timeline.Aggregate
	Notes []string
	// BaselineBroken, when not empty, says the steady state did not hold
	// over a run without faults (its broken thresholds).
	BaselineBroken []string
}

// Finish analyses a run. It reads the timeline and changes nothing.
func Finish(in FinishInput) FinishResult {
	tl, width, start, end := in.Timeline, in.Timeline.Width, in.Start, in.End
	var out FinishResult
	firstInject := end
	if len(in.Faults) > 0 {
		firstInject = in.Faults[0].InjectedAt
	}
	lastRollback := time.Time{}
	for _, f := range in.Faults {
		if !f.RolledBackAt.IsZero() && f.RolledBackAt.After(lastRollback) {
			lastRollback = f.RolledBackAt
		}
		spanEnd := end
		for _, b := range in.Faults {
			if b.InjectedAt.After(f.InjectedAt) {
				spanEnd = b.InjectedAt
				break
			}
		}
		rc := Measure(tl, in.Thresholds, in.StableFor, f.InjectedAt, spanEnd)
		// Failures after recovery count until the rollback (its window
		// included), but never into the window of the next injection,
		// which belongs to the next fault as in the phases.
		lateUntil := tl.Start.Add(time.Duration(max(tl.IndexOf(spanEnd), 0)) * width)
		if !f.RolledBackAt.IsZero() && f.RolledBackAt.Before(lateUntil) {
			lateUntil = f.RolledBackAt
		}
		rc.LateFailures = LateFailures(tl, rc, lateUntil)
		out.Faults = append(out.Faults, FaultResult{Recovery: rc, InfraS: InfraRecovery(tl, in.Probes, f.InjectedAt, spanEnd, firstInject), SpanEnd: spanEnd})
	}

	off := func(t time.Time) float64 { return t.Sub(start).Seconds() }
	// A phase boundary at an event snaps down to the start of the window
	// the event falls in, so the window holding an injection belongs to
	// the fault, not to the phase before it.
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
			if in.AskedHits != nil {
				ph.AskedRPS = (in.AskedHits(agg.To.Sub(start)) - in.AskedHits(agg.From.Sub(start))) / d
			}
		}
		ph.Holds, _ = Holds(&agg.Counts, in.Thresholds, max(agg.To.Sub(agg.From), width))
		return ph
	}
	base := phase("baseline", start.Add(width), firstInject)
	out.Phases = append(out.Phases, base)
	if in.JudgeWithoutFaults && !base.Holds {
		// A run always judges its steady state: without faults the
		// scheduler never checks a baseline, so the whole load is one.
		agg := tl.Aggregate(snap(start.Add(width)), snap(firstInject))
		_, out.BaselineBroken = Holds(&agg.Counts, in.Thresholds, max(agg.To.Sub(agg.From), width))
	}
	for i, f := range in.Faults {
		to := end
		if i+1 < len(in.Faults) {
			to = in.Faults[i+1].InjectedAt
		}
		out.Phases = append(out.Phases, phase("fault: "+f.Name, f.InjectedAt, to))
		for _, st := range f.Steps {
			ph := phase("fault: "+f.Name+" / "+st.Name, st.From, st.To)
			out.Phases = append(out.Phases, ph)
			out.Faults[i].Steps = append(out.Faults[i].Steps, ph)
		}
	}
	if !lastRollback.IsZero() {
		// Skip the window the last rollback falls in: it straddles the change.
		vFrom := lastRollback.Add(width)
		// Both ends snap to windows: a verify period shorter than a whole
		// window after the rollback leaves nothing to judge.
		if vFrom.Before(end) && snap(vFrom).Before(snap(end)) {
			ph := phase("after rollback", vFrom, end)
			out.Phases = append(out.Phases, ph)
			out.Post = tl.Aggregate(vFrom, end)
			if !ph.Holds {
				out.Notes = append(out.Notes, "the steady state did not hold after the last rollback")
			}
		} else {
			out.Notes = append(out.Notes, "no complete window of load was left after the last rollback to verify the steady state (raise steady_state.verify)")
		}
	}
	out.Phases = append(out.Phases, phase("total", start, end))
	out.Total = tl.Aggregate(start, end)
	return out
}

// InfraRecovery returns, per probe, the seconds from injection until the
// probe was healthy again after its last unhealthy sample in the span
// (0 if it never went unhealthy, -1 if it had not recovered by the span's
// end). The baseline is the probe's last samples before baselineEnd.
func InfraRecovery(tl *timeline.Timeline, probes []ProbeSeries, injected, spanEnd, baselineEnd time.Time) map[string]float64 {
	out := map[string]float64{}
	for _, pr := range probes {
		prefix := pr.Name + "/"
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
			if len(last) > 0 && !pr.Healthy(last, base) {
				lastBad, sawBad = j, true
			}
		}
		switch {
		case !sawBad:
			out[pr.Name] = 0
		case lastBad >= to-1:
			out[pr.Name] = -1
		default:
			out[pr.Name] = tl.Start.Add(time.Duration(lastBad+1) * tl.Width).Sub(injected).Seconds()
		}
	}
	return out
}

func ratio(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
