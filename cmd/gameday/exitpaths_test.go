package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/faults"
	"github.com/gameday-dev/gameday/internal/testutil"
	"github.com/gameday-dev/gameday/sandbox"
)

// These tests run the real gameday binary as a child process against a
// `gameday sandbox` in another child process, so that killing the run
// (SIGKILL, SIGINT, SIGTERM) leaves the sandbox's state behind exactly as a
// crash would leave an AWS account's, and `gameday rollback` must restore
// it from the journal. Everything binds and dials 127.0.0.1 only.

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

func gamedayBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gameday-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "gameday")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// extSandbox is a `gameday sandbox` child process.
type extSandbox struct {
	endpoint string
	c        *awsclients.Clients
}

var endpointRE = regexp.MustCompile(`AWS endpoint\s+(http://127\.0\.0\.1:\d+)`)

func startSandbox(t *testing.T, args ...string) *extSandbox {
	t.Helper()
	cmd := exec.Command(gamedayBinary(t), append([]string{"sandbox"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := endpointRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	var ep string
	select {
	case ep = <-found:
	case <-time.After(20 * time.Second):
		t.Fatal("gameday sandbox did not print its endpoint")
	}
	rm, err := sandbox.Attach(context.Background(), ep)
	if err != nil {
		t.Fatal(err)
	}
	return &extSandbox{endpoint: ep, c: awsclients.New(rm.AWSConfig())}
}

// state is what a rollback must restore: every subnet's ACL, the set of
// ACLs, the group's desired capacity, the database's status, and the
// instances left stopped or stopping.
type state struct {
	Assoc   map[string]string
	ACLs    []string
	Desired int32
	DB      string
	Stopped []string
	Launch  string // armed launch failures (GET /_sandbox/launch-failures)
}

func (s *extSandbox) state(t *testing.T) state {
	t.Helper()
	ctx := context.Background()
	st := state{Assoc: map[string]string{}}
	acls, err := s.c.EC2.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range acls.NetworkAcls {
		st.ACLs = append(st.ACLs, aws.ToString(a.NetworkAclId))
		for _, as := range a.Associations {
			st.Assoc[aws.ToString(as.SubnetId)] = aws.ToString(a.NetworkAclId)
		}
	}
	sort.Strings(st.ACLs)
	g, err := s.c.ASG.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
	if err != nil || len(g.AutoScalingGroups) != 1 {
		t.Fatalf("describe groups: %v", err)
	}
	st.Desired = aws.ToInt32(g.AutoScalingGroups[0].DesiredCapacity)
	db, err := s.c.RDS.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{})
	if err != nil || len(db.DBInstances) == 0 {
		t.Fatalf("describe DB instances: %v", err)
	}
	st.DB = aws.ToString(db.DBInstances[0].DBInstanceStatus)
	in, err := s.c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{{Name: aws.String("instance-state-name"), Values: []string{"stopping", "stopped"}}}})
	if err != nil {
		t.Fatalf("describe instances: %v", err)
	}
	for _, r := range in.Reservations {
		for _, i := range r.Instances {
			st.Stopped = append(st.Stopped, aws.ToString(i.InstanceId))
		}
	}
	sort.Strings(st.Stopped)
	resp, err := http.Get(s.endpoint + "/_sandbox/launch-failures")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	st.Launch = strings.TrimSpace(buf.String())
	return st
}

// healthyTargets counts the target group's healthy targets.
func (s *extSandbox) healthyTargets(t *testing.T) int {
	t.Helper()
	ctx := context.Background()
	tgs, err := s.c.ELB.DescribeTargetGroups(ctx, &elasticloadbalancingv2.DescribeTargetGroupsInput{})
	if err != nil || len(tgs.TargetGroups) == 0 {
		t.Fatalf("describe target groups: %v", err)
	}
	th, err := s.c.ELB.DescribeTargetHealth(ctx, &elasticloadbalancingv2.DescribeTargetHealthInput{TargetGroupArn: tgs.TargetGroups[0].TargetGroupArn})
	if err != nil {
		t.Fatalf("describe target health: %v", err)
	}
	n := 0
	for _, d := range th.TargetHealthDescriptions {
		if d.TargetHealth != nil && d.TargetHealth.State == "healthy" {
			n++
		}
	}
	return n
}

func (s state) String() string {
	return fmt.Sprintf("acls=%v assoc=%v desired=%d db=%s stopped=%v launch-failures=%s", s.ACLs, s.Assoc, s.Desired, s.DB, s.Stopped, s.Launch)
}

func (s state) equal(o state) bool { return s.String() == o.String() }

func (s *extSandbox) armAPIFault(t *testing.T, json string) {
	t.Helper()
	resp, err := http.Post(s.endpoint+"/_sandbox/api-faults", "application/json", strings.NewReader(json))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("arm API fault: %s", resp.Status)
	}
}

func (s *extSandbox) clearAPIFaults(t *testing.T) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, s.endpoint+"/_sandbox/api-faults", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// faultYAML is one fault of each kind, applied 4 s into a 40 s load so that
// a test can act on the process while the fault is held.
var faultYAML = map[string]string{
	faults.KindAZBlackhole: `
  - name: outage
    kind: az-blackhole
    at: 4s
    duration: 30s
    targets: {az: local-1b}
    subnets: all`,
	faults.KindTerminateInstances: `
  - name: lose-two
    kind: terminate-instances
    via: autoscaling
    decrement: true
    at: 4s
    targets: {count: 2, seed: 3}`,
	faults.KindDBFailover: `
  - name: failover
    kind: db-failover
    at: 4s`,
	// Forced, so the stop hurts enough for the stop condition; held
	// past the point the test acts (the group's EC2 health check, 20 s
	// on the fast profile, finds it later than the test's rollback).
	faults.KindStopInstances: `
  - name: stop-one
    kind: stop-instances
    force: true
    at: 4s
    duration: 30s
    targets: {count: 2, seed: 3}`,
	faults.KindRebootInstances: `
  - name: reboot-one
    kind: reboot-instances
    at: 4s
    targets: {count: 1, seed: 3}`,
	faults.KindRebootDB: `
  - name: reboot-db
    kind: reboot-db
    at: 4s`,
	faults.KindAZPowerInterruption: `
  - name: power
    kind: az-power-interruption
    at: 4s
    duration: 30s
    targets: {az: local-1a}`,
}

// noLasting are the kinds whose fault leaves nothing for a rollback to
// undo (the database or the instance comes back by itself).
var noLasting = map[string]bool{faults.KindDBFailover: true, faults.KindRebootInstances: true, faults.KindRebootDB: true}

func writeExperiment(t *testing.T, dir, endpoint, kind, stop string) string {
	t.Helper()
	fy := faultYAML[kind]
	if stop != "" && kind == faults.KindTerminateInstances {
		// An Auto Scaling termination deregisters the instance first, so
		// users barely notice; a plain EC2 termination hurts until health
		// checks catch up, which is what a stop condition is for.
		fy = strings.Replace(fy, "via: autoscaling\n    decrement: true", "via: ec2", 1)
	}
	y := fmt.Sprintf(`name: exit-path-%s
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
guards:
  max_instance_share: 0.7
faults:%s
`, kind, endpoint, fy)
	if stop != "" {
		y += "stop_conditions: [" + fmt.Sprintf("%q", stop) + "]\n"
	}
	p := filepath.Join(dir, "exp.yaml")
	if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type child struct {
	cmd            *exec.Cmd
	stdout, stderr lockedBuffer
	done           chan struct{}
	code           int
}

// lockedBuffer is a bytes.Buffer the child's output goroutine writes while
// the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (c *child) stderrText() string { return c.stderr.String() }

func startRun(t *testing.T, exp, out string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(gamedayBinary(t), "run", exp, "--out", out, "-q"), done: make(chan struct{})}
	c.cmd.Stdout, c.cmd.Stderr = &c.stdout, &c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = c.cmd.Wait()
		c.code = c.cmd.ProcessState.ExitCode()
		if ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			c.code = -int(ws.Signal())
		}
		close(c.done)
	}()
	t.Cleanup(func() {
		_ = c.cmd.Process.Kill()
		<-c.done
	})
	return c
}

func (c *child) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-c.done:
		return c.code
	case <-time.After(d):
		t.Fatalf("gameday run did not exit within %s\nstderr:\n%s", d, c.stderr.String())
		return 0
	}
}

func journalHas(path, state, fault string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	return bytes.Contains(b, []byte(`"fault":"`+fault+`"`)) && bytes.Contains(b, []byte(`"state":"`+state+`"`))
}

func rollbackCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(gamedayBinary(t), append([]string{"rollback"}, args...)...)
	out, _ := cmd.CombinedOutput()
	return cmd.ProcessState.ExitCode(), string(out)
}

var faultName = map[string]string{faults.KindAZBlackhole: "outage", faults.KindTerminateInstances: "lose-two", faults.KindDBFailover: "failover",
	faults.KindStopInstances: "stop-one", faults.KindRebootInstances: "reboot-one", faults.KindRebootDB: "reboot-db", faults.KindAZPowerInterruption: "power"}

// TestExitPaths: for each fault kind, every way a run can end leaves the
// sandbox exactly as it was before the run (after `gameday rollback` where
// the process could not roll back itself).
func TestExitPaths(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes for about a minute")
	}
	for _, kind := range []string{faults.KindAZBlackhole, faults.KindTerminateInstances, faults.KindDBFailover,
		faults.KindStopInstances, faults.KindRebootInstances, faults.KindRebootDB, faults.KindAZPowerInterruption} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			var args []string
			if kind == faults.KindTerminateInstances {
				// A decrementing terminate needs room below desired capacity.
				cfg := filepath.Join(t.TempDir(), "sandbox.yaml")
				if err := os.WriteFile(cfg, []byte("region:\n  group: {min: 1, desired: 3, max: 6}\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				args = []string{"--config", cfg}
			}
			sb := startSandbox(t, args...)
			settle := func(before state) {
				// The group replaces terminated instances and the database
				// finishes its failover on its own; wait for that so the next
				// path starts from a steady sandbox.
				testutil.Eventually(t, 30*time.Second, "database available", func() bool { return sb.state(t).DB == "available" })
				if kind == faults.KindRebootInstances {
					// A reboot ends by itself, and the group (ELB health
					// checks) may replace the rebooting member a few
					// seconds in: let that play out (fast profile: 3 s
					// reboot, unhealthy after 2 s), then wait for every
					// target to be healthy before the next path.
					time.Sleep(4 * time.Second)
				}
				if kind == faults.KindRebootInstances || kind == faults.KindStopInstances || kind == faults.KindAZPowerInterruption {
					// Instances started again (or replacements) must serve
					// before the next path stops or reboots them.
					testutil.Eventually(t, 30*time.Second, "every target healthy", func() bool { return sb.healthyTargets(t) == int(before.Desired) })
				}
				if kind == faults.KindTerminateInstances || kind == faults.KindRebootInstances || kind == faults.KindStopInstances || kind == faults.KindAZPowerInterruption {
					testutil.Eventually(t, 30*time.Second, "group back in service", func() bool {
						g, err := sb.c.ASG.DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{})
						if err != nil {
							return false
						}
						n := 0
						for _, in := range g.AutoScalingGroups[0].Instances {
							if in.LifecycleState == "InService" {
								n++
							}
						}
						if kind == faults.KindAZPowerInterruption && len(g.AutoScalingGroups[0].Instances) != n {
							return false // instances started again are scaled in first
						}
						return n == int(before.Desired)
					})
				}
			}
			before := sb.state(t)
			name := faultName[kind]

			t.Run("SIGKILL then gameday rollback", func(t *testing.T) {
				dir := t.TempDir()
				jr := filepath.Join(dir, "journal.jsonl")
				c := startRun(t, writeExperiment(t, dir, sb.endpoint, kind, ""), dir)
				testutil.Eventually(t, 30*time.Second, "the fault to be applied", func() bool { return journalHas(jr, "applied", name) })
				if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				if code := c.wait(t, 10*time.Second); code != -int(syscall.SIGKILL) {
					t.Fatalf("exit %d, want killed", code)
				}
				left := sb.state(t)
				if !noLasting[kind] && left.equal(before) {
					t.Fatalf("the killed run left nothing to undo; the test proves nothing\n%s", left)
				}
				code, out := rollbackCLI(t, "--journal", jr)
				if code != 0 {
					t.Fatalf("gameday rollback exit %d\n%s", code, out)
				}
				if after := sb.state(t); !after.equal(before) {
					t.Fatalf("after gameday rollback:\n got %s\nwant %s\n%s", after, before, out)
				}
				// Idempotent: nothing is left, and a second rollback says so.
				code, out2 := rollbackCLI(t, "--journal", jr)
				if code != 0 || !strings.Contains(out2, "nothing pending") {
					t.Fatalf("second gameday rollback: exit %d\n%s", code, out2)
				}
				t.Logf("rollback:\n%s", out)
				settle(before)
			})

			for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
				t.Run(sig.String(), func(t *testing.T) {
					dir := t.TempDir()
					jr := filepath.Join(dir, "journal.jsonl")
					c := startRun(t, writeExperiment(t, dir, sb.endpoint, kind, ""), dir)
					testutil.Eventually(t, 30*time.Second, "the fault to be applied", func() bool { return journalHas(jr, "applied", name) })
					if err := c.cmd.Process.Signal(sig); err != nil {
						t.Fatal(err)
					}
					if code := c.wait(t, 60*time.Second); code != 130 {
						t.Fatalf("exit %d, want 130\nstderr:\n%s", code, c.stderr.String())
					}
					if after := sb.state(t); !after.equal(before) && !noLasting[kind] {
						t.Fatalf("after %s:\n got %s\nwant %s", sig, after, before)
					}
					if p, err := faults.ReadPending(jr); err != nil || len(p) != 0 {
						t.Fatalf("journal still has %d pending entries (%v)", len(p), err)
					}
					settle(before)
					if after := sb.state(t); !after.equal(before) {
						t.Fatalf("after %s:\n got %s\nwant %s", sig, after, before)
					}
				})
			}

			t.Run("stop condition", func(t *testing.T) {
				dir := t.TempDir()
				c := startRun(t, writeExperiment(t, dir, sb.endpoint, kind, "success_ratio < 0.9 for 1s"), dir)
				if code := c.wait(t, 60*time.Second); code != 3 {
					t.Fatalf("exit %d, want 3 (aborted by a stop condition)\nstdout:\n%s\nstderr:\n%s", code, c.stdout.String(), c.stderr.String())
				}
				if p, err := faults.ReadPending(filepath.Join(dir, "journal.jsonl")); err != nil || len(p) != 0 {
					t.Fatalf("journal still has %d pending entries (%v)", len(p), err)
				}
				settle(before)
				if after := sb.state(t); !after.equal(before) {
					t.Fatalf("after a stop-condition abort:\n got %s\nwant %s", after, before)
				}
			})

			if kind == faults.KindAZBlackhole {
				t.Run("second SIGINT during a slow rollback", func(t *testing.T) {
					// The rollback's ReplaceNetworkAclAssociation calls are
					// throttled (the apply's two pass), so it is still retrying
					// when the second signal comes: the process exits 4 at once,
					// names the journal, and `gameday rollback` finishes the job.
					sb.armAPIFault(t, `{"service":"ec2","action":"ReplaceNetworkAclAssociation","after":2,"count":1000}`)
					dir := t.TempDir()
					jr := filepath.Join(dir, "journal.jsonl")
					c := startRun(t, writeExperiment(t, dir, sb.endpoint, kind, ""), dir)
					testutil.Eventually(t, 30*time.Second, "the fault to be applied", func() bool { return journalHas(jr, "applied", name) })
					_ = c.cmd.Process.Signal(syscall.SIGINT)
					testutil.Eventually(t, 10*time.Second, "the rollback to start", func() bool {
						return strings.Contains(c.stderrText(), "stopping and rolling back")
					})
					time.Sleep(500 * time.Millisecond)
					_ = c.cmd.Process.Signal(syscall.SIGINT)
					if code := c.wait(t, 10*time.Second); code != 4 {
						t.Fatalf("exit %d, want 4\nstderr:\n%s", code, c.stderrText())
					}
					if want := "gameday rollback --journal " + jr; !strings.Contains(c.stderrText(), want) {
						t.Fatalf("the exit message does not say %q:\n%s", want, c.stderrText())
					}
					if left := sb.state(t); left.equal(before) {
						t.Fatal("nothing was left behind; the test proves nothing")
					}
					sb.clearAPIFaults(t)
					if code, out := rollbackCLI(t, "--journal", jr); code != 0 {
						t.Fatalf("gameday rollback: exit %d\n%s", code, out)
					}
					if after := sb.state(t); !after.equal(before) {
						t.Fatalf("after gameday rollback:\n got %s\nwant %s", after, before)
					}
				})

				t.Run("journal lost, original ACL deleted, then --sweep", func(t *testing.T) {
					sweepAfterCrash(t, sb, before)
				})
			}

			t.Run("AWS error mid-apply", func(t *testing.T) {
				// The fault's second mutating call fails (the first succeeds),
				// so something is applied and must be undone; db-failover has
				// one call, so it fails before changing anything.
				arm := map[string]string{
					faults.KindAZBlackhole:        `{"service":"ec2","action":"ReplaceNetworkAclAssociation","after":1,"count":1,"code":"UnauthorizedOperation","status":403}`,
					faults.KindTerminateInstances: `{"service":"autoscaling","action":"TerminateInstanceInAutoScalingGroup","after":1,"count":1,"code":"AccessDenied","status":403}`,
					faults.KindDBFailover:         `{"service":"rds","action":"RebootDBInstance","count":1,"code":"InvalidDBInstanceState","status":400}`,
					faults.KindStopInstances:      `{"service":"ec2","action":"StopInstances","count":1,"code":"UnauthorizedOperation","status":403}`,
					faults.KindRebootInstances:    `{"service":"ec2","action":"RebootInstances","count":1,"code":"UnauthorizedOperation","status":403}`,
					faults.KindRebootDB:           `{"service":"rds","action":"RebootDBInstance","count":1,"code":"InvalidDBInstanceState","status":400}`,
					// The instances are stopped and the launch failures not yet
					// armed when the blackhole's second subnet move fails.
					faults.KindAZPowerInterruption: `{"service":"ec2","action":"ReplaceNetworkAclAssociation","after":1,"count":1,"code":"UnauthorizedOperation","status":403}`,
				}[kind]
				sb.armAPIFault(t, arm)
				defer sb.clearAPIFaults(t)
				dir := t.TempDir()
				c := startRun(t, writeExperiment(t, dir, sb.endpoint, kind, ""), dir)
				if code := c.wait(t, 60*time.Second); code != 5 {
					t.Fatalf("exit %d, want 5 (AWS error)\nstdout:\n%s\nstderr:\n%s", code, c.stdout.String(), c.stderr.String())
				}
				if !strings.Contains(c.stderr.String(), "apply") {
					t.Fatalf("the error does not say what failed:\n%s", c.stderr.String())
				}
				if p, err := faults.ReadPending(filepath.Join(dir, "journal.jsonl")); err != nil || len(p) != 0 {
					t.Fatalf("journal still has %d pending entries (%v)", len(p), err)
				}
				settle(before)
				if after := sb.state(t); !after.equal(before) {
					t.Fatalf("after a mid-apply error:\n got %s\nwant %s", after, before)
				}
			})
		})
	}
}

// sweepAfterCrash: the subnets start on a custom ACL; the run is killed
// while they are blackholed; the custom ACL is deleted meanwhile and the
// journal is lost. `gameday rollback --sweep` finds the clone by its tags,
// moves the subnets to the VPC's default ACL (saying so) and deletes it.
func sweepAfterCrash(t *testing.T, sb *extSandbox, before state) {
	ctx := context.Background()
	ec := sb.c.EC2
	subnets, err := ec.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("availability-zone"), Values: []string{"local-1b"}}}})
	if err != nil || len(subnets.Subnets) == 0 {
		t.Fatalf("subnets: %v", err)
	}
	vpc := aws.ToString(subnets.Subnets[0].VpcId)
	custom, err := ec.CreateNetworkAcl(ctx, &ec2.CreateNetworkAclInput{VpcId: aws.String(vpc)})
	if err != nil {
		t.Fatal(err)
	}
	customID := aws.ToString(custom.NetworkAcl.NetworkAclId)
	for _, egress := range []bool{false, true} {
		if _, err := ec.CreateNetworkAclEntry(ctx, &ec2.CreateNetworkAclEntryInput{NetworkAclId: aws.String(customID), RuleNumber: aws.Int32(100),
			Protocol: aws.String("-1"), RuleAction: ec2types.RuleActionAllow, Egress: aws.Bool(egress), CidrBlock: aws.String("0.0.0.0/0")}); err != nil {
			t.Fatal(err)
		}
	}
	move := func(subnet, to string) {
		t.Helper()
		acls, err := ec.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{Filters: []ec2types.Filter{{Name: aws.String("association.subnet-id"), Values: []string{subnet}}}})
		if err != nil || len(acls.NetworkAcls) != 1 {
			t.Fatalf("association of %s: %v", subnet, err)
		}
		for _, as := range acls.NetworkAcls[0].Associations {
			if aws.ToString(as.SubnetId) == subnet {
				if _, err := ec.ReplaceNetworkAclAssociation(ctx, &ec2.ReplaceNetworkAclAssociationInput{AssociationId: as.NetworkAclAssociationId, NetworkAclId: aws.String(to)}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for _, sn := range subnets.Subnets {
		move(aws.ToString(sn.SubnetId), customID)
	}

	dir := t.TempDir()
	jr := filepath.Join(dir, "journal.jsonl")
	exp := writeExperiment(t, dir, sb.endpoint, faults.KindAZBlackhole, "")
	c := startRun(t, exp, dir)
	testutil.Eventually(t, 30*time.Second, "the fault to be applied", func() bool { return journalHas(jr, "applied", "outage") })
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	c.wait(t, 10*time.Second)
	if err := os.Remove(jr); err != nil {
		t.Fatal(err)
	}
	if _, err := ec.DeleteNetworkAcl(ctx, &ec2.DeleteNetworkAclInput{NetworkAclId: aws.String(customID)}); err != nil {
		t.Fatalf("delete the original ACL while it is unused: %v", err)
	}
	if left := sb.state(t); left.equal(before) {
		t.Fatal("the killed run left nothing to sweep")
	}

	code, out := rollbackCLI(t, "--journal", jr, "--sweep", "--target", exp)
	if code != 2 {
		t.Fatalf("a missing --journal file: exit %d, want 2\n%s", code, out)
	}
	code, out = rollbackCLI(t, "--sweep", "--target", exp)
	if code != 0 {
		t.Fatalf("gameday rollback --sweep: exit %d\n%s", code, out)
	}
	for _, want := range []string{"removed acl-", "original network ACL \"" + customID + "\" is gone; moved it to the VPC's default ACL"} {
		if !strings.Contains(out, want) {
			t.Fatalf("sweep output lacks %q:\n%s", want, out)
		}
	}
	if after := sb.state(t); !after.equal(before) {
		t.Fatalf("after the sweep:\n got %s\nwant %s\n%s", after, before, out)
	}
	code, out = rollbackCLI(t, "--sweep", "--target", exp)
	if code != 0 || !strings.Contains(out, "no gameday leftovers") {
		t.Fatalf("second sweep: exit %d\n%s", code, out)
	}
	t.Logf("sweep:\n%s", out)
}
