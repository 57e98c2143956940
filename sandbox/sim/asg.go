package sim

import (
	"fmt"
	"time"
)

// Group member lifecycle states.
const (
	lifePending     = "Pending"
	lifeInService   = "InService"
	lifeTerminating = "Terminating"
)

type group struct {
	m            AutoScalingGroup // Instances computed from members
	members      []*member
	refresh      refreshState
	acts         []*Activity // oldest first
	pendingCause string      // why desired capacity last changed, for the next activities
	cooldownTill time.Time
	suspended    map[string]string // process → SuspensionReason (asgprocesses.go)
	launchFails  []*LaunchFailure  // armed launch failures (launchfailures.go)
}

type member struct {
	in        *instance
	lifecycle string
	health    string
	version   string // launch template version it was launched from
	extra     bool   // launched by a refresh above desired capacity (refresh.go)
	inService time.Time
	launchAct *Activity
	termAct   *Activity
	rebalance bool // launched by AZRebalance: not counted while Pending
}

func (r *Region) memberOf(in *instance) *member {
	if in.group == "" || r.group == nil {
		return nil
	}
	for _, m := range r.group.members {
		if m.in == in {
			return m
		}
	}
	return nil
}

func (r *Region) buildGroup() {
	c := r.cfg.Group
	now := time.Now().UTC().Truncate(time.Second)
	g := &group{
		m: AutoScalingGroup{
			Name:                   c.Name,
			ARN:                    r.arn("autoscaling", "autoScalingGroup:"+r.uuid()+":autoScalingGroupName/"+c.Name),
			Min:                    c.Min,
			Desired:                c.Desired,
			Max:                    c.Max,
			HealthCheckType:        c.HealthCheckType,
			HealthCheckGracePeriod: r.t.GracePeriod,
			DefaultCooldown:        r.t.ScaleCooldown,
			TargetGroupARNs:        []string{r.tg.m.ARN},
			Tags:                   []Tag{{"Name", "gameday-web"}, OptInTag},
			CreatedTime:            now,
		},
	}
	for i := range r.azs {
		g.m.AZs = append(g.m.AZs, r.azs[i].Name)
		g.m.SubnetIDs = append(g.m.SubnetIDs, r.privateSubnet(i).m.ID)
	}
	r.group = g
	cause := fmt.Sprintf("At %s a user request created an AutoScalingGroup changing the desired capacity from 0 to %d. ", awsTime(now), c.Desired)
	for i := range int(c.Desired) {
		in := r.newInstanceLocked(i%len(r.azs), c.Name, StateRunning)
		act := r.startActivityLocked("Launching a new EC2 instance: "+in.m.ID, cause+fmt.Sprintf("At %s an instance was started in response to a difference between desired and running capacity, increasing the capacity from %d to %d.", awsTime(now), i, i+1))
		r.endActivityLocked(act, "Successful")
		g.members = append(g.members, &member{in: in, lifecycle: lifeInService, health: "Healthy", inService: time.Now(), launchAct: act, version: firstVersion})
		r.registerLocked(in, true)
	}
}

// newInstanceLocked creates an instance in the private subnet of azIdx.
func (r *Region) newInstanceLocked(azIdx int, groupName, state string) *instance {
	s := r.privateSubnet(azIdx)
	ip := s.allocIP()
	in := &instance{
		m: Instance{
			ID: r.hexID("i-", 17), ImageID: r.cfg.Instance.ImageID, InstanceType: r.cfg.Instance.InstanceType,
			State: state, AZ: r.azs[azIdx].Name, SubnetID: s.m.ID, VPCID: r.vpc.ID,
			PrivateIP: ip.String(), LaunchTime: time.Now().UTC().Truncate(time.Second),
			Tags: []Tag{{"Name", "gameday-web"}, OptInTag},
		},
		azIdx: azIdx,
		ep:    endpoint{subnet: s.idx, ip: ip},
		group: groupName,
	}
	if groupName != "" {
		in.m.Tags = append(in.m.Tags, Tag{"aws:autoscaling:groupName", groupName})
	}
	r.insts = append(r.insts, in)
	r.emit("instance-state", in.m.ID, in.m.AZ, "", state, "launched")
	return in
}

func (r *Region) startActivityLocked(desc, cause string) *Activity {
	a := &Activity{
		ID: r.uuid(), GroupName: r.group.m.Name, Description: desc, Cause: cause,
		StartTime: time.Now(), StatusCode: "InProgress", Progress: 0,
	}
	r.group.acts = append(r.group.acts, a)
	if len(r.group.acts) > 1000 {
		r.group.acts = r.group.acts[len(r.group.acts)-1000:]
	}
	r.emit("asg-activity", r.group.m.Name, "", "", a.StatusCode, desc)
	return a
}

func (r *Region) endActivityLocked(a *Activity, status string) {
	if a == nil || a.StatusCode != "InProgress" {
		return
	}
	a.StatusCode, a.Progress, a.EndTime = status, 100, time.Now()
	r.group.cooldownTill = a.EndTime.Add(r.group.m.DefaultCooldown)
	r.emit("asg-activity", r.group.m.Name, "", "InProgress", status, a.Description)
}

func (r *Region) setDesiredLocked(desired int32, why string) {
	g := r.group
	if g.m.Desired == desired {
		return
	}
	r.emit("asg-capacity", g.m.Name, "", fmt.Sprint(g.m.Desired), fmt.Sprint(desired), why)
	g.m.Desired = desired
}

// memberInServiceLocked puts a booted member in service and registers it.
func (r *Region) memberInServiceLocked(m *member) {
	if m.lifecycle != lifePending {
		return
	}
	m.lifecycle, m.inService = lifeInService, time.Now()
	r.emit("asg-member", m.in.m.ID, m.in.m.AZ, lifePending, lifeInService, r.group.m.Name)
	if !r.suspendedLocked(ProcAddToLoadBalancer) {
		r.registerLocked(m.in, false)
	}
	r.endActivityLocked(m.launchAct, "Successful")
}

func (r *Region) asgLoop() {
	tick := time.NewTicker(r.t.ASGCheckInterval)
	defer tick.Stop()
	for {
		select {
		case <-r.done:
			return
		case <-tick.C:
		}
		r.mu.Lock()
		r.asgStepLocked(time.Now())
		r.mu.Unlock()
	}
}

// asgStepLocked is one pass of the group: health, capacity, scaling policy.
func (r *Region) asgStepLocked(now time.Time) {
	g := r.group
	keep := g.members[:0]
	for _, m := range g.members {
		st := m.in.m.State
		if m.lifecycle == lifeTerminating {
			if st == StateTerminated {
				r.endActivityLocked(m.termAct, "Successful")
				r.emit("asg-member", m.in.m.ID, m.in.m.AZ, lifeTerminating, "Terminated", g.m.Name)
				continue
			}
			keep = append(keep, m)
			continue
		}
		keep = append(keep, m)
		if m.lifecycle == lifeStandby {
			r.standbyStepLocked(m, now) // not health checked (asgadmin.go)
			continue
		}
		var why string
		switch st {
		case StateShuttingDown, StateTerminated:
			why = "an EC2 health check indicating it has been terminated or stopped"
		case StateStopping, StateStopped:
			// stoppedUnhealthy: see asgstopped.go.
			if r.stoppedUnhealthy(m.in, now) {
				why = "an EC2 health check indicating it has been terminated or stopped"
			}
		}
		if why == "" && g.m.HealthCheckType == "ELB" && m.lifecycle == lifeInService && now.Sub(m.inService) >= g.m.HealthCheckGracePeriod {
			if t := r.tg.find(m.in.m.ID); t != nil && t.state == TargetUnhealthy {
				why = "an ELB system health check failure"
			}
		}
		if why != "" && r.healthActionLocked(m, why) {
			cause := fmt.Sprintf("At %s an instance was taken out of service in response to %s.", awsTime(now), why)
			r.terminateMemberLocked(m, cause, false)
		}
	}
	clear(g.members[len(keep):])
	g.members = keep

	// Scaling policies run from their CloudWatch alarms (policies.go);
	// AlarmNotification suspended stops them there.

	active := int32(0)
	perAZ := make([]int, len(r.azs))
	for _, m := range g.members {
		if m.inCapacity() && !(m.rebalance && m.lifecycle == lifePending) {
			active++
			perAZ[m.in.azIdx]++
			if m.extra {
				active-- // held above desired capacity by a refresh (refresh.go)
			}
		}
	}
	for active < g.m.Desired && !r.suspendedLocked(ProcLaunch) {
		az, ok := r.launchAZLocked(perAZ, now, active)
		if !ok {
			break
		}
		in := r.newInstanceLocked(az, g.m.Name, StatePending)
		r.bootLocked(in)
		cause := g.pendingCause + fmt.Sprintf("At %s an instance was started in response to a difference between desired and running capacity, increasing the capacity from %d to %d.", awsTime(now), active, active+1)
		act := r.startActivityLocked("Launching a new EC2 instance: "+in.m.ID, cause)
		act.Progress = 20
		g.members = append(g.members, &member{in: in, lifecycle: lifePending, health: "Healthy", launchAct: act})
		r.emit("asg-member", in.m.ID, in.m.AZ, "", lifePending, g.m.Name)
		r.launchedLocked(g.members[len(g.members)-1])
		perAZ[az]++
		active++
	}
	for active > g.m.Desired && !r.suspendedLocked(ProcTerminate) {
		az := 0
		for i := range perAZ {
			if perAZ[i] > perAZ[az] {
				az = i
			}
		}
		var victim *member
		for _, m := range g.members {
			if m.inCapacity() && m.in.azIdx == az && (victim == nil || m.in.m.LaunchTime.Before(victim.in.m.LaunchTime)) {
				victim = m
			}
		}
		if victim == nil {
			break
		}
		cause := g.pendingCause + fmt.Sprintf("At %s an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity from %d to %d.", awsTime(now), active, active-1)
		r.terminateMemberLocked(victim, cause, true)
		perAZ[az]--
		active--
	}
	r.rebalanceLocked(now, perAZ, active)
	g.pendingCause = ""
	r.refreshStepLocked(now)
	r.pruneInstancesLocked(now)
}

// terminateMemberLocked takes a member out of service: it deregisters its
// target and, if drain is set, terminates the instance only once the
// deregistration delay has passed (as the group does on scale-in);
// otherwise at once.
func (r *Region) terminateMemberLocked(m *member, cause string, drain bool) {
	m.lifecycle = lifeTerminating
	m.termAct = r.startActivityLocked("Terminating EC2 instance: "+m.in.m.ID, cause)
	m.termAct.Progress = 50
	r.emit("asg-member", m.in.m.ID, m.in.m.AZ, "", lifeTerminating, r.group.m.Name)
	delay := r.deregisterLocked(m.in)
	in := m.in
	kill := func() {
		if s := in.m.State; s != StateShuttingDown && s != StateTerminated {
			r.shutdownLocked(in, StateShuttingDown, StateTerminated, userShutdown)
			r.refreshRoutesLocked()
		}
	}
	if !drain || delay == 0 {
		kill()
		return
	}
	r.sched.after(delay, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if !r.closed {
			kill()
		}
	})
}

// ---- Auto Scaling API ----

// AutoScalingGroups describes the one group.
func (r *Region) AutoScalingGroups() []AutoScalingGroup {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.group
	m := g.m
	m.AZs = append([]string(nil), m.AZs...)
	m.SubnetIDs = append([]string(nil), m.SubnetIDs...)
	m.TargetGroupARNs = append([]string(nil), m.TargetGroupARNs...)
	m.Tags = copyTags(m.Tags)
	m.SuspendedProcesses = r.suspendedProcessesLocked()
	m.Instances = make([]GroupInstance, 0, len(g.members))
	for _, x := range g.members {
		m.Instances = append(m.Instances, GroupInstance{
			InstanceID: x.in.m.ID, AZ: x.in.m.AZ, LifecycleState: x.lifecycle,
			HealthStatus: x.health, LaunchTemplate: g.m.Name + "-lt", LaunchTemplateVersion: x.version,
		})
	}
	m.LaunchTemplate, m.LaunchTemplateVersion = g.m.Name+"-lt", g.refresh.current()
	return []AutoScalingGroup{m}
}

// TerminateInstanceInAutoScalingGroup takes a member out of service: its
// target drains for the deregistration delay, then the instance terminates.
// Without decrementDesired the group launches a replacement at once.
func (r *Region) TerminateInstanceInAutoScalingGroup(instanceID string, decrementDesired bool) (Activity, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.group
	var m *member
	for _, x := range g.members {
		if x.in.m.ID == instanceID {
			m = x
		}
	}
	if m == nil {
		return Activity{}, apiErr(400, "ValidationError", "Instance Id not found - No managed instance found for instance ID: %s", instanceID)
	}
	if m.lifecycle == lifeTerminating && m.termAct != nil {
		return *m.termAct, nil
	}
	if decrementDesired && g.m.Desired-1 < g.m.Min {
		return Activity{}, apiErr(400, "ValidationError", "Currently, desiredCapacity=%d and minSize=%d, so desiredCapacity cannot be decremented below minSize", g.m.Desired, g.m.Min)
	}
	now := time.Now()
	cause := fmt.Sprintf("At %s instance %s was taken out of service in response to a user request", awsTime(now), instanceID)
	if decrementDesired {
		cause += fmt.Sprintf(", shrinking the capacity from %d to %d.", g.m.Desired, g.m.Desired-1)
		r.setDesiredLocked(g.m.Desired-1, "TerminateInstanceInAutoScalingGroup "+instanceID)
	} else {
		cause += "."
	}
	r.terminateMemberLocked(m, cause, true)
	return *m.termAct, nil
}

// SetDesiredCapacity changes the group's desired capacity; the group loop
// launches or terminates instances to match.
func (r *Region) SetDesiredCapacity(name string, desired int32, honorCooldown bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.group
	if name != g.m.Name {
		return apiErr(400, "ValidationError", "AutoScalingGroup name not found - AutoScalingGroup '%s' not found", name)
	}
	if desired > g.m.Max {
		return apiErr(400, "ValidationError", "New SetDesiredCapacity value %d is above max value %d for the AutoScalingGroup.", desired, g.m.Max)
	}
	if desired < g.m.Min {
		return apiErr(400, "ValidationError", "New SetDesiredCapacity value %d is below min value %d for the AutoScalingGroup.", desired, g.m.Min)
	}
	now := time.Now()
	if honorCooldown && now.Before(g.cooldownTill) {
		return apiErr(400, "ScalingActivityInProgress", "Scaling activity is in progress and blocks this action")
	}
	if desired != g.m.Desired {
		g.pendingCause = fmt.Sprintf("At %s a user request explicitly set group desired capacity changing the desired capacity from %d to %d. ", awsTime(now), g.m.Desired, desired)
		r.setDesiredLocked(desired, "SetDesiredCapacity")
	}
	return nil
}

// ScalingActivities lists the group's activities, newest first.
func (r *Region) ScalingActivities(name string) []Activity {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.group
	if name != "" && name != g.m.Name {
		return nil
	}
	out := make([]Activity, 0, len(g.acts))
	for i := len(g.acts) - 1; i >= 0; i-- {
		out = append(out, *g.acts[i])
	}
	return out
}
