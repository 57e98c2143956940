package sim_test

import (
	"github.com/gameday-dev/gameday/sandbox/awsapi"
	"github.com/gameday-dev/gameday/sandbox/sim"
)

var _ awsapi.Backend = (*sim.Region)(nil)
