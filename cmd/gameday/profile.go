package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// cpuProfileEnv names a file the whole process writes its CPU profile to
// (for `make bench` and whoever profiles a real run); unset = no profile.
// An environment variable rather than a flag: it is for developers, and
// it covers every command, startup included.
const cpuProfileEnv = "GAMEDAY_CPUPROFILE"

// startCPUProfile starts the CPU profile GAMEDAY_CPUPROFILE asks for and
// returns the function that stops and writes it.
func startCPUProfile() (stop func()) {
	path := os.Getenv(cpuProfileEnv)
	if path == "" {
		return func() {}
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
	}
}
