package sim

import (
	"fmt"
	"slices"
	"strings"
)

// PolicyConfig is a scaling policy the region starts with (sandbox config
// scaling_policies), as PutScalingPolicy would create it. Seconds are
// CloudWatch seconds (see Timings.MetricMinute).
type PolicyConfig struct {
	Name string `yaml:"name" mapstructure:"name" json:"name"`
	// Type: StepScaling (default), SimpleScaling or TargetTrackingScaling.
	Type           string `yaml:"type" mapstructure:"type" json:"type,omitempty"`
	AdjustmentType string `yaml:"adjustment_type" mapstructure:"adjustment_type" json:"adjustment_type,omitempty"` // default ChangeInCapacity
	// Steps of a step policy, bounds relative to the alarm's threshold.
	Steps []StepConfig `yaml:"steps" mapstructure:"steps" json:"steps,omitempty"`
	// Adjustment and Cooldown of a simple policy.
	Adjustment *int32 `yaml:"adjustment" mapstructure:"adjustment" json:"adjustment,omitempty"`
	Cooldown   *int32 `yaml:"cooldown" mapstructure:"cooldown" json:"cooldown,omitempty"`
	// EstimatedInstanceWarmup (step and target tracking).
	EstimatedInstanceWarmup *int32 `yaml:"estimated_instance_warmup" mapstructure:"estimated_instance_warmup" json:"estimated_instance_warmup,omitempty"`
	// TargetTracking: ASGAverageCPUUtilization or ALBRequestCountPerTarget
	// (the resource label is filled in) and the target value.
	Metric         string  `yaml:"metric" mapstructure:"metric" json:"metric,omitempty"`
	Target         float64 `yaml:"target" mapstructure:"target" json:"target,omitempty"`
	DisableScaleIn bool    `yaml:"disable_scale_in" mapstructure:"disable_scale_in" json:"disable_scale_in,omitempty"`
}

// StepConfig is one step adjustment; nil bounds are unbounded.
type StepConfig struct {
	Lower      *float64 `yaml:"lower" mapstructure:"lower" json:"lower,omitempty"`
	Upper      *float64 `yaml:"upper" mapstructure:"upper" json:"upper,omitempty"`
	Adjustment int32    `yaml:"adjustment" mapstructure:"adjustment" json:"adjustment"`
}

// AlarmConfig is a CloudWatch metric alarm the region starts with (sandbox
// config alarms), as PutMetricAlarm would create it.
type AlarmConfig struct {
	Name      string `yaml:"name" mapstructure:"name" json:"name"`
	Namespace string `yaml:"namespace" mapstructure:"namespace" json:"namespace"`
	Metric    string `yaml:"metric" mapstructure:"metric" json:"metric"`
	// Dimensions default to the stack's: AutoScalingGroupName for AWS/EC2,
	// LoadBalancer (and TargetGroup for per-target metrics) for
	// AWS/ApplicationELB, the DB instance for AWS/RDS.
	Dimensions        map[string]string `yaml:"dimensions" mapstructure:"dimensions" json:"dimensions,omitempty"`
	Statistic         string            `yaml:"statistic" mapstructure:"statistic" json:"statistic,omitempty"` // default Average
	Period            int32             `yaml:"period" mapstructure:"period" json:"period,omitempty"`          // default 60
	EvaluationPeriods int32             `yaml:"evaluation_periods" mapstructure:"evaluation_periods" json:"evaluation_periods"`
	DatapointsToAlarm int32             `yaml:"datapoints_to_alarm" mapstructure:"datapoints_to_alarm" json:"datapoints_to_alarm,omitempty"`
	Threshold         float64           `yaml:"threshold" mapstructure:"threshold" json:"threshold"`
	Comparison        string            `yaml:"comparison" mapstructure:"comparison" json:"comparison"`
	TreatMissingData  string            `yaml:"treat_missing_data" mapstructure:"treat_missing_data" json:"treat_missing_data,omitempty"`
	// Policies names scaling_policies whose ARNs are the alarm's actions.
	Policies []string `yaml:"policies" mapstructure:"policies" json:"policies,omitempty"`
}

// Bounds on the start-up lists.
const (
	maxConfigPolicies = 20
	maxConfigAlarms   = 50
)

// defaultDims are the stack's dimensions for a namespace's metric.
func (r *Region) defaultDims(ns, metric string) []Dimension {
	switch ns {
	case "AWS/EC2":
		return []Dimension{{"AutoScalingGroupName", r.group.m.Name}}
	case "AWS/ApplicationELB":
		switch metric {
		case "RequestCountPerTarget":
			return []Dimension{{"TargetGroup", r.tgDim()}}
		case "HealthyHostCount", "UnHealthyHostCount", "HTTPCode_Target_5XX_Count":
			return []Dimension{{"LoadBalancer", r.lbDim()}, {"TargetGroup", r.tgDim()}}
		}
		return []Dimension{{"LoadBalancer", r.lbDim()}}
	case "AWS/RDS":
		return []Dimension{{"DBInstanceIdentifier", r.db.members[r.db.writer].m.ID}}
	}
	return nil
}

// buildConfiguredLocked creates the config's scaling policies and alarms.
func (r *Region) buildConfiguredLocked() error {
	c := r.cfg
	if len(c.ScalingPolicies) > maxConfigPolicies || len(c.Alarms) > maxConfigAlarms {
		return fmt.Errorf("at most %d scaling_policies and %d alarms", maxConfigPolicies, maxConfigAlarms)
	}
	arns := map[string]string{}
	for i, pc := range c.ScalingPolicies {
		p := ScalingPolicy{GroupName: r.group.m.Name, Name: pc.Name, Type: pc.Type, AdjustmentType: pc.AdjustmentType,
			ScalingAdjustment: pc.Adjustment, Cooldown: pc.Cooldown, EstimatedInstanceWarmup: pc.EstimatedInstanceWarmup}
		if p.Type == "" {
			p.Type = PolicyStep
		}
		if p.Type != PolicyTargetTracking && p.AdjustmentType == "" {
			p.AdjustmentType = "ChangeInCapacity"
		}
		for _, s := range pc.Steps {
			p.StepAdjustments = append(p.StepAdjustments, StepAdjustment{Lower: s.Lower, Upper: s.Upper, ScalingAdjustment: s.Adjustment})
		}
		if p.Type == PolicyTargetTracking {
			tt := &TargetTracking{PredefinedMetricType: pc.Metric, TargetValue: pc.Target, DisableScaleIn: pc.DisableScaleIn}
			if pc.Metric == "ALBRequestCountPerTarget" {
				tt.ResourceLabel = r.lbDim() + "/" + r.tgDim()
			}
			p.TargetTracking = tt
		}
		out, err := r.putPolicyLocked(p)
		if err != nil {
			return fmt.Errorf("scaling_policies[%d] (%s): %w", i, pc.Name, err)
		}
		arns[pc.Name] = out.ARN
	}
	for i, ac := range c.Alarms {
		where := fmt.Sprintf("alarms[%d] (%s)", i, ac.Name)
		a := MetricAlarm{Name: ac.Name, Statistic: ac.Statistic, Period: ac.Period, EvaluationPeriods: ac.EvaluationPeriods,
			DatapointsToAlarm: ac.DatapointsToAlarm, Threshold: ac.Threshold, ComparisonOperator: ac.Comparison,
			TreatMissingData: ac.TreatMissingData, ActionsEnabled: true}
		a.Namespace, a.MetricName = ac.Namespace, ac.Metric
		if a.Statistic == "" {
			a.Statistic = "Average"
		}
		if a.Period == 0 {
			a.Period = 60
		}
		var errs []string
		if ac.Name == "" || len(ac.Name) > 255 {
			errs = append(errs, "name: 1 to 255 characters")
		}
		if _, dup := r.cw.alarms[ac.Name]; dup {
			errs = append(errs, "name: taken")
		}
		if a.Namespace == "" || a.MetricName == "" {
			errs = append(errs, "namespace and metric are required")
		}
		if !slices.Contains(Statistics, a.Statistic) {
			errs = append(errs, "statistic: one of "+strings.Join(Statistics, ", "))
		}
		if !(a.Period == 10 || a.Period == 20 || a.Period == 30 || (a.Period > 0 && a.Period%60 == 0)) {
			errs = append(errs, "period: 10, 20, 30 or a multiple of 60")
		}
		if a.EvaluationPeriods < 1 || int64(a.EvaluationPeriods)*int64(a.Period) > 86400 {
			errs = append(errs, "evaluation_periods: at least 1, and evaluation_periods × period at most one day")
		}
		if a.DatapointsToAlarm < 0 || a.DatapointsToAlarm > a.EvaluationPeriods {
			errs = append(errs, "datapoints_to_alarm: 1 to evaluation_periods")
		}
		if !slices.Contains(Comparisons, a.ComparisonOperator) {
			errs = append(errs, "comparison: one of "+strings.Join(Comparisons, ", "))
		}
		if a.TreatMissingData != "" && !slices.Contains(MissingTreatments, a.TreatMissingData) {
			errs = append(errs, "treat_missing_data: one of "+strings.Join(MissingTreatments, ", "))
		}
		for _, pn := range ac.Policies {
			arn, ok := arns[pn]
			if !ok {
				errs = append(errs, fmt.Sprintf("policies: %q is not in scaling_policies", pn))
				continue
			}
			a.AlarmActions = append(a.AlarmActions, arn)
		}
		if len(errs) > 0 {
			return fmt.Errorf("%s: %s", where, strings.Join(errs, "; "))
		}
		if len(ac.Dimensions) == 0 {
			a.Dimensions = r.defaultDims(a.Namespace, a.MetricName)
		}
		for k, v := range ac.Dimensions {
			a.Dimensions = append(a.Dimensions, Dimension{k, v})
		}
		if _, err := r.putAlarmLocked(a); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
	}
	return nil
}
