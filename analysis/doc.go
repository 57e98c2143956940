// Package analysis turns a run's timeline into verdicts: whether each window
// holds the steady state, each fault's time to impact and time to recover,
// per-phase figures (Finish, a pure function of the timeline, the faults'
// injection and rollback times and the probes' series), gate results
// (JudgeGates) and regression gates against a baseline run
// (JudgeRegressions). It does no I/O and links no renderer.
package analysis
