package faults_test

import (
	"encoding/json"

	"errors"
	"github.com/aws/smithy-go"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/faults"
)

func TestLeaseAcquireRefuseRelease(t *testing.T) {
	e := start(t, "", nil)
	sub := faults.Resource{Kind: faults.ResSubnet, ID: e.topo.Subnets[0].ID}
	grp := faults.Resource{Kind: faults.ResGroup, ID: e.topo.GroupName}
	rs := []faults.Resource{sub, grp}

	a := faults.NewLease("run-a", time.Minute)
	if err := faults.Acquire(e.ctx, e.c, rs, a); err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	// Another run (this process counts as live) is refused, naming a.
	b := faults.NewLease("run-b", time.Minute)
	err := faults.Acquire(e.ctx, e.c, []faults.Resource{grp}, b)
	var held *faults.HeldError
	if !errors.As(err, &held) || held.Holder.Run != "run-a" || !strings.Contains(err.Error(), "run-a") {
		t.Fatalf("second Acquire: %v, want a HeldError naming run-a", err)
	}
	ls, err := faults.ReadLeases(e.ctx, e.c, rs)
	if err != nil || len(ls[sub]) != 1 || len(ls[grp]) != 1 || ls[grp][0].ID != a.ID {
		t.Fatalf("leases %v (%v): want only a's, b backed off", ls, err)
	}
	// Planning (CheckHeld) refuses too, and a fault's New does.
	if err := faults.CheckHeld(e.ctx, e.c, rs, ""); !faults.Refused(err) {
		t.Fatalf("CheckHeld: %v", err)
	}
	_, err = faults.New(e.ctx, e.c, e.topo, experiments.Fault{Name: "kill", Kind: faults.KindTerminateInstances})
	if !errors.As(err, &held) {
		t.Fatalf("New on a leased group: %v, want a HeldError", err)
	}
	if err := faults.Release(e.ctx, e.c, rs, a.ID); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if ls, _ := faults.ReadLeases(e.ctx, e.c, rs); len(ls[sub])+len(ls[grp]) != 0 {
		t.Fatalf("leases after Release: %v", ls)
	}

	// An expired lease, or one whose process is gone, is not live.
	now := time.Now()
	old := faults.NewLease("run-old", time.Minute)
	old.Expires = now.Add(-time.Second)
	if old.Live(now) {
		t.Fatal("an expired lease is live")
	}
	dead := faults.NewLease("run-dead", time.Minute)
	dead.PID = 1 << 22 // above the default pid_max: no such process
	if dead.Live(now) {
		t.Fatal("the lease of a process that is gone is live")
	}
	for _, l := range []faults.Lease{old, dead} {
		if _, err := e.c.EC2.CreateTags(e.ctx, &ec2.CreateTagsInput{Resources: []string{sub.ID}, Tags: []ec2types.Tag{{Key: aws.String(l.Key()), Value: aws.String(l.Value())}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := faults.CheckHeld(e.ctx, e.c, rs, ""); err != nil {
		t.Fatalf("dead leases held: %v", err)
	}
	parsed, ok := faults.ParseLease(dead.Key(), dead.Value())
	if !ok || parsed.Run != "run-dead" || parsed.PID != dead.PID || parsed.Host != dead.Host || parsed.Expires.Unix() != dead.Expires.Unix() {
		t.Fatalf("ParseLease(%q) = %+v %v", dead.Value(), parsed, ok)
	}
	if h, _ := os.Hostname(); parsed.Host != h {
		t.Fatalf("host %q, want %q", parsed.Host, h)
	}
}

// The sandbox's tag calls follow AWS: EC2 DeleteTags deletes a key whatever
// its value unless a value is given; Auto Scaling tags need ResourceType
// auto-scaling-group and an existing group (ValidationError otherwise).
func TestSandboxTagCalls(t *testing.T) {
	e := start(t, "", nil)
	sub := e.topo.Subnets[0].ID
	tag := func(k, v string) ec2types.Tag { return ec2types.Tag{Key: aws.String(k), Value: aws.String(v)} }
	if _, err := e.c.EC2.CreateTags(e.ctx, &ec2.CreateTagsInput{Resources: []string{sub}, Tags: []ec2types.Tag{tag("a", "1"), tag("b", "2")}}); err != nil {
		t.Fatal(err)
	}
	// Value mismatch: kept; key only: deleted.
	if _, err := e.c.EC2.DeleteTags(e.ctx, &ec2.DeleteTagsInput{Resources: []string{sub}, Tags: []ec2types.Tag{tag("a", "other"), {Key: aws.String("b")}}}); err != nil {
		t.Fatal(err)
	}
	out, err := e.c.EC2.DescribeSubnets(e.ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{sub}})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]string{}
	for _, tg := range out.Subnets[0].Tags {
		have[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if have["a"] != "1" || have["b"] != "" {
		t.Fatalf("tags after DeleteTags: %v", have)
	}
	_, err = e.c.EC2.DeleteTags(e.ctx, &ec2.DeleteTagsInput{Resources: []string{"subnet-0000000000000000f"}, Tags: []ec2types.Tag{{Key: aws.String("a")}}})
	if code := errCodeOf(err); code != "InvalidSubnetID.NotFound" {
		t.Fatalf("DeleteTags on an unknown subnet: %v", err)
	}

	gt := func(group, typ, k, v string) asgtypes.Tag {
		return asgtypes.Tag{ResourceId: aws.String(group), ResourceType: aws.String(typ), Key: aws.String(k), Value: aws.String(v), PropagateAtLaunch: aws.Bool(false)}
	}
	if _, err := e.c.ASG.CreateOrUpdateTags(e.ctx, &autoscaling.CreateOrUpdateTagsInput{Tags: []asgtypes.Tag{gt(e.topo.GroupName, "auto-scaling-group", "team", "sre")}}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []asgtypes.Tag{gt("no-such-group", "auto-scaling-group", "k", "v"), gt(e.topo.GroupName, "instance", "k", "v")} {
		_, err := e.c.ASG.CreateOrUpdateTags(e.ctx, &autoscaling.CreateOrUpdateTagsInput{Tags: []asgtypes.Tag{bad}})
		if errCodeOf(err) != "ValidationError" {
			t.Fatalf("CreateOrUpdateTags %s/%s: %v, want ValidationError", aws.ToString(bad.ResourceId), aws.ToString(bad.ResourceType), err)
		}
	}
	if _, err := e.c.ASG.DeleteTags(e.ctx, &autoscaling.DeleteTagsInput{Tags: []asgtypes.Tag{{ResourceId: aws.String(e.topo.GroupName), ResourceType: aws.String("auto-scaling-group"), Key: aws.String("team")}}}); err != nil {
		t.Fatal(err)
	}
	g, err := e.c.ASG.DescribeAutoScalingGroups(e.ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range g.AutoScalingGroups[0].Tags {
		if aws.ToString(tg.Key) == "team" {
			t.Fatal("the group's tag survived DeleteTags")
		}
	}
}

// A decrementing terminate gives back what it took, relative to the
// desired capacity at rollback time (a scale-out since is kept), within
// max, saying so; from the journal, a second rollback gives nothing.
func TestTerminateRelativeRestore(t *testing.T) {
	e := start(t, "", nil) // group min 2, desired 3, max 6
	spec := experiments.Fault{Name: "shrink", Kind: faults.KindTerminateInstances, Params: map[string]any{"via": "autoscaling", "decrement": true}}
	f, err := faults.New(e.ctx, e.c, e.topo, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Apply(e.ctx); err != nil {
		t.Fatal(err)
	}
	if d := e.desired(); d != 2 {
		t.Fatalf("desired %d after the decrement, want 2", d)
	}
	// A later plan on the group sees the decrement owed (once the lease
	// is out of the way: there is none here, the fault was applied bare).
	_, err = faults.New(e.ctx, e.c, e.topo, spec)
	var left *faults.LeftoverError
	if !errors.As(err, &left) || !strings.Contains(err.Error(), "gameday rollback") {
		t.Fatalf("plan with a decrement owed: %v, want a LeftoverError offering gameday rollback", err)
	}
	// Scale out meanwhile to 5: rollback gives back 1 → 6 (max).
	if _, err := e.c.ASG.SetDesiredCapacity(e.ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String(e.topo.GroupName), DesiredCapacity: aws.Int32(5)}); err != nil {
		t.Fatal(err)
	}
	undo := f.Undo()
	if err := f.Rollback(e.ctx); err != nil {
		t.Fatal(err)
	}
	if d := e.desired(); d != 6 {
		t.Fatalf("desired %d after rollback, want 6 (5 now + 1 taken)", d)
	}
	notes := strings.Join(f.(faults.Noter).Notes(), "\n")
	if !strings.Contains(notes, "gave back 1") || !strings.Contains(notes, "changed since the fault") {
		t.Fatalf("notes do not say how the capacity was given back:\n%s", notes)
	}
	// The same entry restored from a journal (as after a crash between the
	// give-back and marking it done) gives nothing more.
	raw, _ := jsonRaw(undo)
	g, err := faults.Restore(e.c, faults.Entry{ID: "x", Kind: faults.KindTerminateInstances, Fault: "shrink", Undo: raw})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Rollback(e.ctx); err != nil {
		t.Fatal(err)
	}
	if d := e.desired(); d != 6 {
		t.Fatalf("desired %d after a second rollback, want 6 (nothing owed)", d)
	}
	if _, err := faults.New(e.ctx, e.c, e.topo, spec); err != nil && !strings.Contains(err.Error(), "decrement") {
		t.Fatalf("plan after the give-back: %v", err)
	} else if err != nil {
		t.Fatalf("the decrement tag is still on the group: %v", err)
	}
}

func errCodeOf(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func jsonRaw(v any) (json.RawMessage, error) { return json.Marshal(v) }

func TestLeaseOnDatabase(t *testing.T) {
	for _, kind := range []string{"instance", "cluster"} {
		t.Run(kind, func(t *testing.T) {
			e := start(t, kind, nil)
			spec := experiments.Fault{Name: "failover", Kind: faults.KindDBFailover}
			f, err := faults.New(e.ctx, e.c, e.topo, spec)
			if err != nil {
				t.Fatal(err)
			}
			rs := f.(faults.Leaser).Leases()
			if len(rs) != 1 {
				t.Fatalf("leases %v", rs)
			}
			l := faults.NewLease("run-db", time.Minute)
			if err := faults.Acquire(e.ctx, e.c, rs, l); err != nil {
				t.Fatalf("Acquire: %v", err)
			}
			_, err = faults.New(e.ctx, e.c, e.topo, spec)
			var held *faults.HeldError
			if !errors.As(err, &held) || held.Holder.Run != "run-db" {
				t.Fatalf("plan on a leased database: %v", err)
			}
			if err := faults.Release(e.ctx, e.c, rs, l.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := faults.New(e.ctx, e.c, e.topo, spec); err != nil {
				t.Fatalf("plan after release: %v", err)
			}
		})
	}
}

// With the journal lost, a sweep finds the decrement tag on the group and
// gives back what was taken, relative to now; a live run's lease on the
// group makes it leave the group alone.
func TestSweepDecrements(t *testing.T) {
	e := start(t, "", nil) // min 2, desired 3, max 6
	f, err := faults.New(e.ctx, e.c, e.topo, experiments.Fault{Name: "shrink", Kind: faults.KindTerminateInstances, Params: map[string]any{"via": "autoscaling", "decrement": true}})
	if err != nil {
		t.Fatal(err)
	}
	f.(faults.RunTagger).SetRun("lost-run")
	if err := f.Apply(e.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.ASG.SetDesiredCapacity(e.ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String(e.topo.GroupName), DesiredCapacity: aws.Int32(4)}); err != nil {
		t.Fatal(err)
	}
	grp := []faults.Resource{{Kind: faults.ResGroup, ID: e.topo.GroupName}}
	l := faults.NewLease("live-run", time.Minute)
	if err := faults.Acquire(e.ctx, e.c, grp, l); err != nil {
		t.Fatal(err)
	}
	found, err := faults.SweepDecrements(e.ctx, e.c, nil)
	if err != nil || len(found) != 1 || found[0].Skipped == "" || e.desired() != 4 {
		t.Fatalf("sweep under a live lease: %+v (%v), desired %d", found, err, e.desired())
	}
	if err := faults.Release(e.ctx, e.c, grp, l.ID); err != nil {
		t.Fatal(err)
	}
	found, err = faults.SweepDecrements(e.ctx, e.c, nil)
	if err != nil || len(found) != 1 || found[0].Err != nil || found[0].Run != "lost-run" {
		t.Fatalf("sweep: %+v (%v)", found, err)
	}
	if d := e.desired(); d != 5 {
		t.Fatalf("desired %d after the sweep, want 5 (4 now + 1 taken)", d)
	}
	if found, err := faults.SweepDecrements(e.ctx, e.c, nil); err != nil || len(found) != 0 {
		t.Fatalf("second sweep: %+v (%v)", found, err)
	}
}
