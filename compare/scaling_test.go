package compare

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/gameday-dev/gameday/record"
)

func scalingRun(t *testing.T) *record.Run {
	t.Helper()
	r, err := record.Read("../reports/testdata/scaling.json")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Two policies side by side: the scaling figures of both runs, with their
// change, in the table and in Markdown.
func TestScalingSideBySide(t *testing.T) {
	base, cur := scalingRun(t), scalingRun(t)
	s := *cur.Scaling
	s.PolicyTarget, s.TimeToCapacityS, s.UnderProvisionedS, s.MaxReached, s.ScaleInLagS = 60, 21, 30, true, -1
	cur.Scaling = &s
	c := Runs(base, cur)
	if len(c.Scaling) != len(ScalingMetrics) {
		t.Fatalf("%d scaling rows, want %d", len(c.Scaling), len(ScalingMetrics))
	}
	byMetric := map[string]Row{}
	for _, r := range c.Scaling {
		byMetric[r.Metric] = r
	}
	if r := byMetric["time_to_capacity"]; r.Base != 15 || r.Cur != 21 {
		t.Errorf("time_to_capacity %+v", r)
	}
	if r := byMetric["scale_in_lag"]; r.Base != 31 || !math.IsInf(r.Cur, 1) {
		t.Errorf("scale_in_lag %+v", r)
	}
	var tb, md bytes.Buffer
	if err := c.Table(&tb, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Markdown(&md, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Scaling", "policy_target", "30", "60", "+6s", "+40.0%", "now true", "now never"} {
		if !strings.Contains(tb.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, tb.String())
		}
	}
	for _, want := range []string{"### Scaling", "| time_to_capacity | 15s | 21s | +6s | +40.0% |", "| max_reached | false | true | now true |  |",
		"| under_provisioned | 15s | 30s | +15s | +100.0% |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
}

// Runs without a scaling analysis show no scaling section.
func TestNoScalingSection(t *testing.T) {
	base, cur := stored(t), stored(t)
	c := Runs(base, cur)
	var md bytes.Buffer
	if err := c.Markdown(&md, nil); err != nil {
		t.Fatal(err)
	}
	if len(c.Scaling) != 0 || strings.Contains(md.String(), "Scaling") {
		t.Errorf("scaling rows %v in a run without a scaling analysis", c.Scaling)
	}
}
