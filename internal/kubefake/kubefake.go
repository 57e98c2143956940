package kubefake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Server is a loopback Kubernetes API server for tests, with a kubelet
// that runs processes. Safe for concurrent use.
type Server struct {
	// URL is the server's base URL (http://127.0.0.1:PORT).
	URL string
	// Command gives the argv a container runs as on this machine (tests:
	// the gameday binary and the container's args).
	Command func(image string, args []string) []string
	// Output receives the processes' stdout and stderr; nil discards them.
	Output io.Writer
	// Env is added to every process's environment (besides PATH, HOSTNAME
	// and the container's env).
	Env []string

	ln  net.Listener
	srv *http.Server

	mu     sync.Mutex
	rv     int64
	objs   map[string]map[string]any // "resource/namespace/name" → object
	procs  map[string]*proc          // pod key → its process, until it ends
	reqs   []string
	closed bool
}

type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// Resources the server stores, by URL resource name.
var kinds = map[string]struct{ kind, apiVersion, prefix string }{
	"pods":    {"Pod", "v1", "/api/v1"},
	"secrets": {"Secret", "v1", "/api/v1"},
	"jobs":    {"Job", "batch/v1", "/apis/batch/v1"},
}

// Start listens on 127.0.0.1 and serves until Close.
func Start(command func(image string, args []string) []string, output io.Writer) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{URL: "http://" + ln.Addr().String(), Command: command, Output: output, ln: ln,
		objs: map[string]map[string]any{}, procs: map[string]*proc{}}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close kills every process still running and stops serving.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	procs := make([]*proc, 0, len(s.procs))
	for _, p := range s.procs {
		procs = append(procs, p)
	}
	s.mu.Unlock()
	for _, p := range procs {
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	_ = s.srv.Close()
}

// Kubeconfig writes a kubeconfig for the server (context "kubefake",
// namespace ns) into dir and returns its path.
func (s *Server) Kubeconfig(dir, ns string) (string, error) {
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: kubefake
  cluster:
    server: %s
contexts:
- name: kubefake
  context:
    cluster: kubefake
    user: tester
    namespace: %s
current-context: kubefake
users:
- name: tester
  user:
    token: kubefake-token
`, s.URL, ns)
	p := filepath.Join(dir, "kubeconfig")
	return p, os.WriteFile(p, []byte(cfg), 0o600)
}

// Requests lists the requests served so far as "METHOD PATH".
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reqs...)
}

// Objects returns copies of the stored objects of resource (pods, secrets,
// jobs) in namespace ns ("" all), sorted by name.
func (s *Server) Objects(resource, ns string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for k, o := range s.objs {
		parts := strings.SplitN(k, "/", 3)
		if parts[0] == resource && (ns == "" || parts[1] == ns) {
			out = append(out, clone(o))
		}
	}
	sort.Slice(out, func(i, j int) bool { return name(out[i]) < name(out[j]) })
	return out
}

// PIDs returns the process IDs of the pods whose process still runs.
func (s *Server) PIDs() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int
	for _, p := range s.procs {
		out = append(out, p.cmd.Process.Pid)
	}
	sort.Ints(out)
	return out
}

func clone(o map[string]any) map[string]any {
	b, _ := json.Marshal(o)
	var c map[string]any
	_ = json.Unmarshal(b, &c)
	return c
}

func meta(o map[string]any) map[string]any {
	m, _ := o["metadata"].(map[string]any)
	if m == nil {
		m = map[string]any{}
		o["metadata"] = m
	}
	return m
}

func name(o map[string]any) string { s, _ := meta(o)["name"].(string); return s }

func strMap(v any) map[string]string {
	out := map[string]string{}
	if m, ok := v.(map[string]any); ok {
		for k, x := range m {
			if s, ok := x.(string); ok {
				out[k] = s
			}
		}
	}
	return out
}

// status writes a metav1.Status error, as the API server does.
func status(w http.ResponseWriter, code int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "message": msg, "reason": reason, "code": code})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.reqs = append(s.reqs, r.Method+" "+r.URL.RequestURI())
	s.mu.Unlock()
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch path {
	case "/version":
		writeJSON(w, 200, map[string]any{"major": "1", "minor": "30", "gitVersion": "v1.30.0-kubefake", "platform": "linux/amd64"})
		return
	case "/api":
		writeJSON(w, 200, map[string]any{"kind": "APIVersions", "versions": []string{"v1"},
			"serverAddressByClientCIDRs": []any{map[string]string{"clientCIDR": "0.0.0.0/0", "serverAddress": r.Host}}})
		return
	case "/apis":
		gv := map[string]string{"groupVersion": "batch/v1", "version": "v1"}
		writeJSON(w, 200, map[string]any{"kind": "APIGroupList", "apiVersion": "v1", "groups": []any{
			map[string]any{"name": "batch", "versions": []any{gv}, "preferredVersion": gv}}})
		return
	case "/api/v1", "/apis/batch/v1":
		gv := strings.TrimPrefix(strings.TrimPrefix(path, "/apis/"), "/api/")
		var res []any
		for n, k := range kinds {
			if k.apiVersion == gv {
				res = append(res, map[string]any{"name": n, "singularName": strings.ToLower(k.kind), "namespaced": true, "kind": k.kind,
					"verbs": []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}})
			}
		}
		writeJSON(w, 200, map[string]any{"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": res})
		return
	}
	// /api/v1/namespaces/NS/RES[/NAME] or /apis/batch/v1/namespaces/NS/RES[/NAME]
	rest := ""
	for _, p := range []string{"/api/v1/namespaces/", "/apis/batch/v1/namespaces/"} {
		if strings.HasPrefix(path, p) {
			rest = strings.TrimPrefix(path, p)
		}
	}
	parts := strings.Split(rest, "/")
	if rest == "" || len(parts) < 2 || len(parts) > 3 {
		status(w, 404, "NotFound", "the server could not find the requested resource")
		return
	}
	ns, res := parts[0], parts[1]
	k, ok := kinds[res]
	if !ok || !strings.HasPrefix(path, k.prefix+"/") {
		status(w, 404, "NotFound", "the server could not find the requested resource")
		return
	}
	if len(parts) == 2 {
		switch r.Method {
		case http.MethodGet:
			s.list(w, r, res, ns)
		case http.MethodPost:
			s.create(w, r, res, ns)
		default:
			status(w, 405, "MethodNotAllowed", r.Method+" is not supported here")
		}
		return
	}
	key := res + "/" + ns + "/" + parts[2]
	switch r.Method {
	case http.MethodGet:
		s.mu.Lock()
		o := s.objs[key]
		var c map[string]any
		if o != nil {
			c = clone(o)
		}
		s.mu.Unlock()
		if c == nil {
			status(w, 404, "NotFound", fmt.Sprintf("%s %q not found", res, parts[2]))
			return
		}
		writeJSON(w, 200, c)
	case http.MethodDelete:
		s.delete(w, res, key, parts[2])
	default:
		status(w, 405, "MethodNotAllowed", r.Method+" is not supported by kubefake")
	}
}

// selected reports whether o matches the equality label selector sel
// ("a=b,c=d") and field selector fsel (only metadata.name=X).
func selected(o map[string]any, sel, fsel string) bool {
	labels := strMap(meta(o)["labels"])
	for _, term := range strings.Split(sel, ",") {
		if term == "" {
			continue
		}
		kv := strings.SplitN(strings.Replace(term, "==", "=", 1), "=", 2)
		if len(kv) != 2 || labels[kv[0]] != kv[1] {
			return false
		}
	}
	if fsel != "" {
		kv := strings.SplitN(fsel, "=", 2)
		if len(kv) != 2 || kv[0] != "metadata.name" || name(o) != kv[1] {
			return false
		}
	}
	return true
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, res, ns string) {
	q := r.URL.Query()
	if q.Get("watch") == "true" || q.Get("watch") == "1" {
		// No events: the watch ends when its timeout does (kubectl then
		// lists again).
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		select {
		case <-r.Context().Done():
		case <-time.After(time.Second):
		}
		return
	}
	s.mu.Lock()
	items := []any{}
	var keys []string
	for key := range s.objs {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		o := s.objs[key]
		if strings.HasPrefix(key, res+"/"+ns+"/") && selected(o, q.Get("labelSelector"), q.Get("fieldSelector")) {
			items = append(items, clone(o))
		}
	}
	rv := strconv.FormatInt(s.rv, 10)
	s.mu.Unlock()
	writeJSON(w, 200, map[string]any{"kind": kinds[res].kind + "List", "apiVersion": kinds[res].apiVersion,
		"metadata": map[string]any{"resourceVersion": rv}, "items": items})
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, res, ns string) {
	var o map[string]any
	if err := json.NewDecoder(io.LimitReader(r.Body, 4<<20)).Decode(&o); err != nil {
		status(w, 400, "BadRequest", err.Error())
		return
	}
	m := meta(o)
	if ons, _ := m["namespace"].(string); ons != "" && ons != ns {
		status(w, 400, "BadRequest", "the namespace of the object does not match the namespace of the request")
		return
	}
	n := name(o)
	if n == "" {
		status(w, 422, "Invalid", "metadata.name: Required value")
		return
	}
	if k, _ := o["kind"].(string); k != kinds[res].kind {
		status(w, 400, "BadRequest", fmt.Sprintf("kind %q posted to %s", k, res))
		return
	}
	key := res + "/" + ns + "/" + n
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		status(w, 503, "ServiceUnavailable", "closing")
		return
	}
	if s.objs[key] != nil {
		status(w, 409, "AlreadyExists", fmt.Sprintf("%s %q already exists", res, n))
		return
	}
	s.rv++
	m["namespace"], m["uid"] = ns, fmt.Sprintf("uid-%d", s.rv)
	m["resourceVersion"], m["creationTimestamp"] = strconv.FormatInt(s.rv, 10), time.Now().UTC().Format(time.RFC3339)
	if res == "secrets" {
		data := map[string]any{}
		for k, v := range strMap(o["stringData"]) {
			data[k] = base64.StdEncoding.EncodeToString([]byte(v))
		}
		delete(o, "stringData")
		o["data"] = data
	}
	if res == "jobs" {
		if err := s.startJobLocked(o, ns); err != nil {
			status(w, 422, "Invalid", err.Error())
			return
		}
	}
	s.objs[key] = o
	writeJSON(w, 201, clone(o))
}

// startJobLocked creates and starts the pods of an Indexed Job: one per
// completion index, each a process with JOB_COMPLETION_INDEX-style env
// resolved from the pod (downward API annotations, secret keys, values).
// Only what gameday's Job uses is supported; anything else is refused.
func (s *Server) startJobLocked(job map[string]any, ns string) error {
	spec, _ := job["spec"].(map[string]any)
	if spec == nil {
		return fmt.Errorf("spec: Required value")
	}
	if spec["completionMode"] != "Indexed" {
		return fmt.Errorf("spec.completionMode: kubefake runs Indexed Jobs only")
	}
	completions, _ := spec["completions"].(float64)
	parallelism, _ := spec["parallelism"].(float64)
	if completions < 1 || completions > 1000 || parallelism != completions {
		return fmt.Errorf("spec.completions %v, spec.parallelism %v: kubefake wants them equal, 1 to 1000", completions, parallelism)
	}
	tmpl, _ := spec["template"].(map[string]any)
	pspec, _ := tmpl["spec"].(map[string]any)
	containers, _ := pspec["containers"].([]any)
	if len(containers) != 1 {
		return fmt.Errorf("spec.template.spec.containers: kubefake runs one container")
	}
	if pspec["restartPolicy"] != "Never" {
		return fmt.Errorf("spec.template.spec.restartPolicy: Indexed Jobs here need Never")
	}
	jobName := name(job)
	jobNS := ns
	tlabels := strMap(meta(tmpl)["labels"])
	for i := 0; i < int(completions); i++ {
		idx := strconv.Itoa(i)
		s.rv++
		podName := fmt.Sprintf("%s-%d-%05d", jobName, i, s.rv%100000)
		labels := map[string]any{"job-name": jobName, "batch.kubernetes.io/job-name": jobName, "batch.kubernetes.io/job-completion-index": idx}
		for k, v := range tlabels {
			labels[k] = v
		}
		pod := map[string]any{"apiVersion": "v1", "kind": "Pod",
			"metadata": map[string]any{"name": podName, "namespace": jobNS, "labels": labels, "uid": fmt.Sprintf("uid-%d", s.rv),
				"resourceVersion": strconv.FormatInt(s.rv, 10), "creationTimestamp": time.Now().UTC().Format(time.RFC3339),
				"annotations":     map[string]any{"batch.kubernetes.io/job-completion-index": idx},
				"ownerReferences": []any{map[string]any{"apiVersion": "batch/v1", "kind": "Job", "name": jobName, "uid": meta(job)["uid"], "controller": true}}},
			"spec":   clone(pspec),
			"status": map[string]any{"phase": "Pending"}}
		env, err := s.envLocked(pod, containers[0].(map[string]any), jobNS)
		if err != nil {
			return err
		}
		c := containers[0].(map[string]any)
		image, _ := c["image"].(string)
		var args []string
		if a, ok := c["args"].([]any); ok {
			for _, x := range a {
				args = append(args, fmt.Sprint(x))
			}
		}
		argv := s.Command(image, args)
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(append([]string{"PATH=" + os.Getenv("PATH"), "HOSTNAME=" + podName}, s.Env...), env...)
		cmd.Stdout, cmd.Stderr = s.Output, s.Output
		cmd.WaitDelay = 2 * time.Second
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("kubelet: %w", err)
		}
		key := "pods/" + jobNS + "/" + podName
		pod["status"] = map[string]any{"phase": "Running", "startTime": time.Now().UTC().Format(time.RFC3339)}
		s.objs[key] = pod
		pr := &proc{cmd: cmd, done: make(chan struct{})}
		s.procs[key] = pr
		go s.reap(key, pr, "jobs/"+jobNS+"/"+jobName)
	}
	if d, ok := spec["activeDeadlineSeconds"].(float64); ok && d > 0 {
		jobKey := "jobs/" + jobNS + "/" + jobName
		time.AfterFunc(time.Duration(d)*time.Second, func() { s.failJob(jobKey, "DeadlineExceeded") })
	}
	job["status"] = map[string]any{"active": int(completions)}
	return nil
}

func (s *Server) envLocked(pod, c map[string]any, ns string) ([]string, error) {
	var out []string
	list, _ := c["env"].([]any)
	for _, e := range list {
		em, _ := e.(map[string]any)
		n, _ := em["name"].(string)
		if v, ok := em["value"].(string); ok {
			out = append(out, n+"="+v)
			continue
		}
		vf, _ := em["valueFrom"].(map[string]any)
		switch {
		case vf["fieldRef"] != nil:
			fp, _ := vf["fieldRef"].(map[string]any)["fieldPath"].(string)
			const pre = "metadata.annotations['"
			if !strings.HasPrefix(fp, pre) || !strings.HasSuffix(fp, "']") {
				return nil, fmt.Errorf("env %s: kubefake resolves metadata.annotations['...'] only, not %q", n, fp)
			}
			out = append(out, n+"="+strMap(meta(pod)["annotations"])[strings.TrimSuffix(strings.TrimPrefix(fp, pre), "']")])
		case vf["secretKeyRef"] != nil:
			ref, _ := vf["secretKeyRef"].(map[string]any)
			sn, _ := ref["name"].(string)
			key, _ := ref["key"].(string)
			sec := s.objs["secrets/"+ns+"/"+sn]
			if sec == nil {
				return nil, fmt.Errorf("env %s: secret %q not found", n, sn)
			}
			v, err := base64.StdEncoding.DecodeString(strMap(sec["data"])[key])
			if err != nil {
				return nil, err
			}
			out = append(out, n+"="+string(v))
		default:
			return nil, fmt.Errorf("env %s: unsupported valueFrom", n)
		}
	}
	return out, nil
}

// reap waits for a pod's process and sets the pod's phase; a failed pod
// fails its Job (backoffLimit 0: no index is run again) and ends the
// others, as the Job controller does.
func (s *Server) reap(key string, p *proc, jobKey string) {
	err := p.cmd.Wait()
	s.mu.Lock()
	if s.procs[key] == p {
		delete(s.procs, key)
	}
	close(p.done)
	pod := s.objs[key]
	failed := err != nil
	if pod != nil {
		phase := "Succeeded"
		if failed {
			phase = "Failed"
		}
		s.rv++
		pod["status"] = map[string]any{"phase": phase}
		meta(pod)["resourceVersion"] = strconv.FormatInt(s.rv, 10)
	}
	done := true
	for k, o := range s.objs {
		if strings.HasPrefix(k, "pods/") && owner(o) == jobKey {
			st, _ := o["status"].(map[string]any)
			done = done && st["phase"] == "Succeeded"
		}
	}
	if job := s.objs[jobKey]; job != nil && done && pod != nil {
		job["status"] = map[string]any{"succeeded": 1, "conditions": []any{map[string]any{"type": "Complete", "status": "True"}}}
	}
	s.mu.Unlock()
	if failed && pod != nil {
		s.failJob(jobKey, "BackoffLimitExceeded")
	}
}

func owner(pod map[string]any) string {
	refs, _ := meta(pod)["ownerReferences"].([]any)
	for _, r := range refs {
		rm, _ := r.(map[string]any)
		if rm["kind"] == "Job" {
			return "jobs/" + fmt.Sprint(meta(pod)["namespace"]) + "/" + fmt.Sprint(rm["name"])
		}
	}
	return ""
}

// failJob marks the Job failed and kills its running pods.
func (s *Server) failJob(jobKey, reason string) {
	s.mu.Lock()
	job := s.objs[jobKey]
	if job == nil {
		s.mu.Unlock()
		return
	}
	job["status"] = map[string]any{"failed": 1, "conditions": []any{map[string]any{"type": "Failed", "status": "True", "reason": reason}}}
	var kill []*proc
	for k, p := range s.procs {
		if o := s.objs[k]; o != nil && owner(o) == jobKey {
			kill = append(kill, p)
		}
	}
	s.mu.Unlock()
	terminate(kill)
}

// terminate ends processes as the kubelet does: SIGTERM, then SIGKILL
// after the grace period (10 s, the Job's terminationGracePeriodSeconds).
func terminate(ps []*proc) {
	for _, p := range ps {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	deadline := time.After(10 * time.Second)
	for _, p := range ps {
		select {
		case <-p.done:
			continue
		case <-deadline:
		}
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// delete removes an object; a Job takes its pods with it (their processes
// killed), as foreground cascading deletion does; a pod's process is
// killed.
func (s *Server) delete(w http.ResponseWriter, res, key, n string) {
	s.mu.Lock()
	o := s.objs[key]
	if o == nil {
		s.mu.Unlock()
		status(w, 404, "NotFound", fmt.Sprintf("%s %q not found", res, n))
		return
	}
	var kill []*proc
	victims := []string{key}
	if res == "jobs" {
		for k, p := range s.objs {
			if strings.HasPrefix(k, "pods/") && owner(p) == key {
				victims = append(victims, k)
			}
		}
	}
	for _, k := range victims {
		if p := s.procs[k]; p != nil {
			kill = append(kill, p)
		}
	}
	s.mu.Unlock()
	// The objects go once their processes have ended (a real API server
	// answers at once and keeps them, terminating, meanwhile; kubectl
	// --wait sees the same end state).
	terminate(kill)
	s.mu.Lock()
	for _, k := range victims {
		delete(s.objs, k)
	}
	s.rv++
	s.mu.Unlock()
	writeJSON(w, 200, clone(o))
}
