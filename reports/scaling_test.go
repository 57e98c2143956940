package reports

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// Every format shows the scaling analysis of a scaling run, and none shows
// a scaling section for a run without one.
func TestScalingInEveryFormat(t *testing.T) {
	sc := load(t, "scaling")
	plain := load(t, "run")
	for _, tc := range []struct {
		format string
		want   []string
	}{
		{"table", []string{"Scaling", "scale-out at 20s: 20 → 200 rps", "15s", "run: time to trigger 1s, to capacity 15s, to serve 17s", "scaling activity started 953ms after it; cause: At",
			"policy target 30 requests/s per in-service target"}},
		{"md", []string{"### Scaling", "| scale-out at 20s: 20 → 200 rps | 2 → 7 | 1s | 15s | 17s | 0s | 15s | no | – | – |",
			"| scale-in at 1m5s: 200 → 20 rps | 7 → 2 | 1s | – | – | – | 0s | no | 31s | 2.08 |"}},
		{"junit", []string{`<testcase name="scaling: scale-out at 20s: 20 → 200 rps" classname="gameday.scaling-10x.scaling" time="15.000">`,
			"scale in lag: 31s", "scaling activity: started 953ms after the change; cause: At", `<property name="scaling" value="time to trigger 1s`}},
		{"html", []string{`<section id="scaling">`, "<td class=\"num\">15s</td>", "Run: time to trigger 1s"}},
	} {
		t.Run(tc.format, func(t *testing.T) {
			f := mustFormat(t, tc.format)
			out := string(render(t, func(b *bytes.Buffer) error { return f.Render(b, sc) }))
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("%s lacks %q", tc.format, w)
				}
			}
			other := string(render(t, func(b *bytes.Buffer) error { return f.Render(b, plain) }))
			if strings.Contains(other, "scale-out at") || strings.Contains(other, `id="scaling"`) {
				t.Errorf("%s shows a scaling section for a run without a scaling analysis", tc.format)
			}
		})
	}
}

var gamedayData = regexp.MustCompile(`const GAMEDAY = (\{.*?\});</script>`)

// The HTML's chart data carries the capacity chart (desired, in service,
// healthy targets, load per target and the policy's target) and a band per
// scaling event, on the timeline's x.
func TestCapacityChartData(t *testing.T) {
	r := load(t, "scaling")
	d := chartData(r)
	c := d.Capacity
	if c == nil {
		t.Fatal("no capacity chart")
	}
	for name, s := range map[string][]*float64{"desired": c.Desired, "in_service": c.InService, "healthy": c.Healthy, "load_per_target": c.LoadPerTarget} {
		if len(s) != len(d.X) {
			t.Errorf("%s has %d points, x %d", name, len(s), len(d.X))
		}
	}
	if c.Target != 30 {
		t.Errorf("target %g", c.Target)
	}
	// Window 10 (t 10..11): 20 rps over 2 in service.
	if v := c.LoadPerTarget[11]; v == nil || *v != 10 {
		t.Errorf("load per target in window 10: %v", v)
	}
	var bands []string
	for _, b := range d.Bands {
		if strings.HasPrefix(b.Kind, "scale-") {
			bands = append(bands, b.Kind)
			if b.Kind == "scale-out" && (b.From != 20 || b.To != 37) {
				t.Errorf("scale-out band %+v, want 20s until served at 37s", b)
			}
		}
	}
	if strings.Join(bands, ",") != "scale-out,scale-in" {
		t.Errorf("scaling bands %v", bands)
	}
	out := render(t, func(b *bytes.Buffer) error { return HTML(b, r) })
	m := gamedayData.FindSubmatch(out)
	if m == nil {
		t.Fatal("no chart data in the page")
	}
	var page map[string]any
	if err := json.Unmarshal(m[1], &page); err != nil {
		t.Fatal(err)
	}
	if _, ok := page["capacity"]; !ok {
		t.Error("the page's data has no capacity chart")
	}
	if d := chartData(load(t, "run")); d.Capacity != nil {
		t.Error("a run without a scaling analysis has a capacity chart")
	}
}
