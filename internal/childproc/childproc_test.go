//go:build linux

package childproc

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// A child started with SysProcAttr leads its own process group;
// TerminateGroup reaches the grandchild in it, Terminate the child.
func TestGroupAndTerminate(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", `sleep 30 & echo $!; wait`)
	cmd.SysProcAttr = SysProcAttr()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Skipf("no /bin/sh: %v", err)
	}
	defer func() { Terminate(cmd.Process.Pid, true); _ = cmd.Wait() }()
	buf := make([]byte, 32)
	n, _ := out.Read(buf)
	grandchild, err := strconv.Atoi(string(buf[:n-1]))
	if err != nil {
		t.Fatalf("grandchild pid %q: %v", buf[:n], err)
	}
	pgid, err := syscall.Getpgid(grandchild)
	if err != nil || pgid != cmd.Process.Pid {
		t.Fatalf("grandchild's group %d (%v), want the child's pid %d", pgid, err, cmd.Process.Pid)
	}
	TerminateGroup(cmd.Process.Pid, true)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the child survived SIGKILL to its group")
	}
	deadline := time.Now().Add(5 * time.Second)
	for alive(grandchild) {
		if time.Now().After(deadline) {
			t.Fatal("the grandchild survived SIGKILL to the group")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// alive: the process exists and is not a zombie waiting for its reaper.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || len(b) <= i+2 || b[i+2] != 'Z'
}
