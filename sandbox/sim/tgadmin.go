package sim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Target group administration (issue 14): ModifyTargetGroup's health-check
// settings and the deregistration delay take effect on the health checker
// and on draining; RegisterTargets/DeregisterTargets add and drain targets.
// Ranges follow the ELBv2 API reference (ModifyTargetGroup,
// TargetGroupAttribute).

// matchCode reports whether status satisfies an HttpCode matcher: codes
// and ranges, comma separated ("200", "200,302", "200-299").
func matchCode(matcher string, status int) bool {
	for _, part := range strings.Split(matcher, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				continue
			}
		}
		if status >= a && status <= b {
			return true
		}
	}
	return false
}

func validMatcher(m string) bool {
	if m == "" {
		return false
	}
	for _, part := range strings.Split(m, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 200 || a > 499 {
			return false
		}
		if isRange {
			b, err := strconv.Atoi(hi)
			if err != nil || b < a || b > 499 {
				return false
			}
		}
	}
	return true
}

// TargetGroupUpdate is a ModifyTargetGroup request; nil fields stay.
type TargetGroupUpdate struct {
	Interval, Timeout           *time.Duration
	HealthyThreshold, Unhealthy *int32
	Path, Matcher               *string
}

func (r *Region) targetGroupLocked(arn string) error {
	if arn != r.tg.m.ARN {
		return apiErr(400, "TargetGroupNotFound", "One or more target groups not found")
	}
	return nil
}

// ModifyTargetGroup changes the health-check settings; the next health
// round uses them.
func (r *Region) ModifyTargetGroup(arn string, u TargetGroupUpdate) (TargetGroup, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.targetGroupLocked(arn); err != nil {
		return TargetGroup{}, err
	}
	m := r.tg.m
	if u.Interval != nil {
		m.HealthCheckInterval = *u.Interval
	}
	if u.Timeout != nil {
		m.HealthCheckTimeout = *u.Timeout
	}
	if u.HealthyThreshold != nil {
		m.HealthyThreshold = *u.HealthyThreshold
	}
	if u.Unhealthy != nil {
		m.UnhealthyThreshold = *u.Unhealthy
	}
	if u.Path != nil {
		m.HealthCheckPath = *u.Path
	}
	if u.Matcher != nil {
		m.Matcher = *u.Matcher
	}
	switch {
	case u.Interval != nil && (*u.Interval < 5*time.Second || *u.Interval > 300*time.Second):
		return TargetGroup{}, apiErr(400, "ValidationError", "Health check interval must be between 5 and 300 seconds")
	case u.Timeout != nil && (*u.Timeout < 2*time.Second || *u.Timeout > 120*time.Second):
		return TargetGroup{}, apiErr(400, "ValidationError", "Health check timeout must be between 2 and 120 seconds")
	case (u.Interval != nil || u.Timeout != nil) && m.HealthCheckTimeout >= m.HealthCheckInterval:
		return TargetGroup{}, apiErr(400, "ValidationError", "Health check interval must be greater than the timeout.")
	case u.HealthyThreshold != nil && (*u.HealthyThreshold < 2 || *u.HealthyThreshold > 10):
		return TargetGroup{}, apiErr(400, "ValidationError", "Healthy threshold count must be between 2 and 10")
	case u.Unhealthy != nil && (*u.Unhealthy < 2 || *u.Unhealthy > 10):
		return TargetGroup{}, apiErr(400, "ValidationError", "Unhealthy threshold count must be between 2 and 10")
	case u.Path != nil && (!strings.HasPrefix(*u.Path, "/") || len(*u.Path) > 1024):
		return TargetGroup{}, apiErr(400, "ValidationError", "Health check path must begin with '/' and be at most 1024 characters")
	case u.Matcher != nil && !validMatcher(*u.Matcher):
		return TargetGroup{}, apiErr(400, "ValidationError", "Health check matcher HTTP code '%s' must be within '200-499' code range", *u.Matcher)
	}
	r.emit("target-group", m.ARN, "", "", "modified", fmt.Sprintf("interval %s timeout %s healthy %d unhealthy %d path %s matcher %s", m.HealthCheckInterval, m.HealthCheckTimeout, m.HealthyThreshold, m.UnhealthyThreshold, m.HealthCheckPath, m.Matcher))
	r.tg.m = m
	out := m
	out.LoadBalancerARNs = append([]string(nil), m.LoadBalancerARNs...)
	return out, nil
}

// SetDeregistrationDelay sets how long deregistered targets drain (0-3600
// s); targets deregistered from now on use it.
func (r *Region) SetDeregistrationDelay(arn string, d time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.targetGroupLocked(arn); err != nil {
		return err
	}
	if d < 0 || d > time.Hour {
		return apiErr(400, "ValidationError", "The deregistration delay must be between 0 and 3600 seconds")
	}
	r.emit("target-group", arn, "", r.tg.m.DeregistrationDelay.String(), d.String(), "deregistration_delay.timeout_seconds")
	r.tg.m.DeregistrationDelay = d
	return nil
}

// RegisterTargets registers instances with the target group; each starts
// in initial and is routed to once its health checks pass. Registering a
// registered target again changes nothing; a draining one returns to
// service. All or nothing: every id is checked first.
func (r *Region) RegisterTargets(arn string, ids []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.targetGroupLocked(arn); err != nil {
		return err
	}
	var ins []*instance
	var notRunning []string
	for _, id := range ids {
		in := r.findInstance(id)
		if in == nil {
			return apiErr(400, "InvalidTarget", "The following targets are not valid instances: '%s'", id)
		}
		if s := in.m.State; s != StateRunning && s != StatePending && s != StateStopped {
			notRunning = append(notRunning, id)
		}
		ins = append(ins, in)
	}
	if len(notRunning) > 0 {
		return apiErr(400, "InvalidTarget", "The following targets are not in a running state and cannot be registered: '%s'", strings.Join(notRunning, "', '"))
	}
	for _, in := range ins {
		if t := r.tg.find(in.m.ID); t != nil && t.state != TargetDraining {
			continue
		}
		r.registerLocked(in, false)
	}
	return nil
}

// DeregisterTargets drains registered targets for the deregistration
// delay, then removes them. An instance that is not registered is left as
// it is; an id that names no instance is InvalidTarget.
func (r *Region) DeregisterTargets(arn string, ids []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.targetGroupLocked(arn); err != nil {
		return err
	}
	var ins []*instance
	for _, id := range ids {
		in := r.findInstance(id)
		if in == nil {
			return apiErr(400, "InvalidTarget", "The following targets are not valid instances: '%s'", id)
		}
		ins = append(ins, in)
	}
	for _, in := range ins {
		if r.tg.find(in.m.ID) != nil {
			r.deregisterLocked(in)
		}
	}
	return nil
}
