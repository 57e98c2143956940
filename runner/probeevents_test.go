package runner

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestProbeEventsOnTimeline: a probe that reports events (scaling-policy)
// gets them onto the run's timeline under its name: here the group's
// replacement of a terminated instance, with Auto Scaling's cause.
func TestProbeEventsOnTimeline(t *testing.T) {
	t.Parallel()
	p := prepare(t, `name: probe-events
target: {kind: sandbox}
load: {rate: 20, duration: 12s, timeout: 1s, max_workers: 32, max_connections: 32}
steady_state: {window: 1s, thresholds: ["success_ratio >= 0.5"], stable_for: 2, baseline: 3s, verify: 3s}
faults:
  - {name: lose-one, kind: terminate-instances, at: 4s, targets: {count: 1, seed: 1}}
probes:
  - {kind: scaling-policy, interval: 500ms}
`)
	rec := p.Run(context.Background(), Options{JournalPath: filepath.Join(t.TempDir(), "journal.jsonl")})
	found := false
	for _, e := range rec.Events {
		found = found || (e.Kind == "scaling-activity" && e.Name == "scaling-policy" && strings.Contains(e.Detail, "Launching a new EC2 instance") &&
			strings.Contains(e.Detail, "an instance was started in response to a difference between desired and running capacity"))
	}
	if !found {
		t.Fatalf("no scaling-activity event for the replacement: %+v", rec.Events)
	}
}
