package faults_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/faults"
	"github.com/gameday-dev/gameday/topology"
)

func mustPanic(t *testing.T, what, want string, fn func()) {
	t.Helper()
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(strings.ToLower(r.(string)), want) {
			t.Errorf("%s: recovered %v, want a panic saying %q", what, r, want)
		}
	}()
	fn()
}

// A kind registers once; a second registration of a name panics (at init,
// where kinds register), in the fault registry and in validation's.
func TestRegisterTwicePanics(t *testing.T) {
	stub := faults.Kind{
		Name: faults.KindStopInstances,
		New: func(context.Context, *awsclients.Clients, *topology.Topology, experiments.Fault) (faults.Fault, error) {
			return nil, nil
		},
		Restore: func(*awsclients.Clients, string, func(any) error) (faults.Fault, error) { return nil, nil },
	}
	mustPanic(t, "faults.Register", "registered twice", func() { faults.Register(stub) })
	mustPanic(t, "experiments.RegisterFaultKind", "registered twice", func() {
		experiments.RegisterFaultKind(experiments.FaultKind{Name: faults.KindAZBlackhole})
	})
	mustPanic(t, "faults.Register without New", "without", func() { faults.Register(faults.Kind{Name: "x"}) })
}

// Every kind the registry knows is known to validation, and the other
// way round: one registration feeds both.
func TestRegistriesAgree(t *testing.T) {
	got, want := strings.Join(experiments.FaultKindNames(), ","), strings.Join(faults.Kinds(), ",")
	if got != want || want == "" {
		t.Fatalf("validation knows %s, the registry %s", got, want)
	}
	x := &experiments.Experiment{Faults: []experiments.Fault{{Kind: "reboot-everything"}}}
	_, err := x.Validate()
	if err == nil || !strings.Contains(err.Error(), `unknown kind "reboot-everything" (`+strings.Join(faults.Kinds(), ", ")+")") {
		t.Fatalf("Validate: %v, want the registered kinds listed", err)
	}
}
