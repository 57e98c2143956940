package experiments

import (
	"testing"
	"time"
)

func TestGeneratorsValidation(t *testing.T) {
	base := "name: x\nsteady_state: {thresholds: [\"success_ratio >= 0.99\"]}\nload: {rate: 10, duration: 60s, generators: "
	for _, tc := range []struct{ gen, want string }{
		{`{engine: local, count: 0}`, "x.yaml: load.generators.count: must be 1 to 256, got 0"},
		{`{engine: local, count: 300}`, "load.generators.count: must be 1 to 256, got 300"},
		{`{count: 2}`, "load.generators.engine: is required"},
		{`{engine: nomad, count: 2}`, `load.generators.engine: "nomad" is not an engine`},
		{`{engine: kubernetes, count: 2}`, `load.generators.kubernetes: is required for engine kubernetes (at least its image)`},
		{`{engine: swarm, count: 2}`, `load.generators.engine: "swarm" is not an engine; want local, ecs or kubernetes`},
		{`{engine: ecs, count: 2}`, `load.generators.ecs: is required for engine ecs`},
		{`{engine: local, count: 2, on_worker_loss: maybe}`, `load.generators.on_worker_loss: "maybe": want fail or continue`},
		{`{engine: local, count: 2, join_timeout: 1h}`, "load.generators.join_timeout: 1h0m0s: must be 0 (default) to 10m0s"},
		{`{engine: local, count: 2, listen: nowhere}`, `load.generators.listen: "nowhere" is not host:port`},
		{`{engine: local, count: 2, colour: red}`, "colour"},
	} {
		t.Run(tc.gen, func(t *testing.T) {
			_, _, err := Parse("x.yaml", []byte(base+tc.gen+"}\n"), nil, func(string) (string, bool) { return "", false })
			mustFail(t, err, tc.want)
		})
	}
	x, _, err := Parse("x.yaml", []byte(base+"{engine: local, count: 3, on_worker_loss: continue, silence_timeout: 2s}}\n"), nil, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if g := x.Load.Generators; g == nil || g.Count != 3 || g.Engine != "local" || g.OnWorkerLoss != "continue" || g.SilenceTimeout != 2*time.Second {
		t.Fatalf("generators %+v", g)
	}
}
