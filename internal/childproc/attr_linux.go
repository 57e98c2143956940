package childproc

import "syscall"

// SysProcAttr returns the attributes for exec.Cmd.SysProcAttr: a process
// group of its own and SIGKILL when the starting thread dies.
func SysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
