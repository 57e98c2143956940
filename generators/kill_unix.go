//go:build !windows

package generators

import "syscall"

// terminate signals a worker's process group and the process itself:
// SIGTERM (the worker reports what it measured and exits), or SIGKILL.
func terminate(pid int, hard bool) {
	sig := syscall.SIGTERM
	if hard {
		sig = syscall.SIGKILL
	}
	_ = syscall.Kill(-pid, sig)
	_ = syscall.Kill(pid, sig)
}
