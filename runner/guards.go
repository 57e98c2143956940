package runner

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/faults"
)

// checkAllowlists refuses an account or region the target profile does
// not allow. It runs right after STS GetCallerIdentity, before any other
// call.
func checkAllowlists(x *experiments.Experiment, account, region string) error {
	t := x.Target
	if len(t.AllowedAccounts) > 0 && !slices.Contains(t.AllowedAccounts, account) {
		return &GuardError{Field: x.File + ": target.allowed_accounts",
			Msg: fmt.Sprintf("the credentials are for account %s, which is not allowed (%s); nothing was done", account, strings.Join(t.AllowedAccounts, ", "))}
	}
	if len(t.AllowedRegions) > 0 && !slices.Contains(t.AllowedRegions, region) {
		return &GuardError{Field: x.File + ": target.allowed_regions",
			Msg: fmt.Sprintf("region %s is not allowed (%s); nothing was done", region, strings.Join(t.AllowedRegions, ", "))}
	}
	return nil
}

// checkGuards enforces the blast-radius limits and the opt-in tag on the
// resolved targets. It only reads.
func (p *Prepared) checkGuards(ctx context.Context) error {
	x := p.X
	g := x.Guards
	// A share of the group's instances.
	groupSize := -1
	for i, f := range p.Faults {
		if f.Kind() != faults.KindTerminateInstances {
			continue
		}
		if groupSize < 0 {
			groupSize = 0
			if p.Topology.GroupName != "" {
				out, err := p.Clients.ASG.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{p.Topology.GroupName}})
				if err != nil {
					return fmt.Errorf("guards: describe group %s: %w", p.Topology.GroupName, err)
				}
				for _, grp := range out.AutoScalingGroups {
					groupSize += len(grp.Instances)
				}
			}
		}
		n := len(f.Targets())
		if groupSize > 0 && float64(n) > g.MaxInstanceShare*float64(groupSize)+1e-9 {
			return &GuardError{Field: fmt.Sprintf("%s: faults[%d].targets", x.File, i),
				Msg: fmt.Sprintf("%s would take %d of the group's %d instances, more than guards.max_instance_share (%g); set guards.max_instance_share explicitly to allow it",
					f.Name(), n, groupSize, g.MaxInstanceShare)}
		}
	}
	// Never every AZ at once.
	if !g.AllowEveryAZ && len(p.Topology.AZs) > 0 {
		for i, fi := range x.Faults {
			if fi.Kind != experiments.KindBlackhole {
				continue
			}
			azs := map[string]bool{fi.Targets.AZ: true}
			for j := range i {
				if fj := x.Faults[j]; fj.Kind == experiments.KindBlackhole && mayOverlap(fj, fi) {
					azs[fj.Targets.AZ] = true
				}
			}
			if len(azs) >= len(p.Topology.AZs) {
				return &GuardError{Field: fmt.Sprintf("%s: faults[%d].targets.az", x.File, i),
					Msg: fmt.Sprintf("%s could blackhole every AZ of the target at once (%s); set guards.allow_every_az: true to allow it", fi.Name, strings.Join(keys(azs), ", "))}
			}
		}
	}
	if x.Target.RequireTag != "" {
		return p.checkOptIn(ctx)
	}
	return nil
}

// mayOverlap says whether two blackholes could be held at the same time.
// A fault that starts "after recovered" has no fixed start, so it may
// overlap any earlier one.
func mayOverlap(a, b experiments.Fault) bool {
	if a.After != "" || b.After != "" {
		return true
	}
	return a.At < b.At+b.Duration && b.At < a.At+a.Duration
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkOptIn requires every fault target to carry target.require_tag.
func (p *Prepared) checkOptIn(ctx context.Context) error {
	key, val, _ := strings.Cut(p.X.Target.RequireTag, "=")
	for i, f := range p.Faults {
		ids := f.Targets()
		tagged := map[string]bool{}
		switch f.Kind() {
		case faults.KindTerminateInstances:
			out, err := p.Clients.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids})
			if err != nil {
				return fmt.Errorf("guards: describe instances: %w", err)
			}
			for _, r := range out.Reservations {
				for _, in := range r.Instances {
					if hasTag(in.Tags, ec2Tag, key, val) {
						tagged[aws.ToString(in.InstanceId)] = true
					}
				}
			}
		case faults.KindAZBlackhole:
			out, err := p.Clients.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: ids})
			if err != nil {
				return fmt.Errorf("guards: describe subnets: %w", err)
			}
			for _, s := range out.Subnets {
				if hasTag(s.Tags, ec2Tag, key, val) {
					tagged[aws.ToString(s.SubnetId)] = true
				}
			}
		case faults.KindDBFailover:
			if p.Topology.DBClusterID != "" && slices.Contains(ids, p.Topology.DBClusterID) {
				out, err := p.Clients.RDS.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(p.Topology.DBClusterID)})
				if err != nil {
					return fmt.Errorf("guards: describe DB cluster: %w", err)
				}
				for _, c := range out.DBClusters {
					if hasTag(c.TagList, rdsTag, key, val) {
						tagged[aws.ToString(c.DBClusterIdentifier)] = true
					}
				}
			} else {
				for _, id := range ids {
					out, err := p.Clients.RDS.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
					if err != nil {
						return fmt.Errorf("guards: describe DB instance %s: %w", id, err)
					}
					for _, d := range out.DBInstances {
						if hasTag(d.TagList, rdsTag, key, val) {
							tagged[aws.ToString(d.DBInstanceIdentifier)] = true
						}
					}
				}
			}
		}
		var missing []string
		for _, id := range ids {
			if !tagged[id] {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			return &GuardError{Field: fmt.Sprintf("%s: target.require_tag", p.X.File),
				Msg: fmt.Sprintf("fault %q (faults[%d]) would touch resources without the opt-in tag %s: %s; nothing was done", f.Name(), i, p.X.Target.RequireTag, strings.Join(missing, ", "))}
		}
	}
	return nil
}

func ec2Tag(t ec2types.Tag) (*string, *string) { return t.Key, t.Value }
func rdsTag(t rdstypes.Tag) (*string, *string) { return t.Key, t.Value }

// hasTag reports whether tags hold key=val.
func hasTag[T any](tags []T, kv func(T) (*string, *string), key, val string) bool {
	for _, t := range tags {
		if k, v := kv(t); aws.ToString(k) == key && aws.ToString(v) == val {
			return true
		}
	}
	return false
}
