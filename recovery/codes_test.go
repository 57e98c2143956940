package recovery

import (
	"testing"

	"github.com/gameday-dev/gameday/internal/exitcode"
	"github.com/gameday-dev/gameday/runner"
)

// The run record's exit codes (runner) and the CLI's (exitcode) are one
// documented set.
func TestExitCodesMatchRunner(t *testing.T) {
	for _, c := range [][2]int{
		{exitcode.OK, runner.ExitPass},
		{exitcode.GateFailed, runner.ExitGateFailed},
		{exitcode.BadInput, runner.ExitBadInput},
		{exitcode.Aborted, runner.ExitAborted},
		{exitcode.Rollback, runner.ExitRollback},
		{exitcode.Error, runner.ExitError},
		{exitcode.Interrupted, runner.ExitInterrupted},
	} {
		if c[0] != c[1] {
			t.Errorf("exitcode %d != runner %d", c[0], c[1])
		}
	}
}
