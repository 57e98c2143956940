package generators

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
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

// batchRecorder is a BatchEngine that starts nothing: it keeps the specs.
type batchRecorder struct {
	specs chan []WorkerSpec
}

type idleHandle struct{ exited chan struct{} }

func (h *idleHandle) Ref() json.RawMessage    { return json.RawMessage(`{}`) }
func (h *idleHandle) Exited() <-chan struct{} { return h.exited }
func (h *idleHandle) Stop(context.Context) error {
	select {
	case <-h.exited:
	default:
		close(h.exited)
	}
	return nil
}

func (b *batchRecorder) Name() string { return "recorder" }
func (b *batchRecorder) Start(context.Context, WorkerSpec) (Handle, error) {
	return nil, errors.New("batch only")
}
func (b *batchRecorder) Planned(string) (json.RawMessage, error) { return json.RawMessage(`{}`), nil }
func (b *batchRecorder) StartAll(_ context.Context, specs []WorkerSpec) ([]Handle, error) {
	b.specs <- specs
	hs := make([]Handle, len(specs))
	for i := range hs {
		hs[i] = &idleHandle{exited: make(chan struct{})}
	}
	return hs, nil
}

// rendered is the part of the rendered List the tests read.
type rendered struct {
	Items []struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name   string            `json:"name"`
			Labels map[string]string `json:"labels"`
		} `json:"metadata"`
		StringData map[string]string `json:"stringData"`
		Spec       struct {
			CompletionMode   string         `json:"completionMode"`
			Completions      int            `json:"completions"`
			Parallelism      int            `json:"parallelism"`
			BackoffLimit     *int           `json:"backoffLimit"`
			PodFailurePolicy map[string]any `json:"podFailurePolicy"`
			Deadline         int64          `json:"activeDeadlineSeconds"`
			TTL              *int64         `json:"ttlSecondsAfterFinished"`
			Template         struct {
				Metadata struct {
					Labels map[string]string `json:"labels"`
				} `json:"metadata"`
				Spec struct {
					RestartPolicy string `json:"restartPolicy"`
					Containers    []struct {
						Args []string `json:"args"`
						Env  []struct {
							Name      string `json:"name"`
							Value     string `json:"value"`
							ValueFrom struct {
								FieldRef     *struct{ FieldPath string } `json:"fieldRef"`
								SecretKeyRef *struct{ Name, Key string } `json:"secretKeyRef"`
							} `json:"valueFrom"`
						} `json:"env"`
						SecurityContext struct {
							RunAsNonRoot           bool `json:"runAsNonRoot"`
							ReadOnlyRootFilesystem bool `json:"readOnlyRootFilesystem"`
						} `json:"securityContext"`
					} `json:"containers"`
				} `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	} `json:"items"`
}

// For N = 1 to 16, the manifest the engine renders for the coordinator's
// specs makes pod I (completion index I, read from the annotation through
// the downward API) the worker the coordinator gives slice I: its hello,
// over HTTP, gets segment I of N; a second hello for the same index is
// refused (409); and the N slices together are the plan hit for hit.
func TestIndexedPodsGetExactSlices(t *testing.T) {
	plan, _ := attack.NewPlan([]attack.Stage{{Duration: 3 * time.Second, From: 37, To: 37}})
	for n := 1; n <= 16; n++ {
		rec := &batchRecorder{specs: make(chan []WorkerSpec, 1)}
		run := "idx-20261201T110000Z-0a0b0c"
		c, err := New(Config{Engine: rec, Count: n, RunID: run, JoinTimeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		barrier := make(chan error, 1)
		go func() {
			_, err := c.Barrier(ctx, attack.Config{Requests: []attack.Request{{URL: "http://127.0.0.1:1/"}}, Timeout: time.Second,
				Stages: []attack.Stage{{Duration: 3 * time.Second, From: 37, To: 37}}}, time.Second)
			barrier <- err
		}()
		specs := <-rec.specs
		man, err := (&Kubernetes{Image: "gameday:test", Namespace: "load"}).Manifest(specs)
		if err != nil {
			t.Fatal(err)
		}
		var r rendered
		if err := json.Unmarshal(man, &r); err != nil || len(r.Items) != 2 || r.Items[0].Kind != "Secret" || r.Items[1].Kind != "Job" {
			t.Fatalf("n=%d: manifest %s (%v)", n, man, err)
		}
		sec, job := r.Items[0], r.Items[1]
		js := job.Spec
		if js.CompletionMode != "Indexed" || js.Completions != n || js.Parallelism != n || js.BackoffLimit == nil || *js.BackoffLimit != 0 ||
			js.PodFailurePolicy == nil || js.Template.Spec.RestartPolicy != "Never" || js.Deadline <= 0 || js.TTL == nil {
			t.Fatalf("n=%d: job spec %+v", n, js)
		}
		if sec.StringData["token"] != c.Token() || job.Metadata.Labels[LabelRun] != run || js.Template.Metadata.Labels[LabelRun] != run {
			t.Fatalf("n=%d: secret or labels wrong", n)
		}
		ct := js.Template.Spec.Containers[0]
		if !ct.SecurityContext.RunAsNonRoot || !ct.SecurityContext.ReadOnlyRootFilesystem {
			t.Fatalf("n=%d: security context %+v", n, ct.SecurityContext)
		}
		for _, e := range ct.Env {
			if e.Value != "" {
				t.Fatalf("n=%d: env %s has a plain value (the token goes in the Secret)", n, e.Name)
			}
		}
		fs := flag.NewFlagSet("worker", flag.ContinueOnError)
		coord, runFlag := fs.String("coordinator", "", ""), fs.String("run", "", "")
		if ct.Args[0] != "worker" || fs.Parse(ct.Args[1:]) != nil || *coord != c.URL() || *runFlag != run {
			t.Fatalf("n=%d: args %q", n, ct.Args)
		}
		owner := map[uint64]int{}
		for i := range n {
			// The kubelet's downward API: the env's fieldRef resolved from
			// the pod's annotations.
			env := map[string]string{}
			for _, e := range ct.Env {
				if f := e.ValueFrom.FieldRef; f != nil {
					if f.FieldPath != "metadata.annotations['"+IndexAnnotation+"']" {
						t.Fatalf("n=%d: env %s from %s", n, e.Name, f.FieldPath)
					}
					env[e.Name] = strconv.Itoa(i)
				}
			}
			id, err := WorkerIDFrom("", *runFlag, -1, func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			var a Assignment
			cl := &client{base: c.URL(), token: c.Token(), http: http.DefaultClient}
			if err := cl.post(context.Background(), "/v1/hello", Hello{Worker: id}, &a); err != nil {
				t.Fatalf("n=%d index %d: %v", n, i, err)
			}
			if a.Segment != i || len(a.Segments) != n || a.Worker != specs[i].ID {
				t.Fatalf("n=%d: index %d got segment %d of %d as %s", n, i, a.Segment, len(a.Segments), a.Worker)
			}
			var se *StatusError
			if err := cl.post(context.Background(), "/v1/hello", Hello{Worker: id}, &a); !errors.As(err, &se) || se.Code != http.StatusConflict {
				t.Fatalf("n=%d: a second hello for index %d: %v, want 409", n, i, err)
			}
			sl, err := attack.NewSlice(plan, a.Segments, a.Segment)
			if err != nil {
				t.Fatal(err)
			}
			for k := range sl.Total() {
				g := sl.Global(k)
				if o, dup := owner[g]; dup {
					t.Fatalf("n=%d: hit %d in slices %d and %d", n, g, o, i)
				}
				owner[g] = i
			}
		}
		if uint64(len(owner)) != plan.Total() {
			t.Fatalf("n=%d: the slices hold %d hits, the plan %d", n, len(owner), plan.Total())
		}
		for g := range plan.Total() {
			if _, ok := owner[g]; !ok {
				t.Fatalf("n=%d: hit %d in no slice", n, g)
			}
		}
		cancel()
		<-barrier
		_ = c.Close()
	}
}

func TestWorkerIDFrom(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == IndexEnv {
				return v
			}
			return ""
		}
	}
	for _, tc := range []struct {
		id, run string
		index   int
		env     string
		want    string
		err     string
	}{
		{id: "r-w3", index: -1, want: "r-w3"},
		{run: "r", index: 2, want: "r-w2"},
		{run: "r", index: -1, env: "7", want: "r-w7"},
		{run: "r", index: -1, env: "0", want: "r-w0"},
		{run: "r", index: -1, env: "255", want: "r-w255"},
		{run: "r", index: 1, env: "7", want: "r-w1"}, // the flag wins
		{run: "r", index: -1, env: "256", err: "want 0 to 255"},
		{run: "r", index: -1, env: "-1", err: "not a decimal index"},
		{run: "r", index: -1, env: "07", err: "want 0 to 255"},
		{run: "r", index: -1, env: "1e2", err: "not a decimal index"},
		{run: "r", index: -1, env: " 1", err: "not a decimal index"},
		{run: "r", index: -1, err: "needs --index or JOB_COMPLETION_INDEX"},
		{run: "r", index: 300, err: "--index 300"},
		{id: "x", run: "r", index: -1, err: "exclude each other"},
		{index: -1, err: "is required"},
	} {
		got, err := WorkerIDFrom(tc.id, tc.run, tc.index, env(tc.env))
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%+v: error %v, want %q", tc, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("%+v: %q %v, want %q", tc, got, err, tc.want)
		}
	}
}

func TestObjectNamesFitKubernetes(t *testing.T) {
	for _, run := range []string{
		"distributed-20261201T110000Z-abc123",
		strings.Repeat("very-long-experiment-name", 5) + "-20261201T110000Z-abc123",
		"Odd name/with spaces-20261201T110000Z-abc123",
	} {
		n, l := ObjectName(run), RunLabel(run)
		if len(n) > 52 || !regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`).MatchString(n) {
			t.Errorf("%q: object name %q", run, n)
		}
		if len(l) > 63 || !labelValueOK.MatchString(l) {
			t.Errorf("%q: label %q", run, l)
		}
		if ObjectName(run+"x") == n {
			t.Errorf("%q: two runs share the object name %q", run, n)
		}
	}
	if RunLabel("distributed-20261201T110000Z-abc123") != "distributed-20261201T110000Z-abc123" {
		t.Error("a valid run ID is not its own label")
	}
}
