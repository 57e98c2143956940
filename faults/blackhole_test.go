package faults_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/faults"
	"github.com/gameday-dev/gameday/sandbox/sim"
)

func blackholeSpec(az, tier string) experiments.Fault {
	return experiments.Fault{Name: "lose-" + az, Kind: faults.KindAZBlackhole, Targets: experiments.Selector{AZ: az}, Params: map[string]any{"subnets": tier}}
}

// subnetsIn lists the sandbox's subnets in az (public first, as Resolve sorts).
func (e *env) subnetsIn(az string) []string {
	var out []string
	for _, s := range e.topo.Subnets {
		if s.AZ == az {
			out = append(out, s.ID)
		}
	}
	return out
}

func (e *env) acl(id string) (sim.NetworkACL, bool) {
	for _, a := range e.sb.Region().NetworkACLs() {
		if a.ID == id {
			return a, true
		}
	}
	return sim.NetworkACL{}, false
}

func TestBlackhole(t *testing.T) {
	e := start(t, "", nil)
	subs := e.subnetsIn("local-1a")
	if len(subs) != 2 {
		t.Fatalf("sandbox subnets in local-1a: %v, want a public and a private one", subs)
	}
	orig := map[string]string{}
	for _, s := range subs {
		orig[s] = e.aclOf(s)
	}
	m := e.mark()
	f, err := faults.New(e.ctx, e.c, e.topo, blackholeSpec("local-1a", ""))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if calls := e.mutatingSince(m); len(calls) > 0 {
		t.Fatalf("New changed something: %v", calls)
	}
	if got := f.Resources(); !slices.Equal(got, subs) {
		t.Fatalf("targets %v, want %v", got, subs)
	}
	if d := f.Describe(); !strings.Contains(d, "local-1a") || !strings.Contains(d, subs[0]) || !strings.Contains(d, subs[1]) {
		t.Fatalf("Describe = %q", d)
	}
	if err := f.Rollback(e.ctx); err != nil {
		t.Fatalf("Rollback before Apply: %v", err)
	}
	if calls := e.mutatingSince(m); len(calls) > 0 {
		t.Fatalf("Rollback before Apply changed something: %v", calls)
	}

	if err := f.Apply(e.ctx); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	u := f.Undo().(faults.BlackholeUndo)
	if u.Clone == "" {
		t.Fatalf("undo has no clone: %+v", u)
	}
	clone, ok := e.acl(u.Clone)
	if !ok || clone.IsDefault || clone.VPCID != e.topo.VPCID {
		t.Fatalf("clone %s: %+v", u.Clone, clone)
	}
	for _, s := range subs {
		if got := e.aclOf(s); got != u.Clone {
			t.Fatalf("subnet %s on %s after Apply, want the clone %s", s, got, u.Clone)
		}
	}
	for _, s := range e.topo.Subnets {
		if s.AZ != "local-1a" && e.aclOf(s.ID) != orig[subs[0]] {
			t.Fatalf("subnet %s of %s was moved too", s.ID, s.AZ)
		}
	}
	var deny int
	for _, en := range clone.Entries {
		if en.RuleNumber == 100 && en.RuleAction == "deny" && en.Protocol == "-1" && en.CIDR == "0.0.0.0/0" {
			deny++
		}
	}
	if deny != 2 {
		t.Fatalf("clone entries %+v, want deny-all rule 100 ingress and egress", clone.Entries)
	}
	tags := map[string]string{}
	for _, tg := range clone.Tags {
		tags[tg.Key] = tg.Value
	}
	if tags[faults.TagFault] != "lose-local-1a" || tags[faults.TagToken] != u.Token || !strings.HasPrefix(tags["Name"], "gameday-blackhole-") ||
		tags[faults.TagSubnet] != strings.Join(subs, ",") || tags[faults.TagOriginalACL] != orig[subs[0]]+","+orig[subs[1]] {
		t.Fatalf("clone tags %v", tags)
	}

	for i := range 2 {
		if err := f.Rollback(e.ctx); err != nil {
			t.Fatalf("Rollback #%d: %v", i+1, err)
		}
		for _, s := range subs {
			if got := e.aclOf(s); got != orig[s] {
				t.Fatalf("subnet %s on %s after Rollback #%d, want the original %s", s, got, i+1, orig[s])
			}
		}
		if e.aclExists(u.Clone) {
			t.Fatalf("clone %s still exists after Rollback #%d", u.Clone, i+1)
		}
	}
}

func TestBlackholeTiersAndErrors(t *testing.T) {
	e := start(t, "", nil)
	m := e.mark()
	for tier, public := range map[string]bool{"public": true, "private": false} {
		f, err := faults.New(e.ctx, e.c, e.topo, blackholeSpec("local-1b", tier))
		if err != nil {
			t.Fatalf("%s: %v", tier, err)
		}
		got := f.Resources()
		if len(got) != 1 {
			t.Fatalf("%s: targets %v, want one subnet", tier, got)
		}
		for _, s := range e.topo.Subnets {
			if s.ID == got[0] && (s.Public != public || s.AZ != "local-1b") {
				t.Fatalf("%s picked %+v", tier, s)
			}
		}
	}
	for name, spec := range map[string]experiments.Fault{
		"no az":      blackholeSpec("", ""),
		"unknown az": blackholeSpec("local-1z", ""),
		"bad tier":   blackholeSpec("local-1a", "dmz"),
	} {
		if _, err := faults.New(e.ctx, e.c, e.topo, spec); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
	onlyPublic := *e.topo
	onlyPublic.Subnets = nil
	for _, s := range e.topo.Subnets {
		if s.Public {
			onlyPublic.Subnets = append(onlyPublic.Subnets, s)
		}
	}
	if _, err := faults.New(e.ctx, e.c, &onlyPublic, blackholeSpec("local-1a", "private")); err == nil {
		t.Error("no private subnet: want an error")
	}
	if calls := e.mutatingSince(m); len(calls) > 0 {
		t.Fatalf("planning changed something: %v", calls)
	}
}

// The second ReplaceNetworkAclAssociation fails: Apply stops with the first
// subnet moved, and Rollback puts back exactly that and deletes the clone.
func TestBlackholeRollbackAfterPartialApply(t *testing.T) {
	e := start(t, "", failNthCall("ec2", "ReplaceNetworkAclAssociation", 2))
	subs := e.subnetsIn("local-1c")
	orig := map[string]string{}
	for _, s := range subs {
		orig[s] = e.aclOf(s)
	}
	f, err := faults.New(e.ctx, e.c, e.topo, blackholeSpec("local-1c", "all"))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := f.Apply(e.ctx); err == nil {
		t.Fatal("Apply: want the injected error on the 2nd subnet")
	}
	u := f.Undo().(faults.BlackholeUndo)
	if !u.Subnets[0].Moved || u.Subnets[1].Moved {
		t.Fatalf("undo after partial apply: %+v", u.Subnets)
	}
	if e.aclOf(subs[0]) != u.Clone || e.aclOf(subs[1]) != orig[subs[1]] {
		t.Fatalf("after partial apply: %s on %s, %s on %s", subs[0], e.aclOf(subs[0]), subs[1], e.aclOf(subs[1]))
	}
	for i := range 2 {
		if err := f.Rollback(e.ctx); err != nil {
			t.Fatalf("Rollback #%d: %v", i+1, err)
		}
	}
	for _, s := range subs {
		if got := e.aclOf(s); got != orig[s] {
			t.Fatalf("subnet %s on %s after Rollback, want %s", s, got, orig[s])
		}
	}
	if e.aclExists(u.Clone) {
		t.Fatalf("clone %s still exists", u.Clone)
	}
}

// When the original ACL is deleted while the fault holds, Rollback falls
// back to the VPC's default ACL and leaves a note.
func TestBlackholeOriginalACLGone(t *testing.T) {
	e := start(t, "", nil)
	sub := ""
	for _, s := range e.topo.Subnets {
		if s.AZ == "local-1a" && !s.Public {
			sub = s.ID
		}
	}
	def := e.aclOf(sub)
	// Put the subnet on a custom ACL first.
	custom, err := e.c.EC2.CreateNetworkAcl(e.ctx, &ec2.CreateNetworkAclInput{VpcId: aws.String(e.topo.VPCID)})
	if err != nil {
		t.Fatal(err)
	}
	customID := aws.ToString(custom.NetworkAcl.NetworkAclId)
	assoc := ""
	for _, a := range e.sb.Region().NetworkACLs() {
		for _, as := range a.Associations {
			if as.SubnetID == sub {
				assoc = as.ID
			}
		}
	}
	if _, err := e.c.EC2.ReplaceNetworkAclAssociation(e.ctx, &ec2.ReplaceNetworkAclAssociationInput{AssociationId: aws.String(assoc), NetworkAclId: aws.String(customID)}); err != nil {
		t.Fatal(err)
	}

	f, err := faults.New(e.ctx, e.c, e.topo, blackholeSpec("local-1a", "private"))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := f.Apply(e.ctx); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if _, err := e.c.EC2.DeleteNetworkAcl(e.ctx, &ec2.DeleteNetworkAclInput{NetworkAclId: aws.String(customID)}); err != nil {
		t.Fatalf("delete the original ACL: %v", err)
	}
	if err := f.Rollback(e.ctx); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	if got := e.aclOf(sub); got != def {
		t.Fatalf("subnet on %s, want the default ACL %s", got, def)
	}
	if n := f.(faults.Noter).Notes(); len(n) != 1 || !strings.Contains(n[0], customID) {
		t.Fatalf("notes %v", n)
	}
	if clone := f.Undo().(faults.BlackholeUndo).Clone; e.aclExists(clone) {
		t.Fatalf("clone %s still exists", clone)
	}
}
