package sim

import (
	"strings"
	"testing"
	"time"

	"github.com/gameday-dev/gameday/internal/testutil"
)

func f64(v float64) *float64 { return &v }

// TestConfiguredStepScalingOutAndIn: the reference architecture's pair of
// step policies (out on CPU > 70% for 3 periods, in on CPU < 30% for 5),
// configured at start-up, follow the load out and back in; CPU comes from
// the workers' busy time.
func TestConfiguredStepScalingOutAndIn(t *testing.T) {
	cfg := testConfig()
	cfg.Group = GroupConfig{Min: 1, Desired: 1, Max: 3}
	cfg.Instance = InstanceConfig{Concurrency: 2, ServiceTime: 20 * time.Millisecond}
	warm := int32(60)
	cfg.ScalingPolicies = []PolicyConfig{
		{Name: "out", Steps: []StepConfig{{Lower: f64(0), Adjustment: 1}}, EstimatedInstanceWarmup: &warm},
		{Name: "in", Steps: []StepConfig{{Upper: f64(0), Adjustment: -1}}},
	}
	cfg.Alarms = []AlarmConfig{
		{Name: "cpu-high", Namespace: "AWS/EC2", Metric: "CPUUtilization", EvaluationPeriods: 3, Threshold: 70, Comparison: "GreaterThanThreshold", Policies: []string{"out"}},
		{Name: "cpu-low", Namespace: "AWS/EC2", Metric: "CPUUtilization", EvaluationPeriods: 5, Threshold: 30, Comparison: "LessThanThreshold", Policies: []string{"in"}},
	}
	r := startRegion(t, cfg)
	c := newClient(2 * time.Second)
	defer c.CloseIdleConnections()
	load := startLoad(c, "GET", nodeURL(r, 0, "/"), 3, 0) // 3 clients on 2 workers
	testutil.Eventually(t, 10*time.Second, "scale-out", func() bool { return r.AutoScalingGroups()[0].Desired >= 2 })
	load.halt()
	var cause string
	for _, a := range r.ScalingActivities("gameday-web") {
		if strings.Contains(a.Cause, "cpu-high") {
			cause = a.Cause
		}
	}
	if !strings.Contains(cause, "a monitor alarm cpu-high in state ALARM triggered policy out changing the desired capacity from 1 to 2.") {
		t.Errorf("scale-out cause %q", cause)
	}
	for _, a := range r.Alarms() {
		if a.Name == "cpu-high" && (a.Dimensions[0] != Dimension{"AutoScalingGroupName", "gameday-web"} || a.Period != 60) {
			t.Errorf("configured alarm %+v", a)
		}
	}
	// Without load CPU falls to 0: five low periods, then one step in at a
	// time (no instance warming up), down to the minimum.
	testutil.Eventually(t, 15*time.Second, "scale-in to min", func() bool { return r.AutoScalingGroups()[0].Desired == 1 })
	in := 0
	for _, e := range r.Events() {
		if e.Kind == "asg-capacity" && strings.Contains(e.Detail, "policy in:") {
			in++
		}
	}
	if in == 0 {
		t.Errorf("no scale-in by policy in the ground truth")
	}
}

// TestConfigErrorsNameTheField: a bad start-up alarm or policy is refused
// by New, naming the list entry and field.
func TestConfigErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) {
			c.Alarms = []AlarmConfig{{Name: "a", Namespace: "AWS/EC2", Metric: "CPUUtilization", EvaluationPeriods: 1, Period: 45, Comparison: "GreaterThanThreshold"}}
		}, "alarms[0] (a): period: 10, 20, 30 or a multiple of 60"},
		{func(c *Config) {
			c.Alarms = []AlarmConfig{{Name: "a", Namespace: "AWS/EC2", Metric: "CPUUtilization", EvaluationPeriods: 1, Comparison: "GreaterThanThreshold", Policies: []string{"nope"}}}
		}, `alarms[0] (a): policies: "nope" is not in scaling_policies`},
		{func(c *Config) {
			c.ScalingPolicies = []PolicyConfig{{Name: "p", Steps: []StepConfig{{Lower: f64(0), Upper: f64(10), Adjustment: 1}, {Lower: f64(20), Adjustment: 2}}}}
		}, "scaling_policies[0] (p): ValidationError: Step adjustments must not overlap or leave gaps"},
		{func(c *Config) {
			c.ScalingPolicies = []PolicyConfig{{Name: "p", Type: "TargetTrackingScaling", Metric: "ASGAverageNetworkIn", Target: 1}}
		}, "scaling_policies[0] (p): ValidationError: The sandbox supports PredefinedMetricType"},
	} {
		cfg := testConfig()
		tc.mod(&cfg)
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
}

// TestTargetTrackingCPU: a target-tracking policy on the group's average
// CPU scales out in proportion to the load (ceil(in service × CPU /
// target)) through its AlarmHigh, and back in through its AlarmLow once
// the load stops and the cooldown has passed.
func TestTargetTrackingCPU(t *testing.T) {
	cfg := testConfig()
	cfg.Timings.ScaleCooldown = 2 * time.Second
	cfg.Group = GroupConfig{Min: 1, Desired: 1, Max: 4}
	cfg.Instance = InstanceConfig{Concurrency: 2, ServiceTime: 20 * time.Millisecond}
	cfg.ScalingPolicies = []PolicyConfig{{Name: "cpu40", Type: PolicyTargetTracking, Metric: "ASGAverageCPUUtilization", Target: 40}}
	r := startRegion(t, cfg)
	ps := r.Policies("gameday-web", nil, nil)
	if len(ps) != 1 || len(ps[0].Alarms) != 2 {
		t.Fatalf("policies %+v", ps)
	}
	c := newClient(2 * time.Second)
	defer c.CloseIdleConnections()
	load := startLoad(c, "GET", nodeURL(r, 0, "/"), 4, 0) // 4 clients on 2 workers: 100% CPU
	// 100% on one instance over a 40% target: ceil(1 × 100 / 40) = 3.
	testutil.Eventually(t, 10*time.Second, "scale-out", func() bool { return r.AutoScalingGroups()[0].Desired >= 3 })
	load.halt()
	var cause string
	for _, a := range r.ScalingActivities("gameday-web") {
		if strings.Contains(a.Cause, "-AlarmHigh-") {
			cause = a.Cause
		}
	}
	if !strings.Contains(cause, "a monitor alarm TargetTracking-gameday-web-AlarmHigh-") || !strings.Contains(cause, "triggered policy cpu40 changing the desired capacity from 1 to 3.") {
		t.Errorf("scale-out cause %q", cause)
	}
	// Idle: 15 periods under 36%, then back to the minimum.
	testutil.Eventually(t, 30*time.Second, "scale-in", func() bool { return r.AutoScalingGroups()[0].Desired == 1 })
}

// TestSetAlarmStateRunsSteps: an alarm set to ALARM by hand (no datapoint)
// runs the step that starts at the threshold on its breaching side: the
// out step [0, ∞) of a "greater than" alarm, the in step (-∞, 0] of a
// "less than" one.
func TestSetAlarmStateRunsSteps(t *testing.T) {
	cfg := testConfig()
	cfg.Group = GroupConfig{Min: 1, Desired: 2, Max: 4}
	cfg.ScalingPolicies = []PolicyConfig{
		{Name: "out", Steps: []StepConfig{{Lower: f64(0), Upper: f64(10), Adjustment: 1}, {Lower: f64(10), Adjustment: 2}}},
		{Name: "in", Steps: []StepConfig{{Upper: f64(0), Adjustment: -1}}},
	}
	cfg.Alarms = []AlarmConfig{
		{Name: "high", Namespace: "AWS/EC2", Metric: "CPUUtilization", Period: 3600, EvaluationPeriods: 1, Threshold: 70, Comparison: "GreaterThanThreshold", Policies: []string{"out"}},
		{Name: "low", Namespace: "AWS/EC2", Metric: "CPUUtilization", Period: 3600, EvaluationPeriods: 1, Threshold: 30, Comparison: "LessThanThreshold", Policies: []string{"in"}},
	}
	r := startRegion(t, cfg)
	if err := r.SetAlarmState("high", AlarmAlarm, "drill", ""); err != nil {
		t.Fatal(err)
	}
	if d := r.AutoScalingGroups()[0].Desired; d != 3 {
		t.Fatalf("after high: desired %d, want 3 (one step of +1)", d)
	}
	if err := r.SetAlarmState("low", AlarmAlarm, "drill", ""); err != nil {
		t.Fatal(err)
	}
	// Scale-in waits for the instance still warming up (launched just now).
	if d := r.AutoScalingGroups()[0].Desired; d != 3 {
		t.Fatalf("after low with an instance warming up: desired %d, want 3", d)
	}
	if err := r.SetAlarmState("low", AlarmOK, "reset", ""); err != nil {
		t.Fatal(err)
	}
	time.Sleep(r.Timings().ScaleWarmup + r.Timings().BootDelay + 500*time.Millisecond)
	if err := r.SetAlarmState("low", AlarmAlarm, "drill", ""); err != nil {
		t.Fatal(err)
	}
	if d := r.AutoScalingGroups()[0].Desired; d != 2 {
		t.Fatalf("after low: desired %d, want 2", d)
	}
	if err := r.SetAlarmState("nope", AlarmAlarm, "x", ""); err == nil || !strings.Contains(err.Error(), "ResourceNotFound") {
		t.Errorf("unknown alarm: %v", err)
	}
}
