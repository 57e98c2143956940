package sim

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Auto Scaling processes a group can suspend (Auto Scaling API reference,
// SuspendProcesses ScalingProcesses.member.N and ProcessType; the user
// guide's "Suspend and resume Amazon EC2 Auto Scaling processes").
const (
	ProcLaunch            = "Launch"
	ProcTerminate         = "Terminate"
	ProcAddToLoadBalancer = "AddToLoadBalancer"
	ProcAlarmNotification = "AlarmNotification"
	ProcAZRebalance       = "AZRebalance"
	ProcHealthCheck       = "HealthCheck"
	ProcInstanceRefresh   = "InstanceRefresh"
	ProcReplaceUnhealthy  = "ReplaceUnhealthy"
	ProcScheduledActions  = "ScheduledActions"
)

// ScalingProcessTypes lists the process names in the order
// DescribeScalingProcessTypes returns them (sorted by name, as AWS does:
// AZRebalance, AddToLoadBalancer, ...).
func ScalingProcessTypes() []string {
	p := []string{ProcLaunch, ProcTerminate, ProcAddToLoadBalancer, ProcAlarmNotification,
		ProcAZRebalance, ProcHealthCheck, ProcInstanceRefresh, ProcReplaceUnhealthy, ProcScheduledActions}
	sort.Strings(p)
	return p
}

// SuspendedProcess is one suspended process of a group, as
// DescribeAutoScalingGroups reports it (SuspendedProcesses.member).
type SuspendedProcess struct {
	Name   string
	Reason string // "User suspended at 2026-12-01T06:30:00Z"
}

// What the group does while a process is suspended, as the user guide's
// "How suspended processes affect other processes" says, and where the
// sandbox honours it:
//   - Launch: no launches (scale-out, replacements and AZ moves wait); the
//     group catches up on resume. ReplaceUnhealthy still terminates.
//   - Terminate: no scale-in terminations (asgStepLocked).
//   - HealthCheck: the group stops marking members unhealthy.
//   - ReplaceUnhealthy: members are marked unhealthy but not replaced.
//   - AddToLoadBalancer: a member that comes into service is not
//     registered with the target group, and is not registered later either
//     (AWS: "does not add the instances that were launched while this
//     process was suspended").
//   - AlarmNotification: the scaling policy's alarms do not act.
//   - AZRebalance: the group stops moving members between AZs
//     (rebalanceLocked).
//   - InstanceRefresh (and Launch, Terminate): an instance refresh starts
//     no new batch (refreshHeldLocked).
//   - ScheduledActions: the sandbox has none yet; code that adds them asks
//     ProcessSuspended before acting.

// ProcessSuspended reports whether process is suspended for the group
// called group (false for an unknown group or process). Code outside the
// group loop (instance refresh, scaling policies, scheduled actions) asks
// it before acting.
func (r *Region) ProcessSuspended(group, process string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.group == nil || r.group.m.Name != group {
		return false
	}
	return r.suspendedLocked(process)
}

// suspendedLocked is ProcessSuspended for the region's group, under r.mu.
func (r *Region) suspendedLocked(process string) bool {
	if r.group == nil {
		return false
	}
	_, ok := r.group.suspended[process]
	return ok
}

// suspendedProcessesLocked lists the group's suspended processes, by name.
func (r *Region) suspendedProcessesLocked() []SuspendedProcess {
	var out []SuspendedProcess
	for n, why := range r.group.suspended {
		out = append(out, SuspendedProcess{Name: n, Reason: why})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// scalingProcesses checks names (nil or empty: every process, as the API
// reference says for an omitted ScalingProcesses) and the group name.
func (r *Region) scalingProcessesLocked(group string, names []string) ([]string, error) {
	if r.group == nil || group != r.group.m.Name {
		return nil, apiErr(400, "ValidationError", "AutoScalingGroup name not found - AutoScalingGroup '%s' not found", group)
	}
	all := ScalingProcessTypes()
	if len(names) == 0 {
		return all, nil
	}
	var bad []string
	for _, n := range names {
		if !slices.Contains(all, n) {
			bad = append(bad, n)
		}
	}
	if len(bad) > 0 {
		// The wording is the sandbox's: the reference documents no message.
		return nil, apiErr(400, "ValidationError", "Invalid scaling process name(s): %s; valid names are %s", strings.Join(bad, ", "), strings.Join(all, ", "))
	}
	return names, nil
}

// SuspendProcesses suspends the named processes (all when names is empty)
// of the group. A process already suspended keeps its first reason.
func (r *Region) SuspendProcesses(group string, names []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	names, err := r.scalingProcessesLocked(group, names)
	if err != nil {
		return err
	}
	g := r.group
	if g.suspended == nil {
		g.suspended = map[string]string{}
	}
	reason := "User suspended at " + awsTime(time.Now())
	for _, n := range names {
		if _, ok := g.suspended[n]; ok {
			continue
		}
		g.suspended[n] = reason
		r.emit("asg-process", g.m.Name, "", "active", "suspended", n)
	}
	return nil
}

// ResumeProcesses resumes the named processes (all when names is empty);
// resuming one that is not suspended is not an error (as AWS).
func (r *Region) ResumeProcesses(group string, names []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	names, err := r.scalingProcessesLocked(group, names)
	if err != nil {
		return err
	}
	g := r.group
	for _, n := range names {
		if _, ok := g.suspended[n]; !ok {
			continue
		}
		delete(g.suspended, n)
		r.emit("asg-process", g.m.Name, "", "suspended", "active", n)
	}
	return nil
}

// healthActionLocked is the group's answer to a member found unhealthy
// (why): mark it, and replace it unless a process forbids. It returns
// whether the member is to be terminated now.
func (r *Region) healthActionLocked(m *member, why string) bool {
	if r.suspendedLocked(ProcHealthCheck) {
		return false
	}
	if m.health != "Unhealthy" {
		m.health = "Unhealthy"
		r.emit("asg-member", m.in.m.ID, m.in.m.AZ, "Healthy", "Unhealthy", why)
	}
	// With Terminate suspended, "ReplaceUnhealthy is inactive but not
	// HealthCheck" (user guide); members marked meanwhile are replaced
	// once it resumes.
	return !r.suspendedLocked(ProcReplaceUnhealthy) && !r.suspendedLocked(ProcTerminate)
}

// rebalanceLocked is the AZRebalance process: when the group is at its
// desired capacity, nothing is launching or terminating, and one AZ it can
// launch in has at least two members fewer than another, it launches one
// instance there first; once that one is InService the group is one over
// desired and the scale-in pass terminates the oldest member of the
// fullest AZ (the user guide: "launches new instances before terminating
// the old ones"). It does nothing while Launch, Terminate or AZRebalance is
// suspended (AWS may then grow past max for a while; the sandbox does not).
func (r *Region) rebalanceLocked(now time.Time, perAZ []int, active int32) {
	g := r.group
	if active != g.m.Desired || r.suspendedLocked(ProcAZRebalance) || r.suspendedLocked(ProcLaunch) || r.suspendedLocked(ProcTerminate) {
		return
	}
	for _, m := range g.members {
		// Anything launching or terminating waits (Standby members are
		// outside the capacity and do not count).
		if m.lifecycle == lifeTerminating || (m.inCapacity() && m.lifecycle != lifeInService) {
			return
		}
	}
	lo, hi := -1, 0
	for i := range perAZ {
		if perAZ[i] > perAZ[hi] {
			hi = i
		}
		if r.launchFailingLocked(r.azs[i].Name) == nil && (lo < 0 || perAZ[i] < perAZ[lo]) {
			lo = i
		}
	}
	if lo < 0 || perAZ[hi]-perAZ[lo] < 2 {
		return
	}
	in := r.newInstanceLocked(lo, g.m.Name, StatePending)
	r.bootLocked(in)
	act := r.startActivityLocked("Launching a new EC2 instance: "+in.m.ID,
		fmt.Sprintf("At %s an instance was launched to aid in balancing the group's zones.", awsTime(now)))
	act.Progress = 20
	g.members = append(g.members, &member{in: in, lifecycle: lifePending, health: "Healthy", launchAct: act, rebalance: true})
	r.emit("asg-member", in.m.ID, in.m.AZ, "", lifePending, g.m.Name+" (AZRebalance)")
}

// refreshHeldLocked reports whether an instance refresh must wait: it
// replaces instances, which takes InstanceRefresh, Launch and Terminate.
func (r *Region) refreshHeldLocked() bool {
	return r.suspendedLocked(ProcInstanceRefresh) || r.suspendedLocked(ProcLaunch) || r.suspendedLocked(ProcTerminate)
}
