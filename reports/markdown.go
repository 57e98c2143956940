package reports

import (
	"fmt"
	"io"
	"strings"

	"github.com/gameday-dev/gameday/analysis"
	"github.com/gameday-dev/gameday/record"
)

// Markdown writes a summary fit for a pull-request comment or a CI step
// summary: the verdict first, then per-fault recovery, phases, gate
// verdicts (measured value against limit), notes, and a relative link to
// report.html beside it.
func Markdown(w io.Writer, r *record.Run) error {
	p := &printer{w: w}
	icon := "❌"
	if r.Status == "passed" {
		icon = "✅"
	}
	p.f("## %s %s · %s\n\n", icon, verdictWord(r), MDEscape(r.Experiment))
	p.f("**%s** (exit code %d)", MDEscape(string(r.Status)), r.ExitCode)
	if r.Message != "" {
		p.f(": %s", MDEscape(r.Message))
	}
	p.f("\n\n")
	p.f("| run | target | started (UTC) | duration | load |\n|---|---|---|---|---|\n")
	p.f("| `%s` | %s | %s | %s | %s |\n\n", MDCode(r.ID), MDEscape(r.Target), r.StartedAt.UTC().Format("2006-01-02 15:04:05"),
		secs(r.Load.DurationS), MDEscape(loadLine(r)))
	var th []string
	for _, t := range r.Thresholds {
		th = append(th, "`"+MDCode(t)+"`")
	}
	p.f("Steady state: %s per %s window; recovered after %d stable windows.\n", strings.Join(th, " and "), secs(r.WindowS), r.StableFor)

	if len(r.Faults) > 0 {
		p.f("\n### Faults\n\n")
		p.f("| fault | kind | injected | time to impact | time to recover | failed requests | worst window | peak p99 | infra recovery |\n")
		p.f("|---|---|---:|---:|---:|---:|---:|---:|---|\n")
		for _, f := range r.Faults {
			if !f.Injected {
				p.f("| %s | %s | skipped: %s | | | | | | |\n", MDEscape(f.Name), MDEscape(f.Kind), MDEscape(f.Skipped))
				continue
			}
			fr := faultRow(f)
			p.f("| %s | %s | at %s | %s | %s | %d of %d%s | %s | %s | %s |\n", MDEscape(f.Name), MDEscape(f.Kind), secs(f.InjectedAtS),
				fr.Impact, fr.Recover, f.Recovery.FailedRequests, f.Recovery.Requests, late(f.Recovery.LateFailures), fr.Worst, secs(f.Recovery.PeakP99), MDEscape(infra(f.InfraS)))
		}
	}

	p.f("\n### Phases\n\n")
	p.f("| phase | from | to | requests | failed | success | p50 | p99 | max | p99 service | rps sent / asked | not sent | steady state |\n")
	p.f("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, ph := range r.Phases {
		p.f("| %s | %s | %s | %d | %d | %.2f%% | %s | %s | %s | %s | %.1f / %.1f | %d | %s |\n", MDEscape(ph.Name), secs(ph.FromS), secs(ph.ToS),
			ph.Requests, ph.Failed, 100*ph.SuccessRatio, secs(ph.P50S), secs(ph.P99S), secs(ph.MaxS), svcSecs(ph.ServiceP99S), ph.AchievedRPS, ph.AskedRPS, ph.NotSent, holdsMark(ph.Holds))
	}
	p.f("\nLatency counts from each request's intended send time (what users waited, load-generator queueing included); *p99 service* from the moment it was actually sent.\n")
	scalingMarkdown(p, r)

	if rows := azRows(r); len(rows) > 0 {
		p.f("\n### Failed requests by Availability Zone\n\n")
		p.f("| AZ | by the target that served or should have served | by the load-balancer node dialled |\n|---|---:|---:|\n")
		for _, row := range rows {
			p.f("| %s | %d of %d | %d of %d |\n", MDEscape(row.az), row.target[1], row.target[0], row.node[1], row.node[0])
		}
	}

	workersMarkdown(p.f, r) // reports/workers.go
	if len(r.Gates) > 0 {
		p.f("\n### Gates: %d of %d held\n\n", len(r.Gates)-FailedGates(r.Gates), len(r.Gates))
		p.f("| | scope | gate | measured | limit |\n|---|---|---|---:|---|\n")
		for _, g := range r.Gates {
			mark := "✅"
			if !g.Pass {
				mark = "❌"
			}
			p.f("| %s | %s | `%s` | %s | %s |\n", mark, MDEscape(g.Scope), MDCode(g.Gate), MDEscape(g.Measured), MDEscape(g.Limit))
		}
	}

	if len(r.Notes) > 0 {
		p.f("\n### Notes\n\n")
		for _, n := range r.Notes {
			p.f("- %s\n", MDEscape(n))
		}
	}
	p.f("\nTimeline charts, events and the experiment as run: [report.html](report.html)\n")
	return p.err
}

// FailedGates counts the verdicts that failed.
func FailedGates(vs []analysis.Verdict) int {
	n := 0
	for _, v := range vs {
		if !v.Pass {
			n++
		}
	}
	return n
}

// faultCells is a fault's recovery, as the table and Markdown show it.
type faultCells struct{ Impact, Recover, Duration, Worst string }

func faultRow(f record.Fault) faultCells {
	rc := f.Recovery
	c := faultCells{Impact: "none", Recover: "0s", Duration: "0s"}
	if rc.Impacted {
		c.Impact = secs(rc.TimeToImpact)
		c.Recover, c.Duration = "never", "until the end"
		if rc.Recovered {
			c.Recover, c.Duration = secs(rc.TimeToRecover), secs(rc.ImpactDuration)
		}
	}
	c.Worst = fmt.Sprintf("%.1f%% at %s", 100*rc.WorstSuccessRatio, secs(rc.WorstWindow))
	return c
}

func loadLine(r *record.Run) string {
	s := fmt.Sprintf("%d sent of %d asked (%.1f rps)", r.Load.Sent, r.Load.Asked, r.Load.AchievedRPS)
	if n := notSent(r.Load); n > 0 {
		s += fmt.Sprintf(", %d not sent", n)
	}
	return s
}

func holdsMark(b bool) string {
	if b {
		return "holds"
	}
	return "broken"
}

var mdEscaper = strings.NewReplacer(`\`, `\\`, "|", `\|`, "<", "&lt;", ">", "&gt;", "*", `\*`, "_", `\_`,
	"[", `\[`, "]", `\]`, "`", "\\`", "\n", " ", "\r", " ")

// MDEscape makes text from a record safe in Markdown, table cells included:
// Markdown and HTML syntax characters are escaped and lines joined.
func MDEscape(s string) string { return mdEscaper.Replace(s) }

var codeEscaper = strings.NewReplacer("`", "'", "|", `\|`, "\n", " ", "\r", " ")

// MDCode makes text safe inside a `code span` in a Markdown table cell.
func MDCode(s string) string { return codeEscaper.Replace(s) }

// printer writes formatted text and keeps the first error.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) f(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

type azRow struct {
	az           string
	target, node [2]uint64 // requests, failed
}

// azRows totals the run's requests and failures per AZ, by target AZ and by
// node AZ; nil for a record without target AZs (older runs).
func azRows(r *record.Run) []azRow {
	m := map[string]*azRow{}
	get := func(az string) *azRow {
		if m[az] == nil {
			m[az] = &azRow{az: az}
		}
		return m[az]
	}
	seen := false
	for _, w := range r.Windows {
		for az, c := range w.ByTargetAZ {
			seen = true
			row := get(az)
			row.target[0] += c[0]
			row.target[1] += c[1]
		}
		for az, c := range w.ByAZ {
			row := get(az)
			row.node[0] += c[0]
			row.node[1] += c[1]
		}
	}
	if !seen {
		return nil
	}
	out := make([]azRow, 0, len(m))
	for _, az := range sortedKeys(setOf(m)) {
		out = append(out, *m[az])
	}
	return out
}
