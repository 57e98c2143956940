package experiments

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestStopConditionForms: stop_conditions takes harness expressions as
// plain strings and CloudWatch alarms as {alarm: NAME}, side by side; the
// JSON form keeps an expression a plain string.
func TestStopConditionForms(t *testing.T) {
	x, c, err := Parse("x.yaml", []byte(`
name: x
load: {rate: 10, duration: 30s}
steady_state: {thresholds: ["success_ratio >= 0.9"]}
stop_conditions:
  - "success_ratio < 0.2 for 5s"
  - {alarm: web-5xx-high}
`), nil, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.StopConditions) != 1 || c.StopConditions[0].Source != "success_ratio < 0.2 for 5s" || !reflect.DeepEqual(c.StopAlarms, []string{"web-5xx-high"}) {
		t.Fatalf("compiled: %+v alarms %v", c.StopConditions, c.StopAlarms)
	}
	b, err := json.Marshal(x.StopConditions)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `["success_ratio \u003c 0.2 for 5s",{"alarm":"web-5xx-high"}]` {
		t.Errorf("JSON %s", b)
	}
	var back []StopCondition
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, x.StopConditions) {
		t.Errorf("JSON round trip: %v %+v", err, back)
	}

	for src, want := range map[string]string{
		`[{alarm: a, expr: "p99 > 1s"}]`: "stop_conditions[0]: give either an expression or alarm, not both",
		`[{alarm: " a"}]`:                `stop_conditions[0].alarm: " a" is not a CloudWatch alarm name`,
		`[{alarm: a, color: red}]`:       "color",
	} {
		_, _, err := Parse("x.yaml", []byte("name: x\nload: {rate: 10, duration: 30s}\nsteady_state: {thresholds: [\"success_ratio >= 0.9\"]}\nstop_conditions: "+src+"\n"), nil, noEnv)
		var xe *Error
		if !errors.As(err, &xe) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an input error containing %q", src, err, want)
		}
	}
}
