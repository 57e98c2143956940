package experiments

import (
	"testing"
	"time"
)

func TestKubernetesGeneratorsValidation(t *testing.T) {
	base := "name: x\nsteady_state: {thresholds: [\"success_ratio >= 0.99\"]}\nload: {rate: 10, duration: 60s, generators: "
	const adv = "advertise: 'http://gameday-coordinator.load.svc:7070', "
	for _, tc := range []struct{ gen, want string }{
		{`{engine: kubernetes, count: 2, ` + adv + `}`, "x.yaml: load.generators.kubernetes: is required for engine kubernetes"},
		{`{engine: kubernetes, count: 2, kubernetes: {image: gameday:1}}`, "x.yaml: load.generators.advertise: is required for engine kubernetes"},
		{`{engine: kubernetes, count: 2, ` + adv + `kubernetes: {namespace: load}}`, "load.generators.kubernetes.image: is required"},
		{`{engine: kubernetes, count: 2, ` + adv + `kubernetes: {image: "gameday 1"}}`, `load.generators.kubernetes.image: "gameday 1" is not an image reference`},
		{`{engine: kubernetes, count: 2, ` + adv + `kubernetes: {image: g, namespace: Load_Test}}`, `load.generators.kubernetes.namespace: "Load_Test" is not a namespace name`},
		{`{engine: kubernetes, count: 2, ` + adv + `kubernetes: {image: g, cpu: lots}}`, `load.generators.kubernetes.cpu: "lots" is not a Kubernetes quantity`},
		{`{engine: kubernetes, count: 2, ` + adv + `kubernetes: {image: g, memory: 1GB}}`, `load.generators.kubernetes.memory: "1GB" is not a Kubernetes quantity`},
		{`{engine: kubernetes, count: 2, ` + adv + `kubernetes: {image: g, service_account: "Bad!"}}`, `load.generators.kubernetes.service_account: "Bad!" is not a service account name`},
		{`{engine: kubernetes, count: 2, ` + adv + `kubernetes: {image: g, ttl_after_finished: 48h}}`, "load.generators.kubernetes.ttl_after_finished: 48h0m0s: must be 0 (default 5m) to 24h0m0s"},
		{`{engine: kubernetes, count: 2, ` + adv + `kubernetes: {image: g, replicas: 3}}`, "replicas"},
		{`{engine: local, count: 2, kubernetes: {image: g}}`, `load.generators.kubernetes: is for engine kubernetes, not "local"`},
	} {
		t.Run(tc.gen, func(t *testing.T) {
			_, _, err := Parse("x.yaml", []byte(base+tc.gen+"}\n"), nil, func(string) (string, bool) { return "", false })
			mustFail(t, err, tc.want)
		})
	}
	x, _, err := Parse("x.yaml", []byte(base+`{engine: kubernetes, count: 4, `+adv+`listen: "0.0.0.0:7070", kubernetes: {image: "ghcr.io/acme/gameday:1.2@sha256:abc", namespace: load, context: prod-eks, cpu: 1500m, memory: 768Mi, service_account: gameday-worker, ttl_after_finished: 10m}}}`+"\n"), nil, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	k := x.Load.Generators.Kubernetes
	if k == nil || k.Image != "ghcr.io/acme/gameday:1.2@sha256:abc" || k.Namespace != "load" || k.Context != "prod-eks" || k.CPU != "1500m" ||
		k.Memory != "768Mi" || k.ServiceAccount != "gameday-worker" || k.TTLAfterFinished != 10*time.Minute {
		t.Fatalf("kubernetes %+v", k)
	}
}
