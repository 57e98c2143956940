package analysis

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/record"
)

// Regression gates: a run's figures judged against a previous run's.
// Rendering the comparison (tables, Markdown) is package compare's job;
// judging lives here so that the runner does not link the renderers.

// MetricKind is the unit of a figure, for formatting.
func MetricKind(metric string) experiments.Kind {
	switch metric {
	case "requests", "failed_requests", "rps", "flaps", "idle_instance_minutes", "policy_target":
		return experiments.Count
	case "max_reached":
		return experiments.Bool
	case "success_ratio", "worst_success_ratio":
		return experiments.Ratio
	}
	return experiments.Duration
}

// Row is one figure of one fault or phase in both runs. A value is NaN when
// that run has no such fault or phase (or did not inject the fault) and +Inf
// for "never" (a fault that never recovered).
type Row struct {
	Fault  bool   // a fault's recovery figure; otherwise a phase's
	Scope  string // the fault's or the phase's name
	Metric string
	Base   float64
	Cur    float64
}

// Change is Cur - Base and, when Base is a finite non-zero number, the change
// relative to it; otherwise rel is NaN.
func (r Row) Change() (abs, rel float64) {
	abs = r.Cur - r.Base
	if math.IsNaN(abs) || math.IsInf(r.Base, 0) || math.IsInf(r.Cur, 0) {
		return math.NaN(), math.NaN()
	}
	if r.Base == 0 {
		if abs == 0 {
			return 0, 0
		}
		return abs, math.NaN()
	}
	return abs, abs / math.Abs(r.Base)
}

// FaultValue is a fault's recovery figure as the run measured it: NaN for a
// fault that is missing or was not injected, +Inf for "never".
func FaultValue(f *record.Fault, metric string) float64 {
	if f == nil || !f.Injected {
		return math.NaN()
	}
	infra := 0.0
	for _, v := range f.InfraS {
		if v < 0 {
			infra = math.Inf(1)
			break
		}
		infra = max(infra, v)
	}
	return FaultMetric(f.Recovery, infra, metric)
}

// PhaseValue is a phase's figure; NaN for a missing phase.
func PhaseValue(p *record.Phase, metric string) float64 {
	if p == nil {
		return math.NaN()
	}
	switch metric {
	case "requests":
		return float64(p.Requests)
	case "failed_requests":
		return float64(p.Failed)
	case "success_ratio":
		return p.SuccessRatio
	case "p50":
		return p.P50S
	case "p90":
		return p.P90S
	case "p99":
		return p.P99S
	case "max":
		return p.MaxS
	case "rps":
		return p.AchievedRPS
	}
	return math.NaN()
}

// JudgeRegressions evaluates regression gates on cur against base. Each gate yields one
// verdict per fault of cur (or for its one named fault or phase); the
// verdict's Metric is "regression:" + the metric, so renderers can tell
// these from absolute gates.
func JudgeRegressions(base, cur *record.Run, rules []experiments.Regression) []Verdict {
	var out []Verdict
	for _, r := range rules {
		var scopes []string
		switch {
		case r.Scope != "":
			scopes = []string{r.Scope}
		case r.OnFault:
			scopes = cur.FaultNames()
		default:
			scopes = []string{experiments.PhaseTotal}
		}
		for _, s := range scopes {
			var b, c float64
			if r.OnFault {
				b, c = FaultValue(base.Fault(s), r.Metric), FaultValue(cur.Fault(s), r.Metric)
			} else {
				b, c = PhaseValue(base.Phase(s), r.Metric), PhaseValue(cur.Phase(s), r.Metric)
			}
			out = append(out, regressionVerdict(r, s, b, c))
		}
	}
	return out
}

func regressionVerdict(r experiments.Regression, scope string, base, cur float64) Verdict {
	row := Row{Scope: scope, Metric: r.Metric, Base: base, Cur: cur}
	measured := experiments.FormatMetric(r.Kind, cur)
	switch {
	case math.IsNaN(cur):
		measured = "not measured in this run"
	case math.IsNaN(base):
		measured += " (not in the baseline)"
	default:
		measured += " vs " + experiments.FormatMetric(r.Kind, base) + " in the baseline: " + FormatChange(row, r.Kind)
	}
	limit := r.FormatLimit() + " vs baseline"
	if a := r.Allowed(base); !math.IsNaN(a) && !math.IsInf(a, 0) {
		op := "<="
		if r.Worse < 0 {
			op = ">="
		}
		limit += " (" + op + " " + experiments.FormatMetric(r.Kind, a) + ")"
	}
	v := cur
	if math.IsInf(v, 0) || math.IsNaN(v) {
		v = -1 // as analysis.Judge: JSON has no Inf or NaN; Measured says what it was
	}
	return Verdict{Scope: scope, Gate: r.Source, Metric: "regression:" + r.Metric, Value: v,
		Measured: measured, Limit: limit, Pass: !r.Exceeded(base, cur)}
}

// IsRegression reports whether a verdict came from a regression gate.
func IsRegression(v Verdict) bool { return strings.HasPrefix(v.Metric, "regression:") }

// FormatValue renders a figure in its unit ("n/a" for NaN, "never" for +Inf).
func FormatValue(metric string, v float64) string {
	if metric == "rps" && !math.IsNaN(v) {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return experiments.FormatMetric(MetricKind(metric), v)
}

// FormatChange renders the absolute change with its sign, and the relative
// one when there is one: "+1.2s (+35.5%)", "-0.4pp", "n/a".
func FormatChange(r Row, k experiments.Kind) string {
	abs, rel := r.Change()
	if math.IsNaN(abs) {
		switch {
		case math.IsInf(r.Cur, 1) && !math.IsInf(r.Base, 1) && !math.IsNaN(r.Base):
			return "now never"
		case math.IsInf(r.Base, 1) && !math.IsInf(r.Cur, 1) && !math.IsNaN(r.Cur):
			return "now " + FormatValue(r.Metric, r.Cur)
		case math.IsInf(r.Base, 1) && math.IsInf(r.Cur, 1):
			return "0"
		}
		return "n/a"
	}
	s := FormatAbs(abs, k, r.Metric)
	if !math.IsNaN(rel) && abs != 0 {
		s += fmt.Sprintf(" (%+.1f%%)", 100*rel)
	}
	return s
}

// FormatAbs renders an absolute change d of a metric with its sign.
func FormatAbs(d float64, k experiments.Kind, metric string) string {
	sign := "+"
	if d < 0 {
		sign = "-"
	}
	if d == 0 {
		return "0"
	}
	a := math.Abs(d)
	switch {
	case k == experiments.Ratio:
		return sign + strconv.FormatFloat(math.Round(a*1e6)/1e4, 'f', -1, 64) + "pp"
	case metric == "rps":
		return sign + strconv.FormatFloat(a, 'f', 1, 64)
	}
	return sign + experiments.FormatMetric(k, a)
}
