package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gameday-dev/gameday/compare"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/internal/exitcode"
	"github.com/gameday-dev/gameday/record"
	"github.com/gameday-dev/gameday/reports"
)

func newReportCmd(stdout io.Writer) *cobra.Command {
	var (
		formats []string
		out     string
	)
	c := &cobra.Command{
		Use:   "report RUN.json",
		Short: "Re-render a saved run: table, json, html, md, junit",
		Long: `Re-render a saved run record. With one format and no --out the report goes to
stdout; with --out DIR each format is written to its file in DIR (every format
unless --format says otherwise): run.json, report.html, summary.md, junit.xml,
report.txt.`,
		Example: `  gameday report gameday-runs/full-gameday-20261123T101500Z/run.json
  gameday report run.json --format md >> "$GITHUB_STEP_SUMMARY"
  gameday report run.json --format html,junit --out out/ci`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out != "" && !cmd.Flags().Changed("format") {
				formats = reports.Names()
			}
			fs, err := reports.ParseFormats(formats)
			if err != nil {
				return exitcode.With(exitcode.BadInput, fmt.Errorf("--format: %w", err))
			}
			if len(fs) == 0 {
				return exitcode.With(exitcode.BadInput, errors.New("--format: no format given"))
			}
			r, err := record.Read(args[0])
			if err != nil {
				return exitcode.With(exitcode.BadInput, err)
			}
			if out == "" {
				if len(fs) > 1 {
					return exitcode.With(exitcode.BadInput, fmt.Errorf("--format: %d formats need --out DIR to write them to", len(fs)))
				}
				if err := fs[0].Render(stdout, r); err != nil {
					return exitcode.With(exitcode.Error, err)
				}
				return nil
			}
			paths, err := reports.WriteFiles(out, r, fs)
			for _, p := range paths {
				fmt.Fprintln(stdout, p)
			}
			if err != nil {
				return exitcode.With(exitcode.Error, err)
			}
			return nil
		},
	}
	c.Flags().StringSliceVarP(&formats, "format", "f", []string{"table"}, "formats, comma-separated: "+strings.Join(reports.Names(), ", "))
	c.Flags().StringVar(&out, "out", "", "write the reports into this folder instead of stdout (all formats unless --format is given)")
	return c
}

func newCompareCmd(stdout io.Writer) *cobra.Command {
	var (
		limits []string
		format string
	)
	c := &cobra.Command{
		Use:   "compare BASELINE.json CURRENT.json",
		Short: "Compare two saved runs fault by fault and phase by phase; fail on regressions",
		Long: `Compare two saved runs: every fault's recovery (matched by fault name) and every
phase's figures (matched by phase name) side by side, with the absolute and
relative change. Each --max-regression is a regression limit in the grammar of
an experiment's gates.regression, with "=" after the metric; the command exits
1 if any is exceeded, 0 otherwise, and 2 on bad input.`,
		Example: `  gameday compare last-release/run.json run.json
  gameday compare a.json b.json --max-regression time_to_recover=+20% --max-regression "p99=+25%"
  gameday compare a.json b.json --max-regression "failed_requests=+50% in az-outage" --format md`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "md" {
				return exitcode.With(exitcode.BadInput, fmt.Errorf("--format %q: want table or md", format))
			}
			base, err := record.Read(args[0])
			if err != nil {
				return exitcode.With(exitcode.BadInput, err)
			}
			cur, err := record.Read(args[1])
			if err != nil {
				return exitcode.With(exitcode.BadInput, err)
			}
			var rules []experiments.Regression
			for _, l := range limits {
				metric, change, ok := strings.Cut(l, "=")
				if !ok {
					return exitcode.With(exitcode.BadInput, fmt.Errorf("--max-regression %q: want METRIC=CHANGE, e.g. time_to_recover=+20%%", l))
				}
				r, err := experiments.ParseRegression(metric+" "+change, compare.IsFault(base, cur))
				if err != nil {
					return exitcode.With(exitcode.BadInput, fmt.Errorf("--max-regression %v", err))
				}
				rules = append(rules, r)
			}
			cmp := compare.Runs(base, cur)
			verdicts := compare.Judge(base, cur, rules)
			if format == "md" {
				err = cmp.Markdown(stdout, verdicts)
			} else {
				err = cmp.Table(stdout, verdicts)
			}
			if err != nil {
				return exitcode.With(exitcode.Error, err)
			}
			if n := reports.FailedGates(verdicts); n > 0 {
				return exitcode.With(exitcode.GateFailed, fmt.Errorf("%d of %d regression limits exceeded", n, len(verdicts)))
			}
			return nil
		},
	}
	c.Flags().StringArrayVar(&limits, "max-regression", nil, `a regression limit, METRIC=CHANGE [in NAME] (e.g. time_to_recover=+20%, p99=+5ms); repeatable`)
	c.Flags().StringVarP(&format, "format", "f", "table", "table or md")
	return c
}

// runFormats decides what a run writes: --format if given, else the
// experiment's report.formats, else everything. "raw" selects the raw
// results file; the record (run.json) is always written, since every other
// report can be rendered again from it.
func runFormats(flag []string, x *experiments.Experiment) (fs []reports.Format, table, raw bool, err error) {
	names := flag
	if len(names) == 0 {
		names = x.Report.Formats
	}
	if len(names) == 0 {
		names = reports.Names()
	}
	var list []string
	for _, n := range names {
		for _, f := range strings.Split(n, ",") {
			switch f = strings.TrimSpace(f); f {
			case "raw":
				raw = true
			case "table":
				table = true
			default:
				list = append(list, f)
			}
		}
	}
	if !slices.Contains(list, "json") {
		list = append([]string{"json"}, list...)
	}
	fs, err = reports.ParseFormats(list)
	return fs, table, raw || x.Report.Raw, err
}
