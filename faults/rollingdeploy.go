package faults

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/sandbox/truth"
	"github.com/gameday-dev/gameday/topology"
)

// KindRollingDeploy rolls a release through the Auto Scaling group with an
// instance refresh (StartInstanceRefresh), watches it batch by batch
// (DescribeInstanceRefreshes) and, if it has not finished when the fault's
// duration ends, rolls it back (RollbackInstanceRefresh) or cancels it
// (CancelInstanceRefresh).
const KindRollingDeploy = "rolling-deploy"

// deploySpec is the kind's own YAML; the refresh preferences keep the
// names and bounds of the Auto Scaling API's RefreshPreferences.
type deploySpec struct {
	// LaunchTemplateVersion is the release: the desired configuration's
	// launch template version (a number). Empty: refresh the group onto
	// the configuration it has (no rollback is then possible).
	LaunchTemplateVersion string         `mapstructure:"launch_template_version"`
	MinHealthyPercentage  *int           `mapstructure:"min_healthy_percentage"`
	MaxHealthyPercentage  *int           `mapstructure:"max_healthy_percentage"`
	InstanceWarmup        *time.Duration `mapstructure:"instance_warmup"`
	SkipMatching          bool           `mapstructure:"skip_matching"`
	CheckpointPercentages []int          `mapstructure:"checkpoint_percentages"`
	CheckpointDelay       *time.Duration `mapstructure:"checkpoint_delay"`
	// AutoRollback lets Auto Scaling roll a failed refresh back itself.
	AutoRollback bool `mapstructure:"auto_rollback"`
	// PollInterval is how often the refresh is described (default 1s):
	// batch boundaries are known to within it.
	PollInterval time.Duration `mapstructure:"poll_interval"`
}

// DeployUndo is what a rolling-deploy fault journals.
type DeployUndo struct {
	Group          string   `json:"group"`
	Instances      []string `json:"instances"`       // InService members at plan time
	LaunchTemplate string   `json:"launch_template"` // name, or id when the group names it by id
	ByID           bool     `json:"by_id,omitempty"`
	FromVersion    string   `json:"from_version,omitempty"`
	Version        string   `json:"version,omitempty"` // "" = no desired configuration
	// Requested is when StartInstanceRefresh was called; RefreshID its
	// answer. A journal written in between finds the refresh by time.
	Requested  time.Time `json:"requested,omitempty"`
	RefreshID  string    `json:"refresh_id,omitempty"`
	Applying   bool      `json:"applying,omitempty"`
	RolledBack bool      `json:"rolled_back,omitempty"`
	// Outcome is the refresh's last status seen, and why.
	Outcome string `json:"outcome,omitempty"`
}

func init() {
	Register(Kind{
		Name: KindRollingDeploy,
		Doc: "Rolls a release through the Auto Scaling group with an instance refresh " +
			"(`StartInstanceRefresh`, Rolling): `launch_template_version` is the release (the " +
			"desired configuration's launch template version; empty refreshes the group onto its " +
			"current configuration), and `min_healthy_percentage`, `max_healthy_percentage`, " +
			"`instance_warmup`, `skip_matching`, `checkpoint_percentages`, `checkpoint_delay` and " +
			"`auto_rollback` are the API's RefreshPreferences. The refresh is watched with " +
			"`DescribeInstanceRefreshes` every `poll_interval` (default 1s); each batch (a rise of " +
			"PercentageComplete) becomes a phase of the run, `fault: <name> / batch N`, and the " +
			"per-fault gates `batch_failed_requests` (failed requests over every batch) and " +
			"`batch_p99` (the worst batch's p99) make a release gate such as " +
			"`batch_failed_requests == 0` writable. `duration` is the deploy's time budget: a " +
			"refresh still running when it ends is rolled back (`RollbackInstanceRefresh`, when " +
			"there is a desired configuration) or cancelled (`CancelInstanceRefresh`), and a " +
			"refresh that did not succeed leaves a rollback note saying how it ended (so the " +
			"`clean_rollback` gate fails, naming why). A refresh that succeeded is kept: the " +
			"release is the point.",
		Fields: []string{"launch_template_version", "min_healthy_percentage", "max_healthy_percentage", "instance_warmup",
			"skip_matching", "checkpoint_percentages", "checkpoint_delay", "auto_rollback", "poll_interval"},
		New:   newDeploy,
		Truth: deployTruth,
		Restore: func(c *awsclients.Clients, name string, dec func(any) error) (Fault, error) {
			f := &deployFault{c: c, name: name}
			return f, restoreState(dec, &f.st, &f.st.Applying)
		},
		Validate: func(x *experiments.Experiment, f *experiments.Fault, add func(field, msg string)) {
			var s deploySpec
			if !validateParams(f, &s, add) {
				return
			}
			for _, p := range s.problems() {
				add(p[0], p[1])
			}
			if t := f.Targets; t.AZ != "" || len(t.Tags) > 0 || len(t.InstanceIDs) > 0 || t.Count != 0 || t.Percent != 0 {
				add("targets", "a rolling deploy refreshes the whole group: only targets.group applies (the batch size follows min_healthy_percentage)")
			}
			if f.Duration <= 0 {
				add("duration", "must be positive: the deploy's time budget (a refresh still running then is rolled back)")
			}
			if msg := HeldPastVerify(x, f, "the deploy"); msg != "" {
				add("duration", msg)
			}
		},
		Guards: func(g experiments.Guards, f *experiments.Fault, add func(field, msg string)) {
			var s deploySpec
			if experiments.DecodeFaultParams(f.Params, &s) != nil {
				return
			}
			minH := 90
			if s.MinHealthyPercentage != nil {
				minH = *s.MinHealthyPercentage
			}
			if g.MaxInstanceShare > 0 && float64(100-minH) > 100*g.MaxInstanceShare+1e-9 {
				add("min_healthy_percentage", fmt.Sprintf("%d%% lets a batch take %d%% of the group out of service, more than guards.max_instance_share (%g)", minH, 100-minH, g.MaxInstanceShare))
			}
		},
	})
}

// problems checks the spec against the API's documented bounds, as
// (field, message) pairs.
func (s deploySpec) problems() [][2]string {
	var out [][2]string
	add := func(field, format string, a ...any) { out = append(out, [2]string{field, fmt.Sprintf(format, a...)}) }
	if v := s.LaunchTemplateVersion; v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 1<<30 {
			add("launch_template_version", "%q is not a launch template version number ($Latest and $Default cannot be rolled back)", v)
		}
	}
	if v := s.MinHealthyPercentage; v != nil && (*v < 0 || *v > 100) {
		add("min_healthy_percentage", "must be in 0..100, got %d", *v)
	}
	if v := s.MaxHealthyPercentage; v != nil {
		switch {
		case *v < 100 || *v > 200:
			add("max_healthy_percentage", "must be in 100..200, got %d", *v)
		case s.MinHealthyPercentage == nil:
			add("max_healthy_percentage", "needs min_healthy_percentage too (as the API does)")
		case *v-*s.MinHealthyPercentage > 100:
			add("max_healthy_percentage", "may exceed min_healthy_percentage by at most 100")
		}
	}
	if v := s.InstanceWarmup; v != nil && (*v < 0 || *v > 24*time.Hour || *v%time.Second != 0) {
		add("instance_warmup", "must be whole seconds in 0s..24h, got %s", *v)
	}
	for i, c := range s.CheckpointPercentages {
		if c < 1 || c > 100 || (i > 0 && c <= s.CheckpointPercentages[i-1]) {
			add("checkpoint_percentages", "must be unique values in 1..100, ascending")
			break
		}
	}
	if len(s.CheckpointPercentages) > 100 {
		add("checkpoint_percentages", "at most 100 values")
	}
	if v := s.CheckpointDelay; v != nil {
		if *v < 0 || *v > 48*time.Hour || *v%time.Second != 0 {
			add("checkpoint_delay", "must be whole seconds in 0s..48h, got %s", *v)
		}
		if len(s.CheckpointPercentages) == 0 {
			add("checkpoint_delay", "needs checkpoint_percentages")
		}
	}
	if s.AutoRollback && s.LaunchTemplateVersion == "" {
		add("auto_rollback", "needs launch_template_version: a refresh without a desired configuration cannot be rolled back")
	}
	if v := s.PollInterval; v != 0 && (v < 100*time.Millisecond || v > 30*time.Second) {
		add("poll_interval", "must be in 100ms..30s, got %s", v)
	}
	return out
}

// preferences are the API's RefreshPreferences for the spec.
func (s deploySpec) preferences() *asgtypes.RefreshPreferences {
	p := &asgtypes.RefreshPreferences{SkipMatching: aws.Bool(s.SkipMatching)}
	i32 := func(v *int) *int32 {
		if v == nil {
			return nil
		}
		return aws.Int32(int32(*v))
	}
	secs := func(d *time.Duration) *int32 {
		if d == nil {
			return nil
		}
		return aws.Int32(int32(d.Seconds()))
	}
	p.MinHealthyPercentage, p.MaxHealthyPercentage = i32(s.MinHealthyPercentage), i32(s.MaxHealthyPercentage)
	p.InstanceWarmup, p.CheckpointDelay = secs(s.InstanceWarmup), secs(s.CheckpointDelay)
	for _, c := range s.CheckpointPercentages {
		p.CheckpointPercentages = append(p.CheckpointPercentages, int32(c))
	}
	if s.AutoRollback {
		p.AutoRollback = aws.Bool(true)
	}
	return p
}

type deployFault struct {
	c    *awsclients.Clients
	name string
	spec deploySpec
	poll time.Duration

	op    sync.Mutex // serialises Apply and Rollback
	mu    sync.Mutex // guards st, notes and the watch below
	st    DeployUndo
	notes []string

	// The watch: steps closed so far, the open one, and the goroutine.
	steps    []Step
	stepFrom time.Time
	stepPct  int32
	batch    int
	status   string
	stop     context.CancelFunc
	watchers sync.WaitGroup
}

func newDeploy(ctx context.Context, c *awsclients.Clients, topo *topology.Topology, spec experiments.Fault) (Fault, error) {
	var s deploySpec
	if err := DecodeParams(spec, &s); err != nil {
		return nil, err
	}
	if ps := s.problems(); len(ps) > 0 {
		return nil, specErr(spec, ps[0][0], "%s", ps[0][1])
	}
	if spec.Duration <= 0 {
		return nil, specErr(spec, "duration", "must be positive: the deploy's time budget")
	}
	group := spec.Targets.Group
	if group == "" {
		group = topo.GroupName
	}
	if group == "" {
		return nil, specErr(spec, "targets.group", "no Auto Scaling group (name one here or in target.auto_scaling_group)")
	}
	out, err := c.ASG.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
	if err != nil {
		return nil, fmt.Errorf("fault %q: describe group %s: %w", spec.Name, group, err)
	}
	if len(out.AutoScalingGroups) != 1 {
		return nil, specErr(spec, "targets.group", "Auto Scaling group %q not found", group)
	}
	g := out.AutoScalingGroups[0]
	if err := CheckHeld(ctx, c, []Resource{{ResGroup, group}}, ""); err != nil {
		return nil, fmt.Errorf("fault %q: %w", spec.Name, err)
	}
	st := DeployUndo{Group: group, Version: s.LaunchTemplateVersion}
	if lt := g.LaunchTemplate; lt != nil {
		st.LaunchTemplate, st.FromVersion = aws.ToString(lt.LaunchTemplateName), aws.ToString(lt.Version)
		if st.LaunchTemplate == "" {
			st.LaunchTemplate, st.ByID = aws.ToString(lt.LaunchTemplateId), true
		}
	}
	if st.Version != "" && st.LaunchTemplate == "" {
		return nil, specErr(spec, "launch_template_version", "group %s has no launch template (a mixed instances policy or a launch configuration): the fault cannot name the release", group)
	}
	for _, in := range g.Instances {
		if in.LifecycleState == asgtypes.LifecycleStateInService {
			st.Instances = append(st.Instances, aws.ToString(in.InstanceId))
		}
	}
	slices.Sort(st.Instances)
	if len(st.Instances) == 0 {
		return nil, specErr(spec, "targets.group", "group %s has no InService instance to replace", group)
	}
	poll := s.PollInterval
	if poll == 0 {
		poll = time.Second
	}
	return &deployFault{c: c, name: spec.Name, spec: s, poll: poll, st: st}, nil
}

func (f *deployFault) Name() string { return f.name }
func (f *deployFault) Kind() string { return KindRollingDeploy }

// Resources: the instances the refresh replaces (those in service at plan time).
func (f *deployFault) Resources() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.st.Instances)
}

// Touches: every instance of the group it replaces.
func (f *deployFault) Touches() []Touched {
	return []Touched{{Type: TouchInstance, IDs: f.Resources()}}
}

// Leases: the group.
func (f *deployFault) Leases() []Resource {
	f.mu.Lock()
	defer f.mu.Unlock()
	return []Resource{{ResGroup, f.st.Group}}
}

func (f *deployFault) Describe() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	release := "its current configuration"
	undo := "cancel it (CancelInstanceRefresh)"
	if f.st.Version != "" {
		release = fmt.Sprintf("launch template %s version %s (from %s)", f.st.LaunchTemplate, f.st.Version, f.st.FromVersion)
		undo = "roll it back (RollbackInstanceRefresh)"
	}
	minH := 90
	if f.spec.MinHealthyPercentage != nil {
		minH = *f.spec.MinHealthyPercentage
	}
	return fmt.Sprintf("roll group %s (%d instances) onto %s with an instance refresh, min healthy %d%%; if it is still running when the fault ends, %s",
		f.st.Group, len(f.st.Instances), release, minH, undo)
}

func (f *deployFault) Undo() any {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.st
	u.Instances = slices.Clone(u.Instances)
	return u
}

func (f *deployFault) Notes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.notes)
}

// Steps: the refresh's batches as the watch saw them, and its rollback.
func (f *deployFault) Steps() []Step {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.steps)
}

func (f *deployFault) Apply(ctx context.Context) error {
	f.op.Lock()
	defer f.op.Unlock()
	st, err := beginApply(&f.mu, f.name, &f.st, &f.st.Applying)
	if err != nil {
		return err
	}
	in := &autoscaling.StartInstanceRefreshInput{
		AutoScalingGroupName: aws.String(st.Group),
		Strategy:             asgtypes.RefreshStrategyRolling,
		Preferences:          f.spec.preferences(),
	}
	if st.Version != "" {
		lt := &asgtypes.LaunchTemplateSpecification{Version: aws.String(st.Version)}
		if st.ByID {
			lt.LaunchTemplateId = aws.String(st.LaunchTemplate)
		} else {
			lt.LaunchTemplateName = aws.String(st.LaunchTemplate)
		}
		in.DesiredConfiguration = &asgtypes.DesiredConfiguration{LaunchTemplate: lt}
	}
	now := time.Now()
	f.mu.Lock()
	f.st.Requested = now
	f.mu.Unlock()
	out, err := f.c.ASG.StartInstanceRefresh(ctx, in)
	if err != nil {
		return fmt.Errorf("fault %q: start instance refresh of %s: %w", f.name, st.Group, err)
	}
	f.mu.Lock()
	f.st.RefreshID = aws.ToString(out.InstanceRefreshId)
	f.stepFrom, f.batch = now, 1
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f.stop = cancel
	f.mu.Unlock()
	f.watchers.Add(1)
	go f.watch(wctx, aws.ToString(out.InstanceRefreshId))
	return nil
}

// watch describes the refresh every poll interval until it ends, the fault
// is rolled back, or the calls keep failing; each rise of its progress
// closes a batch.
func (f *deployFault) watch(ctx context.Context, id string) {
	defer f.watchers.Done()
	fails := 0
	t := time.NewTicker(f.poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		x, err := f.describe(ctx, id)
		if err != nil {
			if fails++; fails >= 10 {
				return
			}
			continue
		}
		fails = 0
		if x != nil && f.observe(*x, time.Now()) {
			return
		}
	}
}

// describe returns refresh id of the group (nil if AWS no longer lists it).
func (f *deployFault) describe(ctx context.Context, id string) (*asgtypes.InstanceRefresh, error) {
	out, err := f.c.ASG.DescribeInstanceRefreshes(ctx, &autoscaling.DescribeInstanceRefreshesInput{
		AutoScalingGroupName: aws.String(f.st.Group), InstanceRefreshIds: []string{id}})
	if err != nil {
		return nil, fmt.Errorf("describe instance refresh %s: %w", id, err)
	}
	for _, x := range out.InstanceRefreshes {
		if aws.ToString(x.InstanceRefreshId) == id {
			return &x, nil
		}
	}
	return nil, nil
}

// refreshEnded reports whether a refresh status is final.
func refreshEnded(s asgtypes.InstanceRefreshStatus) bool {
	switch s {
	case asgtypes.InstanceRefreshStatusSuccessful, asgtypes.InstanceRefreshStatusFailed, asgtypes.InstanceRefreshStatusCancelled,
		asgtypes.InstanceRefreshStatusRollbackSuccessful, asgtypes.InstanceRefreshStatusRollbackFailed:
		return true
	}
	return false
}

// observe folds one description of the refresh into the steps and reports
// whether it has ended.
func (f *deployFault) observe(x asgtypes.InstanceRefresh, now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.batch < 0 {
		return true // seen ending already
	}
	if f.stepFrom.IsZero() {
		f.stepFrom, f.batch = now, 1
	}
	pct := aws.ToInt32(x.PercentageComplete)
	status := string(x.Status)
	f.st.Outcome = status
	if r := aws.ToString(x.StatusReason); r != "" {
		f.st.Outcome += ": " + r
	}
	rollingBack := x.Status == asgtypes.InstanceRefreshStatusRollbackInProgress || x.Status == asgtypes.InstanceRefreshStatusRollbackSuccessful || x.Status == asgtypes.InstanceRefreshStatusRollbackFailed
	wasRollingBack := f.status == string(asgtypes.InstanceRefreshStatusRollbackInProgress)
	switch {
	case rollingBack && !wasRollingBack && f.batch > 0:
		// The deploy stops here; the rollback is a step of its own.
		f.closeStepLocked(now, fmt.Sprintf("batch %d (stopped at %d%%)", f.batch, f.stepPct))
		f.batch = 0
	case !rollingBack && pct > f.stepPct:
		f.closeStepLocked(now, fmt.Sprintf("batch %d (%d%% → %d%%)", f.batch, f.stepPct, pct))
		f.batch++
		f.stepPct = pct
	}
	f.status = status
	ended := refreshEnded(x.Status)
	if ended {
		switch {
		case f.batch == 0:
			f.closeStepLocked(now, "rollback")
		case f.stepPct >= 100 && len(f.steps) > 0:
			// Done replacing: what is left (bake time, the last poll) ends
			// the last batch.
			f.steps[len(f.steps)-1].To = now
			f.stepFrom = now
		default:
			f.closeStepLocked(now, fmt.Sprintf("batch %d (stopped at %d%%)", f.batch, f.stepPct))
		}
		f.batch = -1
	}
	return ended
}

func (f *deployFault) closeStepLocked(now time.Time, name string) {
	if !now.After(f.stepFrom) {
		return
	}
	f.steps = append(f.steps, Step{Name: name, From: f.stepFrom, To: now})
	f.stepFrom = now
}

// DeploySettleWait bounds how long Rollback waits for a cancelled or
// rolled-back refresh to reach a final status. A rollback of many instances
// can take longer on AWS: Auto Scaling carries it on, and the note says so.
var DeploySettleWait = 3 * time.Minute

// Rollback stops the watch and, if the refresh is still running, rolls it
// back (with a desired configuration) or cancels it, then waits (bounded)
// for it to end. A refresh that did not succeed leaves a note saying how
// it ended. A refresh that succeeded is kept.
func (f *deployFault) Rollback(ctx context.Context) error {
	f.op.Lock()
	defer f.op.Unlock()
	st := snapshot(&f.mu, &f.st, nil)
	if !st.Applying || st.RolledBack {
		return nil
	}
	f.mu.Lock()
	if f.stop != nil {
		f.stop()
	}
	f.mu.Unlock()
	f.watchers.Wait()
	id := st.RefreshID
	if id == "" {
		var err error
		if id, err = f.find(ctx, st); err != nil {
			return fmt.Errorf("fault %q: rollback: %w", f.name, err)
		}
		if id == "" {
			f.mu.Lock()
			f.st.RolledBack = true
			f.mu.Unlock()
			return nil
		}
		f.mu.Lock()
		f.st.RefreshID = id
		f.mu.Unlock()
	}
	x, err := f.describe(ctx, id)
	if err != nil {
		return fmt.Errorf("fault %q: rollback: %w", f.name, err)
	}
	if x == nil {
		f.finish(fmt.Sprintf("instance refresh %s of %s is no longer listed: its outcome is unknown", id, st.Group))
		return nil
	}
	f.observe(*x, time.Now())
	var note string
	switch x.Status {
	case asgtypes.InstanceRefreshStatusSuccessful:
		f.finish("")
		return nil
	case asgtypes.InstanceRefreshStatusPending, asgtypes.InstanceRefreshStatusInProgress, asgtypes.InstanceRefreshStatusBaking:
		how, err := f.undo(ctx, st, id)
		if err != nil {
			return fmt.Errorf("fault %q: rollback: %w", f.name, err)
		}
		note = fmt.Sprintf("instance refresh %s of %s had not finished when the fault ended (%s, %d%% complete%s): %s",
			id, st.Group, x.Status, aws.ToInt32(x.PercentageComplete), reasonSuffix(x), how)
	default:
		note = fmt.Sprintf("instance refresh %s of %s did not succeed: %s, %d%% complete%s", id, st.Group, x.Status, aws.ToInt32(x.PercentageComplete), reasonSuffix(x))
	}
	if !refreshEnded(x.Status) {
		end, err := f.settle(ctx, id)
		if err != nil {
			return fmt.Errorf("fault %q: rollback: %w", f.name, err)
		}
		note += "; " + end
	}
	f.finish(note)
	return nil
}

func reasonSuffix(x *asgtypes.InstanceRefresh) string {
	if r := aws.ToString(x.StatusReason); r != "" {
		return ": " + r
	}
	return ""
}

// finish marks the fault rolled back, with a note unless note is "".
func (f *deployFault) finish(note string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if note != "" {
		f.notes = append(f.notes, note)
	}
	f.st.RolledBack = true
}

// undo rolls the running refresh back (when it has a desired
// configuration) or cancels it; it says which it did.
func (f *deployFault) undo(ctx context.Context, st DeployUndo, id string) (string, error) {
	if st.Version != "" {
		_, err := f.c.ASG.RollbackInstanceRefresh(ctx, &autoscaling.RollbackInstanceRefreshInput{AutoScalingGroupName: aws.String(st.Group)})
		switch code := errCode(err); {
		case err == nil:
			return "rolled back with RollbackInstanceRefresh to version " + st.FromVersion, nil
		case code == "ActiveInstanceRefreshNotFound":
			return "it had ended by the time it was rolled back", nil
		case code != "IrreversibleInstanceRefresh":
			return "", fmt.Errorf("roll back instance refresh %s: %w", id, err)
		}
	}
	_, err := f.c.ASG.CancelInstanceRefresh(ctx, &autoscaling.CancelInstanceRefreshInput{AutoScalingGroupName: aws.String(st.Group)})
	switch {
	case err == nil:
		return "cancelled with CancelInstanceRefresh (the instances it replaced stay replaced)", nil
	case errCode(err) == "ActiveInstanceRefreshNotFound":
		return "it had ended by the time it was cancelled", nil
	}
	return "", fmt.Errorf("cancel instance refresh %s: %w", id, err)
}

// settle waits, bounded by DeploySettleWait, for the refresh to end, and
// says how it ended (or that it was still going).
func (f *deployFault) settle(ctx context.Context, id string) (string, error) {
	deadline := time.Now().Add(DeploySettleWait)
	for {
		x, err := f.describe(ctx, id)
		if err != nil {
			return "", err
		}
		if x == nil {
			return "it is no longer listed", nil
		}
		if f.observe(*x, time.Now()) {
			return "it ended " + string(x.Status) + reasonSuffix(x), nil
		}
		if time.Now().After(deadline) {
			// The undo was asked for and Auto Scaling owns it now: waiting
			// longer, or asking again, changes nothing.
			return fmt.Sprintf("it was still %s after %s: Auto Scaling carries on (watch describe-instance-refreshes)", x.Status, DeploySettleWait), nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("waiting for instance refresh %s to end: %w", id, ctx.Err())
		case <-time.After(min(f.pollOr(), time.Second)):
		}
	}
}

func (f *deployFault) pollOr() time.Duration {
	if f.poll > 0 {
		return f.poll
	}
	return time.Second
}

// find returns the refresh a crashed Apply started (journal written before
// StartInstanceRefresh answered): the group's newest refresh that started
// no earlier than the request, if it is still running. "" if none.
func (f *deployFault) find(ctx context.Context, st DeployUndo) (string, error) {
	if st.Requested.IsZero() {
		return "", nil // StartInstanceRefresh was never called
	}
	out, err := f.c.ASG.DescribeInstanceRefreshes(ctx, &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String(st.Group)})
	if err != nil {
		return "", fmt.Errorf("describe instance refreshes of %s: %w", st.Group, err)
	}
	for _, x := range out.InstanceRefreshes {
		// Start times are whole seconds on the wire.
		if t := aws.ToTime(x.StartTime); !t.Before(st.Requested.Truncate(time.Second)) {
			return aws.ToString(x.InstanceRefreshId), nil
		}
	}
	return "", nil
}

var _ Stepper = (*deployFault)(nil)

// deployTruth: the failures of a fault that takes instances out of service
// (its old instances gone or cut off, no healthy target left), plus
// instances overloaded while a batch is out; context is the refresh's
// status changes.
func deployTruth(ids []string, spec experiments.Fault) Truth {
	t := instancesTruth(ids, spec)
	caused := t.CausedBy
	t.CausedBy = func(b Failure) bool { return caused(b) || b.Reason == truth.FailOverloaded }
	t.Context = func(e Change) string {
		if e.Kind == truth.EventInstanceRefresh && e.From != e.To {
			return fmt.Sprintf("instance refresh %s → %s", e.From, e.To)
		}
		return ""
	}
	return t
}
