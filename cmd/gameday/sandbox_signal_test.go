package main

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gameday-dev/gameday/internal/exitcode"
	"github.com/gameday-dev/gameday/internal/testutil"
)

// TestSandboxSignalWords: SIGTERM stops `gameday sandbox` with words that
// fit a sandbox, never "rolling back every fault", and it exits 0.
func TestSandboxSignalWords(t *testing.T) {
	cmd := exec.Command(gamedayBinary(t), "sandbox")
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, "gameday sandbox prints its endpoint", func() bool { return strings.Contains(stdout.String(), "AWS endpoint") })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("gameday sandbox did not stop on SIGTERM; stderr:\n%s", stderr.String())
	}
	out := stderr.String()
	if !strings.Contains(out, "terminated: stopping the sandbox") || strings.Contains(out, "rolling back") || strings.Contains(out, "gameday rollback") || cmd.ProcessState.ExitCode() != 0 {
		t.Errorf("exit %d, stderr:\n%s", cmd.ProcessState.ExitCode(), out)
	}
}

// TestSecondSignalWords: a second signal while the sandbox closes does not
// send the user to `gameday rollback` (the sandbox closes too fast for a
// process test to land a second signal reliably, so this checks the words
// main prints).
func TestSecondSignalWords(t *testing.T) {
	if w, code := secondSignal("sandbox", ""); code != exitcode.Interrupted || strings.Contains(w, "gameday rollback") || !strings.Contains(w, "nothing to roll back") {
		t.Errorf("sandbox second signal: %q %d", w, code)
	}
	if w, code := secondSignal("run", "/tmp/j.json"); code != exitcode.Rollback || !strings.Contains(w, "gameday rollback --journal /tmp/j.json") {
		t.Errorf("run second signal: %q %d", w, code)
	}
}
