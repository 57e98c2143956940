package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// cpuProfileEnv names a file the whole process writes its CPU profile to
// (for `make bench` and whoever profiles a real run); unset = no profile.
// An environment variable rather than a flag: it is for developers, and
// it covers every command, startup included. memProfileEnv likewise names
// the heap profile written when the command ends (what is still live then,
// and every allocation since the start).
const (
	cpuProfileEnv = "GAMEDAY_CPUPROFILE"
	memProfileEnv = "GAMEDAY_MEMPROFILE"
)

// startCPUProfile starts the CPU profile GAMEDAY_CPUPROFILE asks for and
// returns the function that stops and writes it.
func startCPUProfile() (stop func()) {
	path := os.Getenv(cpuProfileEnv)
	if path == "" {
		return writeMemProfile
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gameday: %s: %v\n", cpuProfileEnv, err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "gameday: %s: %v\n", cpuProfileEnv, err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
		writeMemProfile()
	}
}

// writeMemProfile writes the heap profile GAMEDAY_MEMPROFILE asks for.
func writeMemProfile() {
	path := os.Getenv(memProfileEnv)
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.Lookup("heap").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gameday: %s: %v\n", memProfileEnv, err)
	}
}
