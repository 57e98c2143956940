package compare

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/olekukonko/tablewriter"

	"github.com/gameday-dev/gameday/analysis"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/record"
	"github.com/gameday-dev/gameday/reports"
)

// FormatValue renders a figure in its unit ("n/a" for NaN, "never" for +Inf).
func FormatValue(metric string, v float64) string { return analysis.FormatValue(metric, v) }

// FormatChange renders the absolute change with its sign, and the relative
// one when there is one: "+1.2s (+35.5%)", "-0.4pp", "n/a".
func FormatChange(r Row, k experiments.Kind) string { return analysis.FormatChange(r, k) }

func relText(r Row) string {
	abs, rel := r.Change()
	if math.IsNaN(rel) || abs == 0 {
		return ""
	}
	return fmt.Sprintf("%+.1f%%", 100*rel)
}

func absText(r Row) string {
	abs, _ := r.Change()
	if math.IsNaN(abs) {
		return FormatChange(r, Kind(r.Metric))
	}
	return analysis.FormatAbs(abs, Kind(r.Metric), r.Metric)
}

func describe(r *record.Run) string {
	return fmt.Sprintf("%s: %s, %s (exit %d), started %s", r.ID, r.Experiment, r.Status, r.ExitCode,
		r.StartedAt.UTC().Format("2006-01-02 15:04:05Z"))
}

// Table writes the comparison as terminal tables; verdicts, if any, follow
// as a table of regression limits.
func (c *Comparison) Table(w io.Writer, verdicts []analysis.Verdict) error {
	fmt.Fprintf(w, "baseline  %s\ncurrent   %s\n", describe(c.Base), describe(c.Cur))
	if c.Base.Experiment != c.Cur.Experiment {
		fmt.Fprintf(w, "note: the runs are of different experiments (%q, %q)\n", c.Base.Experiment, c.Cur.Experiment)
	}
	for _, sec := range []struct {
		title string
		fault bool
	}{{"Faults", true}, {"Phases", false}} {
		rows := c.section(sec.fault)
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintln(w, "\n"+sec.title)
		t := tablewriter.NewWriter(w)
		t.Header(strings.TrimSuffix(strings.ToLower(sec.title), "s"), "figure", "baseline", "current", "change", "change %")
		for _, r := range rows {
			if err := t.Append(r.Scope, r.Metric, FormatValue(r.Metric, r.Base), FormatValue(r.Metric, r.Cur), absText(r), relText(r)); err != nil {
				return err
			}
		}
		if err := t.Render(); err != nil {
			return err
		}
	}
	if err := c.scalingTable(w); err != nil {
		return err
	}
	if len(verdicts) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nRegression limits")
	t := tablewriter.NewWriter(w)
	t.Header("scope", "gate", "measured", "limit", "verdict")
	for _, v := range verdicts {
		if err := t.Append(v.Scope, v.Gate, v.Measured, v.Limit, passFail(v.Pass)); err != nil {
			return err
		}
	}
	return t.Render()
}

// Markdown writes the comparison as GitHub-flavoured Markdown tables.
func (c *Comparison) Markdown(w io.Writer, verdicts []analysis.Verdict) error {
	failed := reports.FailedGates(verdicts)
	switch {
	case len(verdicts) == 0:
		fmt.Fprintf(w, "## Comparison: %s\n\n", reports.MDEscape(c.Cur.Experiment))
	case failed > 0:
		fmt.Fprintf(w, "## ❌ Regression: %d of %d limits exceeded — %s\n\n", failed, len(verdicts), reports.MDEscape(c.Cur.Experiment))
	default:
		fmt.Fprintf(w, "## ✅ No regression: all %d limits held — %s\n\n", len(verdicts), reports.MDEscape(c.Cur.Experiment))
	}
	fmt.Fprintf(w, "- baseline: `%s`\n- current: `%s`\n", reports.MDCode(describe(c.Base)), reports.MDCode(describe(c.Cur)))
	if c.Base.Experiment != c.Cur.Experiment {
		fmt.Fprintf(w, "- note: the runs are of different experiments\n")
	}
	if len(verdicts) > 0 {
		fmt.Fprintf(w, "\n### Regression limits\n\n| | scope | gate | measured | limit |\n|---|---|---|---|---|\n")
		for _, v := range verdicts {
			fmt.Fprintf(w, "| %s | %s | `%s` | %s | %s |\n", mark(v.Pass), reports.MDEscape(v.Scope), reports.MDCode(v.Gate), reports.MDEscape(v.Measured), reports.MDEscape(v.Limit))
		}
	}
	for _, sec := range []struct {
		title string
		fault bool
	}{{"Faults", true}, {"Phases", false}} {
		rows := c.section(sec.fault)
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n### %s\n\n| %s | figure | baseline | current | change | change %% |\n|---|---|---:|---:|---:|---:|\n",
			sec.title, strings.TrimSuffix(strings.ToLower(sec.title), "s"))
		for _, r := range rows {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", reports.MDEscape(r.Scope), r.Metric,
				reports.MDEscape(FormatValue(r.Metric, r.Base)), reports.MDEscape(FormatValue(r.Metric, r.Cur)), reports.MDEscape(absText(r)), relText(r))
		}
	}
	c.scalingMarkdown(w)
	return nil
}

func (c *Comparison) section(fault bool) []Row {
	var out []Row
	for _, r := range c.Rows {
		if r.Fault == fault {
			out = append(out, r)
		}
	}
	return out
}

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

func mark(ok bool) string {
	if ok {
		return "✅"
	}
	return "❌"
}
