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
// it (the account is not known until STS answers).
func TargetOf(x *experiments.Experiment) faults.Target {
	switch {
	case x.Target.Kind == "aws":
		return faults.Target{Kind: "aws", Region: x.Target.AWS.Region, Profile: x.Target.AWS.Profile, EndpointURL: x.Target.AWS.EndpointURL}
	case x.Target.Sandbox.Endpoint != "":
		return faults.Target{Kind: "sandbox", EndpointURL: x.Target.Sandbox.Endpoint}
	}
	return faults.Target{Kind: "sandbox", InProcess: true}
}
