package experiments

import (
	"fmt"
	"math"
	"time"
)

// hitsNeeded is how many requests one window must hold for threshold e to
// mean what it says: a quantile pq needs 1/(1-q) samples before it is more
// than the window's maximum (100 for p99), and a success ratio ≥ r needs
// 1/(1-r) requests before a single failure stops breaking it. 0 when the
// threshold needs no particular count.
func hitsNeeded(e Expr) int {
	var tail float64 // the fraction the threshold is about
	switch e.Metric {
	case "p50":
		tail = 0.5
	case "p90":
		tail = 0.1
	case "p95":
		tail = 0.05
	case "p99":
		tail = 0.01
	case "success_ratio":
		tail = 1 - e.Value
	case "error_ratio":
		tail = e.Value
	default:
		return 0
	}
	if tail <= 0 || math.IsNaN(tail) {
		return 0
	}
	return int(math.Ceil(1/tail - 1e-9))
}

// WindowWarnings says when a steady-state window holds fewer requests than
// its thresholds need to be judged (e.g. fewer than 100 for p99, where "p99"
// would be the maximum and one failure would break the window), and
// suggests a window size. The rate judged is the lowest mean rate of any
// stage that asks for load (a ramp from 0 is judged at its mean).
func WindowWarnings(x *Experiment, c *Compiled) []string {
	if x == nil || c == nil {
		return nil
	}
	rate := math.Inf(1)
	for _, s := range c.Stages {
		if r := (s.From + s.To) / 2; r > 0 {
			rate = math.Min(rate, r)
		}
	}
	width := x.SteadyState.Window
	if math.IsInf(rate, 1) || width <= 0 {
		return nil
	}
	need, by := 0, ""
	for _, e := range c.Thresholds {
		if n := hitsNeeded(e); n > need {
			need, by = n, e.Source
		}
	}
	have := rate * width.Seconds()
	if need == 0 || have >= float64(need) {
		return nil
	}
	return []string{fmt.Sprintf("steady_state.window: a %s window holds about %.0f requests at %.4g rps, fewer than the %d that %q needs to be judged (one slow or failed request decides the window); use window: %s or more, or a higher rate",
		width, have, rate, need, by, suggestWindow(float64(need)/rate))}
}

// suggestWindow rounds secs up to a window size worth typing: tenths of a
// second below 1 s, whole seconds above.
func suggestWindow(secs float64) time.Duration {
	if secs < 1 {
		return time.Duration(math.Ceil(secs*10-1e-9)) * 100 * time.Millisecond
	}
	return time.Duration(math.Ceil(secs-1e-9)) * time.Second
}
