package exitcode

import "errors"

// The documented exit codes (README, `gameday --help`).
const (
	OK          = 0
	GateFailed  = 1
	BadInput    = 2
	Aborted     = 3
	Rollback    = 4
	Error       = 5
	Interrupted = 130
)

// Coder is an error that knows the exit code it ends the process with.
type Coder interface {
	error
	ExitCode() int
}

// Err is an error with an exit code.
type Err struct {
	Code int
	Err  error
}

func (e *Err) Error() string { return e.Err.Error() }
func (e *Err) Unwrap() error { return e.Err }

// ExitCode is the code the process ends with.
func (e *Err) ExitCode() int { return e.Code }

// With returns err carrying code (nil stays nil). An error that already
// carries a code is given the new one.
func With(code int, err error) error {
	if err == nil {
		return nil
	}
	return &Err{Code: code, Err: err}
}

// Of returns the exit code the outermost Coder in err's chain carries, and
// whether there was one.
func Of(err error) (int, bool) {
	var c Coder
	if errors.As(err, &c) {
		return c.ExitCode(), true
	}
	return 0, false
}
