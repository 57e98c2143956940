package record

// Scaling is the run's scaling analysis: for every load change the rate
// plan makes (each step, spike, ramp start, and each drop) how the Auto
// Scaling group followed it, and the run's figures over all of them. It is
// there when the run had an asg-capacity probe. Times are seconds; a time
// of -1 means "never" (the group did not get there before the next load
// change or the end of the run).
type Scaling struct {
	// Probe is the asg-capacity probe read; HealthProbe the target-health
	// probe ("" without one: no time to serve).
	Probe       string `json:"probe"`
	HealthProbe string `json:"health_probe,omitempty"`
	// PolicyTarget is the policy's target in requests per second per
	// in-service target (0: unknown; under-provisioned time then counts
	// only windows that broke the steady state while desired < max).
	PolicyTarget float64 `json:"policy_target_rps,omitempty"`
	// CooldownS is the window within which a reversal counts as a flap.
	CooldownS float64 `json:"cooldown_s"`

	Changes []ScalingChange `json:"changes"`
	// Events are the desired-capacity changes the probe saw.
	Events []ScalingEvent `json:"events,omitempty"`

	// Run-wide figures: the worst over the scale-out changes (times), the
	// sum (under-provisioned time over the whole run, idle cost), any
	// (max reached). NaN-free: a figure with nothing to measure is -1 and
	// its Has* flag false.
	HasScaleOut         bool    `json:"has_scale_out"`
	TimeToTriggerS      float64 `json:"time_to_trigger_s"`
	TimeToCapacityS     float64 `json:"time_to_capacity_s"`
	TimeToServeS        float64 `json:"time_to_serve_s"`
	TimeToSLOS          float64 `json:"time_to_slo_s"`
	UnderProvisionedS   float64 `json:"under_provisioned_s"`
	MaxReached          bool    `json:"max_reached"`
	HasScaleIn          bool    `json:"has_scale_in"`
	ScaleInLagS         float64 `json:"scale_in_lag_s"`
	IdleInstanceMinutes float64 `json:"idle_instance_minutes"`
	Flaps               int     `json:"flaps"`
}

// ScalingChange is one load change and the group's answer to it.
type ScalingChange struct {
	AtS     float64 `json:"at_s"` // the change's start (a ramp's start)
	FromRPS float64 `json:"from_rps"`
	ToRPS   float64 `json:"to_rps"`
	// Direction is "out" (load rose) or "in" (load fell).
	Direction string  `json:"direction"`
	UntilS    float64 `json:"until_s"` // the next change, or the end of the run

	DesiredBefore float64 `json:"desired_before"`
	// DesiredAfter is the highest desired capacity in the span (out), or
	// the lowest (in).
	DesiredAfter float64 `json:"desired_after"`

	TimeToTriggerS    float64 `json:"time_to_trigger_s"`               // desired capacity moved
	TimeToCapacityS   float64 `json:"time_to_capacity_s"`              // out: in service >= DesiredAfter
	TimeToServeS      float64 `json:"time_to_serve_s"`                 // out: healthy targets >= DesiredAfter
	TimeToSLOS        float64 `json:"time_to_slo_s"`                   // out: steady state holds again (0: never broke)
	UnderProvisionedS float64 `json:"under_provisioned_s"`             // within the span
	MaxReached        bool    `json:"max_reached"`                     // desired hit the group's max in the span
	ScaleInLagS       float64 `json:"scale_in_lag_s,omitempty"`        // in: until in service came down to what the load needs
	IdleMinutes       float64 `json:"idle_instance_minutes,omitempty"` // in: instance-minutes above that meanwhile
	// ActivityS is when the group's first scaling activity answering the
	// change started (DescribeScalingActivities: launching for out,
	// terminating for in), from the change; nil: none read. ActivityCause is
	// its cause as Auto Scaling states it (the alarm and policy that fired).
	ActivityS     *float64 `json:"activity_s,omitempty"`
	ActivityCause string   `json:"activity_cause,omitempty"`
	// NeededAfter is, for an in change, the capacity the new load needs
	// (by the policy target, or the level the group settled at).
	NeededAfter float64 `json:"needed_after,omitempty"`
}

// ScalingEvent is one change of desired capacity, at the start of the
// window the probe first saw it in.
type ScalingEvent struct {
	T    float64 `json:"t"`
	From float64 `json:"from"`
	To   float64 `json:"to"`
	Flap bool    `json:"flap,omitempty"` // reverses the previous change within the cooldown
}
