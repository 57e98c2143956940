package record

// Status is how a run ended, most severe first: a rollback that did not
// complete, a signal, a stop condition, an error, a steady state that did
// not hold, a failed gate; or passed.
type Status string

// The statuses a run record holds.
const (
	StatusPassed             Status = "passed"
	StatusFailed             Status = "failed" // a gate failed
	StatusBaselineFailed     Status = "baseline-failed"
	StatusAborted            Status = "aborted" // a stop condition fired
	StatusInterrupted        Status = "interrupted"
	StatusError              Status = "error"
	StatusRollbackIncomplete Status = "rollback-incomplete"
)
