package awsapi

import (
	"slices"
	"strconv"

	"github.com/gameday-dev/gameday/sandbox/sim"
)

// Auto Scaling's scaling-policy actions (API 2011-01-01; shapes from
// botocore's autoscaling/2011-01-01/service-2.json).

var pagePolicies = pageSpec{size: "MaxRecords", token: "NextToken", min: 1, max: 100, def: 50}

func init() {
	autoscalingActions["PutScalingPolicy"] = actionDef{fn: (*handler).asPutScalingPolicy, mutating: true}
	autoscalingActions["DescribePolicies"] = actionDef{fn: (*handler).asDescribePolicies}
	autoscalingActions["DeletePolicy"] = actionDef{fn: (*handler).asDeletePolicy, mutating: true}
	paged[ServiceAutoScaling]["DescribePolicies"] = pagePolicies
	actionNotes[ServiceAutoScaling]["PutScalingPolicy"] = "SimpleScaling, StepScaling (run by a CloudWatch alarm naming the policy ARN) and TargetTrackingScaling on ASGAverageCPUUtilization or ALBRequestCountPerTarget, which creates its TargetTracking-…-AlarmHigh/AlarmLow alarms as AWS does. Warm-up and cooldown honoured, on the CloudWatch clock. No customized metrics, no predictive scaling."
	actionNotes[ServiceAutoScaling]["DescribePolicies"] = "The group's policies with their alarms; PolicyNames, PolicyTypes. The start-up policy from group.target_requests_per_target is one of them."
	actionNotes[ServiceAutoScaling]["DeletePolicy"] = "By name or ARN; a target-tracking policy's alarms go with it. An unknown policy name is not an error."
}

func (h *handler) asPutScalingPolicy(r *request) (any, error) {
	b, err := h.cw()
	if err != nil {
		return nil, err
	}
	p := sim.ScalingPolicy{
		GroupName: r.p.get("AutoScalingGroupName"), Name: r.p.get("PolicyName"), Type: r.p.get("PolicyType"),
		AdjustmentType: r.p.get("AdjustmentType"), MetricAggregationType: r.p.get("MetricAggregationType"),
	}
	if p.GroupName == "" {
		return nil, errMissing(r.service, "AutoScalingGroupName")
	}
	if p.Name == "" {
		return nil, errMissing(r.service, "PolicyName")
	}
	ints := map[string]**int32{
		"ScalingAdjustment": &p.ScalingAdjustment, "MinAdjustmentMagnitude": &p.MinAdjustmentMagnitude,
		"Cooldown": &p.Cooldown, "EstimatedInstanceWarmup": &p.EstimatedInstanceWarmup,
	}
	for name, dst := range ints {
		v, ok, err := r.p.int32(name)
		if err != nil {
			return nil, errInvalid(r.service, name, r.p.get(name), "must be an integer")
		}
		if ok {
			*dst = &v
		}
	}
	if v, ok := r.p.boolean("Enabled"); ok && !v {
		return nil, errInvalid(r.service, "Enabled", "false", "the sandbox does not keep disabled policies")
	}
	for _, s := range r.p.indexes("StepAdjustments.member") {
		var st sim.StepAdjustment
		adj, ok, err := r.p.int32(s + ".ScalingAdjustment")
		if !ok {
			return nil, errMissing(r.service, s+".ScalingAdjustment")
		}
		if err != nil {
			return nil, errInvalid(r.service, s+".ScalingAdjustment", r.p.get(s+".ScalingAdjustment"), "must be an integer")
		}
		st.ScalingAdjustment = adj
		for name, dst := range map[string]**float64{"MetricIntervalLowerBound": &st.Lower, "MetricIntervalUpperBound": &st.Upper} {
			if v := r.p.get(s + "." + name); v != "" {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					return nil, errInvalid(r.service, s+"."+name, v, "must be a number")
				}
				*dst = &f
			}
		}
		p.StepAdjustments = append(p.StepAdjustments, st)
	}
	const tt = "TargetTrackingConfiguration"
	if r.p.has(tt+".TargetValue") || r.p.has(tt+".PredefinedMetricSpecification.PredefinedMetricType") || len(r.p.indexes(tt+".CustomizedMetricSpecification.Metrics.member")) > 0 || r.p.has(tt+".CustomizedMetricSpecification.MetricName") {
		if r.p.has(tt+".CustomizedMetricSpecification.MetricName") || len(r.p.indexes(tt+".CustomizedMetricSpecification.Metrics.member")) > 0 {
			return nil, errInvalid(r.service, tt+".CustomizedMetricSpecification", "…", "the sandbox supports predefined metrics only")
		}
		v := r.p.get(tt + ".TargetValue")
		if v == "" {
			return nil, errMissing(r.service, tt+".TargetValue")
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, errInvalid(r.service, tt+".TargetValue", v, "must be a number")
		}
		cfg := &sim.TargetTracking{
			PredefinedMetricType: r.p.get(tt + ".PredefinedMetricSpecification.PredefinedMetricType"),
			ResourceLabel:        r.p.get(tt + ".PredefinedMetricSpecification.ResourceLabel"),
			TargetValue:          f,
		}
		if d, ok := r.p.boolean(tt + ".DisableScaleIn"); ok {
			cfg.DisableScaleIn = d
		}
		p.TargetTracking = cfg
	}
	out, err := b.PutScalingPolicy(p)
	if err != nil {
		return nil, err
	}
	type res struct {
		PolicyARN string     `xml:"PolicyARN"`
		Alarms    []asgAlarm `xml:"Alarms>member"`
	}
	return res{PolicyARN: out.ARN, Alarms: alarmsXML(out.Alarms)}, nil
}

type asgAlarm struct {
	AlarmName string `xml:"AlarmName"`
	AlarmARN  string `xml:"AlarmARN"`
}

func alarmsXML(as []sim.PolicyAlarm) []asgAlarm {
	out := []asgAlarm{}
	for _, a := range as {
		out = append(out, asgAlarm{a.Name, a.ARN})
	}
	return out
}

type asgStep struct {
	MetricIntervalLowerBound *float64 `xml:"MetricIntervalLowerBound,omitempty"`
	MetricIntervalUpperBound *float64 `xml:"MetricIntervalUpperBound,omitempty"`
	ScalingAdjustment        int32    `xml:"ScalingAdjustment"`
}

type asgPredefined struct {
	PredefinedMetricType string `xml:"PredefinedMetricType"`
	ResourceLabel        string `xml:"ResourceLabel,omitempty"`
}

type asgTargetTracking struct {
	PredefinedMetricSpecification asgPredefined `xml:"PredefinedMetricSpecification"`
	TargetValue                   float64       `xml:"TargetValue"`
	DisableScaleIn                bool          `xml:"DisableScaleIn"`
}

type asgPolicy struct {
	AutoScalingGroupName        string             `xml:"AutoScalingGroupName"`
	PolicyName                  string             `xml:"PolicyName"`
	PolicyARN                   string             `xml:"PolicyARN"`
	PolicyType                  string             `xml:"PolicyType"`
	AdjustmentType              string             `xml:"AdjustmentType,omitempty"`
	MinAdjustmentMagnitude      *int32             `xml:"MinAdjustmentMagnitude,omitempty"`
	ScalingAdjustment           *int32             `xml:"ScalingAdjustment,omitempty"`
	Cooldown                    *int32             `xml:"Cooldown,omitempty"`
	StepAdjustments             []asgStep          `xml:"StepAdjustments>member"`
	MetricAggregationType       string             `xml:"MetricAggregationType,omitempty"`
	EstimatedInstanceWarmup     *int32             `xml:"EstimatedInstanceWarmup,omitempty"`
	Alarms                      []asgAlarm         `xml:"Alarms>member"`
	TargetTrackingConfiguration *asgTargetTracking `xml:"TargetTrackingConfiguration,omitempty"`
	Enabled                     bool               `xml:"Enabled"`
}

func (h *handler) asDescribePolicies(r *request) (any, error) {
	b, err := h.cw()
	if err != nil {
		return nil, err
	}
	names := r.p.list("PolicyNames.member")
	types := r.p.list("PolicyTypes.member")
	for _, t := range types {
		if !slices.Contains([]string{sim.PolicySimple, sim.PolicyStep, sim.PolicyTargetTracking, "PredictiveScaling"}, t) {
			return nil, errInvalid(r.service, "PolicyTypes", t, "must be SimpleScaling, StepScaling, TargetTrackingScaling or PredictiveScaling")
		}
	}
	ps, next, err := pageOf(r, b.Policies(r.p.get("AutoScalingGroupName"), names, types))
	if err != nil {
		return nil, err
	}
	type out struct {
		ScalingPolicies []asgPolicy `xml:"ScalingPolicies>member"`
		NextToken       string      `xml:"NextToken,omitempty"`
	}
	o := out{ScalingPolicies: []asgPolicy{}, NextToken: next}
	for _, p := range ps {
		x := asgPolicy{
			AutoScalingGroupName: p.GroupName, PolicyName: p.Name, PolicyARN: p.ARN, PolicyType: p.Type,
			AdjustmentType: p.AdjustmentType, MinAdjustmentMagnitude: p.MinAdjustmentMagnitude,
			ScalingAdjustment: p.ScalingAdjustment, Cooldown: p.Cooldown, MetricAggregationType: p.MetricAggregationType,
			EstimatedInstanceWarmup: p.EstimatedInstanceWarmup, Alarms: alarmsXML(p.Alarms), Enabled: p.Enabled,
			StepAdjustments: []asgStep{},
		}
		for _, s := range p.StepAdjustments {
			x.StepAdjustments = append(x.StepAdjustments, asgStep{s.Lower, s.Upper, s.ScalingAdjustment})
		}
		if t := p.TargetTracking; t != nil {
			x.TargetTrackingConfiguration = &asgTargetTracking{asgPredefined{t.PredefinedMetricType, t.ResourceLabel}, t.TargetValue, t.DisableScaleIn}
		}
		o.ScalingPolicies = append(o.ScalingPolicies, x)
	}
	return o, nil
}

func (h *handler) asDeletePolicy(r *request) (any, error) {
	b, err := h.cw()
	if err != nil {
		return nil, err
	}
	name := r.p.get("PolicyName")
	if name == "" {
		return nil, errMissing(r.service, "PolicyName")
	}
	return nil, b.DeletePolicy(r.p.get("AutoScalingGroupName"), name)
}
