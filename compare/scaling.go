package compare

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/olekukonko/tablewriter"

	"github.com/gameday-dev/gameday/analysis"
	"github.com/gameday-dev/gameday/record"
	"github.com/gameday-dev/gameday/reports"
)

// ScalingMetrics are the scaling figures shown side by side (how an SRE
// chooses between two policies: e.g. a target of 50 against 100 requests
// per target). policy_target is the policy each run was judged against.
var ScalingMetrics = []string{"policy_target", "time_to_trigger", "time_to_capacity", "time_to_serve", "time_to_slo",
	"under_provisioned", "max_reached", "scale_in_lag", "idle_instance_minutes", "flaps"}

// ScalingValue is a run's scaling figure: NaN when the run has no scaling
// analysis (or nothing to measure it on), +Inf for "never".
func ScalingValue(r *record.Run, metric string) float64 {
	if metric == "policy_target" {
		if r.Scaling == nil || r.Scaling.PolicyTarget <= 0 {
			return math.NaN()
		}
		return r.Scaling.PolicyTarget
	}
	return analysis.ScalingMetric(r.Scaling, metric)
}

// scalingRows are the scaling figures of both runs, when either has them.
func scalingRows(base, cur *record.Run) []Row {
	if base.Scaling == nil && cur.Scaling == nil {
		return nil
	}
	var out []Row
	for _, m := range ScalingMetrics {
		out = append(out, Row{Scope: "scaling", Metric: m, Base: ScalingValue(base, m), Cur: ScalingValue(cur, m)})
	}
	return out
}

func (c *Comparison) scalingTable(w io.Writer) error {
	if len(c.Scaling) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nScaling")
	t := tablewriter.NewWriter(w)
	t.Header("figure", "baseline", "current", "change", "change %")
	for _, r := range c.Scaling {
		if err := t.Append(r.Metric, FormatValue(r.Metric, r.Base), FormatValue(r.Metric, r.Cur), scalingChange(r), scalingRel(r)); err != nil {
			return err
		}
	}
	return t.Render()
}

func (c *Comparison) scalingMarkdown(w io.Writer) {
	if len(c.Scaling) == 0 {
		return
	}
	fmt.Fprintf(w, "\n### Scaling\n\n| figure | baseline | current | change | change %% |\n|---|---:|---:|---:|---:|\n")
	for _, r := range c.Scaling {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", r.Metric, reports.MDEscape(FormatValue(r.Metric, r.Base)),
			reports.MDEscape(FormatValue(r.Metric, r.Cur)), reports.MDEscape(scalingChange(r)), scalingRel(r))
	}
}

// scalingChange is the change column; a true/false figure says whether it
// changed rather than subtracting.
func scalingChange(r Row) string {
	if r.Metric != "max_reached" {
		return absText(r)
	}
	switch {
	case math.IsNaN(r.Base) || math.IsNaN(r.Cur):
		return "n/a"
	case r.Base == r.Cur:
		return "same"
	}
	return "now " + strings.ToLower(FormatValue(r.Metric, r.Cur))
}

func scalingRel(r Row) string {
	if r.Metric == "max_reached" {
		return ""
	}
	return relText(r)
}
