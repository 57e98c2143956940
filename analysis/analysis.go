package analysis

import (
	"fmt"
	"math"
	"time"

	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/record"
	"github.com/gameday-dev/gameday/timeline"
)

// WindowMetric computes a window-scope metric on counts covering width.
func WindowMetric(c *timeline.Counts, metric string, width time.Duration) float64 {
	switch metric {
	case "success_ratio":
		if c.Requests == 0 {
			return 0
		}
		return c.SuccessRatio()
	case "error_ratio":
		if c.Requests == 0 {
			return 1
		}
		return 1 - c.SuccessRatio()
	case "p50":
		return c.OKLatency.Quantile(0.50).Seconds()
	case "p90":
		return c.OKLatency.Quantile(0.90).Seconds()
	case "p95":
		return c.OKLatency.Quantile(0.95).Seconds()
	case "p99":
		return c.OKLatency.Quantile(0.99).Seconds()
	case "max":
		return c.OKLatency.Max().Seconds()
	case "rps": // requests sent: not_sent hits were asked, not sent
		return float64(c.Requests-c.Classes.Get(timeline.ClassNotSent)) / width.Seconds()
	}
	return math.NaN()
}

// Holds reports whether counts satisfy every threshold, and names those broken.
// A window without requests holds nothing: there is no evidence of health.
func Holds(c *timeline.Counts, th []experiments.Expr, width time.Duration) (bool, []string) {
	if c.Requests == 0 {
		return false, []string{"no requests"}
	}
	var broken []string
	for _, e := range th {
		v := WindowMetric(c, e.Metric, width)
		if !e.Holds(v) {
			broken = append(broken, fmt.Sprintf("%s (was %s)", e.Source, e.FormatValue(v)))
		}
	}
	return len(broken) == 0, broken
}

// Recovery is one fault's effect on users, measured from the load: the
// analysis's own value (record.Recovery is what the run record holds; see
// Record).
type Recovery struct {
	Impacted bool `json:"impacted"`
	// Recovered is false when the steady state did not return before the
	// analysis span ended; TimeToRecover is then +Inf (rendered "never").
	Recovered         bool    `json:"recovered"`
	TimeToImpact      float64 `json:"time_to_impact_s"`  // seconds from injection to the first breaking window's start
	TimeToRecover     float64 `json:"time_to_recover_s"` // seconds from injection to the start of the first stable run
	ImpactDuration    float64 `json:"impact_duration_s"` // from the injection (or the first breaking window, if later) to recovery
	Requests          uint64  `json:"requests"`
	FailedRequests    uint64  `json:"failed_requests"` // errors from injection to recovery (or span end)
	WorstSuccessRatio float64 `json:"worst_success_ratio"`
	WorstWindow       float64 `json:"worst_window_s"` // offset of the worst window from run start
	PeakP99           float64 `json:"peak_p99_s"`
	ImpactStart       float64 `json:"impact_start_s,omitempty"` // offsets from run start, for charts
	RecoveryStart     float64 `json:"recovery_start_s,omitempty"`
	// LateFailures are failed requests after recovery while the fault was
	// still applied (see LateFailures); not part of FailedRequests.
	LateFailures uint64 `json:"late_failures"`
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Measure computes a fault's recovery from its injection time to spanEnd
// (the next fault's injection or the end of the run). A window counts as
// breaking when it does not hold the thresholds; recovery is the first run
// of stableFor holding windows after the impact.
func Measure(tl *timeline.Timeline, th []experiments.Expr, stableFor int, injected, spanEnd time.Time) Recovery {
	r := Recovery{WorstSuccessRatio: 1}
	first := tl.IndexOf(injected)
	end := tl.IndexOf(spanEnd)
	if first < 0 {
		first = 0
	}
	if end < 0 || end > tl.Len() {
		end = tl.Len()
	}
	offset := func(i int) float64 { return float64(i) * tl.Width.Seconds() }
	winStart := func(i int) time.Time { return tl.Start.Add(time.Duration(i) * tl.Width) }
	impact, recovery := -1, -1
	run := 0
	for i := first; i < end; i++ {
		w := tl.Window(i)
		ok, _ := Holds(&w.Counts, th, tl.Width)
		if w.Requests > 0 {
			if sr := w.SuccessRatio(); sr < r.WorstSuccessRatio {
				r.WorstSuccessRatio, r.WorstWindow = sr, offset(i)
			}
			if p := w.OKLatency.Quantile(0.99).Seconds(); p > r.PeakP99 {
				r.PeakP99 = p
			}
		}
		if impact < 0 {
			if !ok {
				impact = i
			}
			continue
		}
		if recovery >= 0 {
			continue
		}
		if ok {
			run++
			if run >= stableFor {
				recovery = i - stableFor + 1
			}
		} else {
			run = 0
		}
	}
	stop := end
	switch {
	case impact < 0:
		r.Recovered = true
		stop = end
	case recovery < 0:
		r.Impacted = true
		r.TimeToImpact = math.Max(0, winStart(impact).Sub(injected).Seconds())
		r.TimeToRecover = math.Inf(1)
		r.ImpactDuration = math.Inf(1)
		r.ImpactStart = offset(impact)
	default:
		r.Impacted, r.Recovered = true, true
		r.TimeToImpact = math.Max(0, winStart(impact).Sub(injected).Seconds())
		r.TimeToRecover = math.Max(0, winStart(recovery).Sub(injected).Seconds())
		// From the injection, not from the start of its window (the fault
		// did not exist before): never more than the time to recover.
		r.ImpactDuration = math.Max(0, winStart(recovery).Sub(maxTime(injected, winStart(impact))).Seconds())
		r.ImpactStart, r.RecoveryStart = offset(impact), offset(recovery)
		stop = recovery
	}
	agg := tl.AggregateIndex(first, stop)
	r.Requests, r.FailedRequests = agg.Requests, agg.Errors()
	return r
}

// FaultMetric returns a fault-scope metric of a recovery as the record
// holds it: +Inf for "never" (a fault that did not recover).
func FaultMetric(r record.Recovery, infra float64, metric string) float64 {
	switch metric {
	case "time_to_recover":
		if r.Never() {
			return math.Inf(1)
		}
		return r.TimeToRecover
	case "time_to_impact":
		if !r.Impacted {
			return math.Inf(1)
		}
		return r.TimeToImpact
	case "impact_duration":
		if r.Never() {
			return math.Inf(1)
		}
		return r.ImpactDuration
	case "failed_requests":
		return float64(r.FailedRequests)
	case "worst_success_ratio":
		return r.WorstSuccessRatio
	case "peak_p99":
		return r.PeakP99
	case "infra_recovery":
		return infra
	}
	return math.NaN()
}

// Record is r as the run record holds it: "never" is Recovered false, not
// an infinite duration.
func (r Recovery) Record() record.Recovery {
	out := record.Recovery{Impacted: r.Impacted, Recovered: r.Recovered, TimeToImpact: r.TimeToImpact,
		TimeToRecover: r.TimeToRecover, ImpactDuration: r.ImpactDuration, Requests: r.Requests, FailedRequests: r.FailedRequests,
		WorstSuccessRatio: r.WorstSuccessRatio, WorstWindow: r.WorstWindow, PeakP99: r.PeakP99,
		ImpactStart: r.ImpactStart, RecoveryStart: r.RecoveryStart, LateFailures: r.LateFailures}
	if out.Never() {
		out.TimeToRecover, out.ImpactDuration = 0, 0
	}
	return out
}

// Verdict is one gate's outcome (the record's type).
type Verdict = record.Verdict

// Judge evaluates one gate on a measured value. NaN and ±Inf fail unless
// the comparison holds for them (an unrecovered fault fails "<= 30s").
func Judge(scope string, e experiments.Expr, v float64) Verdict {
	pass := !math.IsNaN(v) && e.Holds(v)
	return Verdict{Scope: scope, Gate: e.Source, Metric: e.Metric, Value: jsonSafe(v), Measured: e.FormatValue(v),
		Limit: e.Op + " " + e.FormatValue(e.Value), Pass: pass}
}

// jsonSafe maps values JSON cannot carry (Inf, NaN) to -1; the rendered
// Measured string keeps their meaning ("never", "n/a").
func jsonSafe(v float64) float64 {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return -1
	}
	return v
}

// RunMetric computes a run-scope metric.
func RunMetric(total, post timeline.Aggregate, asked, dropped uint64, metric string) float64 {
	switch metric {
	case "availability", "success_ratio":
		if total.Requests == 0 {
			return 0
		}
		return total.SuccessRatio()
	case "error_ratio":
		if total.Requests == 0 {
			return 1
		}
		return 1 - total.SuccessRatio()
	case "failed_requests":
		return float64(total.Errors())
	case "dropped":
		return float64(dropped)
	case "dropped_ratio":
		if asked == 0 {
			return 0
		}
		return float64(dropped) / float64(asked)
	case "post_rollback_success_ratio":
		if post.Requests == 0 {
			return math.NaN()
		}
		return post.SuccessRatio()
	case "p50", "p90", "p95", "p99", "max":
		return WindowMetric(&total.Counts, metric, time.Second)
	}
	return math.NaN()
}

// LateFailures counts the failed requests after r's recovery while the
// fault was still applied: in the windows from the recovery window up to
// the one holding until (the rollback, or the end of the fault's span,
// whichever comes first). They are the fault's too (clients still holding
// a dead node's address, a last connection reset) but fall outside
// Recovery.FailedRequests, which stops at recovery. 0 if r did not both
// suffer an impact and recover.
func LateFailures(tl *timeline.Timeline, r Recovery, until time.Time) uint64 {
	if !r.Impacted || !r.Recovered {
		return 0
	}
	from := int(math.Round(r.RecoveryStart / tl.Width.Seconds()))
	end := tl.IndexOf(until) + 1 // the window holding until is included
	if until.Equal(tl.Start.Add(time.Duration(end-1) * tl.Width)) {
		end-- // until falls on a window boundary: that window is after it
	}
	if end <= from {
		return 0
	}
	agg := tl.AggregateIndex(from, min(end, tl.Len()))
	return agg.Errors()
}
