package faults_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/faults"
	"github.com/gameday-dev/gameday/internal/testutil"
)

// launchFailuresOf is the sandbox's armed launch failures, per ground truth.
func (e *env) launchFailuresOf() string {
	var b strings.Builder
	for _, lf := range e.sb.Region().LaunchFailures() {
		fmt.Fprintf(&b, "%s:%s ", lf.Group, strings.Join(lf.AZs, ","))
	}
	return b.String()
}

func init() {
	contracts[faults.KindLaunchFailures] = contract{
		spec:  experiments.Fault{Name: "no-capacity", Duration: 30 * time.Second, Targets: experiments.Selector{AZ: "local-1a"}},
		state: func(e *env) string { return e.launchFailuresOf() },
	}
}

// Armed, the group's replacement for a lost instance in the AZ goes to
// another AZ and the refusal is a Failed activity; disarmed, nothing is
// left armed, and the undo record carries the token it was armed under.
func TestLaunchFailuresFault(t *testing.T) {
	e := start(t, "", nil)
	f := mustNew(t, e, experiments.Fault{Name: "ice", Kind: faults.KindLaunchFailures, Duration: 20 * time.Second,
		Targets: experiments.Selector{AZ: "local-1a"}, Params: map[string]any{"azs": []any{"local-1b"}}})
	if d := f.Describe(); !strings.Contains(d, "local-1a, local-1b") || !strings.Contains(d, "InsufficientInstanceCapacity") {
		t.Fatalf("plan %q", d)
	}
	if err := f.Apply(e.ctx); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	armed := e.sb.Region().LaunchFailures()
	u := f.Undo().(faults.LaunchUndo)
	if len(armed) != 1 || armed[0].ID != u.Token || strings.Join(armed[0].AZs, ",") != "local-1a,local-1b" {
		t.Fatalf("armed %+v, undo %+v", armed, u)
	}
	// Lose every member in the refused AZs: replacements land in local-1c.
	var victims []string
	for _, in := range e.sb.Region().AutoScalingGroups()[0].Instances {
		if in.AZ != "local-1c" {
			victims = append(victims, in.InstanceID)
		}
	}
	if _, err := e.sb.Region().TerminateInstances(victims); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "replacements in local-1c only, and Failed activities", func() bool {
		n, failed := 0, 0
		for _, in := range e.sb.Region().AutoScalingGroups()[0].Instances {
			if in.LifecycleState != "Terminating" {
				if in.AZ != "local-1c" {
					return false
				}
				n++
			}
		}
		for _, a := range e.sb.Region().ScalingActivities("") {
			if a.StatusCode == "Failed" && strings.Contains(a.StatusMessage, "We currently do not have sufficient") {
				failed++
			}
		}
		return n == 3 && failed >= 2
	})
	if err := f.Rollback(e.ctx); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	if s := e.launchFailuresOf(); s != "" {
		t.Fatalf("after Rollback still armed: %s", s)
	}
	// A journal record restores to a fault that disarms the same token.
	raw, _ := json.Marshal(u)
	if !strings.Contains(string(raw), u.Token) {
		t.Fatalf("undo record %s lacks the token", raw)
	}
}

func TestLaunchFailuresRefusedOnAWS(t *testing.T) {
	x := &experiments.Experiment{Target: experiments.Target{Kind: "aws"}, Faults: []experiments.Fault{{Name: "ice", Kind: faults.KindLaunchFailures, At: 10 * time.Second, Duration: 20 * time.Second, Targets: experiments.Selector{AZ: "us-east-1a"}}}}
	_, err := x.Validate()
	if err == nil || !strings.Contains(err.Error(), "faults[0].kind: launch-failures runs on the sandbox only") || !strings.Contains(err.Error(), "aws:ec2:asg-insufficient-instance-capacity-error") {
		t.Fatalf("Validate on AWS: %v", err)
	}
	x.Target.Kind = "sandbox"
	x.Faults[0].Targets.AZ = ""
	x.Faults[0].Duration = 0
	_, err = x.Validate()
	if err == nil || !strings.Contains(err.Error(), "faults[0].targets.az") || !strings.Contains(err.Error(), "faults[0].duration: must be positive") || strings.Contains(err.Error(), "runs on the sandbox only") {
		t.Fatalf("Validate on the sandbox without az and duration: %v", err)
	}
}

// Ground truth: launch failures fail no request themselves; the refused
// launches in their AZs (targets.az and azs) are the context.
func TestLaunchFailuresTruth(t *testing.T) {
	spec := experiments.Fault{Name: "ice", Kind: faults.KindLaunchFailures, Targets: experiments.Selector{AZ: "local-1a"}, Params: map[string]any{"azs": []any{"local-1b"}}}
	tr, ok := faults.TruthOf(faults.KindLaunchFailures, []string{"gameday-web"}, spec)
	if !ok {
		t.Fatal("launch-failures has no ground truth")
	}
	if tr.CausedBy(faults.Failure{Reason: "no-healthy-target"}) {
		t.Fatal("launch failures claimed a failed request")
	}
	if tr.Context(faults.Change{Kind: "asg-launch-failed", AZ: "local-1b", To: "InsufficientInstanceCapacity"}) == "" ||
		tr.Context(faults.Change{Kind: "asg-launch-failed", AZ: "local-1c"}) != "" {
		t.Fatal("context should be the refused launches in local-1a and local-1b only")
	}
	// The power interruption explains what its blackhole does in its AZ.
	pw, ok := faults.TruthOf(faults.KindAZPowerInterruption, nil, experiments.Fault{Name: "p", Kind: faults.KindAZPowerInterruption, Targets: experiments.Selector{AZ: "local-1a"}})
	if !ok || !pw.CausedBy(faults.Failure{Reason: "node-blackholed", AZ: "local-1a"}) || pw.CausedBy(faults.Failure{Reason: "node-blackholed", AZ: "local-1c"}) {
		t.Fatal("az-power-interruption must explain its AZ's blackholed node, and only its AZ's")
	}
}

func TestLaunchFailuresPercentSpec(t *testing.T) {
	e := start(t, "", nil)
	f := mustNew(t, e, experiments.Fault{Name: "ice", Kind: faults.KindLaunchFailures, Duration: 20 * time.Second,
		Targets: experiments.Selector{AZ: "local-1a"}, Params: map[string]any{"percent": 50}})
	if d := f.Describe(); !strings.Contains(d, "fail 50% of the launches") {
		t.Fatalf("plan %q", d)
	}
	if err := f.Apply(e.ctx); err != nil {
		t.Fatal(err)
	}
	if lfs := e.sb.Region().LaunchFailures(); len(lfs) != 1 || lfs[0].Percent != 50 {
		t.Fatalf("armed %+v, want 50%%", lfs)
	}
	if err := f.Rollback(e.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := faults.New(e.ctx, e.c, e.topo, experiments.Fault{Name: "ice", Kind: faults.KindLaunchFailures, Duration: time.Second,
		Targets: experiments.Selector{AZ: "local-1a"}, Params: map[string]any{"percent": 150}}); err == nil || !strings.Contains(err.Error(), "percent: 150 is not in 1..100") {
		t.Fatalf("percent 150: %v", err)
	}
}
