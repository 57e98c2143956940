package probes

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/gameday-dev/gameday/experiments"
)

func TestRegistryKinds(t *testing.T) {
	got := strings.Join(KindNames(), ", ")
	if want := "http, target-health, asg-capacity, db-writer"; got != want {
		t.Errorf("KindNames = %s, want %s", got, want)
	}
	for _, k := range Kinds() {
		if k.Doc == "" {
			t.Errorf("kind %s has no Doc", k.Name)
		}
	}
}

func TestRegisterDuplicatePanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "registered twice") {
			t.Errorf("registering http twice: recover() = %v, want a panic", r)
		}
	}()
	k, _ := Lookup(KindHTTP)
	Register(k)
}

func TestRegisterIncompletePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("registering a kind without New did not panic")
		}
	}()
	Register(Kind{Name: "no-new", Healthy: func(map[string]float64, map[string]float64) bool { return true }})
}

// Healthy by kind name dispatches to each kind's probe method.
func TestHealthyDispatch(t *testing.T) {
	for _, tc := range []struct {
		kind     string
		last     map[string]float64
		baseline map[string]float64
		want     bool
	}{
		{KindHTTP, map[string]float64{SeriesHTTPOK: 1}, nil, true},
		{KindHTTP, map[string]float64{SeriesHTTPOK: 0}, nil, false},
		{KindHTTP, map[string]float64{}, nil, false},
		{KindASGCapacity, map[string]float64{SeriesInService: 3, SeriesDesired: 3}, nil, true},
		{KindASGCapacity, map[string]float64{SeriesInService: 2, SeriesDesired: 3}, nil, false},
		{KindASGCapacity, map[string]float64{SeriesInService: 3}, nil, false},
		{KindDBWriter, map[string]float64{SeriesDBAvailable: 1}, nil, true},
		{KindDBWriter, map[string]float64{SeriesDBAvailable: 0}, nil, false},
		{KindTargetHealth, map[string]float64{SeriesHealthyTargets: 3, SeriesHealthyTargets + ".a": 1}, map[string]float64{SeriesHealthyTargets: 3, SeriesHealthyTargets + ".a": 1}, true},
		{KindTargetHealth, map[string]float64{SeriesHealthyTargets: 3}, map[string]float64{SeriesHealthyTargets: 3, SeriesHealthyTargets + ".a": 1}, false},
		{KindTargetHealth, map[string]float64{SeriesHealthyTargets: 2}, map[string]float64{SeriesHealthyTargets: 3}, false},
		{"no-such-kind", map[string]float64{SeriesHTTPOK: 1}, nil, false},
	} {
		if got := Healthy(tc.kind, tc.last, tc.baseline); got != tc.want {
			t.Errorf("Healthy(%s, %v, %v) = %v, want %v", tc.kind, tc.last, tc.baseline, got, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	msg := func(errs []error) string { return errors.Join(errs...).Error() }
	if errs := Validate(experiments.Probe{Kind: "nope"}); len(errs) != 1 || msg(errs) != `unknown kind "nope" (http, target-health, asg-capacity, db-writer)` {
		t.Errorf("unknown kind: %v", errs)
	}
	if errs := Validate(experiments.Probe{Kind: KindHTTP}); len(errs) != 1 || !strings.Contains(msg(errs), "url is required") {
		t.Errorf("http without url: %v", errs)
	}
	if errs := Validate(experiments.Probe{Kind: KindHTTP, URL: "http://127.0.0.1:1/"}); len(errs) != 0 {
		t.Errorf("good http: %v", errs)
	}
	if errs := Validate(experiments.Probe{Kind: KindDBWriter}); len(errs) != 0 {
		t.Errorf("db-writer: %v", errs)
	}
}

// experiments cannot import probes (probes imports experiments), so its
// validation names the kinds itself: it must accept every registered kind
// and list exactly the registry's kinds when refusing one.
func TestExperimentsAgreesWithRegistry(t *testing.T) {
	dir := t.TempDir()
	write := func(kind string) string {
		y := "name: x\ntarget:\n  kind: sandbox\nload:\n  rate: 5\n  duration: 2s\nsteady_state:\n  thresholds: [\"success_ratio >= 0.99\"]\nprobes:\n  - kind: " + kind + "\n"
		if k, ok := Lookup(kind); ok && slices.Contains(k.Fields, "url") {
			y += "    url: http://127.0.0.1:1/\n"
		}
		p := dir + "/" + kind + ".yaml"
		if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, k := range KindNames() {
		if _, _, err := experiments.LoadFile(write(k), nil); err != nil {
			t.Errorf("experiments refuses registered kind %s: %v", k, err)
		}
	}
	_, _, err := experiments.LoadFile(write("nope"), nil)
	want := `unknown kind "nope" (` + strings.Join(KindNames(), ", ") + ")"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("experiments on an unknown kind: %v; want it to say %s", err, want)
	}
}
