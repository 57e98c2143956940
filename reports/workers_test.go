package reports

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gameday-dev/gameday/record"
)

// A run sent by several generators shows one row per worker (asked, sent,
// not sent, p99, clock offset, lost or not) in the table, Markdown and
// HTML, escaped; a run without workers shows no such section.
func TestWorkersTable(t *testing.T) {
	r := load(t, "failed")
	for _, f := range []func(*bytes.Buffer) error{
		func(b *bytes.Buffer) error { return Table(b, r) },
		func(b *bytes.Buffer) error { return Markdown(b, r) },
		func(b *bytes.Buffer) error { return HTML(b, r) },
	} {
		if out := string(render(t, f)); strings.Contains(out, "Load generators") {
			t.Fatal("a single-machine run shows a load generators section")
		}
	}
	r.Workers = []record.Worker{
		{ID: "run-w0", Engine: "local", Segment: 0, Asked: 320, Sent: 319, NotSent: 1, P99S: 0.0123, OffsetS: 0.000014, SentPerWindow: []uint64{0, 0, 0, 7}},
		{ID: "run-w1<script>", Engine: "local", Segment: 1, Asked: 320, Sent: 100, NotSent: 220, P99S: 0.02, OffsetS: -0.3, Lost: "silent for 5s"},
	}
	table := string(render(t, func(b *bytes.Buffer) error { return Table(b, r) }))
	for _, want := range []string{"Load generators", "run-w0", "320", "319", "+0.014ms", "LOST: silent for 5s", "-300.000ms"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	md := string(render(t, func(b *bytes.Buffer) error { return Markdown(b, r) }))
	if !strings.Contains(md, "### Load generators") || !strings.Contains(md, "| run-w0 | local | 0 | 320 | 319 | 1 |") || strings.Contains(md, "<script>") {
		t.Errorf("markdown:\n%s", md)
	}
	if err := tablesConsistent(md); err != nil {
		t.Error(err)
	}
	// One sent-rate line per worker on the rate chart.
	d := chartData(r)
	if len(d.Workers) != 2 || len(d.Workers[0].Values) != len(d.X) {
		t.Fatalf("chart workers %+v", d.Workers)
	}
	if i := 4; d.Workers[0].Values[i] == nil || *d.Workers[0].Values[i] != 7/r.WindowS {
		t.Errorf("worker 0's rate in window 3: %v, want %v", d.Workers[0].Values[i], 7/r.WindowS)
	}
	html := string(render(t, func(b *bytes.Buffer) error { return HTML(b, r) }))
	if !strings.Contains(html, `<section id="workers">`) || !strings.Contains(html, "run-w1&lt;script&gt;") || strings.Contains(html, "run-w1<script>") {
		t.Error("HTML does not show the workers table escaped")
	}
}
