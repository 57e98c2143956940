package experiments

import (
	"math"
	"strings"
	"testing"
)

func TestParseRegression(t *testing.T) {
	isFault := func(n string) bool { return n == "kill" || n == "baseline-ish" }
	for _, tc := range []struct {
		src      string
		metric   string
		onFault  bool
		scope    string
		relative bool
		limit    float64
		worse    int
	}{
		{"time_to_recover +20%", "time_to_recover", true, "", true, 0.2, +1},
		{"failed_requests  +50%", "failed_requests", true, "", true, 0.5, +1},
		{"p99 +25%", "p99", false, "total", true, 0.25, +1},
		{"time_to_recover +5s", "time_to_recover", true, "", false, 5, +1},
		{"peak_p99 +150ms in kill", "peak_p99", true, "kill", false, 0.15, +1},
		{"failed_requests +10 in total", "failed_requests", false, "total", false, 10, +1},
		{"failed_requests +10 in kill", "failed_requests", true, "kill", false, 10, +1},
		{"success_ratio -0.5pp in after rollback", "success_ratio", false, "after rollback", false, 0.005, -1},
		{"worst_success_ratio -10%", "worst_success_ratio", true, "", true, 0.1, -1},
		{"rps -5% in fault: kill", "rps", false, "fault: kill", true, 0.05, -1},
		{"p50 +0%", "p50", false, "total", true, 0, +1},
	} {
		t.Run(tc.src, func(t *testing.T) {
			r, err := ParseRegression(tc.src, isFault)
			if err != nil {
				t.Fatal(err)
			}
			if r.Metric != tc.metric || r.OnFault != tc.onFault || r.Scope != tc.scope || r.Relative != tc.relative ||
				math.Abs(r.Limit-tc.limit) > 1e-12 || r.Worse != tc.worse {
				t.Errorf("got %+v", r)
			}
		})
	}
	for _, tc := range []struct{ src, want string }{
		{"time_to_recover", `want "METRIC CHANGE [in NAME]"`},
		{"recovery +20%", `unknown metric "recovery"`},
		{"time_to_recover 20%", `needs a sign`},
		{"time_to_recover -20%", `time_to_recover gets worse as it grows: write +20%`},
		{"success_ratio +1%", `success_ratio gets worse as it falls`},
		{"time_to_recover +abc", `neither a percentage nor a duration`},
		{"time_to_recover +x%", `is not a percentage`},
		{"success_ratio -0.5", `percentage points`},
		{"failed_requests +-3", `neither a percentage nor a number`},
		{"time_to_recover +20% in nope", `"nope" names no fault`},
		{"p99 +20% in kill", `"kill" names no phase`},
		{"failed_requests +20% in nope", `names no fault or phase`},
		{"p99 +20% for 3s", `only "in NAME" may follow`},
	} {
		t.Run(tc.src, func(t *testing.T) {
			_, err := ParseRegression(tc.src, isFault)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestRegressionExceeded(t *testing.T) {
	parse := func(s string) Regression {
		r, err := ParseRegression(s, func(string) bool { return false })
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	inf, nan := math.Inf(1), math.NaN()
	for _, tc := range []struct {
		rule      string
		base, cur float64
		exceeded  bool
	}{
		{"time_to_recover +20%", 10, 12, false}, // exactly the limit passes
		{"time_to_recover +20%", 10, 12.01, true},
		{"time_to_recover +20%", 10, 3, false},
		{"time_to_recover +20%", 0, 0, false},
		{"time_to_recover +20%", 0, 0.5, true}, // any growth from zero is unbounded relative growth
		{"time_to_recover +5s", 0, 4.9, false},
		{"time_to_recover +20%", 10, inf, true}, // now never recovers
		{"time_to_recover +20%", inf, 30, false},
		{"time_to_recover +20%", inf, inf, false},
		{"time_to_recover +20%", nan, 3, true}, // nothing to compare with
		{"time_to_recover +20%", 3, nan, true},
		{"success_ratio -1%", 0.99, 0.981, false},
		{"success_ratio -1%", 0.99, 0.97, true},
		{"success_ratio -0.5pp", 0.999, 0.995, false},
		{"success_ratio -0.5pp", 0.999, 0.993, true},
		{"success_ratio -1%", 0.99, 1, false},
	} {
		r := parse(tc.rule)
		if got := r.Exceeded(tc.base, tc.cur); got != tc.exceeded {
			t.Errorf("%s: base %v cur %v: exceeded=%v, want %v", tc.rule, tc.base, tc.cur, got, tc.exceeded)
		}
	}
	if got := parse("time_to_recover +20%").FormatLimit(); got != "+20%" {
		t.Errorf("FormatLimit %q", got)
	}
	if got := parse("success_ratio -0.5pp").FormatLimit(); got != "-0.5pp" {
		t.Errorf("FormatLimit %q", got)
	}
	if got := parse("p99 +150ms").FormatLimit(); got != "+150ms" {
		t.Errorf("FormatLimit %q", got)
	}
}

func TestRegressionGatesCompile(t *testing.T) {
	_, c, err := Parse("x.yaml", []byte(`
name: x
load: {rate: 10, duration: 60s}
steady_state: {thresholds: ["success_ratio >= 0.99"]}
faults:
  - {name: kill, kind: terminate-instances, at: 20s, targets: {count: 1}}
gates:
  regression: ["time_to_recover +20%", "failed_requests +50%", "p99 +25%", "p99 +10ms in fault: kill"]
report: {formats: [html, md, junit, table, json, raw]}
`), nil, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Regression) != 4 || !c.Regression[0].OnFault || c.Regression[2].Scope != PhaseTotal || c.Regression[3].Scope != "fault: kill" {
		t.Fatalf("compiled %+v", c.Regression)
	}
}
