package probes

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/gameday-dev/gameday/awsclients"
)

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

// dbProbe reports whether the database accepts writes and where its writer is.
type dbProbe struct {
	base
	c        *awsclients.Clients
	instance string
	cluster  string
	azs      []string // sorted

	instAZ map[string]string // cluster member → AZ; members never move (Sample runs on one goroutine)
}

func (p *dbProbe) Sample(ctx context.Context) ([]Sample, error) {
	cctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	var available bool
	var az string
	if p.cluster != "" {
		out, err := p.c.RDS.DescribeDBClusters(cctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(p.cluster)})
		if err != nil {
			return nil, ctxErr(ctx, p.name, fmt.Errorf("describe db clusters: %w", err))
		}
		if len(out.DBClusters) == 0 {
			return nil, fmt.Errorf("probe %s: db cluster %s not found", p.name, p.cluster)
		}
		cl := out.DBClusters[0]
		available = aws.ToString(cl.Status) == "available"
		writer := ""
		for _, m := range cl.DBClusterMembers {
			if aws.ToBool(m.IsClusterWriter) {
				writer = aws.ToString(m.DBInstanceIdentifier)
			}
		}
		if writer == "" {
			available = false
		} else {
			// The writer instance's own status matters too (a rebooting
			// writer takes no writes), and gives its AZ.
			in, err := p.c.RDS.DescribeDBInstances(cctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(writer)})
			if err != nil {
				return nil, ctxErr(ctx, p.name, fmt.Errorf("describe db instance %s: %w", writer, err))
			}
			if len(in.DBInstances) == 0 {
				available = false
			} else {
				d := in.DBInstances[0]
				available = available && aws.ToString(d.DBInstanceStatus) == "available"
				az = aws.ToString(d.AvailabilityZone)
			}
		}
	} else {
		out, err := p.c.RDS.DescribeDBInstances(cctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(p.instance)})
		if err != nil {
			return nil, ctxErr(ctx, p.name, fmt.Errorf("describe db instances: %w", err))
		}
		if len(out.DBInstances) == 0 {
			return nil, fmt.Errorf("probe %s: db instance %s not found", p.name, p.instance)
		}
		d := out.DBInstances[0]
		available = aws.ToString(d.DBInstanceStatus) == "available"
		az = aws.ToString(d.AvailabilityZone)
	}
	s := []Sample{{SeriesDBAvailable, b2f(available)}}
	if i := slices.Index(p.azs, az); az != "" && i >= 0 {
		s = append(s, Sample{SeriesDBWriterAZIndex, float64(i)})
	}
	return s, nil
}
