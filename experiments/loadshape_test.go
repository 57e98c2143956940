package experiments

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

const shapeHead = "name: s\nsteady_state: {thresholds: [\"success_ratio >= 0.99\"]}\n"

func TestShapeExpands(t *testing.T) {
	s := time.Second
	for _, tc := range []struct {
		name, load string
		want       []Stage
		duration   time.Duration
	}{
		{"spike 10x with tail", "load: {shape: {kind: spike, base: 20, peak: 10x, at: 20s, hold: 40s, tail: 60s}}",
			[]Stage{{Duration: 20 * s, From: 20, To: 20}, {Duration: 40 * s, From: 200, To: 200}, {Duration: 60 * s, From: 20, To: 20}}, 120 * s},
		{"spike absolute peak, tail fills the duration", "load: {duration: 100s, shape: {kind: spike, base: 10, peak: 75, at: 10s, ramp: 5s, hold: 30s}}",
			[]Stage{{Duration: 10 * s, From: 10, To: 10}, {Duration: 5 * s, From: 10, To: 75}, {Duration: 30 * s, From: 75, To: 75}, {Duration: 55 * s, From: 10, To: 10}}, 100 * s},
		{"step, hold fills the duration", "load: {duration: 60s, shape: {kind: step, from: 10, to: 40, at: 15s}}",
			[]Stage{{Duration: 15 * s, From: 10, To: 10}, {Duration: 45 * s, From: 40, To: 40}}, 60 * s},
		{"step with ramp and tail", "load: {shape: {kind: step, from: 5, to: 50, at: 10s, ramp: 10s, hold: 20s, tail: 15s}}",
			[]Stage{{Duration: 10 * s, From: 5, To: 5}, {Duration: 10 * s, From: 5, To: 50}, {Duration: 20 * s, From: 50, To: 50}, {Duration: 15 * s, From: 5, To: 5}}, 55 * s},
		{"step at 0", "load: {shape: {kind: step, from: 5, to: 50, hold: 20s}}",
			[]Stage{{Duration: 20 * s, From: 50, To: 50}}, 20 * s},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, c, err := Parse("shape.yaml", []byte(shapeHead+tc.load+"\n"), nil, noEnv)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.Stages, tc.want) {
				t.Errorf("stages %v, want %v", c.Stages, tc.want)
			}
			if x.Load.Duration != tc.duration {
				t.Errorf("load.duration %s, want %s", x.Load.Duration, tc.duration)
			}
			var sum time.Duration
			for _, st := range c.Stages {
				sum += st.Duration
			}
			if sum != x.Load.Duration {
				t.Errorf("stages add up to %s, load.duration %s", sum, x.Load.Duration)
			}
		})
	}
}

func TestShapeProblems(t *testing.T) {
	for _, tc := range []struct{ name, load, path, msg string }{
		{"unknown kind", "load: {shape: {kind: wave, hold: 10s}}", "load.shape.kind", `unknown shape "wave" (step, spike)`},
		{"no kind", "load: {shape: {hold: 10s}}", "load.shape.kind", "is required"},
		{"with rate", "load: {rate: 5, duration: 10s, shape: {kind: step, from: 1, to: 2, hold: 10s}}", "load.shape", "set one of load.rate, load.stages and load.shape"},
		{"spike without peak", "load: {shape: {kind: spike, base: 10, at: 5s, hold: 10s}}", "load.shape.peak", "is required"},
		{"bad multiple", "load: {shape: {kind: spike, base: 10, peak: tenx, at: 5s, hold: 10s}}", "load.shape.peak", `"tenx" is not a multiple of base like 10x`},
		{"multiple not above 1", "load: {shape: {kind: spike, base: 10, peak: 0.5x, at: 5s, hold: 10s}}", "load.shape.peak", "above 1x"},
		{"peak below base", "load: {shape: {kind: spike, base: 10, peak: 5, at: 5s, hold: 10s}}", "load.shape.peak", "is not above base"},
		{"step down", "load: {shape: {kind: step, from: 10, to: 5, at: 5s, hold: 10s}}", "load.shape.to", "is not above from"},
		{"step with peak", "load: {shape: {kind: step, from: 1, to: 5, peak: 10x, hold: 10s}}", "load.shape", "a step takes from and to"},
		{"peak above the limit", "load: {shape: {kind: spike, base: 1000, peak: 10000x, hold: 10s}}", "load.shape.peak", "above the 1000000 rps limit"},
		{"negative hold", "load: {shape: {kind: step, from: 1, to: 5, hold: -1s}}", "load.shape.hold", "must not be negative"},
		{"no hold, no duration", "load: {shape: {kind: step, from: 1, to: 5, at: 5s}}", "load.shape.hold", "is required when load.duration is not set"},
		{"does not add up", "load: {duration: 30s, shape: {kind: spike, base: 1, peak: 2x, at: 5s, hold: 10s, tail: 5s}}", "load.shape", "add up to 20s but load.duration is 30s"},
		{"nothing left to hold", "load: {duration: 10s, shape: {kind: step, from: 1, to: 5, at: 10s}}", "load.shape", "leave nothing of load.duration"},
		{"NaN base", "load: {shape: {kind: spike, base: .nan, peak: 10x, hold: 10s}}", "load.shape.base", "not a finite number"},
		{"number for kind", "load: {shape: {kind: 3, hold: 10s}}", "load.shape.kind", "expected a string"},
		{"unknown key", "load: {shape: {kind: spike, bsae: 1, peak: 2x, hold: 10s}}", "load.shape.bsae", `did you mean "base"`},
		{"generator cannot hold the peak", "load: {timeout: 2s, max_workers: 100, shape: {kind: spike, base: 10, peak: 10x, at: 5s, hold: 10s}}", "load.shape",
			"cannot hold the 100 rps peak: by Little's law (in flight = rate × latency) it needs up to 200 workers when responses take the 2s load.timeout, and load.max_workers is 100; raise load.max_workers to 200"},
		{"beyond one machine", "load: {timeout: 10s, shape: {kind: spike, base: 100, peak: 1000x, at: 5s, hold: 10s}}", "load.shape",
			"above the 100000 workers one machine may run"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Parse("shape.yaml", []byte(shapeHead+tc.load+"\n"), nil, noEnv)
			var xe *Error
			if !errors.As(err, &xe) {
				t.Fatalf("want *Error, got %v", err)
			}
			for _, p := range xe.Problems {
				if p.Path == tc.path && strings.Contains(p.Message, tc.msg) {
					if !strings.HasPrefix(err.Error(), "shape.yaml: ") {
						t.Errorf("error does not name the file: %s", err)
					}
					return
				}
			}
			t.Errorf("problems %v, want %s: ...%s...", xe.Problems, tc.path, tc.msg)
		})
	}
}

// A peak the generator holds passes: max_workers at peak × timeout exactly.
func TestShapeGeneratorLimitIsInclusive(t *testing.T) {
	_, c, err := Parse("shape.yaml", []byte(shapeHead+"load: {timeout: 2s, max_workers: 200, shape: {kind: spike, base: 10, peak: 10x, at: 5s, hold: 10s}}\n"), nil, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if PeakRate(c.Stages) != 100 {
		t.Errorf("peak %g, want 100", PeakRate(c.Stages))
	}
}

func TestShapeText(t *testing.T) {
	x, c, err := Parse("shape.yaml", []byte(shapeHead+"load: {shape: {kind: spike, base: 20, peak: 10x, at: 20s, ramp: 2s, hold: 40s, tail: 60s}}\n"), nil, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	got := ShapeText(x, c.Stages)
	for _, want := range []string{"spike 20 → 200 rps (10x) at 20s over 2s; peak 200 rps", "stage 2  20s–22s  20 → 200 rps", "stage 4  1m2s–2m2s  20 rps"} {
		if !strings.Contains(got, want) {
			t.Errorf("plan text lacks %q:\n%s", want, got)
		}
	}
}

// FuzzShape builds a load.shape from arbitrary values: the loader either
// accepts it with stages that add up to load.duration and a peak the
// generator can hold, or says what is wrong with a field.
func FuzzShape(f *testing.F) {
	f.Add("spike", "20", "10x", "20s", "0s", "40s", "60s", "")
	f.Add("step", "10", "40", "15s", "5s", "", "", "60s")
	f.Add("spike", "1e-9", "1e300x", "-1s", "1h", "0s", "", "")
	f.Add("wave", ".nan", "x", "1ns", "2562047h", "", "", "1s")
	f.Fuzz(func(t *testing.T, kind, lo, hi, at, ramp, hold, tail, duration string) {
		q := func(s string) string {
			return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
		}
		var b strings.Builder
		b.WriteString(shapeHead + "load:\n")
		if duration != "" {
			b.WriteString("  duration: " + q(duration) + "\n")
		}
		b.WriteString("  shape:\n    kind: " + q(kind) + "\n")
		if kind == ShapeStep {
			b.WriteString("    from: " + lo + "\n    to: " + hi + "\n")
		} else {
			b.WriteString("    base: " + lo + "\n    peak: " + q(hi) + "\n")
		}
		for k, v := range map[string]string{"at": at, "ramp": ramp, "hold": hold, "tail": tail} {
			if v != "" {
				b.WriteString("    " + k + ": " + q(v) + "\n")
			}
		}
		x, c, err := Parse("fuzz.yaml", []byte(b.String()), nil, noEnv)
		if err != nil {
			var xe *Error
			if !errors.As(err, &xe) || len(xe.Problems) == 0 {
				t.Fatalf("error is not a field error: %v", err)
			}
			for _, p := range xe.Problems {
				if p.Path == "" && !strings.HasPrefix(p.Message, "not valid YAML") {
					t.Fatalf("a problem without a field: %v", err)
				}
			}
			return
		}
		var sum time.Duration
		for _, st := range c.Stages {
			if st.Duration <= 0 || st.From < 0 || st.To < 0 || st.From > MaxRate || st.To > MaxRate {
				t.Fatalf("accepted a bad stage %+v", st)
			}
			sum += st.Duration
		}
		if sum != x.Load.Duration || sum <= 0 || sum > MaxDuration {
			t.Fatalf("stages add up to %s, load.duration %s", sum, x.Load.Duration)
		}
		if need := PeakRate(c.Stages) * x.Load.Timeout.Seconds(); need > float64(x.Load.MaxWorkers)+1e-9 {
			t.Fatalf("accepted a peak needing %g workers with %d", need, x.Load.MaxWorkers)
		}
		acceptedIsSafe(t, x)
	})
}

func TestScalingGatesNeedTheirProbes(t *testing.T) {
	head := shapeHead + "load: {shape: {kind: spike, base: 10, peak: 10x, at: 5s, hold: 10s}}\n"
	for _, tc := range []struct{ name, rest, path, msg string }{
		{"no asg-capacity probe", "gates: {run: [\"time_to_capacity <= 4m\"]}", "gates.run[0]", "needs an asg-capacity probe"},
		{"no target-health probe for time_to_serve", "probes: [{kind: asg-capacity}]\ngates: {run: [\"under_provisioned <= 60s\", \"time_to_serve <= 1m\"]}", "gates.run[1]", "needs a target-health probe"},
		{"max_reached is a boolean", "probes: [{kind: asg-capacity}]\ngates: {run: [\"max_reached == no\"]}", "gates.run[0]", `value "no" is not true or false`},
		{"max_reached takes ==", "probes: [{kind: asg-capacity}]\ngates: {run: [\"max_reached <= false\"]}", "gates.run[0]", "compare it with =="},
		{"negative policy target", "scaling: {policy_target: -5}", "scaling.policy_target", "must not be negative"},
		{"unknown scaling key", "scaling: {target: 5}", "scaling.target", "unknown key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Parse("s.yaml", []byte(head+tc.rest+"\n"), nil, noEnv)
			var xe *Error
			if !errors.As(err, &xe) {
				t.Fatalf("want *Error, got %v", err)
			}
			for _, p := range xe.Problems {
				if p.Path == tc.path && strings.Contains(p.Message, tc.msg) {
					return
				}
			}
			t.Errorf("problems %v, want %s: ...%s...", xe.Problems, tc.path, tc.msg)
		})
	}
	ok := head + "probes: [{kind: asg-capacity}, {kind: target-health}]\nscaling: {policy_target: 25, cooldown: 30s}\n" +
		"gates: {run: [\"time_to_capacity <= 4m\", \"under_provisioned <= 60s\", \"max_reached == false\", \"time_to_serve <= 5m\", \"flaps == 0\", \"idle_instance_minutes <= 10\", \"scale_in_lag <= 10m\", \"time_to_trigger <= 1m\", \"time_to_slo <= 5m\"]}\n"
	if _, c, err := Parse("s.yaml", []byte(ok), nil, noEnv); err != nil || len(c.RunGates) != 9 {
		t.Fatalf("%v", err)
	}
}
