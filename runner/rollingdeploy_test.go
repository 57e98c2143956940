package runner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gameday-dev/gameday/faults"
)

// quickSandbox writes a sandbox config with sub-second timings (a refresh of
// 3 instances takes about 2 s) and the given app.release.
func quickSandbox(t *testing.T, release string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "sandbox.yaml")
	y := `region:
  app: {release: ` + release + `}
  timings: {health_check_interval: 200ms, health_check_timeout: 100ms, deregistration_delay: 200ms,
    boot_delay: 300ms, shutdown_delay: 200ms, asg_check_interval: 100ms, grace_period: 500ms}
`
	if err := os.WriteFile(f, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

const deployRun = `name: deploy
target: {kind: sandbox, sandbox: {config: SANDBOX}}
load: {rate: 50, duration: 12s, timeout: 2s}
steady_state: {window: 1s, thresholds: ["success_ratio >= 0.95"], stable_for: 2, baseline: 3s, verify: 2s}
faults:
  - name: deploy
    kind: rolling-deploy
    at: 4s
    duration: 5s
    launch_template_version: "2"
    min_healthy_percentage: 66
    instance_warmup: 0s
    poll_interval: 100ms
gates:
  faults:
    deploy: ["batch_failed_requests == 0", "batch_p99 < 1s"]
`

// A good release: one phase per batch in the record, the batch gates judged
// on them, and nothing to roll back.
func TestRollingDeployRunGoodRelease(t *testing.T) {
	t.Parallel()
	p := prepare(t, strings.ReplaceAll(deployRun, "SANDBOX", quickSandbox(t, "good")))
	rec := p.Run(context.Background(), Options{JournalPath: filepath.Join(t.TempDir(), "journal.jsonl")})
	if len(rec.Faults) != 1 || rec.Faults[0].Kind != faults.KindRollingDeploy || !rec.Faults[0].Injected {
		t.Fatalf("faults %+v", rec.Faults)
	}
	f := rec.Faults[0]
	var steps []string
	for _, s := range f.Steps {
		steps = append(steps, s.Name)
	}
	if len(steps) != 3 || !strings.HasPrefix(steps[0], "batch 1") || !strings.HasPrefix(steps[2], "batch 3") {
		t.Fatalf("steps %q, want three batches", steps)
	}
	n := 0
	for _, ph := range rec.Phases {
		if strings.HasPrefix(ph.Name, "fault: deploy / batch ") {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d batch phases in %q", n, rec.PhaseNames())
	}
	marks := 0
	for i, e := range rec.Events {
		if e.Kind == "step" && e.Name == "deploy" && strings.HasPrefix(e.Detail, "batch ") {
			marks++
		}
		if i > 0 && e.T < rec.Events[i-1].T {
			t.Errorf("events out of order at %d: %+v", i, e)
		}
	}
	if marks != 3 {
		t.Errorf("%d step events, want one per batch: %+v", marks, rec.Events)
	}
	gates := map[string]bool{}
	for _, g := range rec.Gates {
		gates[g.Gate] = g.Pass
	}
	if !gates["batch_failed_requests == 0"] || !gates["batch_p99 < 1s"] || !gates["clean_rollback"] {
		t.Errorf("gates %+v: want the batch gates and clean_rollback to pass", rec.Gates)
	}
	if rec.ExitCode != 0 {
		t.Errorf("exit %d (%s)", rec.ExitCode, rec.Message)
	}
}

// A bad release stalls at 0%: Auto Scaling fails the refresh (its
// replacements keep failing health checks; with these quick timings that
// happens within the fault's 5 s) or, still running when the fault ends, it
// is rolled back. Either way the rollback note says how the deploy ended and
// clean_rollback fails: exit 1.
func TestRollingDeployRunBadReleaseSaysWhy(t *testing.T) {
	t.Parallel()
	p := prepare(t, strings.ReplaceAll(deployRun, "SANDBOX", quickSandbox(t, "bad")))
	rec := p.Run(context.Background(), Options{JournalPath: filepath.Join(t.TempDir(), "journal.jsonl")})
	if len(rec.Faults) != 1 {
		t.Fatalf("faults %+v", rec.Faults)
	}
	f := rec.Faults[0]
	if len(f.RollbackNotes) != 1 || !strings.Contains(f.RollbackNotes[0], "0% complete") ||
		!(strings.Contains(f.RollbackNotes[0], "had not finished") || strings.Contains(f.RollbackNotes[0], "did not succeed: Failed")) {
		t.Fatalf("rollback notes %q: want one saying the deploy stalled at 0%%", f.RollbackNotes)
	}
	if len(f.Steps) == 0 || f.Steps[0].Name != "batch 1 (stopped at 0%)" {
		t.Errorf("steps %+v", f.Steps)
	}
	failed := ""
	for _, g := range rec.Gates {
		if !g.Pass {
			failed += g.Gate + " "
		}
	}
	if rec.ExitCode != ExitGateFailed || !strings.Contains(failed, "clean_rollback") {
		t.Errorf("exit %d, failed gates %q: want 1 and clean_rollback", rec.ExitCode, failed)
	}
}
