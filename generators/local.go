package generators

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Local starts workers as processes on this machine: Command (default this
// executable, "worker") plus the worker's flags. Each worker gets its own
// process group, and the kernel kills it if the coordinator dies
// (PR_SET_PDEATHSIG on Linux); Stop sends SIGTERM to the group, then
// SIGKILL after Grace.
type Local struct {
	Command []string
	// Env is added to the worker's environment (besides the token).
	Env []string
	// Output receives the workers' stdout and stderr; nil discards them.
	Output io.Writer
	Grace  time.Duration
}

// LocalRef is the journal record of a local worker.
type LocalRef struct {
	PID int `json:"pid"`
	// StartTicks is the process's start time (field 22 of /proc/PID/stat),
	// so that a later rollback never signals a reused PID.
	StartTicks uint64 `json:"start_ticks"`
	Host       string `json:"host"`
}

// Name implements Engine.
func (l *Local) Name() string { return "local" }

// Start implements Engine.
func (l *Local) Start(_ context.Context, w WorkerSpec) (Handle, error) {
	argv := l.Command
	if len(argv) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		argv = []string{exe, "worker"}
	}
	args := append(append([]string(nil), argv[1:]...), "--coordinator", w.Coordinator, "--id", w.ID)
	if w.Raw != "" {
		args = append(args, "--raw", w.Raw)
	}
	cmd := exec.Command(argv[0], args...)
	cmd.Env = append(append(os.Environ(), l.Env...), TokenEnv+"="+w.Token)
	cmd.Stdout, cmd.Stderr = l.Output, l.Output
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	h := &localHandle{cmd: cmd, exited: make(chan struct{}), grace: l.Grace}
	if h.grace <= 0 {
		h.grace = 5 * time.Second
	}
	h.ref.PID = cmd.Process.Pid
	h.ref.StartTicks, _ = startTicks(cmd.Process.Pid)
	h.ref.Host, _ = os.Hostname()
	go func() {
		_ = cmd.Wait()
		close(h.exited)
	}()
	return h, nil
}

type localHandle struct {
	cmd    *exec.Cmd
	exited chan struct{}
	grace  time.Duration
	ref    LocalRef
}

func (h *localHandle) Ref() json.RawMessage    { b, _ := json.Marshal(h.ref); return b }
func (h *localHandle) Exited() <-chan struct{} { return h.exited }

func (h *localHandle) Stop(ctx context.Context) error {
	select {
	case <-h.exited:
		return nil
	default:
	}
	terminate(h.ref.PID, false)
	t := time.NewTimer(h.grace)
	defer t.Stop()
	select {
	case <-h.exited:
		return nil
	case <-t.C:
	case <-ctx.Done():
	}
	terminate(h.ref.PID, true)
	select {
	case <-h.exited:
		return nil
	case <-time.After(5 * time.Second):
		return fmt.Errorf("pid %d did not end after SIGKILL", h.ref.PID)
	}
}

// startTicks reads a process's start time from /proc (0 where there is no
// /proc).
func startTicks(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: fields count from the
	// last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("stat: no ')'")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0, errors.New("stat: short")
	}
	return strconv.ParseUint(f[19], 10, 64) // field 22 overall
}

// stopLocal stops a journaled local worker if it is still the same process.
func stopLocal(ref LocalRef, grace time.Duration) (bool, error) {
	host, _ := os.Hostname()
	if ref.Host != "" && ref.Host != host {
		return false, fmt.Errorf("worker ran on host %s, this is %s", ref.Host, host)
	}
	if ref.PID <= 0 {
		return false, nil
	}
	ticks, err := startTicks(ref.PID)
	if err != nil || (ref.StartTicks != 0 && ticks != ref.StartTicks) || zombie(ref.PID) {
		return false, nil // gone, exited, or the PID was reused: nothing to stop
	}
	terminate(ref.PID, false)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if t, err := startTicks(ref.PID); err != nil || t != ticks || zombie(ref.PID) {
			return true, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	terminate(ref.PID, true)
	return true, nil
}

func zombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && len(s) > i+2 && s[i+2] == 'Z'
}

// Kill sends SIGKILL (a crash, not a stop).
func (h *localHandle) Kill() error {
	terminate(h.ref.PID, true)
	return nil
}
