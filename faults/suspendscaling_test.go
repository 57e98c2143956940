package faults_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/faults"
)

// suspendedOf is the group's suspended processes, per ground truth.
func (e *env) suspendedOf() string {
	var ps []string
	for _, p := range e.sb.Region().AutoScalingGroups()[0].SuspendedProcesses {
		ps = append(ps, p.Name)
	}
	return strings.Join(ps, ",")
}

func init() {
	contracts[faults.KindSuspendScaling] = contract{
		spec:  experiments.Fault{Name: "no-scaling", Params: map[string]any{"processes": []any{"Launch", "AlarmNotification"}}},
		state: func(e *env) string { return e.suspendedOf() },
	}
}

// Rollback resumes only what the fault suspended: a process suspended
// before it (at plan time, or between plan and apply) stays suspended.
func TestSuspendScalingKeepsEarlierSuspensions(t *testing.T) {
	e := start(t, "", nil)
	group := e.topo.GroupName
	if err := e.sb.Region().SuspendProcesses(group, []string{"AZRebalance", "Launch"}); err != nil {
		t.Fatal(err)
	}
	f := mustNew(t, e, experiments.Fault{Name: "s", Kind: faults.KindSuspendScaling, Params: map[string]any{"processes": []any{"Launch", "Terminate", "HealthCheck"}}})
	if d := f.Describe(); !strings.Contains(d, "HealthCheck, Launch, Terminate") || !strings.Contains(d, "Launch already suspended") {
		t.Fatalf("plan %q", d)
	}
	// Suspended by someone else after planning: also left alone.
	if err := e.sb.Region().SuspendProcesses(group, []string{"HealthCheck"}); err != nil {
		t.Fatal(err)
	}
	if err := f.Apply(e.ctx); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if got := e.suspendedOf(); got != "AZRebalance,HealthCheck,Launch,Terminate" {
		t.Fatalf("after Apply: %s", got)
	}
	u := f.Undo().(faults.SuspendUndo)
	if !slices.Equal(u.Before, []string{"AZRebalance", "HealthCheck", "Launch"}) {
		t.Fatalf("undo record %+v: Before should hold what was suspended before", u)
	}
	if err := f.Rollback(e.ctx); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	if got := e.suspendedOf(); got != "AZRebalance,HealthCheck,Launch" {
		t.Fatalf("after Rollback: %s, want the earlier suspensions kept and Terminate resumed", got)
	}
}

func TestSuspendScalingValidation(t *testing.T) {
	e := start(t, "", nil)
	if _, err := faults.New(e.ctx, e.c, e.topo, experiments.Fault{Name: "s", Kind: faults.KindSuspendScaling, Params: map[string]any{"processes": []any{"Launch", "Reboot"}}}); err == nil || !strings.Contains(err.Error(), `"Reboot" is not an Auto Scaling process`) {
		t.Fatalf("New with a bad process: %v", err)
	}
	for _, c := range []struct {
		params map[string]any
		want   string
	}{
		{nil, "faults[0].processes: name at least one process"},
		{map[string]any{"processes": []any{"Lunch"}}, `faults[0].processes: "Lunch" is not an Auto Scaling process`},
	} {
		x := &experiments.Experiment{Faults: []experiments.Fault{{Name: "s", Kind: faults.KindSuspendScaling, Params: c.params}}}
		if _, err := x.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate %v: %v, want %q", c.params, err, c.want)
		}
	}
}
