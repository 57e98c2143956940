package sandbox

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/gameday-dev/gameday/internal/testutil"
)

// TestTargetGroupSettingsTakeEffect: ModifyTargetGroup's path, matcher,
// thresholds and interval and the deregistration_delay attribute change
// what the health checker and draining do; RegisterTargets and
// DeregisterTargets add and drain targets.
func TestTargetGroupSettingsTakeEffect(t *testing.T) {
	s, cfg := startSandbox(t, testConfig())
	ctx := ctxT(t)
	sum := s.Summary()
	// EC2 health checks: the group must not replace the members this test
	// makes unhealthy on purpose.
	if _, err := autoscaling.NewFromConfig(cfg).UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String(sum.AutoScalingGroup), HealthCheckType: aws.String("EC2")}); err != nil {
		t.Fatal(err)
	}
	e := elb.NewFromConfig(cfg)
	tgs, err := e.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	tg := tgs.TargetGroups[0].TargetGroupArn
	health := func() map[string]elbtypes.TargetHealth {
		th, err := e.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: tg})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]elbtypes.TargetHealth{}
		for _, d := range th.TargetHealthDescriptions {
			out[aws.ToString(d.Target.Id)] = *d.TargetHealth
		}
		return out
	}
	all := func(state elbtypes.TargetHealthStateEnum, reason elbtypes.TargetHealthReasonEnum) func() bool {
		return func() bool {
			h := health()
			for _, x := range h {
				if x.State != state || (reason != "" && x.Reason != reason) {
					return false
				}
			}
			return len(h) == len(sum.Instances)
		}
	}
	modify := func(in *elb.ModifyTargetGroupInput) {
		t.Helper()
		in.TargetGroupArn = tg
		if _, err := e.ModifyTargetGroup(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, 5*time.Second, "targets healthy", all(elbtypes.TargetHealthStateEnumHealthy, ""))

	// Path and matcher: a path the app answers 404 fails every target...
	modify(&elb.ModifyTargetGroupInput{HealthCheckPath: aws.String("/nope")})
	testutil.Eventually(t, 5*time.Second, "targets unhealthy on a 404 path", all(elbtypes.TargetHealthStateEnumUnhealthy, elbtypes.TargetHealthReasonEnumResponseCodeMismatch))
	// ...until the matcher accepts 404.
	modify(&elb.ModifyTargetGroupInput{Matcher: &elbtypes.Matcher{HttpCode: aws.String("200-404")}})
	testutil.Eventually(t, 5*time.Second, "targets healthy once the matcher accepts 404", all(elbtypes.TargetHealthStateEnumHealthy, ""))
	modify(&elb.ModifyTargetGroupInput{HealthCheckPath: aws.String("/health"), Matcher: &elbtypes.Matcher{HttpCode: aws.String("200")}})
	got, err := e.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{aws.ToString(tg)}})
	if err != nil || aws.ToString(got.TargetGroups[0].HealthCheckPath) != "/health" || aws.ToString(got.TargetGroups[0].Matcher.HttpCode) != "200" {
		t.Fatalf("described settings: %+v %v", got, err)
	}

	// Deregistration delay 0: a deregistered target is gone at once.
	setDelay := func(v string) {
		t.Helper()
		if _, err := e.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: tg, Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String(v)}}}); err != nil {
			t.Fatal(err)
		}
	}
	setDelay("0")
	a, b := sum.Instances[0], sum.Instances[1]
	target := func(id string) []elbtypes.TargetDescription {
		return []elbtypes.TargetDescription{{Id: aws.String(id)}}
	}
	if _, err := e.DeregisterTargets(ctx, &elb.DeregisterTargetsInput{TargetGroupArn: tg, Targets: target(a)}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "target removed without draining", func() bool { _, ok := health()[a]; return !ok })

	// Healthy threshold 10: a registered target stays initial for ten
	// checks (the sandbox checks every 200 ms; two would do by default).
	modify(&elb.ModifyTargetGroupInput{HealthyThresholdCount: aws.Int32(10)})
	if _, err := e.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: tg, Targets: target(a)}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if st := health()[a].State; st != elbtypes.TargetHealthStateEnumInitial {
		t.Fatalf("target after 1 s with healthy threshold 10: %s, want initial", st)
	}
	testutil.Eventually(t, 10*time.Second, "registered target healthy after ten checks", func() bool { return health()[a].State == elbtypes.TargetHealthStateEnumHealthy })

	// Deregistration delay 60: the target keeps draining.
	setDelay("60")
	if _, err := e.DeregisterTargets(ctx, &elb.DeregisterTargetsInput{TargetGroupArn: tg, Targets: target(b)}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if st := health()[b].State; st != elbtypes.TargetHealthStateEnumDraining {
		t.Fatalf("target 1 s into a 60 s deregistration delay: %s, want draining", st)
	}
	attrs, err := e.DescribeTargetGroupAttributes(ctx, &elb.DescribeTargetGroupAttributesInput{TargetGroupArn: tg})
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range attrs.Attributes {
		if aws.ToString(at.Key) == "deregistration_delay.timeout_seconds" && aws.ToString(at.Value) != "60" {
			t.Errorf("deregistration delay %s, want 60", aws.ToString(at.Value))
		}
	}

	// Interval 10 s: a target whose health endpoint breaks stays healthy
	// for a while (the sandbox's own interval is 200 ms).
	modify(&elb.ModifyTargetGroupInput{HealthCheckIntervalSeconds: aws.Int32(10), HealthCheckTimeoutSeconds: aws.Int32(5), HealthyThresholdCount: aws.Int32(2)})
	c := sum.Instances[2]
	if err := s.Region().SetInstanceHealth(c, false); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if st := health()[c].State; st != elbtypes.TargetHealthStateEnumHealthy {
		t.Fatalf("target 1.5 s after its health broke with a 10 s interval: %s, want still healthy", st)
	}

	// AWS's validation.
	for _, in := range []*elb.ModifyTargetGroupInput{
		{TargetGroupArn: tg, HealthCheckIntervalSeconds: aws.Int32(3)},
		{TargetGroupArn: tg, HealthCheckTimeoutSeconds: aws.Int32(10)},
		{TargetGroupArn: tg, UnhealthyThresholdCount: aws.Int32(1)},
		{TargetGroupArn: tg, Matcher: &elbtypes.Matcher{HttpCode: aws.String("600")}},
	} {
		_, err := e.ModifyTargetGroup(ctx, in)
		wantAPIError(t, err, "ValidationError", 400)
	}
	_, err = e.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: tg, Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("no.such.key"), Value: aws.String("1")}}})
	wantAPIError(t, err, "ValidationError", 400)
	_, err = e.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: tg, Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("4000")}}})
	wantAPIError(t, err, "ValidationError", 400)
	_, err = e.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: tg, Targets: target("i-00000000000000000")})
	wantAPIError(t, err, "InvalidTarget", 400)
	if _, err := ec2.NewFromConfig(cfg).TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{b}}); err != nil {
		t.Fatal(err)
	}
	_, err = e.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: tg, Targets: target(b)})
	wantAPIError(t, err, "InvalidTarget", 400)
	_, err = e.ModifyTargetGroup(ctx, &elb.ModifyTargetGroupInput{TargetGroupArn: aws.String(aws.ToString(tg) + "0"), HealthyThresholdCount: aws.Int32(3)})
	wantAPIError(t, err, "TargetGroupNotFound", 400)
}
