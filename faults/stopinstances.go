package faults

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/topology"
)

// KindStopInstances stops instances of the group (EC2 StopInstances,
// optionally forced), holds them stopped for the fault's duration and
// starts them again on rollback, as FIS aws:ec2:stop-instances with
// startInstancesAfterDuration.
const KindStopInstances = "stop-instances"

// stopSpec is the kind's own YAML: `force: true` stops without a clean
// OS shutdown (StopInstances Force).
type stopSpec struct {
	Force bool `mapstructure:"force"`
}

// StopUndo is what a stop-instances fault journals.
type StopUndo struct {
	Group      string            `json:"group"`
	Instances  []string          `json:"instances"`
	InstanceAZ map[string]string `json:"instance_az,omitempty"`
	Force      bool              `json:"force,omitempty"`
	// Applying is set once Apply started; RolledBack once every stopped
	// instance was started again (or found gone).
	Applying   bool `json:"applying,omitempty"`
	RolledBack bool `json:"rolled_back,omitempty"`
}

func init() {
	Register(Kind{
		Name: KindStopInstances,
		Doc: "Stops `count` (default 1) or `percent` of the Auto Scaling group's InService " +
			"instances, chosen as `terminate-instances` chooses them, with EC2 `StopInstances` " +
			"(`force: true` skips the clean OS shutdown), holds them stopped for `duration` " +
			"and starts them again on rollback (FIS `aws:ec2:stop-instances` with start-after). " +
			"Rollback waits (bounded) for `stopping` instances to reach `stopped`, then starts " +
			"them. An instance the group gave up on meanwhile is left alone, with a note: its EC2 " +
			"health check marks a stopped member Unhealthy and replaces it (on the sandbox after " +
			"`timings.stopped_health_check_delay`), so a terminated or shutting-down instance, or " +
			"a stopped one the group no longer has InService and Healthy, is not started (it " +
			"would race the group's termination). The group's replacement restores the capacity.",
		Fields: []string{"force"},
		New:    newStop,
		Truth:  instancesTruth,
		Restore: func(c *awsclients.Clients, name string, dec func(any) error) (Fault, error) {
			f := &stopFault{c: c, name: name}
			return f, restoreState(dec, &f.st, &f.st.Applying)
		},
		Validate: func(x *experiments.Experiment, f *experiments.Fault, add func(field, msg string)) {
			var s stopSpec
			validateParams(f, &s, add)
			if f.Duration <= 0 {
				add("duration", "must be positive: how long to keep the instances stopped")
			}
			if msg := HeldPastVerify(x, f, "the instances"); msg != "" {
				add("duration", msg)
			}
		},
		Guards: guardInstanceShare,
	})
}

type stopFault struct {
	c    *awsclients.Clients
	name string

	op    sync.Mutex // serialises Apply and Rollback
	mu    sync.Mutex // guards st and notes
	st    StopUndo
	notes []string
}

// StopSettleWait bounds how long Rollback waits for stopping instances to
// reach stopped before it starts them (StartInstances refuses "stopping").
var StopSettleWait = 2 * time.Minute

// newStop picks instances exactly as terminate-instances does (InService
// members of the group, by AZ, tags, ids, count or percent, seeded).
func newStop(ctx context.Context, c *awsclients.Clients, topo *topology.Topology, spec experiments.Fault) (Fault, error) {
	var s stopSpec
	if err := DecodeParams(spec, &s); err != nil {
		return nil, err
	}
	pick := spec
	pick.Params = nil // terminate-instances' defaults: via ec2, no decrement
	tf, err := newTerminate(ctx, c, topo, pick)
	if err != nil {
		return nil, err
	}
	t := tf.(*terminateFault).st
	return &stopFault{c: c, name: spec.Name, st: StopUndo{Group: t.Group, Instances: t.Instances, InstanceAZ: t.InstanceAZ, Force: s.Force}}, nil
}

func (f *stopFault) Name() string { return f.name }
func (f *stopFault) Kind() string { return KindStopInstances }

func (f *stopFault) Resources() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.st.Instances)
}

// Leases: the group the instances belong to.
func (f *stopFault) Leases() []Resource {
	f.mu.Lock()
	defer f.mu.Unlock()
	return []Resource{{ResGroup, f.st.Group}}
}

func (f *stopFault) Describe() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	parts := make([]string, 0, len(f.st.Instances))
	for _, id := range f.st.Instances {
		parts = append(parts, fmt.Sprintf("%s (%s)", id, f.st.InstanceAZ[id]))
	}
	how := "stop"
	if f.st.Force {
		how = "force-stop"
	}
	return fmt.Sprintf("%s %s of group %s; start them again on rollback (an instance the group replaced meanwhile is left terminated)", how, strings.Join(parts, ", "), f.st.Group)
}

func (f *stopFault) Undo() any {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.st
	u.Instances = slices.Clone(u.Instances)
	return u
}

func (f *stopFault) Notes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.notes)
}

func (f *stopFault) Apply(ctx context.Context) error {
	f.op.Lock()
	defer f.op.Unlock()
	st, err := beginApply(&f.mu, f.name, &f.st, &f.st.Applying)
	if err != nil {
		return err
	}
	if _, err := f.c.EC2.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: st.Instances, Force: aws.Bool(st.Force)}); err != nil {
		return fmt.Errorf("fault %q: stop instances %s: %w", f.name, strings.Join(st.Instances, ", "), err)
	}
	return nil
}

// Rollback starts the fault's instances that are stopped (waiting, bounded,
// for stopping ones to get there), as FIS aws:ec2:stop-instances does
// after startInstancesAfterDuration. An instance the group has given up on
// is left alone, with a note: one that is shutting down or terminated (the
// group's EC2 health check found it stopped and replaced it), or one still
// stopped that the group no longer has InService and Healthy (it is about
// to be terminated; starting it would race the group). Running ones are
// left alone.
func (f *stopFault) Rollback(ctx context.Context) error {
	f.op.Lock()
	defer f.op.Unlock()
	st := snapshot(&f.mu, &f.st, nil)
	if !st.Applying || st.RolledBack {
		return nil
	}
	deadline := time.Now().Add(StopSettleWait)
	for {
		states, err := f.states(ctx, st.Instances)
		if err != nil {
			return fmt.Errorf("fault %q: rollback: %w", f.name, err)
		}
		var stopped, gone []string
		stopping := false
		for _, id := range st.Instances {
			switch states[id] {
			case ec2types.InstanceStateNameStopped:
				stopped = append(stopped, id)
			case ec2types.InstanceStateNameStopping:
				stopping = true
			case ec2types.InstanceStateNameShuttingDown, ec2types.InstanceStateNameTerminated, "":
				gone = append(gone, id)
			}
		}
		if stopping && time.Now().Before(deadline) {
			select {
			case <-ctx.Done():
				return fmt.Errorf("fault %q: rollback: waiting for instances to stop: %w", f.name, ctx.Err())
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		if stopping {
			return fmt.Errorf("fault %q: rollback: instances still stopping after %s; run `gameday rollback` again", f.name, StopSettleWait)
		}
		var given []string
		if len(stopped) > 0 && st.Group != "" {
			healthy, err := f.inService(ctx, st.Group)
			if err != nil {
				return fmt.Errorf("fault %q: rollback: %w", f.name, err)
			}
			keep := stopped[:0]
			for _, id := range stopped {
				if healthy[id] {
					keep = append(keep, id)
				} else {
					given = append(given, id)
				}
			}
			stopped = keep
		}
		if len(stopped) > 0 {
			if _, err := f.c.EC2.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: stopped}); err != nil {
				return fmt.Errorf("fault %q: start instances %s: %w", f.name, strings.Join(stopped, ", "), err)
			}
		}
		f.mu.Lock()
		for _, id := range gone {
			f.notes = append(f.notes, fmt.Sprintf("instance %s was not started again: it is terminated or shutting down (the group replaced its stopped member)", id))
		}
		for _, id := range given {
			f.notes = append(f.notes, fmt.Sprintf("instance %s was not started again: group %s no longer has it InService and Healthy (its EC2 health check found it stopped; the group replaces it)", id, st.Group))
		}
		f.st.RolledBack = true
		f.mu.Unlock()
		return nil
	}
}

// inService returns the group's members that are InService and Healthy.
func (f *stopFault) inService(ctx context.Context, group string) (map[string]bool, error) {
	out, err := f.c.ASG.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
	if err != nil {
		return nil, fmt.Errorf("describe group %s: %w", group, err)
	}
	m := map[string]bool{}
	for _, g := range out.AutoScalingGroups {
		for _, in := range g.Instances {
			if in.LifecycleState == asgtypes.LifecycleStateInService && aws.ToString(in.HealthStatus) == "Healthy" {
				m[aws.ToString(in.InstanceId)] = true
			}
		}
	}
	return m, nil
}

// states returns the EC2 state of each instance ("" when unknown).
func (f *stopFault) states(ctx context.Context, ids []string) (map[string]ec2types.InstanceStateName, error) {
	out := map[string]ec2types.InstanceStateName{}
	p := ec2.NewDescribeInstancesPaginator(f.c.EC2, &ec2.DescribeInstancesInput{InstanceIds: ids})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe instances: %w", err)
		}
		for _, r := range page.Reservations {
			for _, in := range r.Instances {
				if in.State != nil {
					out[aws.ToString(in.InstanceId)] = in.State.Name
				}
			}
		}
	}
	return out, nil
}

// Touches: the instances it stops.
func (f *stopFault) Touches() []Touched {
	return []Touched{{Type: TouchInstance, IDs: f.Resources()}}
}

// TakesInstances: the group's instances it stops (they count against
// max_instance_share as terminated ones do).
func (f *stopFault) TakesInstances() (string, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st.Group, slices.Clone(f.st.Instances)
}
