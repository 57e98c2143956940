//go:build unix && !linux

package childproc

import "syscall"

// SysProcAttr returns the attributes for exec.Cmd.SysProcAttr: a process
// group of its own (there is no parent-death signal on this system).
func SysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
