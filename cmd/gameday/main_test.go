package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gameday-dev/gameday/record"
	"github.com/gameday-dev/gameday/sandbox/sim"
)

// These tests run the whole CLI in-process against the embedded sandbox on
// loopback. Each run is bounded by its experiment's load duration.

type cliResult struct {
	code           int
	stdout, stderr string
	rec            *record.Run
	events         []sim.Event
}

func runCLI(t *testing.T, ctx context.Context, args ...string) cliResult {
	t.Helper()
	dir := t.TempDir()
	evPath := filepath.Join(dir, "events.jsonl")
	if args[0] == "run" || args[0] == "plan" {
		args = append(args, "--sandbox-events", evPath)
	}
	if args[0] == "run" {
		args = append(args, "--out", dir)
	}
	var out, errb bytes.Buffer
	code := Main(ctx, args, &out, &errb)
	res := cliResult{code: code, stdout: out.String(), stderr: errb.String()}
	if r, err := record.Read(filepath.Join(dir, "run.json")); err == nil {
		res.rec = r
	}
	if f, err := os.Open(evPath); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var e sim.Event
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatalf("events line %q: %v", sc.Text(), err)
			}
			res.events = append(res.events, e)
		}
	}
	return res
}

func (r cliResult) mutatingCalls() []string {
	var out []string
	for _, e := range r.events {
		if e.Kind == "api-call" && e.Mutating {
			out = append(out, e.Detail)
		}
	}
	return out
}

// aclsRestored checks that every subnet whose ACL association changed ends
// on the ACL it started on.
func (r cliResult) aclsRestored(t *testing.T) int {
	t.Helper()
	first, last := map[string]string{}, map[string]string{}
	for _, e := range r.events {
		if e.Kind != "acl-association" {
			continue
		}
		if _, ok := first[e.Resource]; !ok {
			first[e.Resource] = e.From
		}
		last[e.Resource] = e.To
	}
	for sn, orig := range first {
		if last[sn] != orig {
			t.Errorf("subnet %s ends on ACL %s, started on %s", sn, last[sn], orig)
		}
	}
	return len(first)
}

func (r cliResult) fault(t *testing.T, name string) record.Fault {
	t.Helper()
	if r.rec == nil {
		t.Fatalf("no run record; exit %d, stderr:\n%s", r.code, r.stderr)
	}
	for _, f := range r.rec.Faults {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("no fault %q in record", name)
	return record.Fault{}
}

// checkRecovery holds the measured recovery against the sandbox's ground truth.
func checkRecovery(t *testing.T, r cliResult, name string) record.Fault {
	t.Helper()
	f := r.fault(t, name)
	if !f.Injected || !f.RolledBack {
		t.Fatalf("fault %s injected=%v rolled back=%v (%s)", name, f.Injected, f.RolledBack, f.Skipped)
	}
	rc := f.Recovery
	if !rc.Impacted || !rc.Recovered {
		t.Fatalf("fault %s: impacted=%v recovered=%v", name, rc.Impacted, rc.Recovered)
	}
	if rc.FailedRequests == 0 {
		t.Errorf("fault %s hurt users but counted no failed requests", name)
	}
	// Failed and late failures never reach into another fault's phase.
	for _, ph := range r.rec.Phases {
		if ph.Name == "fault: "+name && rc.FailedRequests+rc.LateFailures > ph.Failed {
			t.Errorf("fault %s: %d failed + %d late, but its phase holds %d failures", name, rc.FailedRequests, rc.LateFailures, ph.Failed)
		}
	}
	if f.GroundTruth == nil {
		t.Fatalf("fault %s: no ground truth found", name)
	}
	// Recovery is measured in whole windows: the window where users see the
	// steady state again must be within one window of the one holding the
	// sandbox's own recovery event.
	measured := int(math.Floor(rc.RecoveryStart/r.rec.WindowS + 1e-9))
	truth := int(math.Floor(f.GroundTruth.AtS / r.rec.WindowS))
	if d := measured - truth; d < -1 || d > 1 {
		t.Errorf("fault %s: recovered in window %d (%.3fs after injection) but ground truth is in window %d (%.3fs, %s)",
			name, measured, rc.TimeToRecover, truth, f.GroundTruth.SinceInjectS, f.GroundTruth.Event)
	}
	return f
}

func TestRunTerminateInstances(t *testing.T) {
	t.Parallel()
	r := runCLI(t, context.Background(), "run", "testdata/terminate.yaml", "-q")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	f := checkRecovery(t, r, "kill")
	if len(f.Resources) != 1 || !strings.HasPrefix(f.Resources[0], "i-") {
		t.Errorf("targets %v", f.Resources)
	}
	var terminated bool
	for _, e := range r.events {
		if e.Kind == "instance-state" && e.Resource == f.Resources[0] && e.To == sim.StateTerminated {
			terminated = true
		}
	}
	if !terminated {
		t.Errorf("sandbox never terminated %s", f.Resources[0])
	}
	if !strings.Contains(r.stdout, "PASS") || !strings.Contains(r.stdout, "time_to_recover") {
		t.Errorf("table lacks verdict or gates:\n%s", r.stdout)
	}
}

func TestRunDBFailover(t *testing.T) {
	t.Parallel()
	r := runCLI(t, context.Background(), "run", "testdata/failover.yaml", "-q")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	checkRecovery(t, r, "failover")
	var moved bool
	for _, e := range r.events {
		if e.Kind == "db-writer" && e.From != e.To {
			moved = true
		}
	}
	if !moved {
		t.Error("the writer never moved AZ")
	}
}

func TestRunAZBlackholeRestoresACLs(t *testing.T) {
	t.Parallel()
	r := runCLI(t, context.Background(), "run", "testdata/blackhole.yaml", "-q")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	checkRecovery(t, r, "outage")
	if n := r.aclsRestored(t); n != 2 {
		t.Errorf("want the AZ's 2 subnets moved and restored, saw %d", n)
	}
	var deleted bool
	for _, e := range r.events {
		if e.Kind == "acl" && e.To == "deleted" {
			deleted = true
		}
	}
	if !deleted {
		t.Error("the deny-all clone ACL was not deleted")
	}
}

func TestStopConditionAbortsAndRollsBack(t *testing.T) {
	t.Parallel()
	r := runCLI(t, context.Background(), "run", "testdata/abort.yaml", "-q")
	if r.code != 3 {
		t.Fatalf("want exit 3 (aborted), got %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r.rec.Status != "aborted" || !strings.Contains(r.rec.Message, "success_ratio < 0.95") {
		t.Errorf("status %q message %q", r.rec.Status, r.rec.Message)
	}
	f := r.fault(t, "outage")
	if !f.RolledBack {
		t.Error("fault not rolled back after abort")
	}
	// Aborted well before the 15s hold ended.
	if f.RolledBackAtS-f.InjectedAtS > 12 {
		t.Errorf("rollback came %.1fs after injection: the abort did not cut the hold short", f.RolledBackAtS-f.InjectedAtS)
	}
	if n := r.aclsRestored(t); n != 1 {
		t.Errorf("want 1 private subnet moved and restored, saw %d", n)
	}
}

func TestFailingGateExitsOne(t *testing.T) {
	t.Parallel()
	r := runCLI(t, context.Background(), "run", "testdata/gate-fails.yaml", "-q")
	if r.code != 1 {
		t.Fatalf("want exit 1, got %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var failed bool
	for _, g := range r.rec.Gates {
		if g.Gate == "failed_requests <= 0" && !g.Pass && g.Value > 0 {
			failed = true
		}
	}
	if !failed || !strings.Contains(r.stdout, "FAIL") {
		t.Errorf("gate verdicts %+v", r.rec.Gates)
	}
}

func TestInterruptRollsBack(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(8*time.Second, cancel) // mid-blackhole (injected at 5s, held 7s)
	r := runCLI(t, ctx, "run", "testdata/blackhole.yaml", "-q")
	if r.code != 130 {
		t.Fatalf("want exit 130, got %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if f := r.fault(t, "outage"); !f.RolledBack || f.RolledBackAtS > 10 {
		t.Errorf("rolled back=%v at %.1fs", f.RolledBack, f.RolledBackAtS)
	}
	if n := r.aclsRestored(t); n != 2 {
		t.Errorf("want 2 subnets restored, saw %d", n)
	}
}

func TestBadInputExitsTwoAndInjectsNothing(t *testing.T) {
	for _, tc := range []struct {
		file, want string
	}{
		{"testdata/invalid.yaml", "testdata/invalid.yaml: faults[0].targets.cuont: unknown key"},
		{"testdata/missing-target.yaml", "target.auto_scaling_group"},
		{"testdata/no-such-file.yaml", "no-such-file.yaml"},
	} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			r := runCLI(t, context.Background(), "run", tc.file, "-q")
			if r.code != 2 {
				t.Fatalf("want exit 2, got %d\n%s", r.code, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, r.stderr)
			}
			if m := r.mutatingCalls(); len(m) > 0 {
				t.Errorf("bad input still changed the sandbox: %v", m)
			}
		})
	}
}

func TestPlanChangesNothing(t *testing.T) {
	r := runCLI(t, context.Background(), "plan", "../../experiments/gameday.yaml")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"lose-an-instance", "terminate i-", "database-failover", "az-outage", "blackhole local-1b"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("plan lacks %q:\n%s", want, r.stdout)
		}
	}
	var calls int
	for _, e := range r.events {
		if e.Kind == "api-call" {
			calls++
		}
	}
	if calls == 0 {
		t.Fatal("plan made no API calls at all: the check below would be vacuous")
	}
	if m := r.mutatingCalls(); len(m) > 0 {
		t.Errorf("plan made mutating calls: %v", m)
	}
}

// TestPlanPrintsTheTimeline: plan prints each fault's start and end as the
// scheduler will run them, the faults held together, and the verify period.
func TestPlanPrintsTheTimeline(t *testing.T) {
	path := guardExperiment(t, "load: {rate: 10, duration: 30s}\nfaults:\n  - {name: a, kind: az-blackhole, at: 6s, duration: 5s, targets: {az: local-1a}}\n  - {name: b, kind: az-blackhole, at: 6s, duration: 5s, targets: {az: local-1b}}\n  - {name: shrink, kind: terminate-instances, at: 8s}\n")
	r := runCLI(t, context.Background(), "plan", path)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"fault       a 6s → 11s (held 5s): blackhole local-1a", "fault       shrink at 8s: terminate",
		"overlap     a and b are held together from 6s to 11s", "overlap     shrink at 8s falls inside a's hold (6s → 11s)",
		"verify      20s → 30s: every fault is rolled back at 20s"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("plan lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestValidateReadyMade(t *testing.T) {
	files, _ := filepath.Glob("../../experiments/*.yaml")
	r := runCLI(t, context.Background(), append([]string{"validate"}, files...)...)
	if r.code != 0 || strings.Count(r.stdout, ": ok") != len(files) {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, context.Background(), "validate", "testdata/invalid.yaml")
	if r.code != 2 || !strings.Contains(r.stderr, "faults[0].targets.cuont") {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
}

func TestReportRerendersSavedRun(t *testing.T) {
	t.Parallel()
	r := runCLI(t, context.Background(), "run", "testdata/terminate.yaml", "-q", "--set", "load.duration=8s",
		"--set", "steady_state.verify=1s")
	if r.rec == nil {
		t.Fatalf("no record; exit %d\n%s", r.code, r.stderr)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "run.json")
	if err := record.Write(path, r.rec); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"report", path}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "Phases") || !strings.Contains(out.String(), "t-terminate") {
		t.Errorf("re-rendered table:\n%s", out.String())
	}
}
