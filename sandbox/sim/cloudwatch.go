package sim

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// CloudWatch alarms, evaluated as CloudWatch does (Amazon CloudWatch User
// Guide, "Using Amazon CloudWatch alarms": period, evaluation periods,
// datapoints to alarm, missing data treatment), on the sandbox's
// CloudWatch clock (see metrics.go).

// Alarm states.
const (
	AlarmOK               = "OK"
	AlarmAlarm            = "ALARM"
	AlarmInsufficientData = "INSUFFICIENT_DATA"
)

// Comparison operators the sandbox evaluates (not the anomaly-band ones).
var Comparisons = []string{"GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold"}

// MissingData treatments.
var MissingTreatments = []string{"breaching", "notBreaching", "ignore", "missing"}

// MetricAlarm is a metric alarm as DescribeAlarms shows it.
type MetricAlarm struct {
	Name, ARN, Description string
	Metric
	Statistic                  string
	Unit                       string
	Period                     int32 // CloudWatch seconds
	EvaluationPeriods          int32
	DatapointsToAlarm          int32 // 0: EvaluationPeriods
	Threshold                  float64
	ComparisonOperator         string
	TreatMissingData           string // "" is "missing"
	ActionsEnabled             bool
	AlarmActions               []string
	OKActions                  []string
	InsufficientDataActions    []string
	StateValue                 string
	StateReason                string
	StateReasonData            string
	StateUpdatedTimestamp      time.Time
	StateTransitionedTimestamp time.Time
	ConfigurationUpdated       time.Time
}

type alarm struct {
	m        MetricAlarm
	lastEval int64 // bucket index of the end of the last evaluated window
	// lastValue is the newest datapoint of the last evaluation.
	lastValue float64
	hasValue  bool
}

// maxAlarms bounds the alarms (AWS's default quota is far larger; the
// sandbox is one small stack).
const maxAlarms = 500

type cloudWatch struct {
	store    metricStore
	col      collector
	alarms   map[string]*alarm
	policies []*policy
	// builtAt is when the initial stack was built: its instances are
	// already warm (an existing stack), whatever their in-service time.
	builtAt time.Time
}

func newCloudWatch(t Timings) *cloudWatch {
	return &cloudWatch{
		store:   metricStore{res: t.MetricMinute / 6, series: map[string]*series{}},
		alarms:  map[string]*alarm{},
		builtAt: time.Now(),
	}
}

func breaches(op string, v, threshold float64) bool {
	switch op {
	case "GreaterThanOrEqualToThreshold":
		return v >= threshold
	case "GreaterThanThreshold":
		return v > threshold
	case "LessThanThreshold":
		return v < threshold
	case "LessThanOrEqualToThreshold":
		return v <= threshold
	}
	return false
}

var opWords = map[string]string{
	"GreaterThanOrEqualToThreshold": "greater than or equal to",
	"GreaterThanThreshold":          "greater than",
	"LessThanThreshold":             "less than",
	"LessThanOrEqualToThreshold":    "less than or equal to",
}

// PutMetricAlarm creates or replaces an alarm. A new alarm starts in
// INSUFFICIENT_DATA; a replaced one keeps its state (as AWS). The caller
// has validated the fields' syntax; this checks what needs the model.
func (r *Region) PutMetricAlarm(a MetricAlarm) (MetricAlarm, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.putAlarmLocked(a)
}

func (r *Region) putAlarmLocked(a MetricAlarm) (MetricAlarm, error) {
	// CloudWatch does not check that an Auto Scaling policy named in the
	// actions exists; an action naming a deleted policy does nothing.
	now := time.Now()
	a.Dimensions = sortDims(a.Dimensions)
	a.ARN = r.arn("cloudwatch", "alarm:"+a.Name)
	a.ConfigurationUpdated = now
	if old := r.cw.alarms[a.Name]; old != nil {
		a.StateValue, a.StateReason, a.StateReasonData = old.m.StateValue, old.m.StateReason, old.m.StateReasonData
		a.StateUpdatedTimestamp, a.StateTransitionedTimestamp = old.m.StateUpdatedTimestamp, old.m.StateTransitionedTimestamp
		old.m = a
		// The new settings apply from the next period's end on.
		k := periodBuckets(a.Period)
		old.lastEval = floorDiv(r.cw.store.index(now), k) * k
		return a, nil
	}
	if len(r.cw.alarms) >= maxAlarms {
		return MetricAlarm{}, apiErr(400, "LimitExceeded", "The maximum number of alarms (%d) has been reached.", maxAlarms)
	}
	a.StateValue, a.StateReason = AlarmInsufficientData, "Unchecked: Initial alarm creation"
	a.StateUpdatedTimestamp, a.StateTransitionedTimestamp = now, now
	r.cw.alarms[a.Name] = &alarm{m: a}
	r.emit("alarm-state", a.Name, "", "", a.StateValue, a.StateReason)
	return a, nil
}

// Alarms returns the alarms, sorted by name.
func (r *Region) Alarms() []MetricAlarm {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]MetricAlarm, 0, len(r.cw.alarms))
	for _, a := range r.cw.alarms {
		m := a.m
		m.Dimensions = slices.Clone(m.Dimensions)
		m.AlarmActions = slices.Clone(m.AlarmActions)
		m.OKActions = slices.Clone(m.OKActions)
		m.InsufficientDataActions = slices.Clone(m.InsufficientDataActions)
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b MetricAlarm) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// DeleteAlarms deletes the named alarms: all or nothing, ResourceNotFound
// (HTTP 404) naming the first missing one.
func (r *Region) DeleteAlarms(names []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range names {
		if r.cw.alarms[n] == nil {
			return apiErr(404, "ResourceNotFound", "Alarm %s does not exist", n)
		}
	}
	for _, n := range names {
		delete(r.cw.alarms, n)
		r.emit("alarm-state", n, "", "", "deleted", "DeleteAlarms")
	}
	return nil
}

// SetAlarmState sets an alarm's state until its next evaluation, and runs
// the new state's actions.
func (r *Region) SetAlarmState(name, state, reason, reasonData string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.cw.alarms[name]
	if a == nil {
		return apiErr(404, "ResourceNotFound", "Alarm %s does not exist", name)
	}
	// A state set by hand carries no datapoint: a policy it runs acts as on
	// a value just past the threshold (policies.go).
	a.hasValue = false
	r.setAlarmStateLocked(a, state, reason, reasonData, time.Now())
	return nil
}

func (r *Region) setAlarmStateLocked(a *alarm, state, reason, data string, now time.Time) {
	a.m.StateReason, a.m.StateReasonData, a.m.StateUpdatedTimestamp = reason, data, now
	if a.m.StateValue == state {
		return
	}
	prev := a.m.StateValue
	a.m.StateValue = state
	a.m.StateTransitionedTimestamp = now
	r.emit("alarm-state", a.m.Name, "", prev, state, reason)
	r.alarmActionsLocked(a, now)
}

// alarmActionsLocked runs the actions of the alarm's state. Auto Scaling
// actions are the only ones the sandbox carries out; others (SNS, EC2
// actions) are recorded as ground truth only.
func (r *Region) alarmActionsLocked(a *alarm, now time.Time) {
	if !a.m.ActionsEnabled {
		return
	}
	var arns []string
	switch a.m.StateValue {
	case AlarmAlarm:
		arns = a.m.AlarmActions
	case AlarmOK:
		arns = a.m.OKActions
	default:
		arns = a.m.InsufficientDataActions
	}
	for _, arn := range arns {
		if p := r.policyByARNLocked(arn); p != nil {
			r.runPolicyLocked(p, a, now)
			continue
		}
		r.emit("alarm-action", a.m.Name, "", a.m.StateValue, arn, "not carried out by the sandbox")
	}
}

// evaluateAlarmsLocked evaluates every alarm whose period has completed
// since its last evaluation.
func (r *Region) evaluateAlarmsLocked(now time.Time) {
	names := make([]string, 0, len(r.cw.alarms))
	for n := range r.cw.alarms {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if a := r.cw.alarms[n]; a != nil {
			r.evaluateLocked(a, now)
		}
	}
}

type evalPoint struct {
	start   time.Time
	value   float64
	present bool
}

func (r *Region) evaluateLocked(a *alarm, now time.Time) {
	st := &r.cw.store
	k := periodBuckets(a.m.Period)
	end := floorDiv(st.index(now), k) * k // start of the period in progress
	if end == a.lastEval {
		return
	}
	a.lastEval = end
	n := int64(a.m.EvaluationPeriods)
	pts := make([]evalPoint, n) // newest first
	for i := range pts {
		pts[i].start = st.start(end - int64(i+1)*k)
	}
	if se := st.series[metricKey(a.m.Metric)]; se != nil {
		starts, aggs := st.aggregate(se, st.start(end-n*k), st.start(end), a.m.Period)
		for i, s := range starts {
			j := (end - s - k) / k
			if j >= 0 && j < n {
				pts[j].value, pts[j].present = aggs[i].stat(a.m.Statistic), true
			}
		}
	}
	a.hasValue = false
	for _, p := range pts {
		if p.present {
			a.lastValue, a.hasValue = p.value, true
			break
		}
	}
	m := int(a.m.DatapointsToAlarm)
	if m == 0 {
		m = int(n)
	}
	treat := a.m.TreatMissingData
	breach, present := 0, 0
	var shown []evalPoint
	for _, p := range pts {
		switch {
		case p.present:
			present++
			shown = append(shown, p)
			if breaches(a.m.ComparisonOperator, p.value, a.m.Threshold) {
				breach++
			}
		case treat == "breaching":
			breach++
			present++
		case treat == "notBreaching":
			present++
		}
	}
	state, reason := "", ""
	switch {
	case breach >= m:
		state = AlarmAlarm
		reason = fmt.Sprintf("Threshold Crossed: %d out of the last %d datapoints %s %s %s the threshold (%s) (minimum %d %s for OK -> ALARM transition).",
			breach, n, fmtPoints(shown), plural(breach, "was", "were"), opWords[a.m.ComparisonOperator], fmtValue(a.m.Threshold), m, plural(m, "datapoint", "datapoints"))
	case present == 0 && treat == "ignore":
		// keep the state
	case present == 0:
		state = AlarmInsufficientData
		reason = fmt.Sprintf("Insufficient Data: %d %s %s unknown.", n, plural(int(n), "datapoint", "datapoints"), plural(int(n), "was", "were"))
	default:
		ok := present - breach
		state = AlarmOK
		reason = fmt.Sprintf("Threshold Crossed: %d out of the last %d datapoints %s %s not %s the threshold (%s) (minimum 1 datapoint for ALARM -> OK transition).",
			ok, n, fmtPoints(shown), plural(ok, "was", "were"), opWords[a.m.ComparisonOperator], fmtValue(a.m.Threshold))
	}
	if state == "" {
		return
	}
	if state == a.m.StateValue {
		a.m.StateReason, a.m.StateReasonData = reason, reasonData(a, pts, now)
		// Auto Scaling actions repeat every period the alarm stays in ALARM
		// (CloudWatch User Guide, "Alarm actions"); this runs once a period.
		if state == AlarmAlarm {
			r.alarmActionsLocked(a, now)
		}
		return
	}
	r.setAlarmStateLocked(a, state, reason, reasonData(a, pts, now), now)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func fmtPoints(pts []evalPoint) string {
	parts := make([]string, len(pts))
	for i, p := range pts {
		parts[i] = fmt.Sprintf("%s (%s)", fmtValue(p.value), p.start.UTC().Format("02/01/06 15:04:05"))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// reasonData is StateReasonData as CloudWatch writes it for a threshold
// alarm (version 1.0).
func reasonData(a *alarm, pts []evalPoint, now time.Time) string {
	type dp struct {
		Timestamp   string  `json:"timestamp"`
		SampleCount float64 `json:"sampleCount,omitempty"`
		Value       float64 `json:"value"`
	}
	var recent []float64
	var eval []dp
	for _, p := range pts {
		if p.present {
			recent = append(recent, p.value)
			eval = append(eval, dp{Timestamp: p.start.UTC().Format("2006-01-02T15:04:05.000+0000"), Value: p.value})
		}
	}
	slices.Reverse(recent)
	start := now
	if len(pts) > 0 {
		start = pts[len(pts)-1].start
	}
	b, _ := json.Marshal(struct {
		Version             string    `json:"version"`
		QueryDate           string    `json:"queryDate"`
		StartDate           string    `json:"startDate"`
		Statistic           string    `json:"statistic"`
		Period              int32     `json:"period"`
		RecentDatapoints    []float64 `json:"recentDatapoints"`
		Threshold           float64   `json:"threshold"`
		EvaluatedDatapoints []dp      `json:"evaluatedDatapoints,omitempty"`
	}{"1.0", now.UTC().Format("2006-01-02T15:04:05.000+0000"), start.UTC().Format("2006-01-02T15:04:05.000+0000"), a.m.Statistic, a.m.Period, nonNil(recent), a.m.Threshold, eval})
	return string(b)
}

func nonNil(v []float64) []float64 {
	if v == nil {
		return []float64{}
	}
	return v
}

// latestValueLocked is the newest datapoint of the alarm's last
// evaluation: the value a step or target-tracking policy acts on.
func (r *Region) latestValueLocked(a *alarm) (float64, bool) {
	return a.lastValue, a.hasValue
}
