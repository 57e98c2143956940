package runner

import (
	"github.com/gameday-dev/gameday/environment"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/faults"
)

// ErrInProcess says a target was an in-process sandbox: it ended with the
// run that started it, so there is nothing to reach and nothing to undo
// (environment.ErrInProcess; sandboxenv.Connect returns it).
var ErrInProcess = environment.ErrInProcess

// TargetOf is where an experiment file points, as a journal would record
// it (environment.TargetOf).
func TargetOf(x *experiments.Experiment) faults.Location { return environment.LocationOf(x) }
