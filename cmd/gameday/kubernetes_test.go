package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gameday-dev/gameday/attack"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/generators"
	"github.com/gameday-dev/gameday/internal/kubefake"
	"github.com/gameday-dev/gameday/internal/testutil"
	"github.com/gameday-dev/gameday/runner"
)

// kubeCluster is a kubefake API server (the real kubectl talks to it) whose
// pods run the real gameday binary with the container's args, and a
// kubeconfig for it.
func kubeCluster(t *testing.T) (*kubefake.Server, string) {
	t.Helper()
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("no kubectl on PATH (scripts/test-deps.sh installs it)")
	}
	bin := gamedayBinary(t)
	s, err := kubefake.Start(func(image string, args []string) []string {
		if image != "gameday:test" {
			return []string{"false"}
		}
		return append([]string{bin}, args...)
	}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	kc, err := s.Kubeconfig(t.TempDir(), "load")
	if err != nil {
		t.Fatal(err)
	}
	return s, kc
}

// freePort is a loopback port free a moment ago (the coordinator's
// advertised address must be known before it listens).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func kubernetesGenerators(kc string, port, count int) string {
	return fmt.Sprintf(`generators: {engine: kubernetes, count: %d, listen: "127.0.0.1:%d", advertise: "http://127.0.0.1:%d",
    kubernetes: {image: "gameday:test", kubeconfig: %q, namespace: load}}`, count, port, port, kc)
}

func leftInCluster(s *kubefake.Server) int {
	return len(s.Objects("jobs", "")) + len(s.Objects("pods", "")) + len(s.Objects("secrets", ""))
}

// Engine kubernetes end to end: `gameday run`'s coordinator applies one
// Indexed Job of 3 with the real kubectl to a loopback API server
// (internal/kubefake) whose pods are real `gameday worker` processes, each
// taking its completion index as its slice, against the sandbox with an AZ
// blackhole. Asked is the plan exactly, the merged windows hold it, the
// workers' sums equal the record's, and after the run no Job, pod, Secret
// or worker process is left and the worker journal has nothing pending.
func TestThreeKubernetesWorkersAgainstTheSandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("a 10 s run")
	}
	fake, kc := kubeCluster(t)
	yaml := `name: kube
target: {kind: sandbox}
load: {rate: 60, duration: 10s, timeout: 1s, max_workers: 64, max_connections: 64,
  ` + kubernetesGenerators(kc, freePort(t), 3) + `}
steady_state: {window: 1s, thresholds: ["success_ratio >= 0.9"], stable_for: 2, baseline: 2s, verify: 2s}
faults:
  - {name: outage, kind: az-blackhole, at: 3s, duration: 4s, targets: {az: local-1b}, subnets: all}
`
	x, c, err := experiments.Parse("kube.yaml", []byte(yaml), nil, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p, err := prepare(ctx, x, c, "")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if want := "from 3 load generators (engine kubernetes)"; !strings.Contains(p.PlanText(), want) {
		t.Errorf("the plan does not say %q:\n%s", want, p.PlanText())
	}
	out := t.TempDir()
	opts := runner.Options{JournalPath: filepath.Join(out, "journal.jsonl"), RunID: runner.NewRunID(x.Name, time.Now())}
	coord, err := newCoordinator(x, p, out, opts.RunID, false, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer coord.Close()
	opts.Remote = coord
	var during int
	opts.Remote = startedHook{coord, func(*generators.Coordinator) { during = len(fake.PIDs()) }}
	rec := p.Run(ctx, opts)
	if rec.ExitCode != 0 && rec.ExitCode != runner.ExitGateFailed {
		t.Fatalf("run ended %s (%d): %s", rec.Status, rec.ExitCode, rec.Message)
	}
	if during != 3 {
		t.Errorf("%d worker processes at the start, want 3", during)
	}
	plan, _ := attack.NewPlan([]attack.Stage{{Duration: 10 * time.Second, From: 60, To: 60}})
	var windows uint64
	for _, w := range rec.Windows {
		windows += w.Requests
	}
	if rec.Load.Asked != plan.Total() || windows != plan.Total() {
		t.Fatalf("asked %d, merged windows %d, plan %d", rec.Load.Asked, windows, plan.Total())
	}
	var asked, sent, notSent uint64
	for i, w := range rec.Workers {
		if w.Lost != "" || w.Engine != "kubernetes" || w.Segment != i || w.ID != generators.WorkerID(opts.RunID, i) {
			t.Fatalf("worker %d: %+v", i, w)
		}
		asked += w.Asked
		sent += w.Sent
		notSent += w.NotSent
	}
	if len(rec.Workers) != 3 || asked != rec.Load.Asked || sent != rec.Load.Sent || notSent != rec.Load.NotSent {
		t.Fatalf("workers: %d, asked %d sent %d not sent %d; record %+v", len(rec.Workers), asked, sent, notSent, rec.Load)
	}
	if len(rec.Faults) != 1 || !rec.Faults[0].Injected || !rec.Faults[0].RolledBack {
		t.Fatalf("fault %+v", rec.Faults)
	}
	if err := coord.Close(); err != nil {
		t.Fatal(err)
	}
	if n := leftInCluster(fake); n != 0 || len(fake.PIDs()) != 0 {
		t.Fatalf("left in the cluster: %d objects, processes %v", n, fake.PIDs())
	}
	if pend, err := generators.Pending(filepath.Join(out, workersJournal)); err != nil || len(pend) != 0 {
		t.Fatalf("workers not stopped: %v %v", pend, err)
	}
	for _, w := range rec.Workers {
		t.Logf("worker %s: asked %d sent %d not sent %d p99 %.1fms offset %.0fµs", w.ID, w.Asked, w.Sent, w.NotSent, w.P99S*1000, w.OffsetS*1e6)
	}
	checkRBAC(t, fake.Requests())
}

// SIGKILL of a `gameday run` coordinating kubernetes workers mid-run, then
// `gameday rollback`: the Job, its pods and the Secret are deleted by
// label (the worker processes with them) and the worker journal has
// nothing pending; a second rollback finds nothing to do.
func TestKilledKubernetesCoordinatorLeavesNoPod(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	fake, kc := kubeCluster(t)
	dir := t.TempDir()
	exp := filepath.Join(dir, "x.yaml")
	yaml := `name: killed-kube
target: {kind: sandbox}
load: {rate: 40, duration: 60s, timeout: 1s, ` + kubernetesGenerators(kc, freePort(t), 3) + `}
steady_state: {window: 1s, thresholds: ["success_ratio >= 0.9"]}
faults:
  - {name: outage, kind: az-blackhole, at: 40s, duration: 5s, targets: {az: local-1b}, subnets: all}
`
	if err := os.WriteFile(exp, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	c := startRun(t, exp, dir)
	wj := filepath.Join(dir, workersJournal)
	testutil.Eventually(t, 60*time.Second, "three worker pods running and journaled", func() bool {
		pend, err := generators.Pending(wj)
		if err != nil || len(pend) != 3 || len(fake.PIDs()) != 3 {
			return false
		}
		for _, e := range pend {
			if e.State != generators.WorkerStarted {
				return false
			}
		}
		return true
	})
	time.Sleep(2 * time.Second) // sending
	pids := fake.PIDs()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.wait(t, 10*time.Second)
	if len(fake.Objects("jobs", "load")) != 1 || len(fake.Objects("pods", "load")) != 3 {
		t.Fatalf("the killed coordinator should leave its Job and pods: %d jobs, %d pods", len(fake.Objects("jobs", "load")), len(fake.Objects("pods", "load")))
	}
	// Within the workers' 10 s give-up: they are still running.
	for _, pid := range pids {
		if !alive(pid) {
			t.Fatalf("worker %d not running before the rollback", pid)
		}
	}
	code, out := rollbackCLI(t, "--journal", filepath.Join(dir, "journal.jsonl"))
	if code != 0 {
		t.Fatalf("gameday rollback exit %d\n%s", code, out)
	}
	if n := leftInCluster(fake); n != 0 || len(fake.PIDs()) != 0 {
		t.Fatalf("left after rollback: %d objects, processes %v\n%s", n, fake.PIDs(), out)
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Fatalf("worker process %d alive after rollback", pid)
		}
	}
	if pend, err := generators.Pending(wj); err != nil || len(pend) != 0 {
		t.Fatalf("workers still pending after rollback: %v %v\n%s", pend, err, out)
	}
	if !strings.Contains(out, "deleted job, pods and secret gameday.dev/run=") {
		t.Errorf("rollback output:\n%s", out)
	}
	code, out = rollbackCLI(t, "--journal", filepath.Join(dir, "journal.jsonl"))
	if code != 0 || strings.Contains(out, "(kubernetes)") {
		t.Fatalf("second rollback: exit %d\n%s", code, out)
	}
	t.Logf("rollback:\n%s", out)
}

// coordinatorConfig is configs/k8s/coordinator.yaml, document by document.
func coordinatorConfig(t *testing.T) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "configs", "k8s", "coordinator.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []map[string]any
	for {
		var d map[string]any
		if err := dec.Decode(&d); err != nil {
			if errors.Is(err, io.EOF) {
				return docs
			}
			t.Fatal(err)
		}
		docs = append(docs, d)
	}
}

func configDoc(t *testing.T, docs []map[string]any, kind string) map[string]any {
	t.Helper()
	for _, d := range docs {
		if d["kind"] == kind {
			return d
		}
	}
	t.Fatalf("configs/k8s/coordinator.yaml has no %s", kind)
	return nil
}

// dig follows keys (and list indexes) into a decoded YAML document.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// roleAllows reports whether the Role's rules allow verb on resource (API
// group group) named name.
func roleAllows(role map[string]any, group, resource, name, verb string) bool {
	rules, _ := role["rules"].([]any)
	has := func(l any, s string) bool {
		xs, _ := l.([]any)
		for _, x := range xs {
			if x == s || x == "*" {
				return true
			}
		}
		return false
	}
	for _, r := range rules {
		if has(dig(r, "apiGroups"), group) && has(dig(r, "resources"), resource) && has(dig(r, "verbs"), verb) &&
			(dig(r, "resourceNames") == nil || has(dig(r, "resourceNames"), name)) {
			return true
		}
	}
	return false
}

// The in-cluster coordinator's manifests fit together: its experiment is
// valid and uses engine kubernetes in the manifests' namespace; the
// advertised URL is the Service's DNS name and port, the port the
// coordinator listens on; the Service selects the coordinator's pod; the
// pod runs as the service account the Role is bound to.
func TestCoordinatorConfig(t *testing.T) {
	docs := coordinatorConfig(t)
	ns := dig(configDoc(t, docs, "Namespace"), "metadata", "name")
	for _, d := range docs[1:] {
		if dig(d, "metadata", "namespace") != ns {
			t.Errorf("%s %v is not in namespace %v", d["kind"], dig(d, "metadata", "name"), ns)
		}
	}
	exp, _ := dig(configDoc(t, docs, "ConfigMap"), "data", "experiment.yaml").(string)
	x, _, err := experiments.Parse("experiment.yaml", []byte(exp), nil, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	g := x.Load.Generators
	if g == nil || g.Engine != "kubernetes" || g.Kubernetes == nil || g.Kubernetes.Namespace != ns {
		t.Fatalf("generators %+v", g)
	}
	svc := configDoc(t, docs, "Service")
	port := fmt.Sprint(dig(svc, "spec", "ports", 0, "port"))
	if want := fmt.Sprintf("http://%v.%v.svc:%s", dig(svc, "metadata", "name"), ns, port); g.Advertise != want {
		t.Errorf("advertise %q, the Service is %s", g.Advertise, want)
	}
	if _, p, _ := net.SplitHostPort(g.Listen); p != fmt.Sprint(dig(svc, "spec", "ports", 0, "targetPort")) {
		t.Errorf("listen %q, the Service's targetPort %v", g.Listen, dig(svc, "spec", "ports", 0, "targetPort"))
	}
	job := configDoc(t, docs, "Job")
	labels, _ := dig(job, "spec", "template", "metadata", "labels").(map[string]any)
	sel, _ := dig(svc, "spec", "selector").(map[string]any)
	for k, v := range sel {
		if labels[k] != v {
			t.Errorf("the Service selects %s=%v, the coordinator pod has %v", k, v, labels[k])
		}
	}
	sa := dig(configDoc(t, docs, "ServiceAccount"), "metadata", "name")
	rb := configDoc(t, docs, "RoleBinding")
	if dig(job, "spec", "template", "spec", "serviceAccountName") != sa || dig(rb, "subjects", 0, "name") != sa ||
		dig(rb, "roleRef", "name") != dig(configDoc(t, docs, "Role"), "metadata", "name") {
		t.Error("the coordinator's service account, binding and role do not line up")
	}
	if dig(job, "spec", "backoffLimit") != 0 {
		t.Error("the coordinator Job may be retried: a second coordinator would start a second run")
	}
}

// checkRBAC checks every request kubectl made to the fake API server
// against the Role of configs/k8s/coordinator.yaml (namespace load there
// stands for the manifests' namespace).
func checkRBAC(t *testing.T, reqs []string) {
	t.Helper()
	docs := coordinatorConfig(t)
	role := configDoc(t, docs, "Role")
	ns := fmt.Sprint(dig(configDoc(t, docs, "Namespace"), "metadata", "name"))
	checked := 0
	for _, r := range reqs {
		method, uri, _ := strings.Cut(r, " ")
		path, query, _ := strings.Cut(uri, "?")
		var group, rest string
		switch {
		case strings.HasPrefix(path, "/api/v1/namespaces/"):
			rest = strings.TrimPrefix(path, "/api/v1/namespaces/")
		case strings.HasPrefix(path, "/apis/batch/v1/namespaces/"):
			group, rest = "batch", strings.TrimPrefix(path, "/apis/batch/v1/namespaces/")
		default:
			continue // discovery: allowed to every authenticated user
		}
		parts := strings.Split(rest, "/")
		resource, name := "namespaces", ns
		if len(parts) > 1 {
			resource = parts[1]
			name = ""
			if len(parts) > 2 {
				name = parts[2]
			}
		}
		verb := map[string]string{"POST": "create", "DELETE": "delete", "GET": "get"}[method]
		if method == "GET" && name == "" && resource != "namespaces" {
			verb = "list"
			if strings.Contains(query, "watch=true") {
				verb = "watch"
			}
		}
		if !roleAllows(role, group, resource, name, verb) {
			t.Errorf("kubectl's %s needs %s %s/%s, which the coordinator's Role does not grant", r, verb, group, resource)
		}
		checked++
	}
	if checked == 0 {
		t.Error("no namespaced request to check")
	}
}

// `gameday worker` started by index: a bad or missing index is bad input
// (exit 2) naming what is wrong, before any call to the coordinator.
func TestWorkerIndexBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"--run", "r"}, "", "--run needs --index or JOB_COMPLETION_INDEX"},
		{[]string{"--run", "r"}, "JOB_COMPLETION_INDEX=x1", `JOB_COMPLETION_INDEX: "x1" is not a decimal index`},
		{[]string{"--run", "r"}, "JOB_COMPLETION_INDEX=999", `JOB_COMPLETION_INDEX: "999": want 0 to 255`},
		{[]string{"--run", "r", "--id", "r-w0"}, "", "exclude each other"},
	} {
		cmd := exec.Command(gamedayBinary(t), append([]string{"worker", "--coordinator", "http://127.0.0.1:1"}, tc.args...)...)
		cmd.Env = append(os.Environ(), "GAMEDAY_WORKER_TOKEN=t")
		if tc.env != "" {
			cmd.Env = append(cmd.Env, tc.env)
		}
		out, _ := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(string(out), tc.want) {
			t.Errorf("%v %s: exit %d, output %q; want 2 and %q", tc.args, tc.env, code, out, tc.want)
		}
	}
}
