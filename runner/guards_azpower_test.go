package runner

import (
	"context"
	"testing"
)

// TestGuardCountsTakenInstancesNotTargets: an az-power-interruption
// targets the AZ's instance, subnets, group and database, but takes only
// the one instance of the three: the plan-time instance-share guard (0.5)
// lets it through. Before it counted every target as a taken instance.
func TestGuardCountsTakenInstancesNotTargets(t *testing.T) {
	t.Parallel()
	p := prepare(t, `name: power
target: {kind: sandbox}
load: {rate: 5, duration: 30s}
steady_state: {thresholds: ["success_ratio >= 0.9"], baseline: 5s, verify: 5s}
guards: {max_instance_share: 0.5}
faults:
  - {name: power, kind: az-power-interruption, at: 10s, duration: 5s, targets: {az: local-1a}}
`)
	if n := len(p.Faults[0].Fault.Resources()); n < 4 {
		t.Fatalf("the fault has %d targets; the test needs more targets than the group's share allows", n)
	}
	if err := p.checkGuards(context.Background()); err != nil {
		t.Fatalf("guards refused a power interruption taking 1 of 3 instances: %v", err)
	}
}
