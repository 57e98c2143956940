//go:build !unix && !windows

package procalive

// pidExists cannot tell on this system: every pid counts as alive, so a
// rollback leaves the fault for --force rather than undo a live run's.
func pidExists(int) bool { return true }
