package faults_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/faults"
	"github.com/gameday-dev/gameday/internal/testutil"
	"github.com/gameday-dev/gameday/sandbox/sim"
)

func init() {
	contracts[faults.KindRebootInstances] = contract{
		spec: experiments.Fault{Name: "reboot-one", Targets: experiments.Selector{Count: 1, Seed: aws.Int64(1)}},
		// Every instance's EC2 state: a reboot keeps it running, and
		// nothing is undone.
		state: func(e *env) string {
			var b strings.Builder
			for _, in := range e.sb.Region().Instances() {
				b.WriteString(in.ID + "=" + in.State + " ")
			}
			return b.String()
		},
	}
}

func targetState(e *env, id string) string {
	ths, err := e.sb.Region().TargetHealth(e.sb.Region().TargetGroups()[0].ARN)
	if err != nil {
		return ""
	}
	for _, th := range ths {
		if th.InstanceID == id {
			return th.State
		}
	}
	return ""
}

// In a group with EC2 health checks a rebooted instance stays running and
// in service: its target goes unhealthy during the reboot and healthy
// again, on the same instance; rollback has nothing to note.
func TestRebootInstancesComesBack(t *testing.T) {
	e := startWith(t, "", func(c *sim.Config) {
		c.Group.HealthCheckType = "EC2"
		c.Timings.InstanceRebootTime = 1500 * time.Millisecond
	}, nil)
	f := mustNew(t, e, experiments.Fault{Name: "reboot", Kind: faults.KindRebootInstances, Targets: experiments.Selector{Count: 1}})
	id := f.Resources()[0]
	if d := f.Describe(); !strings.Contains(d, "reboot "+id) {
		t.Fatalf("plan %q does not name %s", d, id)
	}
	if err := f.Apply(e.ctx); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if s := e.instance(id).State; s != sim.StateRunning {
		t.Fatalf("%s is %s during its reboot, want running", id, s)
	}
	testutil.Eventually(t, 5*time.Second, "the target unhealthy during the reboot", func() bool { return targetState(e, id) == sim.TargetUnhealthy })
	testutil.Eventually(t, 5*time.Second, "the target healthy again", func() bool { return targetState(e, id) == sim.TargetHealthy })
	if err := f.Rollback(e.ctx); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	if s, n := e.instance(id).State, f.(faults.Noter).Notes(); s != sim.StateRunning || len(n) != 0 {
		t.Fatalf("after Rollback %s is %s, notes %v: want running, no note", id, s, n)
	}
}

// In a group with ELB health checks (the sandbox's default) a reboot that
// outlasts the target's unhealthy threshold costs the instance, as on AWS:
// rollback says so.
func TestRebootInstancesReplacedByELBCheckedGroupIsNoted(t *testing.T) {
	e := startWith(t, "", func(c *sim.Config) { c.Timings.InstanceRebootTime = 1500 * time.Millisecond }, nil)
	f := mustNew(t, e, experiments.Fault{Name: "reboot", Kind: faults.KindRebootInstances, Targets: experiments.Selector{Count: 1}})
	id := f.Resources()[0]
	if err := f.Apply(e.ctx); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	testutil.Eventually(t, 10*time.Second, "the group to replace the rebooting member", func() bool { return e.instance(id).State == sim.StateTerminated })
	if err := f.Rollback(e.ctx); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	n := f.(faults.Noter).Notes()
	if len(n) != 1 || !strings.Contains(n[0], id) || !strings.Contains(n[0], "replaced") {
		t.Fatalf("notes %v: want one saying the group replaced %s", n, id)
	}
}

func TestRebootInstancesSpec(t *testing.T) {
	e := start(t, "", nil)
	if _, err := faults.New(e.ctx, e.c, e.topo, experiments.Fault{Name: "r", Kind: faults.KindRebootInstances, Params: map[string]any{"force": true}}); err == nil || !strings.Contains(err.Error(), "force") {
		t.Fatalf("New with a key the kind does not have: %v, want it named", err)
	}
	x := &experiments.Experiment{Faults: []experiments.Fault{{Kind: faults.KindRebootInstances, Duration: 5 * time.Second}}}
	if _, err := x.Validate(); err == nil || !strings.Contains(err.Error(), "faults[0].duration") {
		t.Fatalf("Validate: %v, want faults[0].duration refused", err)
	}
}
