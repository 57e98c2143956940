package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gameday-dev/gameday/record"
)

func mainCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// validate takes --set like run and plan, with the same semantics; a bad
// value names the flag it came from.
func TestValidateTakesSet(t *testing.T) {
	code, out, _ := mainCLI("validate", "../../experiments/gameday.yaml", "--set", "load.rate=500")
	if code != 0 || !strings.Contains(out, "gameday.yaml: ok") {
		t.Fatalf("exit %d: %s", code, out)
	}
	code, _, stderr := mainCLI("validate", "../../experiments/gameday.yaml", "--set", "load.rate=NaN")
	if code != 2 || !strings.Contains(stderr, "load.rate (from --set load.rate=NaN): .NaN is not a finite number") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	t.Setenv("GAMEDAY_LOAD_RATE", "Inf")
	code, _, stderr = mainCLI("validate", "../../experiments/gameday.yaml")
	if code != 2 || !strings.Contains(stderr, "load.rate (from GAMEDAY_LOAD_RATE=Inf): +Inf is not a finite number") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

// Devices, FIFOs and directories are refused as experiments, run records
// and journals, at once and with exit 2, never read.
func TestOnlyRegularFilesAreRead(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"validate", "/dev/zero"}, "/dev/zero: not a regular file (a character device)"},
		{[]string{"validate", fifo}, fifo + ": not a regular file (a FIFO)"},
		{[]string{"plan", fifo}, fifo + ": not a regular file (a FIFO)"},
		{[]string{"report", "/dev/zero"}, "/dev/zero: not a regular file (a character device)"},
		{[]string{"report", fifo}, "not a regular file (a FIFO)"},
		{[]string{"compare", "/dev/zero", fifo}, "/dev/zero: not a regular file"},
		{[]string{"rollback", "--journal", "/dev/zero"}, "--journal /dev/zero: /dev/zero: not a regular file (a character device)"},
		{[]string{"rollback", "--journal", fifo}, "not a regular file (a FIFO)"},
		{[]string{"run", "../../experiments/gameday.yaml", "--journal", "/dev/zero"}, "--journal: /dev/zero: not a regular file"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			done := make(chan struct{})
			var code int
			var stderr string
			go func() { code, _, stderr = mainCLI(tc.args...); close(done) }()
			select {
			case <-done:
			case <-time.After(60 * time.Second):
				t.Fatal("blocked")
			}
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, want 2 with %q:\n%s", code, tc.want, stderr)
			}
		})
	}
}

// A run record larger than the limit is refused, naming the limit.
func TestReportRefusesHugeRecord(t *testing.T) {
	p := filepath.Join(t.TempDir(), "run.json")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(record.MaxFileBytes + 1); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	f.Close()
	code, _, stderr := mainCLI("report", p)
	if code != 2 || !strings.Contains(stderr, "larger than the 512 MiB limit") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

// Run folders are created exclusively with a random part: any number of
// runs of one experiment started in the same second get folders (and run
// ids) of their own.
func TestRunFoldersUniqueInOneSecond(t *testing.T) {
	parent := filepath.Join(t.TempDir(), "gameday-runs")
	now := time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			d, err := newRunDir(parent, "same name", now)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if seen[d] {
				t.Errorf("%s handed out twice", d)
			}
			seen[d] = true
			if !strings.HasPrefix(filepath.Base(d), "same-name-20261201T040000Z-") {
				t.Errorf("folder %s", d)
			}
		})
	}
	wg.Wait()
	ents, _ := os.ReadDir(parent)
	if len(ents) != 50 {
		t.Fatalf("%d folders for 50 runs", len(ents))
	}
}

// Two whole runs started together without --out used to share
// gameday-runs/NAME-TIME (one journal, one run.json); each gets its own
// folder and run id now.
func TestTwoRunsStartedTogetherKeepApart(t *testing.T) {
	exp, err := filepath.Abs("testdata/two-at-once.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	var wg sync.WaitGroup
	codes := make([]int, 2)
	errs := make([]string, 2)
	for i := range 2 {
		wg.Go(func() { codes[i], _, errs[i] = mainCLI("run", exp, "-q", "--format", "json") })
	}
	wg.Wait()
	for i := range 2 {
		if codes[i] != 0 {
			t.Fatalf("run %d: exit %d: %s", i, codes[i], errs[i])
		}
	}
	dirs, _ := filepath.Glob("gameday-runs/*")
	if len(dirs) != 2 {
		t.Fatalf("want 2 run folders, got %v", dirs)
	}
	ids := map[string]bool{}
	for _, d := range dirs {
		r, err := record.Read(filepath.Join(d, "run.json"))
		if err != nil {
			t.Fatal(err)
		}
		if r.ID != filepath.Base(d) {
			t.Errorf("run id %q in folder %s", r.ID, d)
		}
		ids[r.ID] = true
	}
	if len(ids) != 2 {
		t.Fatalf("run ids %v", ids)
	}
}

// A signal ends a command that has changed nothing at once (exit 130),
// with words that fit it, instead of "rolling back every fault".
func TestSignalEndsReadOnlyCommandAtOnce(t *testing.T) {
	// An "attached sandbox" that accepts connections and never answers:
	// plan blocks on it until the signal.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	exp := filepath.Join(t.TempDir(), "x.yaml")
	y := fmt.Sprintf("name: x\ntarget: {kind: sandbox, sandbox: {endpoint: \"http://%s\"}}\nload: {rate: 10, duration: 20s}\nsteady_state: {thresholds: [\"success_ratio >= 0.9\"]}\n", ln.Addr())
	if err := os.WriteFile(exp, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(gamedayBinary(t), "plan", exp)
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-accepted:
		defer c.Close()
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("plan never connected")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	out := stderr.String()
	if code != 130 || !strings.Contains(out, "terminated: interrupted; plan changes nothing, so it stops at once") || strings.Contains(out, "rolling back") {
		t.Fatalf("exit %d (%v), stderr:\n%s", code, err, out)
	}
}

func TestFirstSignalWords(t *testing.T) {
	for _, name := range []string{"validate", "plan", "report", "compare", "version"} {
		w, graceful := firstSignal(name, syscall.SIGINT)
		if graceful || strings.Contains(w, "rolling back") || !strings.Contains(w, name+" changes nothing") {
			t.Errorf("%s: %q graceful=%v", name, w, graceful)
		}
	}
	if w, graceful := firstSignal("run", syscall.SIGTERM); !graceful || !strings.Contains(w, "rolling back every fault") {
		t.Errorf("run: %q graceful=%v", w, graceful)
	}
}
