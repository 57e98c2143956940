package sim

import "time"

// stoppedUnhealthy reports whether the group's EC2 health check has found
// a stopping or stopped member by now. The EC2 health check "checks that
// the instance is running" (Amazon EC2 Auto Scaling User Guide, "About the
// health checks for your Auto Scaling group", health-checks-overview.html),
// so a stopped member is Unhealthy and replaced, with the activity cause
// "an EC2 health check indicating it has been terminated or stopped" (AWS
// Knowledge Center, "auto-scaling-instance-how-terminated"). The checks run
// periodically and AWS does not publish how soon one notices a stop: the
// sandbox takes Timings.StoppedHealthCheckDelay, measured from the stop.
func (r *Region) stoppedUnhealthy(in *instance, now time.Time) bool {
	return !in.stopAt.IsZero() && now.Sub(in.stopAt) >= r.t.StoppedHealthCheckDelay
}
