package faults

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/gameday-dev/gameday/awsclients"
)

// Touched names AWS resources of one type that a fault changes; the
// require_tag guard reads their tags through the type's Describe call.
type Touched struct {
	Type string
	IDs  []string
}

// Types of touched resources.
const (
	TouchInstance   = "ec2-instance"
	TouchSubnet     = "ec2-subnet"
	TouchDBInstance = "rds-db-instance"
	TouchDBCluster  = "rds-db-cluster"
	TouchGroup      = "auto-scaling-group"
)

// InstanceTaker is implemented by faults that take instances of an Auto
// Scaling group out of service (the max_instance_share guards count them).
type InstanceTaker interface {
	TakesInstances() (group string, ids []string)
}

// AZCutter is implemented by faults that cut an Availability Zone off
// (the never-every-AZ guards count them).
type AZCutter interface {
	CutsAZ() string
}

// Untagged returns, in order, the ids of ts whose resources do not carry
// the tag key=val (or could not be found). It only reads.
func Untagged(ctx context.Context, c *awsclients.Clients, ts []Touched, key, val string) ([]string, error) {
	var missing []string
	for _, t := range ts {
		if len(t.IDs) == 0 {
			continue
		}
		tagged := map[string]bool{}
		switch t.Type {
		case TouchInstance:
			p := ec2.NewDescribeInstancesPaginator(c.EC2, &ec2.DescribeInstancesInput{InstanceIds: t.IDs})
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					return nil, fmt.Errorf("describe instances: %w", err)
				}
				for _, r := range out.Reservations {
					for _, in := range r.Instances {
						if hasTag(in.Tags, ec2Tag, key, val) {
							tagged[aws.ToString(in.InstanceId)] = true
						}
					}
				}
			}
		case TouchSubnet:
			out, err := c.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: t.IDs})
			if err != nil {
				return nil, fmt.Errorf("describe subnets: %w", err)
			}
			for _, s := range out.Subnets {
				if hasTag(s.Tags, ec2Tag, key, val) {
					tagged[aws.ToString(s.SubnetId)] = true
				}
			}
		case TouchDBCluster:
			for _, id := range t.IDs {
				out, err := c.RDS.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(id)})
				if err != nil {
					return nil, fmt.Errorf("describe DB cluster: %w", err)
				}
				for _, d := range out.DBClusters {
					if hasTag(d.TagList, rdsTag, key, val) {
						tagged[aws.ToString(d.DBClusterIdentifier)] = true
					}
				}
			}
		case TouchGroup:
			p := autoscaling.NewDescribeAutoScalingGroupsPaginator(c.ASG, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: t.IDs})
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					return nil, fmt.Errorf("describe Auto Scaling groups: %w", err)
				}
				for _, g := range out.AutoScalingGroups {
					if hasTag(g.Tags, asgTag, key, val) {
						tagged[aws.ToString(g.AutoScalingGroupName)] = true
					}
				}
			}
		case TouchDBInstance:
			for _, id := range t.IDs {
				out, err := c.RDS.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
				if err != nil {
					return nil, fmt.Errorf("describe DB instance %s: %w", id, err)
				}
				for _, d := range out.DBInstances {
					if hasTag(d.TagList, rdsTag, key, val) {
						tagged[aws.ToString(d.DBInstanceIdentifier)] = true
					}
				}
			}
		}
		for _, id := range t.IDs {
			if !tagged[id] && !slices.Contains(missing, id) {
				missing = append(missing, id)
			}
		}
	}
	return missing, nil
}

func ec2Tag(t ec2types.Tag) (*string, *string)            { return t.Key, t.Value }
func rdsTag(t rdstypes.Tag) (*string, *string)            { return t.Key, t.Value }
func asgTag(t asgtypes.TagDescription) (*string, *string) { return t.Key, t.Value }

// hasTag reports whether tags hold key=val.
func hasTag[T any](tags []T, kv func(T) (*string, *string), key, val string) bool {
	for _, t := range tags {
		if k, v := kv(t); aws.ToString(k) == key && aws.ToString(v) == val {
			return true
		}
	}
	return false
}
