package sandbox

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/gameday-dev/gameday/internal/testutil"
	"github.com/gameday-dev/gameday/sandbox/sim"
)

// sendLoad sends GET / to the first load balancer node from workers
// goroutines, each pausing gap between requests, until stop is called; it
// returns how many requests got an answer.
func sendLoad(s *Sandbox, workers int, gap time.Duration) (stop func() int64) {
	var n atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	c := &http.Client{Timeout: 2 * time.Second}
	url := "http://" + s.Region().ALBNodes()[0].Addr + "/"
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
				select {
				case <-done:
					return
				default:
				}
				resp, err := c.Get(url)
				if err == nil {
					resp.Body.Close()
					n.Add(1)
				}
				time.Sleep(gap)
			}
		}()
	}
	return func() int64 {
		close(done)
		wg.Wait()
		c.CloseIdleConnections()
		return n.Load()
	}
}

func metricQuery(id, ns, name, stat string, period int32, dims ...cwtypes.Dimension) cwtypes.MetricDataQuery {
	return cwtypes.MetricDataQuery{Id: aws.String(id), MetricStat: &cwtypes.MetricStat{
		Metric: &cwtypes.Metric{Namespace: aws.String(ns), MetricName: aws.String(name), Dimensions: dims},
		Period: aws.Int32(period), Stat: aws.String(stat),
	}}
}

func dim(n, v string) cwtypes.Dimension {
	return cwtypes.Dimension{Name: aws.String(n), Value: aws.String(v)}
}

// TestCloudWatchMetricsGoClient: the Go CloudWatch client (Smithy RPC v2
// CBOR) reads the load balancer's request count, the instances' CPU and
// the target group's healthy hosts, and they agree with the traffic sent.
func TestCloudWatchMetricsGoClient(t *testing.T) {
	cfg := testConfig()
	cfg.Region.Group = sim.GroupConfig{Min: 2, Desired: 2, Max: 2}
	cfg.Region.Instance = sim.InstanceConfig{Concurrency: 4, ServiceTime: 20 * time.Millisecond}
	s, ac := startSandbox(t, cfg)
	cw := cloudwatch.NewFromConfig(ac)
	ctx := ctxT(t)
	start := time.Now().Add(-time.Second)
	stop := sendLoad(s, 4, 0)
	time.Sleep(1500 * time.Millisecond)
	sent := stop()
	time.Sleep(500 * time.Millisecond) // the collector closes the last bucket
	end := time.Now().Add(time.Second)

	lb := strings.SplitN(s.Region().LoadBalancers()[0].ARN, "loadbalancer/", 2)[1]
	tg := strings.SplitN(s.Region().TargetGroups()[0].ARN, ":", 6)[5]
	inst := s.Region().AutoScalingGroups()[0].Instances[0].InstanceID
	out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(start), EndTime: aws.Time(end), ScanBy: cwtypes.ScanByTimestampAscending,
		MetricDataQueries: []cwtypes.MetricDataQuery{
			metricQuery("req", "AWS/ApplicationELB", "RequestCount", "Sum", 10, dim("LoadBalancer", lb)),
			metricQuery("cpu", "AWS/EC2", "CPUUtilization", "Maximum", 10, dim("InstanceId", inst)),
			metricQuery("hosts", "AWS/ApplicationELB", "HealthyHostCount", "Minimum", 60, dim("TargetGroup", tg), dim("LoadBalancer", lb)),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.MetricDataResults) != 3 {
		t.Fatalf("%d results, want 3", len(out.MetricDataResults))
	}
	var total float64
	req := out.MetricDataResults[0]
	if aws.ToString(req.Id) != "req" || aws.ToString(req.Label) != "RequestCount" || req.StatusCode != cwtypes.StatusCodeComplete {
		t.Errorf("result %q label %q status %s", aws.ToString(req.Id), aws.ToString(req.Label), req.StatusCode)
	}
	if len(req.Timestamps) != len(req.Values) || len(req.Values) < 2 {
		t.Fatalf("request count: %d timestamps, %d values", len(req.Timestamps), len(req.Values))
	}
	for i, v := range req.Values {
		total += v
		if i > 0 && !req.Timestamps[i].After(req.Timestamps[i-1]) {
			t.Errorf("timestamps not ascending: %v", req.Timestamps)
		}
	}
	if int64(total) != sent {
		t.Errorf("RequestCount Sum %v over the run, sent %d", total, sent)
	}
	// 4 workers over 2 instances × 4 workers each: about half busy.
	cpu := out.MetricDataResults[1].Values
	if len(cpu) == 0 || maxOf(cpu) < 10 || maxOf(cpu) > 100 {
		t.Errorf("CPUUtilization of %s under load: %v", inst, cpu)
	}
	if h := out.MetricDataResults[2].Values; len(h) == 0 || h[0] != 2 {
		t.Errorf("HealthyHostCount: %v, want 2", h)
	}

	lm, err := cw.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("AWS/EC2"), MetricName: aws.String("CPUUtilization"), Dimensions: []cwtypes.DimensionFilter{{Name: aws.String("AutoScalingGroupName")}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(lm.Metrics) != 1 || aws.ToString(lm.Metrics[0].Dimensions[0].Value) != "gameday-web" {
		t.Errorf("ListMetrics: %+v", lm.Metrics)
	}

	_, err = cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(start), EndTime: aws.Time(end),
		MetricDataQueries: []cwtypes.MetricDataQuery{metricQuery("bad", "AWS/EC2", "CPUUtilization", "Average", 7)},
	})
	wantAPIError(t, err, "InvalidParameterValue", 400)
}

func maxOf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

// TestCloudWatchAlarmLifecycle: an alarm put with the Go client leaves
// INSUFFICIENT_DATA for ALARM under load and for OK when it stops, with
// CloudWatch's reason; SetAlarmState and DeleteAlarms, and their errors.
func TestCloudWatchAlarmLifecycle(t *testing.T) {
	cfg := testConfig()
	cfg.Region.Group = sim.GroupConfig{Min: 1, Desired: 1, Max: 1}
	s, ac := startSandbox(t, cfg)
	cw := cloudwatch.NewFromConfig(ac)
	ctx := ctxT(t)
	lb := strings.SplitN(s.Region().LoadBalancers()[0].ARN, "loadbalancer/", 2)[1]
	_, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String("busy"), Namespace: aws.String("AWS/ApplicationELB"), MetricName: aws.String("RequestCount"),
		Dimensions: []cwtypes.Dimension{dim("LoadBalancer", lb)}, Statistic: cwtypes.StatisticSum,
		Period: aws.Int32(10), EvaluationPeriods: aws.Int32(2), DatapointsToAlarm: aws.Int32(1), Threshold: aws.Float64(5),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold, TreatMissingData: aws.String("notBreaching"),
	})
	if err != nil {
		t.Fatal(err)
	}
	state := func() cwtypes.MetricAlarm {
		out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"busy"}})
		if err != nil || len(out.MetricAlarms) != 1 {
			t.Fatalf("DescribeAlarms: %v %+v", err, out)
		}
		return out.MetricAlarms[0]
	}
	if a := state(); a.StateValue != cwtypes.StateValueInsufficientData || aws.ToString(a.StateReason) != "Unchecked: Initial alarm creation" {
		t.Fatalf("new alarm: %s %q", a.StateValue, aws.ToString(a.StateReason))
	}
	stop := sendLoad(s, 2, 5*time.Millisecond)
	testutil.Eventually(t, 5*time.Second, "ALARM under load", func() bool { return state().StateValue == cwtypes.StateValueAlarm })
	a := state()
	if !strings.HasPrefix(aws.ToString(a.StateReason), "Threshold Crossed: ") || !strings.Contains(aws.ToString(a.StateReason), "greater than the threshold (5.0)") {
		t.Errorf("reason %q", aws.ToString(a.StateReason))
	}
	if a.StateUpdatedTimestamp == nil || a.StateUpdatedTimestamp.Before(time.Now().Add(-10*time.Second)) {
		t.Errorf("StateUpdatedTimestamp %v", a.StateUpdatedTimestamp)
	}
	stop()
	testutil.Eventually(t, 5*time.Second, "OK after the load", func() bool { return state().StateValue == cwtypes.StateValueOk })

	// SetAlarmState holds until the next evaluation: an hour's period (a
	// minute of wall time here) keeps it while the test reads it back.
	_, err = cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String("busy"), Namespace: aws.String("AWS/ApplicationELB"), MetricName: aws.String("RequestCount"),
		Dimensions: []cwtypes.Dimension{dim("LoadBalancer", lb)}, Statistic: cwtypes.StatisticSum,
		Period: aws.Int32(3600), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(5),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold, TreatMissingData: aws.String("notBreaching"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("busy"), StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("drill")}); err != nil {
		t.Fatal(err)
	}
	if a := state(); a.StateValue != cwtypes.StateValueAlarm || aws.ToString(a.StateReason) != "drill" || aws.ToInt32(a.Period) != 3600 {
		t.Errorf("after SetAlarmState: %s %q (period %d)", a.StateValue, aws.ToString(a.StateReason), aws.ToInt32(a.Period))
	}
	_, err = cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("busy"), StateValue: cwtypes.StateValueOk, StateReason: aws.String("x"), StateReasonData: aws.String("{not json")})
	wantAPIError(t, err, "InvalidFormat", 400)
	_, err = cw.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"busy", "nope"}})
	wantAPIError(t, err, "ResourceNotFound", 404)
	if _, err := cw.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"busy"}}); err != nil {
		t.Fatal(err)
	}
	out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{})
	if err != nil || len(out.MetricAlarms) != 0 {
		t.Fatalf("after delete: %v %+v", err, out)
	}
	_, err = cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String("bad"), Namespace: aws.String("AWS/EC2"), MetricName: aws.String("CPUUtilization"),
		Statistic: cwtypes.StatisticAverage, Period: aws.Int32(45), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold,
	})
	wantAPIError(t, err, "ValidationError", 400)
}

// TestStepScalingFromAlarm: a step policy put through the Auto Scaling API,
// named in a CPU alarm's actions, scales the group out when CPU crosses the
// threshold, with AWS's activity cause.
func TestStepScalingFromAlarm(t *testing.T) {
	cfg := testConfig()
	cfg.Region.Group = sim.GroupConfig{Min: 1, Desired: 1, Max: 3}
	cfg.Region.Instance = sim.InstanceConfig{Concurrency: 2, ServiceTime: 20 * time.Millisecond}
	s, ac := startSandbox(t, cfg)
	as := autoscaling.NewFromConfig(ac)
	cw := cloudwatch.NewFromConfig(ac)
	ctx := ctxT(t)
	pol, err := as.PutScalingPolicy(ctx, &autoscaling.PutScalingPolicyInput{
		AutoScalingGroupName: aws.String("gameday-web"), PolicyName: aws.String("cpu-step"), PolicyType: aws.String("StepScaling"),
		AdjustmentType: aws.String("ChangeInCapacity"), EstimatedInstanceWarmup: aws.Int32(60),
		StepAdjustments: []astypes.StepAdjustment{{MetricIntervalLowerBound: aws.Float64(0), ScalingAdjustment: aws.Int32(1)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(aws.ToString(pol.PolicyARN), "arn:aws:autoscaling:local-1:000000000000:scalingPolicy:") || len(pol.Alarms) != 0 {
		t.Fatalf("PutScalingPolicy: %s %+v", aws.ToString(pol.PolicyARN), pol.Alarms)
	}
	_, err = cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String("cpu-high"), Namespace: aws.String("AWS/EC2"), MetricName: aws.String("CPUUtilization"),
		Dimensions: []cwtypes.Dimension{dim("AutoScalingGroupName", "gameday-web")}, Statistic: cwtypes.StatisticAverage,
		Period: aws.Int32(60), EvaluationPeriods: aws.Int32(2), Threshold: aws.Float64(70),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold, AlarmActions: []string{aws.ToString(pol.PolicyARN)},
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := sendLoad(s, 4, 0) // 4 clients on 2 workers: CPU 100%
	defer stop()
	testutil.Eventually(t, 8*time.Second, "scale-out", func() bool { return s.Region().AutoScalingGroups()[0].Desired == 2 })
	acts, err := as.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("gameday-web")})
	if err != nil {
		t.Fatal(err)
	}
	cause := aws.ToString(acts.Activities[0].Cause)
	if !strings.Contains(cause, "a monitor alarm cpu-high in state ALARM triggered policy cpu-step changing the desired capacity from 1 to 2.") {
		t.Errorf("cause %q", cause)
	}
	// The warm-up (60 CloudWatch seconds: 1 s here) keeps the alarm, which
	// repeats its action every period, from adding a second instance for
	// the one already on its way.
	time.Sleep(300 * time.Millisecond)
	if d := s.Region().AutoScalingGroups()[0].Desired; d != 2 {
		t.Errorf("desired %d right after the first step, want 2", d)
	}
	dp, err := as.DescribePolicies(ctx, &autoscaling.DescribePoliciesInput{AutoScalingGroupName: aws.String("gameday-web")})
	if err != nil || len(dp.ScalingPolicies) != 1 || aws.ToString(dp.ScalingPolicies[0].PolicyType) != "StepScaling" || len(dp.ScalingPolicies[0].StepAdjustments) != 1 {
		t.Fatalf("DescribePolicies: %v %+v", err, dp)
	}
}

// TestTargetTrackingPolicyAlarms: a target-tracking policy creates its
// AlarmHigh/AlarmLow pair, visible in DescribeAlarms with AWS's settings,
// and DeletePolicy removes them.
func TestTargetTrackingPolicyAlarms(t *testing.T) {
	_, ac := startSandbox(t, testConfig())
	as := autoscaling.NewFromConfig(ac)
	cw := cloudwatch.NewFromConfig(ac)
	ctx := ctxT(t)
	pol, err := as.PutScalingPolicy(ctx, &autoscaling.PutScalingPolicyInput{
		AutoScalingGroupName: aws.String("gameday-web"), PolicyName: aws.String("cpu50"), PolicyType: aws.String("TargetTrackingScaling"),
		TargetTrackingConfiguration: &astypes.TargetTrackingConfiguration{
			PredefinedMetricSpecification: &astypes.PredefinedMetricSpecification{PredefinedMetricType: astypes.MetricTypeASGAverageCPUUtilization},
			TargetValue:                   aws.Float64(50),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pol.Alarms) != 2 {
		t.Fatalf("alarms %+v", pol.Alarms)
	}
	out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String("TargetTracking-gameday-web-")})
	if err != nil || len(out.MetricAlarms) != 2 {
		t.Fatalf("DescribeAlarms: %v %+v", err, out)
	}
	for _, a := range out.MetricAlarms {
		high := strings.Contains(aws.ToString(a.AlarmName), "-AlarmHigh-")
		want := map[bool]struct {
			n   int32
			th  float64
			cmp cwtypes.ComparisonOperator
		}{true: {3, 50, cwtypes.ComparisonOperatorGreaterThanThreshold}, false: {15, 45, cwtypes.ComparisonOperatorLessThanThreshold}}[high]
		if aws.ToString(a.MetricName) != "CPUUtilization" || aws.ToInt32(a.Period) != 60 || aws.ToInt32(a.EvaluationPeriods) != want.n ||
			aws.ToFloat64(a.Threshold) != want.th || a.ComparisonOperator != want.cmp || len(a.AlarmActions) != 1 || a.AlarmActions[0] != aws.ToString(pol.PolicyARN) {
			t.Errorf("alarm %s: %s period %d n %d threshold %v %s actions %v", aws.ToString(a.AlarmName), aws.ToString(a.MetricName),
				aws.ToInt32(a.Period), aws.ToInt32(a.EvaluationPeriods), aws.ToFloat64(a.Threshold), a.ComparisonOperator, a.AlarmActions)
		}
	}
	_, err = as.PutScalingPolicy(ctx, &autoscaling.PutScalingPolicyInput{
		AutoScalingGroupName: aws.String("gameday-web"), PolicyName: aws.String("rc"), PolicyType: aws.String("TargetTrackingScaling"),
		TargetTrackingConfiguration: &astypes.TargetTrackingConfiguration{
			PredefinedMetricSpecification: &astypes.PredefinedMetricSpecification{PredefinedMetricType: astypes.MetricTypeALBRequestCountPerTarget},
			TargetValue:                   aws.Float64(100),
		},
	})
	wantAPIError(t, err, "ValidationError", 400) // ResourceLabel is required
	if _, err := as.DeletePolicy(ctx, &autoscaling.DeletePolicyInput{AutoScalingGroupName: aws.String("gameday-web"), PolicyName: aws.String("cpu50")}); err != nil {
		t.Fatal(err)
	}
	out, err = cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{})
	if err != nil || len(out.MetricAlarms) != 0 {
		t.Fatalf("alarms after DeletePolicy: %v %+v", err, out)
	}
}

// TestStartupPolicyIsVisible: group.target_requests_per_target is a
// target-tracking policy on ALBRequestCountPerTarget that DescribePolicies
// shows, with its alarms.
func TestStartupPolicyIsVisible(t *testing.T) {
	cfg := testConfig()
	cfg.Region.Group = sim.GroupConfig{Min: 1, Desired: 1, Max: 2, TargetRequestsPerTarget: 30}
	_, ac := startSandbox(t, cfg)
	as := autoscaling.NewFromConfig(ac)
	dp, err := as.DescribePolicies(context.Background(), &autoscaling.DescribePoliciesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(dp.ScalingPolicies) != 1 {
		t.Fatalf("policies %+v", dp.ScalingPolicies)
	}
	p := dp.ScalingPolicies[0]
	tt := p.TargetTrackingConfiguration
	if aws.ToString(p.PolicyType) != "TargetTrackingScaling" || tt == nil || tt.PredefinedMetricSpecification.PredefinedMetricType != astypes.MetricTypeALBRequestCountPerTarget ||
		aws.ToFloat64(tt.TargetValue) != 30 || len(p.Alarms) != 2 || !strings.HasPrefix(aws.ToString(tt.PredefinedMetricSpecification.ResourceLabel), "app/gameday-alb/") {
		t.Errorf("policy %+v / %+v", p, tt)
	}
}

// TestConformanceCLICloudWatch: the AWS CLI puts a step policy and an alarm
// naming it, describes them, and reads metrics back.
func TestConformanceCLICloudWatch(t *testing.T) {
	if testing.Short() {
		t.Skip("conformance suite: not in -short")
	}
	if _, err := os.Stat(debianAWS); err != nil {
		t.Skipf("conformance suite: %s absent (scripts/test-deps.sh installs awscli)", debianAWS)
	}
	s, env := conformanceSandbox(t)
	group := s.Summary().AutoScalingGroup
	cli := func(args ...string) string {
		t.Helper()
		out, errOut, err := run(t, env, t.TempDir(), debianAWS, append([]string{"--endpoint-url", s.Endpoint(), "--output", "json"}, args...)...)
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, errOut)
		}
		return out
	}
	var pol struct{ PolicyARN string }
	if err := json.Unmarshal([]byte(cli("autoscaling", "put-scaling-policy", "--auto-scaling-group-name", group, "--policy-name", "cpu-step",
		"--policy-type", "StepScaling", "--adjustment-type", "ChangeInCapacity",
		"--step-adjustments", "MetricIntervalLowerBound=0,ScalingAdjustment=1")), &pol); err != nil || !strings.Contains(pol.PolicyARN, ":policyName/cpu-step") {
		t.Fatalf("put-scaling-policy: %v %q", err, pol.PolicyARN)
	}
	if out := cli("autoscaling", "describe-policies", "--auto-scaling-group-name", group, "--query", "ScalingPolicies[0].[PolicyType,StepAdjustments[0].ScalingAdjustment]"); strings.Join(strings.Fields(out), "") != `["StepScaling",1]` {
		t.Errorf("describe-policies: %s", out)
	}
	cli("cloudwatch", "put-metric-alarm", "--alarm-name", "cpu-high", "--namespace", "AWS/EC2", "--metric-name", "CPUUtilization",
		"--dimensions", "Name=AutoScalingGroupName,Value="+group, "--statistic", "Average", "--period", "60",
		"--evaluation-periods", "5", "--threshold", "70", "--comparison-operator", "GreaterThanThreshold", "--alarm-actions", pol.PolicyARN)
	var alarms struct {
		MetricAlarms []struct {
			AlarmName, StateValue string
			AlarmActions          []string
			EvaluationPeriods     int
		}
	}
	if err := json.Unmarshal([]byte(cli("cloudwatch", "describe-alarms", "--alarm-names", "cpu-high")), &alarms); err != nil || len(alarms.MetricAlarms) != 1 {
		t.Fatalf("describe-alarms: %v %+v", err, alarms)
	}
	if a := alarms.MetricAlarms[0]; a.EvaluationPeriods != 5 || len(a.AlarmActions) != 1 || a.AlarmActions[0] != pol.PolicyARN {
		t.Errorf("describe-alarms: %+v", a)
	}
	now := time.Now().UTC()
	q := `[{"Id":"hosts","MetricStat":{"Metric":{"Namespace":"AWS/ApplicationELB","MetricName":"HealthyHostCount","Dimensions":[{"Name":"LoadBalancer","Value":"` +
		strings.SplitN(s.Summary().LoadBalancerARN, "loadbalancer/", 2)[1] + `"},{"Name":"TargetGroup","Value":"` + strings.SplitN(s.Summary().TargetGroupARN, ":", 6)[5] +
		`"}]},"Period":60,"Stat":"Maximum"}}]`
	var md struct {
		MetricDataResults []struct {
			ID     string `json:"Id"`
			Values []float64
		}
	}
	out := cli("cloudwatch", "get-metric-data", "--start-time", now.Add(-time.Hour).Format(time.RFC3339), "--end-time", now.Add(time.Minute).Format(time.RFC3339), "--metric-data-queries", q)
	if err := json.Unmarshal([]byte(out), &md); err != nil || len(md.MetricDataResults) != 1 || len(md.MetricDataResults[0].Values) == 0 {
		t.Fatalf("get-metric-data: %v %s", err, out)
	}
	ths, err := s.Region().TargetHealth(s.Summary().TargetGroupARN)
	if err != nil {
		t.Fatal(err)
	}
	// The newest minute's maximum: at least one healthy target, at most
	// every registered one (the history the suite made still settles).
	if v := md.MetricDataResults[0].Values[0]; v < 1 || v > float64(len(ths)) {
		t.Errorf("HealthyHostCount newest %v, want 1..%d", v, len(ths))
	}
}
