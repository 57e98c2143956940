package experiments

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Kind is the unit a metric is measured in.
type Kind int

const (
	Ratio    Kind = iota + 1 // 0..1; "99.9%" is accepted
	Duration                 // compared in seconds; "300ms" is accepted
	Count                    // non-negative number
	Bool                     // true (1) or false (0)
)

// Scope says where an expression may appear; each scope has its own metrics.
type Scope int

const (
	ScopeWindow Scope = iota + 1 // steady-state thresholds and stop conditions
	ScopeRun                     // gates on the whole run
	ScopeFault                   // gates on one fault's recovery
)

var metrics = map[Scope]map[string]Kind{
	ScopeWindow: {
		"success_ratio": Ratio, "error_ratio": Ratio,
		"p50": Duration, "p90": Duration, "p95": Duration, "p99": Duration, "max": Duration,
		"rps": Count,
	},
	ScopeRun: {
		"availability": Ratio, "success_ratio": Ratio, "error_ratio": Ratio,
		"failed_requests": Count, "dropped": Count, "dropped_ratio": Ratio,
		"p50": Duration, "p90": Duration, "p95": Duration, "p99": Duration, "max": Duration,
		"post_rollback_success_ratio": Ratio,
		// The scaling analysis (a run with an asg-capacity probe).
		"time_to_trigger": Duration, "time_to_capacity": Duration, "time_to_serve": Duration, "time_to_slo": Duration,
		"under_provisioned": Duration, "max_reached": Bool, "scale_in_lag": Duration,
		"idle_instance_minutes": Count, "flaps": Count,
	},
	ScopeFault: {
		"time_to_recover": Duration, "time_to_impact": Duration, "impact_duration": Duration,
		"failed_requests": Count, "worst_success_ratio": Ratio, "peak_p99": Duration,
		"infra_recovery": Duration,
		// Over the fault's steps (a rolling deploy's batches): failed
		// requests in all of them, and the worst step's p99.
		"batch_failed_requests": Count, "batch_p99": Duration,
	},
}

// Metrics lists the metric names valid in a scope (for help and errors).
func Metrics(s Scope) []string {
	var out []string
	for m := range metrics[s] {
		out = append(out, m)
	}
	sortStrings(out)
	return out
}

// Expr is a compiled comparison such as "p99 < 300ms" or
// "success_ratio < 0.5 for 30s". Values of Duration metrics are in seconds.
type Expr struct {
	Source string        `json:"expr"`
	Metric string        `json:"metric"`
	Op     string        `json:"op"`
	Value  float64       `json:"value"`
	Kind   Kind          `json:"-"`
	For    time.Duration `json:"for,omitempty"`
}

// Holds reports whether v satisfies the comparison.
func (e Expr) Holds(v float64) bool {
	switch e.Op {
	case "<":
		return v < e.Value
	case "<=":
		return v <= e.Value
	case ">":
		return v > e.Value
	case ">=":
		return v >= e.Value
	case "==":
		return v == e.Value
	}
	return false
}

// FormatValue renders a metric value in the expression's unit.
func (e Expr) FormatValue(v float64) string { return FormatMetric(e.Kind, v) }

// FormatMetric renders a value of a kind for people.
func FormatMetric(k Kind, v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "never"
	case math.IsNaN(v):
		return "n/a"
	}
	switch k {
	case Duration:
		return time.Duration(v * float64(time.Second)).Round(time.Millisecond).String()
	case Ratio:
		return strconv.FormatFloat(math.Round(v*1e6)/1e4, 'f', -1, 64) + "%"
	case Bool:
		if v != 0 {
			return "true"
		}
		return "false"
	default:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
}

// ParseExpr compiles one expression in a scope. allowFor permits the
// "for DURATION" suffix (stop conditions).
func ParseExpr(src string, scope Scope, allowFor bool) (Expr, error) {
	fields := strings.Fields(src)
	if len(fields) < 3 {
		return Expr{}, fmt.Errorf("%q: want \"METRIC OP VALUE\", e.g. \"p99 < 300ms\"", src)
	}
	e := Expr{Source: strings.Join(fields, " "), Metric: fields[0], Op: fields[1]}
	kind, ok := metrics[scope][e.Metric]
	if !ok {
		return Expr{}, fmt.Errorf("%q: unknown metric %q (known: %s)", src, e.Metric, strings.Join(Metrics(scope), ", "))
	}
	e.Kind = kind
	switch e.Op {
	case "<", "<=", ">", ">=", "==":
	default:
		return Expr{}, fmt.Errorf("%q: unknown operator %q (use <, <=, >, >=, ==)", src, e.Op)
	}
	if kind == Bool && e.Op != "==" {
		return Expr{}, fmt.Errorf("%q: %s is true or false: compare it with ==", src, e.Metric)
	}
	v, err := parseValue(fields[2], kind)
	if err != nil {
		return Expr{}, fmt.Errorf("%q: %v", src, err)
	}
	e.Value = v
	rest := fields[3:]
	if len(rest) > 0 {
		if !allowFor || rest[0] != "for" || len(rest) != 2 {
			if allowFor {
				return Expr{}, fmt.Errorf("%q: unexpected %q (only \"for DURATION\" may follow)", src, strings.Join(rest, " "))
			}
			return Expr{}, fmt.Errorf("%q: unexpected %q after the value", src, strings.Join(rest, " "))
		}
		d, err := time.ParseDuration(rest[1])
		if err != nil || d <= 0 {
			return Expr{}, fmt.Errorf("%q: \"for\" needs a positive duration like 30s", src)
		}
		e.For = d
	}
	return e, nil
}

func parseValue(s string, k Kind) (float64, error) {
	switch k {
	case Duration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("value %q is not a duration like 300ms", s)
		}
		if d < 0 {
			return 0, fmt.Errorf("value %q is negative", s)
		}
		return d.Seconds(), nil
	case Ratio:
		pct := strings.HasSuffix(s, "%")
		v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, fmt.Errorf("value %q is not a ratio like 0.999 or 99.9%%", s)
		}
		if pct {
			v = math.Round(v/100*1e12) / 1e12
		}
		if v < 0 || v > 1 {
			return 0, fmt.Errorf("value %q is outside 0..1 (0%%..100%%)", s)
		}
		return v, nil
	case Bool:
		switch s {
		case "true":
			return 1, nil
		case "false":
			return 0, nil
		}
		return 0, fmt.Errorf("value %q is not true or false", s)
	default:
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return 0, fmt.Errorf("value %q is not a non-negative number", s)
		}
		return v, nil
	}
}
