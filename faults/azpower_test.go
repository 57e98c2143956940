package faults_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/faults"
	"github.com/gameday-dev/gameday/sandbox/sim"
)

// powerState is what an az-power-interruption changes and its rollback
// restores: the AZ's subnets' ACLs and the armed launch failures. (The
// stopped instances are replaced by the group; the failover is not
// undone; the tests below check both.)
func powerState(az string) func(e *env) string {
	return func(e *env) string {
		var b strings.Builder
		for _, s := range e.subnetsIn(az) {
			b.WriteString(s + "=" + e.aclOf(s) + " ")
		}
		return b.String() + "launch-failures[" + e.launchFailuresOf() + "]"
	}
}

func init() {
	contracts[faults.KindAZPowerInterruption] = contract{
		spec: experiments.Fault{Name: "power", Duration: 30 * time.Second, Targets: experiments.Selector{AZ: "local-1a"}},
		// Half-way: the instances are stopped, the blackhole's second
		// subnet move fails.
		midService: "ec2", midAction: "ReplaceNetworkAclAssociation", midN: 2,
		state: powerState("local-1a"),
	}
}

func (e *env) writerAZ() string {
	for _, d := range e.sb.Region().DBInstances() {
		if d.ClusterID == "" {
			return d.AZ
		}
	}
	return ""
}

// The whole scenario on the sandbox, rolled back by a fault restored from
// its journal record (as `gameday rollback` does after a crash).
func TestAZPowerInterruption(t *testing.T) {
	e := start(t, "", nil)
	az := e.writerAZ()
	before := powerState(az)(e)
	f := mustNew(t, e, experiments.Fault{Name: "power", Kind: faults.KindAZPowerInterruption, Duration: 20 * time.Second, Targets: experiments.Selector{AZ: az}})
	d := f.Describe()
	for _, want := range []string{"power interruption in " + az, "(1) stop ", "(2) ", "(3) fail the launches", "(4) "} {
		if !strings.Contains(d, want) {
			t.Fatalf("plan %q lacks %q", d, want)
		}
	}
	if c, ok := f.(faults.AZCutter); !ok || c.CutsAZ() != az {
		t.Fatal("az-power-interruption must count as cutting its AZ off")
	}
	group, taken := f.(faults.InstanceTaker).TakesInstances()
	var inAZ []string
	for _, in := range e.sb.Region().AutoScalingGroups()[0].Instances {
		if in.AZ == az {
			inAZ = append(inAZ, in.InstanceID)
		}
	}
	if group == "" || strings.Join(taken, ",") != strings.Join(inAZ, ",") {
		t.Fatalf("takes %s %v, want the AZ's members %v", group, taken, inAZ)
	}
	m := e.mark()
	if err := f.Apply(e.ctx); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	// Applied in order: stop, blackhole, launch failures (no API call),
	// failover.
	var order []string
	for _, c := range e.mutatingSince(m) {
		switch c {
		case "ec2/StopInstances", "ec2/CreateNetworkAcl", "rds/RebootDBInstance":
			order = append(order, c)
		}
	}
	if strings.Join(order, " ") != "ec2/StopInstances ec2/CreateNetworkAcl rds/RebootDBInstance" {
		t.Fatalf("mutating calls in order %v", order)
	}
	for _, id := range inAZ {
		if s := e.instance(id).State; s == sim.StateRunning || s == sim.StatePending {
			t.Fatalf("%s in %s still %s", id, az, s)
		}
	}
	if got := powerState(az)(e); got == before || !strings.Contains(got, az) {
		t.Fatalf("after Apply: %s (before %s)", got, before)
	}

	raw, err := json.Marshal(f.Undo())
	if err != nil {
		t.Fatal(err)
	}
	r, err := faults.Restore(e.c, faults.Entry{ID: "e1", Fault: f.Name(), Kind: f.Kind(), Undo: raw})
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if err := r.Rollback(e.ctx); err != nil {
		t.Fatalf("Rollback of the restored fault: %v", err)
	}
	if got := powerState(az)(e); got != before {
		t.Fatalf("after Rollback: %s, want %s", got, before)
	}
	if w := e.writerAZ(); w == az {
		t.Fatalf("after the power interruption the writer is in %s again", w)
	}
}

// A writer outside the AZ when the part's turn comes is not failed over;
// the record says why.
func TestAZPowerInterruptionWriterElsewhere(t *testing.T) {
	e := start(t, "", nil)
	var az string
	for _, a := range e.topo.AZs {
		if a != e.writerAZ() {
			az = a
			break
		}
	}
	f := mustNew(t, e, experiments.Fault{Name: "power", Kind: faults.KindAZPowerInterruption, Duration: 20 * time.Second, Targets: experiments.Selector{AZ: az},
		Params: map[string]any{"instances": "terminate"}})
	if d := f.Describe(); !strings.Contains(d, "(4) if the database writer is in "+az+" then") || !strings.Contains(d, "terminate") {
		t.Fatalf("plan %q", d)
	}
	m := e.mark()
	if err := f.Apply(e.ctx); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	for _, c := range e.mutatingSince(m) {
		if strings.HasPrefix(c, "rds/") {
			t.Fatalf("failed the database over although its writer is not in %s: %s", az, c)
		}
	}
	if u := f.Undo().(faults.AZPowerUndo); !strings.Contains(strings.Join(u.Skipped, ";"), "database: the writer") {
		t.Fatalf("the record does not say why the database was left: %+v", u.Skipped)
	}
	if err := f.Rollback(e.ctx); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
}

func TestAZPowerInterruptionValidation(t *testing.T) {
	base := func() *experiments.Experiment {
		return &experiments.Experiment{Target: experiments.Target{Kind: "aws"}, Faults: []experiments.Fault{{Name: "p", Kind: faults.KindAZPowerInterruption, At: 10 * time.Second, Duration: 20 * time.Second, Targets: experiments.Selector{AZ: "us-east-1a"}}}}
	}
	x := base()
	if _, err := x.Validate(); err == nil || !strings.Contains(err.Error(), "faults[0].launch_failures: launch failures need AWS FIS") {
		t.Fatalf("on AWS with launch failures: %v", err)
	}
	x = base()
	x.Faults[0].Params = map[string]any{"launch_failures": false, "instances": "reboot"}
	x.Faults[0].Targets.AZ = ""
	_, err := x.Validate()
	if err == nil || strings.Contains(err.Error(), "launch_failures") || !strings.Contains(err.Error(), `faults[0].instances: "reboot" is not stop or terminate`) || !strings.Contains(err.Error(), "faults[0].targets.az: is required") {
		t.Fatalf("Validate: %v", err)
	}
}
