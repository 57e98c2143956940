package awsapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gameday-dev/gameday/sandbox/sim"
)

// CloudWatch (API 2010-08-01), served over both protocols its clients
// speak: awsquery (form-encoded, XML answers: the AWS CLI 2.9, boto3 1.26)
// and Smithy RPC v2 CBOR (aws-sdk-go-v2's service/cloudwatch since 2025;
// rpcv2.go). Shapes, enums and errors follow botocore's
// cloudwatch/2010-08-01/service-2.json and the CloudWatch API reference.

// ServiceCloudWatch is CloudWatch's SigV4 signing name.
const (
	ServiceCloudWatch = "monitoring"
	VersionCloudWatch = "2010-08-01"
)

// CloudWatchBackend is what the CloudWatch and scaling-policy actions need
// beyond Backend; *sim.Region implements it.
type CloudWatchBackend interface {
	GetMetricData(qs []sim.MetricQuery, start, end time.Time) ([][]sim.Datapoint, error)
	ListMetrics(namespace, name string, filters []sim.Dimension) []sim.Metric
	PutMetricAlarm(a sim.MetricAlarm) (sim.MetricAlarm, error)
	Alarms() []sim.MetricAlarm
	DeleteAlarms(names []string) error
	SetAlarmState(name, state, reason, reasonData string) error

	PutScalingPolicy(p sim.ScalingPolicy) (sim.ScalingPolicy, error)
	Policies(group string, names, types []string) []sim.ScalingPolicy
	DeletePolicy(group, name string) error
}

var cloudwatchActions = map[string]actionDef{
	"GetMetricData":       {fn: (*handler).cwGetMetricData},
	"GetMetricStatistics": {fn: (*handler).cwGetMetricStatistics},
	"ListMetrics":         {fn: (*handler).cwListMetrics},
	"PutMetricAlarm":      {fn: (*handler).cwPutMetricAlarm, mutating: true},
	"DescribeAlarms":      {fn: (*handler).cwDescribeAlarms},
	"DeleteAlarms":        {fn: (*handler).cwDeleteAlarms, mutating: true},
	"SetAlarmState":       {fn: (*handler).cwSetAlarmState, mutating: true},
}

var pageAlarms = pageSpec{size: "MaxRecords", token: "NextToken", min: 1, max: 100, def: 50}

func init() {
	versionService[VersionCloudWatch] = ServiceCloudWatch
	serviceVersion[ServiceCloudWatch] = VersionCloudWatch
	serviceNS[ServiceCloudWatch] = "http://monitoring.amazonaws.com/doc/2010-08-01/"
	actions[ServiceCloudWatch] = cloudwatchActions
	paged[ServiceCloudWatch] = map[string]pageSpec{"DescribeAlarms": pageAlarms}
	actionNotes[ServiceCloudWatch] = map[string]string{
		"GetMetricData":       "MetricStat queries (no metric math: Expression is refused) over the sandbox's ALB, EC2 and RDS metrics; Average/Sum/Minimum/Maximum/SampleCount (no percentiles); ScanBy; periods on the sandbox's CloudWatch clock (timings.metric_minute). No NextToken: at most MaxDatapoints.",
		"GetMetricStatistics": "The same data as GetMetricData, one metric; Statistics only (no ExtendedStatistics).",
		"ListMetrics":         "Metrics with data in the sandbox's retention (one CloudWatch day); Namespace, MetricName, Dimensions filters. Not paged (the sandbox has few).",
		"PutMetricAlarm":      "Threshold alarms on one metric (no Metrics/metric math, no anomaly bands); Period 10/20/30/60n, M of N, TreatMissingData; an existing alarm keeps its state. Auto Scaling policy ARNs in the actions run the policy (again every period in ALARM); other actions are recorded only.",
		"DescribeAlarms":      "Metric alarms (no composite alarms), with state, reason and reason data; AlarmNames or AlarmNamePrefix, StateValue, ActionPrefix.",
		"DeleteAlarms":        "All or nothing; ResourceNotFound (404) for an unknown name.",
		"SetAlarmState":       "Sets the state until the next evaluation and runs the state's actions; StateReasonData must be JSON (InvalidFormat).",
	}
}

func (h *handler) cw() (CloudWatchBackend, error) {
	b, ok := h.b.(CloudWatchBackend)
	if !ok {
		return nil, &sim.APIError{Code: "InternalFailure", Message: "this sandbox backend has no CloudWatch", Status: http.StatusInternalServerError}
	}
	return b, nil
}

// cwTime is a timestamp: ISO 8601 in XML, an epoch-seconds tag in CBOR.
type cwTime time.Time

func (t cwTime) MarshalText() ([]byte, error) { return []byte(iso(time.Time(t))), nil }

type cwDimension struct {
	Name  string `xml:"Name"`
	Value string `xml:"Value"`
}

func cwErr(code, format string, a ...any) error {
	status := http.StatusBadRequest
	if code == "ResourceNotFound" {
		status = http.StatusNotFound
	}
	return &sim.APIError{Code: code, Message: fmt.Sprintf(format, a...), Status: status}
}

func cwMissing(name string) error {
	return cwErr("MissingParameter", "The parameter %s is required.", name)
}

func cwInvalid(name, value, why string) error {
	return cwErr("InvalidParameterValue", "The parameter %s with value %q is not valid: %s", name, value, why)
}

// dimensions reads a Dimensions list (at most 30, as the model says).
func dimensions(p params, prefix string, valueRequired bool) ([]sim.Dimension, error) {
	idx := p.indexes(prefix + ".member")
	if len(idx) > 30 {
		return nil, cwInvalid(prefix, strconv.Itoa(len(idx)), "at most 30 dimensions")
	}
	var out []sim.Dimension
	for _, d := range idx {
		n, v := p.get(d+".Name"), p.get(d+".Value")
		if n == "" || len(n) > 255 || len(v) > 1024 {
			return nil, cwInvalid(d+".Name", n, "a dimension needs a name of 1 to 255 characters and a value of at most 1024")
		}
		if valueRequired && v == "" {
			return nil, cwMissing(d + ".Value")
		}
		out = append(out, sim.Dimension{Name: n, Value: v})
	}
	return out, nil
}

func dimsXML(ds []sim.Dimension) []cwDimension {
	out := make([]cwDimension, len(ds))
	for i, d := range ds {
		out[i] = cwDimension{d.Name, d.Value}
	}
	return out
}

func reqTime(p params, name string) (time.Time, error) {
	t, ok, err := p.time(name)
	if !ok {
		return time.Time{}, cwMissing(name)
	}
	if err != nil {
		return time.Time{}, cwInvalid(name, p.get(name), "not a timestamp")
	}
	return t, nil
}

// queryIDRE is an Id's shape; its length (at most 255) is checked apart:
// a bounded repetition ({0,254}) would compile to 254 instructions at
// every start of the binary.
var queryIDRE = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)

// maxDatapoints is GetMetricData's default MaxDatapoints.
const maxDatapoints = 100800

func (h *handler) cwGetMetricData(r *request) (any, error) {
	b, err := h.cw()
	if err != nil {
		return nil, err
	}
	start, err := reqTime(r.p, "StartTime")
	if err != nil {
		return nil, err
	}
	end, err := reqTime(r.p, "EndTime")
	if err != nil {
		return nil, err
	}
	if tok := r.p.get("NextToken"); tok != "" {
		return nil, cwErr("InvalidNextToken", "The sandbox does not page GetMetricData: invalid token %q", tok)
	}
	scan := r.p.get("ScanBy")
	switch scan {
	case "", "TimestampDescending", "TimestampAscending":
	default:
		return nil, cwInvalid("ScanBy", scan, "must be TimestampDescending or TimestampAscending")
	}
	limit := maxDatapoints
	if v, ok, err := r.p.int32("MaxDatapoints"); err != nil || (ok && v < 1) {
		return nil, cwInvalid("MaxDatapoints", r.p.get("MaxDatapoints"), "must be a positive integer")
	} else if ok {
		limit = int(v)
	}
	idx := r.p.indexes("MetricDataQueries.member")
	if len(idx) == 0 {
		return nil, cwMissing("MetricDataQueries")
	}
	if len(idx) > 500 {
		return nil, cwInvalid("MetricDataQueries", strconv.Itoa(len(idx)), "at most 500 queries")
	}
	type q struct {
		id, label string
		ret       bool
	}
	var qs []sim.MetricQuery
	var meta []q
	seen := map[string]bool{}
	for _, pre := range idx {
		id := r.p.get(pre + ".Id")
		if len(id) > 255 || !queryIDRE.MatchString(id) {
			return nil, cwInvalid(pre+".Id", id, "must start with a lowercase letter, contain only letters, digits and underscores, and be at most 255 characters")
		}
		if seen[id] {
			return nil, cwInvalid(pre+".Id", id, "the Ids of the queries must be unique")
		}
		seen[id] = true
		if r.p.get(pre+".Expression") != "" {
			return nil, cwInvalid(pre+".Expression", r.p.get(pre+".Expression"), "the sandbox does not evaluate metric math; use MetricStat")
		}
		ms := pre + ".MetricStat"
		if !r.p.has(ms+".Metric.MetricName") && !r.p.has(ms+".Stat") {
			return nil, cwErr("InvalidParameterCombination", "%s: exactly one of MetricStat and Expression is required", pre)
		}
		ns, name := r.p.get(ms+".Metric.Namespace"), r.p.get(ms+".Metric.MetricName")
		if ns == "" || name == "" {
			return nil, cwMissing(ms + ".Metric.MetricName")
		}
		dims, err := dimensions(r.p, ms+".Metric.Dimensions", true)
		if err != nil {
			return nil, err
		}
		period, ok, err := r.p.int32(ms + ".Period")
		if !ok {
			return nil, cwMissing(ms + ".Period")
		}
		if err != nil {
			return nil, cwInvalid(ms+".Period", r.p.get(ms+".Period"), "not an integer")
		}
		stat := r.p.get(ms + ".Stat")
		if stat == "" {
			return nil, cwMissing(ms + ".Stat")
		}
		qs = append(qs, sim.MetricQuery{Metric: sim.Metric{Namespace: ns, MetricName: name, Dimensions: dims}, Period: period, Stat: stat})
		ret := true
		if v, ok := r.p.boolean(pre + ".ReturnData"); ok {
			ret = v
		}
		label := r.p.get(pre + ".Label")
		if label == "" {
			label = name
		}
		meta = append(meta, q{id, label, ret})
	}
	data, err := b.GetMetricData(qs, start, end)
	if err != nil {
		return nil, err
	}
	type result struct {
		ID         string    `xml:"Id"`
		Label      string    `xml:"Label"`
		Timestamps []cwTime  `xml:"Timestamps>member"`
		Values     []float64 `xml:"Values>member"`
		StatusCode string    `xml:"StatusCode"`
	}
	type out struct {
		Results  []result `xml:"MetricDataResults>member"`
		Messages struct{} `xml:"Messages"`
	}
	o := out{Results: []result{}}
	total := 0
	for i, dps := range data {
		if !meta[i].ret {
			continue
		}
		res := result{ID: meta[i].id, Label: meta[i].label, StatusCode: "Complete", Timestamps: []cwTime{}, Values: []float64{}}
		if scan != "TimestampAscending" {
			slices.Reverse(dps)
		}
		for _, d := range dps {
			if total >= limit {
				res.StatusCode = "PartialData"
				break
			}
			total++
			res.Timestamps = append(res.Timestamps, cwTime(d.Timestamp))
			res.Values = append(res.Values, d.Value)
		}
		o.Results = append(o.Results, res)
	}
	return o, nil
}

func (h *handler) cwGetMetricStatistics(r *request) (any, error) {
	b, err := h.cw()
	if err != nil {
		return nil, err
	}
	ns, name := r.p.get("Namespace"), r.p.get("MetricName")
	if ns == "" {
		return nil, cwMissing("Namespace")
	}
	if name == "" {
		return nil, cwMissing("MetricName")
	}
	start, err := reqTime(r.p, "StartTime")
	if err != nil {
		return nil, err
	}
	end, err := reqTime(r.p, "EndTime")
	if err != nil {
		return nil, err
	}
	period, ok, err := r.p.int32("Period")
	if !ok {
		return nil, cwMissing("Period")
	}
	if err != nil {
		return nil, cwInvalid("Period", r.p.get("Period"), "not an integer")
	}
	if len(r.p.list("ExtendedStatistics.member")) > 0 {
		return nil, cwInvalid("ExtendedStatistics", strings.Join(r.p.list("ExtendedStatistics.member"), ","), "the sandbox keeps no percentiles")
	}
	stats := r.p.list("Statistics.member")
	if len(stats) == 0 {
		return nil, cwErr("InvalidParameterCombination", "Must specify either Statistics or ExtendedStatistics, but not both.")
	}
	if len(stats) > 5 {
		return nil, cwInvalid("Statistics", strings.Join(stats, ","), "at most 5 statistics")
	}
	dims, err := dimensions(r.p, "Dimensions", true)
	if err != nil {
		return nil, err
	}
	m := sim.Metric{Namespace: ns, MetricName: name, Dimensions: dims}
	qs := make([]sim.MetricQuery, len(stats))
	for i, s := range stats {
		qs[i] = sim.MetricQuery{Metric: m, Period: period, Stat: s}
	}
	data, err := b.GetMetricData(qs, start, end)
	if err != nil {
		return nil, err
	}
	type dp struct {
		Timestamp   cwTime   `xml:"Timestamp"`
		SampleCount *float64 `xml:"SampleCount,omitempty"`
		Average     *float64 `xml:"Average,omitempty"`
		Sum         *float64 `xml:"Sum,omitempty"`
		Minimum     *float64 `xml:"Minimum,omitempty"`
		Maximum     *float64 `xml:"Maximum,omitempty"`
		Unit        string   `xml:"Unit"`
	}
	byTime := map[time.Time]*dp{}
	var order []time.Time
	for i, dps := range data {
		for _, d := range dps {
			x := byTime[d.Timestamp]
			if x == nil {
				x = &dp{Timestamp: cwTime(d.Timestamp), Unit: "None"}
				byTime[d.Timestamp] = x
				order = append(order, d.Timestamp)
			}
			v := d.Value
			switch stats[i] {
			case "SampleCount":
				x.SampleCount = &v
			case "Average":
				x.Average = &v
			case "Sum":
				x.Sum = &v
			case "Minimum":
				x.Minimum = &v
			case "Maximum":
				x.Maximum = &v
			}
		}
	}
	slices.SortFunc(order, func(a, b time.Time) int { return a.Compare(b) })
	type out struct {
		Label      string `xml:"Label"`
		Datapoints []dp   `xml:"Datapoints>member"`
	}
	o := out{Label: name, Datapoints: []dp{}}
	for _, t := range order {
		o.Datapoints = append(o.Datapoints, *byTime[t])
	}
	return o, nil
}

func (h *handler) cwListMetrics(r *request) (any, error) {
	b, err := h.cw()
	if err != nil {
		return nil, err
	}
	if tok := r.p.get("NextToken"); tok != "" {
		return nil, cwErr("InvalidNextToken", "Invalid token %q", tok)
	}
	dims, err := dimensions(r.p, "Dimensions", false)
	if err != nil {
		return nil, err
	}
	ms := b.ListMetrics(r.p.get("Namespace"), r.p.get("MetricName"), dims)
	type metric struct {
		Namespace  string        `xml:"Namespace"`
		MetricName string        `xml:"MetricName"`
		Dimensions []cwDimension `xml:"Dimensions>member"`
	}
	type out struct {
		Metrics []metric `xml:"Metrics>member"`
	}
	o := out{Metrics: []metric{}}
	for _, m := range ms {
		o.Metrics = append(o.Metrics, metric{m.Namespace, m.MetricName, dimsXML(m.Dimensions)})
	}
	return o, nil
}

var alarmStatistics = []string{"SampleCount", "Average", "Sum", "Minimum", "Maximum"}

// validAlarmPeriod: "Valid values are 10, 20, 30, and any multiple of 60"
// (PutMetricAlarm, Period).
func validAlarmPeriod(p int32) bool {
	return p == 10 || p == 20 || p == 30 || (p > 0 && p%60 == 0)
}

var actionARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:(autoscaling|sns|automate|ssm|ssm-incidents|lambda|swf):[a-z0-9-]+:[0-9]*:.+$`)

func actionList(p params, name string) ([]string, error) {
	l := p.list(name + ".member")
	if len(l) > 5 {
		return nil, cwInvalid(name, strconv.Itoa(len(l)), "at most 5 actions")
	}
	for _, a := range l {
		if !actionARNRE.MatchString(a) {
			return nil, cwErr("ValidationError", "Invalid arn syntax: %s", a)
		}
	}
	return l, nil
}

func (h *handler) cwPutMetricAlarm(r *request) (any, error) {
	b, err := h.cw()
	if err != nil {
		return nil, err
	}
	var a sim.MetricAlarm
	a.Name = r.p.get("AlarmName")
	if a.Name == "" {
		return nil, cwMissing("AlarmName")
	}
	if len(a.Name) > 255 {
		return nil, cwInvalid("AlarmName", a.Name, "at most 255 characters")
	}
	a.Description = r.p.get("AlarmDescription")
	if len(a.Description) > 1024 {
		return nil, cwInvalid("AlarmDescription", "…", "at most 1024 characters")
	}
	if len(r.p.indexes("Metrics.member")) > 0 {
		return nil, cwInvalid("Metrics", "…", "the sandbox does not evaluate metric math alarms; use MetricName and Namespace")
	}
	if r.p.get("ExtendedStatistic") != "" {
		return nil, cwInvalid("ExtendedStatistic", r.p.get("ExtendedStatistic"), "the sandbox keeps no percentiles")
	}
	if r.p.get("ThresholdMetricId") != "" {
		return nil, cwInvalid("ThresholdMetricId", r.p.get("ThresholdMetricId"), "the sandbox has no anomaly detection")
	}
	a.Namespace, a.MetricName = r.p.get("Namespace"), r.p.get("MetricName")
	if a.MetricName == "" {
		return nil, cwMissing("MetricName")
	}
	if a.Namespace == "" {
		return nil, cwMissing("Namespace")
	}
	if a.Dimensions, err = dimensions(r.p, "Dimensions", true); err != nil {
		return nil, err
	}
	a.Statistic = r.p.get("Statistic")
	if a.Statistic == "" {
		return nil, cwMissing("Statistic")
	}
	if !slices.Contains(alarmStatistics, a.Statistic) {
		return nil, cwInvalid("Statistic", a.Statistic, "must be one of "+strings.Join(alarmStatistics, ", "))
	}
	a.Unit = r.p.get("Unit")
	period, ok, err := r.p.int32("Period")
	if !ok {
		return nil, cwMissing("Period")
	}
	if err != nil || !validAlarmPeriod(period) {
		// What CloudWatch answers (HTTP 400, ValidationError, not a modeled
		// error); 20 s periods are allowed since 2024.
		return nil, cwErr("ValidationError", "Period must be 10, 20, 30 or a multiple of 60")
	}
	a.Period = period
	ev, ok, err := r.p.int32("EvaluationPeriods")
	if !ok {
		return nil, cwMissing("EvaluationPeriods")
	}
	if err != nil || ev < 1 {
		return nil, cwInvalid("EvaluationPeriods", r.p.get("EvaluationPeriods"), "must be at least 1")
	}
	if int64(ev)*int64(period) > 86400 {
		return nil, cwErr("ValidationError", "The evaluation period (EvaluationPeriods × Period = %d seconds) cannot exceed 1 day.", int64(ev)*int64(period))
	}
	a.EvaluationPeriods = ev
	if dta, ok, err := r.p.int32("DatapointsToAlarm"); ok {
		if err != nil || dta < 1 || dta > ev {
			return nil, cwErr("ValidationError", "DatapointsToAlarm (%s) must be between 1 and EvaluationPeriods (%d).", r.p.get("DatapointsToAlarm"), ev)
		}
		a.DatapointsToAlarm = dta
	}
	ts := r.p.get("Threshold")
	if ts == "" {
		return nil, cwMissing("Threshold")
	}
	if a.Threshold, err = strconv.ParseFloat(ts, 64); err != nil {
		return nil, cwInvalid("Threshold", ts, "not a number")
	}
	a.ComparisonOperator = r.p.get("ComparisonOperator")
	if a.ComparisonOperator == "" {
		return nil, cwMissing("ComparisonOperator")
	}
	if !slices.Contains(sim.Comparisons, a.ComparisonOperator) {
		return nil, cwInvalid("ComparisonOperator", a.ComparisonOperator, "the sandbox evaluates "+strings.Join(sim.Comparisons, ", ")+" (no anomaly bands)")
	}
	a.TreatMissingData = r.p.get("TreatMissingData")
	if a.TreatMissingData != "" && !slices.Contains(sim.MissingTreatments, a.TreatMissingData) {
		return nil, cwInvalid("TreatMissingData", a.TreatMissingData, "must be one of "+strings.Join(sim.MissingTreatments, ", "))
	}
	a.ActionsEnabled = true
	if v, ok := r.p.boolean("ActionsEnabled"); ok {
		a.ActionsEnabled = v
	}
	if a.AlarmActions, err = actionList(r.p, "AlarmActions"); err != nil {
		return nil, err
	}
	if a.OKActions, err = actionList(r.p, "OKActions"); err != nil {
		return nil, err
	}
	if a.InsufficientDataActions, err = actionList(r.p, "InsufficientDataActions"); err != nil {
		return nil, err
	}
	if _, err := b.PutMetricAlarm(a); err != nil {
		return nil, err
	}
	return nil, nil
}

type cwAlarm struct {
	AlarmName                          string        `xml:"AlarmName"`
	AlarmArn                           string        `xml:"AlarmArn"`
	AlarmDescription                   string        `xml:"AlarmDescription,omitempty"`
	AlarmConfigurationUpdatedTimestamp cwTime        `xml:"AlarmConfigurationUpdatedTimestamp"`
	ActionsEnabled                     bool          `xml:"ActionsEnabled"`
	OKActions                          []string      `xml:"OKActions>member"`
	AlarmActions                       []string      `xml:"AlarmActions>member"`
	InsufficientDataActions            []string      `xml:"InsufficientDataActions>member"`
	StateValue                         string        `xml:"StateValue"`
	StateReason                        string        `xml:"StateReason"`
	StateReasonData                    string        `xml:"StateReasonData,omitempty"`
	StateUpdatedTimestamp              cwTime        `xml:"StateUpdatedTimestamp"`
	MetricName                         string        `xml:"MetricName"`
	Namespace                          string        `xml:"Namespace"`
	Statistic                          string        `xml:"Statistic"`
	Dimensions                         []cwDimension `xml:"Dimensions>member"`
	Period                             int32         `xml:"Period"`
	Unit                               string        `xml:"Unit,omitempty"`
	EvaluationPeriods                  int32         `xml:"EvaluationPeriods"`
	DatapointsToAlarm                  int32         `xml:"DatapointsToAlarm,omitempty"`
	Threshold                          float64       `xml:"Threshold"`
	ComparisonOperator                 string        `xml:"ComparisonOperator"`
	TreatMissingData                   string        `xml:"TreatMissingData,omitempty"`
	StateTransitionedTimestamp         cwTime        `xml:"StateTransitionedTimestamp"`
}

func alarmXML(a sim.MetricAlarm) cwAlarm {
	return cwAlarm{
		AlarmName: a.Name, AlarmArn: a.ARN, AlarmDescription: a.Description,
		AlarmConfigurationUpdatedTimestamp: cwTime(a.ConfigurationUpdated), ActionsEnabled: a.ActionsEnabled,
		OKActions: nonNilS(a.OKActions), AlarmActions: nonNilS(a.AlarmActions), InsufficientDataActions: nonNilS(a.InsufficientDataActions),
		StateValue: a.StateValue, StateReason: a.StateReason, StateReasonData: a.StateReasonData,
		StateUpdatedTimestamp: cwTime(a.StateUpdatedTimestamp), MetricName: a.MetricName, Namespace: a.Namespace,
		Statistic: a.Statistic, Dimensions: dimsXML(a.Dimensions), Period: a.Period, Unit: a.Unit,
		EvaluationPeriods: a.EvaluationPeriods, DatapointsToAlarm: a.DatapointsToAlarm, Threshold: a.Threshold,
		ComparisonOperator: a.ComparisonOperator, TreatMissingData: a.TreatMissingData,
		StateTransitionedTimestamp: cwTime(a.StateTransitionedTimestamp),
	}
}

func nonNilS(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

var alarmStates = []string{sim.AlarmOK, sim.AlarmAlarm, sim.AlarmInsufficientData}

func (h *handler) cwDescribeAlarms(r *request) (any, error) {
	b, err := h.cw()
	if err != nil {
		return nil, err
	}
	names := r.p.list("AlarmNames.member")
	prefix := r.p.get("AlarmNamePrefix")
	if len(names) > 0 && prefix != "" {
		return nil, cwErr("InvalidParameterCombination", "AlarmNamePrefix and AlarmNames cannot be used together.")
	}
	if len(names) > 100 {
		return nil, cwInvalid("AlarmNames", strconv.Itoa(len(names)), "at most 100 names")
	}
	state := r.p.get("StateValue")
	if state != "" && !slices.Contains(alarmStates, state) {
		return nil, cwInvalid("StateValue", state, "must be OK, ALARM or INSUFFICIENT_DATA")
	}
	types := r.p.list("AlarmTypes.member")
	for _, t := range types {
		if t != "MetricAlarm" && t != "CompositeAlarm" {
			return nil, cwInvalid("AlarmTypes", t, "must be MetricAlarm or CompositeAlarm")
		}
	}
	actionPrefix := r.p.get("ActionPrefix")
	var list []sim.MetricAlarm
	if len(types) == 0 || slices.Contains(types, "MetricAlarm") {
		for _, a := range b.Alarms() {
			if (len(names) > 0 && !slices.Contains(names, a.Name)) || !strings.HasPrefix(a.Name, prefix) || (state != "" && a.StateValue != state) {
				continue
			}
			if actionPrefix != "" && !slices.ContainsFunc(slices.Concat(a.AlarmActions, a.OKActions, a.InsufficientDataActions), func(s string) bool { return strings.HasPrefix(s, actionPrefix) }) {
				continue
			}
			list = append(list, a)
		}
	}
	list, next, err := pageOf(r, list)
	if err != nil {
		return nil, err
	}
	type out struct {
		MetricAlarms    []cwAlarm `xml:"MetricAlarms>member"`
		CompositeAlarms struct{}  `xml:"CompositeAlarms"`
		NextToken       string    `xml:"NextToken,omitempty"`
	}
	o := out{MetricAlarms: []cwAlarm{}, NextToken: next}
	for _, a := range list {
		o.MetricAlarms = append(o.MetricAlarms, alarmXML(a))
	}
	return o, nil
}

func (h *handler) cwDeleteAlarms(r *request) (any, error) {
	b, err := h.cw()
	if err != nil {
		return nil, err
	}
	names := r.p.list("AlarmNames.member")
	if len(names) == 0 {
		return nil, cwMissing("AlarmNames")
	}
	if len(names) > 100 {
		return nil, cwInvalid("AlarmNames", strconv.Itoa(len(names)), "at most 100 names")
	}
	return nil, b.DeleteAlarms(names)
}

func (h *handler) cwSetAlarmState(r *request) (any, error) {
	b, err := h.cw()
	if err != nil {
		return nil, err
	}
	name, state, reason := r.p.get("AlarmName"), r.p.get("StateValue"), r.p.get("StateReason")
	switch {
	case name == "":
		return nil, cwMissing("AlarmName")
	case state == "":
		return nil, cwMissing("StateValue")
	case reason == "":
		return nil, cwMissing("StateReason")
	}
	if !slices.Contains(alarmStates, state) {
		return nil, cwInvalid("StateValue", state, "must be OK, ALARM or INSUFFICIENT_DATA")
	}
	if len(reason) > 1023 {
		return nil, cwInvalid("StateReason", "…", "at most 1023 characters")
	}
	data := r.p.get("StateReasonData")
	if data != "" && (len(data) > 4000 || !json.Valid([]byte(data))) {
		return nil, cwErr("InvalidFormat", "StateReasonData is not valid JSON of at most 4000 characters.")
	}
	return nil, b.SetAlarmState(name, state, reason, data)
}
