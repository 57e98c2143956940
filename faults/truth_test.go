package faults_test

import (
	"testing"

	"github.com/gameday-dev/gameday/faults"
	"github.com/gameday-dev/gameday/sandbox/sim"
)

// The ground-truth vocabulary the kinds match on is the sandbox's own.
func TestTruthVocabularyIsTheSandboxs(t *testing.T) {
	for _, c := range [][2]string{
		{faults.ReasonNoHealthyTarget, sim.FailNoHealthyTarget},
		{faults.ReasonTargetGone, sim.FailTargetGone},
		{faults.ReasonTargetUnreachable, sim.FailTargetUnreachable},
		{faults.ReasonTargetTimeout, sim.FailTargetTimeout},
		{faults.ReasonDBUnreachable, sim.FailDBUnreachable},
		{faults.ReasonNodeBlackholed, sim.FailNodeBlackholed},
		{faults.ReasonDBDelayed, sim.FailDBDelayed},
		{faults.ReasonTargetDelayed, sim.FailTargetDelayed},
		{faults.StateHealthy, sim.TargetHealthy},
		{faults.StateAvailable, sim.DBAvailable},
	} {
		if c[0] != c[1] {
			t.Errorf("faults says %q, the sandbox %q", c[0], c[1])
		}
	}
}
