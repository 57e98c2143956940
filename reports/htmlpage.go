package reports

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The page is written by Go code rather than by html/template. The markup
// is fixed; every value from the record goes through esc (text and quoted
// attributes) or, for the charts' data, through encoding/json (which
// escapes <, > and & inside the script element). html/template would do the
// same escaping, but executing any template makes the linker keep every
// exported method of every type that could reach it by reflection: with it,
// the binary was 84 MB (18 MB of it the EC2 client's 2,400 unused
// methods) and every process touched three times the pages; without it, 33
// MB. TestNoTemplateExecution keeps it out.

// esc escapes s for HTML text and quoted attribute values, as html/template
// does: & < > " ' + and NUL.
func esc(s string) string {
	if !strings.ContainsAny(s, "&<>\"'+\x00") {
		return s
	}
	return htmlReplacer.Replace(s)
}

var htmlReplacer = strings.NewReplacer(
	"&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;", "+", "&#43;", "\x00", "\uFFFD")

// pageWriter writes markup and remembers the first write error.
type pageWriter struct {
	w   io.Writer
	err error
}

// raw writes markup as it is: only literals and already escaped text.
func (p *pageWriter) raw(parts ...string) {
	for _, s := range parts {
		if p.err != nil {
			return
		}
		_, p.err = io.WriteString(p.w, s)
	}
}

func num(v uint64) string { return strconv.FormatUint(v, 10) }

// writePage writes the report page for v.
func writePage(w io.Writer, v *htmlView) error {
	data, err := json.Marshal(v.Data)
	if err != nil {
		return err
	}
	r := v.R
	p := &pageWriter{w: w}
	p.raw(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="gameday">
<title>`, esc(v.Verdict), ` · `, esc(r.Experiment), ` · gameday</title>
<style>`, v.UPlotCSS, `</style>
<style>`, v.CSS, `</style>
</head>
<body data-charts="pending">
<header class="verdict `, esc(v.Class), `">
  <div class="badge">`, esc(v.Verdict), `</div>
  <div class="head">
    <h1>`, esc(r.Experiment), `</h1>
    <p class="message">`)
	if r.Message != "" {
		p.raw(esc(r.Message))
	} else {
		p.raw(esc(string(r.Status)))
	}
	p.raw(`</p>
    <p class="meta">status <b>`, esc(string(r.Status)), `</b> · exit code <b>`, strconv.Itoa(r.ExitCode), `</b> · run <code>`, esc(r.ID), `</code> · target `, esc(r.Target), `
      · started `, r.StartedAt.UTC().Format("2006-01-02 15:04:05"), ` UTC · `, esc(secs(r.Load.DurationS)), ` of load`)
	if r.File != "" {
		p.raw(` · <code>`, esc(r.File), `</code>`)
	}
	p.raw(`</p>
  </div>
</header>

<main>
<section class="cards">
  <div class="card"><div class="k">requests</div><div class="v">`, num(r.Load.Sent), `</div><div class="s">of `, num(r.Load.Asked), ` asked`)
	if n := notSent(r.Load); n != 0 {
		p.raw(`, `, num(n), ` not sent`)
	}
	p.raw(`</div></div>
`)
	if t := v.Total; t != nil {
		p.raw(`  <div class="card"><div class="k">success</div><div class="v">`, esc(pctText(t.SuccessRatio)), `</div><div class="s">`, num(t.Failed), ` failed</div></div>
  <div class="card"><div class="k">p99 / max</div><div class="v">`, esc(secs(t.P99S)), `</div><div class="s">max `, esc(secs(t.MaxS)), `, p50 `, esc(secs(t.P50S)), `; service p99 `, esc(secs(t.ServiceP99S)), `</div></div>
`)
	}
	gatesClass := "good"
	if v.GatesFailed != 0 {
		gatesClass = "bad"
	}
	p.raw(`  <div class="card"><div class="k">faults</div><div class="v">`, strconv.Itoa(v.Injected), ` / `, strconv.Itoa(len(r.Faults)), `</div><div class="s">injected</div></div>
  <div class="card `, gatesClass, `"><div class="k">gates</div><div class="v">`, strconv.Itoa(v.GatesFailed), ` failed</div><div class="s">of `, strconv.Itoa(len(r.Gates)), `</div></div>
  <div class="card"><div class="k">steady state</div><div class="v small">`)
	for i, t := range r.Thresholds {
		if i > 0 {
			p.raw(` and `)
		}
		p.raw(`<code>`, esc(t), `</code>`)
	}
	p.raw(`</div><div class="s">per `, esc(secs(r.WindowS)), ` window; recovered after `, strconv.Itoa(r.StableFor), ` stable windows</div></div>
</section>

<section id="timeline">
  <h2>Timeline</h2>
  <p class="hint">Every chart shares one time axis (seconds from the start of the load): drag across any chart to zoom all of them, double-click to zoom out, hover to read values.</p>
  <div class="keys">
    <span class="key held"></span>fault held (injection → rollback)
    <span class="key impact"></span>impact on users (first breaking window → recovery)
    <span class="key recovered"></span>recovered (the stable windows that confirmed it)
    <span class="key line inject"></span>inject <span class="key line rollback"></span>rollback <span class="key line truth"></span>ground truth <span class="key line other"></span>other event
  </div>
  <div id="charts"><noscript>The charts need JavaScript; the tables below carry the same figures.</noscript></div>
</section>
`)
	writeFaults(p, v)
	writePhases(p, v)
	writeScaling(p, v.Scaling)
	writeGates(p, v)
	if len(r.Workers) > 0 {
		p.raw(`
<section id="workers">
  <h2>Load generators</h2>
  <table>
    <thead><tr><th>worker</th><th>engine</th><th class="num">slice</th><th class="num">asked</th><th class="num">sent</th><th class="num">not sent</th><th class="num">p99</th><th class="num">clock offset</th><th>status</th></tr></thead>
    <tbody>`)
		for _, row := range workerRows(r) {
			p.raw(`<tr>`)
			for i, c := range row {
				if i == 0 || i == 1 || i == len(row)-1 {
					p.raw(`<td>`, esc(c), `</td>`)
				} else {
					p.raw(`<td class="num">`, esc(c), `</td>`)
				}
			}
			p.raw(`</tr>`)
		}
		p.raw(`</tbody>
  </table>
</section>
`)
	}
	if len(r.Notes) > 0 {
		p.raw(`
<section id="notes">
  <h2>Notes</h2>
  <ul class="notes">`)
		for _, n := range r.Notes {
			p.raw(`<li>`, esc(n), `</li>`)
		}
		p.raw(`</ul>
</section>
`)
	}
	p.raw(`
<section id="events">
  <h2>Events</h2>
  <table class="events">
    <thead><tr><th class="num">at</th><th>kind</th><th>name</th><th>detail</th></tr></thead>
    <tbody>
    `)
	for _, e := range v.Events {
		p.raw(`<tr><td class="num">`, esc(secs(e.T)), `</td><td><span class="ev `, esc(e.Kind), `">`, esc(e.Kind), `</span></td><td>`, esc(e.Name), `</td><td class="sub">`, esc(e.Detail), `</td></tr>`)
	}
	p.raw(`
    </tbody>
  </table>
  `)
	if v.ProbeErrors != 0 {
		p.raw(`<p class="muted">`, strconv.Itoa(v.ProbeErrors), ` probe errors are in the run record (run.json, events of kind probe-error).</p>`)
	}
	p.raw(`
</section>
`)
	if v.Spec != "" {
		p.raw(`
<section id="experiment">
  <h2>Experiment as run</h2>
  <p class="hint">The experiment after defaults, environment and <code>--set</code> overrides were applied.</p>
  <pre class="spec">`, esc(v.Spec), `</pre>
</section>
`)
	}
	p.raw(`</main>

<footer>Rendered by gameday from the run record <code>`, esc(r.Schema), `</code> · charts by <a href="https://github.com/leeoniya/uPlot">uPlot</a> (MIT), embedded</footer>

<script>`, v.UPlotJS, `</script>
<script>const GAMEDAY = `, string(data), `;</script>
<script>`, v.JS, `</script>
</body>
</html>
`)
	return p.err
}

func writeFaults(p *pageWriter, v *htmlView) {
	if len(v.R.Faults) == 0 {
		return
	}
	p.raw(`
<section id="faults">
  <h2>Recovery per fault</h2>
  <div class="scroll">
  <table>
    <thead><tr><th>fault</th><th class="num">injected</th><th class="num">rolled back</th><th class="num">time to impact</th><th class="num">time to recover</th><th class="num">impact</th><th class="num">failed requests</th><th class="num">worst window</th><th class="num">peak p99</th><th>infra recovery</th><th>ground truth</th></tr></thead>
    <tbody>
`)
	for _, f := range v.R.Faults {
		if !f.Injected {
			p.raw(`      <tr class="muted"><td class="fault"><b>`, esc(f.Name), `</b> <span class="ev">`, esc(f.Kind), `</span><div class="sub">`, esc(f.Plan), `</div></td><td colspan="10">not injected: `, esc(f.Skipped), `</td></tr>
`)
			continue
		}
		c := faultRow(f)
		rc := f.Recovery
		p.raw(`      <tr`)
		if rc.Impacted && !rc.Recovered {
			p.raw(` class="bad"`)
		}
		p.raw(`>
        <td class="fault"><b>`, esc(f.Name), `</b> <span class="ev">`, esc(f.Kind), `</span><div class="sub">`, esc(f.Plan), `</div>`)
		if f.Error != "" {
			p.raw(`<div class="sub bad">`, esc(f.Error), `</div>`)
		}
		p.raw(`</td>
        <td class="num">`, esc(secs(f.InjectedAtS)), `</td>
        <td class="num">`)
		switch {
		case !f.RolledBack:
			p.raw(`<b class="bad">no</b>`)
		case f.RolledBackAtS != 0:
			p.raw(esc(secs(f.RolledBackAtS)))
		default:
			p.raw(`yes`)
		}
		p.raw(`</td>
        <td class="num">`, esc(c.Impact), `</td><td class="num"><b>`, esc(c.Recover), `</b></td><td class="num">`, esc(c.Duration), `</td>
        <td class="num">`, num(rc.FailedRequests), ` of `, num(rc.Requests))
		if rc.LateFailures != 0 {
			p.raw(` <span title="after recovery, before rollback">(+`, num(rc.LateFailures), ` late)</span>`)
		}
		p.raw(`</td><td class="num">`, esc(c.Worst), `</td>
        <td class="num">`, esc(secs(rc.PeakP99)), `</td>
        <td class="nowrap">`)
		for _, k := range sortedKeys(f.InfraS) {
			p.raw(`<div>`, esc(k), ` <b>`, esc(secs(f.InfraS[k])), `</b></div>`)
		}
		p.raw(`</td>
        <td>`)
		if g := f.GroundTruth; g != nil {
			p.raw(`<b>`, esc(secs(g.SinceInjectS)), `</b> after injection<div class="sub">`, esc(g.Event), `</div>`)
		}
		p.raw(`</td>
      </tr>
`)
	}
	p.raw(`    </tbody>
  </table>
  </div>
</section>
`)
}

func writePhases(p *pageWriter, v *htmlView) {
	p.raw(`
<section id="phases">
  <h2>Phases</h2>
  <table>
    <thead><tr><th>phase</th><th class="num">from</th><th class="num">to</th><th class="num">requests</th><th class="num">failed</th><th class="num">success</th><th class="num">p50</th><th class="num">p90</th><th class="num">p99</th><th class="num">max</th><th class="num" title="from the actual send">p99 service</th><th class="num">rps sent / asked</th><th class="num">not sent</th><th>steady state</th></tr></thead>
    <tbody>
`)
	for _, ph := range v.R.Phases {
		holds := `<span class="pill bad">broken</span>`
		if ph.Holds {
			holds = `<span class="pill good">holds</span>`
		}
		p.raw(`      <tr><td><b>`, esc(ph.Name), `</b></td><td class="num">`, esc(secs(ph.FromS)), `</td><td class="num">`, esc(secs(ph.ToS)), `</td><td class="num">`, num(ph.Requests), `</td><td class="num">`, num(ph.Failed), `</td>
        <td class="num">`, esc(pctText(ph.SuccessRatio)), `</td><td class="num">`, esc(secs(ph.P50S)), `</td><td class="num">`, esc(secs(ph.P90S)), `</td><td class="num">`, esc(secs(ph.P99S)), `</td><td class="num">`, esc(secs(ph.MaxS)), `</td><td class="num">`, esc(secs(ph.ServiceP99S)), `</td>
        <td class="num">`, fmt.Sprintf("%.1f / %.1f", ph.AchievedRPS, ph.AskedRPS), `</td><td class="num">`, num(ph.NotSent), `</td><td>`, holds, `</td></tr>
`)
	}
	p.raw(`    </tbody>
  </table>
</section>
`)
}

func writeScaling(p *pageWriter, s *scalingView) {
	if s == nil {
		return
	}
	p.raw(`
<section id="scaling">
  <h2>Scaling</h2>
`)
	if len(s.Rows) > 0 {
		p.raw(`  <div class="scroll">
  <table>
    <thead><tr>`)
		for i, h := range s.Header {
			if i > 0 {
				p.raw(`<th class="num">`, esc(h), `</th>`)
			} else {
				p.raw(`<th>`, esc(h), `</th>`)
			}
		}
		p.raw(`</tr></thead>
    <tbody>
`)
		for _, row := range s.Rows {
			p.raw(`    <tr>`)
			for i, c := range row {
				if i > 0 {
					p.raw(`<td class="num">`, esc(c), `</td>`)
				} else {
					p.raw(`<td><b>`, esc(c), `</b></td>`)
				}
			}
			p.raw(`</tr>
`)
		}
		p.raw(`    </tbody>
  </table>
  </div>
`)
	}
	p.raw(`  <p>Run: `, esc(s.Run), `.</p>
  <p class="muted">`, esc(s.Basis), `.</p>
</section>
`)
}

func writeGates(p *pageWriter, v *htmlView) {
	p.raw(`
<section id="gates">
  <h2>Gates</h2>
`)
	if len(v.R.Gates) == 0 {
		p.raw(`  <p class="muted">This experiment has no gates.</p>
</section>
`)
		return
	}
	p.raw(`  <table>
    <thead><tr><th>verdict</th><th>scope</th><th>gate</th><th class="num">measured</th><th>limit</th></tr></thead>
    <tbody>
`)
	for _, g := range v.R.Gates {
		verdict := `<span class="pill bad">FAIL</span>`
		if g.Pass {
			verdict = `<span class="pill good">PASS</span>`
		}
		p.raw(`      <tr><td>`, verdict, `</td><td>`, esc(g.Scope), `</td><td><code>`, esc(g.Gate), `</code></td><td class="num">`, esc(g.Measured), `</td><td>`, esc(g.Limit), `</td></tr>
`)
	}
	p.raw(`    </tbody>
  </table>
</section>
`)
}

// pctText renders a ratio as a percentage with two decimals.
func pctText(v float64) string { return fmt.Sprintf("%.2f%%", 100*v) }
