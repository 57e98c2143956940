package runner

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/gameday-dev/gameday/faults"
	"github.com/gameday-dev/gameday/record"
	"github.com/gameday-dev/gameday/reports"
)

// TestGuardCountsOnlyServingInstances: during a scale-out the group's
// Pending instances serve nothing, so a fault that takes 2 of the 3
// InService instances is refused although the group lists 6; and a NaN
// share fails closed.
func TestGuardCountsOnlyServingInstances(t *testing.T) {
	t.Parallel()
	p := prepare(t, `name: scale-out
target: {kind: sandbox, sandbox: {profile: aws}}
load: {rate: 5, duration: 30s}
steady_state: {thresholds: ["success_ratio >= 0.9"], baseline: 5s, verify: 5s}
guards: {max_instance_share: 0.7}
faults:
  - {name: kill, kind: terminate-instances, at: 10s, targets: {count: 2}}
`)
	ctx := context.Background()
	if _, err := p.Clients.ASG.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{
		AutoScalingGroupName: aws.String(p.Topology.GroupName), DesiredCapacity: aws.Int32(6)}); err != nil {
		t.Fatal(err)
	}
	// The aws profile boots in 60s: the new instances stay Pending.
	pending := func() int {
		out, err := p.Clients.ASG.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{p.Topology.GroupName}})
		if err != nil || len(out.AutoScalingGroups) != 1 {
			t.Fatal(err)
		}
		return len(out.AutoScalingGroups[0].Instances)
	}
	deadline := time.Now().Add(30 * time.Second)
	for pending() < 6 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := pending(); n < 6 {
		t.Fatalf("the group lists %d instances, want 6 during the scale-out", n)
	}
	p.Experiment.Guards.MaxInstanceShare = 0.5
	err := p.checkGuards(ctx)
	var ge *GuardError
	if !errors.As(err, &ge) || !strings.Contains(ge.Msg, "would take 2 of the group's 3 instances") {
		t.Fatalf("want a guard refusal sized on the 3 InService instances, got %v", err)
	}
	p.Experiment.Guards.MaxInstanceShare = math.NaN()
	if err := p.checkGuards(ctx); !errors.As(err, &ge) || !strings.Contains(ge.Field, "guards.max_instance_share") {
		t.Fatalf("a NaN share must fail closed, got %v", err)
	}
}

// TestGuardsJudgedAgainRightBeforeInjecting: the plan takes 1 of 3
// instances, but by the fault's time another instance is already out of
// service (terminated behind the run's back, not yet replaced): taking one
// more would leave 1 of 3, so the fault is not injected, and the run says
// why.
func TestGuardsJudgedAgainRightBeforeInjecting(t *testing.T) {
	t.Parallel()
	p := prepare(t, `name: live
target: {kind: sandbox, sandbox: {profile: aws}}
load: {rate: 10, duration: 10s, timeout: 1s}
steady_state: {window: 1s, thresholds: ["success_ratio >= 0.1"], stable_for: 1, baseline: 2s, verify: 1s}
faults:
  - {name: kill, kind: terminate-instances, at: 5s, targets: {count: 1}}
`)
	target := p.Faults[0].Fault.Resources()[0]
	var other string
	for _, in := range inProcess(p).Region().Instances() {
		if in.ID != target && in.State == "running" {
			other = in.ID
			break
		}
	}
	if other == "" {
		t.Fatal("no other running instance")
	}
	time.AfterFunc(3500*time.Millisecond, func() {
		if _, err := p.Clients.EC2.TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{other}}); err != nil {
			t.Error(err)
		}
	})
	rec := p.Run(context.Background(), Options{JournalPath: filepath.Join(t.TempDir(), "journal.jsonl")})
	f := rec.Faults[0]
	if f.Injected || !strings.Contains(f.Skipped, "max_instance_share") {
		t.Fatalf("fault injected=%v skipped=%q; want it refused by the live guard (events %+v)", f.Injected, f.Skipped, rec.Events)
	}
	for _, in := range inProcess(p).Region().Instances() {
		if in.ID == target && in.State != "running" {
			t.Fatalf("the fault's target %s is %s", target, in.State)
		}
	}
}

// TestRollbackNotesReachTheRecord: the blackholed subnets' original ACL is
// deleted during the hold, so the rollback falls back to the VPC's default
// ACL. The note is in the fault's record, in the run's notes, in the
// table, and fails the clean_rollback gate (exit 1); with
// gates.clean_rollback: false the gate is not judged.
func TestRollbackNotesReachTheRecord(t *testing.T) {
	t.Parallel()
	const exp = `name: notes
target: {kind: sandbox}
load: {rate: 10, duration: 10s, timeout: 1s, max_workers: 16, max_connections: 16}
steady_state: {window: 1s, thresholds: ["success_ratio >= 0.1"], stable_for: 1, baseline: 2s, verify: 2s}
faults:
  - {name: outage, kind: az-blackhole, at: 3s, duration: 4s, targets: {az: local-1b}}
`
	for _, optOut := range []bool{false, true} {
		y := exp
		if optOut {
			y += "gates: {clean_rollback: false}\n"
		}
		ctx := context.Background()
		p := prepare(t, y)
		ec := p.Clients.EC2
		custom, err := ec.CreateNetworkAcl(ctx, &ec2.CreateNetworkAclInput{VpcId: aws.String(p.Topology.VPCID)})
		if err != nil {
			t.Fatal(err)
		}
		customID := aws.ToString(custom.NetworkAcl.NetworkAclId)
		for _, egress := range []bool{false, true} {
			if _, err := ec.CreateNetworkAclEntry(ctx, &ec2.CreateNetworkAclEntryInput{NetworkAclId: aws.String(customID), RuleNumber: aws.Int32(100),
				Protocol: aws.String("-1"), RuleAction: ec2types.RuleActionAllow, Egress: aws.Bool(egress), CidrBlock: aws.String("0.0.0.0/0")}); err != nil {
				t.Fatal(err)
			}
		}
		for _, sn := range p.Faults[0].Fault.Resources() {
			acls, err := ec.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{Filters: []ec2types.Filter{{Name: aws.String("association.subnet-id"), Values: []string{sn}}}})
			if err != nil || len(acls.NetworkAcls) != 1 {
				t.Fatalf("association of %s: %v", sn, err)
			}
			for _, as := range acls.NetworkAcls[0].Associations {
				if aws.ToString(as.SubnetId) == sn {
					if _, err := ec.ReplaceNetworkAclAssociation(ctx, &ec2.ReplaceNetworkAclAssociationInput{AssociationId: as.NetworkAclAssociationId, NetworkAclId: aws.String(customID)}); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		// Resolve the fault again, so that it records the custom ACL as original.
		nf, err := faults.New(ctx, p.Clients, p.Topology, p.Experiment.Faults[0])
		if err != nil {
			t.Fatal(err)
		}
		p.Faults[0].Fault = nf
		p2 := p
		time.AfterFunc(5*time.Second, func() { // mid-hold: the custom ACL is unused
			if _, err := ec.DeleteNetworkAcl(context.Background(), &ec2.DeleteNetworkAclInput{NetworkAclId: aws.String(customID)}); err != nil {
				t.Error(err)
			}
		})
		rec := p2.Run(ctx, Options{JournalPath: filepath.Join(t.TempDir(), "journal.jsonl")})
		f := rec.Faults[0]
		if len(f.RollbackNotes) == 0 || !strings.Contains(f.RollbackNotes[0], "original network ACL \""+customID+"\" is gone") {
			t.Fatalf("fault rollback notes %q", f.RollbackNotes)
		}
		if !strings.Contains(strings.Join(rec.Notes, "\n"), "outage: rollback: subnet") {
			t.Fatalf("run notes %q", rec.Notes)
		}
		for name, render := range map[string]func(io.Writer, *record.Run) error{
			"table": reports.Table, "markdown": reports.Markdown, "html": reports.HTML, "junit": reports.JUnit} {
			var b bytes.Buffer
			if err := render(&b, rec); err != nil || !strings.Contains(b.String(), "is gone; moved it to the VPC") {
				t.Fatalf("%s lacks the rollback note (%v):\n%s", name, err, b.String())
			}
		}
		var gate *bool
		for _, g := range rec.Gates {
			if g.Gate == "clean_rollback" {
				pass := g.Pass
				gate = &pass
			}
		}
		switch {
		case optOut && gate != nil:
			t.Fatalf("clean_rollback judged although opted out: %+v", rec.Gates)
		case optOut && rec.ExitCode != ExitPass:
			t.Fatalf("opted out: exit %d (%s): %s", rec.ExitCode, rec.Status, rec.Message)
		case !optOut && (gate == nil || *gate || rec.ExitCode != ExitGateFailed):
			t.Fatalf("clean_rollback: %+v; exit %d (%s): %s", rec.Gates, rec.ExitCode, rec.Status, rec.Message)
		}
	}
}

// TestLiveGuardKeepsAnAZUp: AZs local-1a and local-1b are already dark
// (deny-all ACLs applied behind the run's back, as another run would), so
// the run's own blackhole of local-1c, which the plan allowed, is not
// injected: every AZ would be dark at once.
func TestLiveGuardKeepsAnAZUp(t *testing.T) {
	t.Parallel()
	p := prepare(t, `name: last-az
target: {kind: sandbox}
load: {rate: 10, duration: 9s, timeout: 1s}
steady_state: {window: 1s, thresholds: ["success_ratio >= 0.1"], stable_for: 1, baseline: 2s, verify: 1s}
faults:
  - {name: c, kind: az-blackhole, at: 5s, duration: 2s, targets: {az: local-1c}}
`)
	ctx := context.Background()
	var others []faults.Fault
	for _, az := range []string{"local-1a", "local-1b"} {
		spec := p.Experiment.Faults[0]
		spec.Name, spec.Targets.AZ = "other-"+az, az
		f, err := faults.New(ctx, p.Clients, p.Topology, spec)
		if err != nil {
			t.Fatal(err)
		}
		others = append(others, f)
	}
	time.AfterFunc(3500*time.Millisecond, func() {
		for _, f := range others {
			if err := f.Apply(context.Background()); err != nil {
				t.Error(err)
			}
		}
	})
	rec := p.Run(ctx, Options{JournalPath: filepath.Join(t.TempDir(), "journal.jsonl")})
	for _, f := range others {
		if err := f.Rollback(ctx); err != nil {
			t.Error(err)
		}
	}
	f := rec.Faults[0]
	if f.Injected || !strings.Contains(f.Skipped, "would leave no AZ up") {
		t.Fatalf("fault injected=%v skipped=%q; want it refused by the live guard", f.Injected, f.Skipped)
	}
	if _, most := darkness(p, rec.StartedAt); most >= 3 {
		t.Fatal("every AZ was dark at once")
	}
}
