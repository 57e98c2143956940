package faults

import "time"

// Step is one stretch of a fault that moves in steps (a rolling deploy's
// batches): the run measures each as a phase of its own, named
// "fault: <name> / <step>", and the per-fault gates batch_failed_requests
// and batch_p99 read them.
type Step struct {
	Name     string
	From, To time.Time
}

// Stepper is implemented by faults that move in steps. Steps is read once
// the fault was rolled back; the steps are in time order and do not
// overlap.
type Stepper interface {
	Steps() []Step
}
