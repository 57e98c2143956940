package probes

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/sandbox/sim"
)

func newProbe(t *testing.T, e *env, spec experiments.Probe) Probe {
	t.Helper()
	p, err := New(Env{Clients: e.c, Topology: e.topo}, spec)
	if err != nil {
		t.Fatalf("New(%+v): %v", spec, err)
	}
	return p
}

// busy sends requests through the first load balancer node until stop.
func busy(e *env, workers int) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	c := &http.Client{Timeout: 2 * time.Second}
	url := "http://" + e.sb.Region().ALBNodes()[0].Addr + "/"
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
				select {
				case <-done:
					return
				default:
				}
				if resp, err := c.Get(url); err == nil {
					resp.Body.Close()
				}
			}
		}()
	}
	return func() { close(done); wg.Wait(); c.CloseIdleConnections() }
}

// TestCloudWatchMetricProbe: the probe reads the sandbox's request count
// (default dimensions: the stack's load balancer) and its group CPU, which
// rise under load; a metric with no data is an empty observation.
func TestCloudWatchMetricProbe(t *testing.T) {
	e := startEnv(t, "instance")
	req := newProbe(t, e, experiments.Probe{Kind: KindCloudWatchMetric, Name: "req", Namespace: "AWS/ApplicationELB", Metric: "RequestCount", Stat: "Sum", Period: 10})
	cpu := newProbe(t, e, experiments.Probe{Kind: KindCloudWatchMetric, Namespace: "AWS/EC2", Metric: "CPUUtilization", Stat: "Maximum"})
	none := newProbe(t, e, experiments.Probe{Kind: KindCloudWatchMetric, Namespace: "AWS/EC2", Metric: "CPUUtilization", Dimensions: map[string]string{"InstanceId": "i-00000000000000000"}})
	stop := busy(e, 4)
	defer stop()
	poll(t, e.ctx, req, 5*time.Second, "requests counted", func(m map[string]float64) bool { return m[SeriesMetricValue] > 0 })
	poll(t, e.ctx, cpu, 5*time.Second, "CPU above zero", func(m map[string]float64) bool { return m[SeriesMetricValue] > 0 })
	if m := sample(t, e.ctx, none); len(m) != 0 {
		t.Errorf("a metric without data: %v", m)
	}
	if !(*metricProbe)(nil).Healthy(map[string]float64{}, nil) {
		t.Error("Healthy without a datapoint: an informational probe must not hold recovery back")
	}
	for _, bad := range []experiments.Probe{
		{Kind: KindCloudWatchMetric, Metric: "CPUUtilization"},
		{Kind: KindCloudWatchMetric, Namespace: "AWS/EC2", Metric: "CPUUtilization", Stat: "Median"},
		{Kind: KindCloudWatchMetric, Namespace: "AWS/EC2", Metric: "CPUUtilization", Period: 45},
	} {
		if _, err := New(Env{Clients: e.c, Topology: e.topo}, bad); err == nil {
			t.Errorf("New(%+v) accepted", bad)
		}
	}
}

// TestAlarmProbe: the alarm probe follows an alarm's state; an unknown
// alarm is a probe error.
func TestAlarmProbe(t *testing.T) {
	e := startEnv(t, "instance")
	r := e.sb.Region()
	if _, err := r.PutMetricAlarm(alarmOnRequests(r)); err != nil {
		t.Fatal(err)
	}
	p := newProbe(t, e, experiments.Probe{Kind: KindAlarm, Alarm: "busy"})
	if m := sample(t, e.ctx, p); m[SeriesInAlarm] != 0 || m[SeriesInsufficientData] != 1 {
		t.Errorf("new alarm: %v", m)
	}
	stop := busy(e, 2)
	last := poll(t, e.ctx, p, 5*time.Second, "ALARM under load", func(m map[string]float64) bool { return m[SeriesInAlarm] == 1 })
	stop()
	if p.Healthy(last, nil) {
		t.Error("Healthy in ALARM")
	}
	if _, err := newProbe(t, e, experiments.Probe{Kind: KindAlarm, Alarm: "nope"}).Sample(e.ctx); err == nil || !strings.Contains(err.Error(), "CloudWatch alarm nope not found") {
		t.Errorf("unknown alarm: %v", err)
	}
}

// TestScalingPolicyProbe: the probe counts the group's policies and turns
// the scaling activities a policy causes into timeline events carrying
// Auto Scaling's cause.
func TestScalingPolicyProbe(t *testing.T) {
	e := startEnv(t, "instance")
	r := e.sb.Region()
	p := newProbe(t, e, experiments.Probe{Kind: KindScalingPolicy})
	if m := sample(t, e.ctx, p); m[SeriesPolicies] != 0 {
		t.Fatalf("no policies yet: %v", m)
	}
	if ev := p.(EventSource).Events(); len(ev) != 0 {
		t.Errorf("history before the probe became events: %+v", ev)
	}
	pol, err := r.PutScalingPolicy(stepPolicy(r.AutoScalingGroups()[0].Name))
	if err != nil {
		t.Fatal(err)
	}
	a := alarmOnRequests(r)
	a.AlarmActions = []string{pol.ARN}
	if _, err := r.PutMetricAlarm(a); err != nil {
		t.Fatal(err)
	}
	stop := busy(e, 2)
	defer stop()
	var events []Event
	poll(t, e.ctx, p, 8*time.Second, "a launch caused by the policy", func(m map[string]float64) bool {
		events = append(events, p.(EventSource).Events()...)
		for _, ev := range events {
			if ev.Kind == "scaling-activity" && strings.Contains(ev.Detail, "a monitor alarm busy in state ALARM triggered policy step-out") {
				return m[SeriesPolicies] == 1
			}
		}
		return false
	})
	found := false
	for _, ev := range events {
		found = found || (ev.Kind == "scaling-policy" && strings.Contains(ev.Detail, "policy step-out (StepScaling) appeared"))
	}
	if !found {
		t.Errorf("no policy event: %+v", events)
	}
}

// alarmOnRequests alarms on more than 5 requests to the load balancer in a
// 10-second period.
func alarmOnRequests(r *sim.Region) sim.MetricAlarm {
	_, lb, _ := strings.Cut(r.LoadBalancers()[0].ARN, ":loadbalancer/")
	a := sim.MetricAlarm{Name: "busy", Statistic: "Sum", Period: 10, EvaluationPeriods: 1, Threshold: 5,
		ComparisonOperator: "GreaterThanThreshold", TreatMissingData: "notBreaching", ActionsEnabled: true}
	a.Namespace, a.MetricName = "AWS/ApplicationELB", "RequestCount"
	a.Dimensions = []sim.Dimension{{Name: "LoadBalancer", Value: lb}}
	return a
}

func stepPolicy(group string) sim.ScalingPolicy {
	lo := 0.0
	return sim.ScalingPolicy{GroupName: group, Name: "step-out", Type: sim.PolicyStep, AdjustmentType: "ChangeInCapacity",
		StepAdjustments: []sim.StepAdjustment{{Lower: &lo, ScalingAdjustment: 1}}}
}
