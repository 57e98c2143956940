package sim

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Launch failures: the group's launches in chosen AZs fail with
// InsufficientInstanceCapacity, as AWS FIS's
// aws:ec2:asg-insufficient-instance-capacity-error does to a group's
// launch requests (no plain AWS API does this; the sandbox arms it through
// its control endpoint, /_sandbox/launch-failures).
//
// The group behaves as AWS documents for a group in several AZs: a launch
// refused in one AZ is recorded as a Failed scaling activity and the group
// launches in another AZ instead; when every AZ refuses, the group keeps
// retrying (with a back-off: one failed activity per AZ every
// launchFailureRetry) until the failure ends.

// MaxLaunchFailure bounds how long one launch failure can be armed (a
// crashed harness cannot leave the region failing launches for longer).
const MaxLaunchFailure = 24 * time.Hour

// InsufficientCapacity is the EC2 error code of a refused launch.
const InsufficientCapacity = "InsufficientInstanceCapacity"

// LaunchFailure is one armed launch failure: the group's launches in AZs
// fail until Until.
type LaunchFailure struct {
	ID    string    `json:"id"`
	Group string    `json:"group"`
	AZs   []string  `json:"azs"`
	Until time.Time `json:"until"`
	// Percent of the launches in AZs that fail (1..100), as FIS's
	// percentage parameter.
	Percent int `json:"percent"`

	lastAct map[string]time.Time // AZ → last Failed activity recorded
}

// launchFailureRetry is how often a refused AZ gets a new Failed activity.
func (r *Region) launchFailureRetry() time.Duration {
	return max(10*r.t.ASGCheckInterval, time.Second)
}

// AddLaunchFailure arms a launch failure on percent (1..100; 0 means 100)
// of the group's launches in azs for d (0 < d <= MaxLaunchFailure). Every
// AZ must be one of the group's.
// id names it ("" picks one): a client that chooses its id before arming
// can always disarm exactly its own, even if it never saw the answer.
func (r *Region) AddLaunchFailure(id, group string, azs []string, d time.Duration, percent int) (LaunchFailure, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pruneLaunchFailuresLocked(time.Now())
	g := r.group
	if !validLaunchFailureID(id) {
		return LaunchFailure{}, apiErr(400, "ValidationError", "id: %q is not 1 to 64 letters, digits, '-' or '_'", id)
	}
	for _, lf := range g.launchFails {
		if lf.ID == id {
			return LaunchFailure{}, apiErr(409, "AlreadyExists", "id: launch failure %s is already armed", id)
		}
	}
	if g == nil || group != g.m.Name {
		return LaunchFailure{}, apiErr(400, "ValidationError", "AutoScalingGroup name not found - AutoScalingGroup '%s' not found", group)
	}
	if len(azs) == 0 {
		return LaunchFailure{}, apiErr(400, "ValidationError", "azs: name at least one Availability Zone of group %s (%s)", group, strings.Join(g.m.AZs, ", "))
	}
	for _, az := range azs {
		if !slices.Contains(g.m.AZs, az) {
			return LaunchFailure{}, apiErr(400, "ValidationError", "azs: %q is not an Availability Zone of group %s (%s)", az, group, strings.Join(g.m.AZs, ", "))
		}
	}
	if d <= 0 || d > MaxLaunchFailure {
		return LaunchFailure{}, apiErr(400, "ValidationError", "duration: %s is not in (0, %s]", d, MaxLaunchFailure)
	}
	if percent == 0 {
		percent = 100
	}
	if percent < 1 || percent > 100 {
		return LaunchFailure{}, apiErr(400, "ValidationError", "percent: %d is not in 1..100", percent)
	}
	if id == "" {
		id = r.hexID("lf-", 12)
	}
	lf := &LaunchFailure{ID: id, Group: group, AZs: slices.Clone(azs), Until: time.Now().Add(d), Percent: percent, lastAct: map[string]time.Time{}}
	sort.Strings(lf.AZs)
	g.launchFails = append(g.launchFails, lf)
	for _, az := range lf.AZs {
		r.emit("launch-failure", group, az, "", "armed", lf.ID)
	}
	return lf.copy(), nil
}

// RemoveLaunchFailure disarms the launch failure id; it reports whether it
// was armed (an expired or unknown one is not an error).
func (r *Region) RemoveLaunchFailure(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pruneLaunchFailuresLocked(time.Now())
	g := r.group
	for i, lf := range g.launchFails {
		if lf.ID == id {
			g.launchFails = slices.Delete(g.launchFails, i, i+1)
			for _, az := range lf.AZs {
				r.emit("launch-failure", lf.Group, az, "armed", "disarmed", lf.ID)
			}
			return true
		}
	}
	return false
}

// LaunchFailures lists the armed launch failures, oldest first.
func (r *Region) LaunchFailures() []LaunchFailure {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pruneLaunchFailuresLocked(time.Now())
	out := []LaunchFailure{}
	for _, lf := range r.group.launchFails {
		out = append(out, lf.copy())
	}
	return out
}

func (lf *LaunchFailure) copy() LaunchFailure {
	c := *lf
	c.AZs = slices.Clone(lf.AZs)
	c.lastAct = nil
	return c
}

func (r *Region) pruneLaunchFailuresLocked(now time.Time) {
	g := r.group
	if g == nil {
		return
	}
	g.launchFails = slices.DeleteFunc(g.launchFails, func(lf *LaunchFailure) bool {
		if now.Before(lf.Until) {
			return false
		}
		for _, az := range lf.AZs {
			r.emit("launch-failure", lf.Group, az, "armed", "expired", lf.ID)
		}
		return true
	})
}

// launchFailingLocked returns the armed failure refusing launches in az.
func (r *Region) launchFailingLocked(az string) *LaunchFailure {
	for _, lf := range r.group.launchFails {
		if slices.Contains(lf.AZs, az) {
			return lf
		}
	}
	return nil
}

// launchAZLocked picks the AZ of the group's next launch: the one with the
// fewest members (perAZ) whose launches are not refused. Each refused AZ
// it would have used gets a Failed activity (at most one per
// launchFailureRetry). ok is false when every AZ refuses.
func (r *Region) launchAZLocked(perAZ []int, now time.Time, active int32) (az int, ok bool) {
	r.pruneLaunchFailuresLocked(now)
	order := make([]int, len(perAZ))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return perAZ[order[a]] < perAZ[order[b]] })
	for _, i := range order {
		name := r.azs[i].Name
		lf := r.launchFailingLocked(name)
		if lf == nil || (lf.Percent < 100 && r.rng.IntN(100) >= lf.Percent) {
			return i, true
		}
		if last, seen := lf.lastAct[name]; seen && now.Sub(last) < r.launchFailureRetry() {
			continue
		}
		lf.lastAct[name] = now
		r.failLaunchLocked(name, now, active)
	}
	return 0, false
}

// failLaunchLocked records a launch refused in az as AWS shows it: a
// Failed activity whose StatusMessage is EC2's InsufficientInstanceCapacity
// message (worded as EC2 words it, naming the AZs that still have
// capacity) and whose Description carries it as the "Status Reason".
func (r *Region) failLaunchLocked(az string, now time.Time, active int32) {
	g := r.group
	var others []string
	for _, a := range g.m.AZs {
		if a != az && r.launchFailingLocked(a) == nil {
			others = append(others, a)
		}
	}
	typ := r.cfg.Instance.InstanceType
	msg := fmt.Sprintf("We currently do not have sufficient %s capacity in the Availability Zone you requested (%s). Our system will be working on provisioning additional capacity.", typ, az)
	if len(others) > 0 {
		msg += fmt.Sprintf(" You can currently get %s capacity by not specifying an Availability Zone in your request or choosing %s.", typ, strings.Join(others, ", "))
	}
	msg += " Launching EC2 instance failed."
	cause := g.pendingCause + fmt.Sprintf("At %s an instance was started in response to a difference between desired and running capacity, increasing the capacity from %d to %d.", awsTime(now), active, active+1)
	act := r.startActivityLocked("Launching a new EC2 instance.  Status Reason: "+msg, cause)
	act.StatusMessage = msg
	r.endActivityLocked(act, "Failed")
	r.emit("asg-launch-failed", g.m.Name, az, "", InsufficientCapacity, msg)
}

func validLaunchFailureID(id string) bool {
	if len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
