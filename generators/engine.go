package generators

import (
	"context"
	"encoding/json"
)

// WorkerSpec is what an engine needs to start one worker.
type WorkerSpec struct {
	ID          string
	Run         string
	Coordinator string // base URL the worker calls
	Token       string // passed in the TokenEnv environment variable
	Raw         string // raw results file on the worker's machine, "" for none
}

// Engine starts workers somewhere: processes on this machine (Local), ECS
// tasks, Kubernetes pods.
type Engine interface {
	Name() string
	Start(ctx context.Context, w WorkerSpec) (Handle, error)
}

// Handle is one started worker.
type Handle interface {
	// Ref is what the journal keeps to find and stop it after a crash.
	Ref() json.RawMessage
	// Exited is closed once the worker has ended.
	Exited() <-chan struct{}
	// Stop ends the worker (idempotent) and waits for it to be gone.
	Stop(ctx context.Context) error
}

// Planner is an Engine that can say, before it starts a worker, how to find
// it again: the coordinator journals that reference with the worker's
// starting line, so a coordinator killed between the start call and its
// answer still leaves enough for `gameday rollback` (ECS: the cluster,
// where the API is, and the task's startedBy).
type Planner interface {
	Plan(w WorkerSpec) (json.RawMessage, error)
}

// ExitReasoner is a Handle that can say why its worker ended (an ECS
// task's stop code and reason), for the report.
type ExitReasoner interface {
	ExitReason() string
}

// exitReason is why h's worker ended, as its engine says, or "".
func exitReason(h Handle) string {
	if r, ok := h.(ExitReasoner); ok {
		return r.ExitReason()
	}
	return ""
}
