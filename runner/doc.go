// Package runner runs one experiment end to end: it prepares (starts the
// sandbox if asked, resolves targets, builds faults and probes), then runs the
// load, the probes and the fault schedule on one timeline, rolls every fault
// back on every exit path, and analyses the result into a run record.
package runner
