package probes

import (
	"context"
	"fmt"

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
		Name:    KindASGCapacity,
		Order:   3,
		Doc:     "the Auto Scaling group's in-service, healthy instances and its desired capacity (" + SeriesInService + ", " + SeriesDesired + "); healthy when in service >= desired",
		Healthy: (*asgProbe)(nil).Healthy,
		New: func(env Env, b base, _ experiments.Probe) (Probe, error) {
			if err := env.needAWS(b.name, KindASGCapacity); err != nil {
				return nil, err
			}
			if err := need(b.name, KindASGCapacity, "an Auto Scaling group", env.Topology.GroupName != ""); err != nil {
				return nil, err
			}
			return &asgProbe{base: b, c: env.Clients, group: env.Topology.GroupName}, nil
		},
	})
}

// Healthy: in_service >= desired.
func (*asgProbe) Healthy(last, _ map[string]float64) bool {
	in, ok1 := last[SeriesInService]
	want, ok2 := last[SeriesDesired]
	return ok1 && ok2 && in >= want
}

// asgProbe compares the group's in-service, healthy instances with its
// desired capacity.
type asgProbe struct {
	base
	c     *awsclients.Clients
	group string
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
		return []Sample{
			{SeriesInService, float64(in)},
			{SeriesDesired, float64(aws.ToInt32(g.DesiredCapacity))},
		}, nil
	}
	return nil, fmt.Errorf("probe %s: auto scaling group %s not found", p.name, p.group)
}
