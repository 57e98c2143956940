//go:build unix

package procalive

import (
	"errors"
	"syscall"
)

// pidExists sends signal 0: no error, or EPERM (someone else's process),
// means a process with that pid exists.
func pidExists(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
