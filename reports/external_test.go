package reports

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gameday-dev/gameday/record"
)

// These tests use tools from Debian packages that scripts/test-deps.sh
// installs (make test runs it first): xmllint (libxml2-utils) and chromium.
// Missing tools fail the tests; for a local run without them, set
// GAMEDAY_SKIP_XMLLINT=1 or GAMEDAY_SKIP_BROWSER=1 to skip instead (ignored
// when CI is set: CI always runs them).

func tool(t *testing.T, skipEnv string, candidates ...string) string {
	t.Helper()
	for _, c := range candidates {
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	if os.Getenv(skipEnv) == "1" && os.Getenv("CI") == "" {
		t.Skipf("%s not installed and %s=1: skipped (never in CI)", candidates[0], skipEnv)
	}
	t.Fatalf("%s is not installed: run scripts/test-deps.sh (make test does), or outside CI set %s=1 to skip this test", candidates[0], skipEnv)
	return ""
}

func xmllint(t *testing.T, xmlPath string) error {
	t.Helper()
	bin := tool(t, "GAMEDAY_SKIP_XMLLINT", "xmllint")
	out, err := exec.Command(bin, "--noout", "--schema", filepath.Join("testdata", "junit.xsd"), xmlPath).CombinedOutput()
	if err != nil {
		return errors.New(strings.TrimSpace(string(out)))
	}
	return nil
}

func TestJUnitValidatesAgainstTheSchema(t *testing.T) {
	for _, name := range stored {
		t.Run(name, func(t *testing.T) {
			r := load(t, name)
			path := filepath.Join(t.TempDir(), "junit.xml")
			if _, err := WriteFiles(filepath.Dir(path), r, []Format{mustFormat(t, "junit")}); err != nil {
				t.Fatal(err)
			}
			if err := xmllint(t, path); err != nil {
				t.Fatalf("xmllint rejects %s's junit.xml: %v", name, err)
			}
			b, _ := os.ReadFile(path)
			checkJUnitCounts(t, r, b)
		})
	}
	t.Run("hostile", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "junit.xml")
		if err := os.WriteFile(path, render(t, func(b *bytes.Buffer) error { return JUnit(b, hostile(t)) }), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := xmllint(t, path); err != nil {
			t.Fatalf("xmllint rejects the hostile record's junit.xml: %v", err)
		}
	})
}

// The schema is not vacuous: it rejects what CI tools would not read.
func TestSchemaRejectsMalformedJUnit(t *testing.T) {
	good := string(render(t, func(b *bytes.Buffer) error { return JUnit(b, load(t, "failed")) }))
	for name, mutate := range map[string]func(string) string{
		"testcase without classname": func(s string) string { return strings.Replace(s, ` classname="gameday.t-gate-fails.gates"`, "", 1) },
		"failure without message": func(s string) string {
			return regexp.MustCompile(`<failure message="[^"]*"`).ReplaceAllString(s, "<failure")
		},
		"timestamp with a zone": func(s string) string {
			return regexp.MustCompile(`timestamp="([^"]*)"`).ReplaceAllString(s, `timestamp="${1}Z"`)
		},
		"negative test count": func(s string) string {
			return strings.Replace(s, `<testsuite name="gameday: t-gate-fails" tests="`, `<testsuite name="gameday: t-gate-fails" tests="-`, 1)
		},
		"no testsuite time": func(s string) string {
			return regexp.MustCompile(`(<testsuite [^>]*?) time="[^"]*"`).ReplaceAllString(s, "$1")
		},
	} {
		t.Run(name, func(t *testing.T) {
			bad := mutate(good)
			if bad == good {
				t.Fatal("the mutation changed nothing")
			}
			path := filepath.Join(t.TempDir(), "junit.xml")
			if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := xmllint(t, path); err == nil {
				t.Fatal("the schema accepted it")
			}
		})
	}
}

func checkJUnitCounts(t *testing.T, r *record.Run, b []byte) {
	t.Helper()
	var doc junitSuites
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Suites) != 1 {
		t.Fatalf("%d suites", len(doc.Suites))
	}
	s := doc.Suites[0]
	failedGates := 0
	for _, g := range r.Gates {
		if !g.Pass {
			failedGates++
		}
	}
	// One case for the run, one per fault, one per load change of the
	// scaling analysis, one per gate.
	changes := 0
	if r.Scaling != nil {
		changes = len(r.Scaling.Changes)
	}
	if want := 1 + len(r.Faults) + changes + len(r.Gates); s.Tests != want || len(s.Cases) != want {
		t.Errorf("tests=%d cases=%d, want %d", s.Tests, len(s.Cases), want)
	}
	if s.Failures < failedGates {
		t.Errorf("failures=%d but %d gates failed", s.Failures, failedGates)
	}
	if r.Status == "aborted" && s.Errors == 0 {
		t.Error("an aborted run shows no error")
	}
	props := map[string]string{}
	for _, p := range s.Properties {
		props[p.Name] = p.Value
	}
	if props["experiment"] != r.Experiment || props["run_id"] != r.ID || props["status"] != string(r.Status) {
		t.Errorf("properties %v", props)
	}
	for _, g := range r.Gates {
		var c *junitCase
		for i := range s.Cases {
			if s.Cases[i].Name == g.Scope+": "+g.Gate {
				c = &s.Cases[i]
			}
		}
		if c == nil {
			t.Errorf("no test case for gate %s %s", g.Scope, g.Gate)
			continue
		}
		if g.Pass != (c.Failure == nil) {
			t.Errorf("gate %s %s pass=%v but failure=%v", g.Scope, g.Gate, g.Pass, c.Failure)
		}
		if !g.Pass && (!strings.Contains(c.Failure.Message, g.Measured) || !strings.Contains(c.Failure.Message, g.Limit)) {
			t.Errorf("failure message %q lacks the measured value %q or the limit %q", c.Failure.Message, g.Measured, g.Limit)
		}
	}
}

func mustFormat(t *testing.T, name string) Format {
	t.Helper()
	fs, err := ParseFormats([]string{name})
	if err != nil {
		t.Fatal(err)
	}
	return fs[0]
}

// chromium runs headless Chromium on a local file, cut off from the network,
// and returns its stdout. A browser that crashes on start (it happens, rarely,
// in containers) is retried twice.
func chromium(t *testing.T, page string, args ...string) []byte {
	t.Helper()
	bin := tool(t, "GAMEDAY_SKIP_BROWSER", "/usr/bin/chromium", "chromium", "chromium-browser")
	var lastErr error
	var stderr bytes.Buffer
	for attempt := 1; attempt <= 3; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		all := append([]string{
			"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--disable-dev-shm-usage", "--disable-crash-reporter", "--no-zygote",
			"--user-data-dir=" + t.TempDir(), "--virtual-time-budget=10000", "--hide-scrollbars",
		}, args...)
		cmd := exec.CommandContext(ctx, bin, append(all, "file://"+page)...)
		var stdout bytes.Buffer
		stderr.Reset()
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		lastErr = cmd.Run()
		cancel()
		if lastErr == nil && (stdout.Len() > 0 || !containsDumpDOM(args)) {
			return stdout.Bytes()
		}
		t.Logf("chromium attempt %d: %v", attempt, lastErr)
	}
	t.Fatalf("chromium failed: %v\n%s", lastErr, lastLines(stderr.String(), 15))
	return nil
}

func containsDumpDOM(args []string) bool {
	for _, a := range args {
		if a == "--dump-dom" {
			return true
		}
	}
	return false
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

var bodyTag = regexp.MustCompile(`<body[^>]*>`)
var attr = regexp.MustCompile(`([a-z-]+)="([^"]*)"`)

// TestChartsRenderInChromium opens the HTML report in headless Chromium: the
// page's script reports, per chart, whether its series left pixels on the
// canvas; a screenshot is taken and checked to be more than a blank page.
func TestChartsRenderInChromium(t *testing.T) {
	artifacts := os.Getenv("GAMEDAY_ARTIFACTS")
	// A control: the same run with no successful request in any window has
	// nothing to draw on the success and latency charts, and the check says so.
	noSuccess := func(t *testing.T) *record.Run {
		r := load(t, "aborted")
		for i := range r.Windows {
			r.Windows[i].Successes = 0
			r.Windows[i].Requests = 0
		}
		return r
	}
	for _, tc := range []struct {
		name       string
		run        func(*testing.T) *record.Run
		charts     []string
		undrawn    []string
		screenshot bool
	}{
		{"run", func(t *testing.T) *record.Run { return load(t, "run") },
			[]string{"rate", "success", "latency", "errors", "az", "probe-asg-capacity", "probe-db-writer", "probe-target-health"}, nil, true},
		{"aborted", func(t *testing.T) *record.Run { return load(t, "aborted") },
			[]string{"rate", "success", "latency", "errors", "az"}, nil, false},
		{"control", noSuccess, []string{"rate", "errors", "az"}, []string{"success", "latency"}, false},
		{"workers", func(t *testing.T) *record.Run { // load.generators: per-worker rate lines
			r := load(t, "run")
			for i := range 3 {
				w := record.Worker{ID: fmt.Sprintf("run-w%d", i), Engine: "local", Segment: i}
				for _, win := range r.Windows {
					w.SentPerWindow = append(w.SentPerWindow, win.Requests/3)
				}
				r.Workers = append(r.Workers, w)
			}
			return r
		}, []string{"rate", "success", "latency", "errors", "az", "probe-asg-capacity", "probe-db-writer", "probe-target-health"}, nil, false},
		// A scaling run: the capacity chart draws desired, in service,
		// healthy targets and load per target.
		{"scaling", func(t *testing.T) *record.Run { return load(t, "scaling") },
			[]string{"rate", "capacity", "success", "latency", "target-az", "az", "probe-asg-capacity", "probe-target-health"}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if artifacts != "" {
				dir = filepath.Join(artifacts, tc.name)
			}
			paths, err := WriteFiles(dir, tc.run(t), []Format{mustFormat(t, "html")})
			if err != nil {
				t.Fatal(err)
			}
			page, _ := filepath.Abs(paths[0])

			dom := chromium(t, page, "--dump-dom")
			body := bodyTag.Find(dom)
			if body == nil {
				t.Fatalf("no <body> in the DOM Chromium dumped:\n%s", lastLines(string(dom), 20))
			}
			attrs := map[string]string{}
			for _, m := range attr.FindAllSubmatch(body, -1) {
				attrs[string(m[1])] = html.UnescapeString(string(m[2]))
			}
			if e := attrs["data-charts-error"]; e != "" {
				t.Fatalf("the page's script failed: %s", e)
			}
			var drawn map[string]bool
			if err := json.Unmarshal([]byte(attrs["data-charts"]), &drawn); err != nil {
				t.Fatalf("data-charts %q: %v (did the script run?)", attrs["data-charts"], err)
			}
			t.Logf("chart pixels: %s", attrs["data-chart-pixels"])
			for _, c := range tc.charts {
				if !drawn[c] {
					t.Errorf("chart %s did not draw its series (drawn: %v, pixels: %s)", c, drawn, attrs["data-chart-pixels"])
				}
			}
			for _, c := range tc.undrawn {
				if v, ok := drawn[c]; !ok || v {
					t.Errorf("chart %s has no data but the check says drawn=%v (present %v)", c, v, ok)
				}
			}
			if len(drawn) != len(tc.charts)+len(tc.undrawn) {
				t.Errorf("charts %v, want exactly %v and %v", drawn, tc.charts, tc.undrawn)
			}
			if !tc.screenshot {
				return
			}

			shot := filepath.Join(dir, "report.png")
			chromium(t, page, "--window-size=1400,2400", "--screenshot="+shot)
			f, err := os.Open(shot)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			img, err := png.Decode(f)
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != 1400 || b.Dy() != 2400 {
				t.Errorf("screenshot is %v", b)
			}
			// More than a blank page: a good share of the pixels are not white.
			ink, total := 0, 0
			b := img.Bounds()
			for y := b.Min.Y; y < b.Max.Y; y += 4 {
				for x := b.Min.X; x < b.Max.X; x += 4 {
					r, g, bl, _ := img.At(x, y).RGBA()
					total++
					if r < 0xf000 || g < 0xf000 || bl < 0xf000 {
						ink++
					}
				}
			}
			if share := float64(ink) / float64(total); share < 0.05 {
				t.Errorf("the screenshot is nearly blank (%.1f%% ink)", 100*share)
			}
			t.Logf("screenshot: %s", shot)
			if *update && tc.name == "run" {
				b, _ := os.ReadFile(shot)
				if err := os.WriteFile(filepath.Join("..", "docs", "report-screenshot.png"), b, 0o644); err != nil {
					t.Error(err)
				}
			}
		})
	}
}
