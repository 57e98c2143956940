package sandbox

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// The conformance suite drives the sandbox with the clients people use by
// hand: the AWS CLI and boto3 (Debian's awscli 2.9 and python3-boto3 1.26,
// which scripts/test-deps.sh installs). It skips, saying so, only when
// they are absent.

const (
	debianAWS     = "/usr/bin/aws"
	debianPython3 = "/usr/bin/python3"
)

// conformanceSandbox starts a sandbox with some history to page through
// and returns it with the environment the clients need (loopback only).
func conformanceSandbox(t *testing.T) (*Sandbox, []string) {
	t.Helper()
	cfg := testConfig()
	// ECS tasks run the gameday binary (never this test binary).
	cfg.ECS.Executable = gamedayBinary(t)
	cfg.ECS.StepDelay = 50 * time.Millisecond
	cfg.Region.Timings.RebootTime = 10 * time.Millisecond
	// The scripts stop an instance and start it again: the group must not
	// replace it meanwhile (the CLI takes about a second per command).
	cfg.Region.Timings.StoppedHealthCheckDelay = time.Minute
	// A reboot shorter than the target's unhealthy threshold: the group
	// (ELB health checks) would replace a member whose target went
	// unhealthy, as on AWS, and the scripts check it comes back running.
	cfg.Region.Timings.InstanceRebootTime = 100 * time.Millisecond
	s, awsCfg := startSandbox(t, cfg)
	makeHistory(t, s, awsCfg)
	dir := t.TempDir()
	sumFile := filepath.Join(dir, "summary.json")
	b, err := json.Marshal(s.Summary())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sumFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"PATH=/usr/bin:/bin",
		"HOME=" + dir,
		"AWS_ACCESS_KEY_ID=gameday", "AWS_SECRET_ACCESS_KEY=gameday",
		"AWS_DEFAULT_REGION=" + s.Summary().Region,
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=",
		"NO_PROXY=*",
		"PYTHONDONTWRITEBYTECODE=1",
		"GAMEDAY_ENDPOINT=" + s.Endpoint(),
		"GAMEDAY_SUMMARY=" + sumFile,
	}
	return s, env
}

func run(t *testing.T, env []string, dir, name string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env, cmd.Dir = env, dir
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// TestConformanceBoto3 runs one boto3 script per service
// (testdata/conformance/*.py).
func TestConformanceBoto3(t *testing.T) {
	if testing.Short() {
		t.Skip("conformance suite: not in -short")
	}
	if _, err := os.Stat(debianPython3); err != nil {
		t.Skipf("conformance suite: %s absent (scripts/test-deps.sh installs python3-boto3)", debianPython3)
	}
	if err := exec.Command(debianPython3, "-c", "import boto3").Run(); err != nil {
		t.Skipf("conformance suite: boto3 not importable by %s (scripts/test-deps.sh installs python3-boto3)", debianPython3)
	}
	_, env := conformanceSandbox(t)
	dir, err := filepath.Abs("testdata/conformance")
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range []string{"ec2", "autoscaling", "rds", "elbv2", "refusals", "ec2_runbook", "autoscaling_admin", "elbv2_admin", "rds_terraform", "sts", "cloudwatch", "ecs"} {
		t.Run(svc, func(t *testing.T) {
			out, errOut, err := run(t, env, dir, debianPython3, svc+".py")
			t.Logf("%s.py:\n%s", svc, out)
			if err != nil {
				t.Fatalf("%s.py: %v\n%s", svc, err, errOut)
			}
		})
	}
}

// TestConformanceCLI drives the sandbox with the AWS CLI.
func TestConformanceCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("conformance suite: not in -short")
	}
	if _, err := os.Stat(debianAWS); err != nil {
		t.Skipf("conformance suite: %s absent (scripts/test-deps.sh installs awscli)", debianAWS)
	}
	s, env := conformanceSandbox(t)
	sum := s.Summary()
	// The CLI starts a Python interpreter per command (about a second each on
	// a busy machine): the SDK calls between them share a generous deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := ec2.NewFromConfig(s.AWSConfig(ctx))
	aws1 := func(args ...string) (string, string, error) {
		return run(t, env, t.TempDir(), debianAWS, append([]string{"--endpoint-url", s.Endpoint(), "--output", "json"}, args...)...)
	}
	running, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{f("instance-state-name", "running")}})
	if err != nil {
		t.Fatal(err)
	}
	inst := instanceIDs(running)[0]
	state := func() ec2types.InstanceStateName {
		d, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{inst}})
		if err != nil {
			t.Fatal(err)
		}
		return d.Reservations[0].Instances[0].State.Name
	}

	// --dry-run: DryRunOperation, nothing changes.
	aclsBefore, _ := c.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{})
	for _, args := range [][]string{
		{"ec2", "terminate-instances", "--dry-run", "--instance-ids", inst},
		{"ec2", "stop-instances", "--dry-run", "--instance-ids", inst},
		{"ec2", "create-tags", "--dry-run", "--resources", inst, "--tags", "Key=dry,Value=run"},
		{"ec2", "create-network-acl", "--dry-run", "--vpc-id", sum.VPCID},
	} {
		_, errOut, err := aws1(args...)
		if err == nil || !strings.Contains(errOut, "(DryRunOperation)") || !strings.Contains(errOut, "Request would have succeeded, but DryRun flag is set.") {
			t.Errorf("aws %s: err %v, stderr %q; want DryRunOperation", strings.Join(args, " "), err, errOut)
		}
		if st := state(); st != ec2types.InstanceStateNameRunning {
			t.Fatalf("after aws %s: instance %s is %s", strings.Join(args, " "), inst, st)
		}
	}
	aclsAfter, _ := c.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{})
	tagged, _ := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{f("tag:dry", "run")}})
	if len(aclsAfter.NetworkAcls) != len(aclsBefore.NetworkAcls) || len(instanceIDs(tagged)) != 0 {
		t.Errorf("dry runs changed the region: %d ACLs (was %d), tagged %v", len(aclsAfter.NetworkAcls), len(aclsBefore.NetworkAcls), instanceIDs(tagged))
	}

	// --page-size: the CLI pages through everything.
	count := func(args ...string) int {
		t.Helper()
		out, errOut, err := aws1(args...)
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, errOut)
		}
		n, err := strconv.Atoi(strings.TrimSpace(out))
		if err != nil {
			t.Fatalf("aws %s: %q", strings.Join(args, " "), out)
		}
		return n
	}
	acts, err := autoscaling.NewFromConfig(s.AWSConfig(ctx)).DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String(sum.AutoScalingGroup)})
	if err != nil {
		t.Fatal(err)
	}
	if n := count("autoscaling", "describe-scaling-activities", "--auto-scaling-group-name", sum.AutoScalingGroup, "--page-size", "2", "--query", "length(Activities)"); n != len(acts.Activities) {
		t.Errorf("describe-scaling-activities --page-size 2: %d activities, want %d", n, len(acts.Activities))
	}
	all, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if n := count("ec2", "describe-instances", "--page-size", "5", "--query", "length(Reservations)"); n != len(all.Reservations) || n <= 5 {
		t.Errorf("describe-instances --page-size 5: %d reservations, want %d (> 5)", n, len(all.Reservations))
	}
	start := time.Now().Add(-30 * time.Minute).UTC().Format(time.RFC3339)
	if n := count("rds", "describe-events", "--start-time", start, "--page-size", "20", "--query", "length(Events)"); n <= 20 {
		t.Errorf("rds describe-events --page-size 20: %d events, want more than one page", n)
	}

	// Stop, wait for stopped, start, wait for running, reboot: the CLI's
	// waiters see the states the harness does.
	other := instanceIDs(running)[1]
	for _, args := range [][]string{
		{"ec2", "stop-instances", "--instance-ids", other},
		{"ec2", "wait", "instance-stopped", "--instance-ids", other},
		{"ec2", "start-instances", "--instance-ids", other},
		{"ec2", "wait", "instance-running", "--instance-ids", other},
		{"ec2", "reboot-instances", "--instance-ids", other},
	} {
		if _, errOut, err := aws1(args...); err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, errOut)
		}
	}
	if out, errOut, err := aws1("ec2", "describe-instances", "--instance-ids", other, "--query", "Reservations[0].Instances[0].State.Name"); err != nil || strings.TrimSpace(out) != `"running"` {
		t.Errorf("after stop, start and reboot: %s is %s (%v %s), want running", other, out, err, errOut)
	}

	// The listener's port is AWS's.
	if n := count("elbv2", "describe-listeners", "--load-balancer-arn", sum.LoadBalancerARN, "--query", "Listeners[0].Port"); n != 80 {
		t.Errorf("describe-listeners port %d, want 80", n)
	}

	conformanceECSCLI(t, sum, aws1)
}

// conformanceECSCLI: aws ecs register-task-definition, run-task, the
// tasks-stopped waiter, describe-tasks, list-tasks and stop-task against
// tasks that are real gameday processes.
func conformanceECSCLI(t *testing.T, sum Summary, aws1 func(args ...string) (string, string, error)) {
	t.Helper()
	subnet := ""
	for _, sn := range sum.Subnets {
		if !sn.Public {
			subnet = sn.ID
		}
	}
	must := func(args ...string) string {
		t.Helper()
		out, errOut, err := aws1(args...)
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, errOut)
		}
		return strings.TrimSpace(out)
	}
	unquote := func(s string) string { return strings.Trim(s, `"`) }
	// cli-long runs `gameday sandbox` (a nested sandbox), which runs until
	// it is signalled; its environment marks it for pidsWithEnv.
	for fam, cmd := range map[string]string{"cli-version": `["version"]`, "cli-long": `["sandbox"]`} {
		must("ecs", "register-task-definition", "--family", fam, "--network-mode", "awsvpc", "--requires-compatibilities", "FARGATE",
			"--cpu", "256", "--memory", "512", "--container-definitions",
			`[{"name":"worker","image":"gameday:label","command":`+cmd+`,"environment":[{"name":"GAMEDAY_TEST_MARKER","value":"cli-long"}]}]`)
	}
	netCfg := "awsvpcConfiguration={subnets=[" + subnet + "],assignPublicIp=DISABLED}"
	arn := unquote(must("ecs", "run-task", "--cluster", sum.ECSCluster, "--task-definition", "cli-version", "--launch-type", "FARGATE",
		"--network-configuration", netCfg, "--started-by", "aws-cli", "--query", "tasks[0].taskArn"))
	must("ecs", "wait", "tasks-stopped", "--cluster", sum.ECSCluster, "--tasks", arn)
	if got := must("ecs", "describe-tasks", "--cluster", sum.ECSCluster, "--tasks", arn, "--query", "tasks[0].[lastStatus,stopCode,containers[0].exitCode]", "--output", "text"); got != "STOPPED\tEssentialContainerExited\t0" {
		t.Errorf("aws ecs describe-tasks after `gameday version`: %q, want STOPPED EssentialContainerExited 0", got)
	}

	long := unquote(must("ecs", "run-task", "--cluster", sum.ECSCluster, "--task-definition", "cli-long", "--launch-type", "FARGATE",
		"--network-configuration", netCfg, "--started-by", "aws-cli-long", "--query", "tasks[0].taskArn"))
	must("ecs", "wait", "tasks-running", "--cluster", sum.ECSCluster, "--tasks", long)
	if got := must("ecs", "list-tasks", "--cluster", sum.ECSCluster, "--started-by", "aws-cli-long", "--page-size", "1", "--query", "taskArns[0]"); unquote(got) != long {
		t.Errorf("aws ecs list-tasks --started-by: %s, want %s", got, long)
	}
	if got := must("ecs", "stop-task", "--cluster", sum.ECSCluster, "--task", long, "--reason", "cli stop", "--query", "task.[desiredStatus,stopCode]", "--output", "text"); got != "STOPPED\tUserInitiated" {
		t.Errorf("aws ecs stop-task: %q", got)
	}
	must("ecs", "wait", "tasks-stopped", "--cluster", sum.ECSCluster, "--tasks", long)
	if got := must("ecs", "list-tasks", "--cluster", sum.ECSCluster, "--query", "length(taskArns)"); got != "0" {
		t.Errorf("aws ecs list-tasks after the stops: %s tasks running, want 0", got)
	}
	if pids := pidsWithEnv(t, "cli-long"); len(pids) != 0 {
		t.Errorf("aws ecs stop-task left task processes %v", pids)
	}
	_, errOut, err := aws1("ecs", "run-task", "--cluster", "nope", "--task-definition", "cli-version")
	if err == nil || !strings.Contains(errOut, "(ClusterNotFoundException)") {
		t.Errorf("aws ecs run-task --cluster nope: %v %q, want ClusterNotFoundException", err, errOut)
	}
}
