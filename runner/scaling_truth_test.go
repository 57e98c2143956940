package runner

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gameday-dev/gameday/record"
)

// The scaling analysis against the sandbox's own record: its scaling
// decisions (asg-capacity), launches put in service (asg-member →
// InService), targets turned healthy (target-health → healthy) and
// scale-in terminations. Each measured figure must agree with the truth
// within one window, for a step and for a spike with a scale-in tail.
func TestScalingFiguresAgreeWithGroundTruth(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "sandbox.yaml")
	// The fast profile, with a shorter warm-up and scale-in cooldown so
	// that a spike scales out and back in within a minute.
	if err := os.WriteFile(cfg, []byte("region:\n  group: {min: 2, desired: 2, max: 10, target_requests_per_target: 25}\n  timings: {scale_warmup: 5s, scale_cooldown: 15s}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, shape string }{
		{"step", "{kind: step, from: 20, to: 120, at: 8s, hold: 22s}"},
		{"spike", "{kind: spike, base: 20, peak: 8x, at: 8s, hold: 20s, tail: 30s}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := prepare(t, fmt.Sprintf(`name: scaling-truth-%s
target: {kind: sandbox, sandbox: {config: %q}}
load: {shape: %s, timeout: 1s, max_workers: 256, max_connections: 256, max_conn_age: 3s, dns_ttl: 1s}
steady_state: {window: 1s, thresholds: ["success_ratio >= 0.9"], stable_for: 2, baseline: 4s}
scaling: {policy_target: 25, cooldown: 15s}
probes:
  - {kind: asg-capacity, interval: 250ms}
  - {kind: target-health, interval: 250ms}
`, tc.name, cfg, tc.shape))
			rec := p.Run(context.Background(), Options{JournalPath: filepath.Join(t.TempDir(), "journal.jsonl")})
			if rec.ExitCode != ExitPass {
				t.Fatalf("exit %d (%s): %s", rec.ExitCode, rec.Status, rec.Message)
			}
			sc := rec.Scaling
			if sc == nil || len(sc.Changes) == 0 {
				t.Fatalf("no scaling analysis: %+v", sc)
			}
			w := rec.WindowS
			near := func(what string, measured, truth float64) {
				t.Helper()
				if measured < 0 || math.IsNaN(truth) || math.Abs(measured-truth) > w {
					t.Errorf("%s: measured %.2fs, ground truth %.2fs (want within one %gs window)", what, measured, truth, w)
				} else {
					t.Logf("%s: measured %.2fs, ground truth %.2fs", what, measured, truth)
				}
			}
			for _, c := range sc.Changes {
				until := c.UntilS
				switch c.Direction {
				case "out":
					added := int(c.DesiredAfter - c.DesiredBefore)
					if added <= 0 {
						t.Fatalf("the group did not scale out for %+v", c)
					}
					near("time to trigger", c.TimeToTriggerS, truthAt(rec.Truth, c.AtS, until, 1, func(e record.Truth) bool {
						return e.Kind == "asg-capacity" && atof(e.To) > c.DesiredBefore
					}))
					near("time to capacity", c.TimeToCapacityS, truthAt(rec.Truth, c.AtS, until, added, func(e record.Truth) bool {
						return e.Kind == "asg-member" && e.To == "InService"
					}))
					// DescribeScalingActivities' start of the first launch.
					if c.ActivityS == nil || !strings.Contains(c.ActivityCause, "TargetTracking-") {
						t.Errorf("no scaling activity with a target-tracking cause for %+v", c)
					} else {
						near("scaling activity start", *c.ActivityS, truthAt(rec.Truth, c.AtS, until, 1, func(e record.Truth) bool {
							return e.Kind == "asg-activity" && e.To == "InProgress" && strings.HasPrefix(e.Detail, "Launching")
						}))
					}
					near("time to serve", c.TimeToServeS, truthAt(rec.Truth, c.AtS, until, added, func(e record.Truth) bool {
						return e.Kind == "target-health" && e.To == "healthy"
					}))
				case "in":
					removed := int(c.DesiredBefore - c.NeededAfter)
					if removed <= 0 || c.DesiredAfter != c.NeededAfter {
						t.Fatalf("the group did not scale in to what the load needs: %+v", c)
					}
					near("scale-in trigger", c.TimeToTriggerS, truthAt(rec.Truth, c.AtS, until, 1, func(e record.Truth) bool {
						return e.Kind == "asg-capacity" && atof(e.To) < c.DesiredBefore
					}))
					near("scale-in lag", c.ScaleInLagS, truthAt(rec.Truth, c.AtS, until, removed, func(e record.Truth) bool {
						return e.Kind == "asg-member" && e.To == "Terminating"
					}))
				}
			}
			wantIn := tc.name == "spike"
			if sc.HasScaleIn != wantIn || !sc.HasScaleOut {
				t.Errorf("scale-out %v, scale-in %v; want scale-out and scale-in %v", sc.HasScaleOut, sc.HasScaleIn, wantIn)
			}
		})
	}
}

// truthAt is the time from `from` to the n-th ground-truth event in
// [from, until) that matches (NaN if there are fewer).
func truthAt(ev []record.Truth, from, until float64, n int, match func(record.Truth) bool) float64 {
	seen := 0
	for _, e := range ev {
		if e.T < from || e.T >= until || !match(e) {
			continue
		}
		if seen++; seen == n {
			return e.T - from
		}
	}
	return math.NaN()
}

func atof(s string) float64 {
	var v float64
	if _, err := fmt.Sscan(s, &v); err != nil {
		return math.NaN()
	}
	return v
}

// A constant load is not a scaling test: no Scaling section, even with an
// asg-capacity probe; stating scaling settings asks for one.
func TestScalingOnlyForScalingRuns(t *testing.T) {
	for _, tc := range []struct {
		name, extra string
		want        bool
	}{{"constant load", "", false}, {"scaling settings", "scaling: {policy_target: 50}\n", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := prepare(t, `name: constant
target: {kind: sandbox}
load: {rate: 10, duration: 4s, timeout: 1s, max_workers: 16, max_connections: 16}
steady_state: {window: 1s, thresholds: ["success_ratio >= 0.9"], stable_for: 1, baseline: 1s}
probes: [{kind: asg-capacity, interval: 250ms}]
`+tc.extra)
			rec := p.Run(context.Background(), Options{JournalPath: filepath.Join(t.TempDir(), "journal.jsonl")})
			if rec.ExitCode != ExitPass {
				t.Fatalf("exit %d (%s): %s", rec.ExitCode, rec.Status, rec.Message)
			}
			if got := rec.Scaling != nil; got != tc.want {
				t.Fatalf("scaling analysis %v, want %v: %+v", got, tc.want, rec.Scaling)
			}
			if tc.want && (len(rec.Scaling.Changes) != 0 || rec.Scaling.HasScaleOut || rec.Scaling.PolicyTarget != 50) {
				t.Errorf("a constant load has no load change: %+v", rec.Scaling)
			}
		})
	}
}
