package experiments_test

// Fault and probe kinds register themselves from packages faults and probes
// (which import this package); linking them here makes them known to this
// package's tests too.
import (
	_ "github.com/gameday-dev/gameday/faults"
	_ "github.com/gameday-dev/gameday/probes"
)
