package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// gameday plan prints a load shape's stages and its peak.
func TestPlanPrintsTheShapeAndPeak(t *testing.T) {
	r := runCLI(t, context.Background(), "plan", "../../experiments/scaling-10x.yaml")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"shape       spike 20 → 200 rps (10x) at 20s; peak 200 rps",
		"stage 2  20s–1m5s  200 rps", "stage 3  1m5s–1m50s  20 rps", "gate        run: time_to_capacity <= 30s"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("plan lacks %q:\n%s", want, r.stdout)
		}
	}
	r = runCLI(t, context.Background(), "plan", "../../experiments/scaling-10x.yaml", "--json")
	var doc struct {
		Load struct {
			Stages []struct{ From, To float64 } `json:"stages"`
			Peak   float64                      `json:"peak_rps"`
		} `json:"load"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || r.code != 0 {
		t.Fatalf("exit %d, %v\n%s", r.code, err, r.stdout)
	}
	if doc.Load.Peak != 200 || len(doc.Load.Stages) != 3 || doc.Load.Stages[1].From != 200 {
		t.Errorf("plan --json load %+v", doc.Load)
	}
}

// validate refuses a shape the generator cannot hold (exit 2, naming the
// file, the field and the reason), and a scaling gate without the probe
// that measures it.
func TestValidateRefusesAnUnholdableShape(t *testing.T) {
	r := runCLI(t, context.Background(), "validate", "../../experiments/scaling-10x.yaml", "--set", "load.max_workers=100")
	if r.code != 2 || !strings.Contains(r.stderr, "../../experiments/scaling-10x.yaml: load.shape: the generator cannot hold the 200 rps peak: by Little's law") ||
		!strings.Contains(r.stderr, "raise load.max_workers to 400") {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
}
