package faults_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/faults"
	"github.com/gameday-dev/gameday/internal/testutil"
	"github.com/gameday-dev/gameday/sandbox/sim"
)

func TestTerminateViaEC2(t *testing.T) {
	e := start(t, "", nil)
	spec := experiments.Fault{Name: "kill-one", Kind: faults.KindTerminateInstances}

	m := e.mark()
	f, err := faults.New(e.ctx, e.c, e.topo, spec)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if calls := e.mutatingSince(m); len(calls) > 0 {
		t.Fatalf("New changed something: %v", calls)
	}
	ids := f.Resources()
	if len(ids) != 1 {
		t.Fatalf("targets %v, want one instance", ids)
	}
	victim := e.instance(ids[0])
	if victim.State != sim.StateRunning {
		t.Fatalf("target %s is %q, want a running group member", ids[0], victim.State)
	}
	if d := f.Describe(); !strings.Contains(d, ids[0]) || !strings.Contains(d, victim.AZ) || !strings.Contains(d, "via ec2") {
		t.Fatalf("Describe = %q", d)
	}
	// Reproducible: the same spec picks the same instance.
	g, err := faults.New(e.ctx, e.c, e.topo, spec)
	if err != nil || !slices.Equal(g.Resources(), ids) {
		t.Fatalf("second plan picked %v (%v), want %v", g.Resources(), err, ids)
	}

	if err := f.Rollback(e.ctx); err != nil {
		t.Fatalf("Rollback before Apply: %v", err)
	}
	if err := f.Apply(e.ctx); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if st := e.instance(ids[0]).State; st == sim.StateRunning || st == sim.StatePending {
		t.Fatalf("instance %s still %s after Apply", ids[0], st)
	}
	if err := f.Apply(e.ctx); err == nil {
		t.Fatal("second Apply: want an error")
	}
	m = e.mark()
	for i := range 2 {
		if err := f.Rollback(e.ctx); err != nil {
			t.Fatalf("Rollback #%d: %v", i+1, err)
		}
	}
	if calls := e.mutatingSince(m); len(calls) > 0 {
		t.Fatalf("Rollback of a non-decrementing terminate changed something: %v", calls)
	}
	if e.desired() != 3 {
		t.Fatalf("desired %d, want 3", e.desired())
	}
	u := f.Undo().(faults.TerminateUndo)
	if !slices.Equal(u.Terminated, ids) || u.Via != "ec2" {
		t.Fatalf("undo record %+v", u)
	}
}

func TestTerminateViaAutoScalingDecrementRestoresDesired(t *testing.T) {
	e := start(t, "", nil)
	m := e.mark()
	f, err := faults.New(e.ctx, e.c, e.topo, experiments.Fault{
		Name: "shrink", Kind: faults.KindTerminateInstances, Params: map[string]any{"via": "autoscaling", "decrement": true},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if calls := e.mutatingSince(m); len(calls) > 0 {
		t.Fatalf("New changed something: %v", calls)
	}
	id := f.Resources()[0]
	if err := f.Apply(e.ctx); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if e.desired() != 2 {
		t.Fatalf("desired %d after decrementing terminate, want 2", e.desired())
	}
	testutil.Eventually(t, 5*time.Second, id+" terminating", func() bool {
		st := e.instance(id).State
		return st != sim.StateRunning && st != sim.StatePending
	})
	for i := range 2 {
		if err := f.Rollback(e.ctx); err != nil {
			t.Fatalf("Rollback #%d: %v", i+1, err)
		}
		if e.desired() != 3 {
			t.Fatalf("desired %d after Rollback #%d, want 3", e.desired(), i+1)
		}
	}
}

func TestTerminatePartialApplyStillRestoresDesired(t *testing.T) {
	e := start(t, "", nil)
	f, err := faults.New(e.ctx, e.c, e.topo, experiments.Fault{
		Name: "shrink-two", Kind: faults.KindTerminateInstances, Params: map[string]any{"via": "autoscaling", "decrement": true},
		Targets: experiments.Selector{Count: 1},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	// Not yet applied: rollback must not touch the group.
	m := e.mark()
	if err := f.Rollback(e.ctx); err != nil {
		t.Fatalf("Rollback before Apply: %v", err)
	}
	if calls := e.mutatingSince(m); len(calls) > 0 {
		t.Fatalf("Rollback before Apply changed something: %v", calls)
	}
	// Make the terminate call fail (non-retryable): nothing decremented,
	// rollback sets desired back to what it was (a no-op change).
	e.sb.APIErrors().Add(faultOnce("autoscaling", "TerminateInstanceInAutoScalingGroup"))
	if err := f.Apply(e.ctx); err == nil {
		t.Fatal("Apply: want the injected error")
	}
	if err := f.Rollback(e.ctx); err != nil {
		t.Fatalf("Rollback after failed Apply: %v", err)
	}
	if e.desired() != 3 {
		t.Fatalf("desired %d, want 3", e.desired())
	}
}

func TestTerminateSelection(t *testing.T) {
	e := start(t, "", nil)
	insts := map[string]string{} // id → AZ of running members
	for _, in := range e.sb.Region().Instances() {
		if in.State == sim.StateRunning {
			insts[in.ID] = in.AZ
		}
	}
	m := e.mark()
	newF := func(sel experiments.Selector) (faults.Fault, error) {
		return faults.New(e.ctx, e.c, e.topo, experiments.Fault{Name: "sel", Kind: faults.KindTerminateInstances, Targets: sel})
	}

	f, err := newF(experiments.Selector{AZ: "local-1b"})
	if err != nil {
		t.Fatalf("az: %v", err)
	}
	if got := f.Resources(); len(got) != 1 || insts[got[0]] != "local-1b" {
		t.Fatalf("az local-1b picked %v", got)
	}
	f, err = newF(experiments.Selector{Percent: 50})
	if err != nil || len(f.Resources()) != 2 {
		t.Fatalf("percent 50 of 3 picked %v (%v), want 2 (ceil)", f.Resources(), err)
	}
	f, err = newF(experiments.Selector{Percent: 100, Tags: []string{"Name=gameday-web"}})
	if err != nil || len(f.Resources()) != 3 {
		t.Fatalf("tags Name=gameday-web picked %v (%v), want all 3", f.Resources(), err)
	}
	var one string
	for id := range insts {
		one = id
		break
	}
	f, err = newF(experiments.Selector{InstanceIDs: []string{one}})
	if err != nil || !slices.Equal(f.Resources(), []string{one}) {
		t.Fatalf("instance_ids picked %v (%v)", f.Resources(), err)
	}
	// Different seeds pick deterministically; same seed, same pick.
	s1, s2 := int64(1), int64(1)
	a, _ := newF(experiments.Selector{Count: 2, Seed: &s1})
	b, _ := newF(experiments.Selector{Count: 2, Seed: &s2})
	if !slices.Equal(a.Resources(), b.Resources()) {
		t.Fatalf("same seed, different picks: %v vs %v", a.Resources(), b.Resources())
	}

	for name, sel := range map[string]experiments.Selector{
		"no candidate (tags)": {Tags: []string{"Name=nope"}},
		"no candidate (az)":   {AZ: "local-1z"},
		"count too big":       {Count: 4},
		"bad tag":             {Tags: []string{"novalue"}},
		"unknown instance id": {InstanceIDs: []string{"i-0123456789abcdef0"}},
		"unknown group":       {Group: "nope"},
	} {
		if _, err := newF(sel); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
	_, err = newF(experiments.Selector{Tags: []string{"Name=nope"}})
	var se *faults.SpecError
	if !errors.As(err, &se) || se.Field != "targets" {
		t.Errorf("no candidate: want a SpecError naming targets, got %v", err)
	}
	if _, err := faults.New(e.ctx, e.c, e.topo, experiments.Fault{Name: "x", Kind: faults.KindTerminateInstances, Params: map[string]any{"via": "ec2", "decrement": true}}); err == nil {
		t.Error("decrement via ec2: want an error")
	}
	if calls := e.mutatingSince(m); len(calls) > 0 {
		t.Fatalf("planning changed something: %v", calls)
	}
}
