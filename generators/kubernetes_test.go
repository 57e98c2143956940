package generators

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gameday-dev/gameday/attack"
	"github.com/gameday-dev/gameday/internal/kubefake"
	"github.com/gameday-dev/gameday/timeline"
)

// kubectlOrSkip returns the kubectl on PATH (scripts/test-deps.sh installs
// Debian's kubernetes-client where there is none).
func kubectlOrSkip(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("no kubectl on PATH (scripts/test-deps.sh installs it)")
	}
	return p
}

// fakeCluster is a kubefake API server whose pods run this test binary as a
// worker, and a kubeconfig for it (namespace ns).
func fakeCluster(t *testing.T, ns string) (*kubefake.Server, string) {
	t.Helper()
	s, err := kubefake.Start(func(_ string, args []string) []string {
		if len(args) > 0 && args[0] == "worker" {
			args = args[1:] // the test binary's worker mode takes the flags alone
		}
		return append([]string{os.Args[0]}, args...)
	}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	s.Env = []string{workerEnv + "=1"}
	t.Cleanup(s.Close)
	kc, err := s.Kubeconfig(t.TempDir(), ns)
	if err != nil {
		t.Fatal(err)
	}
	return s, kc
}

// The kubernetes engine end to end with the real kubectl against a
// loopback API server (internal/kubefake) whose pods are real worker
// processes: one Indexed Job of 3, each pod its completion index as its
// slice (JOB_COMPLETION_INDEX from the annotation, the token from the
// Secret); asked is the plan exactly and every window holds the plan's
// hits; the journal names the context, namespace and selector before the
// apply; after Close no Job, pod, Secret or process is left.
func TestKubernetesEngineSendsThePlanExactly(t *testing.T) {
	kubectl := kubectlOrSkip(t)
	srv, served := target(t)
	fake, kc := fakeCluster(t, "load")
	dir := t.TempDir()
	jr, err := OpenJournal(filepath.Join(dir, "workers.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer jr.Close()
	eng := &Kubernetes{Kubectl: kubectl, Kubeconfig: kc, Image: "gameday:test", Poll: 200 * time.Millisecond, Output: os.Stderr}
	c, err := New(Config{Engine: eng, Count: 3, RunID: "k8s-20261201T110000Z-abc123", Journal: jr, JoinTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := attack.Config{Requests: []attack.Request{{Method: "GET", URL: srv.URL + "/"}}, Timeout: 2 * time.Second, KeepAlive: true,
		Stages: []attack.Stage{{Duration: time.Second, From: 60, To: 240}, {Duration: time.Second, From: 240, To: 240}}}
	plan, _ := attack.NewPlan(cfg.Stages)
	width := 250 * time.Millisecond
	start, err := c.Barrier(context.Background(), cfg, width)
	if err != nil {
		t.Fatal(err)
	}
	// The journal, before the apply, names where to find everything.
	b, _ := os.ReadFile(jr.Path())
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var first JournalEntry
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	var ref KubernetesRef
	if err := json.Unmarshal(first.Ref, &ref); err != nil || first.State != WorkerStarting || first.Engine != "kubernetes" {
		t.Fatalf("first journal line %s", lines[0])
	}
	if ref.Context != "kubefake" || ref.Namespace != "load" || ref.Selector != "gameday.dev/run=k8s-20261201T110000Z-abc123" || ref.Kubeconfig != kc {
		t.Fatalf("planned reference %+v", ref)
	}
	// One Job, one Secret, three pods, one per index.
	jobs, pods, secrets := fake.Objects("jobs", "load"), fake.Objects("pods", "load"), fake.Objects("secrets", "load")
	if len(jobs) != 1 || len(pods) != 3 || len(secrets) != 1 {
		t.Fatalf("%d jobs, %d pods, %d secrets", len(jobs), len(pods), len(secrets))
	}
	tl, _ := timeline.New(start, width)
	m := &merged{tl: tl}
	sum, err := c.Run(context.Background(), m.merge, func(why string) { t.Errorf("abort: %s", why) })
	if err != nil {
		t.Fatal(err)
	}
	for i, ws := range c.order {
		if ws.done == nil || ws.lost != "" || ws.index != i || ws.id != WorkerID("k8s-20261201T110000Z-abc123", i) {
			t.Fatalf("worker %d: %s done %v lost %q", i, ws.id, ws.done != nil, ws.lost)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	total := tl.Total()
	if sum.Asked != plan.Total() || total.Requests != plan.Total() || sum.Sent != uint64(served.Load()) {
		t.Fatalf("asked %d, merged %d, sent %d, served %d; plan %d", sum.Asked, total.Requests, sum.Sent, served.Load(), plan.Total())
	}
	for i := range tl.Len() {
		from, to := time.Duration(i)*width, time.Duration(i+1)*width
		if want, got := plan.Asked(to)-plan.Asked(from), tl.Window(i).Requests; got != want {
			t.Errorf("window %d: %d hits, plan asks %d", i, got, want)
		}
	}
	if n := len(fake.Objects("jobs", "")) + len(fake.Objects("pods", "")) + len(fake.Objects("secrets", "")); n != 0 || len(fake.PIDs()) != 0 {
		t.Fatalf("left after Close: %d objects, processes %v", n, fake.PIDs())
	}
	if pend, err := Pending(jr.Path()); err != nil || len(pend) != 0 {
		t.Fatalf("pending workers after Close: %v %v", pend, err)
	}
	t.Logf("requests: %q", fake.Requests())
}
