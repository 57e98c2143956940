package generators

import "syscall"

// sysProcAttr: a process group of its own (so Stop reaches its children)
// and SIGKILL when the coordinator's thread that started it dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
