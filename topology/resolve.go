package topology

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/experiments"
)

// Topology is the resolved stack.
type Topology struct {
	LoadBalancerARN  string            `json:"load_balancer_arn,omitempty"`
	LoadBalancerName string            `json:"load_balancer_name,omitempty"`
	DNSName          string            `json:"dns_name,omitempty"`
	NodeAZ           map[string]string `json:"node_az,omitempty"` // node IP → AZ
	TargetGroupARN   string            `json:"target_group_arn,omitempty"`
	GroupName        string            `json:"auto_scaling_group,omitempty"`
	DBInstanceID     string            `json:"db_instance,omitempty"`
	DBClusterID      string            `json:"db_cluster,omitempty"`
	VPCID            string            `json:"vpc_id,omitempty"`
	AZs              []string          `json:"azs"`
	Subnets          []Subnet          `json:"subnets"`
}

// Subnet is one subnet of the stack, public (load balancer) or private (group).
type Subnet struct {
	ID     string `json:"id"`
	AZ     string `json:"az"`
	Public bool   `json:"public"`
}

// AZOf returns the AZ of a load balancer node address, or "".
func (t *Topology) AZOf(ip netip.Addr) string { return t.NodeAZ[ip.Unmap().String()] }

// NotFoundError says a referenced resource does not exist (exit code 2).
type NotFoundError struct {
	Field string
	What  string
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.What) }

// Resolve looks every reference up. On the sandbox, empty references pick
// the region's only resource of each kind; on AWS they must be given where
// a fault or probe needs them.
func Resolve(ctx context.Context, c *awsclients.Clients, t experiments.Target) (*Topology, error) {
	topo := &Topology{NodeAZ: map[string]string{}}
	single := t.Kind == "sandbox"

	// Load balancer.
	if !t.LoadBalancer.IsZero() || single {
		in := &elbv2.DescribeLoadBalancersInput{}
		switch {
		case t.LoadBalancer.ARN != "":
			in.LoadBalancerArns = []string{t.LoadBalancer.ARN}
		case t.LoadBalancer.Name != "":
			in.Names = []string{t.LoadBalancer.Name}
		}
		out, err := c.ELB.DescribeLoadBalancers(ctx, in)
		if err != nil {
			return nil, refErr("target.load_balancer", err)
		}
		if len(out.LoadBalancers) != 1 {
			return nil, &NotFoundError{"target.load_balancer", fmt.Sprintf("matches %d load balancers, want exactly one", len(out.LoadBalancers))}
		}
		lb := out.LoadBalancers[0]
		topo.LoadBalancerARN, topo.LoadBalancerName = aws.ToString(lb.LoadBalancerArn), aws.ToString(lb.LoadBalancerName)
		topo.DNSName, topo.VPCID = aws.ToString(lb.DNSName), aws.ToString(lb.VpcId)
		for _, az := range lb.AvailabilityZones {
			topo.Subnets = append(topo.Subnets, Subnet{ID: aws.ToString(az.SubnetId), AZ: aws.ToString(az.ZoneName), Public: true})
		}
		// The ALB's nodes are network interfaces described "ELB app/NAME/ID":
		// their public IPs are what its DNS name answers.
		parts := strings.Split(topo.LoadBalancerARN, ":loadbalancer/")
		if len(parts) == 2 {
			nis, err := c.EC2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{
				Filters: []ec2types.Filter{{Name: aws.String("description"), Values: []string{"ELB " + parts[1]}}},
			})
			if err != nil {
				return nil, refErr("target.load_balancer", err)
			}
			for _, ni := range nis.NetworkInterfaces {
				if ni.Association != nil && ni.Association.PublicIp != nil {
					topo.NodeAZ[*ni.Association.PublicIp] = aws.ToString(ni.AvailabilityZone)
				}
				if ni.PrivateIpAddress != nil {
					topo.NodeAZ[*ni.PrivateIpAddress] = aws.ToString(ni.AvailabilityZone)
				}
			}
		}
	}

	// Target group.
	if !t.TargetGroup.IsZero() || topo.LoadBalancerARN != "" {
		in := &elbv2.DescribeTargetGroupsInput{}
		switch {
		case t.TargetGroup.ARN != "":
			in.TargetGroupArns = []string{t.TargetGroup.ARN}
		case t.TargetGroup.Name != "":
			in.Names = []string{t.TargetGroup.Name}
		default:
			in.LoadBalancerArn = aws.String(topo.LoadBalancerARN)
		}
		out, err := c.ELB.DescribeTargetGroups(ctx, in)
		if err != nil {
			return nil, refErr("target.target_group", err)
		}
		if len(out.TargetGroups) != 1 {
			return nil, &NotFoundError{"target.target_group", fmt.Sprintf("matches %d target groups, want exactly one", len(out.TargetGroups))}
		}
		topo.TargetGroupARN = aws.ToString(out.TargetGroups[0].TargetGroupArn)
	}

	// Auto Scaling group.
	if !t.AutoScalingGroup.IsZero() || single {
		in := &autoscaling.DescribeAutoScalingGroupsInput{}
		if n := firstNonEmpty(t.AutoScalingGroup.Name, t.AutoScalingGroup.ID); n != "" {
			in.AutoScalingGroupNames = []string{n}
		}
		out, err := c.ASG.DescribeAutoScalingGroups(ctx, in)
		if err != nil {
			return nil, refErr("target.auto_scaling_group", err)
		}
		if len(out.AutoScalingGroups) != 1 {
			return nil, &NotFoundError{"target.auto_scaling_group", fmt.Sprintf("matches %d groups, want exactly one", len(out.AutoScalingGroups))}
		}
		g := out.AutoScalingGroups[0]
		topo.GroupName = aws.ToString(g.AutoScalingGroupName)
		if ids := aws.ToString(g.VPCZoneIdentifier); ids != "" {
			sn, err := c.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: strings.Split(ids, ",")})
			if err != nil {
				return nil, refErr("target.auto_scaling_group", err)
			}
			for _, s := range sn.Subnets {
				topo.Subnets = append(topo.Subnets, Subnet{ID: aws.ToString(s.SubnetId), AZ: aws.ToString(s.AvailabilityZone)})
				if topo.VPCID == "" {
					topo.VPCID = aws.ToString(s.VpcId)
				}
			}
		}
	}

	// Database: a cluster if one is named (or is the sandbox's kind), else an instance.
	switch {
	case !t.DBCluster.IsZero():
		out, err := c.RDS.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(firstNonEmpty(t.DBCluster.ID, t.DBCluster.Name, t.DBCluster.ARN))})
		if err != nil {
			return nil, refErr("target.db_cluster", err)
		}
		topo.DBClusterID = aws.ToString(out.DBClusters[0].DBClusterIdentifier)
	case !t.DBInstance.IsZero():
		out, err := c.RDS.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(firstNonEmpty(t.DBInstance.ID, t.DBInstance.Name, t.DBInstance.ARN))})
		if err != nil {
			return nil, refErr("target.db_instance", err)
		}
		topo.DBInstanceID = aws.ToString(out.DBInstances[0].DBInstanceIdentifier)
	case single:
		cl, err := c.RDS.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{})
		if err != nil {
			return nil, refErr("target.db_cluster", err)
		}
		if len(cl.DBClusters) == 1 {
			topo.DBClusterID = aws.ToString(cl.DBClusters[0].DBClusterIdentifier)
			break
		}
		in, err := c.RDS.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{})
		if err != nil {
			return nil, refErr("target.db_instance", err)
		}
		if len(in.DBInstances) == 1 {
			topo.DBInstanceID = aws.ToString(in.DBInstances[0].DBInstanceIdentifier)
		}
	}

	azs := map[string]bool{}
	for _, s := range topo.Subnets {
		azs[s.AZ] = true
	}
	for az := range azs {
		topo.AZs = append(topo.AZs, az)
	}
	sort.Strings(topo.AZs)
	sort.Slice(topo.Subnets, func(i, j int) bool {
		a, b := topo.Subnets[i], topo.Subnets[j]
		if a.AZ != b.AZ {
			return a.AZ < b.AZ
		}
		return a.Public && !b.Public
	})
	return topo, nil
}

// refErr classifies a failed lookup: AWS rejecting the request (an
// unknown name, an invalid id) is bad input naming the field; throttling,
// server errors and network trouble are not the file's fault and stay
// plain errors (exit code 5, not 2).
func refErr(field string, err error) error {
	if Rejected(err) {
		return &NotFoundError{Field: field, What: err.Error()}
	}
	return fmt.Errorf("resolve %s: %w", field, err)
}

// Rejected reports whether AWS rejected a request as the caller's mistake
// (an unknown id, an invalid parameter): a client fault that is not
// throttling.
func Rejected(err error) bool { return awsclients.Rejected(err) }

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
