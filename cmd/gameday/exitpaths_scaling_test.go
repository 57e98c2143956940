package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/gameday-dev/gameday/faults"
	"github.com/gameday-dev/gameday/internal/testutil"
)

// scalingState is what suspend-scaling and launch-failures change: the
// group's suspended processes and the sandbox's armed launch failures.
func (s *extSandbox) scalingState(t *testing.T) string {
	t.Helper()
	g, err := s.c.ASG.DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{})
	if err != nil || len(g.AutoScalingGroups) != 1 {
		t.Fatalf("describe groups: %v", err)
	}
	var ps []string
	for _, p := range g.AutoScalingGroups[0].SuspendedProcesses {
		ps = append(ps, aws.ToString(p.ProcessName))
	}
	return fmt.Sprintf("suspended=%v launch-failures=%s", ps, s.state(t).Launch)
}

// TestExitPathsScalingFaults: a run holding suspend-scaling (over a
// process someone suspended before it) and launch-failures is killed and
// `gameday rollback` restores exactly the state before, the earlier
// suspension included; a SIGINT rolls back in-process. (The stop-condition
// and mid-apply cases of TestExitPaths need a fault that hurts users or
// makes several AWS calls; these make one call, or none, and hurt nobody.)
func TestExitPathsScalingFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	sb := startSandbox(t)
	if _, err := sb.c.ASG.SuspendProcesses(context.Background(), &autoscaling.SuspendProcessesInput{
		AutoScalingGroupName: aws.String("gameday-web"), ScalingProcesses: []string{"AZRebalance"}}); err != nil {
		t.Fatal(err)
	}
	before := sb.scalingState(t)
	write := func(dir string) string {
		y := fmt.Sprintf(`name: exit-path-scaling
target:
  kind: sandbox
  sandbox: {endpoint: %q}
load: {rate: 20, duration: 40s, timeout: 1s, max_workers: 32, max_connections: 32}
steady_state: {window: 1s, thresholds: ["success_ratio >= 0.9"], stable_for: 2, baseline: 3s, verify: 4s}
faults:
  - {name: freeze, kind: suspend-scaling, at: 4s, duration: 30s, processes: [Launch, AlarmNotification, AZRebalance]}
  - {name: no-capacity, kind: launch-failures, at: 4s, duration: 30s, targets: {az: local-1b}, azs: [local-1c]}
`, sb.endpoint)
		p := filepath.Join(dir, "exp.yaml")
		if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}

	t.Run("SIGKILL then gameday rollback", func(t *testing.T) {
		dir := t.TempDir()
		jr := filepath.Join(dir, "journal.jsonl")
		c := startRun(t, write(dir), dir)
		testutil.Eventually(t, 30*time.Second, "both faults applied", func() bool {
			return strings.Count(mustRead(t, jr), `"state":"applied"`) >= 2
		})
		if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		c.wait(t, 10*time.Second)
		left := sb.scalingState(t)
		if !strings.Contains(left, "Launch") || !strings.Contains(left, "local-1b") || !strings.Contains(left, "local-1c") {
			t.Fatalf("the killed run left %s; want Launch suspended and launches failing in local-1b and local-1c", left)
		}
		code, out := rollbackCLI(t, "--journal", jr)
		if code != 0 {
			t.Fatalf("gameday rollback exit %d\n%s", code, out)
		}
		if after := sb.scalingState(t); after != before {
			t.Fatalf("after gameday rollback:\n got %s\nwant %s (AZRebalance, suspended before the run, stays)\n%s", after, before, out)
		}
	})

	t.Run(syscall.SIGINT.String(), func(t *testing.T) {
		dir := t.TempDir()
		jr := filepath.Join(dir, "journal.jsonl")
		c := startRun(t, write(dir), dir)
		testutil.Eventually(t, 30*time.Second, "both faults applied", func() bool {
			return strings.Count(mustRead(t, jr), `"state":"applied"`) >= 2
		})
		if err := c.cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		if code := c.wait(t, 60*time.Second); code != 130 {
			t.Fatalf("exit %d, want 130\nstderr:\n%s", code, c.stderrText())
		}
		if p, err := faults.ReadPending(jr); err != nil || len(p) != 0 {
			t.Fatalf("journal still has %d pending entries (%v)", len(p), err)
		}
		if after := sb.scalingState(t); after != before {
			t.Fatalf("after SIGINT:\n got %s\nwant %s", after, before)
		}
	})
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}
