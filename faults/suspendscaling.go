package faults

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/topology"
)

// KindSuspendScaling suspends Auto Scaling processes of the group
// (SuspendProcesses) and resumes, on rollback, only those it suspended.
const KindSuspendScaling = "suspend-scaling"

// ScalingProcesses are the processes SuspendProcesses takes (Auto Scaling
// API reference, SuspendProcesses ScalingProcesses.member.N).
var ScalingProcesses = []string{"Launch", "Terminate", "AddToLoadBalancer", "AlarmNotification",
	"AZRebalance", "HealthCheck", "InstanceRefresh", "ReplaceUnhealthy", "ScheduledActions"}

// suspendSpec is the kind's own YAML: the processes to suspend.
type suspendSpec struct {
	Processes []string `mapstructure:"processes"`
}

// SuspendUndo is what a suspend-scaling fault journals. Processes are the
// ones it asked for; Before, those already suspended when it was planned
// or applied (rollback leaves them suspended).
type SuspendUndo struct {
	Group     string   `json:"group"`
	Processes []string `json:"processes"`
	Before    []string `json:"before,omitempty"`
	Applying  bool     `json:"applying,omitempty"`
}

func init() {
	Register(Kind{
		Name: KindSuspendScaling,
		Doc: "Suspends the Auto Scaling group's `processes` (any of " + strings.Join(ScalingProcesses, ", ") +
			"; e.g. `[Launch, AlarmNotification]` so that scaling cannot help) with " +
			"`SuspendProcesses` for `duration` (or until the run ends), and resumes on rollback " +
			"only the processes it suspended: one already suspended before the fault stays so. " +
			"On the sandbox the group honours Launch, Terminate, HealthCheck, ReplaceUnhealthy, " +
			"AddToLoadBalancer and AlarmNotification.",
		Fields: []string{"processes"},
		New:    newSuspend,
		Restore: func(c *awsclients.Clients, name string, dec func(any) error) (Fault, error) {
			f := &suspendFault{c: c, name: name}
			return f, restoreState(dec, &f.st, &f.st.Applying)
		},
		Validate: func(x *experiments.Experiment, f *experiments.Fault, add func(field, msg string)) {
			var s suspendSpec
			if validateParams(f, &s, add) {
				if msg := checkProcesses(s.Processes); msg != "" {
					add("processes", msg)
				}
			}
			if f.Duration < 0 {
				add("duration", "must not be negative")
			}
			if msg := HeldPastVerify(x, f, "the processes"); msg != "" {
				add("duration", msg)
			}
		},
	})
}

func checkProcesses(ps []string) string {
	if len(ps) == 0 {
		return "name at least one process: " + strings.Join(ScalingProcesses, ", ")
	}
	if len(ps) > len(ScalingProcesses) {
		return fmt.Sprintf("at most %d processes", len(ScalingProcesses))
	}
	for _, p := range ps {
		if !slices.Contains(ScalingProcesses, p) {
			return fmt.Sprintf("%q is not an Auto Scaling process (want %s)", p, strings.Join(ScalingProcesses, ", "))
		}
	}
	return ""
}

type suspendFault struct {
	c    *awsclients.Clients
	name string

	op sync.Mutex // serialises Apply and Rollback
	mu sync.Mutex // guards st
	st SuspendUndo
}

// groupName is the fault's group: targets.group, else the stack's.
func groupName(spec experiments.Fault, topo *topology.Topology) (string, error) {
	g := spec.Targets.Group
	if g == "" {
		g = topo.GroupName
	}
	if g == "" {
		return "", specErr(spec, "targets.group", "no Auto Scaling group (name one here or in target.auto_scaling_group)")
	}
	return g, nil
}

// suspendedNow returns the group's suspended processes.
func suspendedNow(ctx context.Context, c *awsclients.Clients, group string) ([]string, error) {
	out, err := c.ASG.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
	if err != nil {
		return nil, fmt.Errorf("describe group %s: %w", group, err)
	}
	if len(out.AutoScalingGroups) != 1 {
		return nil, fmt.Errorf("no Auto Scaling group %q", group)
	}
	var ps []string
	for _, p := range out.AutoScalingGroups[0].SuspendedProcesses {
		ps = append(ps, aws.ToString(p.ProcessName))
	}
	slices.Sort(ps)
	return ps, nil
}

func newSuspend(ctx context.Context, c *awsclients.Clients, topo *topology.Topology, spec experiments.Fault) (Fault, error) {
	var s suspendSpec
	if err := DecodeParams(spec, &s); err != nil {
		return nil, err
	}
	if msg := checkProcesses(s.Processes); msg != "" {
		return nil, specErr(spec, "processes", "%s", msg)
	}
	group, err := groupName(spec, topo)
	if err != nil {
		return nil, err
	}
	before, err := suspendedNow(ctx, c, group)
	if err != nil {
		return nil, specErr(spec, "targets.group", "%v", err)
	}
	ps := slices.Clone(s.Processes)
	slices.Sort(ps)
	return &suspendFault{c: c, name: spec.Name, st: SuspendUndo{Group: group, Processes: slices.Compact(ps), Before: before}}, nil
}

func (f *suspendFault) Name() string { return f.name }
func (f *suspendFault) Kind() string { return KindSuspendScaling }

func (f *suspendFault) Resources() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return []string{f.st.Group}
}

func (f *suspendFault) Touches() []Touched {
	return []Touched{{Type: TouchGroup, IDs: f.Resources()}}
}

// Leases: the group whose processes it suspends.
func (f *suspendFault) Leases() []Resource {
	return []Resource{{ResGroup, f.Resources()[0]}}
}

func (f *suspendFault) Describe() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := fmt.Sprintf("suspend %s of group %s; resume them on rollback", strings.Join(f.st.Processes, ", "), f.st.Group)
	if keep := f.keepLocked(); len(keep) > 0 {
		d += fmt.Sprintf(" (%s already suspended: left so)", strings.Join(keep, ", "))
	}
	return d
}

// keepLocked: requested processes that were suspended before the fault.
func (f *suspendFault) keepLocked() []string {
	var out []string
	for _, p := range f.st.Processes {
		if slices.Contains(f.st.Before, p) {
			out = append(out, p)
		}
	}
	return out
}

func (f *suspendFault) Undo() any {
	return snapshot(&f.mu, &f.st, func(s *SuspendUndo) {
		s.Processes, s.Before = slices.Clone(s.Processes), slices.Clone(s.Before)
	})
}

// Apply re-reads what is suspended (a process suspended since planning is
// someone else's too), records it, then suspends the rest.
func (f *suspendFault) Apply(ctx context.Context) error {
	f.op.Lock()
	defer f.op.Unlock()
	st, err := beginApply(&f.mu, f.name, &f.st, &f.st.Applying)
	if err != nil {
		return err
	}
	now, err := suspendedNow(ctx, f.c, st.Group)
	if err != nil {
		return fmt.Errorf("fault %q: %w", f.name, err)
	}
	f.mu.Lock()
	for _, p := range now {
		if !slices.Contains(f.st.Before, p) {
			f.st.Before = append(f.st.Before, p)
		}
	}
	slices.Sort(f.st.Before)
	var todo []string
	for _, p := range f.st.Processes {
		if !slices.Contains(f.st.Before, p) {
			todo = append(todo, p)
		}
	}
	f.mu.Unlock()
	if len(todo) == 0 {
		return nil
	}
	if _, err := f.c.ASG.SuspendProcesses(ctx, &autoscaling.SuspendProcessesInput{AutoScalingGroupName: aws.String(st.Group), ScalingProcesses: todo}); err != nil {
		return fmt.Errorf("fault %q: suspend %s of group %s: %w", f.name, strings.Join(todo, ", "), st.Group, err)
	}
	return nil
}

// Rollback resumes the processes it suspended (not those suspended before
// it). ResumeProcesses of a process not suspended is a no-op on AWS, so it
// is safe after a partial Apply and when repeated.
func (f *suspendFault) Rollback(ctx context.Context) error {
	f.op.Lock()
	defer f.op.Unlock()
	st := snapshot(&f.mu, &f.st, nil)
	if !st.Applying {
		return nil
	}
	var mine []string
	for _, p := range st.Processes {
		if !slices.Contains(st.Before, p) {
			mine = append(mine, p)
		}
	}
	if len(mine) == 0 {
		return nil
	}
	// Only those still suspended: a second Rollback then calls nothing.
	now, err := suspendedNow(ctx, f.c, st.Group)
	if err != nil {
		return fmt.Errorf("fault %q: rollback: %w", f.name, err)
	}
	mine = slices.DeleteFunc(mine, func(p string) bool { return !slices.Contains(now, p) })
	if len(mine) == 0 {
		return nil
	}
	if _, err := f.c.ASG.ResumeProcesses(ctx, &autoscaling.ResumeProcessesInput{AutoScalingGroupName: aws.String(st.Group), ScalingProcesses: mine}); err != nil {
		return fmt.Errorf("fault %q: resume %s of group %s: %w", f.name, strings.Join(mine, ", "), st.Group, err)
	}
	return nil
}
