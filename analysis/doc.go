// Package analysis turns a run's timeline into verdicts: whether each window
// holds the steady state, each fault's time to impact and time to recover,
// per-phase figures, and gate results. It does no I/O.
package analysis
