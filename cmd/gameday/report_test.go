package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gameday-dev/gameday/compare"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/record"
)

// storedRun is a real record of the full game day, kept for the reports tests.
const storedRun = "../../reports/testdata/run.json"

func cli(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func writeRecord(t *testing.T, r *record.Run) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "run.json")
	if err := record.Write(path, r); err != nil {
		t.Fatal(err)
	}
	return path
}

func readStored(t *testing.T) *record.Run {
	t.Helper()
	r, err := record.Read(storedRun)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestReportCommand(t *testing.T) {
	code, out, errs := cli("report", storedRun, "--format", "md")
	if code != 0 || !strings.HasPrefix(out, "## ✅ PASS · full-gameday") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = cli("report", storedRun, "-f", "junit")
	if code != 0 || !strings.HasPrefix(out, "<?xml") || !strings.Contains(out, "<testsuites") {
		t.Fatalf("junit to stdout: exit %d\n%s", code, out)
	}

	dir := t.TempDir()
	code, out, errs = cli("report", storedRun, "--format", "html,md", "--format", "junit", "--out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, f := range []string{"report.html", "summary.md", "junit.xml"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil || !strings.Contains(out, filepath.Join(dir, f)) {
			t.Errorf("%s not written or not listed (%v):\n%s", f, err, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "run.json")); err == nil {
		t.Error("run.json written though not asked for")
	}

	dir = t.TempDir()
	if code, _, errs := cli("report", storedRun, "--out", dir); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, f := range []string{"run.json", "report.html", "summary.md", "junit.xml", "report.txt"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("--out without --format: %v", err)
		}
	}
}

func TestReportBadInputExitsTwo(t *testing.T) {
	dir := t.TempDir()
	notJSON := filepath.Join(dir, "broken.json")
	os.WriteFile(notJSON, []byte("{not json"), 0o644)
	otherSchema := filepath.Join(dir, "other.json")
	os.WriteFile(otherSchema, []byte(`{"schema": "gameday.run/v9"}`), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"report", storedRun, "--format", "pdf"}, `unknown format "pdf"`},
		{[]string{"report", storedRun, "--format", "html,md"}, "2 formats need --out DIR"},
		{[]string{"report", filepath.Join(dir, "missing.json")}, "missing.json"},
		{[]string{"report", notJSON}, notJSON + ": not a run record"},
		{[]string{"report", otherSchema}, otherSchema + `: schema "gameday.run/v9"`},
		{[]string{"compare", storedRun, notJSON}, notJSON + ": not a run record"},
		{[]string{"compare", filepath.Join(dir, "missing.json"), storedRun}, "missing.json"},
		{[]string{"compare", storedRun, storedRun, "--max-regression", "time_to_recover=20%"}, "needs a sign"},
		{[]string{"compare", storedRun, storedRun, "--max-regression", "recovery=+20%"}, `unknown metric "recovery"`},
		{[]string{"compare", storedRun, storedRun, "--max-regression", "time_to_recover"}, "want METRIC=CHANGE"},
		{[]string{"compare", storedRun, storedRun, "--format", "html"}, `--format "html"`},
		{[]string{"run", "testdata/terminate.yaml", "--format", "pdf", "--out", dir}, `unknown format "pdf"`},
		{[]string{"run", "testdata/terminate.yaml", "--baseline", notJSON, "--out", dir}, notJSON + ": not a run record"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, errs := cli(tc.args...)
			if code != 2 || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d, want 2 with %q in:\n%s", code, tc.want, errs)
			}
		})
	}
}

// The second run is the first with one fault's recovery 50% slower.
func TestCompareCommand(t *testing.T) {
	cur := readStored(t)
	f := &cur.Faults[1] // database-failover
	f.Recovery.TimeToRecover *= 1.5
	f.Recovery.ImpactDuration *= 1.5
	curPath := writeRecord(t, cur)

	code, out, errs := cli("compare", storedRun, curPath)
	if code != 0 {
		t.Fatalf("no limits: exit %d\n%s", code, errs)
	}
	for _, want := range []string{"database-failover", "time_to_recover", "+50.0%", "Phases", "total"} {
		if !strings.Contains(out, want) {
			t.Errorf("comparison lacks %q:\n%s", want, out)
		}
	}

	code, out, errs = cli("compare", storedRun, curPath, "--max-regression", "time_to_recover=+20%")
	if code != 1 || !strings.Contains(errs, "1 of 3 regression limits exceeded") || !strings.Contains(out, "FAIL") {
		t.Errorf("+50%% against a +20%% limit: exit %d\n%s%s", code, out, errs)
	}
	code, _, errs = cli("compare", storedRun, curPath, "--max-regression", "time_to_recover=+60%", "--max-regression", "p99=+25%")
	if code != 0 {
		t.Errorf("+50%% against a +60%% limit: exit %d\n%s", code, errs)
	}
	code, _, errs = cli("compare", storedRun, curPath, "--max-regression", "time_to_recover=+20% in lose-an-instance")
	if code != 0 {
		t.Errorf("a limit on an unchanged fault: exit %d\n%s", code, errs)
	}
	code, out, _ = cli("compare", storedRun, curPath, "--max-regression", "time_to_recover=+20%", "--format", "md")
	if code != 1 || !strings.HasPrefix(out, "## ❌ Regression: 1 of 3 limits exceeded") || !strings.Contains(out, "| ❌ | database-failover | `time_to_recover +20%` |") {
		t.Errorf("markdown: exit %d\n%s", code, out)
	}
}

func TestRunFormatsFromFlagAndExperiment(t *testing.T) {
	x := &experiments.Experiment{}
	names := func(flag []string) string {
		fs, table, raw, err := runFormats(flag, x)
		if err != nil {
			return "error: " + err.Error()
		}
		var n []string
		for _, f := range fs {
			n = append(n, f.File)
		}
		return strings.Join(n, " ") + " table=" + strconv.FormatBool(table) + " raw=" + strconv.FormatBool(raw)
	}
	if got := names(nil); got != "run.json report.html summary.md junit.xml table=true raw=false" {
		t.Errorf("default: %s", got)
	}
	if got := names([]string{"md,raw"}); got != "run.json summary.md table=false raw=true" {
		t.Errorf("--format md,raw: %s", got)
	}
	x.Report = experiments.ReportSettings{Formats: []string{"junit", "table"}, Raw: true}
	if got := names(nil); got != "run.json junit.xml table=true raw=true" {
		t.Errorf("report.formats: %s", got)
	}
	if got := names([]string{"html"}); got != "run.json report.html table=false raw=true" {
		t.Errorf("--format overrides report.formats (report.raw still holds): %s", got)
	}
}

// runIn runs the CLI in-process with its output in dir.
func runIn(t *testing.T, dir string, args ...string) (int, string, string, *record.Run) {
	t.Helper()
	code, out, errs := cli(append(args, "--out", dir, "-q")...)
	rec, err := record.Read(filepath.Join(dir, "run.json"))
	if err != nil {
		t.Fatalf("exit %d, no record: %v\n%s%s", code, err, out, errs)
	}
	return code, out, errs, rec
}

// A real run judged against a baseline made from a stored record: its
// recovery time and p99 were far worse than anything the sandbox does, and
// it failed a single request. The run must pass the first two regression
// gates, fail the third, and exit 1 for it alone.
func TestRunWithBaselineJudgesRegressionGates(t *testing.T) {
	t.Parallel()
	base := readStored(t)
	base.Experiment = "t-regression"
	base.Faults = base.Faults[:1]
	base.Faults[0].Name = "kill"
	base.Faults[0].Recovery.TimeToRecover = 1000
	base.Faults[0].Recovery.FailedRequests = 1
	for i := range base.Phases {
		base.Phases[i].P99S = 10
	}
	basePath := writeRecord(t, base)

	dir := t.TempDir()
	code, out, errs, rec := runIn(t, dir, "run", "testdata/regression.yaml", "--baseline", basePath)
	if code != 1 || rec.Status != "failed" || rec.ExitCode != 1 {
		t.Fatalf("exit %d status %s (%s)\n%s%s", code, rec.Status, rec.Message, out, errs)
	}
	verdicts := map[string]bool{}
	for _, g := range rec.Gates {
		verdicts[g.Scope+": "+g.Gate] = g.Pass
		if strings.HasPrefix(g.Metric, "regression:") != compare.IsRegression(g) {
			t.Errorf("verdict %+v", g)
		}
	}
	want := map[string]bool{
		"kill: time_to_recover <= 10s": true,
		"kill: time_to_recover +20%":   true,
		"kill: failed_requests +50%":   false,
		"total: p99 +25%":              true,
		"run: clean_rollback":          true,
	}
	for k, pass := range want {
		if got, ok := verdicts[k]; !ok || got != pass {
			t.Errorf("verdict %q: pass=%v present=%v, want pass=%v (all: %v)", k, got, ok, pass, verdicts)
		}
	}
	if rec.Message != "1 of 5 gates failed" {
		t.Errorf("message %q", rec.Message)
	}
	if b, ok := rec.Extra["baseline"].(map[string]any); !ok || b["file"] != basePath {
		t.Errorf("extra.baseline %v", rec.Extra["baseline"])
	}
	for _, want := range []string{"Compared with the baseline", "Regression limits", "failed_requests +50%"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	// The verdicts reach every report.
	junit, _ := os.ReadFile(filepath.Join(dir, "junit.xml"))
	if !regexp.MustCompile(`<testcase name="kill: failed_requests \+50%" classname="gameday.t-regression.gates" time="0.000">\s*<failure message="measured \d+ vs 1 in the baseline: \+\d+ \(\+\d+\.\d%\), limit \+50% vs baseline \(&lt;= 1.5\)" type="gate">`).Match(junit) {
		t.Errorf("junit.xml lacks the failed regression gate:\n%s", junit)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "summary.md"))
	if !bytes.Contains(md, []byte("| ❌ | kill | `failed_requests +50%` |")) {
		t.Errorf("summary.md lacks the failed regression gate:\n%s", md)
	}
	html, _ := os.ReadFile(filepath.Join(dir, "report.html"))
	if !bytes.Contains(html, []byte("<code>failed_requests &#43;50%</code>")) {
		t.Error("report.html lacks the regression gate")
	}
}

// vegetaReport is what `vegeta report -type=json` prints, in part.
type vegetaReport struct {
	Requests    uint64            `json:"requests"`
	Success     float64           `json:"success"`
	StatusCodes map[string]uint64 `json:"status_codes"`
	Errors      []string          `json:"errors"`
}

// The raw results file is vegeta's own encoding: the real vegeta CLI reads
// it, and its totals agree with the run record's. Definitions:
//
//   - requests: vegeta counts every result in the file; gameday writes every
//     request it sent except those it cancelled itself when stopping
//     (Load.Aborted, 0 in a run that ends on its own), so requests equals
//     Load.Sent - Load.Aborted, and the sum of the windows' requests.
//   - successes: vegeta counts a result as a success by its status code
//     (200-399); gameday also fails a request whose response came with an
//     error (e.g. the connection reset while reading the body). So vegeta's
//     successes equal the windows' successes plus the 2xx/3xx results with
//     an error, counted here from the file.
//   - the "total" phase covers whole windows from its from_s to its to_s,
//     which can stop short of the last window; it equals the sum of those.
func TestRawResultsAgreeWithVegetaReport(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin := t.TempDir()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("the go command is not on PATH; the test installs the vegeta CLI with it")
	}
	install := exec.CommandContext(ctx, goBin, "install", "github.com/tsenart/vegeta/v12@v12.13.0")
	install.Dir = bin
	install.Env = append(os.Environ(), "GOBIN="+bin, "GOFLAGS=", "CGO_ENABLED=0")
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("go install vegeta: %v\n%s", err, out)
	}

	dir := t.TempDir()
	code, out, errs, rec := runIn(t, dir, "run", "testdata/raw.yaml", "--raw")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	// report.formats: [json] in the experiment: no other report, no table.
	entries, _ := os.ReadDir(dir)
	var files []string
	for _, e := range entries {
		files = append(files, e.Name())
	}
	if got := strings.Join(files, " "); got != "journal.jsonl results.gob run.json" {
		t.Errorf("files written: %s", got)
	}
	if strings.Contains(out, "Phases") {
		t.Errorf("table printed though report.formats does not list it:\n%s", out)
	}

	rep := exec.CommandContext(ctx, filepath.Join(bin, "vegeta"), "report", "-type=json", filepath.Join(dir, "results.gob"))
	rep.Dir = dir
	b, err := rep.Output()
	if err != nil {
		t.Fatalf("vegeta report: %v", err)
	}
	var vr vegetaReport
	if err := json.Unmarshal(b, &vr); err != nil {
		t.Fatalf("vegeta report output %q: %v", b, err)
	}

	var winReq, winOK uint64
	for _, w := range rec.Windows {
		winReq += w.Requests
		winOK += w.Successes
	}
	if rec.Load.Aborted != 0 {
		t.Errorf("a run that ended on its own aborted %d requests", rec.Load.Aborted)
	}
	if vr.Requests != rec.Load.Sent-rec.Load.Aborted || vr.Requests != winReq || vr.Requests < 400 {
		t.Errorf("requests: vegeta %d, record sent %d (aborted %d), windows %d", vr.Requests, rec.Load.Sent, rec.Load.Aborted, winReq)
	}
	var vegetaOK uint64
	for code, n := range vr.StatusCodes {
		if c, _ := strconv.Atoi(code); c >= 200 && c < 400 {
			vegetaOK += n
		}
	}
	if want := uint64(math.Round(vr.Success * float64(vr.Requests))); vegetaOK != want {
		t.Errorf("vegeta's own figures disagree: %d 2xx/3xx, success ratio %.6f of %d", vegetaOK, vr.Success, vr.Requests)
	}
	okWithError := countOKWithError(t, filepath.Join(dir, "results.gob"))
	if vegetaOK != winOK+okWithError {
		t.Errorf("successes: vegeta %d, record's windows %d + %d answered-then-failed", vegetaOK, winOK, okWithError)
	}
	if winReq == winOK {
		t.Error("no request failed: the fault should have cost some, or the comparison is trivial")
	}
	var total *record.Phase
	for i := range rec.Phases {
		if rec.Phases[i].Name == "total" {
			total = &rec.Phases[i]
		}
	}
	var inTotal uint64
	for _, w := range rec.Windows {
		if w.T >= total.FromS-1e-9 && w.T+rec.WindowS <= total.ToS+1e-9 {
			inTotal += w.Requests
		}
	}
	if total.Requests != inTotal {
		t.Errorf("total phase %d requests, windows in [%.1fs, %.1fs) hold %d", total.Requests, total.FromS, total.ToS, inTotal)
	}
	t.Logf("vegeta: %d requests, %d successes; record: sent %d, windows %d requests / %d successes (+%d answered then failed), total phase %d",
		vr.Requests, vegetaOK, rec.Load.Sent, winReq, winOK, okWithError, total.Requests)
}

func countOKWithError(t *testing.T, path string) uint64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := vegeta.NewDecoder(f)
	var n uint64
	for {
		var r vegeta.Result
		if err := dec.Decode(&r); err != nil {
			if errors.Is(err, io.EOF) {
				return n
			}
			t.Fatalf("decode %s: %v", path, err)
		}
		if r.Code >= 200 && r.Code < 400 && r.Error != "" {
			n++
		}
	}
}
