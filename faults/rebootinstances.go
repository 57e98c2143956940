package faults

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/topology"
)

// KindRebootInstances reboots instances of the group (EC2 RebootInstances,
// as FIS aws:ec2:reboot-instances): each stays running while its OS
// restarts, its app is unreachable meanwhile, and it comes back on the
// same instance. Nothing is undone: the reboot is over by itself.
const KindRebootInstances = "reboot-instances"

// RebootUndo is what a reboot-instances fault journals.
type RebootUndo struct {
	Group      string            `json:"group"`
	Instances  []string          `json:"instances"`
	InstanceAZ map[string]string `json:"instance_az,omitempty"`
	// Applying is set once Apply started; Requested once RebootInstances
	// succeeded; RolledBack once Rollback looked at the instances.
	Applying   bool `json:"applying,omitempty"`
	Requested  bool `json:"requested,omitempty"`
	RolledBack bool `json:"rolled_back,omitempty"`
}

func init() {
	Register(Kind{
		Name: KindRebootInstances,
		Doc: "Reboots `count` (default 1) or `percent` of the Auto Scaling group's InService " +
			"instances, chosen as `terminate-instances` chooses them, with EC2 `RebootInstances` " +
			"(FIS `aws:ec2:reboot-instances`). The instance stays `running`; its app is " +
			"unreachable for the reboot and comes back on the same instance, its target going " +
			"unhealthy and healthy again. Nothing is undone: rollback checks the instances and " +
			"notes one the group replaced meanwhile — a group with ELB health checks replaces a " +
			"member whose target went unhealthy, so a reboot longer than the target group's " +
			"unhealthy threshold (interval × count) costs the instance, on AWS as on the sandbox. " +
			"No `duration`: the reboot ends by itself.",
		New:   newReboot,
		Truth: instancesTruth,
		Restore: func(c *awsclients.Clients, name string, dec func(any) error) (Fault, error) {
			f := &rebootFault{c: c, name: name}
			return f, restoreState(dec, &f.st, &f.st.Applying)
		},
		Validate: func(_ *experiments.Experiment, f *experiments.Fault, add func(field, msg string)) {
			if f.Duration != 0 {
				add("duration", "does not apply to reboot-instances: the reboot ends by itself")
			}
		},
		Guards: guardInstanceShare,
	})
}

type rebootFault struct {
	c    *awsclients.Clients
	name string

	op    sync.Mutex // serialises Apply and Rollback
	mu    sync.Mutex // guards st and notes
	st    RebootUndo
	notes []string
}

// newReboot picks instances exactly as terminate-instances does.
func newReboot(ctx context.Context, c *awsclients.Clients, topo *topology.Topology, spec experiments.Fault) (Fault, error) {
	if err := DecodeParams(spec, &struct{}{}); err != nil {
		return nil, err
	}
	tf, err := newTerminate(ctx, c, topo, spec)
	if err != nil {
		return nil, err
	}
	t := tf.(*terminateFault).st
	return &rebootFault{c: c, name: spec.Name, st: RebootUndo{Group: t.Group, Instances: t.Instances, InstanceAZ: t.InstanceAZ}}, nil
}

func (f *rebootFault) Name() string { return f.name }
func (f *rebootFault) Kind() string { return KindRebootInstances }

func (f *rebootFault) Resources() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.st.Instances)
}

// Leases: the group the instances belong to.
func (f *rebootFault) Leases() []Resource {
	f.mu.Lock()
	defer f.mu.Unlock()
	return []Resource{{ResGroup, f.st.Group}}
}

func (f *rebootFault) Describe() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	parts := make([]string, 0, len(f.st.Instances))
	for _, id := range f.st.Instances {
		parts = append(parts, fmt.Sprintf("%s (%s)", id, f.st.InstanceAZ[id]))
	}
	return fmt.Sprintf("reboot %s of group %s; nothing to undo (a group with ELB health checks may replace an instance whose reboot outlasts its target's unhealthy threshold)", strings.Join(parts, ", "), f.st.Group)
}

func (f *rebootFault) Undo() any {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.st
	u.Instances = slices.Clone(u.Instances)
	return u
}

func (f *rebootFault) Notes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.notes)
}

func (f *rebootFault) Apply(ctx context.Context) error {
	f.op.Lock()
	defer f.op.Unlock()
	st, err := beginApply(&f.mu, f.name, &f.st, &f.st.Applying)
	if err != nil {
		return err
	}
	if _, err := f.c.EC2.RebootInstances(ctx, &ec2.RebootInstancesInput{InstanceIds: st.Instances}); err != nil {
		return fmt.Errorf("fault %q: reboot instances %s: %w", f.name, strings.Join(st.Instances, ", "), err)
	}
	f.mu.Lock()
	f.st.Requested = true
	f.mu.Unlock()
	return nil
}

// Rollback has nothing to undo: a reboot ends by itself. It reads the
// instances' states and notes one that is no longer running (the group
// replaced it during its reboot). It never fails because of that.
func (f *rebootFault) Rollback(ctx context.Context) error {
	f.op.Lock()
	defer f.op.Unlock()
	st := snapshot(&f.mu, &f.st, nil)
	if !st.Applying || st.RolledBack {
		return nil
	}
	states := map[string]ec2types.InstanceStateName{}
	p := ec2.NewDescribeInstancesPaginator(f.c.EC2, &ec2.DescribeInstancesInput{InstanceIds: st.Instances})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("fault %q: rollback: describe instances: %w", f.name, err)
		}
		for _, r := range page.Reservations {
			for _, in := range r.Instances {
				if in.State != nil {
					states[aws.ToString(in.InstanceId)] = in.State.Name
				}
			}
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if st.Requested {
		for _, id := range st.Instances {
			switch s := states[id]; s {
			case ec2types.InstanceStateNameRunning:
			case "":
				f.notes = append(f.notes, fmt.Sprintf("instance %s is gone: the group replaced it during its reboot", id))
			default:
				f.notes = append(f.notes, fmt.Sprintf("instance %s is %s after its reboot: the group replaced it (a group with ELB health checks replaces a member whose target went unhealthy)", id, s))
			}
		}
	}
	f.st.RolledBack = true
	return nil
}

// Touches: the instances it reboots.
func (f *rebootFault) Touches() []Touched {
	return []Touched{{Type: TouchInstance, IDs: f.Resources()}}
}

// TakesInstances: the group's instances it reboots (out of service while
// they restart, they count against max_instance_share).
func (f *rebootFault) TakesInstances() (string, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st.Group, slices.Clone(f.st.Instances)
}
