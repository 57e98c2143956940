// Package recovery finishes the rollbacks a crashed or twice-interrupted run
// left in its journals: it reads every journal, undoes the pending faults
// newest apply first across all of them (unless the run that applied them
// is still alive), marks them done, releases leases, and optionally sweeps
// the account for tagged leftovers no journal accounts for. `gameday
// rollback` is a thin CLI over Run; errors carry their exit codes
// (internal/exitcode).
package recovery
