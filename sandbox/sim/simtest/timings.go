package simtest

import (
	"time"

	"github.com/gameday-dev/gameday/sandbox/sim"
)

// Timings make the region react in well under a second (health checks
// every 200ms, failover in 500ms), much faster than the fast profile: for
// tests of the packages built on the sandbox, where each case should take
// a few seconds. (sim's own tests keep a copy: they cannot import this.)
func Timings() sim.Timings {
	return sim.Timings{
		HealthCheckInterval: 200 * time.Millisecond,
		HealthCheckTimeout:  100 * time.Millisecond,
		HealthyThreshold:    2,
		UnhealthyThreshold:  2,
		DeregistrationDelay: 200 * time.Millisecond,
		TargetTimeout:       800 * time.Millisecond,
		ConnectTimeout:      300 * time.Millisecond,
		BootDelay:           300 * time.Millisecond,
		ShutdownDelay:       200 * time.Millisecond,
		FailoverTime:        500 * time.Millisecond,
		RebootTime:          300 * time.Millisecond,
		DBTimeout:           300 * time.Millisecond,
		ASGCheckInterval:    100 * time.Millisecond,
		GracePeriod:         500 * time.Millisecond,
		ScaleWarmup:         time.Second,
		ScaleCooldown:       10 * time.Second,
		NodeDNSDelay:        200 * time.Millisecond,
		DNSTTL:              time.Second,

		InstanceRebootTime: 600 * time.Millisecond,
		// Long enough for a fault's test to stop and start an instance
		// before the group replaces it; tests of the replacement wait.
		StoppedHealthCheckDelay: 2 * time.Second,
	}
}
