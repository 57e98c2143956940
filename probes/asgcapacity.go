package probes

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/experiments"
)

// KindASGCapacity compares the Auto Scaling group's in-service instances
// with its desired capacity.
const KindASGCapacity = "asg-capacity"

func init() {
	Register(Kind{
		Name:  KindASGCapacity,
		Order: 3,
		Doc: "the Auto Scaling group's in-service, healthy instances and its desired capacity (" + SeriesInService + ", " + SeriesDesired +
			"), with its size limits and, when it has one, its target-tracking policy's target on ALBRequestCountPerTarget in requests per second (" +
			SeriesMinSize + ", " + SeriesMaxSize + ", " + SeriesPolicyTarget + ", for the scaling analysis); healthy when in service >= desired",
		Healthy: (*asgProbe)(nil).Healthy,
		New: func(env Env, b base, _ experiments.Probe) (Probe, error) {
			if err := env.needAWS(b.name, KindASGCapacity); err != nil {
				return nil, err
			}
			if err := need(b.name, KindASGCapacity, "an Auto Scaling group", env.Topology.GroupName != ""); err != nil {
				return nil, err
			}
			minute := env.MetricMinute
			if minute <= 0 {
				minute = time.Minute
			}
			return &asgProbe{base: b, c: env.Clients, group: env.Topology.GroupName, minute: minute}, nil
		},
	})
}

// Healthy: in_service >= desired.
func (*asgProbe) Healthy(last, _ map[string]float64) bool {
	in, ok1 := last[SeriesInService]
	want, ok2 := last[SeriesDesired]
	return ok1 && ok2 && in >= want
}

// Series of the asg-capacity probe beside in_service and desired, read by
// the scaling analysis.
const (
	SeriesMinSize = "min_size"
	SeriesMaxSize = "max_size"
	// SeriesPolicyTarget is the target value of the group's target-tracking
	// policy on ALBRequestCountPerTarget, per second (AWS states it per
	// CloudWatch minute: the value / 60 on AWS, / the sandbox's scaled
	// minute there; see probes.Env.MetricMinute).
	SeriesPolicyTarget = "policy_target"
)

// asgProbe compares the group's in-service, healthy instances with its
// desired capacity.
type asgProbe struct {
	base
	c     *awsclients.Clients
	group string
	// minute is how long a CloudWatch minute lasts (Env.MetricMinute).
	minute time.Duration

	policyOnce sync.Once
	policy     float64 // requests per second per target; 0: none found
}

// policyTarget reads the group's policies once per run: a target-tracking
// policy on ALBRequestCountPerTarget gives the analysis its target. A
// region that does not answer DescribePolicies (or denies it) leaves it
// unknown; the experiment's scaling.policy_target can state it.
func (p *asgProbe) policyTarget(ctx context.Context) float64 {
	p.policyOnce.Do(func() {
		out, err := p.c.ASG.DescribePolicies(ctx, &autoscaling.DescribePoliciesInput{AutoScalingGroupName: aws.String(p.group)})
		if err != nil {
			return
		}
		for _, pol := range out.ScalingPolicies {
			tt := pol.TargetTrackingConfiguration
			if tt == nil || tt.PredefinedMetricSpecification == nil || tt.TargetValue == nil {
				continue
			}
			if tt.PredefinedMetricSpecification.PredefinedMetricType == "ALBRequestCountPerTarget" {
				p.policy = *tt.TargetValue / p.minute.Seconds()
			}
		}
	})
	return p.policy
}

func (p *asgProbe) Sample(ctx context.Context) ([]Sample, error) {
	cctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	out, err := p.c.ASG.DescribeAutoScalingGroups(cctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{p.group}})
	if err != nil {
		return nil, ctxErr(ctx, p.name, fmt.Errorf("describe auto scaling groups: %w", err))
	}
	for _, g := range out.AutoScalingGroups {
		if aws.ToString(g.AutoScalingGroupName) != p.group {
			continue
		}
		in := 0
		for _, i := range g.Instances {
			if i.LifecycleState == "InService" && aws.ToString(i.HealthStatus) == "Healthy" {
				in++
			}
		}
		out := []Sample{
			{SeriesInService, float64(in)},
			{SeriesDesired, float64(aws.ToInt32(g.DesiredCapacity))},
			{SeriesMinSize, float64(aws.ToInt32(g.MinSize))},
			{SeriesMaxSize, float64(aws.ToInt32(g.MaxSize))},
		}
		if t := p.policyTarget(cctx); t > 0 {
			out = append(out, Sample{SeriesPolicyTarget, t})
		}
		return out, nil
	}
	return nil, fmt.Errorf("probe %s: auto scaling group %s not found", p.name, p.group)
}
