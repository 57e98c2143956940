package probes

import "time"

// Event is something a probe saw happen (a scaling activity, a policy
// change), for the run's timeline.
type Event struct {
	Time   time.Time
	Kind   string
	Detail string
}

// EventSource is a probe that reports events besides its series. The runner
// calls Events after each Sample and puts what it returns on the timeline
// (under the probe's name); each event is returned once.
type EventSource interface {
	Events() []Event
}
