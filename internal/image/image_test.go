package image

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gameday-dev/gameday/attack"
	"github.com/gameday-dev/gameday/generators"
	"github.com/gameday-dev/gameday/timeline"
)

const version = "imagetest"

// needTools skips where the image cannot be built (not root, or buildah or
// skopeo missing), except in CI, where scripts/test-deps.sh installs them
// and CI runs as root: there a missing tool fails the test.
func needTools(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the image is built on Linux only")
	}
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	for _, tool := range []string{"buildah", "skopeo"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("CI cannot build the image: missing %s (scripts/test-deps.sh installs buildah and skopeo)", strings.Join(missing, ", "))
	}
	t.Skipf("needs %s to build the image (scripts/test-deps.sh installs buildah and skopeo)", strings.Join(missing, ", "))
}

func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out
}

// buildah runs buildah on a storage of the test's own.
type buildah struct{ args []string }

func newBuildah(t *testing.T) buildah {
	dir := t.TempDir()
	b := buildah{args: []string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"), "--storage-driver", "vfs"}}
	// The storage holds files owned by 65532 and mounts; buildah removes
	// them before TempDir's cleanup (registered earlier, so run later).
	t.Cleanup(func() { _ = exec.Command("buildah", append(slices.Clone(b.args), "rm", "--all")...).Run() })
	return b
}

func (b buildah) cmd(args ...string) []string { return append(slices.Clone(b.args), args...) }

func (b buildah) run(t *testing.T, args ...string) string {
	t.Helper()
	return strings.TrimSpace(string(run(t, "buildah", b.cmd(args...)...)))
}

// The image builds from the Dockerfile with no daemon and no pull, is what
// the Dockerfile says (a static binary on an empty base, nonroot, no
// shell), and its entrypoint runs in a container: `version` prints the
// stamped version, and two containers run `gameday worker` for a
// coordinator on loopback and send the plan exactly between them.
func TestImageBuildsAndItsWorkersSendThePlan(t *testing.T) {
	needTools(t)
	out := t.TempDir()
	build := exec.Command("bash", filepath.Join("..", "..", "scripts", "image.sh"), out)
	// No -trimpath: the binary is linked from what `go test` already
	// compiled (a cold build takes minutes on the 2-core CI machine).
	build.Env = append(os.Environ(), "VERSION="+version, "BUILDFLAGS=")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("scripts/image.sh: %v\n%s", err, b)
	}
	archive := filepath.Join(out, "gameday.oci.tar")
	ref := "oci-archive:" + archive

	// What skopeo reads from the archive: the config the Dockerfile sets,
	// one layer.
	var cfg struct {
		OS, Architecture string
		Config           struct {
			User, WorkingDir string
			Entrypoint, Cmd  []string
		}
	}
	if err := json.Unmarshal(run(t, "skopeo", "inspect", "--config", ref), &cfg); err != nil {
		t.Fatal(err)
	}
	c := cfg.Config
	if cfg.OS != "linux" || cfg.Architecture != runtime.GOARCH || c.User != "65532:65532" || c.WorkingDir != "/home/nonroot" ||
		!slices.Equal(c.Entrypoint, []string{"/gameday"}) || !slices.Equal(c.Cmd, []string{"worker", "--help"}) {
		t.Fatalf("image config: %+v", cfg)
	}
	var manifest struct {
		Layers []struct {
			MediaType string
			Size      int64
		}
	}
	if err := json.Unmarshal(run(t, "skopeo", "inspect", "--raw", ref), &manifest); err != nil {
		t.Fatal(err)
	}
	if len(manifest.Layers) != 1 || manifest.Layers[0].MediaType != "application/vnd.oci.image.layer.v1.tar+gzip" {
		t.Fatalf("image layers: %+v", manifest.Layers)
	}
	bin, err := os.Stat(filepath.Join(out, "gameday"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image: one layer of %.1f MB compressed (binary %.1f MB)", float64(manifest.Layers[0].Size)/1e6, float64(bin.Size())/1e6)

	// The image's files, from a container of the archive.
	b := newBuildah(t)
	ctr := b.run(t, "from", "--quiet", "--pull-never", ref)
	root := b.run(t, "mount", ctr)
	files := map[string]struct {
		mode     os.FileMode
		uid, gid uint32
	}{
		"gameday":                           {0o755, 0, 0},
		"etc/passwd":                        {0o644, 0, 0},
		"etc/group":                         {0o644, 0, 0},
		"etc/nsswitch.conf":                 {0o644, 0, 0},
		"etc/ssl/certs/ca-certificates.crt": {0o644, 0, 0},
		"tmp":                               {os.ModeDir | os.ModeSticky | 0o777, 0, 0},
		"home/nonroot":                      {os.ModeDir | 0o700, 65532, 65532},
	}
	for name, want := range files {
		fi, err := os.Lstat(filepath.Join(root, name))
		if err != nil {
			t.Errorf("image: %v", err)
			continue
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode() != want.mode || st.Uid != want.uid || st.Gid != want.gid {
			t.Errorf("image: /%s is %v %d:%d, want %v %d:%d", name, fi.Mode(), st.Uid, st.Gid, want.mode, want.uid, want.gid)
		}
	}
	for _, name := range []string{"bin", "bin/sh", "usr", "lib"} {
		if _, err := os.Lstat(filepath.Join(root, name)); err == nil {
			t.Errorf("image: /%s exists; the image carries the binary and its few files only", name)
		}
	}
	if passwd, _ := os.ReadFile(filepath.Join(root, "etc", "passwd")); !strings.Contains(string(passwd), "\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n") {
		t.Errorf("image: /etc/passwd has no nonroot 65532 entry:\n%s", passwd)
	}
	if ca, _ := os.ReadFile(filepath.Join(root, "etc", "ssl", "certs", "ca-certificates.crt")); bytes.Count(ca, []byte("BEGIN CERTIFICATE")) < 50 {
		t.Errorf("image: the CA bundle holds %d certificates", bytes.Count(ca, []byte("BEGIN CERTIFICATE")))
	}
	b.run(t, "umount", ctr)

	// The entrypoint runs in the container, as the image's user.
	if got := b.run(t, "run", "--isolation", "chroot", ctr, "--", "/gameday", "version"); got != "gameday "+version {
		t.Fatalf("gameday version in the container: %q", got)
	}
	// As nonroot it cannot look into /root (0700 root): as root it would
	// find no such file instead.
	denied, err := exec.Command("buildah", b.cmd("run", "--isolation", "chroot", ctr, "--", "/gameday", "validate", "/root/x.yaml")...).CombinedOutput()
	if err == nil || !strings.Contains(string(denied), "/root/x.yaml: stat /root/x.yaml: permission denied") {
		t.Fatalf("gameday validate /root/x.yaml in the container (want permission denied, as nonroot): %v\n%s", err, denied)
	}

	// Two workers in two containers send a real slice each.
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		served.Add(1)
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	co, err := generators.New(generators.Config{Engine: &containers{t: t, b: b, ref: ref}, Count: 2, RunID: "image", JoinTimeout: time.Minute, Log: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	defer co.Close()
	acfg := attack.Config{Requests: []attack.Request{{Method: "GET", URL: srv.URL + "/"}}, Timeout: 2 * time.Second, KeepAlive: true,
		Stages: []attack.Stage{{Duration: time.Second, From: 100, To: 100}}}
	plan, err := attack.NewPlan(acfg.Stages)
	if err != nil {
		t.Fatal(err)
	}
	width := 250 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start, err := co.Barrier(ctx, acfg, width)
	if err != nil {
		t.Fatal(err)
	}
	tl, _ := timeline.New(start, width)
	var mu sync.Mutex
	sum, err := co.Run(ctx, func(i int, cnt *timeline.Counts) error {
		mu.Lock()
		defer mu.Unlock()
		return tl.MergeWindow(i, cnt)
	}, func(why string) { t.Errorf("abort: %s", why) })
	if err != nil {
		t.Fatal(err)
	}
	if err := co.Close(); err != nil {
		t.Fatal(err)
	}
	total := tl.Total()
	if sum.Asked != plan.Total() || total.Requests != plan.Total() {
		t.Fatalf("asked %d, merged %d, plan %d", sum.Asked, total.Requests, plan.Total())
	}
	if sum.Sent+total.Classes.Get(timeline.ClassNotSent) != sum.Asked || sum.Sent != uint64(served.Load()) || total.Successes != sum.Sent {
		t.Fatalf("sent %d (%d ok), not sent %d, asked %d, served %d", sum.Sent, total.Successes, total.Classes.Get(timeline.ClassNotSent), sum.Asked, served.Load())
	}
}

// containers is an engine that runs each worker as the image's entrypoint
// in a container of its own (buildah run, chroot isolation, the host's
// network: the coordinator and the target are on loopback).
type containers struct {
	t   *testing.T
	b   buildah
	ref string
}

func (e *containers) Name() string { return "buildah" }

func (e *containers) Start(ctx context.Context, w generators.WorkerSpec) (generators.Handle, error) {
	out, err := exec.CommandContext(ctx, "buildah", e.b.cmd("from", "--quiet", "--pull-never", e.ref)...).Output()
	if err != nil {
		return nil, err
	}
	ctr := strings.TrimSpace(string(out))
	// The token goes in with --env; Local appends --coordinator and --id.
	l := &generators.Local{
		Command: append(append([]string{"buildah"}, e.b.cmd("run", "--isolation", "chroot", "--env", generators.TokenEnv+"="+w.Token, ctr, "--")...), "/gameday", "worker"),
		Output:  os.Stderr,
		Grace:   2 * time.Second,
	}
	return l.Start(ctx, w)
}
