package sim

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Auto Scaling policies (Amazon EC2 Auto Scaling User Guide, "Dynamic
// scaling"; API reference, PutScalingPolicy): simple and step scaling run
// when a CloudWatch alarm whose actions name them fires; target tracking
// creates its own pair of alarms (AlarmHigh: 3 of 3 one-minute periods above
// the target; AlarmLow: 15 of 15 below 90% of it) as AWS does, and sets the
// capacity in proportion to the metric. Warm-up and cooldown seconds are on
// the sandbox's CloudWatch clock (metrics.go), like the alarms' periods.

// Policy types and adjustment types.
const (
	PolicySimple         = "SimpleScaling"
	PolicyStep           = "StepScaling"
	PolicyTargetTracking = "TargetTrackingScaling"
)

// AdjustmentTypes are the accepted AdjustmentType values.
var AdjustmentTypes = []string{"ChangeInCapacity", "ExactCapacity", "PercentChangeInCapacity"}

// PredefinedMetrics are the target-tracking metrics the sandbox publishes.
var PredefinedMetrics = []string{"ASGAverageCPUUtilization", "ALBRequestCountPerTarget"}

// StepAdjustment is one step of a step policy; bounds are relative to the
// alarm threshold, nil meaning unbounded.
type StepAdjustment struct {
	Lower, Upper      *float64
	ScalingAdjustment int32
}

// TargetTracking configures a target-tracking policy.
type TargetTracking struct {
	PredefinedMetricType string
	ResourceLabel        string // ALBRequestCountPerTarget: app/LB/ID/targetgroup/TG/ID
	TargetValue          float64
	DisableScaleIn       bool
}

// PolicyAlarm names an alarm of a policy.
type PolicyAlarm struct{ Name, ARN string }

// ScalingPolicy is a policy as DescribePolicies shows it. Seconds fields are
// CloudWatch seconds; nil means unset.
type ScalingPolicy struct {
	GroupName, Name, ARN, Type string
	AdjustmentType             string
	ScalingAdjustment          *int32
	MinAdjustmentMagnitude     *int32
	Cooldown                   *int32
	MetricAggregationType      string
	EstimatedInstanceWarmup    *int32
	StepAdjustments            []StepAdjustment
	TargetTracking             *TargetTracking
	Alarms                     []PolicyAlarm
	Enabled                    bool
}

type policy struct {
	m            ScalingPolicy
	cooldownTill time.Time // simple scaling
	lastScale    time.Time
}

// maxPolicies bounds a group's policies (AWS's quota is 50 per group).
const maxPolicies = 50

func (r *Region) policyByARNLocked(arn string) *policy {
	for _, p := range r.cw.policies {
		if p.m.ARN == arn {
			return p
		}
	}
	return nil
}

// alarmNotificationSuspendedLocked reports whether the group's
// AlarmNotification process is suspended, in which case alarms do not run
// its policies (SuspendProcesses, asgprocesses.go).
func (r *Region) alarmNotificationSuspendedLocked() bool {
	return r.suspendedLocked(ProcAlarmNotification)
}

// PutScalingPolicy creates or replaces a policy of the group. A target
// tracking policy gets (new) alarms; its old ones go.
func (r *Region) PutScalingPolicy(p ScalingPolicy) (ScalingPolicy, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.putPolicyLocked(p)
}

func (r *Region) putPolicyLocked(p ScalingPolicy) (ScalingPolicy, error) {
	g := r.group
	if p.GroupName != g.m.Name {
		return ScalingPolicy{}, apiErr(400, "ValidationError", "AutoScalingGroup name not found - AutoScalingGroup %s not found", p.GroupName)
	}
	if p.Type == "" {
		p.Type = PolicySimple
	}
	if err := r.validatePolicyLocked(&p); err != nil {
		return ScalingPolicy{}, err
	}
	i := slices.IndexFunc(r.cw.policies, func(x *policy) bool { return x.m.Name == p.Name })
	if i < 0 && len(r.cw.policies) >= maxPolicies {
		return ScalingPolicy{}, apiErr(400, "LimitExceeded", "You have reached the limit of %d scaling policies for the group %s.", maxPolicies, g.m.Name)
	}
	if i >= 0 {
		p.ARN = r.cw.policies[i].m.ARN
		r.deletePolicyAlarmsLocked(r.cw.policies[i])
	} else {
		p.ARN = r.arn("autoscaling", "scalingPolicy:"+r.uuid()+":autoScalingGroupName/"+g.m.Name+":policyName/"+p.Name)
	}
	p.Enabled = true
	np := &policy{m: p}
	if i >= 0 {
		r.cw.policies[i] = np
	} else {
		r.cw.policies = append(r.cw.policies, np)
	}
	if p.Type == PolicyTargetTracking {
		if err := r.targetTrackingAlarmsLocked(np); err != nil {
			return ScalingPolicy{}, err
		}
	}
	r.emit("scaling-policy", p.Name, "", "", p.Type, "PutScalingPolicy")
	return r.copyPolicy(np.m), nil
}

func (r *Region) validatePolicyLocked(p *ScalingPolicy) error {
	bad := func(f string, a ...any) error { return apiErr(400, "ValidationError", f, a...) }
	if p.Name == "" || len(p.Name) > 255 {
		return bad("1 validation error detected: Value at 'policyName' failed to satisfy constraint: Member must have length between 1 and 255")
	}
	switch p.Type {
	case PolicySimple, PolicyStep:
		if p.TargetTracking != nil {
			return bad("TargetTrackingConfiguration is only supported for policy type TargetTrackingScaling")
		}
		if !slices.Contains(AdjustmentTypes, p.AdjustmentType) {
			return bad("Invalid adjustment type %q: must be one of %s", p.AdjustmentType, strings.Join(AdjustmentTypes, ", "))
		}
		if p.MinAdjustmentMagnitude != nil && p.AdjustmentType != "PercentChangeInCapacity" {
			return bad("MinAdjustmentMagnitude is only supported for adjustment type PercentChangeInCapacity")
		}
	case PolicyTargetTracking:
		if p.TargetTracking == nil {
			return bad("TargetTrackingConfiguration is required for policy type TargetTrackingScaling")
		}
		if p.AdjustmentType != "" || p.ScalingAdjustment != nil || len(p.StepAdjustments) > 0 || p.Cooldown != nil {
			return bad("AdjustmentType, ScalingAdjustment, StepAdjustments and Cooldown are not supported for policy type TargetTrackingScaling")
		}
		tt := p.TargetTracking
		if !slices.Contains(PredefinedMetrics, tt.PredefinedMetricType) {
			return bad("The sandbox supports PredefinedMetricType %s (got %q; no customized metrics)", strings.Join(PredefinedMetrics, ", "), tt.PredefinedMetricType)
		}
		if tt.TargetValue <= 0 || math.IsInf(tt.TargetValue, 0) || math.IsNaN(tt.TargetValue) {
			return bad("TargetValue must be a positive number")
		}
		if tt.PredefinedMetricType == "ALBRequestCountPerTarget" {
			want := r.lbDim() + "/" + r.tgDim()
			if tt.ResourceLabel == "" {
				return bad("ResourceLabel is required for PredefinedMetricType ALBRequestCountPerTarget")
			}
			if tt.ResourceLabel != want {
				return bad("Invalid ResourceLabel %s: the target group must be attached to the Auto Scaling group (%s)", tt.ResourceLabel, want)
			}
		} else if tt.ResourceLabel != "" {
			return bad("ResourceLabel is only supported for PredefinedMetricType ALBRequestCountPerTarget")
		}
	default:
		return bad("Invalid policy type %q: must be one of SimpleScaling, StepScaling, TargetTrackingScaling", p.Type)
	}
	switch p.Type {
	case PolicySimple:
		if p.ScalingAdjustment == nil {
			return bad("ScalingAdjustment is required for policy type SimpleScaling")
		}
		if len(p.StepAdjustments) > 0 || p.MetricAggregationType != "" || p.EstimatedInstanceWarmup != nil {
			return bad("StepAdjustments, MetricAggregationType and EstimatedInstanceWarmup are not supported for policy type SimpleScaling")
		}
	case PolicyStep:
		if len(p.StepAdjustments) == 0 {
			return bad("StepAdjustments is required for policy type StepScaling")
		}
		if p.ScalingAdjustment != nil || p.Cooldown != nil {
			return bad("ScalingAdjustment and Cooldown are not supported for policy type StepScaling")
		}
		if len(p.StepAdjustments) > 20 {
			return bad("At most 20 step adjustments are allowed")
		}
		switch p.MetricAggregationType {
		case "":
			p.MetricAggregationType = "Average"
		case "Average", "Minimum", "Maximum":
		default:
			return bad("Invalid MetricAggregationType %q: must be Average, Minimum or Maximum", p.MetricAggregationType)
		}
		if err := checkSteps(p.StepAdjustments); err != nil {
			return err
		}
	}
	for name, v := range map[string]*int32{"Cooldown": p.Cooldown, "EstimatedInstanceWarmup": p.EstimatedInstanceWarmup} {
		if v != nil && (*v < 0 || *v > 86400) {
			return bad("%s must be between 0 and 86400 seconds", name)
		}
	}
	return nil
}

// checkSteps enforces AWS's rules for step adjustments: no overlaps, no
// gaps, at most one unbounded lower and one unbounded upper bound.
func checkSteps(steps []StepAdjustment) error {
	s := slices.Clone(steps)
	lo := func(a StepAdjustment) float64 {
		if a.Lower == nil {
			return math.Inf(-1)
		}
		return *a.Lower
	}
	hi := func(a StepAdjustment) float64 {
		if a.Upper == nil {
			return math.Inf(1)
		}
		return *a.Upper
	}
	slices.SortFunc(s, func(a, b StepAdjustment) int { return cmpFloat(lo(a), lo(b)) })
	for i, a := range s {
		if a.Lower == nil && a.Upper == nil {
			return apiErr(400, "ValidationError", "A step adjustment must have a lower or an upper bound")
		}
		if lo(a) >= hi(a) {
			return apiErr(400, "ValidationError", "The upper bound of a step adjustment must be greater than its lower bound")
		}
		if i > 0 && hi(s[i-1]) != lo(a) {
			return apiErr(400, "ValidationError", "Step adjustments must not overlap or leave gaps (bound %s)", fmtValue(hi(s[i-1])))
		}
	}
	return nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (r *Region) targetTrackingAlarmsLocked(p *policy) error {
	tt := p.m.TargetTracking
	g := r.group
	base := MetricAlarm{
		Period: 60, ActionsEnabled: true, AlarmActions: []string{p.m.ARN},
		Description: "DO NOT EDIT OR DELETE. For TargetTrackingScaling policy " + p.m.ARN + ".",
	}
	switch tt.PredefinedMetricType {
	case "ASGAverageCPUUtilization":
		base.Metric = Metric{Namespace: "AWS/EC2", MetricName: "CPUUtilization", Dimensions: []Dimension{{"AutoScalingGroupName", g.m.Name}}}
		base.Statistic, base.Unit = "Average", "Percent"
	case "ALBRequestCountPerTarget":
		base.Metric = Metric{Namespace: "AWS/ApplicationELB", MetricName: "RequestCountPerTarget", Dimensions: []Dimension{{"TargetGroup", r.tgDim()}}}
		base.Statistic = "Sum"
	}
	high := base
	high.Name = "TargetTracking-" + g.m.Name + "-AlarmHigh-" + r.uuid()
	high.EvaluationPeriods, high.DatapointsToAlarm = 3, 3
	high.Threshold, high.ComparisonOperator = tt.TargetValue, "GreaterThanThreshold"
	alarms := []MetricAlarm{high}
	if !tt.DisableScaleIn {
		low := base
		low.Name = "TargetTracking-" + g.m.Name + "-AlarmLow-" + r.uuid()
		low.EvaluationPeriods, low.DatapointsToAlarm = 15, 15
		low.Threshold, low.ComparisonOperator = 0.9*tt.TargetValue, "LessThanThreshold"
		alarms = append(alarms, low)
	}
	p.m.Alarms = nil
	for _, a := range alarms {
		a.Dimensions = slices.Clone(a.Dimensions)
		a.AlarmActions = slices.Clone(a.AlarmActions)
		m, err := r.putAlarmLocked(a)
		if err != nil {
			return err
		}
		p.m.Alarms = append(p.m.Alarms, PolicyAlarm{m.Name, m.ARN})
	}
	return nil
}

func (r *Region) deletePolicyAlarmsLocked(p *policy) {
	if p.m.Type != PolicyTargetTracking {
		return
	}
	for _, a := range p.m.Alarms {
		if r.cw.alarms[a.Name] != nil {
			delete(r.cw.alarms, a.Name)
			r.emit("alarm-state", a.Name, "", "", "deleted", "DeletePolicy "+p.m.Name)
		}
	}
}

// DeletePolicy deletes a policy by name or ARN, with the alarms of a target
// tracking policy.
func (r *Region) DeletePolicy(group, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if group != "" && group != r.group.m.Name {
		return apiErr(400, "ValidationError", "AutoScalingGroup name not found - AutoScalingGroup %s not found", group)
	}
	i := slices.IndexFunc(r.cw.policies, func(x *policy) bool { return x.m.Name == name || x.m.ARN == name })
	if i < 0 {
		// AWS answers success for an unknown policy name in a known group.
		return nil
	}
	p := r.cw.policies[i]
	r.deletePolicyAlarmsLocked(p)
	r.cw.policies = slices.Delete(r.cw.policies, i, i+1)
	r.emit("scaling-policy", p.m.Name, "", p.m.Type, "deleted", "DeletePolicy")
	return nil
}

// Policies lists the group's policies (all groups if group is ""),
// filtered by names (or ARNs) and types when given, in creation order.
func (r *Region) Policies(group string, names, types []string) []ScalingPolicy {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []ScalingPolicy
	for _, p := range r.cw.policies {
		if group != "" && p.m.GroupName != group {
			continue
		}
		if len(names) > 0 && !slices.Contains(names, p.m.Name) && !slices.Contains(names, p.m.ARN) {
			continue
		}
		if len(types) > 0 && !slices.Contains(types, p.m.Type) {
			continue
		}
		out = append(out, r.copyPolicy(p.m))
	}
	return out
}

func (r *Region) copyPolicy(p ScalingPolicy) ScalingPolicy {
	p.StepAdjustments = slices.Clone(p.StepAdjustments)
	p.Alarms = slices.Clone(p.Alarms)
	if p.TargetTracking != nil {
		tt := *p.TargetTracking
		p.TargetTracking = &tt
	}
	return p
}

// warmupLocked is the policy's instance warm-up in wall time: its own
// EstimatedInstanceWarmup, else the group's (the timings' scale_warmup).
func (r *Region) warmupLocked(p *policy) time.Duration {
	if p.m.EstimatedInstanceWarmup != nil {
		return r.cwSeconds(*p.m.EstimatedInstanceWarmup)
	}
	return r.t.ScaleWarmup
}

// capacityLocked counts the group's members that are not terminating, those
// in service, and of the active ones those still warming up (pending, or in
// service for less than warmup): they count toward the desired capacity but
// not yet toward the metric.
func (r *Region) capacityLocked(now time.Time, warmup time.Duration) (active, inService, warming int32) {
	for _, m := range r.group.members {
		if m.lifecycle == lifeTerminating {
			continue
		}
		active++
		if m.lifecycle == lifeInService {
			inService++
		}
		if m.lifecycle == lifePending || (m.inService.After(r.cw.builtAt) && now.Sub(m.inService) < warmup) {
			warming++
		}
	}
	return active, inService, warming
}

// runPolicyLocked executes a policy on behalf of an alarm in ALARM.
func (r *Region) runPolicyLocked(p *policy, a *alarm, now time.Time) {
	g := r.group
	if !p.m.Enabled {
		return
	}
	if r.alarmNotificationSuspendedLocked() {
		r.emit("scaling-policy", p.m.Name, "", "", "skipped", "AlarmNotification suspended")
		return
	}
	v, ok := r.latestValueLocked(a)
	if !ok {
		// SetAlarmState, no datapoint: a value just past the threshold on
		// the breaching side, so the step that starts at the threshold runs.
		v = a.m.Threshold
		switch a.m.ComparisonOperator {
		case "GreaterThanThreshold":
			v = math.Nextafter(v, math.Inf(1))
		case "LessThanThreshold", "LessThanOrEqualToThreshold":
			v = math.Nextafter(v, math.Inf(-1))
		}
	}
	warmup := r.warmupLocked(p)
	active, inService, warming := r.capacityLocked(now, warmup)
	settled := active - warming
	cur := g.m.Desired
	want := cur
	switch p.m.Type {
	case PolicyTargetTracking:
		tt := p.m.TargetTracking
		// The metric is over the in-service instances (pending ones take no
		// traffic yet and are already counted in the desired capacity).
		ideal := int32(math.Ceil(float64(max(inService, 1)) * v / tt.TargetValue))
		if breaches("GreaterThanThreshold", v, tt.TargetValue) {
			want = max(cur, ideal)
		} else {
			if tt.DisableScaleIn || warming > 0 || now.Sub(p.lastScale) < g.m.DefaultCooldown {
				return
			}
			want = min(cur, max(ideal, 1))
		}
	case PolicyStep:
		delta := v - a.m.Threshold
		var adj *StepAdjustment
		// Above the threshold a step's lower bound is inclusive and its
		// upper exclusive; below it the other way round (Auto Scaling User
		// Guide, "Step adjustments for step scaling").
		for i := range p.m.StepAdjustments {
			s := &p.m.StepAdjustments[i]
			var in bool
			if delta >= 0 {
				in = (s.Lower == nil || delta >= *s.Lower) && (s.Upper == nil || delta < *s.Upper)
			} else {
				in = (s.Lower == nil || delta > *s.Lower) && (s.Upper == nil || delta <= *s.Upper)
			}
			if in {
				adj = s
				break
			}
		}
		if adj == nil {
			r.emit("scaling-policy", p.m.Name, "", "", "no step", fmt.Sprintf("no step adjustment found for metric value %s and breach threshold %s (alarm %s)", fmtValue(v), fmtValue(a.m.Threshold), a.m.Name))
			return
		}
		if adj.ScalingAdjustment >= 0 || p.m.AdjustmentType == "ExactCapacity" {
			// Instances still warming up are not counted again: the step
			// adds to the settled capacity, and only beyond what is
			// already on its way.
			want = max(cur, r.adjust(p, settled, adj.ScalingAdjustment))
		} else {
			if warming > 0 {
				return
			}
			want = r.adjust(p, cur, adj.ScalingAdjustment)
		}
	case PolicySimple:
		if now.Before(p.cooldownTill) {
			return
		}
		want = r.adjust(p, cur, *p.m.ScalingAdjustment)
		cd := g.m.DefaultCooldown
		if p.m.Cooldown != nil {
			cd = r.cwSeconds(*p.m.Cooldown)
		}
		p.cooldownTill = now.Add(cd)
	}
	want = max(min(want, g.m.Max), g.m.Min)
	if want == cur {
		return
	}
	p.lastScale = now
	g.pendingCause = fmt.Sprintf("At %s a monitor alarm %s in state ALARM triggered policy %s changing the desired capacity from %d to %d. ",
		awsTime(now), a.m.Name, p.m.Name, cur, want)
	r.setDesiredLocked(want, fmt.Sprintf("policy %s: %s %s = %s (alarm %s)", p.m.Name, a.m.MetricName, a.m.Statistic, fmtValue(v), a.m.Name))
	// The group acts on the new desired capacity at once (its launch or
	// terminate activities carry the policy's cause).
	r.asgStepLocked(now)
}

// adjust applies an adjustment of the policy's type to capacity c.
func (r *Region) adjust(p *policy, c, adj int32) int32 {
	switch p.m.AdjustmentType {
	case "ExactCapacity":
		return adj
	case "PercentChangeInCapacity":
		d := int32(float64(c) * float64(adj) / 100) // AWS rounds toward zero
		if d == 0 && adj != 0 {
			d = int32(math.Copysign(1, float64(adj)))
		}
		if m := p.m.MinAdjustmentMagnitude; m != nil && abs32(d) < *m {
			d = int32(math.Copysign(float64(*m), float64(adj)))
		}
		return c + d
	}
	return c + adj
}

func abs32(v int32) int32 {
	if v < 0 {
		return -v
	}
	return v
}

// buildPoliciesLocked turns group.target_requests_per_target into a target
// tracking policy on ALBRequestCountPerTarget. The knob is requests per
// wall second per target; the metric is requests per CloudWatch minute, so
// the target value is the knob × MetricMinute in seconds (the same number
// in the fast profile, 60× in the aws one).
func (r *Region) buildPoliciesLocked() error {
	c := r.cfg.Group
	if c.TargetRequestsPerTarget <= 0 {
		return nil
	}
	warm := int32(r.t.ScaleWarmup * 60 / r.t.MetricMinute)
	_, err := r.putPolicyLocked(ScalingPolicy{
		GroupName: c.Name, Name: c.Name + "-request-count-per-target", Type: PolicyTargetTracking,
		EstimatedInstanceWarmup: &warm,
		TargetTracking: &TargetTracking{
			PredefinedMetricType: "ALBRequestCountPerTarget",
			ResourceLabel:        r.lbDim() + "/" + r.tgDim(),
			TargetValue:          c.TargetRequestsPerTarget * r.t.MetricMinute.Seconds(),
		},
	})
	return err
}
