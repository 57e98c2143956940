package sandbox

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/gameday-dev/gameday/internal/testutil"
)

type asgProbe struct {
	t    *testing.T
	ctx  context.Context
	as   *autoscaling.Client
	name string
}

func (p asgProbe) group() astypes.AutoScalingGroup {
	p.t.Helper()
	out, err := p.as.DescribeAutoScalingGroups(p.ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{p.name}})
	if err != nil || len(out.AutoScalingGroups) != 1 {
		p.t.Fatalf("describe group: %v", err)
	}
	return out.AutoScalingGroups[0]
}

// members returns the group's instance ids in a lifecycle state.
func (p asgProbe) members(state astypes.LifecycleState) []string {
	var ids []string
	for _, i := range p.group().Instances {
		if i.LifecycleState == state {
			ids = append(ids, aws.ToString(i.InstanceId))
		}
	}
	return ids
}

func (p asgProbe) eventuallyInService(n int, what string) {
	p.t.Helper()
	testutil.Eventually(p.t, 10*time.Second, what, func() bool {
		g := p.group()
		return len(p.members(astypes.LifecycleStateInService)) == n && aws.ToInt32(g.DesiredCapacity) == int32(n)
	})
}

// TestUpdateAutoScalingGroup: min/max/desired take effect (the group grows
// and shrinks to match) and invalid sizes are AWS's ValidationErrors.
func TestUpdateAutoScalingGroup(t *testing.T) {
	s, cfg := startSandbox(t, testConfig())
	ctx := ctxT(t)
	p := asgProbe{t, ctx, autoscaling.NewFromConfig(cfg), s.Summary().AutoScalingGroup}
	g := p.group()
	start := int(aws.ToInt32(g.DesiredCapacity))

	_, err := p.as.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String(p.name), MinSize: aws.Int32(1), MaxSize: aws.Int32(int32(start + 2)), DesiredCapacity: aws.Int32(int32(start + 1))})
	if err != nil {
		t.Fatal(err)
	}
	p.eventuallyInService(start+1, "the group grows to the new desired capacity")
	g = p.group()
	if aws.ToInt32(g.MinSize) != 1 || aws.ToInt32(g.MaxSize) != int32(start+2) {
		t.Fatalf("sizes min %d max %d", aws.ToInt32(g.MinSize), aws.ToInt32(g.MaxSize))
	}
	// A new MaxSize below desired pulls desired down with it.
	if _, err := p.as.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String(p.name), MaxSize: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	p.eventuallyInService(2, "the group shrinks to the new max")

	for _, in := range []*autoscaling.UpdateAutoScalingGroupInput{
		{AutoScalingGroupName: aws.String(p.name), MinSize: aws.Int32(3), MaxSize: aws.Int32(2)},
		{AutoScalingGroupName: aws.String(p.name), DesiredCapacity: aws.Int32(5)},
		{AutoScalingGroupName: aws.String(p.name), HealthCheckType: aws.String("PING")},
		{AutoScalingGroupName: aws.String(p.name), VPCZoneIdentifier: aws.String("subnet-1")},
		{AutoScalingGroupName: aws.String("nope"), DesiredCapacity: aws.Int32(1)},
	} {
		_, err := p.as.UpdateAutoScalingGroup(ctx, in)
		wantAPIError(t, err, "ValidationError", 400)
	}
	if g := p.group(); aws.ToInt32(g.DesiredCapacity) != 2 || aws.ToInt32(g.MaxSize) != 2 || aws.ToString(g.HealthCheckType) == "PING" {
		t.Fatalf("a refused update changed the group: %+v", g)
	}
	if _, err := p.as.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String(p.name), HealthCheckType: aws.String("EC2"), HealthCheckGracePeriod: aws.Int32(30)}); err != nil {
		t.Fatal(err)
	}
	if g := p.group(); aws.ToString(g.HealthCheckType) != "EC2" || aws.ToInt32(g.HealthCheckGracePeriod) != 30 {
		t.Fatalf("health check settings: %s %d", aws.ToString(g.HealthCheckType), aws.ToInt32(g.HealthCheckGracePeriod))
	}

	// DescribeAutoScalingInstances pages through every member.
	var seen []string
	for pg := autoscaling.NewDescribeAutoScalingInstancesPaginator(p.as, &autoscaling.DescribeAutoScalingInstancesInput{MaxRecords: aws.Int32(1)}); pg.HasMorePages(); {
		page, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range page.AutoScalingInstances {
			if aws.ToString(i.AutoScalingGroupName) != p.name || aws.ToString(i.HealthStatus) != "HEALTHY" {
				t.Errorf("instance %+v", i)
			}
			seen = append(seen, aws.ToString(i.InstanceId))
		}
	}
	if len(seen) != len(p.group().Instances) {
		t.Errorf("paged %d instances, group has %d", len(seen), len(p.group().Instances))
	}
}

// TestSetInstanceHealthReplaces: a member marked Unhealthy is terminated
// and replaced by the group.
func TestSetInstanceHealthReplaces(t *testing.T) {
	s, cfg := startSandbox(t, testConfig())
	ctx := ctxT(t)
	p := asgProbe{t, ctx, autoscaling.NewFromConfig(cfg), s.Summary().AutoScalingGroup}
	before := p.members(astypes.LifecycleStateInService)
	victim := before[0]
	if _, err := p.as.SetInstanceHealth(ctx, &autoscaling.SetInstanceHealthInput{InstanceId: aws.String(victim), HealthStatus: aws.String("Unhealthy"), ShouldRespectGracePeriod: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	c := ec2.NewFromConfig(cfg)
	testutil.Eventually(t, 10*time.Second, "victim terminated and replaced", func() bool {
		d, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{victim}})
		if err != nil || d.Reservations[0].Instances[0].State.Name != "terminated" {
			return false
		}
		now := p.members(astypes.LifecycleStateInService)
		return len(now) == len(before) && !slices.Contains(now, victim)
	})
	acts, err := p.as.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String(p.name)})
	if err != nil {
		t.Fatal(err)
	}
	var cause bool
	for _, a := range acts.Activities {
		cause = cause || (aws.ToString(a.Description) == "Terminating EC2 instance: "+victim && strings.Contains(aws.ToString(a.Cause), "in response to a user health-check"))
	}
	if !cause {
		t.Errorf("no termination activity with AWS's user health-check cause")
	}
	_, err = p.as.SetInstanceHealth(ctx, &autoscaling.SetInstanceHealthInput{InstanceId: aws.String("i-00000000000000000"), HealthStatus: aws.String("Unhealthy")})
	wantAPIError(t, err, "ValidationError", 400)
	_, err = p.as.SetInstanceHealth(ctx, &autoscaling.SetInstanceHealthInput{InstanceId: aws.String(before[1]), HealthStatus: aws.String("Sick")})
	wantAPIError(t, err, "ValidationError", 400)
}

// TestStandbyAndDetach: a member in standby leaves the target group and the
// capacity (replaced, or desired shrinks), comes back on ExitStandby; a
// detached member keeps running outside the group.
func TestStandbyAndDetach(t *testing.T) {
	s, cfg := startSandbox(t, testConfig())
	ctx := ctxT(t)
	sum := s.Summary()
	p := asgProbe{t, ctx, autoscaling.NewFromConfig(cfg), sum.AutoScalingGroup}
	e := elb.NewFromConfig(cfg)
	tgs, err := e.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	tg := tgs.TargetGroups[0].TargetGroupArn
	targetState := func(id string) elbtypes.TargetHealthStateEnum {
		th, err := e.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: tg})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range th.TargetHealthDescriptions {
			if aws.ToString(d.Target.Id) == id {
				return d.TargetHealth.State
			}
		}
		return "absent"
	}
	in := p.members(astypes.LifecycleStateInService)
	n := len(in)
	if _, err := p.as.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String(p.name), MinSize: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}

	// Standby without decrement: the group launches a replacement.
	a := in[0]
	out, err := p.as.EnterStandby(ctx, &autoscaling.EnterStandbyInput{AutoScalingGroupName: aws.String(p.name), InstanceIds: []string{a}, ShouldDecrementDesiredCapacity: aws.Bool(false)})
	if err != nil || len(out.Activities) != 1 || aws.ToString(out.Activities[0].Description) != "Moving EC2 instance to Standby: "+a {
		t.Fatalf("EnterStandby: %+v %v", out, err)
	}
	if got := p.members(astypes.LifecycleStateStandby); !slices.Equal(got, []string{a}) {
		t.Fatalf("standby members %v", got)
	}
	testutil.Eventually(t, 10*time.Second, "standby target drained", func() bool {
		st := targetState(a)
		return st == "absent" || st == elbtypes.TargetHealthStateEnumDraining
	})
	p.eventuallyInService(n, "a replacement for the standby member")

	// ExitStandby: desired grows by one and the member is back in service.
	if _, err := p.as.ExitStandby(ctx, &autoscaling.ExitStandbyInput{AutoScalingGroupName: aws.String(p.name), InstanceIds: []string{a}}); err != nil {
		t.Fatal(err)
	}
	p.eventuallyInService(n+1, "the member back in service")
	testutil.Eventually(t, 10*time.Second, "target of the returned member healthy", func() bool { return targetState(a) == elbtypes.TargetHealthStateEnumHealthy })
	_, err = p.as.ExitStandby(ctx, &autoscaling.ExitStandbyInput{AutoScalingGroupName: aws.String(p.name), InstanceIds: []string{a}})
	wantAPIError(t, err, "ValidationError", 400)

	// Standby with decrement: desired shrinks, nothing is launched.
	if _, err := p.as.EnterStandby(ctx, &autoscaling.EnterStandbyInput{AutoScalingGroupName: aws.String(p.name), InstanceIds: []string{a}, ShouldDecrementDesiredCapacity: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	p.eventuallyInService(n, "desired shrinks with the standby")

	// Detach with decrement: the instance keeps running outside the group.
	b := p.members(astypes.LifecycleStateInService)[0]
	if _, err := p.as.DetachInstances(ctx, &autoscaling.DetachInstancesInput{AutoScalingGroupName: aws.String(p.name), InstanceIds: []string{b}, ShouldDecrementDesiredCapacity: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	p.eventuallyInService(n-1, "desired shrinks with the detach")
	for _, i := range p.group().Instances {
		if aws.ToString(i.InstanceId) == b {
			t.Fatalf("detached %s still in the group", b)
		}
	}
	d, err := ec2.NewFromConfig(cfg).DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{b}})
	if err != nil || d.Reservations[0].Instances[0].State.Name != "running" {
		t.Fatalf("detached instance: %v", err)
	}
	testutil.Eventually(t, 10*time.Second, "detached target deregistered", func() bool {
		st := targetState(b)
		return st == "absent" || st == elbtypes.TargetHealthStateEnumDraining
	})
	_, err = p.as.DetachInstances(ctx, &autoscaling.DetachInstancesInput{AutoScalingGroupName: aws.String(p.name), InstanceIds: []string{b}, ShouldDecrementDesiredCapacity: aws.Bool(true)})
	wantAPIError(t, err, "ValidationError", 400)

	hooks, err := p.as.DescribeLifecycleHooks(ctx, &autoscaling.DescribeLifecycleHooksInput{AutoScalingGroupName: aws.String(p.name)})
	if err != nil || len(hooks.LifecycleHooks) != 0 {
		t.Fatalf("lifecycle hooks: %+v %v", hooks, err)
	}
	_, err = p.as.DescribeLifecycleHooks(ctx, &autoscaling.DescribeLifecycleHooksInput{AutoScalingGroupName: aws.String("nope")})
	wantAPIError(t, err, "ValidationError", 400)
	tags, err := p.as.DescribeTags(ctx, &autoscaling.DescribeTagsInput{Filters: []astypes.Filter{{Name: aws.String("auto-scaling-group"), Values: []string{p.name}}, {Name: aws.String("key"), Values: []string{"Name"}}}})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "gameday-web" {
		t.Fatalf("tags: %+v %v", tags, err)
	}
}

// TestStandbyMemberTerminatedLeavesGroup: a standby member terminated
// through EC2 leaves the group instead of staying Standby forever.
func TestStandbyMemberTerminatedLeavesGroup(t *testing.T) {
	s, cfg := startSandbox(t, testConfig())
	ctx := ctxT(t)
	p := asgProbe{t, ctx, autoscaling.NewFromConfig(cfg), s.Summary().AutoScalingGroup}
	a := p.members(astypes.LifecycleStateInService)[0]
	if _, err := p.as.EnterStandby(ctx, &autoscaling.EnterStandbyInput{AutoScalingGroupName: aws.String(p.name), InstanceIds: []string{a}, ShouldDecrementDesiredCapacity: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ec2.NewFromConfig(cfg).TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{a}}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "terminated standby member leaves the group", func() bool {
		for _, i := range p.group().Instances {
			if aws.ToString(i.InstanceId) == a {
				return false
			}
		}
		return true
	})
}
