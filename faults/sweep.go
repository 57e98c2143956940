package faults

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/gameday-dev/gameday/awsclients"
)

// Swept is one leftover gameday resource that Sweep found and undid.
type Swept struct {
	Resource string   `json:"resource"` // the deny-all ACL's id
	Run      string   `json:"run,omitempty"`
	Token    string   `json:"token"`
	Subnets  []string `json:"subnets,omitempty"` // subnets moved back off it
	Notes    []string `json:"notes,omitempty"`
	// Skipped says why the clone was left alone (a live run's lease on
	// one of its subnets: it is that run's fault, not a leftover).
	Skipped string `json:"skipped,omitempty"`
	Err     error  `json:"-"`
}

// Sweep finds every network ACL tagged as an az-blackhole clone (tag key
// gameday:token) and undoes it as that fault's rollback would: subnets on
// it go back to the original ACLs named in its tags (or the VPC's default
// ACL when an original is gone, with a note), then it is deleted. Clones
// whose token skip reports (a journal still accounts for them) are left
// alone. It returns what it found, each with its own error, if any.
func Sweep(ctx context.Context, c *awsclients.Clients, skip func(token string) bool) ([]Swept, error) {
	out, err := c.EC2.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag-key"), Values: []string{TagToken}},
	}})
	if err != nil {
		return nil, fmt.Errorf("sweep: find tagged network ACLs: %w", err)
	}
	var res []Swept
	for _, a := range out.NetworkAcls {
		id := aws.ToString(a.NetworkAclId)
		var token, run string
		for _, t := range a.Tags {
			switch aws.ToString(t.Key) {
			case TagToken:
				token = aws.ToString(t.Value)
			case TagExperiment:
				run = aws.ToString(t.Value)
			}
		}
		if skip != nil && skip(token) {
			continue
		}
		// A clone on subnets leased by a live run is that run's fault in
		// progress, whatever journal the sweeper has or lacks.
		var on []Resource
		for _, as := range a.Associations {
			on = append(on, Resource{ResSubnet, aws.ToString(as.SubnetId)})
		}
		if len(on) > 0 {
			err := CheckHeld(ctx, c, on, "")
			var held *HeldError
			if errors.As(err, &held) {
				res = append(res, Swept{Resource: id, Run: run, Token: token, Skipped: held.Error()})
				continue
			}
			if err != nil {
				res = append(res, Swept{Resource: id, Run: run, Token: token, Err: fmt.Errorf("check the leases on its subnets: %w", err)})
				continue
			}
		}
		origs := originalsFromTags(a.Tags)
		var subs []SubnetRecord
		for sid, orig := range origs {
			subs = append(subs, SubnetRecord{ID: sid, OriginalACL: orig, Moved: true})
		}
		// Subnets on the clone that its tags do not name (tags too long to
		// hold them): no original is known, so they go to the default ACL.
		for _, as := range a.Associations {
			sid := aws.ToString(as.SubnetId)
			if _, ok := origs[sid]; !ok {
				subs = append(subs, SubnetRecord{ID: sid, Moved: true})
			}
		}
		slices.SortFunc(subs, func(x, y SubnetRecord) int { return strings.Compare(x.ID, y.ID) })
		f := &blackholeFault{c: c, name: "sweep " + id, st: BlackholeUndo{
			VPC: aws.ToString(a.VpcId), Token: token, Run: run, Clone: id, Subnets: subs, Applying: true,
		}}
		_, rerr := RollbackPatiently(ctx, f)
		s := Swept{Resource: id, Run: run, Token: token, Notes: f.Notes(), Err: rerr}
		for _, r := range f.Undo().(BlackholeUndo).Subnets {
			if r.Restored {
				s.Subnets = append(s.Subnets, r.ID+" → "+r.RestoredTo)
			}
		}
		res = append(res, s)
	}
	return res, nil
}

// SweepDecrements finds Auto Scaling groups carrying a decrement tag
// (TagDecrementPrefix+token: a decrementing terminate whose capacity was
// never given back) and gives the capacity back as that fault's rollback
// would: relative to the desired capacity now, within max, counting the
// tagged instances that left the group (or the count planned when the tag
// could not hold their ids). Groups leased by a live run, and tokens skip
// reports (a journal still accounts for them), are left alone.
func SweepDecrements(ctx context.Context, c *awsclients.Clients, skip func(token string) bool) ([]Swept, error) {
	out, err := c.ASG.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
	if err != nil {
		return nil, fmt.Errorf("sweep: list Auto Scaling groups: %w", err)
	}
	var res []Swept
	for _, g := range out.AutoScalingGroups {
		name := aws.ToString(g.AutoScalingGroupName)
		for _, t := range g.Tags {
			token, ok := strings.CutPrefix(aws.ToString(t.Key), TagDecrementPrefix)
			if !ok || (skip != nil && skip(token)) {
				continue
			}
			st := TerminateUndo{Group: name, Via: "autoscaling", Decrement: true, Applying: true, Token: token}
			for _, kv := range strings.Split(aws.ToString(t.Value), ";") {
				k, v, _ := strings.Cut(kv, "=")
				switch k {
				case "run":
					st.Run = v
				case "n":
					n, _ := strconv.Atoi(v)
					st.owed = int32(n)
				case "ids":
					st.Instances = strings.Split(v, ",")
				}
			}
			s := Swept{Resource: "group " + name + " (" + aws.ToString(t.Key) + ")", Run: st.Run, Token: token}
			err := CheckHeld(ctx, c, []Resource{{ResGroup, name}}, "")
			var held *HeldError
			if errors.As(err, &held) {
				s.Skipped = held.Error()
				res = append(res, s)
				continue
			}
			if err != nil {
				s.Err = err
				res = append(res, s)
				continue
			}
			f := &terminateFault{c: c, name: "sweep " + name, restored: true, st: st}
			_, s.Err = RollbackPatiently(ctx, f)
			u := f.Undo().(TerminateUndo)
			s.Notes = append(u.Notes, fmt.Sprintf("group %s: gave back %d instance(s) of capacity", name, u.GivenBack))
			res = append(res, s)
		}
	}
	return res, nil
}
