package recovery

import (
	"os"
	"time"

	"github.com/gameday-dev/gameday/faults"
)

// ProcessAlive reports whether the process that wrote a journal entry still
// runs, so its faults are not undone under it. A journal from another host
// counts as not alive (its process cannot be seen from here).
//
// Where /proc exists (Linux) it is faults.ProcessAlive: a gameday program
// (by argv[0]) with that pid, started before the entry was begun (a reused
// pid is not it). Elsewhere (darwin, windows, the BSDs) faults.ProcessAlive
// would answer "not alive" for every pid, and a rollback could undo a live
// run; there any existing process with that pid counts as alive (a signal
// 0 on unix, OpenProcess on windows), which errs towards leaving a fault
// for --force rather than undoing a live run's.
func ProcessAlive(pid int, host string, began time.Time) bool {
	if h, _ := os.Hostname(); host != "" && host != h {
		return false
	}
	if hasProc() {
		return faults.ProcessAlive(pid, host, began)
	}
	if pid <= 0 || pid == os.Getpid() {
		return false
	}
	return pidExists(pid)
}

// hasProc reports whether this system has a Linux-style /proc.
func hasProc() bool {
	_, err := os.Stat("/proc/self/stat")
	return err == nil
}
