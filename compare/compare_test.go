package compare

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/gameday-dev/gameday/analysis"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/record"
)

// stored is a real run record of the full game day (three faults).
func stored(t *testing.T) *record.Run {
	t.Helper()
	r, err := record.Read("../reports/testdata/run.json")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func rules(t *testing.T, run *record.Run, srcs ...string) []experiments.Regression {
	t.Helper()
	var out []experiments.Regression
	for _, s := range srcs {
		r, err := experiments.ParseRegression(s, IsFault(run))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func byScope(vs []analysis.Verdict) map[string]analysis.Verdict {
	m := map[string]analysis.Verdict{}
	for _, v := range vs {
		m[v.Scope+": "+v.Gate] = v
	}
	return m
}

func TestJudgeRecoveryGrownHalf(t *testing.T) {
	base, cur := stored(t), stored(t)
	cur.Faults[1].Recovery.TimeToRecover *= 1.5
	vs := byScope(Judge(base, cur, rules(t, cur, "time_to_recover +20%", "time_to_recover +60% in database-failover")))
	if len(vs) != 4 {
		t.Fatalf("verdicts %v", vs)
	}
	for scope, pass := range map[string]bool{
		"lose-an-instance: time_to_recover +20%":                       true,
		"database-failover: time_to_recover +20%":                      false,
		"az-outage: time_to_recover +20%":                              true,
		"database-failover: time_to_recover +60% in database-failover": true,
	} {
		v, ok := vs[scope]
		if !ok || v.Pass != pass {
			t.Errorf("%s: %+v, want pass=%v", scope, v, pass)
		}
		if !IsRegression(v) || v.Metric != "regression:time_to_recover" {
			t.Errorf("%s: metric %q", scope, v.Metric)
		}
	}
	v := vs["database-failover: time_to_recover +20%"]
	if !strings.Contains(v.Measured, "(+50.0%)") || !strings.HasPrefix(v.Limit, "+20% vs baseline (<= ") {
		t.Errorf("verdict text: %q / %q", v.Measured, v.Limit)
	}
	if v.Value != cur.Faults[1].Recovery.TimeToRecover {
		t.Errorf("value %v", v.Value)
	}
}

func TestJudgeNeverRecoveredAndMissing(t *testing.T) {
	base, cur := stored(t), stored(t)
	// The record keeps "never" as -1 with Recovered false.
	cur.Faults[0].Recovery.Recovered = false
	cur.Faults[0].Recovery.TimeToRecover = -1
	cur.Faults[2].Injected = false
	cur.Faults[2].Skipped = "aborted before it"
	vs := byScope(Judge(base, cur, rules(t, cur, "time_to_recover +1000%")))
	if v := vs["lose-an-instance: time_to_recover +1000%"]; v.Pass || !strings.HasPrefix(v.Measured, "never vs ") || !strings.HasSuffix(v.Measured, " in the baseline: now never") {
		t.Errorf("never recovered: %+v", v)
	}
	if v := vs["az-outage: time_to_recover +1000%"]; v.Pass || v.Measured != "not measured in this run" {
		t.Errorf("not injected: %+v", v)
	}
	if v := vs["database-failover: time_to_recover +1000%"]; !v.Pass {
		t.Errorf("unchanged: %+v", v)
	}
	// Both never recovered: no worse than the baseline.
	base.Faults[0].Recovery = cur.Faults[0].Recovery
	if v := byScope(Judge(base, cur, rules(t, cur, "time_to_recover +0%")))["lose-an-instance: time_to_recover +0%"]; !v.Pass {
		t.Errorf("never vs never: %+v", v)
	}
}

func TestJudgePhases(t *testing.T) {
	base, cur := stored(t), stored(t)
	for i := range cur.Phases {
		if cur.Phases[i].Name == "total" {
			cur.Phases[i].P99S *= 1.3
			cur.Phases[i].SuccessRatio -= 0.004
		}
	}
	vs := byScope(Judge(base, cur, rules(t, cur, "p99 +25%", "success_ratio -0.5pp", "success_ratio -0.3pp", "p99 +0% in baseline")))
	for scope, pass := range map[string]bool{
		"total: p99 +25%":               false,
		"total: success_ratio -0.5pp":   true,
		"total: success_ratio -0.3pp":   false,
		"baseline: p99 +0% in baseline": true,
	} {
		if v, ok := vs[scope]; !ok || v.Pass != pass {
			t.Errorf("%s: %+v, want pass=%v", scope, v, pass)
		}
	}
}

func TestComparisonTables(t *testing.T) {
	base, cur := stored(t), stored(t)
	cur.Faults[1].Recovery.TimeToRecover *= 1.5
	c := Runs(base, cur)
	if n := len(c.Rows); n != 3*len(FaultMetrics)+len(cur.Phases)*len(PhaseMetrics) {
		t.Errorf("%d rows", n)
	}
	var row Row
	for _, r := range c.Rows {
		if r.Fault && r.Scope == "database-failover" && r.Metric == "time_to_recover" {
			row = r
		}
	}
	if abs, rel := row.Change(); math.Abs(rel-0.5) > 1e-9 || math.Abs(abs-row.Base/2) > 1e-9 {
		t.Errorf("change %v %v of %+v", abs, rel, row)
	}
	vs := Judge(base, cur, rules(t, cur, "time_to_recover +20%"))
	var tb, md bytes.Buffer
	if err := c.Table(&tb, vs); err != nil {
		t.Fatal(err)
	}
	if err := c.Markdown(&md, vs); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"database-failover", "+50.0%", "Regression limits", "FAIL"} {
		if !strings.Contains(tb.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, tb.String())
		}
	}
	for _, want := range []string{"## ❌ Regression: 1 of 3 limits exceeded", "| database-failover | time_to_recover |", "| +50.0% |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
}
