package sandbox

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/gameday-dev/gameday/internal/testutil"
)

// quiet is how long a test watches for something a suspended process must
// not do: many group passes (QuickTimings checks every 100 ms).
const quiet = 1500 * time.Millisecond

type asgView struct {
	t    *testing.T
	c    *autoscaling.Client
	name string
}

func (v asgView) group() astypes.AutoScalingGroup {
	v.t.Helper()
	out, err := v.c.DescribeAutoScalingGroups(ctxT(v.t), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{v.name}})
	if err != nil || len(out.AutoScalingGroups) != 1 {
		v.t.Fatalf("describe group: %v", err)
	}
	return out.AutoScalingGroups[0]
}

// live counts members not terminating.
func (v asgView) live() int {
	n := 0
	for _, in := range v.group().Instances {
		if !strings.HasPrefix(string(in.LifecycleState), "Terminat") {
			n++
		}
	}
	return n
}

func (v asgView) suspended() map[string]string {
	m := map[string]string{}
	for _, p := range v.group().SuspendedProcesses {
		m[aws.ToString(p.ProcessName)] = aws.ToString(p.SuspensionReason)
	}
	return m
}

func (v asgView) suspend(procs ...string) {
	v.t.Helper()
	if _, err := v.c.SuspendProcesses(ctxT(v.t), &autoscaling.SuspendProcessesInput{AutoScalingGroupName: aws.String(v.name), ScalingProcesses: procs}); err != nil {
		v.t.Fatalf("SuspendProcesses %v: %v", procs, err)
	}
}

func (v asgView) resume(procs ...string) {
	v.t.Helper()
	if _, err := v.c.ResumeProcesses(ctxT(v.t), &autoscaling.ResumeProcessesInput{AutoScalingGroupName: aws.String(v.name), ScalingProcesses: procs}); err != nil {
		v.t.Fatalf("ResumeProcesses %v: %v", procs, err)
	}
}

func (v asgView) setDesired(n int32) {
	v.t.Helper()
	if _, err := v.c.SetDesiredCapacity(ctxT(v.t), &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String(v.name), DesiredCapacity: aws.Int32(n)}); err != nil {
		v.t.Fatalf("SetDesiredCapacity %d: %v", n, err)
	}
}

func TestScalingProcessesAPI(t *testing.T) {
	s, cfg := startSandbox(t, testConfig())
	ctx := ctxT(t)
	v := asgView{t, autoscaling.NewFromConfig(cfg), s.Summary().AutoScalingGroup}

	types, err := v.c.DescribeScalingProcessTypes(ctx, &autoscaling.DescribeScalingProcessTypesInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range types.Processes {
		names = append(names, aws.ToString(p.ProcessName))
	}
	want := []string{"AZRebalance", "AddToLoadBalancer", "AlarmNotification", "HealthCheck", "InstanceRefresh", "Launch", "ReplaceUnhealthy", "ScheduledActions", "Terminate"}
	if !slices.Equal(names, want) {
		t.Fatalf("DescribeScalingProcessTypes = %v, want %v", names, want)
	}

	if got := v.group().SuspendedProcesses; len(got) != 0 {
		t.Fatalf("a new group has suspended processes %+v", got)
	}
	before := time.Now().UTC().Truncate(time.Second)
	v.suspend("AZRebalance", "AlarmNotification")
	sus := v.suspended()
	if len(sus) != 2 {
		t.Fatalf("suspended %v, want AZRebalance and AlarmNotification", sus)
	}
	for p, why := range sus {
		at, err := time.Parse("2006-01-02T15:04:05Z", strings.TrimPrefix(why, "User suspended at "))
		if !strings.HasPrefix(why, "User suspended at ") || err != nil || at.Before(before) {
			t.Fatalf("%s: SuspensionReason %q, want \"User suspended at <now>\"", p, why)
		}
	}
	// Resuming one that is not suspended is not an error; nothing named
	// means every process.
	v.resume("Launch", "AZRebalance")
	if sus := v.suspended(); len(sus) != 1 || sus["AlarmNotification"] == "" {
		t.Fatalf("after resuming AZRebalance: %v", sus)
	}
	v.suspend()
	if sus := v.suspended(); len(sus) != 9 {
		t.Fatalf("SuspendProcesses without names suspended %d processes, want all 9: %v", len(sus), sus)
	}
	v.resume()
	if sus := v.suspended(); len(sus) != 0 {
		t.Fatalf("ResumeProcesses without names left %v", sus)
	}

	_, err = v.c.SuspendProcesses(ctx, &autoscaling.SuspendProcessesInput{AutoScalingGroupName: aws.String(v.name), ScalingProcesses: []string{"Launch", "Reboot"}})
	wantAPIError(t, err, "ValidationError", 400)
	if sus := v.suspended(); len(sus) != 0 {
		t.Fatalf("a refused SuspendProcesses suspended %v", sus)
	}
	_, err = v.c.ResumeProcesses(ctx, &autoscaling.ResumeProcessesInput{AutoScalingGroupName: aws.String("no-such-group")})
	wantAPIError(t, err, "ValidationError", 400)
}

// The group honours Launch and Terminate: no scale-out or scale-in while
// suspended, and it catches up once they resume.
func TestScalingProcessesLaunchTerminate(t *testing.T) {
	s, cfg := startSandbox(t, testConfig())
	v := asgView{t, autoscaling.NewFromConfig(cfg), s.Summary().AutoScalingGroup}

	v.suspend("Launch")
	v.setDesired(4)
	time.Sleep(quiet)
	if n := v.live(); n != 3 {
		t.Fatalf("Launch suspended: %d members, want the 3 it had", n)
	}
	if !s.Region().ProcessSuspended(v.name, "Launch") || s.Region().ProcessSuspended(v.name, "Terminate") || s.Region().ProcessSuspended("other", "Launch") {
		t.Fatal("ProcessSuspended disagrees with SuspendProcesses")
	}
	v.resume("Launch")
	testutil.Eventually(t, 5*time.Second, "the launch held back, once Launch resumed", func() bool { return v.live() == 4 })

	v.suspend("Terminate")
	v.setDesired(3)
	time.Sleep(quiet)
	if n := v.live(); n != 4 {
		t.Fatalf("Terminate suspended: %d members, want 4", n)
	}
	v.resume("Terminate")
	testutil.Eventually(t, 5*time.Second, "the scale-in held back, once Terminate resumed", func() bool { return v.live() == 3 })
}

// HealthCheck and ReplaceUnhealthy: a member whose instance is gone stays
// Healthy while HealthCheck is suspended, is marked Unhealthy but kept
// while only ReplaceUnhealthy is, and is replaced once it resumes.
func TestScalingProcessesHealth(t *testing.T) {
	s, cfg := startSandbox(t, testConfig())
	ctx := ctxT(t)
	v := asgView{t, autoscaling.NewFromConfig(cfg), s.Summary().AutoScalingGroup}
	victim := aws.ToString(v.group().Instances[0].InstanceId)
	member := func() (astypes.Instance, bool) {
		for _, in := range v.group().Instances {
			if aws.ToString(in.InstanceId) == victim {
				return in, true
			}
		}
		return astypes.Instance{}, false
	}

	v.suspend("HealthCheck", "ReplaceUnhealthy")
	if _, err := ec2.NewFromConfig(cfg).StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{victim}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(quiet)
	if m, ok := member(); !ok || aws.ToString(m.HealthStatus) != "Healthy" || m.LifecycleState != astypes.LifecycleStateInService {
		t.Fatalf("HealthCheck suspended: member %+v (present %v), want it InService and Healthy", m, ok)
	}
	v.resume("HealthCheck")
	testutil.Eventually(t, 5*time.Second, "the stopped member marked Unhealthy", func() bool {
		m, ok := member()
		return ok && aws.ToString(m.HealthStatus) == "Unhealthy"
	})
	time.Sleep(quiet)
	if m, ok := member(); !ok || m.LifecycleState != astypes.LifecycleStateInService {
		t.Fatalf("ReplaceUnhealthy suspended: member %+v (present %v), want it kept InService", m, ok)
	}
	v.resume("ReplaceUnhealthy")
	testutil.Eventually(t, 5*time.Second, "the unhealthy member replaced", func() bool {
		m, ok := member()
		return (!ok || m.LifecycleState != astypes.LifecycleStateInService) && v.live() == 3
	})
}

// AddToLoadBalancer: a member launched while it is suspended comes into
// service without a target, and is not added when it resumes (as AWS).
func TestScalingProcessesAddToLoadBalancer(t *testing.T) {
	s, cfg := startSandbox(t, testConfig())
	ctx := ctxT(t)
	sum := s.Summary()
	v := asgView{t, autoscaling.NewFromConfig(cfg), sum.AutoScalingGroup}
	lb := elb.NewFromConfig(cfg)
	targets := func() []string {
		out, err := lb.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(sum.TargetGroupARN)})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, d := range out.TargetHealthDescriptions {
			ids = append(ids, aws.ToString(d.Target.Id))
		}
		return ids
	}
	v.suspend("AddToLoadBalancer")
	v.setDesired(4)
	var fresh string
	testutil.Eventually(t, 5*time.Second, "a fourth member InService", func() bool {
		n := 0
		for _, in := range v.group().Instances {
			if in.LifecycleState == astypes.LifecycleStateInService {
				n++
				if !slices.Contains(sum.Instances, aws.ToString(in.InstanceId)) {
					fresh = aws.ToString(in.InstanceId)
				}
			}
		}
		return n == 4 && fresh != ""
	})
	if slices.Contains(targets(), fresh) {
		t.Fatalf("AddToLoadBalancer suspended, yet %s was registered: %v", fresh, targets())
	}
	v.resume("AddToLoadBalancer")
	time.Sleep(quiet)
	if got := targets(); slices.Contains(got, fresh) || len(got) != 3 {
		t.Fatalf("after resume: targets %v; want the 3 old ones only (AWS does not add instances launched while suspended)", got)
	}
}

// AZRebalance: a group left unbalanced (launches refused in local-1a while
// it replaced its member there) moves a member back once local-1a takes
// launches again: launch there first, then terminate in the fullest AZ;
// not while AZRebalance is suspended.
func TestScalingProcessesAZRebalance(t *testing.T) {
	s, cfg := startSandbox(t, testConfig())
	ctx := ctxT(t)
	v := asgView{t, autoscaling.NewFromConfig(cfg), s.Summary().AutoScalingGroup}
	perAZ := func() (map[string]int, int) {
		m, all := map[string]int{}, 0
		for _, in := range v.group().Instances {
			all++
			if in.LifecycleState == astypes.LifecycleStateInService {
				m[aws.ToString(in.AvailabilityZone)]++
			}
		}
		return m, all
	}
	lf, err := s.Region().AddLaunchFailure("", v.name, []string{"local-1a"}, time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	var victim string
	for _, in := range v.group().Instances {
		if aws.ToString(in.AvailabilityZone) == "local-1a" {
			victim = aws.ToString(in.InstanceId)
		}
	}
	if _, err := ec2.NewFromConfig(cfg).TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{victim}}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "the replacement outside local-1a", func() bool {
		m, all := perAZ()
		return m["local-1a"] == 0 && m["local-1b"]+m["local-1c"] == 3 && all == 3
	})
	v.suspend("AZRebalance")
	s.Region().RemoveLaunchFailure(lf.ID)
	time.Sleep(quiet)
	if m, all := perAZ(); m["local-1a"] != 0 || all != 3 {
		t.Fatalf("AZRebalance suspended, yet the group moved: %v (%d members)", m, all)
	}
	v.resume("AZRebalance")
	testutil.Eventually(t, 10*time.Second, "one member per AZ again", func() bool {
		m, all := perAZ()
		return m["local-1a"] == 1 && m["local-1b"] == 1 && m["local-1c"] == 1 && all == 3
	})
	acts, err := v.c.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String(v.name)})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range acts.Activities {
		found = found || strings.Contains(aws.ToString(a.Cause), "to aid in balancing the group's zones")
	}
	if !found {
		t.Fatal("no activity says it was launched to balance the zones")
	}
	if d := aws.ToInt32(v.group().DesiredCapacity); d != 3 {
		t.Fatalf("desired %d after rebalancing, want 3", d)
	}
}

// TestConformanceScalingProcesses: boto3 (testdata/conformance/
// asgprocesses.py) and the AWS CLI see the processes and refused launches
// in AWS's shapes.
func TestConformanceScalingProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("conformance suite: not in -short")
	}
	for _, p := range []string{debianPython3, debianAWS} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("conformance suite: %s absent (scripts/test-deps.sh installs python3-boto3 and awscli)", p)
		}
	}
	s, env := conformanceSandbox(t)
	dir, err := filepath.Abs("testdata/conformance")
	if err != nil {
		t.Fatal(err)
	}
	out, errOut, err := run(t, env, dir, debianPython3, "asgprocesses.py")
	t.Logf("asgprocesses.py:\n%s", out)
	if err != nil {
		t.Fatalf("asgprocesses.py: %v\n%s", err, errOut)
	}
	group := s.Summary().AutoScalingGroup
	cli := func(args ...string) string {
		t.Helper()
		out, errOut, err := run(t, env, t.TempDir(), debianAWS, append([]string{"--endpoint-url", s.Endpoint(), "--output", "json"}, args...)...)
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, errOut)
		}
		return out
	}
	cli("autoscaling", "suspend-processes", "--auto-scaling-group-name", group, "--scaling-processes", "AlarmNotification", "AZRebalance")
	got := cli("autoscaling", "describe-auto-scaling-groups", "--auto-scaling-group-names", group, "--query", "AutoScalingGroups[0].SuspendedProcesses[].ProcessName")
	if strings.Join(strings.Fields(got), "") != `["AZRebalance","AlarmNotification"]` {
		t.Fatalf("aws autoscaling suspend-processes, then describe: %s", got)
	}
	cli("autoscaling", "resume-processes", "--auto-scaling-group-name", group, "--scaling-processes", "AZRebalance")
	if !s.Region().ProcessSuspended(group, "AlarmNotification") || s.Region().ProcessSuspended(group, "AZRebalance") {
		t.Fatal("aws autoscaling resume-processes did not resume exactly AZRebalance")
	}
}

// InstanceRefresh: a refresh started while the process is suspended
// replaces nothing until it resumes, then completes.
func TestScalingProcessesInstanceRefresh(t *testing.T) {
	s, cfg := startSandbox(t, testConfig())
	ctx := ctxT(t)
	v := asgView{t, autoscaling.NewFromConfig(cfg), s.Summary().AutoScalingGroup}
	before := map[string]bool{}
	for _, in := range v.group().Instances {
		before[aws.ToString(in.InstanceId)] = true
	}
	v.suspend("InstanceRefresh")
	if _, err := v.c.StartInstanceRefresh(ctx, &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String(v.name)}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(quiet)
	for _, in := range v.group().Instances {
		if !before[aws.ToString(in.InstanceId)] || in.LifecycleState != astypes.LifecycleStateInService {
			t.Fatalf("InstanceRefresh suspended, yet the refresh replaced: %+v", in)
		}
	}
	v.resume("InstanceRefresh")
	testutil.Eventually(t, 10*time.Second, "the refresh to complete once resumed", func() bool {
		out, err := v.c.DescribeInstanceRefreshes(ctx, &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String(v.name)})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.InstanceRefreshes) > 0 && out.InstanceRefreshes[0].Status == astypes.InstanceRefreshStatusSuccessful
	})
}
