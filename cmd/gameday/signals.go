package main

import (
	"fmt"
	"os"

	"github.com/gameday-dev/gameday/internal/exitcode"
)

// firstSignal says what the first SIGINT/SIGTERM does while the named
// command runs: the words to print and whether to cancel the command and
// let it finish (graceful) or to exit at once. Only run and rollback touch
// the account, and sandbox owns a region worth closing; every other
// command has changed nothing and ends at once, with words that fit it.
func firstSignal(name string, s os.Signal) (words string, graceful bool) {
	switch name {
	case "run":
		return fmt.Sprintf("%v: stopping and rolling back every fault (a second signal exits at once and leaves the journal for `gameday rollback`)", s), true
	case "rollback":
		return fmt.Sprintf("%v: stopping after the rollback step under way (a second signal exits at once; the journal keeps what is left for another `gameday rollback`)", s), true
	case "worker":
		return fmt.Sprintf("%v: stopping: sending what was measured to the coordinator", s), true
	case "sandbox":
		return fmt.Sprintf("%v: stopping the sandbox", s), true
	case "":
		return fmt.Sprintf("%v: interrupted", s), false
	}
	return fmt.Sprintf("%v: interrupted; %s changes nothing, so it stops at once", s, name), false
}

// secondSignal says what a second signal does after a graceful first one:
// the words and the exit code. run and rollback leave work for `gameday
// rollback` (exit 4); the sandbox holds no fault of its own to roll back:
// its region lives in memory and ends with the process.
func secondSignal(name, journal string) (words string, code int) {
	if name == "sandbox" {
		return "exiting at once; the sandbox's region lived in this process and is gone (nothing to roll back)", exitcode.Interrupted
	}
	hint := "gameday rollback"
	if journal != "" {
		hint += " --journal " + journal
	}
	return fmt.Sprintf("exiting without finishing rollback; run `%s` to finish it", hint), exitcode.Rollback
}
