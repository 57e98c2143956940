package reports

import (
	"strings"
	"testing"

	"github.com/gameday-dev/gameday/experiments"
)

// TestSpecStopConditions: in the experiment as run, an expression stop
// condition is the plain string it was written as and an alarm one a
// map, and the YAML loads back with both.
func TestSpecStopConditions(t *testing.T) {
	src := "name: x\nload: {rate: 10, duration: 30s}\nsteady_state: {thresholds: [\"success_ratio >= 0.9\"]}\n" +
		"stop_conditions:\n  - \"success_ratio < 0.2 for 5s\"\n  - {alarm: web-5xx}\n"
	noEnv := func(string) (string, bool) { return "", false }
	x, _, err := experiments.Parse("x.yaml", []byte(src), nil, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	y := specText(x)
	if !strings.Contains(y, "stop_conditions:\n  - success_ratio < 0.2 for 5s\n  - alarm: web-5xx\n") {
		t.Errorf("stop conditions as run:\n%s", y)
	}
	_, c, err := experiments.Parse("as-run.yaml", []byte(y), nil, noEnv)
	if err != nil {
		t.Fatalf("does not load back: %v\n%s", err, y)
	}
	if len(c.StopConditions) != 1 || len(c.StopAlarms) != 1 || c.StopAlarms[0] != "web-5xx" {
		t.Errorf("loaded back: %+v %v", c.StopConditions, c.StopAlarms)
	}
}
