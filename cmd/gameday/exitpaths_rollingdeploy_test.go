package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

	"github.com/gameday-dev/gameday/faults"
	"github.com/gameday-dev/gameday/internal/testutil"
)

// deployState is what a rolling-deploy rollback must restore: the version
// the group launches from, its members' versions (not their ids: replaced
// instances stay replaced) and whether a refresh is still running.
func (s *extSandbox) deployState(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	g, err := s.c.ASG.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
	if err != nil || len(g.AutoScalingGroups) != 1 {
		t.Fatalf("describe groups: %v", err)
	}
	grp := g.AutoScalingGroups[0]
	var vs []string
	for _, in := range grp.Instances {
		if in.LifecycleState != astypes.LifecycleStateTerminating && in.LaunchTemplate != nil {
			vs = append(vs, aws.ToString(in.LaunchTemplate.Version))
		}
	}
	slices.Sort(vs)
	rs, err := s.c.ASG.DescribeInstanceRefreshes(ctx, &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: grp.AutoScalingGroupName})
	if err != nil {
		t.Fatalf("describe instance refreshes: %v", err)
	}
	running := false
	for _, x := range rs.InstanceRefreshes {
		switch x.Status {
		case astypes.InstanceRefreshStatusPending, astypes.InstanceRefreshStatusInProgress, astypes.InstanceRefreshStatusCancelling,
			astypes.InstanceRefreshStatusRollbackInProgress, astypes.InstanceRefreshStatusBaking:
			running = true
		}
	}
	return fmt.Sprintf("launches v%s, members %s, refresh running %v", aws.ToString(grp.LaunchTemplate.Version), strings.Join(vs, ","), running)
}

func writeDeployExperiment(t *testing.T, dir, endpoint, minHealthy, stop string) string {
	t.Helper()
	y := fmt.Sprintf(`name: exit-path-rolling-deploy
target:
  kind: sandbox
  sandbox: {endpoint: %q}
load:
  rate: 20
  duration: 40s
  timeout: 1s
  max_workers: 32
  max_connections: 32
steady_state:
  window: 1s
  thresholds: ["success_ratio >= 0.9"]
  stable_for: 2
  baseline: 3s
  verify: 4s
faults:
  - name: deploy
    kind: rolling-deploy
    at: 4s
    duration: 30s
    launch_template_version: "2"
    min_healthy_percentage: %s
    instance_warmup: 0s
    poll_interval: 200ms
`, endpoint, minHealthy)
	if stop != "" {
		y += "stop_conditions: [" + fmt.Sprintf("%q", stop) + "]\n"
	}
	if minHealthy == "0" {
		// A batch of the whole group: allowed explicitly.
		y += "guards: {max_instance_share: 1}\n"
	}
	p := filepath.Join(dir, "exp.yaml")
	if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestExitPathsRollingDeploy: a deploy of a bad release (its instances
// never pass their health check, so the refresh stalls and is still running
// when the run ends) leaves the group as it was on every exit path: the
// refresh is rolled back to version 1 by the run, or by `gameday rollback`
// after a SIGKILL.
func TestExitPathsRollingDeploy(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes for about two minutes")
	}
	cfg := filepath.Join(t.TempDir(), "sandbox.yaml")
	if err := os.WriteFile(cfg, []byte("region:\n  app: {release: bad}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sb := startSandbox(t, "--config", cfg)
	before := sb.deployState(t)
	if before != "launches v1, members 1,1,1, refresh running false" {
		t.Fatalf("sandbox starts as %s", before)
	}
	settled := func(t *testing.T, what string) {
		t.Helper()
		testutil.Eventually(t, 60*time.Second, what, func() bool { return sb.deployState(t) == before })
	}

	t.Run("SIGKILL then gameday rollback", func(t *testing.T) {
		dir := t.TempDir()
		jr := filepath.Join(dir, "journal.jsonl")
		c := startRun(t, writeDeployExperiment(t, dir, sb.endpoint, "66", ""), dir)
		testutil.Eventually(t, 30*time.Second, "the deploy to start", func() bool { return journalHas(jr, "applied", "deploy") })
		time.Sleep(time.Second) // the first bad instance launches
		if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if code := c.wait(t, 10*time.Second); code != -int(syscall.SIGKILL) {
			t.Fatalf("exit %d, want killed", code)
		}
		if left := sb.deployState(t); !strings.Contains(left, "refresh running true") {
			t.Fatalf("the killed run left no refresh running; the test proves nothing: %s", left)
		}
		code, out := rollbackCLI(t, "--journal", jr)
		if code != 0 || !strings.Contains(out, "RollbackInstanceRefresh") {
			t.Fatalf("gameday rollback exit %d, want 0 and the rollback named\n%s", code, out)
		}
		if after := sb.deployState(t); after != before {
			t.Fatalf("after gameday rollback: %s, want %s\n%s", after, before, out)
		}
		code, out2 := rollbackCLI(t, "--journal", jr)
		if code != 0 || !strings.Contains(out2, "nothing pending") {
			t.Fatalf("second gameday rollback: exit %d\n%s", code, out2)
		}
	})

	t.Run("SIGINT", func(t *testing.T) {
		dir := t.TempDir()
		jr := filepath.Join(dir, "journal.jsonl")
		c := startRun(t, writeDeployExperiment(t, dir, sb.endpoint, "66", ""), dir)
		testutil.Eventually(t, 30*time.Second, "the deploy to start", func() bool { return journalHas(jr, "applied", "deploy") })
		time.Sleep(time.Second)
		if err := c.cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		if code := c.wait(t, 60*time.Second); code != 130 {
			t.Fatalf("exit %d, want 130\nstderr:\n%s", code, c.stderrText())
		}
		if p, err := faults.ReadPending(jr); err != nil || len(p) != 0 {
			t.Fatalf("journal still has %d pending entries (%v)", len(p), err)
		}
		if after := sb.deployState(t); after != before {
			t.Fatalf("after SIGINT: %s, want %s", after, before)
		}
	})

	t.Run("stop condition", func(t *testing.T) {
		// min healthy 0%: the whole group is replaced in one batch, nothing
		// serves while the new instances boot, and the stop condition ends
		// the run; the deploy is rolled back.
		dir := t.TempDir()
		c := startRun(t, writeDeployExperiment(t, dir, sb.endpoint, "0", "success_ratio < 0.9 for 1s"), dir)
		if code := c.wait(t, 90*time.Second); code != 3 {
			t.Fatalf("exit %d, want 3 (aborted by a stop condition)\nstdout:\n%s\nstderr:\n%s", code, c.stdout.String(), c.stderr.String())
		}
		if p, err := faults.ReadPending(filepath.Join(dir, "journal.jsonl")); err != nil || len(p) != 0 {
			t.Fatalf("journal still has %d pending entries (%v)", len(p), err)
		}
		settled(t, "the group back on version 1 with 3 members")
	})

	t.Run("AWS error mid-apply", func(t *testing.T) {
		// StartInstanceRefresh is the one mutating call: it fails, nothing
		// changed, the run says what failed and exits 5.
		sb.armAPIFault(t, `{"service":"autoscaling","action":"StartInstanceRefresh","count":1,"code":"LimitExceeded","status":400}`)
		defer sb.clearAPIFaults(t)
		dir := t.TempDir()
		c := startRun(t, writeDeployExperiment(t, dir, sb.endpoint, "66", ""), dir)
		if code := c.wait(t, 60*time.Second); code != 5 {
			t.Fatalf("exit %d, want 5 (AWS error)\nstdout:\n%s\nstderr:\n%s", code, c.stdout.String(), c.stderr.String())
		}
		if !strings.Contains(c.stderrText(), "start instance refresh") {
			t.Fatalf("the error does not say what failed:\n%s", c.stderrText())
		}
		if p, err := faults.ReadPending(filepath.Join(dir, "journal.jsonl")); err != nil || len(p) != 0 {
			t.Fatalf("journal still has %d pending entries (%v)", len(p), err)
		}
		if after := sb.deployState(t); after != before {
			t.Fatalf("after a failed apply: %s, want %s", after, before)
		}
	})
}
