package compare

import (
	"github.com/gameday-dev/gameday/analysis"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/record"
)

// Figures shown side by side, in order, with their units.
var (
	FaultMetrics = []string{"time_to_impact", "time_to_recover", "impact_duration", "failed_requests",
		"worst_success_ratio", "peak_p99", "infra_recovery"}
	PhaseMetrics = []string{"requests", "failed_requests", "success_ratio", "p50", "p90", "p99", "max", "rps"}
)

// Kind is the unit of a figure, for formatting.
func Kind(metric string) experiments.Kind { return analysis.MetricKind(metric) }

// Row is one figure of one fault or phase in both runs (see analysis.Row).
type Row = analysis.Row

// Comparison is a baseline run and a current run side by side.
type Comparison struct {
	Base, Cur *record.Run
	Rows      []Row
	// Scaling are the runs' scaling figures (ScalingMetrics), when either
	// run has a scaling analysis.
	Scaling []Row
}

// Runs compares cur with base: every fault (in cur's order, then those only
// base has), then every phase the same way.
func Runs(base, cur *record.Run) *Comparison {
	c := &Comparison{Base: base, Cur: cur}
	for _, name := range union(cur.FaultNames(), base.FaultNames()) {
		bf, cf := base.Fault(name), cur.Fault(name)
		for _, m := range FaultMetrics {
			c.Rows = append(c.Rows, Row{Fault: true, Scope: name, Metric: m, Base: FaultValue(bf, m), Cur: FaultValue(cf, m)})
		}
	}
	for _, name := range union(cur.PhaseNames(), base.PhaseNames()) {
		bp, cp := base.Phase(name), cur.Phase(name)
		for _, m := range PhaseMetrics {
			c.Rows = append(c.Rows, Row{Scope: name, Metric: m, Base: PhaseValue(bp, m), Cur: PhaseValue(cp, m)})
		}
	}
	c.Scaling = scalingRows(base, cur)
	return c
}

// FaultValue is a fault's recovery figure as the run measured it: NaN for a
// fault that is missing or was not injected, +Inf for "never".
func FaultValue(f *record.Fault, metric string) float64 { return analysis.FaultValue(f, metric) }

// PhaseValue is a phase's figure; NaN for a missing phase.
func PhaseValue(p *record.Phase, metric string) float64 { return analysis.PhaseValue(p, metric) }

// IsFault reports whether name is a fault of either run (for
// experiments.ParseRegression on limits given outside an experiment file).
func IsFault(runs ...*record.Run) func(string) bool {
	return func(name string) bool {
		for _, r := range runs {
			if r.Fault(name) != nil {
				return true
			}
		}
		return false
	}
}

// Judge evaluates regression gates on cur against base
// (analysis.JudgeRegressions).
func Judge(base, cur *record.Run, rules []experiments.Regression) []analysis.Verdict {
	return analysis.JudgeRegressions(base, cur, rules)
}

// IsRegression reports whether a verdict came from a regression gate.
func IsRegression(v analysis.Verdict) bool { return analysis.IsRegression(v) }

func union(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range [][]string{a, b} {
		for _, s := range l {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}
