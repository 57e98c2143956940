package reports

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/record"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden (and docs/report-screenshot.png)")

// Stored runs, made by gameday itself against the sandbox:
//
//	run.json      the full game day (experiments/gameday.yaml): passed
//	failed.json   cmd/gameday/testdata/gate-fails.yaml: a gate failed (exit 1)
//	aborted.json  cmd/gameday/testdata/abort.yaml: a stop condition aborted it (exit 3)
var stored = []string{"run", "failed", "aborted", "scaling"}

func load(t *testing.T, name string) *record.Run {
	t.Helper()
	r, err := record.Read(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func render(t *testing.T, f func(w *bytes.Buffer) error) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := f(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./reports -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the rendering (go test ./reports -update rewrites it); got:\n%s", path, got)
	}
}

func TestGoldenMarkdownAndJUnit(t *testing.T) {
	for _, name := range stored {
		t.Run(name, func(t *testing.T) {
			r := load(t, name)
			golden(t, filepath.Join("testdata", "golden", name+".md"), render(t, func(b *bytes.Buffer) error { return Markdown(b, r) }))
			golden(t, filepath.Join("testdata", "golden", name+".junit.xml"), render(t, func(b *bytes.Buffer) error { return JUnit(b, r) }))
		})
	}
}

func TestMarkdownSaysWhatMatters(t *testing.T) {
	md := string(render(t, func(b *bytes.Buffer) error { return Markdown(b, load(t, "failed")) }))
	lines := strings.Split(md, "\n")
	if !strings.HasPrefix(lines[0], "## ❌ FAIL · t-gate-fails") {
		t.Errorf("the verdict is not first: %q", lines[0])
	}
	for _, want := range []string{
		"**failed** (exit code 1): 1 of 1 gates failed",
		"| ❌ | kill | `failed_requests <= 0` |",
		"### Faults", "### Phases", "| total |",
		"[report.html](report.html)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
}

func TestEveryFormatRendersEveryStoredRun(t *testing.T) {
	for _, name := range stored {
		r := load(t, name)
		for _, f := range Formats {
			t.Run(name+"/"+f.Name, func(t *testing.T) {
				out := render(t, func(b *bytes.Buffer) error { return f.Render(b, r) })
				if len(out) < 200 || !bytes.Contains(out, []byte(r.Experiment)) {
					t.Errorf("%s output for %s is short or lacks the experiment's name:\n%s", f.Name, name, out)
				}
			})
		}
	}
}

func TestJSONRoundTrips(t *testing.T) {
	r := load(t, "run")
	dir := t.TempDir()
	paths, err := WriteFiles(dir, r, []Format{Formats[0]})
	if err != nil || len(paths) != 1 || filepath.Base(paths[0]) != "run.json" {
		t.Fatalf("%v %v", paths, err)
	}
	again, err := record.Read(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	a := render(t, func(b *bytes.Buffer) error { return JSON(b, r) })
	b := render(t, func(b *bytes.Buffer) error { return JSON(b, again) })
	if !bytes.Equal(a, b) {
		t.Error("the JSON format does not round-trip through record.Read")
	}
}

func TestParseFormats(t *testing.T) {
	fs, err := ParseFormats([]string{"html,md", "junit", "md", " table "})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range fs {
		names = append(names, f.Name+"="+f.File)
	}
	if got := strings.Join(names, " "); got != "html=report.html md=summary.md junit=junit.xml table=report.txt" {
		t.Errorf("got %s", got)
	}
	if _, err := ParseFormats([]string{"html,pdf"}); err == nil || !strings.Contains(err.Error(), `unknown format "pdf" (json, html, md, junit, table)`) {
		t.Errorf("error %v", err)
	}
	// Every renderer is a format an experiment's report.formats may name.
	for _, n := range Names() {
		if !strings.Contains(strings.Join(experiments.ReportFormats, " "), n) {
			t.Errorf("format %s is not in experiments.ReportFormats", n)
		}
	}
}

// A hostile record: every string the renderers show carries markup.
func hostile(t *testing.T) *record.Run {
	r := load(t, "failed")
	evil := `<script>alert("x")</script><img src=x onerror=alert(1)>|*_]]>&`
	r.Experiment = "exp" + evil
	r.Message = "msg" + evil
	r.Notes = append(r.Notes, "note"+evil)
	r.Faults[0].Name = "fault" + evil
	r.Faults[0].Plan = "plan" + evil
	r.Gates[0].Scope = "scope" + evil
	r.Gates[0].Measured = "measured" + evil
	r.Events = append(r.Events, record.Event{T: 1, Kind: "inject", Name: "ev" + evil, Detail: "detail" + evil})
	r.Windows[3].Samples = map[string]float64{"probe" + evil + "/series" + evil: 1}
	r.Windows[3].Classes = map[string]uint64{"class" + evil: 3}
	r.ID, r.Target, r.File = "id"+evil, "target"+evil, "file"+evil
	r.Thresholds = append(r.Thresholds, "threshold"+evil)
	r.Faults[0].Kind, r.Faults[0].Error = "kind"+evil, "error"+evil
	r.Faults[0].InfraS = map[string]float64{"probe" + evil: 2}
	r.Faults[0].GroundTruth = &record.GroundTruth{Event: "truth" + evil, SinceInjectS: 1}
	r.Gates[0].Gate, r.Gates[0].Limit = "gate"+evil, "limit"+evil
	r.Workers = append(r.Workers, record.Worker{ID: "worker" + evil, Engine: "engine" + evil, Lost: "lost" + evil})
	return r
}

func TestRenderersEscapeTheRecord(t *testing.T) {
	r := hostile(t)
	html := string(render(t, func(b *bytes.Buffer) error { return HTML(b, r) }))
	if n := strings.Count(html, "<script>alert"); n > 0 {
		t.Errorf("HTML carries %d raw <script>alert from the record", n)
	}
	if strings.Contains(html, "<img src=x") {
		t.Error("HTML carries a raw <img> from the record")
	}
	// The record's text is there, escaped, in the page and in the charts' data.
	if !strings.Contains(html, "exp&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
		t.Error("the experiment's name is not shown escaped")
	}
	if !strings.Contains(html, `\u003cscript\u003ealert`) {
		t.Error("the chart data does not carry the probe name JSON-escaped")
	}
	md := string(render(t, func(b *bytes.Buffer) error { return Markdown(b, r) }))
	// Inside a code span (ids, thresholds, gates) markup is shown as it
	// is, not interpreted; outside, none may be left raw.
	if prose := regexp.MustCompile("`[^`]*`").ReplaceAllString(md, "`…`"); strings.Contains(prose, "<script>") || strings.Contains(prose, "<img") {
		t.Errorf("Markdown carries raw HTML from the record:\n%s", md)
	}
	if err := tablesConsistent(md); err != nil {
		t.Error(err)
	}
	if strings.Contains(md, "fault<") || !strings.Contains(md, `fault&lt;script&gt;alert("x")&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;\|\*\_\]\]&gt;&`) {
		t.Errorf("Markdown does not escape the fault's name:\n%s", md)
	}
	xml := render(t, func(b *bytes.Buffer) error { return JUnit(b, r) })
	if err := wellFormed(xml); err != nil {
		t.Errorf("JUnit XML is not well-formed with a hostile record: %v", err)
	}
}

func TestSpecIsShownAsLoadableYAML(t *testing.T) {
	r := load(t, "run")
	y := specText(r.Spec)
	for _, want := range []string{"name: full-gameday\n", "  duration: 1m50s\n", "  - name: lose-an-instance\n", "  each_fault:\n    - time_to_recover <= 45s\n"} {
		if !strings.Contains(y, want) {
			t.Errorf("spec YAML lacks %q:\n%s", want, y)
		}
	}
	x, _, err := experiments.Parse("as-run.yaml", []byte(y), nil, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("the experiment as run does not load back: %v\n%s", err, y)
	}
	if x.Name != "full-gameday" || len(x.Faults) != 3 || x.Faults[1].After != "recovered" || x.Load.Rate != 100 {
		t.Errorf("loaded back differently: %+v", x)
	}
	// Something that is not an experiment is shown as JSON.
	if got := specText(map[string]any{"not": "an experiment", "n": []int{1}}); !strings.Contains(got, `"not": "an experiment"`) {
		t.Errorf("non-experiment spec rendered as:\n%s", got)
	}
}

// The vendored chart library is exactly what scripts/vendor-js.sh fetches.
func TestVendoredAssetsMatchTheirSums(t *testing.T) {
	sums, err := os.ReadFile("assets/SHA256SUMS")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		want, name, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("bad SHA256SUMS line %q", line)
		}
		b, err := os.ReadFile(filepath.Join("assets", name))
		if err != nil {
			t.Fatal(err)
		}
		got := sha256.Sum256(b)
		if hex.EncodeToString(got[:]) != want {
			t.Errorf("assets/%s does not match SHA256SUMS: run scripts/vendor-js.sh", name)
		}
		n++
	}
	if n != 3 {
		t.Errorf("SHA256SUMS lists %d files, want 3", n)
	}
	if !strings.Contains(asset("uPlot.iife.min.js"), "uPlot") || strings.Contains(strings.ToLower(asset("uPlot.iife.min.js")), "</script") {
		t.Error("the embedded uPlot build is not fit to inline")
	}
}

func TestHTMLIsSelfContained(t *testing.T) {
	html := string(render(t, func(b *bytes.Buffer) error { return HTML(b, load(t, "run")) }))
	low := strings.ToLower(html)
	for _, bad := range []string{"<script src", "<link", "@import", "url(http", "src=\"http", "src='http"} {
		if strings.Contains(low, bad) {
			t.Errorf("the page loads something from outside (%q)", bad)
		}
	}
	for _, want := range []string{"var uPlot=", ".uplot", "const GAMEDAY = {", `id="charts"`, "PASS", "Recovery per fault", "Experiment as run"} {
		if !strings.Contains(html, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

// tablesConsistent checks that every row of each Markdown table has as many
// cells as its header: a "|" from the record would add one.
func tablesConsistent(md string) error {
	cells := func(line string) int { return strings.Count(strings.ReplaceAll(line, `\|`, ""), "|") }
	want := -1
	for i, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			want = -1
			continue
		}
		if want < 0 {
			want = cells(line)
			continue
		}
		if got := cells(line); got != want {
			return fmt.Errorf("markdown line %d has %d cell borders, its table's header %d:\n%s", i+1, got, want, line)
		}
	}
	return nil
}

func wellFormed(b []byte) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
