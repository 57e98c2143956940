package experiments

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

const minimal = "name: x\nload: {rate: 10, duration: 60s}\nsteady_state: {thresholds: [\"success_ratio >= 0.99\"]}\n"

func mustFail(t *testing.T, err error, want ...string) *Error {
	t.Helper()
	var xe *Error
	if !errors.As(err, &xe) {
		t.Fatalf("want *Error, got %v", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("message\n  %s\nlacks\n  %s", err, w)
		}
	}
	return xe
}

// NaN and infinities from --set and GAMEDAY_* are refused, and the message
// names the flag or variable they came from, not just the file.
func TestOverridesRefuseNonFiniteAndNameTheirSource(t *testing.T) {
	for _, tc := range []struct {
		env, set map[string]string
		want     string
	}{
		{set: map[string]string{"load.rate": "NaN"}, want: "x.yaml: load.rate (from --set load.rate=NaN): .NaN is not a finite number"},
		{set: map[string]string{"load.rate": "+Inf"}, want: "load.rate (from --set load.rate=+Inf): +Inf is not a finite number"},
		{env: map[string]string{"GAMEDAY_LOAD_RATE": "NaN"}, want: "load.rate (from GAMEDAY_LOAD_RATE=NaN): .NaN is not a finite number"},
		{env: map[string]string{"GAMEDAY_LOAD_RATE": "-inf"}, want: "load.rate (from GAMEDAY_LOAD_RATE=-inf): -Inf is not a finite number"},
		{env: map[string]string{"GAMEDAY_STEADY_STATE_STABLE_FOR": "2.7"}, want: "steady_state.stable_for (from GAMEDAY_STEADY_STATE_STABLE_FOR=2.7): 2.7 is not a whole number"},
		{set: map[string]string{"load.workers": "1.5"}, want: "load.workers (from --set load.workers=1.5): 1.5 is not a whole number"},
		{set: map[string]string{"load.duration": "-5s"}, want: "load.duration (from --set load.duration=-5s): must be positive"},
		{set: map[string]string{"load.timeout": "1ns"}, want: "load.timeout (from --set load.timeout=1ns): 1ns is below the 1ms minimum"},
		{set: map[string]string{"name": "a\x1b[2Jb"}, want: `name (from --set name="a\x1b[2Jb"): contains the control character U+001B`},
		{env: map[string]string{"GAMEDAY_LOAD_RATE": "1e-300"}, want: "load.rate (from GAMEDAY_LOAD_RATE=1e-300): 1e-300 rps is below the 0.01 rps minimum"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
			_, _, err := Parse("x.yaml", []byte(minimal), tc.set, lookup)
			mustFail(t, err, tc.want)
		})
	}
	// A problem with a value from the file is still the file's.
	_, _, err := Parse("x.yaml", []byte(strings.Replace(minimal, "rate: 10", "rate: .nan", 1)), nil, noEnv)
	if xe := mustFail(t, err, "x.yaml: load.rate: .NaN is not a finite number"); xe.Problems[0].Source != "" {
		t.Fatalf("file value attributed to %q", xe.Problems[0].Source)
	}
}

// Fault names are carried exactly, whatever their case or dots, in the
// fault list and as keys of gates.faults.
func TestFaultNamesRoundTripInGates(t *testing.T) {
	src := `name: x
load: {rate: 10, duration: 60s}
steady_state: {thresholds: ["success_ratio >= 0.99"]}
faults:
  - {name: AZ-Outage, kind: terminate-instances, at: 20s, targets: {count: 1}}
  - {name: az.outage, kind: terminate-instances, at: 30s, targets: {count: 1}}
  - {name: az-outage, kind: terminate-instances, at: 40s, targets: {count: 1}}
gates:
  Faults:
    AZ-Outage: ["time_to_recover <= 10s"]
    az.outage: ["time_to_recover <= 20s", "failed_requests <= 5"]
    az-outage: []
`
	x, c, err := Parse("x.yaml", []byte(src), nil, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if len(x.Gates.Faults) != 3 || len(c.FaultGates["AZ-Outage"]) != 1 || len(c.FaultGates["az.outage"]) != 2 {
		t.Fatalf("gates %v compiled %v", x.Gates.Faults, c.FaultGates)
	}
	if x.Faults[0].Name != "AZ-Outage" || x.Faults[1].Name != "az.outage" {
		t.Fatalf("names %q %q", x.Faults[0].Name, x.Faults[1].Name)
	}
	// A gate for a name that differs only in case names no fault.
	_, _, err = Parse("x.yaml", []byte(strings.Replace(src, "    AZ-Outage:", "    Az-Outage:", 1)), nil, noEnv)
	mustFail(t, err, "gates.faults.Az-Outage: names no fault of this experiment")
	_, _, err = Parse("x.yaml", []byte(strings.Replace(src, `az-outage: []`, `az-outage: {a: b}`, 1)), nil, noEnv)
	mustFail(t, err, "gates.faults.az-outage: expected a list of gates")
}

func manyKeys(n int) []byte {
	var b strings.Builder
	b.WriteString(minimal + "gates:\n  faults:\n")
	for i := range n {
		fmt.Fprintf(&b, "    f%d: []\n", i)
	}
	return []byte(b.String())
}

// A mapping with 200,000 keys took minutes in the YAML library's quadratic
// duplicate check. It is refused now, by size as a file and by key count
// as bytes, in bounded time and memory.
func TestHugeMappingRefusedInBoundedTimeAndMemory(t *testing.T) {
	data := manyKeys(200_000)
	p := filepath.Join(t.TempDir(), "keys.yaml")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := LoadFile(p, nil)
	mustFail(t, err, p+": larger than the 1 MiB limit for an experiment file")

	// Under the size limit, the key limit refuses the mapping.
	data = manyKeys(60_000)
	if len(data) > MaxFileBytes {
		t.Fatalf("test file is %d bytes", len(data))
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, _, err = Parse("keys.yaml", data, nil, noEnv)
	runtime.ReadMemStats(&after)
	mustFail(t, err, "keys.yaml: gates.faults: has 60000 keys; the limit is 1000 per mapping")
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 200*uint64(len(data)) {
		t.Fatalf("refusing a %d-byte file allocated %d bytes", len(data), alloc)
	}
}

// A file that is exactly the limit is read; one byte more is refused.
func TestFileSizeLimit(t *testing.T) {
	dir := t.TempDir()
	pad := func(n int) []byte {
		b := []byte(minimal)
		return append(b, []byte("#"+strings.Repeat("x", n-len(b)-2)+"\n")...)
	}
	ok := filepath.Join(dir, "ok.yaml")
	if err := os.WriteFile(ok, pad(MaxFileBytes), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadFile(ok, nil); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, pad(MaxFileBytes+1), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := LoadFile(big, nil)
	mustFail(t, err, big+": larger than the 1 MiB limit")
}

// Devices and FIFOs are refused at once, never read.
func TestOnlyRegularFiles(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err == nil {
		_, _, err := LoadFile("/dev/zero", nil)
		mustFail(t, err, "/dev/zero: not a regular file (a character device)")
	}
	fifo := filepath.Join(t.TempDir(), "x.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	done := make(chan error, 1)
	go func() { _, _, err := LoadFile(fifo, nil); done <- err }()
	select {
	case err := <-done:
		mustFail(t, err, "not a regular file (a FIFO)")
	case <-time.After(30 * time.Second):
		t.Fatal("loading a FIFO blocked")
	}
	_, _, err := LoadFile(t.TempDir(), nil)
	mustFail(t, err, "not a regular file (a directory)")
}

// BenchmarkRefuseManyKeys shows the shape check is linear in the number of
// keys: ns/op grows tenfold from 10k to 100k keys (it grew a hundredfold
// through the YAML library's duplicate check).
func BenchmarkRefuseManyKeys(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 200_000} {
		data := manyKeys(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ps := parseDocument(data); len(ps) == 0 {
					b.Fatal("accepted")
				}
			}
		})
	}
}

// The fit checks judge only stated values: a short load with the default
// baseline, verify and stable_for still loads; stating them too long is
// refused, wherever they were stated.
func TestFitChecksJudgeStatedValuesOnly(t *testing.T) {
	short := "name: x\nload: {rate: 10, duration: 2s}\nsteady_state: {thresholds: [\"success_ratio >= 0.99\"]}\n"
	if _, _, err := Parse("x.yaml", []byte(short), nil, noEnv); err != nil {
		t.Fatal(err)
	}
	_, _, err := Parse("x.yaml", []byte(short), map[string]string{"steady_state.verify": "1h"}, noEnv)
	mustFail(t, err, "steady_state.verify (from --set steady_state.verify=1h): 1h0m0s is longer than load.duration (2s)")
	env := func(k string) (string, bool) { return "5", k == "GAMEDAY_STEADY_STATE_STABLE_FOR" }
	_, _, err = Parse("x.yaml", []byte(short), nil, env)
	mustFail(t, err, "steady_state.stable_for (from GAMEDAY_STEADY_STATE_STABLE_FOR=5): 5 windows of 1s do not fit in load.duration (2s)")
}
