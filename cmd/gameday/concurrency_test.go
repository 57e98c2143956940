package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/gameday-dev/gameday/faults"
	"github.com/gameday-dev/gameday/internal/testutil"
)

// The concurrency suite: two and three `gameday` processes against one
// `gameday sandbox` child process (the way two pipelines or two teams meet
// in one AWS account). Whatever the order in which they start, crash and
// roll back, the account must end exactly as it began: ACL set and
// associations, the group's desired capacity, the database, and no
// gameday tag (lease, decrement) left on a subnet or the group.

// accountState is state plus every gameday tag on subnets and the group.
type accountState struct {
	state
	Tags []string
}

func (a accountState) String() string {
	return a.state.String() + fmt.Sprintf(" gameday-tags=%v", a.Tags)
}

func (s *extSandbox) account(t *testing.T) accountState {
	t.Helper()
	ctx := context.Background()
	a := accountState{state: s.state(t)}
	sn, err := s.c.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range sn.Subnets {
		for _, tg := range x.Tags {
			if k := aws.ToString(tg.Key); strings.HasPrefix(k, "gameday:lease") || strings.HasPrefix(k, "gameday:decrement") {
				a.Tags = append(a.Tags, aws.ToString(x.SubnetId)+":"+k)
			}
		}
	}
	g, err := s.c.ASG.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range g.AutoScalingGroups[0].Tags {
		if k := aws.ToString(tg.Key); strings.HasPrefix(k, "gameday:lease") || strings.HasPrefix(k, "gameday:decrement") {
			a.Tags = append(a.Tags, "group:"+k)
		}
	}
	sort.Strings(a.Tags)
	return a
}

func (a accountState) equal(b accountState) bool { return a.String() == b.String() }

// The terminate picks in local-1a, so that a blackhole of local-1b in the
// same run does not get its planned instance replaced (the group replaces
// instances the load balancer finds unhealthy) before it applies.

// concExperiment writes a short experiment (12 s of load) with the given
// faults section into dir.
func concExperiment(t *testing.T, dir, endpoint, name, faultsYAML string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	y := fmt.Sprintf(`name: %s
target:
  kind: sandbox
  sandbox: {endpoint: %q}
load:
  rate: 10
  duration: 12s
  timeout: 1s
  max_workers: 16
  max_connections: 16
steady_state:
  window: 1s
  thresholds: ["success_ratio >= 0.5"]
  stable_for: 1
  baseline: 2s
  verify: 2s
guards:
  max_instance_share: 0.7
faults:%s
`, name, endpoint, faultsYAML)
	p := filepath.Join(dir, "exp.yaml")
	if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func blackholeYAML(az string) string {
	return fmt.Sprintf(`
  - name: dark-%s
    kind: az-blackhole
    at: 3s
    duration: 6s
    targets: {az: %s}`, az, az)
}

const decrementYAML = `
  - name: shrink
    kind: terminate-instances
    via: autoscaling
    decrement: true
    at: 3s
    targets: {count: 1, az: local-1a}`

// gameday runs a gameday subcommand in dir and returns its exit code and
// combined output.
func gamedayIn(t *testing.T, dir string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(gamedayBinary(t), args...)
	cmd.Dir = dir
	out, _ := cmd.CombinedOutput()
	return cmd.ProcessState.ExitCode(), string(out)
}

// settleGroup waits until the group has as many InService instances as
// its desired capacity (terminated instances replaced).
func (s *extSandbox) settleGroup(t *testing.T) {
	t.Helper()
	testutil.Eventually(t, 40*time.Second, "group back in service", func() bool {
		g, err := s.c.ASG.DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{})
		if err != nil {
			return false
		}
		n := 0
		for _, in := range g.AutoScalingGroups[0].Instances {
			if in.LifecycleState == "InService" {
				n++
			}
		}
		return n == int(aws.ToInt32(g.AutoScalingGroups[0].DesiredCapacity))
	})
}

// scenarios bounds how many scenarios run at once: each has a sandbox and
// up to three gameday processes, and CI machines have few cores.
var scenarios = make(chan struct{}, 3)

func slot(t *testing.T) {
	scenarios <- struct{}{}
	t.Cleanup(func() { <-scenarios })
}

func concSandbox(t *testing.T) *extSandbox {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "sandbox.yaml")
	if err := os.WriteFile(cfg, []byte("region:\n  group: {min: 1, desired: 4, max: 8}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return startSandbox(t, "--config", cfg)
}

// refusedFor checks that a run was refused (exit 2) naming what holds the
// resource.
func refusedFor(t *testing.T, c *child, want ...string) {
	t.Helper()
	if c.code != 2 {
		t.Fatalf("exit %d, want 2 (refused)\nstderr:\n%s", c.code, c.stderrText())
	}
	for _, w := range want {
		if !strings.Contains(c.stderrText(), w) {
			t.Fatalf("the refusal does not say %q:\n%s", w, c.stderrText())
		}
	}
}

func TestConcurrentRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("runs several gameday processes for about two minutes")
	}

	t.Run("same AZ: the second run is refused, naming the holder", func(t *testing.T) {
		t.Parallel()
		slot(t)
		sb := concSandbox(t)
		before := sb.account(t)
		root := t.TempDir()
		da, db := filepath.Join(root, "a"), filepath.Join(root, "b")
		a := startRun(t, concExperiment(t, da, sb.endpoint, "team-a", blackholeYAML("local-1b")), da)
		testutil.Eventually(t, 30*time.Second, "run a to apply", func() bool { return journalHas(filepath.Join(da, "journal.jsonl"), "applied", "dark-local-1b") })
		b := startRun(t, concExperiment(t, db, sb.endpoint, "team-b", blackholeYAML("local-1b")), db)
		b.wait(t, 30*time.Second)
		refusedFor(t, b, "leased by another live gameday run", "team-a")
		if code := a.wait(t, 60*time.Second); code != 0 {
			t.Fatalf("run a: exit %d\n%s", code, a.stderrText())
		}
		if after := sb.account(t); !after.equal(before) {
			t.Fatalf("after two runs on one AZ:\n got %s\nwant %s", after, before)
		}
	})

	t.Run("same AZ started together, three runs: at most one faults it", func(t *testing.T) {
		t.Parallel()
		slot(t)
		sb := concSandbox(t)
		before := sb.account(t)
		root := t.TempDir()
		var cs []*child
		for i := range 3 {
			d := filepath.Join(root, fmt.Sprint(i))
			cs = append(cs, startRun(t, concExperiment(t, d, sb.endpoint, fmt.Sprintf("team-%d", i), blackholeYAML("local-1c")), d))
		}
		passed := 0
		for i, c := range cs {
			switch code := c.wait(t, 60*time.Second); code {
			case 0:
				passed++
			case 2:
				if !strings.Contains(c.stderrText(), "leased by another live gameday run") {
					t.Fatalf("run %d refused without naming the holder:\n%s", i, c.stderrText())
				}
			default:
				t.Fatalf("run %d: exit %d\n%s", i, code, c.stderrText())
			}
		}
		if passed > 1 {
			t.Fatalf("%d runs faulted the same AZ at once", passed)
		}
		if after := sb.account(t); !after.equal(before) {
			t.Fatalf("after three runs on one AZ:\n got %s\nwant %s", after, before)
		}
	})

	t.Run("different AZs: both run", func(t *testing.T) {
		t.Parallel()
		slot(t)
		sb := concSandbox(t)
		before := sb.account(t)
		root := t.TempDir()
		da, db := filepath.Join(root, "a"), filepath.Join(root, "b")
		a := startRun(t, concExperiment(t, da, sb.endpoint, "team-a", blackholeYAML("local-1a")), da)
		b := startRun(t, concExperiment(t, db, sb.endpoint, "team-b", blackholeYAML("local-1b")), db)
		for name, c := range map[string]*child{"a": a, "b": b} {
			if code := c.wait(t, 60*time.Second); code != 0 {
				t.Fatalf("run %s: exit %d\n%s", name, code, c.stderrText())
			}
		}
		if after := sb.account(t); !after.equal(before) {
			t.Fatalf("after runs on two AZs:\n got %s\nwant %s", after, before)
		}
	})

	t.Run("same group: one decrementing terminate at a time", func(t *testing.T) {
		t.Parallel()
		slot(t)
		sb := concSandbox(t)
		before := sb.account(t)
		root := t.TempDir()
		da, db := filepath.Join(root, "a"), filepath.Join(root, "b")
		a := startRun(t, concExperiment(t, da, sb.endpoint, "team-a", decrementYAML), da)
		b := startRun(t, concExperiment(t, db, sb.endpoint, "team-b", decrementYAML), db)
		codes := []int{a.wait(t, 60*time.Second), b.wait(t, 60*time.Second)}
		slices.Sort(codes)
		if codes[0] != 0 || codes[1] != 2 {
			t.Fatalf("exit codes %v, want one 0 and one 2\na:\n%s\nb:\n%s", codes, a.stderrText(), b.stderrText())
		}
		sb.settleGroup(t)
		if after := sb.account(t); !after.equal(before) {
			t.Fatalf("after two terminates on one group:\n got %s\nwant %s", after, before)
		}
	})

	t.Run("crash then rerun: refused until gameday rollback", func(t *testing.T) {
		t.Parallel()
		slot(t)
		sb := concSandbox(t)
		before := sb.account(t)
		root := t.TempDir()
		// Two runs crash while their faults are held: one blackholes
		// local-1b, the other has decremented the group.
		var journals []string
		for _, f := range []struct{ name, yaml, fault string }{{"team-a", blackholeYAML("local-1b"), "dark-local-1b"}, {"team-a2", decrementYAML, "shrink"}} {
			d := filepath.Join(root, f.name)
			jr := filepath.Join(d, "journal.jsonl")
			c := startRun(t, concExperiment(t, d, sb.endpoint, f.name, f.yaml), d)
			testutil.Eventually(t, 30*time.Second, f.name+" to apply", func() bool { return journalHas(jr, "applied", f.fault) })
			_ = c.cmd.Process.Signal(syscall.SIGKILL)
			c.wait(t, 10*time.Second)
			journals = append(journals, jr)
		}

		// A fresh run on the same AZ or group must not read the crashed
		// runs' deny-all clone or decrement as "originals".
		db := filepath.Join(root, "b")
		for _, f := range []struct{ yaml, says string }{{blackholeYAML("local-1b"), "deny-all network ACL"}, {decrementYAML, "still decremented"}} {
			exp := concExperiment(t, db, sb.endpoint, "team-b", f.yaml)
			code, out := gamedayIn(t, db, "plan", exp)
			if code != 2 || !strings.Contains(out, "gameday rollback") || !strings.Contains(out, f.says) {
				t.Fatalf("plan after a crash: exit %d, want 2 saying %q and offering gameday rollback\n%s", code, f.says, out)
			}
			b := startRun(t, exp, db)
			b.wait(t, 30*time.Second)
			refusedFor(t, b, "gameday rollback", f.says)
		}
		expB := concExperiment(t, db, sb.endpoint, "team-b", blackholeYAML("local-1b")+decrementYAML)

		// Meanwhile the group scaled out by 2: the rollback gives back the
		// one instance taken on top of that, not the desired capacity seen
		// at apply time.
		g, err := sb.c.ASG.DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{})
		if err != nil {
			t.Fatal(err)
		}
		name, desired := aws.ToString(g.AutoScalingGroups[0].AutoScalingGroupName), aws.ToInt32(g.AutoScalingGroups[0].DesiredCapacity)
		if desired != before.Desired-1 {
			t.Fatalf("desired %d after the crash, want %d", desired, before.Desired-1)
		}
		setDesired := func(n int32) {
			t.Helper()
			if _, err := sb.c.ASG.SetDesiredCapacity(context.Background(), &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String(name), DesiredCapacity: aws.Int32(n)}); err != nil {
				t.Fatal(err)
			}
		}
		setDesired(desired + 2)
		code, out := gamedayIn(t, root, "rollback", "--journal", journals[0], "--journal", journals[1])
		if code != 0 {
			t.Fatalf("gameday rollback: exit %d\n%s", code, out)
		}
		if !strings.Contains(out, "gave back 1") || !strings.Contains(out, "changed since the fault") {
			t.Fatalf("the rollback does not say it gave back relatively:\n%s", out)
		}
		after := sb.account(t)
		if after.Desired != before.Desired+2 {
			t.Fatalf("desired %d after rollback, want %d (the scale-out kept, the one taken given back)\n%s", after.Desired, before.Desired+2, out)
		}
		setDesired(before.Desired)
		sb.settleGroup(t)

		b2 := startRun(t, expB, db)
		if code := b2.wait(t, 60*time.Second); code != 0 {
			t.Fatalf("rerun after gameday rollback: exit %d\n%s", code, b2.stderrText())
		}
		sb.settleGroup(t)
		if after := sb.account(t); !after.equal(before) {
			t.Fatalf("after crash, rollback and rerun:\n got %s\nwant %s", after, before)
		}
	})

	t.Run("sweep during a live run leaves its blackhole alone", func(t *testing.T) {
		t.Parallel()
		slot(t)
		sb := concSandbox(t)
		before := sb.account(t)
		root := t.TempDir()
		da, other := filepath.Join(root, "a"), filepath.Join(root, "teammate")
		if err := os.MkdirAll(other, 0o755); err != nil {
			t.Fatal(err)
		}
		exp := concExperiment(t, da, sb.endpoint, "team-a", blackholeYAML("local-1b"))
		a := startRun(t, exp, da)
		testutil.Eventually(t, 30*time.Second, "run a to apply", func() bool { return journalHas(filepath.Join(da, "journal.jsonl"), "applied", "dark-local-1b") })
		dark := sb.account(t)
		code, out := gamedayIn(t, other, "rollback", "--sweep", "--target", exp)
		if code != 0 || !strings.Contains(out, "belongs to a live run") {
			t.Fatalf("sweep during a live run: exit %d\n%s", code, out)
		}
		if now := sb.account(t); !now.equal(dark) {
			t.Fatalf("the sweep changed a live run's fault:\n got %s\nwant %s\n%s", now, dark, out)
		}
		if code := a.wait(t, 60*time.Second); code != 0 {
			t.Fatalf("run a: exit %d\n%s", code, a.stderrText())
		}
		if after := sb.account(t); !after.equal(before) {
			t.Fatalf("after the run:\n got %s\nwant %s", after, before)
		}
	})

	t.Run("rollback of two journals, in either order", func(t *testing.T) {
		t.Parallel()
		slot(t)
		sb := concSandbox(t)
		for _, order := range []string{"older first", "newer first"} {
			t.Run(order, func(t *testing.T) {
				twoJournals(t, sb, order == "older first")
			})
		}
	})
}

// twoJournals reproduces what two overlapping runs on one AZ left behind
// before leases existed: run A moved the subnets from their custom ACL to
// its clone CA and crashed; run B then moved them from CA to its clone CB,
// recording CA as the "original", and crashed too. Run A is the real
// binary; B's journal and clone are written as that version wrote them.
// Rolling back both journals must end on the custom ACL whatever order
// the files are given in.
func twoJournals(t *testing.T, sb *extSandbox, olderFirst bool) {
	ctx := context.Background()
	ec := sb.c.EC2
	subnets, err := ec.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("availability-zone"), Values: []string{"local-1b"}}}})
	if err != nil || len(subnets.Subnets) == 0 {
		t.Fatalf("subnets: %v", err)
	}
	vpc := aws.ToString(subnets.Subnets[0].VpcId)
	newACL := func(tags ...ec2types.Tag) string {
		t.Helper()
		in := &ec2.CreateNetworkAclInput{VpcId: aws.String(vpc)}
		if len(tags) > 0 {
			in.TagSpecifications = []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeNetworkAcl, Tags: tags}}
		}
		a, err := ec.CreateNetworkAcl(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(a.NetworkAcl.NetworkAclId)
	}
	assocOf := func(subnet string) (acl, assoc string) {
		t.Helper()
		acls, err := ec.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{Filters: []ec2types.Filter{{Name: aws.String("association.subnet-id"), Values: []string{subnet}}}})
		if err != nil || len(acls.NetworkAcls) != 1 {
			t.Fatalf("association of %s: %v", subnet, err)
		}
		for _, as := range acls.NetworkAcls[0].Associations {
			if aws.ToString(as.SubnetId) == subnet {
				return aws.ToString(acls.NetworkAcls[0].NetworkAclId), aws.ToString(as.NetworkAclAssociationId)
			}
		}
		t.Fatalf("no association for %s", subnet)
		return "", ""
	}
	move := func(subnet, to string) {
		t.Helper()
		_, assoc := assocOf(subnet)
		if _, err := ec.ReplaceNetworkAclAssociation(ctx, &ec2.ReplaceNetworkAclAssociationInput{AssociationId: aws.String(assoc), NetworkAclId: aws.String(to)}); err != nil {
			t.Fatal(err)
		}
	}
	custom := newACL()
	var ids []string
	for _, sn := range subnets.Subnets {
		ids = append(ids, aws.ToString(sn.SubnetId))
	}
	origin := map[string]string{}
	for _, id := range ids {
		origin[id], _ = assocOf(id)
		move(id, custom)
	}
	defer func() {
		for _, id := range ids {
			move(id, origin[id])
		}
		if _, err := ec.DeleteNetworkAcl(ctx, &ec2.DeleteNetworkAclInput{NetworkAclId: aws.String(custom)}); err != nil {
			t.Errorf("clean up the custom ACL: %v", err)
		}
	}()
	before := sb.account(t)

	root := t.TempDir()
	da := filepath.Join(root, "a")
	jrA := filepath.Join(da, "journal.jsonl")
	a := startRun(t, concExperiment(t, da, sb.endpoint, "team-a", blackholeYAML("local-1b")), da)
	testutil.Eventually(t, 30*time.Second, "run a to apply", func() bool { return journalHas(jrA, "applied", "dark-local-1b") })
	_ = a.cmd.Process.Signal(syscall.SIGKILL)
	a.wait(t, 10*time.Second)
	pa, err := faults.ReadPending(jrA)
	if err != nil || len(pa) != 1 {
		t.Fatalf("journal a: %v %v", pa, err)
	}
	var ua faults.BlackholeUndo
	if err := json.Unmarshal(pa[0].Undo, &ua); err != nil {
		t.Fatal(err)
	}

	// Run B, as the version without leases ran it.
	const tokB = "b0b0b0b0b0b0b0b0"
	cb := newACL(ec2types.Tag{Key: aws.String(faults.TagToken), Value: aws.String(tokB)}, ec2types.Tag{Key: aws.String(faults.TagExperiment), Value: aws.String("team-b-old")})
	ub := faults.BlackholeUndo{VPC: vpc, AZ: "local-1b", Tier: "all", Token: tokB, Run: "team-b-old", Clone: cb}
	for _, id := range ids {
		if acl, _ := assocOf(id); acl != ua.Clone {
			t.Fatalf("subnet %s on %s, want run a's clone %s", id, acl, ua.Clone)
		}
		ub.Subnets = append(ub.Subnets, faults.SubnetRecord{ID: id, OriginalACL: ua.Clone, Moved: true})
		move(id, cb)
	}
	undo, _ := json.Marshal(ub)
	began := pa[0].Began.Add(time.Second)
	eb := faults.Entry{ID: "team-b-old-0001", Run: "team-b-old", Time: began, Fault: "dark-local-1b", Kind: faults.KindAZBlackhole,
		Targets: ids, Undo: undo, State: faults.StateApplied, Target: pa[0].Target}
	line, _ := json.Marshal(eb)
	jrB := filepath.Join(root, "b", "journal.jsonl")
	if err := os.MkdirAll(filepath.Dir(jrB), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(jrB, append(line, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}

	args := []string{"rollback", "--journal", jrA, "--journal", jrB}
	if !olderFirst {
		args = []string{"rollback", "--journal", jrB, "--journal", jrA}
	}
	code, out := gamedayIn(t, root, args...)
	if code != 0 {
		t.Fatalf("gameday rollback: exit %d\n%s", code, out)
	}
	if after := sb.account(t); !after.equal(before) {
		t.Fatalf("after rolling back two journals (%s):\n got %s\nwant %s\n%s", strings.Join(args[1:], " "), after, before, out)
	}
}
