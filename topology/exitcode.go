package topology

import "github.com/gameday-dev/gameday/internal/exitcode"

// ExitCode is exit code 2: the experiment names something the account
// does not have.
func (e *NotFoundError) ExitCode() int { return exitcode.BadInput }
