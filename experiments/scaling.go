package experiments

import (
	"fmt"
	"time"
)

// ScalingSettings say what the Auto Scaling group's policy aims at, for the
// scaling analysis (under-provisioned time, flaps, the chart's target line).
// On AWS, an asg-capacity probe reads a target-tracking policy on
// ALBRequestCountPerTarget itself; a value stated here wins.
type ScalingSettings struct {
	// PolicyTarget is the policy's target in requests per second per
	// in-service target (the sandbox's group.target_requests_per_target;
	// an ALBRequestCountPerTarget target value divided by 60).
	PolicyTarget float64 `mapstructure:"policy_target" json:"policy_target,omitempty"`
	// Cooldown: a scale-out and scale-in reversing each other within it
	// count as a flap (default 300s, the Auto Scaling default cooldown).
	Cooldown time.Duration `mapstructure:"cooldown" json:"cooldown,omitempty"`
}

// DefaultScalingCooldown is Auto Scaling's default cooldown.
const DefaultScalingCooldown = 300 * time.Second

// CooldownOrDefault is the flap window the analysis uses.
func (s ScalingSettings) CooldownOrDefault() time.Duration {
	if s.Cooldown > 0 {
		return s.Cooldown
	}
	return DefaultScalingCooldown
}

// scalingMetrics are the run-scope gate metrics the scaling analysis fills.
var scalingMetrics = []string{"time_to_trigger", "time_to_capacity", "time_to_serve", "time_to_slo",
	"under_provisioned", "max_reached", "scale_in_lag", "idle_instance_minutes", "flaps"}

func (x *Experiment) validateScaling(v *validator) {
	s := x.Scaling
	if s.PolicyTarget < 0 {
		v.add("scaling.policy_target", "must not be negative (requests per second per target)")
	} else if s.PolicyTarget > MaxRate {
		v.add("scaling.policy_target", fmt.Sprintf("%g is above the %d rps limit", s.PolicyTarget, MaxRate))
	}
	if s.Cooldown < 0 {
		v.add("scaling.cooldown", "must not be negative")
	} else if s.Cooldown > MaxDuration {
		v.add("scaling.cooldown", fmt.Sprintf("%s is longer than the %s limit", s.Cooldown, MaxDuration))
	}
	has := map[string]bool{}
	for _, p := range x.Probes {
		has[p.Kind] = true
	}
	for i, g := range x.Gates.Run {
		e, err := ParseExpr(g, ScopeRun, false)
		if err != nil || !contains(scalingMetrics, e.Metric) {
			continue
		}
		if !has["asg-capacity"] {
			v.add(fmt.Sprintf("gates.run[%d]", i), fmt.Sprintf("%s is measured by the scaling analysis, which needs an asg-capacity probe (probes: [{kind: asg-capacity}])", e.Metric))
		} else if e.Metric == "time_to_serve" && !has["target-health"] {
			v.add(fmt.Sprintf("gates.run[%d]", i), "time_to_serve needs a target-health probe as well (probes: [{kind: target-health}])")
		}
	}
}
