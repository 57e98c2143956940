package sim

import (
	"fmt"
	"time"
)

// Auto Scaling administration a runbook performs by hand (issue 14):
// UpdateAutoScalingGroup, SetInstanceHealth, EnterStandby/ExitStandby,
// DetachInstances. Behaviour and messages follow the Amazon EC2 Auto Scaling
// API reference for each action and the user guide's "Temporarily remove
// instances from your Auto Scaling group" and "Detach or attach instances".

// lifeStandby is the lifecycle of a member in standby: it stays in the
// group but is not counted in its capacity, not health checked and not
// registered with the target group.
const lifeStandby = "Standby"

// inCapacity reports whether a member counts toward the group's capacity.
func (m *member) inCapacity() bool {
	return m.lifecycle != lifeTerminating && m.lifecycle != lifeStandby
}

// standbyStepLocked: a standby member is not health checked, but one that
// was terminated (by EC2 TerminateInstances, say) leaves the group.
func (r *Region) standbyStepLocked(m *member, now time.Time) {
	if st := m.in.m.State; st == StateShuttingDown || st == StateTerminated {
		cause := fmt.Sprintf("At %s an instance was taken out of service in response to an EC2 health check indicating it has been terminated or stopped.", awsTime(now))
		r.terminateMemberLocked(m, cause, false)
	}
}

// GroupUpdate is the UpdateAutoScalingGroup request; nil fields are left as
// they are.
type GroupUpdate struct {
	Min, Max, Desired      *int32
	HealthCheckType        *string
	HealthCheckGracePeriod *time.Duration
	DefaultCooldown        *time.Duration
}

func (r *Region) groupNamedLocked(name string) (*group, error) {
	if r.group == nil || name != r.group.m.Name {
		return nil, apiErr(400, "ValidationError", "AutoScalingGroup name not found - AutoScalingGroup '%s' not found", name)
	}
	return r.group, nil
}

// UpdateAutoScalingGroup changes the group's size limits and health-check
// settings. As AWS: a new MinSize above the current desired capacity (with
// no DesiredCapacity given) raises desired to it, a new MaxSize below it
// lowers desired to it; the result must satisfy min <= desired <= max.
func (r *Region) UpdateAutoScalingGroup(name string, u GroupUpdate) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	g, err := r.groupNamedLocked(name)
	if err != nil {
		return err
	}
	lo, hi, want := g.m.Min, g.m.Max, g.m.Desired
	if u.Min != nil {
		lo = *u.Min
	}
	if u.Max != nil {
		hi = *u.Max
	}
	if lo < 0 || hi < 0 {
		return apiErr(400, "ValidationError", "MinSize and MaxSize must be non-negative")
	}
	if lo > hi {
		return apiErr(400, "ValidationError", "The parameter MaxSize must be greater than or equal to MinSize. MinSize: %d, MaxSize: %d", lo, hi)
	}
	if u.Desired != nil {
		want = *u.Desired
		if want < lo || want > hi {
			return apiErr(400, "ValidationError", "Desired capacity:%d must be between the specified min size:%d and max size:%d", want, lo, hi)
		}
	} else {
		want = max(min(want, hi), lo)
	}
	if u.HealthCheckType != nil && *u.HealthCheckType != "EC2" && *u.HealthCheckType != "ELB" {
		return apiErr(400, "ValidationError", "Invalid value '%s' for HealthCheckType: it must be EC2 or ELB", *u.HealthCheckType)
	}
	if u.HealthCheckGracePeriod != nil && *u.HealthCheckGracePeriod < 0 {
		return apiErr(400, "ValidationError", "HealthCheckGracePeriod must be non-negative")
	}
	if u.DefaultCooldown != nil && *u.DefaultCooldown < 0 {
		return apiErr(400, "ValidationError", "DefaultCooldown must be non-negative")
	}
	g.m.Min, g.m.Max = lo, hi
	if u.HealthCheckType != nil {
		g.m.HealthCheckType = *u.HealthCheckType
	}
	if u.HealthCheckGracePeriod != nil {
		g.m.HealthCheckGracePeriod = *u.HealthCheckGracePeriod
	}
	if u.DefaultCooldown != nil {
		g.m.DefaultCooldown = *u.DefaultCooldown
	}
	if want != g.m.Desired {
		g.pendingCause = fmt.Sprintf("At %s a user request update of AutoScalingGroup constraints to min: %d, max: %d, desired: %d changing the desired capacity from %d to %d. ", awsTime(time.Now()), lo, hi, want, g.m.Desired, want)
		r.setDesiredLocked(want, "UpdateAutoScalingGroup")
	}
	r.emit("asg-capacity", g.m.Name, "", "", fmt.Sprintf("min %d max %d desired %d", lo, hi, want), "UpdateAutoScalingGroup")
	return nil
}

func (r *Region) groupMemberLocked(id string) *member {
	if r.group == nil {
		return nil
	}
	for _, m := range r.group.members {
		if m.in.m.ID == id {
			return m
		}
	}
	return nil
}

func errNoManagedInstance(id string) error {
	return apiErr(400, "ValidationError", "Instance Id not found - No managed instance found for instance ID: %s", id)
}

// SetGroupInstanceHealth (Auto Scaling SetInstanceHealth) sets a member's health status. An Unhealthy member is
// taken out of service and terminated, and the group launches a
// replacement; with respectGracePeriod the call is ignored while the member
// is still in its health-check grace period, as AWS does.
func (r *Region) SetGroupInstanceHealth(id, status string, respectGracePeriod bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if status != "Healthy" && status != "Unhealthy" {
		return apiErr(400, "ValidationError", "Valid requests must contain either Healthy or Unhealthy for HealthStatus")
	}
	m := r.groupMemberLocked(id)
	if m == nil {
		return errNoManagedInstance(id)
	}
	if m.lifecycle == lifeTerminating || m.health == status {
		return nil
	}
	if respectGracePeriod && (m.lifecycle == lifePending || time.Since(m.inService) < r.group.m.HealthCheckGracePeriod) {
		return nil
	}
	r.emit("asg-member", id, m.in.m.AZ, m.health, status, "SetInstanceHealth")
	m.health = status
	if status == "Unhealthy" && m.lifecycle != lifeStandby {
		cause := fmt.Sprintf("At %s an instance was taken out of service in response to a user health-check.", awsTime(time.Now()))
		r.terminateMemberLocked(m, cause, false)
	}
	return nil
}

// standbyMembersLocked resolves ids to members in the wanted lifecycle, all
// or nothing.
func (r *Region) standbyMembersLocked(ids []string, want string) ([]*member, error) {
	var out []*member
	for _, id := range ids {
		m := r.groupMemberLocked(id)
		if m == nil {
			return nil, errNoManagedInstance(id)
		}
		if m.lifecycle != want {
			return nil, apiErr(400, "ValidationError", "The instance %s is not in %s.", id, want)
		}
		out = append(out, m)
	}
	return out, nil
}

// EnterStandby moves InService members to Standby: their targets are
// deregistered (they drain) and they leave the group's capacity. With
// decrementDesired the desired capacity shrinks by as many (not below
// MinSize); otherwise the group launches replacements.
func (r *Region) EnterStandby(name string, ids []string, decrementDesired bool) ([]Activity, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g, err := r.groupNamedLocked(name)
	if err != nil {
		return nil, err
	}
	ms, err := r.standbyMembersLocked(ids, lifeInService)
	if err != nil {
		return nil, err
	}
	n := int32(len(ms))
	if decrementDesired && g.m.Desired-n < g.m.Min {
		return nil, apiErr(400, "ValidationError", "AutoScalingGroup %s has min-size=%d, max-size=%d, and desired-size=%d. To place into standby %d instances, please update the AutoScalingGroup sizes appropriately.", name, g.m.Min, g.m.Max, g.m.Desired, n)
	}
	now := time.Now()
	var acts []Activity
	for _, m := range ms {
		cause := fmt.Sprintf("At %s instance %s was moved to standby in response to a user request", awsTime(now), m.in.m.ID)
		if decrementDesired {
			cause += fmt.Sprintf(", shrinking the capacity from %d to %d.", g.m.Desired, g.m.Desired-1)
			r.setDesiredLocked(g.m.Desired-1, "EnterStandby "+m.in.m.ID)
		} else {
			cause += "."
		}
		act := r.startActivityLocked("Moving EC2 instance to Standby: "+m.in.m.ID, cause)
		m.lifecycle = lifeStandby
		r.emit("asg-member", m.in.m.ID, m.in.m.AZ, lifeInService, lifeStandby, g.m.Name)
		r.deregisterLocked(m.in)
		r.endActivityLocked(act, "Successful")
		acts = append(acts, *act)
	}
	return acts, nil
}

// ExitStandby returns Standby members to service: the desired capacity
// grows by as many (not above MaxSize), each goes Pending, is registered
// with the target group and is InService once its target is checked.
func (r *Region) ExitStandby(name string, ids []string) ([]Activity, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g, err := r.groupNamedLocked(name)
	if err != nil {
		return nil, err
	}
	ms, err := r.standbyMembersLocked(ids, lifeStandby)
	if err != nil {
		return nil, err
	}
	n := int32(len(ms))
	if g.m.Desired+n > g.m.Max {
		return nil, apiErr(400, "ValidationError", "AutoScalingGroup %s has min-size=%d, max-size=%d, and desired-size=%d. To move %d instances out of standby, please update the AutoScalingGroup sizes appropriately.", name, g.m.Min, g.m.Max, g.m.Desired, n)
	}
	now := time.Now()
	var acts []Activity
	for _, m := range ms {
		cause := fmt.Sprintf("At %s instance %s was moved out of standby in response to a user request, increasing the capacity from %d to %d.", awsTime(now), m.in.m.ID, g.m.Desired, g.m.Desired+1)
		r.setDesiredLocked(g.m.Desired+1, "ExitStandby "+m.in.m.ID)
		act := r.startActivityLocked("Moving EC2 instance out of Standby: "+m.in.m.ID, cause)
		m.lifecycle, m.health = lifePending, "Healthy"
		r.emit("asg-member", m.in.m.ID, m.in.m.AZ, lifeStandby, lifePending, g.m.Name)
		m.launchAct = act
		if m.in.m.State == StateRunning {
			r.memberInServiceLocked(m)
		}
		acts = append(acts, *act)
	}
	return acts, nil
}

// DetachInstances removes members from the group; the instances keep
// running outside it and their targets are deregistered. With
// decrementDesired the desired capacity shrinks (not below MinSize);
// otherwise the group launches replacements.
func (r *Region) DetachInstances(name string, ids []string, decrementDesired bool) ([]Activity, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g, err := r.groupNamedLocked(name)
	if err != nil {
		return nil, err
	}
	var ms []*member
	for _, id := range ids {
		m := r.groupMemberLocked(id)
		if m == nil {
			return nil, errNoManagedInstance(id)
		}
		if m.lifecycle == lifeTerminating {
			return nil, apiErr(400, "ValidationError", "The instance %s is not in a state from which it can be detached.", id)
		}
		ms = append(ms, m)
	}
	n := int32(len(ms))
	if decrementDesired && g.m.Desired-n < g.m.Min {
		return nil, apiErr(400, "ValidationError", "AutoScalingGroup %s has min-size=%d, max-size=%d, and desired-size=%d. To detach %d instances, please update the AutoScalingGroup sizes appropriately.", name, g.m.Min, g.m.Max, g.m.Desired, n)
	}
	now := time.Now()
	var acts []Activity
	for _, m := range ms {
		cause := fmt.Sprintf("At %s instance %s was detached in response to a user request", awsTime(now), m.in.m.ID)
		if decrementDesired && m.lifecycle != lifeStandby {
			cause += fmt.Sprintf(", shrinking the capacity from %d to %d.", g.m.Desired, g.m.Desired-1)
			r.setDesiredLocked(g.m.Desired-1, "DetachInstances "+m.in.m.ID)
		} else {
			cause += "."
		}
		act := r.startActivityLocked("Detaching EC2 instance: "+m.in.m.ID, cause)
		if m.lifecycle != lifeStandby {
			r.deregisterLocked(m.in)
		}
		r.endActivityLocked(m.launchAct, "Successful")
		m.in.group = ""
		r.emit("asg-member", m.in.m.ID, m.in.m.AZ, m.lifecycle, "Detached", g.m.Name)
		for i, x := range g.members {
			if x == m {
				g.members = append(g.members[:i], g.members[i+1:]...)
				break
			}
		}
		r.endActivityLocked(act, "Successful")
		acts = append(acts, *act)
	}
	return acts, nil
}
