package runner

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

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
// resolved targets, summing what overlapping faults would hold at once. It
// only reads. liveGuards judges them again right before each injection.
func (p *Prepared) checkGuards(ctx context.Context) error {
	x := p.Experiment
	g := x.Guards
	if err := p.checkInstanceShare(ctx); err != nil {
		return err
	}
	// Never every AZ at once: the AZs of blackholes whose holds may overlap.
	if !g.AllowEveryAZ && len(p.Topology.AZs) > 0 {
		for i, pi := range p.Faults {
			fi := pi.Spec
			az, ok := cutsAZ(pi.Fault)
			if !ok {
				continue
			}
			azs := map[string]bool{az: true}
			for j := range i {
				if azj, ok := cutsAZ(p.Faults[j].Fault); ok && mayOverlap(p.Faults[j].Spec, fi) {
					azs[azj] = true
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

// shareOK reports whether taking taken of size instances stays within
// share. It fails closed: a share that is not in (0, 1] (NaN included)
// or an empty group allows nothing.
func shareOK(taken, size int, share float64) bool {
	if !(share > 0 && share <= 1) || size <= 0 {
		return taken == 0
	}
	return float64(taken) <= share*float64(size)+1e-9
}

// checkInstanceShare sums, per Auto Scaling group (each fault's own), the
// instances every terminate-instances fault of the plan takes, against the
// group's InService instances now. Terminations add up whatever their
// times: the run never gives an instance back (the group launches new
// ones), so at worst every instance the plan names is out at once.
func (p *Prepared) checkInstanceShare(ctx context.Context) error {
	x := p.Experiment
	share := x.Guards.MaxInstanceShare
	var groups []string
	byGroup := map[string][]int{}
	for i, pf := range p.Faults {
		if tu, ok := takenBy(pf.Fault); ok {
			if _, seen := byGroup[tu.Group]; !seen {
				groups = append(groups, tu.Group)
			}
			byGroup[tu.Group] = append(byGroup[tu.Group], i)
		}
	}
	if len(groups) == 0 {
		return nil
	}
	if !(share > 0 && share <= 1) {
		return &GuardError{Field: x.File + ": guards.max_instance_share",
			Msg: fmt.Sprintf("%g is not a share in (0, 1]; the guard cannot judge the blast radius, so nothing was done", share)}
	}
	p.groupSize = map[string]int{}
	for _, group := range groups {
		serving, err := p.servingInstances(ctx, group, false)
		if err != nil {
			return fmt.Errorf("guards: %w", err)
		}
		p.groupSize[group] = len(serving)
		taken := map[string]bool{}
		var names []string
		for _, i := range byGroup[group] {
			tu, _ := takenBy(p.Faults[i].Fault)
			for _, id := range tu.Instances { // not Resources(): a composite also targets subnets
				taken[id] = true
			}
			name := p.Faults[i].Fault.Name()
			if !shareOK(len(taken), len(serving), share) {
				detail := fmt.Sprintf("group %s has %d InService instances", group, len(serving))
				if len(names) > 0 {
					detail = fmt.Sprintf("together with %s, since terminations add up (the run never gives an instance back); group %s has %d InService instances",
						strings.Join(names, ", "), group, len(serving))
				}
				return &GuardError{Field: fmt.Sprintf("%s: faults[%d].targets", x.File, i),
					Msg: fmt.Sprintf("%s would take %d of the group's %d instances, more than guards.max_instance_share (%g): %s; set guards.max_instance_share explicitly to allow it",
						name, len(taken), len(serving), share, detail)}
			}
			names = append(names, name)
		}
	}
	return nil
}

// takenBy returns the group and instances a fault takes out of service
// (terminate-instances, stop-instances: any faults.InstanceTaker).
func takenBy(f faults.Fault) (taken, bool) {
	t, ok := f.(faults.InstanceTaker)
	if !ok {
		return taken{}, false
	}
	g, ids := t.TakesInstances()
	return taken{Group: g, Instances: ids}, true
}

// cutsAZ returns the AZ a fault cuts off (az-blackhole: any
// faults.AZCutter).
func cutsAZ(f faults.Fault) (string, bool) {
	c, ok := f.(faults.AZCutter)
	if !ok {
		return "", false
	}
	return c.CutsAZ(), true
}

func isCutter(f faults.Fault) bool { _, ok := cutsAZ(f); return ok }

type taken struct {
	Group     string
	Instances []string
}

// servingInstances returns the group's instances that serve now: InService
// and Healthy in the group and, when live, running as EC2 sees it (the
// group notices a terminated instance only at its next health check).
// Pending instances do not count: they serve nothing yet.
func (p *Prepared) servingInstances(ctx context.Context, group string, live bool) (map[string]bool, error) {
	out, err := p.Clients.ASG.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
	if err != nil {
		return nil, fmt.Errorf("describe group %s: %w", group, err)
	}
	serving := map[string]bool{}
	var ids []string
	for _, grp := range out.AutoScalingGroups {
		for _, in := range grp.Instances {
			if in.LifecycleState == asgtypes.LifecycleStateInService && aws.ToString(in.HealthStatus) == "Healthy" {
				serving[aws.ToString(in.InstanceId)] = true
				ids = append(ids, aws.ToString(in.InstanceId))
			}
		}
	}
	if !live || len(ids) == 0 {
		return serving, nil
	}
	pg := ec2.NewDescribeInstancesPaginator(p.Clients.EC2, &ec2.DescribeInstancesInput{InstanceIds: ids})
	running := map[string]bool{}
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe instances of group %s: %w", group, err)
		}
		for _, r := range page.Reservations {
			for _, in := range r.Instances {
				if in.State != nil && in.State.Name == ec2types.InstanceStateNameRunning {
					running[aws.ToString(in.InstanceId)] = true
				}
			}
		}
	}
	for id := range serving {
		if !running[id] {
			delete(serving, id)
		}
	}
	return serving, nil
}

// holding is one fault of the run as the scheduler sees it right before an
// injection: injected, and whether it still holds what it took.
type holding struct {
	f    faults.Fault
	held bool
}

// liveGuards judges fault i's guards right before it is injected, against
// what the run's other faults hold now and what the AWS APIs say:
//   - a fault that takes instances out of service (faults.InstanceTaker:
//     terminate-instances, stop-instances): the instances out of service in the fault's
//     group (whatever took them: this run, another, the group itself) plus
//     those it takes must stay within max_instance_share of the group's
//     capacity (its InService instances at plan time, or now if more);
//   - az-blackhole: the AZs dark now (this run's held blackholes and any
//     subnet on a gameday deny-all ACL) plus its own must leave one AZ up,
//     unless allow_every_az.
func (p *Prepared) liveGuards(ctx context.Context, i int, done []holding) error {
	x, f := p.Experiment, p.Faults[i].Fault
	g := x.Guards
	tu, taker := takenBy(f)
	switch {
	case taker:
		share := g.MaxInstanceShare
		serving, err := p.servingInstances(ctx, tu.Group, true)
		if err != nil {
			return err
		}
		// What this run terminated is out of service, whatever the group
		// has noticed yet.
		for _, h := range done {
			if prev, ok := takenBy(h.f); ok && prev.Group == tu.Group {
				for _, id := range prev.Instances {
					delete(serving, id)
				}
			}
		}
		takes := 0
		for _, id := range tu.Instances {
			if serving[id] {
				takes++
			}
		}
		capacity := max(p.groupSize[tu.Group], len(serving))
		left := len(serving) - takes
		if !shareOK(capacity-left, capacity, share) {
			return &GuardError{Field: fmt.Sprintf("%s: faults[%d].targets", x.File, i),
				Msg: fmt.Sprintf("%s would take %d more of group %s's instances while %d of its %d are out of service already: %d of %d out at once is more than guards.max_instance_share (%g)",
					f.Name(), takes, tu.Group, capacity-len(serving), capacity, capacity-left, capacity, share)}
		}
	case isCutter(f):
		if g.AllowEveryAZ || len(p.Topology.AZs) == 0 {
			return nil
		}
		azOf := map[string]string{}
		for _, s := range p.Topology.Subnets {
			azOf[s.ID] = s.AZ
		}
		dark := map[string]bool{}
		for _, id := range f.Resources() {
			dark[azOf[id]] = true
		}
		for _, h := range done {
			if h.held && isCutter(h.f) {
				for _, id := range h.f.Resources() {
					dark[azOf[id]] = true
				}
			}
		}
		out, err := p.Clients.EC2.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{Filters: []ec2types.Filter{
			{Name: aws.String("vpc-id"), Values: []string{p.Topology.VPCID}},
			{Name: aws.String("tag-key"), Values: []string{faults.TagToken}},
		}})
		if err != nil {
			return fmt.Errorf("find deny-all network ACLs in %s: %w", p.Topology.VPCID, err)
		}
		for _, a := range out.NetworkAcls {
			for _, as := range a.Associations {
				if az, ok := azOf[aws.ToString(as.SubnetId)]; ok {
					dark[az] = true
				}
			}
		}
		delete(dark, "")
		if len(dark) >= len(p.Topology.AZs) {
			return &GuardError{Field: fmt.Sprintf("%s: faults[%d].targets.az", x.File, i),
				Msg: fmt.Sprintf("%s would leave no AZ up: %s would all be dark at once; set guards.allow_every_az: true to allow it", f.Name(), strings.Join(keys(dark), ", "))}
		}
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

// checkOptIn requires every resource a fault touches to carry
// target.require_tag.
func (p *Prepared) checkOptIn(ctx context.Context) error {
	key, val, _ := strings.Cut(p.Experiment.Target.RequireTag, "=")
	for i, pf := range p.Faults {
		f := pf.Fault
		missing, err := faults.Untagged(ctx, p.Clients, f.Touches(), key, val)
		if err != nil {
			return fmt.Errorf("guards: %w", err)
		}
		if len(missing) > 0 {
			return &GuardError{Field: fmt.Sprintf("%s: target.require_tag", p.Experiment.File),
				Msg: fmt.Sprintf("fault %q (faults[%d]) would touch resources without the opt-in tag %s: %s; nothing was done", f.Name(), i, p.Experiment.Target.RequireTag, strings.Join(missing, ", "))}
		}
	}
	return nil
}
