package faults

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/topology"
)

func init() {
	Register(Kind{
		Name: KindTerminateInstances,
		Doc: "Picks `count` (default 1) or `percent` (rounded up) of the Auto Scaling " +
			"group's InService instances, filtered by `targets.az`, `tags` and " +
			"`instance_ids`, with a shuffle seeded by `seed` (default: derived from the " +
			"fault name, so plans are reproducible), and terminates them via EC2 " +
			"(`via: ec2`, the default) or via Auto Scaling (`via: autoscaling`, with " +
			"`decrement: true` to decrement the desired capacity). Rollback gives back a " +
			"decremented desired capacity; the terminations themselves are not undone: " +
			"the group replaces them.",
		New:   newTerminate,
		Truth: instancesTruth,
		Restore: func(c *awsclients.Clients, name string, dec func(any) error) (Fault, error) {
			f := &terminateFault{c: c, name: name, restored: true}
			return f, restoreState(dec, &f.st, &f.st.Applying)
		},
		Fields: []string{"via", "decrement"},
		Validate: func(_ *experiments.Experiment, f *experiments.Fault, add func(field, msg string)) {
			var s terminateSpec
			if validateParams(f, &s, add) {
				switch s.Via {
				case "", "ec2", "autoscaling":
				default:
					add("via", fmt.Sprintf("unknown %q (ec2, autoscaling)", s.Via))
				}
				if s.Decrement && s.Via != "autoscaling" {
					add("decrement", "only applies with via: autoscaling")
				}
			}
			if f.Duration != 0 {
				add("duration", "does not apply to terminate-instances (terminations are not undone; the group replaces them)")
			}
		},
		Guards: guardInstanceShare,
	})
}

// TerminateUndo is the undo record of a terminate-instances fault.
// Terminations are not undone (the group replaces the instances); only a
// desired capacity decremented by the fault is restored.
type TerminateUndo struct {
	Group      string            `json:"group"`
	Via        string            `json:"via"` // ec2 | autoscaling
	Decrement  bool              `json:"decrement,omitempty"`
	Instances  []string          `json:"instances"`
	InstanceAZ map[string]string `json:"instance_az,omitempty"`
	// DesiredBefore is the group's desired capacity before Apply (at plan
	// time until Apply reads it again).
	DesiredBefore int32 `json:"desired_before"`
	// Applying is set once Apply started; Attempted lists the instances a
	// terminate call was sent for, Terminated those it succeeded for.
	Applying   bool     `json:"applying,omitempty"`
	Attempted  []string `json:"attempted,omitempty"`
	Terminated []string `json:"terminated,omitempty"`
	// Restored is set once the desired capacity was given back.
	Restored bool `json:"restored,omitempty"`
	// Token names this fault's decrement tag on the group
	// (TagDecrementPrefix+Token), written before the first decrementing
	// call and deleted once the capacity is given back. Journals written
	// before tokens existed have none.
	Token string `json:"token,omitempty"`
	Run   string `json:"run,omitempty"`
	// GivenBack is how much capacity the rollback gave back; Notes say
	// how it went (a conflict with a change made since, a bound).
	GivenBack int32    `json:"given_back,omitempty"`
	Given     bool     `json:"given,omitempty"` // capacity given back; only the tag may remain
	owed      int32    // a sweep's count from the tag, when it names no instances
	Notes     []string `json:"notes,omitempty"`
}

type terminateFault struct {
	c        *awsclients.Clients
	name     string
	restored bool // rebuilt from a journal entry

	op sync.Mutex // serialises Apply and Rollback
	mu sync.Mutex // guards st
	st TerminateUndo
}

// guardInstanceShare refuses, at validation, a percent of the group above
// guards.max_instance_share (faults that take instances out of service).
func guardInstanceShare(g experiments.Guards, f *experiments.Fault, add func(field, msg string)) {
	if g.MaxInstanceShare > 0 && f.Targets.Percent > 100*g.MaxInstanceShare+1e-9 {
		add("targets.percent", fmt.Sprintf("%g%% exceeds guards.max_instance_share (%g); set guards.max_instance_share explicitly to allow it", f.Targets.Percent, g.MaxInstanceShare))
	}
}

// terminateSpec is terminate-instances' own YAML.
type terminateSpec struct {
	Via       string `mapstructure:"via"`       // ec2 | autoscaling
	Decrement bool   `mapstructure:"decrement"` // autoscaling: decrement desired capacity
}

func newTerminate(ctx context.Context, c *awsclients.Clients, topo *topology.Topology, spec experiments.Fault) (Fault, error) {
	var ts terminateSpec
	if err := DecodeParams(spec, &ts); err != nil {
		return nil, err
	}
	sel := spec.Targets
	via := ts.Via
	switch via {
	case "":
		via = "ec2"
	case "ec2", "autoscaling":
	default:
		return nil, specErr(spec, "via", "%q is not ec2 or autoscaling", ts.Via)
	}
	if ts.Decrement && via != "autoscaling" {
		return nil, specErr(spec, "decrement", "needs via: autoscaling")
	}
	if sel.Count < 0 {
		return nil, specErr(spec, "targets.count", "must not be negative, got %d", sel.Count)
	}
	if sel.Percent < 0 || sel.Percent > 100 {
		return nil, specErr(spec, "targets.percent", "must be in 0..100, got %g", sel.Percent)
	}
	if sel.Count > 0 && sel.Percent > 0 {
		return nil, specErr(spec, "targets", "give count or percent, not both")
	}
	group := sel.Group
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
	// Another live run's lease, then a decrement an unfinished run never
	// gave back: refuse before reading the group's "original" capacity.
	if err := CheckHeld(ctx, c, []Resource{{ResGroup, group}}, ""); err != nil {
		return nil, fmt.Errorf("fault %q: %w", spec.Name, err)
	}
	for _, t := range g.Tags {
		if k := aws.ToString(t.Key); strings.HasPrefix(k, TagDecrementPrefix) {
			return nil, fmt.Errorf("fault %q: %w", spec.Name, &LeftoverError{Resource: Resource{ResGroup, group},
				What: fmt.Sprintf("its desired capacity is still decremented by a terminate-instances fault (tag %s = %s)", k, aws.ToString(t.Value))})
		}
	}

	// Candidates: InService members, filtered by AZ and instance ids.
	azOf := map[string]string{}
	var cands []string
	for _, in := range g.Instances {
		if in.LifecycleState != asgtypes.LifecycleStateInService {
			continue
		}
		id, az := aws.ToString(in.InstanceId), aws.ToString(in.AvailabilityZone)
		if sel.AZ != "" && az != sel.AZ {
			continue
		}
		azOf[id] = az
		cands = append(cands, id)
	}
	if len(sel.InstanceIDs) > 0 {
		var keep []string
		for _, id := range sel.InstanceIDs {
			if _, ok := azOf[id]; !ok {
				return nil, specErr(spec, "targets.instance_ids", "%s is not an InService instance of group %s%s", id, group, inAZ(sel.AZ))
			}
			if !slices.Contains(keep, id) {
				keep = append(keep, id)
			}
		}
		cands = keep
	}
	if len(sel.Tags) > 0 && len(cands) > 0 {
		var filters []ec2types.Filter
		for _, t := range sel.Tags {
			k, v, ok := strings.Cut(t, "=")
			if !ok || k == "" {
				return nil, specErr(spec, "targets.tags", "%q is not Key=Value", t)
			}
			filters = append(filters, ec2types.Filter{Name: aws.String("tag:" + k), Values: []string{v}})
		}
		tagged := map[string]bool{}
		p := ec2.NewDescribeInstancesPaginator(c.EC2, &ec2.DescribeInstancesInput{InstanceIds: cands, Filters: filters})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("fault %q: describe instances: %w", spec.Name, err)
			}
			for _, r := range page.Reservations {
				for _, in := range r.Instances {
					tagged[aws.ToString(in.InstanceId)] = true
				}
			}
		}
		cands = slices.DeleteFunc(cands, func(id string) bool { return !tagged[id] })
	}
	if len(cands) == 0 {
		return nil, specErr(spec, "targets", "no InService instance of group %s matches%s", group, describeSel(sel))
	}

	n := 1
	switch {
	case sel.Percent > 0:
		n = int(math.Ceil(float64(len(cands)) * sel.Percent / 100))
	case sel.Count > 0:
		n = sel.Count
	}
	if n > len(cands) {
		return nil, specErr(spec, "targets.count", "wants %d instances but only %d match", n, len(cands))
	}
	slices.Sort(cands) // the shuffle's input must not depend on API order
	seed := seedFor(spec)
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15))
	rng.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
	picked := append([]string(nil), cands[:n]...)

	var tok [8]byte
	if _, err := crand.Read(tok[:]); err != nil {
		return nil, err
	}
	f := &terminateFault{c: c, name: spec.Name, st: TerminateUndo{
		Group: group, Via: via, Decrement: ts.Decrement, Instances: picked,
		InstanceAZ: map[string]string{}, DesiredBefore: aws.ToInt32(g.DesiredCapacity),
		Token: hex.EncodeToString(tok[:]),
	}}
	for _, id := range picked {
		f.st.InstanceAZ[id] = azOf[id]
	}
	if ts.Decrement && f.st.DesiredBefore-int32(n) < aws.ToInt32(g.MinSize) {
		return nil, specErr(spec, "decrement", "group %s has desired %d and min %d: cannot decrement by %d", group, f.st.DesiredBefore, aws.ToInt32(g.MinSize), n)
	}
	return f, nil
}

// seedFor is the selector's seed, or one derived from the fault name so
// that plans are reproducible.
func seedFor(spec experiments.Fault) int64 {
	if spec.Targets.Seed != nil {
		return *spec.Targets.Seed
	}
	h := fnv.New64a()
	h.Write([]byte(spec.Name))
	return int64(h.Sum64())
}

func inAZ(az string) string {
	if az == "" {
		return ""
	}
	return " in " + az
}

func describeSel(sel experiments.Selector) string {
	var p []string
	if sel.AZ != "" {
		p = append(p, "az "+sel.AZ)
	}
	if len(sel.Tags) > 0 {
		p = append(p, "tags "+strings.Join(sel.Tags, ","))
	}
	if len(sel.InstanceIDs) > 0 {
		p = append(p, "instance_ids "+strings.Join(sel.InstanceIDs, ","))
	}
	if len(p) == 0 {
		return ""
	}
	return " (" + strings.Join(p, "; ") + ")"
}

func (f *terminateFault) Name() string { return f.name }

// Leases: the group.
func (f *terminateFault) Leases() []Resource {
	f.mu.Lock()
	defer f.mu.Unlock()
	return []Resource{{ResGroup, f.st.Group}}
}

// SetRun names the run, for the decrement tag.
func (f *terminateFault) SetRun(id string) { f.update(func(s *TerminateUndo) { s.Run = id }) }

// Notes says how the capacity was given back.
func (f *terminateFault) Notes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.st.Notes)
}
func (f *terminateFault) Kind() string { return KindTerminateInstances }

func (f *terminateFault) Resources() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.st.Instances...)
}

func (f *terminateFault) Describe() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	parts := make([]string, 0, len(f.st.Instances))
	for _, id := range f.st.Instances {
		if az := f.st.InstanceAZ[id]; az != "" {
			parts = append(parts, fmt.Sprintf("%s (%s)", id, az))
		} else {
			parts = append(parts, id)
		}
	}
	s := fmt.Sprintf("terminate %s via %s", strings.Join(parts, ", "), f.st.Via)
	if f.st.Decrement {
		s += fmt.Sprintf(", decrementing desired capacity of %s from %d (rollback gives back the capacity taken, relative to the desired capacity then, within min/max)", f.st.Group, f.st.DesiredBefore)
	} else {
		s += fmt.Sprintf("; group %s replaces them", f.st.Group)
	}
	return s
}

func (f *terminateFault) Undo() any {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.st
	u.Instances = slices.Clone(u.Instances)
	u.Attempted = slices.Clone(u.Attempted)
	u.Terminated = slices.Clone(u.Terminated)
	u.Notes = slices.Clone(u.Notes)
	az := make(map[string]string, len(u.InstanceAZ))
	for k, v := range u.InstanceAZ {
		az[k] = v
	}
	u.InstanceAZ = az
	return u
}

func (f *terminateFault) update(fn func(st *TerminateUndo)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(&f.st)
}

func (f *terminateFault) Apply(ctx context.Context) error {
	f.op.Lock()
	defer f.op.Unlock()
	st, err := beginApply(&f.mu, f.name, &f.st, &f.st.Applying)
	if err != nil {
		return err
	}

	if st.Decrement {
		out, err := f.c.ASG.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{st.Group}})
		if err != nil {
			return fmt.Errorf("fault %q: describe group %s: %w", f.name, st.Group, err)
		}
		if len(out.AutoScalingGroups) != 1 {
			return fmt.Errorf("fault %q: Auto Scaling group %s not found", f.name, st.Group)
		}
		f.update(func(s *TerminateUndo) { s.DesiredBefore = aws.ToInt32(out.AutoScalingGroups[0].DesiredCapacity) })
		if st.Token != "" {
			// On the group, before any decrement: what the next run's plan
			// and a later rollback read to know capacity is owed.
			v := fmt.Sprintf("run=%s;fault=%s;n=%d", cmpOr(st.Run, f.name), f.name, len(st.Instances))
			if len(v) > 200 {
				v = v[:200]
			}
			if ids := ";ids=" + strings.Join(st.Instances, ","); len(v)+len(ids) <= 256 {
				v += ids // so a sweep can tell what was taken without the journal
			}
			if err := setGroupTag(ctx, f.c, st.Group, TagDecrementPrefix+st.Token, v); err != nil {
				return fmt.Errorf("fault %q: tag group %s before decrementing: %w", f.name, st.Group, err)
			}
		}
	}

	switch st.Via {
	case "autoscaling":
		for _, id := range st.Instances {
			f.update(func(s *TerminateUndo) { s.Attempted = append(s.Attempted, id) })
			_, err := f.c.ASG.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
				InstanceId:                     aws.String(id),
				ShouldDecrementDesiredCapacity: aws.Bool(st.Decrement),
			})
			if err != nil {
				return fmt.Errorf("fault %q: terminate %s in group %s: %w", f.name, id, st.Group, err)
			}
			f.update(func(s *TerminateUndo) { s.Terminated = append(s.Terminated, id) })
		}
	default:
		f.update(func(s *TerminateUndo) { s.Attempted = append(s.Attempted, st.Instances...) })
		if _, err := f.c.EC2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: st.Instances}); err != nil {
			return fmt.Errorf("fault %q: terminate %s: %w", f.name, strings.Join(st.Instances, ", "), err)
		}
		f.update(func(s *TerminateUndo) { s.Terminated = append(s.Terminated, st.Instances...) })
	}
	return nil
}

// Rollback gives back the capacity the fault took: the group's desired
// capacity now plus the number of decrementing terminations that went
// through (relative, not the absolute value seen at apply time, so a
// scale-out since is kept), bounded by the group's max, with a note when
// the desired capacity changed since or a bound applied. It is idempotent
// through the group's decrement tag: no tag, nothing owed.
func (f *terminateFault) Rollback(ctx context.Context) error {
	f.op.Lock()
	defer f.op.Unlock()
	st := snapshot(&f.mu, &f.st, func(s *TerminateUndo) {
		s.Attempted, s.Terminated = slices.Clone(s.Attempted), slices.Clone(s.Terminated)
	})
	if !st.Decrement || st.Restored || !st.Applying {
		return nil
	}
	// A restored fault (from the journal) may not know what was sent; a
	// live one knows whether any decrementing call went out.
	if len(st.Attempted) == 0 && len(st.Terminated) == 0 && !f.fromJournal() {
		return nil
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("fault %q: rollback: "+format, append([]any{f.name}, args...)...)
	}
	out, err := f.c.ASG.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{st.Group}})
	if err != nil {
		return fail("describe group %s: %w", st.Group, err)
	}
	if len(out.AutoScalingGroups) != 1 {
		return fail("Auto Scaling group %s not found: cannot confirm this is the account the fault was applied in; not marking it rolled back", st.Group)
	}
	g := out.AutoScalingGroups[0]
	tagKey := TagDecrementPrefix + st.Token
	if st.Given {
		if err := deleteGroupTag(ctx, f.c, st.Group, tagKey); err != nil {
			return fail("remove decrement tag %s from %s: %w", tagKey, st.Group, err)
		}
		f.update(func(s *TerminateUndo) { s.Restored = true })
		return nil
	}
	if st.Token != "" && !slices.ContainsFunc(g.Tags, func(t asgtypes.TagDescription) bool { return aws.ToString(t.Key) == tagKey }) {
		// The tag goes on before the first decrement and comes off after
		// the capacity is given back: without it nothing is owed.
		f.update(func(s *TerminateUndo) { s.Restored = true })
		return nil
	}
	// What was taken: terminations that succeeded, and those attempted (all
	// planned ones, for a journal entry written before any call) whose
	// instance has left the group.
	member := map[string]bool{}
	for _, in := range g.Instances {
		ls := string(in.LifecycleState)
		if !strings.HasPrefix(ls, "Terminat") {
			member[aws.ToString(in.InstanceId)] = true
		}
	}
	cands := st.Attempted
	if len(cands) == 0 {
		cands = st.Instances
	}
	var taken int32
	for _, id := range cands {
		if slices.Contains(st.Terminated, id) || !member[id] {
			taken++
		}
	}
	if len(cands) == 0 && st.owed > 0 {
		// A sweep without the instance ids: the count planned.
		taken = st.owed
	}
	cur, lo, hi := aws.ToInt32(g.DesiredCapacity), aws.ToInt32(g.MinSize), aws.ToInt32(g.MaxSize)
	want := cur + taken
	var notes []string
	if exp := st.DesiredBefore - taken; cur != exp {
		notes = append(notes, fmt.Sprintf("group %s: desired capacity changed since the fault (expected %d, found %d); gave back the %d taken on top of it", st.Group, exp, cur, taken))
	}
	if want > hi {
		notes = append(notes, fmt.Sprintf("group %s: giving back %d would pass max %d; desired set to %d", st.Group, taken, hi, hi))
		want = hi
	}
	if want < lo {
		want = lo
	}
	if want != cur {
		_, err = f.c.ASG.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{
			AutoScalingGroupName: aws.String(st.Group),
			DesiredCapacity:      aws.Int32(want),
			HonorCooldown:        aws.Bool(false),
		})
		if err != nil {
			return fail("give back %d to the desired capacity of %s (%d → %d): %w", taken, st.Group, cur, want, err)
		}
	}
	if len(notes) > 0 {
		// Only a conflict or a bound is a note (notes fail a clean
		// rollback); a plain give-back is what the plan said it would do.
		notes = append(notes, fmt.Sprintf("group %s: gave back %d instance(s) of capacity (desired %d → %d, relative to the desired capacity now)", st.Group, want-cur, cur, want))
	}
	f.update(func(s *TerminateUndo) { s.GivenBack, s.Given, s.Notes = want-cur, true, append(s.Notes, notes...) })
	if st.Token != "" {
		// A crash between the call above and this one leaves the tag: a
		// later `gameday rollback` would give the capacity back twice
		// (bounded by max). The window is one API call.
		if err := deleteGroupTag(ctx, f.c, st.Group, tagKey); err != nil {
			return fail("remove decrement tag %s from %s: %w", tagKey, st.Group, err)
		}
	}
	f.update(func(s *TerminateUndo) { s.Restored = true })
	return nil
}

// fromJournal: the undo record was written before Apply, so Attempted may
// be empty although calls were sent.
func (f *terminateFault) fromJournal() bool { return f.restored }

// Touches: the instances it terminates.
func (f *terminateFault) Touches() []Touched {
	return []Touched{{Type: TouchInstance, IDs: f.Resources()}}
}

// TakesInstances: the group's instances it terminates.
func (f *terminateFault) TakesInstances() (string, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st.Group, slices.Clone(f.st.Instances)
}
