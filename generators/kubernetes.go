package generators

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Kubernetes starts the workers as one Indexed Job (completions =
// parallelism = the worker count) through kubectl: the user's kubeconfig,
// contexts and auth plugins (`aws eks get-token`, gke-gcloud-auth-plugin)
// work as they do for kubectl, and gameday needs no Kubernetes client
// library. Each pod runs `gameday worker --run RUN` and takes its completion
// index (JOB_COMPLETION_INDEX, from the pod's
// batch.kubernetes.io/job-completion-index annotation through the downward
// API) as its slice: worker ID = WorkerID(RUN, index), exactly the ID the
// coordinator gives slice index. The run's token travels in a Secret.
//
// Kubernetes implements BatchEngine: StartAll applies the Secret and the Job
// for every worker at once; Start (one worker) is refused.
type Kubernetes struct {
	// Kubectl is the kubectl command (default "kubectl" on PATH).
	Kubectl string
	// Kubeconfig, Context and Namespace select the cluster ("" for
	// kubectl's defaults; the context actually used is resolved at start
	// and journaled, so a rollback deletes in the same cluster).
	Kubeconfig, Context, Namespace string
	// Image is the worker image (the repository's Dockerfile).
	Image string
	// CPU and Memory are each worker container's requests and limits
	// (defaults 1 and 512Mi).
	CPU, Memory string
	// ServiceAccount runs the pods ("" the namespace's default; its token
	// is never mounted).
	ServiceAccount string
	// Deadline is the Job's activeDeadlineSeconds: the cluster ends every
	// worker this long after the start even if nothing else does.
	Deadline time.Duration
	// TTL is ttlSecondsAfterFinished (default 5 minutes).
	TTL time.Duration
	// Poll is how often the pods are listed (default 1 s).
	Poll time.Duration
	// Grace is how long stopping one worker waits for it to end by itself
	// (the coordinator told it to stop) before its pod is deleted
	// (default 12 s: a worker gives up on a silent coordinator after 10 s).
	Grace time.Duration
	// Env is added to kubectl's environment.
	Env []string
	// Output receives kubectl's stderr; nil discards it.
	Output io.Writer
}

// KubernetesRef is the journal record of a Kubernetes worker: enough for
// `gameday rollback` to delete what the run created, by label.
type KubernetesRef struct {
	Kubeconfig string `json:"kubeconfig,omitempty"`
	Context    string `json:"context,omitempty"`
	Namespace  string `json:"namespace"`
	Selector   string `json:"selector"`
	Job        string `json:"job"`
	Index      int    `json:"index"`
}

// BatchEngine starts every worker of a run at once (one Kubernetes Job).
// Planned returns, before anything is started, the journal reference that
// finds (and stops) everything StartAll may create; StartAll returns one
// handle per spec, in order, and on error has removed whatever it created
// (or left it findable by Planned's reference).
type BatchEngine interface {
	Engine
	Planned(run string) (json.RawMessage, error)
	StartAll(ctx context.Context, specs []WorkerSpec) ([]Handle, error)
}

// Labels of everything the kubernetes engine creates.
const (
	LabelRun  = "gameday.dev/run"
	LabelRole = "gameday.dev/role"
	// IndexAnnotation is where Kubernetes puts a pod's completion index.
	IndexAnnotation = "batch.kubernetes.io/job-completion-index"
	// IndexEnv is the environment variable a worker pod reads its index from.
	IndexEnv = "JOB_COMPLETION_INDEX"
)

// Name implements Engine.
func (k *Kubernetes) Name() string { return "kubernetes" }

// Start implements Engine; the kubernetes engine starts all workers at once
// (StartAll).
func (k *Kubernetes) Start(context.Context, WorkerSpec) (Handle, error) {
	return nil, errors.New("kubernetes: workers start together as one Indexed Job (StartAll)")
}

// WorkerID is the ID of the worker that sends slice index of run: the
// coordinator names its workers so, and a worker started by index (a
// Kubernetes completion index) names itself so.
func WorkerID(run string, index int) string { return fmt.Sprintf("%s-w%d", run, index) }

var dnsUnsafe = regexp.MustCompile(`[^a-z0-9-]+`)

// ObjectName is the name of the Job and Secret of run: "gameday-" and the
// run ID lowercased (an RFC 1123 label), cut to 52 characters with a hash
// of the run ID when longer, so the pods' names (JOB-INDEX-xxxxx) and the
// job-name label stay within 63.
func ObjectName(run string) string {
	s := strings.Trim(dnsUnsafe.ReplaceAllString(strings.ToLower(run), "-"), "-")
	name := "gameday-" + s
	if len(name) <= 52 && s != "" {
		return name
	}
	sum := sha256.Sum256([]byte(run))
	return strings.TrimRight(name[:min(len(name), 43)], "-") + "-" + hex.EncodeToString(sum[:])[:8]
}

var labelValueOK = regexp.MustCompile(`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`)

// RunLabel is the gameday.dev/run label value of run: the run ID itself
// when it is a valid label value, else its object name.
func RunLabel(run string) string {
	if len(run) <= 63 && labelValueOK.MatchString(run) && run != "" {
		return run
	}
	return ObjectName(run)
}

// Selector is the label selector of everything run created.
func Selector(run string) string { return LabelRun + "=" + RunLabel(run) }

// Manifest renders what StartAll applies for specs (all of one run, spec
// i being slice i): the token Secret and the Indexed Job, as a v1 List in
// JSON (kubectl apply -f - reads it).
func (k *Kubernetes) Manifest(specs []WorkerSpec) ([]byte, error) {
	if len(specs) == 0 || len(specs) > MaxCount {
		return nil, fmt.Errorf("kubernetes: %d workers, want 1 to %d", len(specs), MaxCount)
	}
	run, base, token := specs[0].Run, specs[0].Coordinator, specs[0].Token
	for i, s := range specs {
		if s.Run != run || s.Coordinator != base || s.Token != token {
			return nil, fmt.Errorf("kubernetes: worker %d is of another run or coordinator", i)
		}
		if s.ID != WorkerID(run, i) {
			return nil, fmt.Errorf("kubernetes: worker %d is %q, want %q: a pod names itself by its completion index", i, s.ID, WorkerID(run, i))
		}
	}
	if k.Image == "" {
		return nil, errors.New("kubernetes: no image")
	}
	n := len(specs)
	name := ObjectName(run)
	labels := map[string]string{LabelRun: RunLabel(run), LabelRole: "worker", "app.kubernetes.io/name": "gameday", "app.kubernetes.io/component": "load-generator"}
	meta := func() map[string]any {
		m := map[string]any{"name": name, "labels": labels, "annotations": map[string]string{"gameday.dev/run-id": run}}
		if k.Namespace != "" {
			m["namespace"] = k.Namespace
		}
		return m
	}
	cpu, mem := k.CPU, k.Memory
	if cpu == "" {
		cpu = "1"
	}
	if mem == "" {
		mem = "512Mi"
	}
	ttl := k.TTL
	if ttl <= 0 {
		ttl = 5 * time.Minute
	}
	deadline := k.Deadline
	if deadline <= 0 {
		deadline = time.Hour
	}
	secret := map[string]any{
		"apiVersion": "v1", "kind": "Secret", "metadata": meta(), "type": "Opaque",
		"stringData": map[string]string{"token": token},
	}
	container := map[string]any{
		"name":            "worker",
		"image":           k.Image,
		"imagePullPolicy": "IfNotPresent",
		"args":            []string{"worker", "--coordinator", base, "--run", run},
		"env": []any{
			map[string]any{"name": IndexEnv, "valueFrom": map[string]any{"fieldRef": map[string]any{
				"fieldPath": "metadata.annotations['" + IndexAnnotation + "']"}}},
			map[string]any{"name": TokenEnv, "valueFrom": map[string]any{"secretKeyRef": map[string]any{
				"name": name, "key": "token"}}},
		},
		"resources": map[string]any{
			"requests": map[string]string{"cpu": cpu, "memory": mem},
			"limits":   map[string]string{"cpu": cpu, "memory": mem},
		},
		"securityContext": map[string]any{
			"runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532,
			"readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false,
			"capabilities": map[string]any{"drop": []string{"ALL"}},
		},
		"volumeMounts": []any{map[string]any{"name": "tmp", "mountPath": "/tmp"}},
	}
	pod := map[string]any{
		"restartPolicy":                 "Never",
		"automountServiceAccountToken":  false,
		"enableServiceLinks":            false,
		"terminationGracePeriodSeconds": 10,
		"securityContext": map[string]any{
			"runAsNonRoot": true, "seccompProfile": map[string]string{"type": "RuntimeDefault"},
		},
		"containers": []any{container},
		"volumes":    []any{map[string]any{"name": "tmp", "emptyDir": map[string]string{"sizeLimit": "64Mi"}}},
		// Spread over nodes: more source addresses for the load balancer.
		"topologySpreadConstraints": []any{map[string]any{
			"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway",
			"labelSelector": map[string]any{"matchLabels": map[string]string{LabelRun: RunLabel(run)}},
		}},
	}
	if k.ServiceAccount != "" {
		pod["serviceAccountName"] = k.ServiceAccount
	}
	job := map[string]any{
		"apiVersion": "batch/v1", "kind": "Job", "metadata": meta(),
		"spec": map[string]any{
			"completionMode": "Indexed",
			"completions":    n,
			"parallelism":    n,
			// A worker that fails is never run again: a second pod for its
			// index would send its slice twice (the coordinator refuses a
			// second hello for an index anyway).
			"backoffLimit": 0,
			"podFailurePolicy": map[string]any{"rules": []any{
				map[string]any{"action": "FailJob", "onExitCodes": map[string]any{"containerName": "worker", "operator": "NotIn", "values": []int{0}}},
				map[string]any{"action": "FailJob", "onPodConditions": []any{map[string]string{"type": "DisruptionTarget"}}},
			}},
			"activeDeadlineSeconds":   int64(deadline.Round(time.Second) / time.Second),
			"ttlSecondsAfterFinished": int64(ttl.Round(time.Second) / time.Second),
			"template": map[string]any{
				"metadata": map[string]any{"labels": labels},
				"spec":     pod,
			},
		},
	}
	return json.MarshalIndent(map[string]any{"apiVersion": "v1", "kind": "List", "items": []any{secret, job}}, "", "  ")
}

// kubectl runs kubectl with the engine's cluster flags; stdin may be nil.
func (k *Kubernetes) kubectl(ctx context.Context, ref KubernetesRef, stdin []byte, args ...string) ([]byte, error) {
	bin := k.Kubectl
	if bin == "" {
		bin = "kubectl"
	}
	return runKubectl(ctx, bin, k.Env, k.Output, ref, stdin, args...)
}

func runKubectl(ctx context.Context, bin string, env []string, log io.Writer, ref KubernetesRef, stdin []byte, args ...string) ([]byte, error) {
	var full []string
	if ref.Kubeconfig != "" {
		full = append(full, "--kubeconfig", ref.Kubeconfig)
	}
	if ref.Context != "" {
		full = append(full, "--context", ref.Context)
	}
	if ref.Namespace != "" {
		full = append(full, "--namespace", ref.Namespace)
	}
	full = append(full, "--request-timeout=20s")
	full = append(full, args...)
	cmd := exec.CommandContext(ctx, bin, full...)
	cmd.Env = append(os.Environ(), env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	if log != nil && stderr.Len() > 0 {
		_, _ = log.Write(stderr.Bytes())
	}
	if err != nil {
		return stdout.Bytes(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(lastLines(stderr.String(), 5)))
	}
	return stdout.Bytes(), nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// serviceAccountNamespace is the namespace of the pod gameday runs in,
// when it runs in one.
const serviceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// ref is the reference of run's objects, with the context resolved.
func (k *Kubernetes) ref(ctx context.Context, run string) (KubernetesRef, error) {
	r := KubernetesRef{Kubeconfig: k.Kubeconfig, Context: k.Context, Namespace: k.Namespace,
		Selector: Selector(run), Job: ObjectName(run), Index: -1}
	if r.Kubeconfig != "" {
		if abs, err := filepath.Abs(r.Kubeconfig); err == nil {
			r.Kubeconfig = abs
		}
	}
	inCluster := false
	if r.Context == "" {
		out, err := k.kubectl(ctx, KubernetesRef{Kubeconfig: r.Kubeconfig}, nil, "config", "current-context")
		switch {
		case err == nil:
			r.Context = strings.TrimSpace(string(out))
		case r.Kubeconfig == "" && os.Getenv("KUBERNETES_SERVICE_HOST") != "":
			// In a pod with no kubeconfig: kubectl uses the pod's service
			// account (the coordinator in the cluster, configs/k8s).
			inCluster = true
		default:
			return r, fmt.Errorf("kubernetes: which cluster: %w", err)
		}
	}
	if r.Namespace == "" && inCluster {
		b, err := os.ReadFile(serviceAccountNamespace)
		if err != nil {
			return r, fmt.Errorf("kubernetes: which namespace: %w", err)
		}
		r.Namespace = strings.TrimSpace(string(b))
	}
	if r.Namespace == "" {
		// kubectl's namespace of the context, so the journal names it.
		out, err := k.kubectl(ctx, KubernetesRef{Kubeconfig: r.Kubeconfig, Context: r.Context}, nil,
			"config", "view", "--minify", "-o", "jsonpath={..namespace}")
		if err != nil {
			return r, fmt.Errorf("kubernetes: which namespace: %w", err)
		}
		r.Namespace = strings.TrimSpace(string(out))
		if r.Namespace == "" {
			r.Namespace = "default"
		}
	}
	return r, nil
}

// Planned implements BatchEngine: the reference written to the journal
// before anything is applied.
func (k *Kubernetes) Planned(run string) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := k.ref(ctx, run)
	if err != nil {
		return nil, err
	}
	k.Context, k.Namespace, k.Kubeconfig = r.Context, r.Namespace, r.Kubeconfig
	return json.Marshal(r)
}

// StartAll implements BatchEngine: kubectl apply of the Secret and the Job,
// then a goroutine that lists the run's pods every Poll to see which
// indexes have ended.
func (k *Kubernetes) StartAll(ctx context.Context, specs []WorkerSpec) ([]Handle, error) {
	if len(specs) == 0 {
		return nil, errors.New("kubernetes: no workers")
	}
	run := specs[0].Run
	ref, err := k.ref(ctx, run)
	if err != nil {
		return nil, err
	}
	manifest, err := k.Manifest(specs)
	if err != nil {
		return nil, err
	}
	j := &kubeJob{k: k, ref: ref, n: len(specs), exited: make([]chan struct{}, len(specs)),
		seen: make([]bool, len(specs)), stopAsked: make([]bool, len(specs)), gone: make(chan struct{}), done: make(chan struct{})}
	for i := range j.exited {
		j.exited[i] = make(chan struct{})
	}
	// Client-side validation needs the cluster's OpenAPI document; instead
	// of it, what the server created is read back (-o json) and the fields
	// that keep every slice sent exactly once are checked: a cluster too old
	// for one of them drops it silently.
	out, err := k.kubectl(ctx, ref, manifest, "apply", "--validate=false", "-o", "json", "-f", "-")
	if err == nil {
		err = checkApplied(out, len(specs))
	}
	if err != nil {
		// Whatever part was created goes now; if that fails too, the
		// journal's planned reference finds it for `gameday rollback`.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if derr := j.deleteAll(dctx); derr != nil {
			return nil, errors.Join(err, derr)
		}
		close(j.gone)
		return nil, err
	}
	go j.watch()
	hs := make([]Handle, len(specs))
	for i := range specs {
		hs[i] = &kubeHandle{j: j, i: i}
	}
	return hs, nil
}

// checkApplied checks the Job kubectl apply printed (a List, or the Job
// alone): Indexed, n completions and n in parallel, no retry.
func checkApplied(out []byte, n int) error {
	type job struct {
		Kind string `json:"kind"`
		Spec struct {
			CompletionMode string `json:"completionMode"`
			Completions    *int   `json:"completions"`
			Parallelism    *int   `json:"parallelism"`
			BackoffLimit   *int   `json:"backoffLimit"`
		} `json:"spec"`
	}
	var list struct {
		Kind  string `json:"kind"`
		Items []job  `json:"items"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		return fmt.Errorf("kubernetes: kubectl apply printed no JSON: %w", err)
	}
	items := list.Items
	if list.Kind == "Job" {
		var j job
		_ = json.Unmarshal(out, &j)
		items = []job{j}
	}
	for _, j := range items {
		if j.Kind != "Job" {
			continue
		}
		s := j.Spec
		switch {
		case s.CompletionMode != "Indexed":
			return fmt.Errorf("kubernetes: the cluster created the Job with completionMode %q, not Indexed (Kubernetes 1.24 or later is needed)", s.CompletionMode)
		case s.Completions == nil || *s.Completions != n || s.Parallelism == nil || *s.Parallelism != n:
			return fmt.Errorf("kubernetes: the cluster created the Job with completions/parallelism other than %d", n)
		case s.BackoffLimit == nil || *s.BackoffLimit != 0:
			return errors.New("kubernetes: the cluster created the Job with a backoffLimit other than 0: a failed worker could run its slice twice")
		}
		return nil
	}
	return errors.New("kubernetes: kubectl apply printed no Job")
}

// kubeJob is one run's Job, shared by its workers' handles.
type kubeJob struct {
	k   *Kubernetes
	ref KubernetesRef
	n   int

	mu        sync.Mutex
	exited    []chan struct{}
	seen      []bool
	pods      map[int]string // index → pod name, of pods not ended
	stopAsked []bool
	deleted   bool
	gone      chan struct{} // closed once the Job and its pods are deleted
	done      chan struct{} // closed to end watch
	doneOnce  sync.Once
}

// podList is the part of a kubectl PodList gameday reads.
type podList struct {
	Items []struct {
		Metadata struct {
			Name              string            `json:"name"`
			Labels            map[string]string `json:"labels"`
			Annotations       map[string]string `json:"annotations"`
			DeletionTimestamp *time.Time        `json:"deletionTimestamp"`
		} `json:"metadata"`
		Status struct {
			Phase string `json:"phase"`
		} `json:"status"`
	} `json:"items"`
}

// podIndex is a pod's completion index (the annotation; the label of the
// same name since Kubernetes 1.28), -1 when it has none.
func podIndex(labels, annotations map[string]string) int {
	v, ok := annotations[IndexAnnotation]
	if !ok {
		v, ok = labels[IndexAnnotation]
	}
	if !ok {
		return -1
	}
	i, err := strconv.Atoi(v)
	if err != nil || i < 0 {
		return -1
	}
	return i
}

func (j *kubeJob) markExited(i int) {
	select {
	case <-j.exited[i]:
	default:
		close(j.exited[i])
	}
}

// watch lists the run's pods until the Job is deleted: an index whose pod
// succeeded, failed, is being deleted or disappeared after it was seen has
// ended. Each listing is bounded by kubectl's request timeout; a failed
// listing is retried on the next tick (a worker that is gone meanwhile is
// found by the coordinator's silence timeout).
func (j *kubeJob) watch() {
	poll := j.k.Poll
	if poll <= 0 {
		poll = time.Second
	}
	tk := time.NewTicker(poll)
	defer tk.Stop()
	for {
		select {
		case <-j.done:
			return
		case <-tk.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := j.k.kubectl(ctx, j.ref, nil, "get", "pods", "-l", j.ref.Selector, "-o", "json")
		cancel()
		if err != nil {
			continue
		}
		var pl podList
		if json.Unmarshal(out, &pl) != nil {
			continue
		}
		running := map[int]string{}
		j.mu.Lock()
		for _, p := range pl.Items {
			i := podIndex(p.Metadata.Labels, p.Metadata.Annotations)
			if i < 0 || i >= j.n {
				continue
			}
			j.seen[i] = true
			switch {
			case p.Status.Phase == "Succeeded" || p.Status.Phase == "Failed" || p.Metadata.DeletionTimestamp != nil:
				j.markExited(i)
			default:
				running[i] = p.Metadata.Name
			}
		}
		for i := range j.n {
			if _, ok := running[i]; !ok && j.seen[i] {
				j.markExited(i)
			}
		}
		j.pods = running
		j.mu.Unlock()
	}
}

// deleteAll deletes the Job (its pods first-class: foreground), then any
// pod and the Secret left with the run's label, waiting until they are gone.
func (j *kubeJob) deleteAll(ctx context.Context) error {
	return deleteRun(ctx, j.k.Kubectl, j.k.Env, j.k.Output, j.ref)
}

func deleteRun(ctx context.Context, bin string, env []string, log io.Writer, ref KubernetesRef) error {
	if bin == "" {
		bin = "kubectl"
	}
	// Jobs by label, so a rollback finds them without the name.
	if _, err := runKubectl(ctx, bin, env, log, ref, nil, "delete", "jobs", "-l", ref.Selector,
		"--cascade=foreground", "--ignore-not-found", "--wait", "--timeout=90s"); err != nil {
		return err
	}
	_, err := runKubectl(ctx, bin, env, log, ref, nil, "delete", "pods,secrets", "-l", ref.Selector,
		"--ignore-not-found", "--wait", "--timeout=90s")
	return err
}

// stop ends worker i: every worker stopped ends with the Job deleted; one
// of several is given Grace to end by itself (the coordinator answers its
// next call with stop), then its pod is deleted.
func (j *kubeJob) stop(ctx context.Context, i int) error {
	j.mu.Lock()
	j.stopAsked[i] = true
	all := true
	for _, s := range j.stopAsked {
		all = all && s
	}
	j.mu.Unlock()
	if all {
		return j.finish(ctx)
	}
	grace := j.k.Grace
	if grace <= 0 {
		grace = 12 * time.Second
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-j.exited[i]:
		return nil
	case <-j.gone:
		return nil
	case <-t.C:
	case <-ctx.Done():
	}
	j.mu.Lock()
	pod := j.pods[i]
	j.mu.Unlock()
	if pod != "" {
		// With backoffLimit 0 this fails the Job: the cluster ends the other
		// workers too. Only a worker that does not answer comes to this.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		if _, err := j.k.kubectl(dctx, j.ref, nil, "delete", "pod", pod, "--ignore-not-found", "--wait", "--timeout=90s"); err != nil {
			return err
		}
	}
	j.markExited(i)
	return nil
}

// finish deletes everything once (retried by a later call if it failed).
func (j *kubeJob) finish(ctx context.Context) error {
	j.mu.Lock()
	if j.deleted {
		j.mu.Unlock()
		return nil
	}
	j.mu.Unlock()
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Minute)
	defer cancel()
	if err := j.deleteAll(dctx); err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.deleted {
		j.deleted = true
		j.doneOnce.Do(func() { close(j.done) })
		close(j.gone)
		for i := range j.exited {
			j.markExited(i)
		}
	}
	return nil
}

type kubeHandle struct {
	j *kubeJob
	i int
}

func (h *kubeHandle) Ref() json.RawMessage {
	r := h.j.ref
	r.Index = h.i
	b, _ := json.Marshal(r)
	return b
}
func (h *kubeHandle) Exited() <-chan struct{}        { return h.j.exited[h.i] }
func (h *kubeHandle) Stop(ctx context.Context) error { return h.j.stop(ctx, h.i) }

// stopKubernetes deletes, by label, what a journaled run left in its
// cluster; done caches the selectors already deleted in this rollback
// (every worker of a run has the same).
func stopKubernetes(ref KubernetesRef, done map[string]bool) (string, error) {
	if ref.Selector == "" || !strings.HasPrefix(ref.Selector, LabelRun+"=") {
		return "", fmt.Errorf("journal reference without a %s selector", LabelRun)
	}
	key := ref.Kubeconfig + "\x00" + ref.Context + "\x00" + ref.Namespace + "\x00" + ref.Selector
	what := fmt.Sprintf("deleted job, pods and secret %s in %s/%s", ref.Selector, ref.Context, ref.Namespace)
	if done[key] {
		return what, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if err := deleteRun(ctx, "kubectl", nil, nil, ref); err != nil {
		return "", err
	}
	done[key] = true
	return what, nil
}

// ParseIndex reads a worker's slice index (a Kubernetes completion index)
// from its text: a decimal integer 0 to MaxCount−1, nothing else.
func ParseIndex(s string) (int, error) {
	if s == "" {
		return 0, errors.New("empty")
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("%q is not a decimal index", s)
		}
	}
	i, err := strconv.Atoi(s)
	if err != nil || i >= MaxCount || (len(s) > 1 && s[0] == '0') {
		return 0, fmt.Errorf("%q: want 0 to %d", s, MaxCount-1)
	}
	return i, nil
}

// WorkerIDFrom is the ID a worker goes by: id when given, else
// WorkerID(run, index) with the index from the flag (index ≥ 0) or the
// environment variable IndexEnv. Exactly one way must be given.
func WorkerIDFrom(id, run string, index int, getenv func(string) string) (string, error) {
	env := getenv(IndexEnv)
	switch {
	case id != "" && (run != "" || index >= 0):
		return "", errors.New("--id and --run/--index exclude each other")
	case id != "":
		return id, nil
	case run == "":
		return "", errors.New("--id, or --run with --index or " + IndexEnv + ", is required")
	case index >= 0:
		if index >= MaxCount {
			return "", fmt.Errorf("--index %d: want 0 to %d", index, MaxCount-1)
		}
		return WorkerID(run, index), nil
	case env == "":
		return "", errors.New("--run needs --index or " + IndexEnv + " (a Kubernetes Indexed Job sets it)")
	}
	i, err := ParseIndex(env)
	if err != nil {
		return "", fmt.Errorf("%s: %w", IndexEnv, err)
	}
	return WorkerID(run, i), nil
}
