package sim

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// The sandbox's CloudWatch metrics.
//
// Clock. CloudWatch counts in seconds and minutes; the sandbox runs its
// CloudWatch on a scaled clock so that the fast profile's experiments see
// AWS-shaped alarms (Period 60, EvaluationPeriods 3) act in seconds: one
// CloudWatch minute lasts Timings.MetricMinute of wall time (fast: 1 s, aws:
// 60 s, i.e. real time). A Period of p seconds covers p × MetricMinute / 60 of
// wall time. Datapoints are stamped with the wall-clock start of their
// period, so a harness can lay them on its own timeline.
//
// Resolution. The collector samples every CloudWatch ten seconds
// (MetricMinute/6 of wall time): the finest period an alarm may use on AWS.
// A GetMetricData period of 1 or 5 s is served at that resolution.
//
// Which metrics, with AWS's names, dimensions and units (AWS's ALB, EC2 and
// RDS CloudWatch metric references):
//   - AWS/ApplicationELB RequestCount, HTTPCode_ELB_5XX_Count,
//     TargetResponseTime (per LoadBalancer; RequestCount and
//     TargetResponseTime also per TargetGroup,LoadBalancer),
//     RequestCountPerTarget (per TargetGroup and TargetGroup,LoadBalancer),
//     HTTPCode_Target_5XX_Count, HealthyHostCount, UnHealthyHostCount (per
//     TargetGroup,LoadBalancer). As on AWS, request metrics are published
//     only while requests flow, and 5XX counts only when non-zero; host
//     counts always.
//   - AWS/EC2 CPUUtilization per InstanceId and per AutoScalingGroupName
//     (the group's series holds one sample per running member, so its
//     Average is the members' average and its SampleCount their number).
//     An instance's CPU is the busy time of its web app's workers over their
//     capacity (instance.concurrency workers): it rises with load and
//     reaches 100% when requests start to queue.
//   - AWS/RDS DatabaseConnections per DBInstanceIdentifier: one pooled
//     connection per running web app while the DB instance is available.

// Dimension is a CloudWatch metric dimension.
type Dimension struct {
	Name  string
	Value string
}

// Metric names a metric.
type Metric struct {
	Namespace  string
	MetricName string
	Dimensions []Dimension // sorted by name
}

// Datapoint is one period's statistic.
type Datapoint struct {
	Timestamp time.Time
	Value     float64
}

// Statistics the sandbox computes (CloudWatch's, without percentiles).
var Statistics = []string{"Average", "Sum", "Minimum", "Maximum", "SampleCount"}

type bucket struct {
	n, sum, min, max float64
}

func (b *bucket) add(v float64) {
	if b.n == 0 || v < b.min {
		b.min = v
	}
	if b.n == 0 || v > b.max {
		b.max = v
	}
	b.n++
	b.sum += v
}

func (b *bucket) merge(o bucket) {
	if o.n == 0 {
		return
	}
	if b.n == 0 || o.min < b.min {
		b.min = o.min
	}
	if b.n == 0 || o.max > b.max {
		b.max = o.max
	}
	b.n += o.n
	b.sum += o.sum
}

func (b bucket) stat(s string) float64 {
	switch s {
	case "Sum":
		return b.sum
	case "Minimum":
		return b.min
	case "Maximum":
		return b.max
	case "SampleCount":
		return b.n
	}
	return b.sum / b.n
}

type series struct {
	m       Metric
	unit    string
	first   int64    // bucket index of buckets[0]
	buckets []bucket // consecutive, from first
}

// metricRetention bounds each series: one CloudWatch day of ten-second
// buckets (24 minutes of wall time in the fast profile).
const metricRetention = 8640

// maxSeries bounds the number of series (instances come and go).
const maxSeries = 2000

type metricStore struct {
	res    time.Duration // wall length of one bucket
	series map[string]*series
}

func metricKey(m Metric) string {
	var b strings.Builder
	b.WriteString(m.Namespace)
	b.WriteByte(0)
	b.WriteString(m.MetricName)
	for _, d := range m.Dimensions {
		b.WriteByte(0)
		b.WriteString(d.Name)
		b.WriteByte(1)
		b.WriteString(d.Value)
	}
	return b.String()
}

func sortDims(d []Dimension) []Dimension {
	d = slices.Clone(d)
	slices.SortFunc(d, func(a, b Dimension) int { return cmp.Compare(a.Name, b.Name) })
	return d
}

func (s *metricStore) index(t time.Time) int64 { return t.UnixNano() / int64(s.res) }

func (s *metricStore) start(i int64) time.Time { return time.Unix(0, i*int64(s.res)).UTC() }

// add records one sample of m at wall time t.
func (s *metricStore) add(t time.Time, ns, name, unit string, v float64, dims ...Dimension) {
	m := Metric{Namespace: ns, MetricName: name, Dimensions: sortDims(dims)}
	k := metricKey(m)
	se := s.series[k]
	if se == nil {
		if len(s.series) >= maxSeries {
			return
		}
		se = &series{m: m, unit: unit}
		s.series[k] = se
	}
	i := s.index(t)
	if len(se.buckets) == 0 {
		se.first = i
	}
	if i < se.first {
		return
	}
	for int64(len(se.buckets)) <= i-se.first {
		se.buckets = append(se.buckets, bucket{})
	}
	se.buckets[i-se.first].add(v)
	if over := len(se.buckets) - metricRetention; over > 0 {
		se.buckets = slices.Delete(se.buckets, 0, over)
		se.first += int64(over)
	}
}

// prune drops series with no data within the retention.
func (s *metricStore) prune(now time.Time) {
	oldest := s.index(now) - metricRetention
	for k, se := range s.series {
		if se.first+int64(len(se.buckets)) < oldest {
			delete(s.series, k)
		}
	}
}

// periodBuckets is how many buckets one period of p CloudWatch seconds spans.
func periodBuckets(p int32) int64 { return max(int64(p+9)/10, 1) }

// aggregate returns the period-aligned aggregates of se between from
// (inclusive) and to (exclusive), oldest first, only periods with data.
func (s *metricStore) aggregate(se *series, from, to time.Time, period int32) ([]int64, []bucket) {
	k := periodBuckets(period)
	lo := floorDiv(s.index(from)+k-1, k) * k // the first whole period at or after from
	hi := floorDiv(s.index(to), k) * k
	var starts []int64
	var out []bucket
	for p := lo; p < hi; p += k {
		var agg bucket
		for i := p; i < p+k; i++ {
			if j := i - se.first; j >= 0 && j < int64(len(se.buckets)) {
				agg.merge(se.buckets[j])
			}
		}
		if agg.n > 0 {
			starts = append(starts, p)
			out = append(out, agg)
		}
	}
	return starts, out
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// ---- collection ----

type collector struct {
	last     time.Time
	requests int64
	elb5xx   int64
	tgt5xx   int64
	rtSum    int64
	rtN      int64
	busy     map[*app]int64
}

// metricsLoop samples the region every CloudWatch ten seconds.
func (r *Region) metricsLoop() {
	tick := time.NewTicker(r.cw.store.res)
	defer tick.Stop()
	for {
		select {
		case <-r.done:
			return
		case now := <-tick.C:
			r.mu.Lock()
			r.collectLocked(now)
			r.evaluateAlarmsLocked(now)
			r.mu.Unlock()
		}
	}
}

// lbDim is the LoadBalancer dimension (the ARN's part after "loadbalancer/");
// tgDim the TargetGroup one ("targetgroup/NAME/ID").
func (r *Region) lbDim() string { return arnSuffix(r.lb.m.ARN, "loadbalancer/") }
func (r *Region) tgDim() string { return arnSuffix(r.tg.m.ARN, "") }

func arnSuffix(arn, after string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return arn
	}
	return strings.TrimPrefix(parts[5], after)
}

// collectLocked records the samples of the bucket that just ended.
func (r *Region) collectLocked(now time.Time) {
	cw := r.cw
	c := &cw.col
	st := &cw.store
	if c.last.IsZero() {
		c.last = now // counters start at zero when the region starts
		return
	}
	span := now.Sub(c.last)
	if span <= 0 {
		return
	}
	at := c.last // the sample belongs to the bucket it was gathered in
	c.last = now
	lbd := Dimension{"LoadBalancer", r.lbDim()}
	tgd := Dimension{"TargetGroup", r.tgDim()}
	const elb = "AWS/ApplicationELB"

	req := r.lb.requests.Load()
	dReq := req - c.requests
	c.requests = req
	healthy, unhealthy := 0, 0
	for _, t := range r.tg.targets {
		switch t.state {
		case TargetHealthy:
			healthy++
		case TargetUnhealthy:
			unhealthy++
		}
	}
	if dReq > 0 {
		v := float64(dReq)
		st.add(at, elb, "RequestCount", "Count", v, lbd)
		st.add(at, elb, "RequestCount", "Count", v, lbd, tgd)
		per := v / float64(max(healthy, 1))
		st.add(at, elb, "RequestCountPerTarget", "Count", per, tgd)
		st.add(at, elb, "RequestCountPerTarget", "Count", per, lbd, tgd)
	}
	if n := r.lb.elb5xx.Load(); n > c.elb5xx {
		st.add(at, elb, "HTTPCode_ELB_5XX_Count", "Count", float64(n-c.elb5xx), lbd)
		c.elb5xx = n
	}
	if n := r.lb.tgt5xx.Load(); n > c.tgt5xx {
		v := float64(n - c.tgt5xx)
		st.add(at, elb, "HTTPCode_Target_5XX_Count", "Count", v, lbd)
		st.add(at, elb, "HTTPCode_Target_5XX_Count", "Count", v, lbd, tgd)
		c.tgt5xx = n
	}
	if sum, n := r.lb.rtNanos.Load(), r.lb.rtCount.Load(); n > c.rtN {
		v := float64(sum-c.rtSum) / float64(n-c.rtN) / 1e9
		st.add(at, elb, "TargetResponseTime", "Seconds", v, lbd)
		st.add(at, elb, "TargetResponseTime", "Seconds", v, lbd, tgd)
		c.rtSum, c.rtN = sum, n
	}
	st.add(at, elb, "HealthyHostCount", "Count", float64(healthy), lbd, tgd)
	st.add(at, elb, "UnHealthyHostCount", "Count", float64(unhealthy), lbd, tgd)

	// CPU: worker busy time over worker capacity.
	seen := make(map[*app]int64, len(c.busy))
	capacity := float64(span) * float64(max(r.cfg.Instance.Concurrency, 1))
	apps := 0
	for _, in := range r.insts {
		a := in.app
		if a == nil || in.m.State != StateRunning {
			continue
		}
		apps++
		busy := a.busy.Load()
		prev := c.busy[a] // 0 for an app started since the last sample
		seen[a] = busy
		cpu := min(100, 100*float64(busy-prev)/capacity)
		st.add(at, "AWS/EC2", "CPUUtilization", "Percent", cpu, Dimension{"InstanceId", in.m.ID})
		if in.group != "" {
			st.add(at, "AWS/EC2", "CPUUtilization", "Percent", cpu, Dimension{"AutoScalingGroupName", in.group})
		}
	}
	c.busy = seen

	if r.db != nil {
		s := r.dbSnap.Load()
		for _, m := range r.db.members {
			conns := 0.0
			if m.m.Status == DBAvailable && s != nil {
				conns = float64(apps)
			}
			st.add(at, "AWS/RDS", "DatabaseConnections", "Count", conns, Dimension{"DBInstanceIdentifier", m.m.ID})
		}
	}
	if now.Second() == 0 {
		st.prune(now)
	}
}

// ---- queries ----

// validPeriod reports whether p is a period CloudWatch accepts for
// GetMetricData: 1, 5, 10, 20, 30 or a multiple of 60 (API reference,
// MetricStat.Period).
func validPeriod(p int32) bool {
	switch p {
	case 1, 5, 10, 20, 30:
		return true
	}
	return p > 0 && p%60 == 0
}

// MetricQuery asks for one statistic of one metric.
type MetricQuery struct {
	Metric Metric
	Period int32 // CloudWatch seconds
	Stat   string
}

// GetMetricData returns, for each query, the datapoints between start and
// end (wall clock), oldest first. Periods are CloudWatch seconds on the
// sandbox's CloudWatch clock (see MetricMinute).
func (r *Region) GetMetricData(qs []MetricQuery, start, end time.Time) ([][]Datapoint, error) {
	for _, q := range qs {
		if !validPeriod(q.Period) {
			return nil, apiErr(400, "InvalidParameterValue", "The parameter MetricDataQueries.member.1.MetricStat.Period must be 1, 5, 10, 20, 30, or a multiple of 60.")
		}
		if !slices.Contains(Statistics, q.Stat) {
			return nil, apiErr(400, "InvalidParameterValue", "The sandbox does not compute the statistic %q (it has %s; no percentiles)", q.Stat, strings.Join(Statistics, ", "))
		}
	}
	if !end.After(start) {
		return nil, apiErr(400, "InvalidParameterValue", "The parameter StartTime must be less than the parameter EndTime.")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([][]Datapoint, len(qs))
	for i, q := range qs {
		out[i] = r.datapointsLocked(q, start, end)
	}
	return out, nil
}

func (r *Region) datapointsLocked(q MetricQuery, start, end time.Time) []Datapoint {
	st := &r.cw.store
	se := st.series[metricKey(Metric{q.Metric.Namespace, q.Metric.MetricName, sortDims(q.Metric.Dimensions)})]
	if se == nil {
		return nil
	}
	starts, aggs := st.aggregate(se, start, end, q.Period)
	dps := make([]Datapoint, len(aggs))
	for i := range aggs {
		dps[i] = Datapoint{Timestamp: st.start(starts[i]), Value: aggs[i].stat(q.Stat)}
	}
	return dps
}

// ListMetrics lists the metrics with data in the sandbox's retention (one
// CloudWatch day; AWS lists those with data in the past two weeks),
// matching namespace, name and the dimension filters (a filter with an
// empty value matches any value), sorted by namespace, name and dimensions.
func (r *Region) ListMetrics(namespace, name string, filters []Dimension) []Metric {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Metric
	for _, se := range r.cw.store.series {
		m := se.m
		if (namespace != "" && m.Namespace != namespace) || (name != "" && m.MetricName != name) {
			continue
		}
		ok := true
		for _, f := range filters {
			i := slices.IndexFunc(m.Dimensions, func(d Dimension) bool { return d.Name == f.Name })
			if i < 0 || (f.Value != "" && m.Dimensions[i].Value != f.Value) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, Metric{m.Namespace, m.MetricName, slices.Clone(m.Dimensions)})
		}
	}
	slices.SortFunc(out, func(a, b Metric) int { return strings.Compare(metricKey(a), metricKey(b)) })
	return out
}

// cwSeconds converts CloudWatch seconds on the sandbox's clock to wall time.
func (r *Region) cwSeconds(s int32) time.Duration {
	return time.Duration(int64(s) * int64(r.t.MetricMinute) / 60)
}

func fmtValue(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%g", v)
}
