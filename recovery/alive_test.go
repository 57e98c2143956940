//go:build unix

package recovery

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// The fallback for systems without /proc (darwin, the BSDs), exercised
// here on whatever unix runs the tests: a running child exists, a reaped
// one does not.
func TestPidExistsFallback(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Skipf("no sleep to start: %v", err)
	}
	pid := cmd.Process.Pid
	if !pidExists(pid) {
		t.Errorf("pidExists(%d) = false for a running child", pid)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if pidExists(pid) {
		t.Errorf("pidExists(%d) = true after the child was reaped", pid)
	}
	if !pidExists(os.Getpid()) {
		t.Error("pidExists(self) = false")
	}
}

func TestProcessAliveOtherHost(t *testing.T) {
	if ProcessAlive(os.Getppid(), "some-other-host.invalid", time.Now()) {
		t.Error("a journal from another host counts as alive")
	}
}
