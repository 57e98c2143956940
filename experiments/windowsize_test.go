package experiments

import (
	"strings"
	"testing"
)

func TestWindowWarnings(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       string // "" = no warning
	}{
		{"p99 at 75 per window", "load: {rate: 75, duration: 20s}\nsteady_state: {window: 1s, thresholds: [\"p99 < 300ms\"]}\n", "use window: 2s"},
		{"success ratio 0.999 at 100 per window", "load: {rate: 100, duration: 20s}\nsteady_state: {window: 1s, thresholds: [\"success_ratio >= 0.999\"]}\n", "use window: 10s"},
		{"enough", "load: {rate: 200, duration: 20s}\nsteady_state: {window: 1s, thresholds: [\"p99 < 300ms\", \"success_ratio >= 0.99\"]}\n", ""},
		{"small window, high rate", "load: {rate: 2000, duration: 20s}\nsteady_state: {window: 100ms, thresholds: [\"p99 < 300ms\"]}\n", ""},
		{"sub-second suggestion", "load: {rate: 500, duration: 20s}\nsteady_state: {window: 100ms, thresholds: [\"p99 < 300ms\"]}\n", "use window: 200ms"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x, c, err := Parse("w.yaml", []byte("name: w\ntarget: {kind: sandbox}\n"+tc.yaml), nil, func(string) (string, bool) { return "", false })
			if err != nil {
				t.Fatal(err)
			}
			w := WindowWarnings(x, c)
			switch {
			case tc.want == "" && len(w) > 0:
				t.Fatalf("unexpected warning %q", w)
			case tc.want != "" && (len(w) != 1 || !strings.Contains(w[0], tc.want)):
				t.Fatalf("warnings %q, want one containing %q", w, tc.want)
			}
		})
	}
}
