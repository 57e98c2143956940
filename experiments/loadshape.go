package experiments

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Shape is a named load shape (load.shape) that expands to stages: the
// shapes people use to validate a scaling policy.
//
//	step:  from → to at `at` (over `ramp`), held `hold`, then back at
//	       from for `tail` (the scale-in tail; 0: none)
//	spike: base → peak at `at` (over `ramp`), held `hold`, then back at
//	       base for `tail`; peak is a rate ("200") or a multiple of base
//	       ("10x")
//
// When load.duration is stated, the one of hold and tail left out fills
// the rest of it (hold first); when it is not, the shape's length is the
// load's duration.
type Shape struct {
	Kind string        `mapstructure:"kind" json:"kind"`
	From float64       `mapstructure:"from" json:"from,omitempty"`
	To   float64       `mapstructure:"to" json:"to,omitempty"`
	Base float64       `mapstructure:"base" json:"base,omitempty"`
	Peak Peak          `mapstructure:"peak" json:"peak,omitempty"`
	At   time.Duration `mapstructure:"at" json:"at,omitempty"`
	Ramp time.Duration `mapstructure:"ramp" json:"ramp,omitempty"`
	Hold time.Duration `mapstructure:"hold" json:"hold,omitempty"`
	Tail time.Duration `mapstructure:"tail" json:"tail,omitempty"`
}

// Peak is a spike's peak: a rate in requests per second ("200") or a
// multiple of the base rate ("10x").
type Peak string

// Shape kinds.
const (
	ShapeStep  = "step"
	ShapeSpike = "spike"
)

// MaxMultiplier bounds a spike's "Nx".
const MaxMultiplier = 10_000

var peakType = reflect.TypeOf(Peak(""))

// peakHook lets a YAML number fill a Peak ("peak: 200").
func peakHook(_, to reflect.Type, data any) (any, error) {
	if to != peakType {
		return data, nil
	}
	switch d := data.(type) {
	case float64:
		return strconv.FormatFloat(d, 'g', -1, 64), nil
	case int:
		return strconv.Itoa(d), nil
	case int64:
		return strconv.FormatInt(d, 10), nil
	case uint64:
		return strconv.FormatUint(d, 10), nil
	}
	return data, nil
}

// Rate resolves the peak against base: (rate, multiplier, error);
// multiplier is 0 for an absolute rate.
func (p Peak) Rate(base float64) (rate, mult float64, err error) {
	s := strings.TrimSpace(string(p))
	if s == "" {
		return 0, 0, fmt.Errorf("is required: a rate like 200 or a multiple of base like 10x")
	}
	if m, ok := strings.CutSuffix(s, "x"); ok {
		v, err := strconv.ParseFloat(m, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, 0, fmt.Errorf("%q is not a multiple of base like 10x", s)
		}
		if v <= 1 || v > MaxMultiplier {
			return 0, 0, fmt.Errorf("%q: the multiple must be above 1x and at most %dx", s, MaxMultiplier)
		}
		return base * v, v, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, 0, fmt.Errorf("%q is not a rate like 200 or a multiple of base like 10x", s)
	}
	return v, 0, nil
}

// validateShape expands load.shape into stages, filling load.duration when
// the file leaves it out. Problems name load.shape's fields.
func (x *Experiment) validateShape(v *validator, checkRate func(string, float64, bool)) []Stage {
	s := x.Load.Shape
	const p = "load.shape"
	if x.Load.Rate != 0 || len(x.Load.Stages) > 0 {
		v.add(p, "set one of load.rate, load.stages and load.shape")
		return nil
	}
	var lo, hi float64
	var loName, hiName string
	bad := len(v.ps)
	switch s.Kind {
	case ShapeStep:
		lo, hi, loName, hiName = s.From, s.To, "from", "to"
		if s.Base != 0 || s.Peak != "" {
			v.add(p, "a step takes from and to (base and peak are a spike's)")
		}
		checkRate(p+".from", s.From, false)
		checkRate(p+".to", s.To, false)
	case ShapeSpike:
		lo, loName, hiName = s.Base, "base", "peak"
		if s.From != 0 || s.To != 0 {
			v.add(p, "a spike takes base and peak (from and to are a step's)")
		}
		checkRate(p+".base", s.Base, false)
		r, _, err := s.Peak.Rate(s.Base)
		if err != nil {
			v.add(p+".peak", err.Error())
		} else {
			hi = r
			checkRate(p+".peak", r, false)
		}
	case "":
		v.add(p+".kind", "is required (step, spike)")
		return nil
	default:
		v.add(p+".kind", fmt.Sprintf("unknown shape %q (step, spike)", s.Kind))
		return nil
	}
	if len(v.ps) == bad && lo < MinRate {
		v.add(p+"."+loName, fmt.Sprintf("%g rps is below the %g rps minimum", lo, MinRate))
	}
	if len(v.ps) == bad && hi <= lo {
		v.add(p+"."+hiName, fmt.Sprintf("%g rps is not above %s (%g rps): a shape for scaling goes up, then (tail) back down", hi, loName, lo))
	}
	for _, d := range []struct {
		name string
		val  time.Duration
	}{{"at", s.At}, {"ramp", s.Ramp}, {"hold", s.Hold}, {"tail", s.Tail}} {
		if d.val < 0 {
			v.add(p+"."+d.name, "must not be negative")
		} else if d.val > MaxDuration {
			v.add(p+"."+d.name, fmt.Sprintf("%s is longer than the %s limit", d.val, MaxDuration))
		}
	}
	if len(v.ps) > bad {
		return nil
	}
	hold, tail := s.Hold, s.Tail
	fixed := s.At + s.Ramp
	switch d := x.Load.Duration; {
	case d <= 0:
		if hold == 0 {
			v.add(p+".hold", "is required when load.duration is not set (how long the new rate is held)")
			return nil
		}
		x.Load.Duration = fixed + hold + tail
	case hold == 0:
		hold = d - fixed - tail
		if hold <= 0 {
			v.add(p, fmt.Sprintf("at %s + ramp %s + tail %s leave nothing of load.duration (%s) to hold the new rate", s.At, s.Ramp, tail, d))
			return nil
		}
	case tail == 0 && fixed+hold < d:
		tail = d - fixed - hold
	case fixed+hold+tail != d:
		v.add(p, fmt.Sprintf("at %s + ramp %s + hold %s + tail %s add up to %s but load.duration is %s", s.At, s.Ramp, hold, tail, fixed+hold+tail, d))
		return nil
	}
	var out []Stage
	add := func(d time.Duration, from, to float64) {
		if d > 0 {
			out = append(out, Stage{Duration: d, From: from, To: to})
		}
	}
	add(s.At, lo, lo)
	add(s.Ramp, lo, hi)
	add(hold, hi, hi)
	add(tail, lo, lo)
	x.checkGeneratorHolds(v, hi)
	return out
}

// checkGeneratorHolds refuses a shape whose peak the load generator cannot
// keep in flight. By Little's law the requests in flight are the rate times
// the time each takes; under a spike the stack slows down, and a request
// can take up to load.timeout, so the peak needs up to peak × timeout
// workers. With fewer than that in load.max_workers the generator falls
// behind exactly when the measurement matters (hits not sent).
func (x *Experiment) checkGeneratorHolds(v *validator, peak float64) {
	l := x.Load
	if l.Timeout <= 0 || l.MaxWorkers == 0 || peak <= 0 {
		return
	}
	need := math.Ceil(peak * l.Timeout.Seconds())
	if need <= float64(l.MaxWorkers) {
		return
	}
	msg := fmt.Sprintf("the generator cannot hold the %g rps peak: by Little's law (in flight = rate × latency) it needs up to %.0f workers when responses take the %s load.timeout, and load.max_workers is %d",
		peak, need, l.Timeout, l.MaxWorkers)
	if need <= MaxMaxWorkers {
		msg += fmt.Sprintf("; raise load.max_workers to %.0f, or lower the peak or load.timeout", need)
	} else {
		msg += fmt.Sprintf("; that is above the %d workers one machine may run: lower the peak or load.timeout, or split the load over machines", MaxMaxWorkers)
	}
	v.add("load.shape", msg)
}

// PeakRate is the highest rate of a stage list.
func PeakRate(st []Stage) float64 {
	var m float64
	for _, s := range st {
		m = math.Max(m, math.Max(s.From, s.To))
	}
	return m
}

// ShapeText describes the load shape for `gameday plan`: the shape as
// written, its expansion and the peak ("" without a shape).
func ShapeText(x *Experiment, st []Stage) string {
	s := x.Load.Shape
	if s == nil {
		return ""
	}
	var what string
	switch s.Kind {
	case ShapeStep:
		what = fmt.Sprintf("step %g → %g rps at %s", s.From, s.To, s.At)
	case ShapeSpike:
		r, m, _ := s.Peak.Rate(s.Base)
		if m > 0 {
			what = fmt.Sprintf("spike %g → %g rps (%gx) at %s", s.Base, r, m, s.At)
		} else {
			what = fmt.Sprintf("spike %g → %g rps at %s", s.Base, r, s.At)
		}
	}
	if s.Ramp > 0 {
		what += fmt.Sprintf(" over %s", s.Ramp)
	}
	var at time.Duration
	var lines []string
	for i, x := range st {
		if x.From == x.To {
			lines = append(lines, fmt.Sprintf("  stage %d  %s–%s  %g rps", i+1, at, at+x.Duration, x.From))
		} else {
			lines = append(lines, fmt.Sprintf("  stage %d  %s–%s  %g → %g rps", i+1, at, at+x.Duration, x.From, x.To))
		}
		at += x.Duration
	}
	return fmt.Sprintf("shape       %s; peak %g rps\n%s\n", what, PeakRate(st), strings.Join(lines, "\n"))
}
