package probes

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/topology"
)

// KindCloudWatchMetric samples one statistic of one CloudWatch metric.
//
// On AWS mind the granularity and the cost: AWS/ApplicationELB and EC2
// detailed-monitoring metrics have one datapoint per minute (basic EC2
// monitoring one per five), published a minute or two late, so sampling
// more often than the period repeats the last value (set interval to the
// period); each sample is one GetMetricData request for one metric, which
// CloudWatch bills (USD 0.01 per 1,000 metrics requested in us-east-1 at
// the time of writing: a 1 s interval over a 10-minute run is 600
// requests). The sandbox publishes on its scaled clock (sandbox docs).
const KindCloudWatchMetric = "cloudwatch-metric"

// SeriesMetricValue is the statistic's newest datapoint.
const SeriesMetricValue = "value"

// DefaultMetricPeriod is the period when the spec gives none (seconds).
const DefaultMetricPeriod = 60

var (
	statRE     = regexp.MustCompile(`^(SampleCount|Average|Sum|Minimum|Maximum|p\d{1,2}(\.\d{1,2})?)$`)
	metricStat = "Average, Sum, Minimum, Maximum, SampleCount or a percentile pNN"
)

func init() {
	Register(Kind{
		Name:   KindCloudWatchMetric,
		Order:  5,
		Fields: []string{"namespace", "metric", "dimensions", "stat", "period"},
		Doc: "the newest datapoint of one CloudWatch metric's statistic (" + SeriesMetricValue + "): namespace, metric, dimensions (default: the stack's group, load balancer or DB instance), stat (default Average), period (seconds, default 60); " +
			"informational (never holds recovery back). On AWS: 1-minute granularity and one billed GetMetricData per sample",
		Check: func(pr *experiments.Probe, add func(field, msg string)) {
			for _, e := range checkMetricSpec(*pr) {
				add(e[0], e[1])
			}
		},
		Validate: func(spec experiments.Probe) []error {
			var errs []error
			for _, e := range checkMetricSpec(spec) {
				errs = append(errs, fmt.Errorf("kind %s: %s %s", KindCloudWatchMetric, e[0], e[1]))
			}
			return errs
		},
		Healthy: (*metricProbe)(nil).Healthy,
		New: func(env Env, b base, spec experiments.Probe) (Probe, error) {
			if err := env.needAWS(b.name, KindCloudWatchMetric); err != nil {
				return nil, err
			}
			if err := need(b.name, KindCloudWatchMetric, "a CloudWatch client", env.Clients.CW != nil); err != nil {
				return nil, err
			}
			p := &metricProbe{base: b, c: env.Clients, ns: spec.Namespace, metric: spec.Metric, stat: spec.Stat, period: spec.Period}
			if p.stat == "" {
				p.stat = "Average"
			}
			if p.period == 0 {
				p.period = DefaultMetricPeriod
			}
			dims := spec.Dimensions
			if len(dims) == 0 {
				dims = defaultDimensions(env.Topology, spec.Namespace, spec.Metric)
			}
			keys := make([]string, 0, len(dims))
			for k := range dims {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				p.dims = append(p.dims, cwtypes.Dimension{Name: aws.String(k), Value: aws.String(dims[k])})
			}
			return p, nil
		},
	})
}

// checkMetricSpec returns (field, message) pairs.
func checkMetricSpec(s experiments.Probe) [][2]string {
	var out [][2]string
	if s.Namespace == "" || len(s.Namespace) > 255 {
		out = append(out, [2]string{"namespace", "is required (1 to 255 characters, e.g. AWS/EC2)"})
	}
	if s.Metric == "" || len(s.Metric) > 255 {
		out = append(out, [2]string{"metric", "is required (1 to 255 characters, e.g. CPUUtilization)"})
	}
	if s.Stat != "" && !statRE.MatchString(s.Stat) {
		out = append(out, [2]string{"stat", fmt.Sprintf("%q is not %s", s.Stat, metricStat)})
	}
	if p := s.Period; p != 0 && !slices.Contains([]int32{1, 5, 10, 20, 30}, p) && (p < 0 || p%60 != 0) {
		out = append(out, [2]string{"period", fmt.Sprintf("%d is not 1, 5, 10, 20, 30 or a multiple of 60 seconds", p)})
	}
	if len(s.Dimensions) > 30 {
		out = append(out, [2]string{"dimensions", "at most 30"})
	}
	for k, v := range s.Dimensions {
		if k == "" || len(k) > 255 || v == "" || len(v) > 1024 {
			out = append(out, [2]string{"dimensions", fmt.Sprintf("%q: %q is not a dimension (name 1 to 255 characters, value 1 to 1024)", k, v)})
		}
	}
	return out
}

// defaultDimensions are the stack's dimensions for AWS's namespaces.
func defaultDimensions(t *topology.Topology, ns, metric string) map[string]string {
	if t == nil {
		return nil
	}
	lb := ""
	if _, after, ok := strings.Cut(t.LoadBalancerARN, ":loadbalancer/"); ok {
		lb = after
	}
	tg := ""
	if parts := strings.SplitN(t.TargetGroupARN, ":", 6); len(parts) == 6 {
		tg = parts[5]
	}
	switch ns {
	case "AWS/EC2":
		if t.GroupName != "" {
			return map[string]string{"AutoScalingGroupName": t.GroupName}
		}
	case "AWS/ApplicationELB":
		switch metric {
		case "RequestCountPerTarget":
			return map[string]string{"TargetGroup": tg}
		case "HealthyHostCount", "UnHealthyHostCount", "HTTPCode_Target_5XX_Count":
			return map[string]string{"LoadBalancer": lb, "TargetGroup": tg}
		}
		return map[string]string{"LoadBalancer": lb}
	case "AWS/RDS":
		if t.DBInstanceID != "" {
			return map[string]string{"DBInstanceIdentifier": t.DBInstanceID}
		}
	}
	return nil
}

type metricProbe struct {
	base
	c      *awsclients.Clients
	ns     string
	metric string
	dims   []cwtypes.Dimension
	stat   string
	period int32
}

// Healthy is always true: the probe reports a metric, it does not judge
// recovery (a metric AWS publishes late, or only while requests flow, must
// not hold the infrastructure's recovery back). Gate on its series instead.
func (*metricProbe) Healthy(_, _ map[string]float64) bool { return true }

// lookback is how far back a sample looks for the newest datapoint: five
// periods, at least ten minutes (AWS publishes late).
func (p *metricProbe) lookback() time.Duration {
	return max(5*time.Duration(p.period)*time.Second, 10*time.Minute)
}

func (p *metricProbe) Sample(ctx context.Context) ([]Sample, error) {
	cctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	now := time.Now()
	out, err := p.c.CW.GetMetricData(cctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(now.Add(-p.lookback())), EndTime: aws.Time(now),
		ScanBy: cwtypes.ScanByTimestampDescending, MaxDatapoints: aws.Int32(1),
		MetricDataQueries: []cwtypes.MetricDataQuery{{
			Id: aws.String("m"),
			MetricStat: &cwtypes.MetricStat{
				Metric: &cwtypes.Metric{Namespace: aws.String(p.ns), MetricName: aws.String(p.metric), Dimensions: p.dims},
				Period: aws.Int32(p.period), Stat: aws.String(p.stat),
			},
		}},
	})
	if err != nil {
		return nil, ctxErr(ctx, p.name, fmt.Errorf("cloudwatch get metric data %s %s: %w", p.ns, p.metric, err))
	}
	for _, r := range out.MetricDataResults {
		if len(r.Values) > 0 {
			return []Sample{{SeriesMetricValue, r.Values[0]}}, nil
		}
	}
	return nil, nil // no datapoint yet: an observation of nothing
}
