package probes

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/experiments"
)

// KindTargetHealth counts the load balancer's targets by state and AZ.
const KindTargetHealth = "target-health"

func init() {
	Register(Kind{
		Name:    KindTargetHealth,
		Order:   2,
		Doc:     "healthy and unhealthy targets of the load balancer's target group, and healthy targets per AZ (" + SeriesHealthyTargets + ", " + SeriesHealthyTargets + ".<az>, " + SeriesUnhealthyTargets + "); healthy when the total and every AZ are back to their baseline",
		Healthy: (*targetHealthProbe)(nil).Healthy,
		New: func(env Env, b base, _ experiments.Probe) (Probe, error) {
			if err := env.needAWS(b.name, KindTargetHealth); err != nil {
				return nil, err
			}
			if err := need(b.name, KindTargetHealth, "a target group", env.Topology.TargetGroupARN != ""); err != nil {
				return nil, err
			}
			return &targetHealthProbe{base: b, c: env.Clients, arn: env.Topology.TargetGroupARN, azs: env.sortedAZs(), instAZ: map[string]string{}}, nil
		},
	})
}

// Healthy: healthy_targets >= its baseline, and every healthy_targets.<az>
// of the baseline is matched (a missing AZ counts 0).
func (*targetHealthProbe) Healthy(last, baseline map[string]float64) bool {
	total, ok := last[SeriesHealthyTargets]
	if !ok || total < baseline[SeriesHealthyTargets] {
		return false
	}
	for k, v := range baseline {
		if strings.HasPrefix(k, SeriesHealthyTargets+".") && last[k] < v {
			return false
		}
	}
	return true
}

// targetHealthProbe counts the target group's targets by state and AZ.
type targetHealthProbe struct {
	base
	c   *awsclients.Clients
	arn string
	azs []string // sorted

	mu     sync.Mutex
	instAZ map[string]string // instance id → AZ; an instance never moves
}

func (p *targetHealthProbe) Sample(ctx context.Context) ([]Sample, error) {
	cctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	out, err := p.c.ELB.DescribeTargetHealth(cctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(p.arn)})
	if err != nil {
		return nil, ctxErr(ctx, p.name, fmt.Errorf("describe target health: %w", err))
	}
	// Instance targets carry no AZ on AWS (only IP targets outside the VPC
	// do): look the unknown ones up once.
	var unknown []string
	p.mu.Lock()
	for _, d := range out.TargetHealthDescriptions {
		if d.Target == nil || d.Target.Id == nil {
			continue
		}
		id := *d.Target.Id
		if az := aws.ToString(d.Target.AvailabilityZone); az != "" && az != "all" {
			p.instAZ[id] = az
		} else if _, ok := p.instAZ[id]; !ok {
			unknown = append(unknown, id)
		}
	}
	p.mu.Unlock()
	if len(unknown) > 0 {
		found, err := instanceAZs(cctx, p.c.EC2, unknown)
		if err != nil {
			return nil, ctxErr(ctx, p.name, fmt.Errorf("describe instances: %w", err))
		}
		p.mu.Lock()
		for id, az := range found {
			p.instAZ[id] = az
		}
		p.mu.Unlock()
	}

	perAZ := make(map[string]int, len(p.azs))
	for _, az := range p.azs {
		perAZ[az] = 0
	}
	var healthy, unhealthy int
	p.mu.Lock()
	for _, d := range out.TargetHealthDescriptions {
		if d.TargetHealth == nil {
			continue
		}
		switch d.TargetHealth.State {
		case elbtypes.TargetHealthStateEnumHealthy:
			healthy++
			if d.Target != nil {
				if az := p.instAZ[aws.ToString(d.Target.Id)]; az != "" {
					perAZ[az]++
				}
			}
		case elbtypes.TargetHealthStateEnumUnhealthy, elbtypes.TargetHealthStateEnumUnavailable:
			unhealthy++
		}
	}
	p.mu.Unlock()

	azs := make([]string, 0, len(perAZ))
	for az := range perAZ {
		azs = append(azs, az)
	}
	slices.Sort(azs)
	s := make([]Sample, 0, len(azs)+2)
	s = append(s, Sample{SeriesHealthyTargets, float64(healthy)})
	for _, az := range azs {
		s = append(s, Sample{SeriesHealthyTargets + "." + az, float64(perAZ[az])})
	}
	s = append(s, Sample{SeriesUnhealthyTargets, float64(unhealthy)})
	return s, nil
}

// instanceAZs maps instance ids to their AZs. It filters by id rather than
// naming the ids, so an instance that no longer exists is skipped instead
// of failing the call.
func instanceAZs(ctx context.Context, c *ec2.Client, ids []string) (map[string]string, error) {
	found := make(map[string]string, len(ids))
	for chunk := range slices.Chunk(ids, 200) {
		pg := ec2.NewDescribeInstancesPaginator(c, &ec2.DescribeInstancesInput{
			Filters: []ec2types.Filter{{Name: aws.String("instance-id"), Values: chunk}},
		})
		for pg.HasMorePages() {
			page, err := pg.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			for _, r := range page.Reservations {
				for _, in := range r.Instances {
					if in.Placement != nil && in.Placement.AvailabilityZone != nil {
						found[aws.ToString(in.InstanceId)] = *in.Placement.AvailabilityZone
					}
				}
			}
		}
	}
	return found, nil
}
