package faults_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/faults"
	"github.com/gameday-dev/gameday/internal/testutil"
	"github.com/gameday-dev/gameday/sandbox"
	"github.com/gameday-dev/gameday/sandbox/sim"
	"github.com/gameday-dev/gameday/sandbox/sim/simtest"
	"github.com/gameday-dev/gameday/sandbox/truth"
	"github.com/gameday-dev/gameday/topology"
)

// deployState is what a rolling deploy changes and its rollback restores:
// the version the group launches from and the versions of its members
// (not the instance ids: replaced instances stay replaced).
func deployState(e *env) string {
	g := e.sb.Region().AutoScalingGroups()[0]
	var vs []string
	for _, in := range g.Instances {
		if in.LifecycleState != "Terminating" {
			vs = append(vs, in.LaunchTemplateVersion)
		}
	}
	slices.Sort(vs)
	return fmt.Sprintf("launches v%s, members %s", g.LaunchTemplateVersion, strings.Join(vs, ","))
}

func deploySpec(params map[string]any) experiments.Fault {
	p := map[string]any{"launch_template_version": "2", "instance_warmup": "0s", "poll_interval": "100ms"}
	for k, v := range params {
		p[k] = v
	}
	return experiments.Fault{Name: "deploy", Kind: faults.KindRollingDeploy, Duration: 20 * time.Second, Params: p}
}

func init() {
	contracts[faults.KindRollingDeploy] = contract{
		spec:  deploySpec(nil),
		state: deployState,
	}
}

// startRelease is start with the sandbox's app.release set.
func startRelease(t *testing.T, release string) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	sb, err := sandbox.Start(ctx, sandbox.Config{Region: sim.Config{
		Timings:  simtest.Timings(),
		Seed:     11,
		Instance: sim.InstanceConfig{ServiceTime: time.Millisecond},
		Group:    sim.GroupConfig{Min: 2, Desired: 3, Max: 6},
		App:      sim.AppConfig{Release: release},
	}})
	if err != nil {
		t.Fatalf("sandbox.Start: %v", err)
	}
	t.Cleanup(func() { sb.Close() })
	awsCfg := sb.AWSConfig(ctx)
	c := awsclients.New(awsCfg)
	topo, err := topology.Resolve(ctx, c, experiments.Target{Kind: "sandbox"})
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	return &env{sb: sb, cfg: awsCfg, c: c, topo: topo, ctx: ctx}
}

func refreshStatus(e *env) string {
	xs, _ := e.sb.Region().InstanceRefreshes("gameday-web", nil)
	if len(xs) == 0 {
		return ""
	}
	return xs[0].Status
}

// A good release: one instance per batch (min healthy 66% of 3), each
// batch a step, the group on version 2 after; nothing to undo, no note.
func TestRollingDeployGoodRelease(t *testing.T) {
	e := startRelease(t, sim.ReleaseGood)
	f := mustNew(t, e, deploySpec(map[string]any{"min_healthy_percentage": 66}))
	if d := f.Describe(); !strings.Contains(d, "version 2 (from 1)") || !strings.Contains(d, "min healthy 66%") {
		t.Errorf("plan %q", d)
	}
	if err := f.Apply(e.ctx); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	testutil.Eventually(t, 20*time.Second, "the refresh to succeed", func() bool { return refreshStatus(e) == sim.RefreshSuccessful })
	// Let the watch see it end.
	time.Sleep(300 * time.Millisecond)
	if err := f.Rollback(e.ctx); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	if n := f.(faults.Noter).Notes(); len(n) != 0 {
		t.Errorf("a successful deploy left notes: %v", n)
	}
	if got := deployState(e); got != "launches v2, members 2,2,2" {
		t.Errorf("after the deploy: %s", got)
	}
	steps := f.(faults.Stepper).Steps()
	var names []string
	for i, s := range steps {
		names = append(names, s.Name)
		if !s.To.After(s.From) || (i > 0 && s.From.Before(steps[i-1].To)) {
			t.Errorf("step %d %+v is empty or overlaps the one before", i, s)
		}
	}
	want := []string{"batch 1 (0% → 33%)", "batch 2 (33% → 66%)", "batch 3 (66% → 100%)"}
	if !slices.Equal(names, want) {
		t.Errorf("steps %q, want %q", names, want)
	}
}

// A bad release stalls at 0%: when the fault ends the refresh is rolled
// back (it has a desired configuration), the group is back on version 1,
// and a note says how the deploy ended.
func TestRollingDeployBadReleaseIsRolledBack(t *testing.T) {
	e := startRelease(t, sim.ReleaseBad)
	f := mustNew(t, e, deploySpec(map[string]any{"min_healthy_percentage": 66}))
	if err := f.Apply(e.ctx); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	time.Sleep(1500 * time.Millisecond) // the first replacement boots and fails its checks
	if s := refreshStatus(e); s != sim.RefreshInProgress {
		t.Fatalf("refresh %s after 1.5s of a bad release, want InProgress (stalled)", s)
	}
	if err := f.Rollback(e.ctx); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	n := f.(faults.Noter).Notes()
	if len(n) != 1 || !strings.Contains(n[0], "had not finished") || !strings.Contains(n[0], "RollbackInstanceRefresh") || !strings.Contains(n[0], "ended RollbackSuccessful") {
		t.Fatalf("notes %q: want one saying the stalled deploy was rolled back", n)
	}
	if s := refreshStatus(e); s != sim.RefreshRollbackSuccessful {
		t.Errorf("refresh %s, want RollbackSuccessful", s)
	}
	if got := deployState(e); got != "launches v1, members 1,1,1" {
		t.Errorf("after the rollback: %s", got)
	}
	var names []string
	for _, s := range f.(faults.Stepper).Steps() {
		names = append(names, s.Name)
	}
	if !slices.Equal(names, []string{"batch 1 (stopped at 0%)", "rollback"}) {
		t.Errorf("steps %q", names)
	}
	if err := f.Rollback(e.ctx); err != nil || len(f.(faults.Noter).Notes()) != 1 {
		t.Errorf("second Rollback: %v, notes %v", err, f.(faults.Noter).Notes())
	}
}

// Without a desired configuration there is nothing to roll back to: a
// refresh still running is cancelled.
func TestRollingDeployWithoutVersionIsCancelled(t *testing.T) {
	e := startRelease(t, sim.ReleaseGood)
	spec := deploySpec(map[string]any{"checkpoint_percentages": []any{33, 100}, "checkpoint_delay": "1h"})
	delete(spec.Params, "launch_template_version")
	f := mustNew(t, e, spec)
	if err := f.Apply(e.ctx); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	testutil.Eventually(t, 10*time.Second, "the first checkpoint", func() bool {
		xs, _ := e.sb.Region().InstanceRefreshes("gameday-web", nil)
		return len(xs) == 1 && xs[0].PercentageComplete == 33
	})
	if err := f.Rollback(e.ctx); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	n := f.(faults.Noter).Notes()
	if len(n) != 1 || !strings.Contains(n[0], "CancelInstanceRefresh") || !strings.Contains(n[0], "ended Cancelled") {
		t.Fatalf("notes %q", n)
	}
}

// The spec is checked against the API's bounds, at the key's path.
func TestRollingDeployValidation(t *testing.T) {
	for _, tc := range []struct {
		params map[string]any
		field  string
	}{
		{map[string]any{"launch_template_version": "$Latest"}, "launch_template_version"},
		{map[string]any{"min_healthy_percentage": 101}, "min_healthy_percentage"},
		{map[string]any{"max_healthy_percentage": 150}, "max_healthy_percentage"},
		{map[string]any{"min_healthy_percentage": 50, "max_healthy_percentage": 200}, "max_healthy_percentage"},
		{map[string]any{"checkpoint_percentages": []any{50, 20}}, "checkpoint_percentages"},
		{map[string]any{"checkpoint_delay": "10s"}, "checkpoint_delay"},
		{map[string]any{"instance_warmup": "1500ms"}, "instance_warmup"},
		{map[string]any{"launch_template_version": "", "auto_rollback": true}, "auto_rollback"},
		{map[string]any{"poll_interval": "1ms"}, "poll_interval"},
	} {
		spec := deploySpec(tc.params)
		k, _ := faults.Lookup(faults.KindRollingDeploy)
		var fields []string
		k.Validate(&experiments.Experiment{}, &spec, func(field, msg string) { fields = append(fields, field) })
		if !slices.Contains(fields, tc.field) {
			t.Errorf("%v: problems at %v, want one at %s", tc.params, fields, tc.field)
		}
	}
	spec := deploySpec(nil)
	spec.Targets.Count = 1
	k0, _ := faults.Lookup(faults.KindRollingDeploy)
	var tf []string
	k0.Validate(&experiments.Experiment{}, &spec, func(field, msg string) { tf = append(tf, field) })
	if !slices.Contains(tf, "targets") {
		t.Errorf("targets.count on a rolling deploy: problems at %v, want one at targets", tf)
	}
	spec = deploySpec(nil)
	spec.Duration = 0
	k, _ := faults.Lookup(faults.KindRollingDeploy)
	var fields []string
	k.Validate(&experiments.Experiment{}, &spec, func(field, msg string) { fields = append(fields, field) })
	if !slices.Contains(fields, "duration") {
		t.Errorf("no duration: problems at %v", fields)
	}
}

// Ground truth: a deploy explains its old instances going away, no healthy
// target and overloaded instances (a batch out of service), not a database
// outage; the refresh's status changes are its context.
func TestRollingDeployTruth(t *testing.T) {
	tr, ok := faults.TruthOf(faults.KindRollingDeploy, []string{"i-old"}, deploySpec(nil))
	if !ok {
		t.Fatal("no ground truth")
	}
	for b, want := range map[faults.Failure]bool{
		{Reason: truth.FailTargetGone, Resource: "i-old"}:   true,
		{Reason: truth.FailTargetGone, Resource: "i-other"}: false,
		{Reason: truth.FailNoHealthyTarget}:                 true,
		{Reason: truth.FailOverloaded, Resource: "i-new"}:   true,
		{Reason: truth.FailDBUnreachable}:                   false,
	} {
		if got := tr.CausedBy(b); got != want {
			t.Errorf("CausedBy(%+v) = %v, want %v", b, got, want)
		}
	}
	if c := tr.Context(faults.Change{Kind: truth.EventInstanceRefresh, Resource: "r", From: "InProgress", To: "Successful"}); c != "instance refresh InProgress → Successful" {
		t.Errorf("context %q", c)
	}
}

// A rollback Auto Scaling is still carrying out when the wait ends is not
// an error (asking again changes nothing): the note says it was still
// going.
func TestRollingDeploySlowRollbackIsNoted(t *testing.T) {
	defer func(d time.Duration) { faults.DeploySettleWait = d }(faults.DeploySettleWait)
	faults.DeploySettleWait = time.Millisecond
	e := startRelease(t, sim.ReleaseBad)
	f := mustNew(t, e, deploySpec(map[string]any{"min_healthy_percentage": 66}))
	if err := f.Apply(e.ctx); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	// A replacement of version 2 is up: the rollback has one to replace.
	testutil.Eventually(t, 5*time.Second, "a version 2 instance", func() bool { return strings.Contains(deployState(e), "2") })
	if err := f.Rollback(e.ctx); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	n := f.(faults.Noter).Notes()
	if len(n) != 1 || !strings.Contains(n[0], "still RollbackInProgress") {
		t.Fatalf("notes %q: want the rollback noted as still in progress", n)
	}
	testutil.Eventually(t, 10*time.Second, "Auto Scaling to finish the rollback", func() bool { return refreshStatus(e) == sim.RefreshRollbackSuccessful })
}
