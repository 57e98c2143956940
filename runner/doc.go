// Package runner runs one experiment end to end: it prepares (in the
// Environment it is given: the in-process sandbox, an attached one or AWS;
// resolves targets, builds faults and probes), then runs the load, the
// probes and the fault schedule on one timeline, rolls every fault back on
// every exit path, and has package analysis judge the result into a run
// record.
package runner
