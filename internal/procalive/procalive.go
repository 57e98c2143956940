package procalive

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Local reports whether pid is a live gameday process on this machine that
// was already running at since (zero: unknown). This very process counts as
// not alive (its own faults are its to undo).
//
// Where /proc exists (Linux) the process must be a gameday program by
// argv[0] (a reused pid running `tail -f gameday-notes.txt` is not) and
// must have started before since (+2 s; a later start is a reused pid).
// Elsewhere (darwin, windows, the BSDs) any existing process with that pid
// counts (a signal 0 on unix, OpenProcess on windows): that errs towards
// leaving a fault for --force rather than undoing a live run's.
func Local(pid int, since time.Time) bool {
	if pid <= 0 || pid == os.Getpid() {
		return false
	}
	if !hasProc() {
		return pidExists(pid)
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	argv0, _, _ := strings.Cut(string(b), "\x00")
	if !isGamedayProgram(argv0) {
		return false
	}
	if st, ok := processStart(pid); ok && !since.IsZero() && st.After(since.Add(2*time.Second)) {
		return false
	}
	return true
}

// hasProc reports whether this system has a Linux-style /proc.
func hasProc() bool {
	_, err := os.Stat("/proc/self/stat")
	return err == nil
}

func isGamedayProgram(argv0 string) bool {
	base := filepath.Base(argv0)
	if strings.HasPrefix(base, "gameday") {
		return true
	}
	if exe, err := os.Executable(); err == nil && base == filepath.Base(exe) {
		return true
	}
	return false
}

// processStart reads a process's start time from /proc (Linux).
func processStart(pid int) (time.Time, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return time.Time{}, false
	}
	// Fields after the command (which may hold spaces) in parentheses.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return time.Time{}, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return time.Time{}, false
	}
	ticks, err := strconv.ParseInt(f[19], 10, 64) // field 22: starttime
	if err != nil {
		return time.Time{}, false
	}
	st, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}, false
	}
	for _, line := range strings.Split(string(st), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			bt, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return time.Time{}, false
			}
			const hz = 100 // USER_HZ on Linux
			return time.Unix(bt, 0).Add(time.Duration(ticks) * time.Second / hz), true
		}
	}
	return time.Time{}, false
}
