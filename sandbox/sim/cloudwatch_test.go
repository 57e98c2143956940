package sim

import (
	"strings"
	"testing"
	"time"
)

// TestAlarmEvaluation: M of N datapoints, the four missing-data
// treatments, and the state reasons, on datapoints put straight into the
// metric store (no clock races: each case evaluates at a chosen time).
func TestAlarmEvaluation(t *testing.T) {
	r, err := New(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	res := r.cw.store.res // one CloudWatch ten-second bucket; period 60 = 6 buckets
	period := 6 * res
	base := time.Unix(0, 0).Add(time.Duration(time.Now().UnixNano()/int64(period)) * period) // a period boundary
	const ns, metric = "Test", "M"
	dim := Dimension{"K", "v"}
	// Five periods: 80, (missing), 90, 10, 95 — oldest first.
	vals := []float64{80, -1, 90, 10, 95}
	put := func(name string) {
		for i, v := range vals {
			if v >= 0 {
				r.cw.store.add(base.Add(time.Duration(i)*period), ns+name, metric, "None", v, dim)
			}
		}
	}
	evalAt := base.Add(time.Duration(len(vals)) * period).Add(res / 2) // just after the fifth period ends
	for _, tc := range []struct {
		name     string
		n, m     int32
		treat    string
		want     string
		inReason string
	}{
		{"3 of 3", 3, 3, "", AlarmOK, "1 out of the last 3 datapoints"},          // 90, 10, 95: 10 is not > 70
		{"2 of 3", 3, 2, "", AlarmAlarm, "2 out of the last 3 datapoints [95.0"}, // newest first
		{"4 of 5, missing ignored", 5, 4, "missing", AlarmOK, ""},                // 4 present, 3 breaching
		{"4 of 5, missing breaches", 5, 4, "breaching", AlarmAlarm, "4 out of the last 5"},
		{"4 of 5, missing does not breach", 5, 4, "notBreaching", AlarmOK, ""},
	} {
		r.mu.Lock()
		put(tc.name)
		a := MetricAlarm{Name: tc.name, Statistic: "Average", Period: 60, EvaluationPeriods: tc.n, DatapointsToAlarm: tc.m,
			Threshold: 70, ComparisonOperator: "GreaterThanThreshold", TreatMissingData: tc.treat}
		a.Metric = Metric{Namespace: ns + tc.name, MetricName: metric, Dimensions: []Dimension{dim}}
		if _, err := r.putAlarmLocked(a); err != nil {
			t.Fatal(err)
		}
		r.evaluateLocked(r.cw.alarms[tc.name], evalAt)
		got := r.cw.alarms[tc.name].m
		r.mu.Unlock()
		if got.StateValue != tc.want || !strings.Contains(got.StateReason, tc.inReason) {
			t.Errorf("%s: %s %q, want %s with %q", tc.name, got.StateValue, got.StateReason, tc.want, tc.inReason)
		}
	}

	// No data at all: INSUFFICIENT_DATA with "missing", the state kept with "ignore".
	for treat, want := range map[string]string{"missing": AlarmInsufficientData, "ignore": AlarmOK} {
		r.mu.Lock()
		a := MetricAlarm{Name: "none-" + treat, Statistic: "Sum", Period: 60, EvaluationPeriods: 2, Threshold: 1,
			ComparisonOperator: "LessThanThreshold", TreatMissingData: treat}
		a.Metric = Metric{Namespace: "Nothing", MetricName: "Here"}
		if _, err := r.putAlarmLocked(a); err != nil {
			t.Fatal(err)
		}
		al := r.cw.alarms[a.Name]
		al.m.StateValue = AlarmOK
		r.evaluateLocked(al, evalAt)
		got := al.m
		r.mu.Unlock()
		if got.StateValue != want {
			t.Errorf("no data, %s: %s (%q), want %s", treat, got.StateValue, got.StateReason, want)
		}
	}
}
