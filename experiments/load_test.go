package experiments

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func noEnv(string) (string, bool) { return "", false }

// Every ready-made experiment and the AWS example must load and validate.
func TestReadyMadeExperimentsValidate(t *testing.T) {
	files, _ := filepath.Glob("*.yaml")
	aws, _ := filepath.Glob(filepath.Join("..", "configs", "aws-*.yaml"))
	files = append(files, aws...)
	if len(files) < 5 || len(aws) < 2 {
		t.Fatalf("expected the ready-made experiments, found %v", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			x, c, err := LoadFile(f, nil)
			if err != nil {
				t.Fatal(err)
			}
			if x.Name == "" || len(c.Thresholds) == 0 || len(c.Stages) == 0 {
				t.Fatalf("incomplete: %+v %+v", x, c)
			}
		})
	}
}

// Each broken file fails with exit-code-2 errors naming the file and field.
func TestInvalidCorpus(t *testing.T) {
	files, _ := filepath.Glob("testdata/invalid/*.yaml")
	if len(files) < 10 {
		t.Fatalf("corpus too small: %d", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			want, err := os.ReadFile(strings.TrimSuffix(f, ".yaml") + ".want")
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = LoadFile(f, nil)
			var xe *Error
			if !errors.As(err, &xe) {
				t.Fatalf("want *Error, got %v", err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, f+":") {
				t.Errorf("message does not start with the file name: %s", msg)
			}
			if !strings.Contains(msg, strings.TrimSpace(string(want))) {
				t.Errorf("message\n  %s\nlacks\n  %s", msg, want)
			}
		})
	}
}

func TestAllProblemsReportedAtOnce(t *testing.T) {
	_, _, err := Parse("x.yaml", []byte(`
name: x
load: {rate: -1, duration: 0s, max_workers: 0}
steady_state: {stable_for: 0, thresholds: ["p99 < 1s"]}
`), nil, noEnv)
	var xe *Error
	if !errors.As(err, &xe) {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, p := range xe.Problems {
		got[p.Path] = true
	}
	for _, p := range []string{"load.rate", "load.duration", "load.max_workers", "steady_state.stable_for"} {
		if !got[p] {
			t.Errorf("missing problem at %s in %v", p, err)
		}
	}
}

func TestPrecedenceDefaultsFileEnvSet(t *testing.T) {
	src := []byte("name: x\nload: {rate: 10, duration: 30s}\nsteady_state: {thresholds: [\"success_ratio >= 0.9\"]}\n")
	env := map[string]string{"GAMEDAY_LOAD_RATE": "20", "GAMEDAY_LOAD_DURATION": "40s"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	x, _, err := Parse("x.yaml", src, nil, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if x.Load.Rate != 10 || x.Load.Timeout != 2*time.Second || x.SteadyState.Window != time.Second {
		t.Fatalf("file+defaults: rate %v timeout %v window %v", x.Load.Rate, x.Load.Timeout, x.SteadyState.Window)
	}
	x, _, err = Parse("x.yaml", src, nil, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if x.Load.Rate != 20 || x.Load.Duration != 40*time.Second {
		t.Fatalf("env: rate %v duration %v", x.Load.Rate, x.Load.Duration)
	}
	x, _, err = Parse("x.yaml", src, map[string]string{"load.rate": "30"}, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if x.Load.Rate != 30 {
		t.Fatalf("--set: rate %v", x.Load.Rate)
	}
	_, _, err = Parse("x.yaml", src, map[string]string{"faults": "x"}, noEnv)
	if err == nil || !strings.Contains(err.Error(), "faults: cannot be overridden") {
		t.Fatalf("want override refusal, got %v", err)
	}
}

func TestStagesNormalised(t *testing.T) {
	_, c, err := Parse("x.yaml", []byte(`
name: ramp
load:
  duration: 30s
  stages:
    - {duration: 10s, rate: 50}
    - {duration: 20s, from: 50, to: 150}
steady_state: {thresholds: ["success_ratio >= 0.9"]}
`), nil, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := []Stage{{Duration: 10 * time.Second, From: 50, To: 50}, {Duration: 20 * time.Second, From: 50, To: 150}}
	if len(c.Stages) != 2 || c.Stages[0] != want[0] || c.Stages[1] != want[1] {
		t.Fatalf("stages %+v", c.Stages)
	}
}

func TestParseExpr(t *testing.T) {
	for _, tc := range []struct {
		src   string
		scope Scope
		for_  bool
		value float64
		dur   time.Duration
		err   string
	}{
		{src: "p99 < 300ms", scope: ScopeWindow, value: 0.3},
		{src: "success_ratio >= 99.9%", scope: ScopeWindow, value: 0.999},
		{src: "success_ratio < 0.5 for 30s", scope: ScopeWindow, for_: true, value: 0.5, dur: 30 * time.Second},
		{src: "success_ratio < 0.5 for 30s", scope: ScopeWindow, err: "unexpected"},
		{src: "failed_requests <= 100", scope: ScopeFault, value: 100},
		{src: "time_to_recover <= 1m", scope: ScopeFault, value: 60},
		{src: "success_ratio >= 1.5", scope: ScopeWindow, err: "outside 0..1"},
		{src: "p99 ~ 1s", scope: ScopeWindow, err: "unknown operator"},
		{src: "time_to_recover <= 1m", scope: ScopeWindow, err: "unknown metric"},
		{src: "p99", scope: ScopeWindow, err: "want"},
	} {
		t.Run(tc.src, func(t *testing.T) {
			e, err := ParseExpr(tc.src, tc.scope, tc.for_)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("want error %q, got %v", tc.err, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e.Value != tc.value || e.For != tc.dur {
				t.Fatalf("got %+v", e)
			}
		})
	}
}

func FuzzParseExpr(f *testing.F) {
	for _, s := range []string{"p99 < 300ms", "success_ratio >= 99.9%", "success_ratio < 0.5 for 30s", "rps > 1e309", "x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, sc := range []Scope{ScopeWindow, ScopeRun, ScopeFault} {
			e, err := ParseExpr(s, sc, true)
			if err == nil && (e.Metric == "" || e.Kind == 0) {
				t.Fatalf("accepted %q without a metric: %+v", s, e)
			}
		}
	})
}

func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("*.yaml")
	more, _ := filepath.Glob("testdata/invalid/*.yaml")
	for _, p := range append(files, more...) {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Add([]byte("name: x\nload: {rate: 10, duration: 60s}\nsteady_state: {thresholds: [\"p99 < 1s\"]}\n" +
		"faults: [{name: AZ.Out, kind: terminate-instances, at: 20s, targets: {count: 1}}]\ngates: {faults: {AZ.Out: []}}\n"))
	f.Add([]byte("name: x\n---\nname: y\n"))
	f.Add([]byte("name: x\nload: {shape: {kind: spike, base: 20, peak: 10x, at: 20s, hold: 40s, tail: 60s}}\nsteady_state: {thresholds: [\"p99 < 1s\"]}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		x, c, err := Parse("fuzz.yaml", b, nil, noEnv)
		if err != nil {
			var xe *Error
			if !errors.As(err, &xe) || len(xe.Problems) == 0 {
				t.Fatalf("error is not a field error: %v", err)
			}
			return
		}
		if x == nil || c == nil || len(c.Stages) == 0 || x.Load.MaxWorkers == 0 {
			t.Fatalf("accepted an incomplete experiment: %+v", x)
		}
		acceptedIsSafe(t, x)
	})
}

// acceptedIsSafe holds what the loader promises about anything it accepts:
// finite numbers, printable bounded names, fault gates that name faults.
func acceptedIsSafe(t *testing.T, x *Experiment) {
	t.Helper()
	v := &validator{}
	checkFinite(v, reflect.ValueOf(x).Elem(), "")
	checkStrings(v, reflect.ValueOf(x).Elem(), "")
	if len(v.ps) > 0 {
		t.Fatalf("accepted %v", v.ps)
	}
	for name := range x.Gates.Faults {
		if !x.hasFault(name) {
			t.Fatalf("accepted a gate for %q, no such fault", name)
		}
	}
}

// FuzzOverrides feeds arbitrary --set keys and values (durations, rates,
// counts, selectors, thresholds) through the same path as GAMEDAY_* and
// --set: any outcome but a panic or an error without a field is a bug.
func FuzzOverrides(f *testing.F) {
	base, err := os.ReadFile("gameday.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, kv := range [][2]string{{"load.rate", "50"}, {"load.duration", "90s"}, {"load.rate", "-1"}, {"load.duration", "1e9h"},
		{"steady_state.window", "0s"}, {"guards.max_instance_share", "NaN"}, {"load.timeout", "x"}, {"target.kind", "aws"},
		{"steady_state.stable_for", "99999999999999999999"}, {"load.max_workers", "0"},
		{"load.rate", "NaN"}, {"load.rate", "-Inf"}, {"load.rate", "1e-300"}, {"steady_state.stable_for", "2.7"},
		{"name", "a\nb"}, {"name", "\x1b[31m"}, {"load.timeout", "1ns"}, {"steady_state.verify", "9999h"}} {
		f.Add(kv[0], kv[1])
	}
	f.Fuzz(func(t *testing.T, k, v string) {
		x, _, err := Parse("gameday.yaml", base, map[string]string{k: v}, noEnv)
		if err != nil {
			var xe *Error
			if !errors.As(err, &xe) || len(xe.Problems) == 0 {
				t.Fatalf("--set %s=%s: error is not a field error: %v", k, v, err)
			}
			return
		}
		acceptedIsSafe(t, x)
	})
}
