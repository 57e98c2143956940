package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// validate and plan warn when a window holds too few requests for the
// thresholds (75 per window for p99), naming a window size that would do.
func TestSmallWindowWarns(t *testing.T) {
	f := filepath.Join(t.TempDir(), "small.yaml")
	y := "name: small\ntarget: {kind: sandbox}\nload: {rate: 75, duration: 6s}\n" +
		"steady_state: {window: 1s, thresholds: [\"p99 < 500ms\"], baseline: 2s, verify: 1s}\n"
	if err := os.WriteFile(f, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, context.Background(), "validate", f)
	if r.code != 0 || !strings.Contains(r.stdout, "warning: steady_state.window") || !strings.Contains(r.stdout, "use window: 2s") {
		t.Fatalf("validate: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, context.Background(), "plan", f)
	if r.code != 0 || !strings.Contains(r.stdout, "warning     steady_state.window") {
		t.Fatalf("plan: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
