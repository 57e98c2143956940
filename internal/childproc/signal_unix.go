//go:build unix

package childproc

import "syscall"

// Terminate signals a child's process group and the child itself: SIGTERM,
// or SIGKILL when hard.
func Terminate(pid int, hard bool) {
	if pid <= 0 {
		return
	}
	sig := syscall.SIGTERM
	if hard {
		sig = syscall.SIGKILL
	}
	_ = syscall.Kill(-pid, sig)
	_ = syscall.Kill(pid, sig)
}

// TerminateGroup signals only the process group a child leads: safe after
// the child itself was reaped (its pid may be reused; a group id is only
// reused by a new group leader of that pid).
func TerminateGroup(pgid int, hard bool) {
	if pgid <= 0 {
		return
	}
	sig := syscall.SIGTERM
	if hard {
		sig = syscall.SIGKILL
	}
	_ = syscall.Kill(-pgid, sig)
}
