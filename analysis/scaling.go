package analysis

import (
	"math"
	"slices"

	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/record"
)

// Scaling analysis: how an Auto Scaling group followed the load. It reads
// the record's windows (their asked rate, whether they held the steady
// state, and the probes' samples) and the rate plan, and does no I/O.
//
// Every figure is measured to the start of the window in which a probe
// first saw the change, so it is exact to one window (plus the probe's
// interval when that is longer than a window).

// ScalingSeries names the timeline series the analysis reads (each
// "probe/series"); an empty name is a series the run did not sample.
type ScalingSeries struct {
	Desired, InService, MaxSize, MinSize, PolicyTarget string
	Healthy                                            string // healthy targets (target-health probe)
}

// ScalingInput is what Scaling reads.
type ScalingInput struct {
	Windows   []record.Window
	WindowS   float64
	StableFor int
	Stages    []experiments.Stage
	Series    ScalingSeries
	Probe     string // the asg-capacity probe's name, for the record
	Health    string // the target-health probe's name ("" none)
	// PolicyTarget is the policy's target, requests per second per
	// in-service target; 0 takes the probe's policy_target series, if any.
	PolicyTarget float64
	// CooldownS: a reversal of desired capacity within it is a flap.
	CooldownS float64
	// Activities are the group's scaling activities during the run
	// (DescribeScalingActivities), if they could be read.
	Activities []Activity
}

// Activity is one Auto Scaling activity: when it started (seconds from
// the start of the load), whether it launched (scale-out) or terminated,
// and its cause.
type Activity struct {
	AtS    float64
	Launch bool
	Cause  string
}

// LoadChange is one change of the rate plan: where the rate starts to
// rise (out) or fall (in), from which rate to which.
type LoadChange struct {
	AtS      float64
	From, To float64
}

// LoadChanges lists the plan's changes: every jump between stages, and
// every ramp's start. A ramp that continues the previous stage's ramp (or
// the jump into it) the same way is part of the same change.
func LoadChanges(stages []experiments.Stage) []LoadChange {
	var out []LoadChange
	var at float64
	prev, dir := 0.0, 0 // dir: the direction of the change still running
	for i, s := range stages {
		if i == 0 {
			prev = s.From
		}
		jump, ramp := sign(s.From-prev), sign(s.To-s.From)
		if jump != 0 {
			out = append(out, LoadChange{AtS: at, From: prev, To: s.From})
			dir = jump
		}
		switch {
		case ramp == 0:
			dir = 0
		case ramp == dir && len(out) > 0:
			out[len(out)-1].To = s.To
		default:
			out = append(out, LoadChange{AtS: at, From: s.From, To: s.To})
			dir = ramp
		}
		prev = s.To
		at += s.Duration.Seconds()
	}
	return out
}

func sign(x float64) int {
	switch {
	case x > 1e-9:
		return 1
	case x < -1e-9:
		return -1
	}
	return 0
}

// Scaling analyses a run with an asg-capacity probe; nil when the windows
// hold none of its samples.
func Scaling(in ScalingInput) *record.Scaling {
	n, w := len(in.Windows), in.WindowS
	if n == 0 || w <= 0 || in.Series.Desired == "" {
		return nil
	}
	series := func(key string) []float64 {
		out := make([]float64, n)
		last := math.NaN()
		for i, win := range in.Windows {
			if v, ok := win.Samples[key]; ok && key != "" {
				last = v
			}
			out[i] = last
		}
		return out
	}
	desired, inSvc := series(in.Series.Desired), series(in.Series.InService)
	maxSize, minSize, healthy := series(in.Series.MaxSize), series(in.Series.MinSize), series(in.Series.Healthy)
	seen := false
	for _, d := range desired {
		seen = seen || !math.IsNaN(d)
	}
	if !seen {
		return nil
	}
	target := in.PolicyTarget
	if target <= 0 && in.Series.PolicyTarget != "" {
		for _, v := range series(in.Series.PolicyTarget) {
			if v > 0 {
				target = v
			}
		}
	}
	sc := &record.Scaling{Probe: in.Probe, HealthProbe: in.Health, PolicyTarget: target, CooldownS: in.CooldownS,
		Changes: []record.ScalingChange{}}
	if in.Series.Healthy == "" {
		sc.HealthProbe = ""
	}
	t := func(i int) float64 { return float64(i) * w }
	idx := func(s float64) int { return min(max(int(math.Floor(s/w+1e-9)), 0), n) }
	before := func(v []float64, i int) float64 {
		for j := min(i, n) - 1; j >= 0; j-- {
			if !math.IsNaN(v[j]) {
				return v[j]
			}
		}
		if i < n {
			return v[max(i, 0)]
		}
		return math.NaN()
	}
	// under reports whether window i was under-provisioned: load per
	// in-service target above the policy's target, or the steady state
	// broken while the group could still grow.
	under := func(i int) bool {
		win := in.Windows[i]
		if target > 0 && !math.IsNaN(inSvc[i]) && win.AskedRPS > 0 {
			if inSvc[i] <= 0 || win.AskedRPS/inSvc[i] > target*(1+1e-9) {
				return true
			}
		}
		return !win.Holds && win.Requests > 0 && !math.IsNaN(desired[i]) && (math.IsNaN(maxSize[i]) || desired[i] < maxSize[i])
	}
	for i := range n {
		if under(i) {
			sc.UnderProvisionedS += w
		}
		if !math.IsNaN(maxSize[i]) && !math.IsNaN(desired[i]) && desired[i] >= maxSize[i] {
			sc.MaxReached = true
		}
	}

	acts := slices.Clone(in.Activities)
	slices.SortStableFunc(acts, func(a, b Activity) int { return cmpFloat(a.AtS, b.AtS) })
	in.Activities = acts
	changes := LoadChanges(in.Stages)
	end := t(n)
	var outT [4][]float64 // trigger, capacity, serve, slo over scale-out changes
	for k, lc := range changes {
		until := end
		if k+1 < len(changes) {
			until = changes[k+1].AtS
		}
		i0, iEnd := idx(lc.AtS), idx(until)
		if until >= end {
			iEnd = n
		}
		if i0 >= n {
			continue
		}
		c := record.ScalingChange{AtS: lc.AtS, FromRPS: lc.From, ToRPS: lc.To, UntilS: until, Direction: "out",
			DesiredBefore: before(desired, i0), TimeToTriggerS: -1, TimeToCapacityS: -1, TimeToServeS: -1, TimeToSLOS: -1}
		since := func(i int) float64 { return math.Max(0, t(i)-lc.AtS) }
		for _, a := range in.Activities {
			if a.AtS >= lc.AtS && a.AtS < until && a.Launch == (lc.To > lc.From) {
				since := a.AtS - lc.AtS
				c.ActivityS, c.ActivityCause = &since, a.Cause
				break
			}
		}
		for i := i0; i < iEnd; i++ {
			if under(i) {
				c.UnderProvisionedS += w
			}
			if !math.IsNaN(maxSize[i]) && desired[i] >= maxSize[i] {
				c.MaxReached = true
			}
		}
		if lc.To > lc.From {
			trig := -1
			c.DesiredAfter = c.DesiredBefore
			for i := i0; i < iEnd; i++ {
				if trig < 0 && desired[i] > c.DesiredBefore {
					trig = i
				}
				if !math.IsNaN(desired[i]) {
					c.DesiredAfter = math.Max(c.DesiredAfter, desired[i])
				}
			}
			if trig >= 0 {
				c.TimeToTriggerS = since(trig)
				for i := trig; i < iEnd; i++ {
					if inSvc[i] >= c.DesiredAfter {
						c.TimeToCapacityS = since(i)
						break
					}
				}
				for i := trig; i < iEnd && in.Series.Healthy != ""; i++ {
					if healthy[i] >= c.DesiredAfter {
						c.TimeToServeS = since(i)
						break
					}
				}
			}
			c.TimeToSLOS = sloTime(in.Windows, i0, iEnd, in.StableFor, since)
			for j, v := range []float64{c.TimeToTriggerS, c.TimeToCapacityS, c.TimeToServeS, c.TimeToSLOS} {
				outT[j] = append(outT[j], v)
			}
			sc.HasScaleOut = true
		} else {
			c.Direction = "in"
			c.DesiredAfter = c.DesiredBefore
			for i := i0; i < iEnd; i++ {
				if c.TimeToTriggerS < 0 && desired[i] < c.DesiredBefore {
					c.TimeToTriggerS = since(i)
				}
				if !math.IsNaN(desired[i]) {
					c.DesiredAfter = math.Min(c.DesiredAfter, desired[i])
				}
			}
			// The capacity the lower load needs. With a request target it is
			// load / target. Without one (a CPU policy), it is the capacity
			// that served this load or less before: the desired capacity when
			// the load last rose from at most this level. Only with no such
			// rise (a run that starts high) is it the lowest desired seen after
			// the drop — and a group that never scales in then shows no lag.
			need := c.DesiredAfter
			for _, p := range sc.Changes {
				if p.ToRPS > p.FromRPS && p.FromRPS <= lc.To && !math.IsNaN(p.DesiredBefore) {
					need = p.DesiredBefore
				}
			}
			if target > 0 {
				need = math.Ceil(lc.To/target - 1e-9)
				if m := before(minSize, iEnd); !math.IsNaN(m) {
					need = math.Max(need, m)
				}
				need = math.Max(need, 1)
			}
			c.NeededAfter = need
			c.ScaleInLagS = -1
			for i := i0; i < iEnd; i++ {
				if !math.IsNaN(inSvc[i]) && inSvc[i] <= need {
					c.ScaleInLagS = since(i)
					break
				}
				if !math.IsNaN(inSvc[i]) && inSvc[i] > need {
					c.IdleMinutes += (inSvc[i] - need) * w / 60
				}
			}
			if c.ScaleInLagS < 0 {
				sc.ScaleInLagS = -1
			} else if sc.ScaleInLagS >= 0 {
				sc.ScaleInLagS = math.Max(sc.ScaleInLagS, c.ScaleInLagS)
			}
			sc.IdleInstanceMinutes += c.IdleMinutes
			sc.HasScaleIn = true
		}
		sc.Changes = append(sc.Changes, c)
	}
	if !sc.HasScaleIn {
		sc.ScaleInLagS = -1
	}
	worst := func(vs []float64) float64 {
		if len(vs) == 0 {
			return -1
		}
		m := 0.0
		for _, v := range vs {
			if v < 0 {
				return -1
			}
			m = math.Max(m, v)
		}
		return m
	}
	sc.TimeToTriggerS, sc.TimeToCapacityS, sc.TimeToServeS, sc.TimeToSLOS = worst(outT[0]), worst(outT[1]), worst(outT[2]), worst(outT[3])

	// Desired-capacity changes, and flaps: a change against the previous
	// one's direction within the cooldown. Both are seen to one window, so
	// a reversal counts when it came more than a window before the
	// cooldown was over (a group that honours its cooldown is not flagged).
	prev, lastDir, lastT := math.NaN(), 0, 0.0
	for i, d := range desired {
		if math.IsNaN(d) {
			continue
		}
		if !math.IsNaN(prev) && d != prev {
			dir := sign(d - prev)
			ev := record.ScalingEvent{T: t(i), From: prev, To: d}
			if lastDir != 0 && dir != lastDir && t(i)-lastT < in.CooldownS-w {
				ev.Flap = true
				sc.Flaps++
			}
			sc.Events = append(sc.Events, ev)
			lastDir, lastT = dir, t(i)
		}
		prev = d
	}
	return sc
}

// sloTime is the recovery logic of Measure on the record's windows: 0 if
// the steady state held throughout [i0, iEnd), else the time from the
// change to the start of the first run of stableFor holding windows after
// the first broken one (-1: never).
func sloTime(ws []record.Window, i0, iEnd, stableFor int, since func(int) float64) float64 {
	broken, run := -1, 0
	for i := i0; i < iEnd; i++ {
		if broken < 0 {
			if !ws[i].Holds {
				broken = i
			}
			continue
		}
		if ws[i].Holds {
			run++
			if run >= max(stableFor, 1) {
				return since(i - run + 1)
			}
		} else {
			run = 0
		}
	}
	if broken < 0 {
		return 0
	}
	return -1
}

// Scaling gate metrics (run scope), and their values in a record.
var scalingMetrics = map[string]bool{
	"time_to_trigger": true, "time_to_capacity": true, "time_to_serve": true, "time_to_slo": true,
	"under_provisioned": true, "max_reached": true, "scale_in_lag": true, "idle_instance_minutes": true, "flaps": true,
}

// IsScalingMetric reports whether a run-scope metric comes from the
// scaling analysis.
func IsScalingMetric(m string) bool { return scalingMetrics[m] }

// ScalingMetric is a scaling figure as gates judge it: +Inf for "never",
// NaN when the run has nothing to measure it on (no scaling analysis, no
// scale-out, no target-health probe for time_to_serve).
func ScalingMetric(sc *record.Scaling, metric string) float64 {
	if sc == nil {
		return math.NaN()
	}
	never := func(v float64, has bool) float64 {
		switch {
		case !has:
			return math.NaN()
		case v < 0:
			return math.Inf(1)
		}
		return v
	}
	switch metric {
	case "time_to_trigger":
		return never(sc.TimeToTriggerS, sc.HasScaleOut)
	case "time_to_capacity":
		return never(sc.TimeToCapacityS, sc.HasScaleOut)
	case "time_to_serve":
		return never(sc.TimeToServeS, sc.HasScaleOut && sc.HealthProbe != "")
	case "time_to_slo":
		return never(sc.TimeToSLOS, sc.HasScaleOut)
	case "under_provisioned":
		return sc.UnderProvisionedS
	case "max_reached":
		if sc.MaxReached {
			return 1
		}
		return 0
	case "scale_in_lag":
		return never(sc.ScaleInLagS, sc.HasScaleIn)
	case "idle_instance_minutes":
		return sc.IdleInstanceMinutes
	case "flaps":
		return float64(sc.Flaps)
	}
	return math.NaN()
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
