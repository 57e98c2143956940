//go:build unix

package procalive

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

// On Linux, a live child that is not a gameday program is not alive (a
// reused pid), and neither is this very process.
func TestLocalWantsAGamedayProgram(t *testing.T) {
	if !hasProc() {
		t.Skip("no /proc here")
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Skipf("no sleep to start: %v", err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if Local(cmd.Process.Pid, time.Now()) {
		t.Error("a live sleep counts as a gameday process")
	}
	if Local(os.Getpid(), time.Time{}) {
		t.Error("this very process counts as another live run")
	}
}
