package experiments

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Regression is a compiled regression gate: how much worse than a baseline
// run a figure may get. Its grammar is
//
//	METRIC CHANGE [in NAME]
//
// CHANGE is a signed limit, relative ("+20%", "-5%": a share of the
// baseline's value) or absolute in the metric's unit ("+5s", "+100",
// "-0.5pp" for ratios, in percentage points). The sign says which way is
// worse and must match the metric: "+" for metrics that get worse as they
// grow (times, latencies, failed requests), "-" for those that get worse as
// they fall (success ratios, rps). A change of exactly the limit passes.
//
// Fault metrics (time_to_recover, impact_duration, failed_requests,
// worst_success_ratio, peak_p99, infra_recovery) are judged for every fault,
// matched by name, or for the one fault NAME; phase metrics (success_ratio,
// failed_requests, p50, p90, p99, max, rps) for the "total" phase, or for the
// phase NAME ("baseline", "fault: NAME", "after rollback", "total").
type Regression struct {
	Source string `json:"expr"`
	Metric string `json:"metric"`
	Kind   Kind   `json:"-"`
	// OnFault says the rule judges faults' recoveries; otherwise phases.
	OnFault bool `json:"on_fault"`
	// Scope is the fault or phase named with "in"; empty means every fault
	// (OnFault) or the total phase.
	Scope string `json:"scope,omitempty"`
	// Relative says Limit is a share of the baseline value (0.2 for +20%);
	// otherwise it is in the metric's unit (seconds for durations).
	Relative bool    `json:"relative"`
	Limit    float64 `json:"limit"`
	// Worse is +1 when growth is worse and -1 when a fall is.
	Worse int `json:"worse"`
}

type regressionMetric struct {
	kind         Kind
	worse        int
	fault, phase bool
}

var regressionMetrics = map[string]regressionMetric{
	"time_to_recover":     {Duration, +1, true, false},
	"impact_duration":     {Duration, +1, true, false},
	"failed_requests":     {Count, +1, true, true},
	"worst_success_ratio": {Ratio, -1, true, false},
	"peak_p99":            {Duration, +1, true, false},
	"infra_recovery":      {Duration, +1, true, false},
	"success_ratio":       {Ratio, -1, false, true},
	"p50":                 {Duration, +1, false, true},
	"p90":                 {Duration, +1, false, true},
	"p99":                 {Duration, +1, false, true},
	"max":                 {Duration, +1, false, true},
	"rps":                 {Count, -1, false, true},
}

// RegressionMetrics lists the metrics a regression gate may name.
func RegressionMetrics() []string {
	out := make([]string, 0, len(regressionMetrics))
	for m := range regressionMetrics {
		out = append(out, m)
	}
	sortStrings(out)
	return out
}

// Phase names every run record has (besides one "fault: NAME" per injected fault).
const (
	PhaseBaseline      = "baseline"
	PhaseAfterRollback = "after rollback"
	PhaseTotal         = "total"
	PhaseFaultPrefix   = "fault: "
)

// ParseRegression compiles one regression gate. isFault says whether a name
// is a fault's (of the experiment, or of the runs compared); it decides what
// "in NAME" refers to, and unknown names are errors.
func ParseRegression(src string, isFault func(string) bool) (Regression, error) {
	fields := strings.Fields(src)
	if len(fields) < 2 {
		return Regression{}, fmt.Errorf("%q: want \"METRIC CHANGE [in NAME]\", e.g. \"time_to_recover +20%%\"", src)
	}
	r := Regression{Source: strings.Join(fields, " "), Metric: fields[0]}
	m, ok := regressionMetrics[r.Metric]
	if !ok {
		return Regression{}, fmt.Errorf("%q: unknown metric %q (known: %s)", src, r.Metric, strings.Join(RegressionMetrics(), ", "))
	}
	r.Kind, r.Worse, r.OnFault = m.kind, m.worse, m.fault
	if err := r.parseChange(fields[1]); err != nil {
		return Regression{}, fmt.Errorf("%q: %v", src, err)
	}
	rest := fields[2:]
	if len(rest) == 0 {
		if !m.fault {
			r.Scope = PhaseTotal
		}
		return r, nil
	}
	if rest[0] != "in" || len(rest) < 2 {
		return Regression{}, fmt.Errorf("%q: unexpected %q (only \"in NAME\" may follow the change)", src, strings.Join(rest, " "))
	}
	r.Scope = strings.Join(rest[1:], " ")
	switch {
	case m.fault && isFault(r.Scope):
		r.OnFault = true
	case m.phase && isPhase(r.Scope, isFault):
		r.OnFault = false
	case m.fault && !m.phase:
		return Regression{}, fmt.Errorf("%q: %q names no fault (%s is judged per fault)", src, r.Scope, r.Metric)
	case m.phase && !m.fault:
		return Regression{}, fmt.Errorf("%q: %q names no phase (%s is judged per phase: %s, %sNAME, %s, %s)",
			src, r.Scope, r.Metric, PhaseBaseline, PhaseFaultPrefix, PhaseAfterRollback, PhaseTotal)
	default:
		return Regression{}, fmt.Errorf("%q: %q names no fault or phase", src, r.Scope)
	}
	return r, nil
}

func isPhase(name string, isFault func(string) bool) bool {
	switch name {
	case PhaseBaseline, PhaseAfterRollback, PhaseTotal:
		return true
	}
	f, ok := strings.CutPrefix(name, PhaseFaultPrefix)
	return ok && isFault(f)
}

func (r *Regression) parseChange(s string) error {
	sign := 0
	switch {
	case strings.HasPrefix(s, "+"):
		sign = +1
	case strings.HasPrefix(s, "-"):
		sign = -1
	default:
		return fmt.Errorf("change %q needs a sign: %s", s, r.example())
	}
	if sign != r.Worse {
		dir := "grows"
		if r.Worse < 0 {
			dir = "falls"
		}
		return fmt.Errorf("%s gets worse as it %s: %s", r.Metric, dir, r.example())
	}
	body := s[1:]
	if pct, ok := strings.CutSuffix(body, "%"); ok {
		v, err := strconv.ParseFloat(pct, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return fmt.Errorf("change %q: %q is not a percentage", s, body)
		}
		r.Relative, r.Limit = true, v/100
		return nil
	}
	switch r.Kind {
	case Duration:
		d, err := time.ParseDuration(body)
		if err != nil || d < 0 {
			return fmt.Errorf("change %q is neither a percentage nor a duration like 5s", s)
		}
		r.Limit = d.Seconds()
	case Ratio:
		pp, ok := strings.CutSuffix(body, "pp")
		if !ok {
			return fmt.Errorf("change %q: give a ratio's absolute change in percentage points, e.g. %c0.5pp (or relative, e.g. %c1%%)", s, s[0], s[0])
		}
		v, err := strconv.ParseFloat(pp, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > 100 {
			return fmt.Errorf("change %q: %q is not a number of percentage points (0..100)", s, pp)
		}
		r.Limit = v / 100
	default:
		v, err := strconv.ParseFloat(body, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return fmt.Errorf("change %q is neither a percentage nor a number", s)
		}
		r.Limit = v
	}
	return nil
}

func (r *Regression) example() string {
	sign := "+"
	if r.Worse < 0 {
		sign = "-"
	}
	abs := map[Kind]string{Duration: "5s", Ratio: "0.5pp", Count: "10"}[r.Kind]
	return fmt.Sprintf("write %s20%% (relative) or %s%s (absolute)", sign, sign, abs)
}

// Allowed is the worst value the rule accepts given the baseline's.
func (r Regression) Allowed(base float64) float64 {
	d := r.Limit
	if r.Relative {
		d = r.Limit * math.Abs(base)
	}
	return base + float64(r.Worse)*d
}

// Exceeded reports whether cur is worse than base by more than the limit.
// "Never" (+Inf) is worse than any finite time; a value that could not be
// measured (NaN) on either side fails, since nothing shows it held.
func (r Regression) Exceeded(base, cur float64) bool {
	if math.IsNaN(base) || math.IsNaN(cur) {
		return true
	}
	if math.IsInf(base, 0) || math.IsInf(cur, 0) {
		return base != cur && float64(r.Worse)*(cur-base) > 0
	}
	allowed := r.Allowed(base)
	if r.Worse > 0 {
		return cur > allowed+1e-12
	}
	return cur < allowed-1e-12
}

// FormatLimit renders the limit for people: "+20%" or "+5s".
func (r Regression) FormatLimit() string {
	sign := "+"
	if r.Worse < 0 {
		sign = "-"
	}
	if r.Relative {
		return sign + strconv.FormatFloat(r.Limit*100, 'f', -1, 64) + "%"
	}
	if r.Kind == Ratio {
		return sign + strconv.FormatFloat(r.Limit*100, 'f', -1, 64) + "pp"
	}
	return sign + FormatMetric(r.Kind, r.Limit)
}

// validateRegression compiles gates.regression with the experiment's fault
// names; problems are reported at gates.regression[i].
func (x *Experiment) validateRegression(v *validator, c *Compiled) {
	for i, s := range x.Gates.Regression {
		r, err := ParseRegression(s, x.hasFault)
		if err != nil {
			v.add(fmt.Sprintf("gates.regression[%d]", i), err.Error())
			continue
		}
		c.Regression = append(c.Regression, r)
	}
}
