package sim

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gameday-dev/gameday/sandbox/truth"
)

// Instance refresh: the group replaces its instances batch by batch, as
// Amazon EC2 Auto Scaling's StartInstanceRefresh does. Shapes, defaults and
// error codes follow the Auto Scaling API reference (StartInstanceRefresh,
// DescribeInstanceRefreshes, CancelInstanceRefresh, RollbackInstanceRefresh,
// RefreshPreferences, InstanceRefresh, RollbackDetails) and the service
// model of aws-sdk-go-v2/service/autoscaling v1.79.4; behaviour follows the
// user guide ("Understand the default values for an instance refresh",
// "Undo changes with a manual or auto rollback").
//
// The sandbox's model:
//   - The group launches from launch template "<group>-lt". Every positive
//     integer version exists; the group's first instances run version 1.
//     Instances launched from a later version run the release that
//     app.release configures (good, slow or bad).
//   - Without MaxHealthyPercentage, a batch terminates (draining through
//     the target group's deregistration delay: in-flight requests finish,
//     new ones go elsewhere) max(1, desired - ceil(desired*min/100)) old
//     instances and the group launches their replacements at once. With
//     MaxHealthyPercentage set, the group first launches up to
//     floor(desired*max/100) - desired extra instances, terminates old ones
//     only as far as min healthy allows, and terminates the rest once the
//     new ones are ready.
//   - A replacement is updated once it is InService, healthy (its target
//     healthy, for an ELB health check) and its warm-up (InstanceWarmup,
//     default the health check grace period) has passed. A batch ends when
//     every replacement it started is updated.
//   - While a refresh runs, the group launches from its desired
//     configuration; the group's own version changes only when the refresh
//     succeeds (DesiredConfiguration: "after the instance refresh succeeds,
//     Amazon EC2 Auto Scaling updates the settings of the Auto Scaling
//     group"). After a cancel or a failure the group launches from its old
//     version again.
//   - Members in Standby are left alone (StandbyInstances: Ignore).
//   - AWS does not publish when a refresh whose replacements keep failing
//     health checks gives up; the sandbox fails it once RefreshFailAfter
//     replacements were taken out of service as unhealthy (then rolls back
//     if AutoRollback is set).

// Instance refresh statuses (InstanceRefreshStatus).
const (
	RefreshPending            = "Pending"
	RefreshInProgress         = "InProgress"
	RefreshSuccessful         = "Successful"
	RefreshFailed             = "Failed"
	RefreshCancelling         = "Cancelling"
	RefreshCancelled          = "Cancelled"
	RefreshRollbackInProgress = "RollbackInProgress"
	RefreshRollbackFailed     = "RollbackFailed"
	RefreshRollbackSuccessful = "RollbackSuccessful"
	RefreshBaking             = "Baking"
)

// RefreshFailAfter is how many replacements of one instance refresh may be
// taken out of service as unhealthy before the refresh fails.
const RefreshFailAfter = 3

// EventInstanceRefresh and EventRefreshBatch are the ground-truth event
// kinds of an instance refresh: a status change (From → To), and a batch
// starting or ending (To "started" | "updated", Detail naming the
// instances).
const (
	EventInstanceRefresh = truth.EventInstanceRefresh
	EventRefreshBatch    = truth.EventRefreshBatch
)

const firstVersion = "1"

// Releases app.release knows.
const (
	ReleaseGood = "good" // new instances behave as the old ones
	ReleaseSlow = "slow" // /health fails for app.slow_start after boot
	ReleaseBad  = "bad"  // /health never passes: the refresh stalls
)

// AppConfig configures the web app of new releases: instances the group
// launches from a launch template version other than 1 (an instance
// refresh's desired configuration).
type AppConfig struct {
	// Release is good (default), slow or bad.
	Release string `yaml:"release" mapstructure:"release" json:"release,omitempty"`
	// SlowStart is how long a slow release's /health fails after boot
	// (default 2× the health check grace period, so the group replaces it
	// as unhealthy unless the grace period is raised).
	SlowStart time.Duration `yaml:"slow_start" mapstructure:"slow_start" json:"slow_start,omitempty"`
}

func (a AppConfig) validate() []string {
	var errs []string
	switch a.Release {
	case "", ReleaseGood, ReleaseSlow, ReleaseBad:
	default:
		errs = append(errs, fmt.Sprintf("app.release: %q is not good, slow or bad", a.Release))
	}
	if a.SlowStart < 0 || a.SlowStart > time.Hour {
		errs = append(errs, fmt.Sprintf("app.slow_start must be between 0 and 1h, got %s", a.SlowStart))
	}
	return errs
}

// RefreshPreferences are StartInstanceRefresh's Preferences; nil pointers
// are unset (AWS defaults apply).
type RefreshPreferences struct {
	MinHealthyPercentage  *int32
	MaxHealthyPercentage  *int32
	InstanceWarmup        *int32 // seconds
	SkipMatching          *bool
	CheckpointPercentages []int32
	CheckpointDelay       *int32 // seconds
	AutoRollback          *bool
	BakeTime              *int32 // seconds
}

// RefreshRollback is an instance refresh's RollbackDetails.
type RefreshRollback struct {
	Reason                       string
	StartTime                    time.Time
	PercentageCompleteOnRollback int32
	InstancesToUpdateOnRollback  int32
}

// InstanceRefresh is one instance refresh, as DescribeInstanceRefreshes
// returns it.
type InstanceRefresh struct {
	ID                 string
	GroupName          string
	Status             string
	StatusReason       string
	StartTime          time.Time
	EndTime            time.Time // zero while active
	PercentageComplete int32
	InstancesToUpdate  int32
	Preferences        RefreshPreferences
	// DesiredLaunchTemplate and DesiredVersion are the desired
	// configuration ("" when none was given).
	DesiredLaunchTemplate string
	DesiredVersion        string
	Rollback              *RefreshRollback
}

// Active reports whether the refresh still runs (CancelInstanceRefresh and
// RollbackInstanceRefresh find it).
func (x InstanceRefresh) Active() bool {
	switch x.Status {
	case RefreshPending, RefreshInProgress, RefreshCancelling, RefreshRollbackInProgress, RefreshBaking:
		return true
	}
	return false
}

// refreshState is the group's instance refresh state.
type refreshState struct {
	version string     // the group's launch template version ("" = firstVersion)
	all     []*refresh // oldest first
}

func (s *refreshState) current() string {
	if s.version == "" {
		return firstVersion
	}
	return s.version
}

func (s *refreshState) active() *refresh {
	if n := len(s.all); n > 0 && s.all[n-1].m.Active() {
		return s.all[n-1]
	}
	return nil
}

type refresh struct {
	m       InstanceRefresh
	prev    string // the group's version when it started
	target  string // the version replacements launch from
	initial map[*member]bool
	old     []*member // still to replace, in replacement order
	total   int32
	// replaced counts old members terminated (by the refresh or otherwise);
	// surgeOld are old members of the running batch to terminate once its
	// replacements are updated.
	replaced  int32
	surgeOld  []*member
	surgeWant int32 // extra members (member.extra) the running batch holds
	counted   map[*member]bool
	inBatch   bool
	batch     int
	unhealthy int
	nextCP    int
	waitTill  time.Time // checkpoint delay or bake time
	warmup    time.Duration
	failed    string // why the refresh fails at its next step
}

// releaseLocked gives a new instance the behaviour of its version's release.
func (r *Region) releaseLocked(in *instance, version string) {
	if version == firstVersion {
		return
	}
	switch r.cfg.App.Release {
	case ReleaseBad:
		in.sick = true
	case ReleaseSlow:
		in.sick = true
		slow := r.cfg.App.SlowStart
		if slow == 0 {
			slow = 2 * r.t.GracePeriod
		}
		r.sched.after(r.t.BootDelay+slow, func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			if r.closed {
				return
			}
			in.sick = false
			if in.app != nil {
				in.app.sick.Store(false)
			}
		})
	}
}

// launchedLocked gives a member the group just launched its version and
// that version's release.
func (r *Region) launchedLocked(m *member) {
	m.version = r.launchVersionLocked()
	r.releaseLocked(m.in, m.version)
}

// refreshLaunchLocked launches one instance above desired capacity for a
// batch that launches before it terminates, in the least used AZ. The
// group's capacity pass does not count it (member.extra) until the batch
// terminates the old instance it replaces.
func (r *Region) refreshLaunchLocked(x *refresh, now time.Time) {
	g := r.group
	perAZ := make([]int, len(r.azs))
	for _, m := range g.members {
		if m.lifecycle != lifeTerminating {
			perAZ[m.in.azIdx]++
		}
	}
	az := 0
	for i := range perAZ {
		if perAZ[i] < perAZ[az] {
			az = i
		}
	}
	in := r.newInstanceLocked(az, g.m.Name, StatePending)
	r.bootLocked(in)
	act := r.startActivityLocked("Launching a new EC2 instance: "+in.m.ID, fmt.Sprintf("At %s an instance was launched in response to instance refresh %s.", awsTime(now), x.m.ID))
	act.Progress = 20
	m := &member{in: in, lifecycle: lifePending, health: "Healthy", launchAct: act, extra: true}
	g.members = append(g.members, m)
	r.emit("asg-member", in.m.ID, in.m.AZ, "", lifePending, g.m.Name)
	r.launchedLocked(m)
}

// launchVersionLocked is the version the group launches from now.
func (r *Region) launchVersionLocked() string {
	g := r.group
	if x := g.refresh.active(); x != nil {
		return x.target
	}
	return g.refresh.current()
}

// refreshCountUnhealthyLocked counts, once each, the replacements the
// group found unhealthy (it takes them out of service at once).
func (r *Region) refreshCountUnhealthyLocked(x *refresh) {
	for _, m := range r.group.members {
		if m.health != "Unhealthy" || x.initial[m] || m.version != x.target || x.counted[m] {
			continue
		}
		x.counted[m] = true
		x.unhealthy++
		if x.unhealthy >= RefreshFailAfter && x.failed == "" {
			x.failed = fmt.Sprintf("%d replacement instances were taken out of service after failing their health checks.", x.unhealthy)
		}
	}
}

// refreshSetStatusLocked changes a refresh's status and records it.
func (r *Region) refreshSetStatusLocked(x *refresh, status, reason string) {
	prev := x.m.Status
	x.m.Status, x.m.StatusReason = status, reason
	if prev != status {
		r.emit(EventInstanceRefresh, x.m.ID, "", prev, status, reason)
	}
}

// refreshEndLocked ends a refresh as Successful, Failed, Cancelled or
// RollbackSuccessful; a failed one with AutoRollback rolls back instead.
// Extra capacity a batch held is given back by terminating the instances it
// launched above desired capacity (never the old, working ones).
func (r *Region) refreshEndLocked(x *refresh, status, reason string) {
	g := r.group
	now := time.Now()
	r.refreshProgressLocked(x, now)
	if status != RefreshSuccessful && status != RefreshRollbackSuccessful {
		r.refreshDropSurgeLocked(x, now)
	}
	x.surgeOld = nil
	if status == RefreshFailed && x.m.Rollback == nil && x.m.Preferences.AutoRollback != nil && *x.m.Preferences.AutoRollback && x.m.DesiredVersion != "" {
		r.refreshSetStatusLocked(x, RefreshFailed, reason)
		r.refreshRollbackLocked(x, "Instance refresh failed: "+reason, now)
		return
	}
	if status == RefreshSuccessful && x.m.DesiredVersion != "" {
		g.refresh.version = x.m.DesiredVersion
	}
	x.m.EndTime = now
	r.refreshSetStatusLocked(x, status, reason)
}

// refreshDropSurgeLocked terminates the instances a batch launched above
// desired capacity (draining those in service): the old instances they
// were to replace stay.
func (r *Region) refreshDropSurgeLocked(x *refresh, now time.Time) {
	for _, m := range r.group.members {
		if m.extra {
			m.extra = false
			if m.lifecycle != lifeTerminating {
				r.terminateMemberLocked(m, fmt.Sprintf("At %s an instance was taken out of service in response to the end of instance refresh %s.", awsTime(now), x.m.ID), true)
			}
		}
	}
	x.surgeWant = 0
}

// refreshUpdatedLocked reports whether m counts as updated by x.
func (r *Region) refreshUpdatedLocked(x *refresh, m *member, now time.Time) bool {
	if x.initial[m] || m.version != x.target || m.lifecycle != lifeInService || m.health != "Healthy" {
		return false
	}
	if r.group.m.HealthCheckType == "ELB" {
		if t := r.tg.find(m.in.m.ID); t == nil || t.state != TargetHealthy {
			return false
		}
	}
	return now.Sub(m.inService) >= x.warmup
}

// refreshProgressLocked recomputes PercentageComplete and
// InstancesToUpdate and returns the updated count.
func (r *Region) refreshProgressLocked(x *refresh, now time.Time) int32 {
	var updated int32
	for _, m := range r.group.members {
		if r.refreshUpdatedLocked(x, m, now) {
			updated++
		}
	}
	done := min(updated, x.total)
	x.m.InstancesToUpdate = x.total - done
	x.m.PercentageComplete = 100
	if x.total > 0 {
		x.m.PercentageComplete = done * 100 / x.total
	}
	return updated
}

// refreshStepLocked advances the group's running refresh by one group pass.
func (r *Region) refreshStepLocked(now time.Time) {
	g := r.group
	x := g.refresh.active()
	if x == nil {
		return
	}
	r.refreshCountUnhealthyLocked(x)
	if x.failed != "" {
		status := RefreshFailed
		if x.m.Rollback != nil {
			status = RefreshRollbackFailed
		}
		r.refreshEndLocked(x, status, x.failed)
		return
	}
	switch x.m.Status {
	case RefreshPending:
		r.refreshSetStatusLocked(x, RefreshInProgress, "")
	case RefreshCancelling:
		// The sandbox does not wait for in-flight replacements: a bad
		// release's would never finish.
		r.refreshEndLocked(x, RefreshCancelled, "Cancelled due to user request.")
		return
	case RefreshBaking:
		if now.Before(x.waitTill) {
			return
		}
		r.refreshEndLocked(x, RefreshSuccessful, "")
		return
	}
	// Old members that went away by other means count as replaced; one put
	// in Standby is left alone (StandbyInstances: Ignore).
	keep := x.old[:0]
	for _, m := range x.old {
		switch {
		case m.lifecycle == lifeTerminating || !slices.Contains(g.members, m):
			x.replaced++
		case m.lifecycle == lifeStandby:
			x.total--
		default:
			keep = append(keep, m)
		}
	}
	x.old = keep
	updated := r.refreshProgressLocked(x, now)
	if !x.waitTill.IsZero() {
		if now.Before(x.waitTill) {
			return
		}
		x.waitTill = time.Time{}
		if x.m.Status == RefreshInProgress {
			x.m.StatusReason = ""
		}
	}
	if x.inBatch {
		extras := int32(0)
		for _, m := range g.members {
			if m.extra && m.lifecycle != lifeTerminating {
				extras++
			}
		}
		for ; extras < x.surgeWant; extras++ {
			r.refreshLaunchLocked(x, now) // one was lost: launch another
		}
		if len(x.surgeOld) > 0 && updated >= x.replaced+int32(len(x.surgeOld)) {
			// The replacements are ready: the old instances go, and the
			// extra ones become ordinary members in their place.
			for _, m := range x.surgeOld {
				if m.lifecycle != lifeTerminating && slices.Contains(g.members, m) {
					r.terminateMemberLocked(m, r.refreshCause(x, now), true)
				}
				x.replaced++
			}
			for _, m := range g.members {
				m.extra = false
			}
			x.surgeOld, x.surgeWant = nil, 0
		}
		if len(x.surgeOld) > 0 || updated < x.replaced {
			r.refreshWaitReasonLocked(x, now)
			return
		}
		if x.m.Status == RefreshInProgress {
			x.m.StatusReason = ""
		}
		x.inBatch = false
		r.emit(EventRefreshBatch, x.m.ID, "", "started", "updated", fmt.Sprintf("batch %d: %d of %d instances updated", x.batch, min(updated, x.total), x.total))
		if r.refreshCheckpointLocked(x, now) {
			return
		}
	}
	if len(x.old) == 0 {
		if updated < x.total {
			return // a replacement was lost: the group launches another
		}
		if x.m.Rollback != nil {
			r.refreshEndLocked(x, RefreshRollbackSuccessful, "")
			return
		}
		if b := x.m.Preferences.BakeTime; b != nil && *b > 0 {
			x.waitTill = now.Add(time.Duration(*b) * time.Second)
			r.refreshSetStatusLocked(x, RefreshBaking, "")
			return
		}
		r.refreshEndLocked(x, RefreshSuccessful, "")
		return
	}
	// No new batch while a process it needs is suspended (user guide: with
	// InstanceRefresh or Launch suspended "InstanceRefresh does not replace
	// instances"); it goes on once they resume (asgprocesses.go).
	if r.refreshHeldLocked() {
		return
	}
	r.refreshStartBatchLocked(x, now)
}

// refreshWaitReasonLocked says, in the words AWS uses, what a running
// batch waits for: a replacement to become healthy, or to warm up.
func (r *Region) refreshWaitReasonLocked(x *refresh, now time.Time) {
	if x.m.Status != RefreshInProgress && x.m.Status != RefreshRollbackInProgress {
		return
	}
	var booting, warming string
	for _, m := range r.group.members {
		if x.initial[m] || m.version != x.target || m.lifecycle == lifeTerminating || r.refreshUpdatedLocked(x, m, now) {
			continue
		}
		t := r.tg.find(m.in.m.ID)
		if m.lifecycle == lifeInService && m.health == "Healthy" && (r.group.m.HealthCheckType != "ELB" || (t != nil && t.state == TargetHealthy)) {
			warming = cmp.Or(warming, m.in.m.ID)
		} else {
			booting = cmp.Or(booting, m.in.m.ID)
		}
	}
	switch {
	case booting != "":
		x.m.StatusReason = fmt.Sprintf("Waiting for remaining instances to be available. For example: %s has insufficient data to evaluate its health with Elastic Load Balancing.", booting)
	case warming != "":
		x.m.StatusReason = fmt.Sprintf("Waiting for instances to warm up before continuing. For example: %s is warming up.", warming)
	}
}

func (r *Region) refreshCause(x *refresh, now time.Time) string {
	what := "an instance refresh"
	if x.m.Rollback != nil {
		what = "a rollback of an instance refresh"
	}
	return fmt.Sprintf("At %s an instance was taken out of service in response to %s %s.", awsTime(now), what, x.m.ID)
}

// refreshCheckpointLocked starts a checkpoint wait when the refresh reached
// its next checkpoint percentage.
func (r *Region) refreshCheckpointLocked(x *refresh, now time.Time) bool {
	cps := x.m.Preferences.CheckpointPercentages
	if x.m.Rollback != nil || x.nextCP >= len(cps) || x.m.PercentageComplete < cps[x.nextCP] || x.m.PercentageComplete >= 100 {
		return false
	}
	for x.nextCP < len(cps) && x.m.PercentageComplete >= cps[x.nextCP] {
		x.nextCP++
	}
	delay := int32(3600)
	if d := x.m.Preferences.CheckpointDelay; d != nil {
		delay = *d
	}
	x.waitTill = now.Add(time.Duration(delay) * time.Second)
	x.m.StatusReason = fmt.Sprintf("Waiting for the checkpoint delay (%d seconds) after reaching %d%% complete.", delay, x.m.PercentageComplete)
	r.emit(EventInstanceRefresh, x.m.ID, "", x.m.Status, x.m.Status, x.m.StatusReason)
	return true
}

// refreshStartBatchLocked starts the next batch: see the model above.
func (r *Region) refreshStartBatchLocked(x *refresh, now time.Time) {
	g := r.group
	desired := g.m.Desired
	minPct := int32(90)
	if p := x.m.Preferences.MinHealthyPercentage; p != nil {
		minPct = *p
	}
	floor := (desired*minPct + 99) / 100
	n := max(desired-floor, 1)
	terminateNow := n
	if p := x.m.Preferences.MaxHealthyPercentage; p != nil {
		ceiling := desired * *p / 100
		n = max(ceiling-floor, 1)
		terminateNow = min(max(desired-floor, 0), n)
	}
	n = min(n, int32(len(x.old)))
	terminateNow = min(terminateNow, n)
	batch := x.old[:n]
	x.old = slices.Clone(x.old[n:])
	x.batch++
	x.inBatch = true
	ids := make([]string, 0, len(batch))
	for _, m := range batch {
		ids = append(ids, m.in.m.ID)
	}
	r.emit(EventRefreshBatch, x.m.ID, "", "", "started", fmt.Sprintf("batch %d: replacing %s (%d now, %d after their replacements are ready)", x.batch, strings.Join(ids, ", "), terminateNow, n-terminateNow))
	for _, m := range batch[:terminateNow] {
		r.terminateMemberLocked(m, r.refreshCause(x, now), true)
		x.replaced++
	}
	x.surgeOld = append(x.surgeOld, batch[terminateNow:]...)
	x.surgeWant = n - terminateNow
	for range x.surgeWant {
		r.refreshLaunchLocked(x, now)
	}
}

// refreshRollbackLocked turns x into a rollback: it replaces every instance
// not on the version the group had before x started.
func (r *Region) refreshRollbackLocked(x *refresh, reason string, now time.Time) {
	g := r.group
	r.refreshDropSurgeLocked(x, now)
	x.surgeOld = nil
	x.m.Rollback = &RefreshRollback{
		Reason: reason, StartTime: now,
		PercentageCompleteOnRollback: x.m.PercentageComplete,
		InstancesToUpdateOnRollback:  x.m.InstancesToUpdate,
	}
	x.target = x.prev
	x.initial, x.counted = map[*member]bool{}, map[*member]bool{}
	x.old = nil
	for _, m := range g.members {
		if m.lifecycle == lifeTerminating {
			continue
		}
		x.initial[m] = true
		if m.version != x.prev && m.inCapacity() {
			x.old = append(x.old, m)
		}
	}
	x.total, x.replaced, x.inBatch, x.unhealthy, x.waitTill, x.failed = int32(len(x.old)), 0, false, 0, time.Time{}, ""
	r.refreshSetStatusLocked(x, RefreshRollbackInProgress, reason)
	r.refreshProgressLocked(x, now)
}

// ---- Auto Scaling API ----

// StartInstanceRefresh starts an instance refresh of the group. version is
// the desired configuration's launch template version ("" for none: the
// group's current configuration, every instance replaced unless
// SkipMatching).
func (r *Region) StartInstanceRefresh(group, launchTemplate, version string, p RefreshPreferences) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.group
	if group != g.m.Name {
		return "", apiErr(400, "ValidationError", "AutoScalingGroup name not found - AutoScalingGroup %s not found", group)
	}
	if err := validatePreferences(p); err != nil {
		return "", err
	}
	lt := g.m.Name + "-lt"
	if version != "" || launchTemplate != "" {
		if launchTemplate != "" && launchTemplate != lt {
			return "", apiErr(400, "ValidationError", "The launch template %s does not exist (the sandbox's group launches from %s).", launchTemplate, lt)
		}
		if n, err := strconv.Atoi(version); err != nil || n < 1 {
			return "", apiErr(400, "ValidationError", "Launch template version %q is not supported by the sandbox: give a version number (1, 2, ...).", version)
		}
		launchTemplate = lt
	}
	if p.AutoRollback != nil && *p.AutoRollback && version == "" {
		return "", apiErr(400, "ValidationError", "AutoRollback requires a DesiredConfiguration for the instance refresh.")
	}
	if g.refresh.active() != nil {
		return "", apiErr(400, "InstanceRefreshInProgress", "An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.")
	}
	now := time.Now()
	target := g.refresh.current()
	if version != "" {
		target = version
	}
	x := &refresh{
		m: InstanceRefresh{
			ID: r.uuid(), GroupName: g.m.Name, Status: RefreshPending, StartTime: now,
			Preferences: p, DesiredLaunchTemplate: launchTemplate, DesiredVersion: version,
		},
		prev: g.refresh.current(), target: target, initial: map[*member]bool{}, counted: map[*member]bool{},
		warmup: g.m.HealthCheckGracePeriod,
	}
	if p.InstanceWarmup != nil {
		x.warmup = time.Duration(*p.InstanceWarmup) * time.Second
	}
	skip := p.SkipMatching != nil && *p.SkipMatching
	for _, m := range g.members {
		if m.lifecycle == lifeTerminating {
			continue
		}
		x.initial[m] = true
		if (!skip || m.version != target) && m.inCapacity() {
			// Standby members are left alone, as StandbyInstances: Ignore.
			x.old = append(x.old, m)
		}
	}
	// Oldest first, as a refresh replaces them.
	slices.SortStableFunc(x.old, func(a, b *member) int { return a.in.m.LaunchTime.Compare(b.in.m.LaunchTime) })
	x.total = int32(len(x.old))
	x.m.InstancesToUpdate = x.total
	g.refresh.all = append(g.refresh.all, x)
	if len(g.refresh.all) > 100 {
		g.refresh.all = g.refresh.all[len(g.refresh.all)-100:]
	}
	r.emit(EventInstanceRefresh, x.m.ID, "", "", RefreshPending, fmt.Sprintf("group %s: %d instances to update to launch template version %s", g.m.Name, x.total, target))
	return x.m.ID, nil
}

// validatePreferences applies RefreshPreferences' documented bounds.
func validatePreferences(p RefreshPreferences) error {
	bad := func(format string, a ...any) error { return apiErr(400, "ValidationError", format, a...) }
	if v := p.MinHealthyPercentage; v != nil && (*v < 0 || *v > 100) {
		return bad("MinHealthyPercentage must be between 0 and 100, got %d.", *v)
	}
	if v := p.MaxHealthyPercentage; v != nil {
		if *v < 100 || *v > 200 {
			return bad("MaxHealthyPercentage must be between 100 and 200, got %d.", *v)
		}
		if p.MinHealthyPercentage == nil {
			return bad("When you specify MaxHealthyPercentage, you must also specify MinHealthyPercentage.")
		}
		if *v-*p.MinHealthyPercentage > 100 {
			return bad("The difference between MaxHealthyPercentage and MinHealthyPercentage cannot be greater than 100.")
		}
	}
	if v := p.InstanceWarmup; v != nil && *v < 0 {
		return bad("InstanceWarmup must not be negative, got %d.", *v)
	}
	if v := p.CheckpointDelay; v != nil {
		if *v < 0 || *v > 172800 {
			return bad("CheckpointDelay must be between 0 and 172800, got %d.", *v)
		}
		if len(p.CheckpointPercentages) == 0 {
			return bad("CheckpointDelay requires CheckpointPercentages.")
		}
	}
	for i, c := range p.CheckpointPercentages {
		if c < 1 || c > 100 || (i > 0 && c <= p.CheckpointPercentages[i-1]) {
			return bad("CheckpointPercentages must be unique values from 1 to 100 in ascending order.")
		}
	}
	if v := p.BakeTime; v != nil && (*v < 0 || *v > 172800) {
		return bad("BakeTime must be between 0 and 172800, got %d.", *v)
	}
	return nil
}

// InstanceRefreshes lists the group's refreshes, newest first; ids, if
// given, select (unknown ids are skipped, as AWS does).
func (r *Region) InstanceRefreshes(group string, ids []string) ([]InstanceRefresh, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.group
	if group != g.m.Name {
		// AWS answers an unknown group with an empty list.
		return nil, nil
	}
	now := time.Now()
	out := make([]InstanceRefresh, 0, len(g.refresh.all))
	for i := len(g.refresh.all) - 1; i >= 0; i-- {
		x := g.refresh.all[i]
		if len(ids) > 0 && !slices.Contains(ids, x.m.ID) {
			continue
		}
		if x.m.Active() {
			r.refreshProgressLocked(x, now)
		}
		m := x.m
		m.Preferences.CheckpointPercentages = slices.Clone(m.Preferences.CheckpointPercentages)
		if m.Rollback != nil {
			rb := *m.Rollback
			m.Rollback = &rb
		}
		out = append(out, m)
	}
	return out, nil
}

// CancelInstanceRefresh cancels the group's running refresh (or rollback):
// replacements already made stay.
func (r *Region) CancelInstanceRefresh(group string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.group
	if group != g.m.Name {
		return "", apiErr(400, "ValidationError", "AutoScalingGroup name not found - AutoScalingGroup %s not found", group)
	}
	x := g.refresh.active()
	if x == nil || x.m.Status == RefreshCancelling {
		return "", apiErr(400, "ActiveInstanceRefreshNotFound", "No in progress or pending Instance Refresh found for Auto Scaling group %s", group)
	}
	r.refreshSetStatusLocked(x, RefreshCancelling, "Cancelling due to user request.")
	return x.m.ID, nil
}

// RollbackInstanceRefresh rolls the group's running refresh back: every
// instance it replaced is replaced again from the version the group had.
func (r *Region) RollbackInstanceRefresh(group string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.group
	if group != g.m.Name {
		return "", apiErr(400, "ValidationError", "AutoScalingGroup name not found - AutoScalingGroup %s not found", group)
	}
	x := g.refresh.active()
	if x == nil || x.m.Status == RefreshCancelling || x.m.Rollback != nil {
		return "", apiErr(400, "ActiveInstanceRefreshNotFound", "No in progress or pending Instance Refresh found for Auto Scaling group %s", group)
	}
	if x.m.DesiredVersion == "" {
		return "", apiErr(400, "IrreversibleInstanceRefresh", "The instance refresh %s cannot be rolled back: it has no desired configuration.", x.m.ID)
	}
	r.refreshRollbackLocked(x, "Rollback started by user.", time.Now())
	return x.m.ID, nil
}
