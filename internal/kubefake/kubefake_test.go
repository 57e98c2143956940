package kubefake

import (
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

const testJob = `{"apiVersion":"v1","kind":"List","items":[
{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","labels":{"app":"t"}},"stringData":{"token":"sekrit"}},
{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"j","labels":{"app":"t"}},"spec":{"completionMode":"Indexed","completions":2,"parallelism":2,"backoffLimit":0,
 "template":{"metadata":{"labels":{"app":"t"}},"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"img","args":["sh","-c","echo $IDX $TOK; exec sleep 30"],
 "env":[{"name":"IDX","valueFrom":{"fieldRef":{"fieldPath":"metadata.annotations['batch.kubernetes.io/job-completion-index']"}}},
        {"name":"TOK","valueFrom":{"secretKeyRef":{"name":"s","key":"token"}}}]}]}}}}]}`

func kubectl(t *testing.T, kc string, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command("kubectl", append([]string{"--kubeconfig", kc}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// The real kubectl applies a Secret and an Indexed Job, lists the pods by
// label, and deletes by label; the pods' processes run with their index
// and the secret's value, and are gone after the delete.
func TestKubectlApplyGetDelete(t *testing.T) {
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("no kubectl on PATH (scripts/test-deps.sh installs it)")
	}
	var out strings.Builder
	s, err := Start(func(_ string, args []string) []string { return args }, &syncWriter{w: &out})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	kc, err := s.Kubeconfig(t.TempDir(), "ns1")
	if err != nil {
		t.Fatal(err)
	}
	out1 := kubectl(t, kc, testJob, "apply", "--validate=false", "-o", "json", "-f", "-")
	if !strings.Contains(out1, `"completionMode": "Indexed"`) {
		t.Errorf("apply -o json did not print the Job as created: %.500s", out1)
	}
	if pods := s.Objects("pods", "ns1"); len(pods) != 2 || len(s.PIDs()) != 2 {
		t.Fatalf("%d pods, processes %v", len(pods), s.PIDs())
	}
	got := kubectl(t, kc, "", "get", "pods", "-l", "app=t", "-o", "jsonpath={.items[*].metadata.annotations.batch\\.kubernetes\\.io/job-completion-index}")
	if got != "0 1" {
		t.Fatalf("indexes %q", got)
	}
	kubectl(t, kc, "", "delete", "jobs", "-l", "app=t", "--cascade=foreground", "--wait", "--timeout=30s")
	kubectl(t, kc, "", "delete", "pods,secrets", "-l", "app=t", "--ignore-not-found", "--wait", "--timeout=30s")
	if n := len(s.Objects("pods", "")) + len(s.Objects("jobs", "")) + len(s.Objects("secrets", "")); n != 0 || len(s.PIDs()) != 0 {
		t.Fatalf("left: %d objects, processes %v", n, s.PIDs())
	}
	for _, want := range []string{"0 sekrit", "1 sekrit"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the pods' output %q lacks %q", out.String(), want)
		}
	}
	t.Logf("requests:\n%s", strings.Join(s.Requests(), "\n"))
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}
