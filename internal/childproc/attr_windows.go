package childproc

import "syscall"

// SysProcAttr returns nil: Windows has no process groups in this sense.
func SysProcAttr() *syscall.SysProcAttr { return nil }
