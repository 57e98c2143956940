//go:build !unix

package childproc

import "os"

// Terminate ends the child: there is no SIGTERM here, so both kinds kill.
func Terminate(pid int, _ bool) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}

// TerminateGroup does nothing here: there are no process groups.
func TerminateGroup(int, bool) {}
