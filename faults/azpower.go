package faults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/topology"
)

// KindAZPowerInterruption is one AZ losing power, as the AWS FIS scenario
// "AZ Availability: Power Interruption" composes it: in targets.az, the
// group's instances stop (or terminate), the AZ's subnets are blackholed,
// the group's launches there fail, and the database fails over out of it
// if its writer is there. It is composed of the registered kinds
// (stop-instances or terminate-instances, az-blackhole, launch-failures,
// db-failover), built and restored through the registry, applied in that
// order, journaled as one fault and rolled back in reverse.
const KindAZPowerInterruption = "az-power-interruption"

// azPowerSpec is the kind's own YAML.
type azPowerSpec struct {
	// Instances: stop (default, as FIS stops them) or terminate.
	Instances string `mapstructure:"instances"`
	// Subnets: which of the AZ's subnets to blackhole (az-blackhole's
	// subnets: all, private or public; default all).
	Subnets string `mapstructure:"subnets"`
	// LaunchFailures (default true) makes the group's launches in the AZ
	// fail; sandbox only (on AWS it needs FIS), so false on AWS.
	LaunchFailures *bool `mapstructure:"launch_failures"`
	// Database (default true) fails the database over if its writer is in
	// the AZ.
	Database *bool `mapstructure:"database"`
}

// PowerStep is one part of the composite in its journal record: the
// registered kind and that kind's own undo record.
type PowerStep struct {
	Kind string          `json:"kind"`
	Name string          `json:"name"`
	Undo json.RawMessage `json:"undo"`
}

// AZPowerUndo is what an az-power-interruption fault journals: its parts
// in apply order. Restore rebuilds each through its kind's Restore.
type AZPowerUndo struct {
	AZ       string      `json:"az"`
	Steps    []PowerStep `json:"steps"`
	Skipped  []string    `json:"skipped,omitempty"` // parts left out, and why
	Applying bool        `json:"applying,omitempty"`
}

func init() {
	Register(Kind{
		Name: KindAZPowerInterruption,
		Doc: "One Availability Zone loses power, as the AWS FIS scenario \"AZ Availability: Power " +
			"Interruption\": in `targets.az`, in this order, the group's InService instances there " +
			"are stopped (`instances: stop`, the default, as `stop-instances`) or terminated " +
			"(`instances: terminate`), the AZ's subnets are blackholed (as `az-blackhole`, " +
			"`subnets: all | private | public`), the group's launches there fail (as " +
			"`launch-failures`; `launch_failures: false` leaves it out, and must on AWS, where it " +
			"needs FIS), and the database fails over if its writer is in the AZ when that step comes " +
			"(as `db-failover`, to a cluster member outside the AZ; `database: false` leaves it out). It is journaled " +
			"as one fault and rolled back in reverse order after `duration`: launches allowed " +
			"again, subnets back on their ACLs, stopped instances started (one the group replaced " +
			"meanwhile is left, with a note). It cuts the AZ off, so the never-every-AZ guards count it.",
		Fields: []string{"instances", "subnets", "launch_failures", "database"},
		New:    newAZPower,
		Truth:  azPowerTruth,
		Restore: func(c *awsclients.Clients, name string, dec func(any) error) (Fault, error) {
			f := &azPowerFault{c: c, name: name}
			if err := restoreState(dec, &f.st, &f.st.Applying); err != nil {
				return nil, err
			}
			for _, s := range f.st.Steps {
				k, ok := Lookup(s.Kind)
				if !ok {
					return nil, fmt.Errorf("%s: part %s: unknown fault kind %q", name, s.Name, s.Kind)
				}
				raw := s.Undo
				p, err := k.Restore(c, s.Name, func(v any) error { return json.Unmarshal(raw, v) })
				if err != nil {
					return nil, fmt.Errorf("%s: part %s: %w", name, s.Name, err)
				}
				f.parts = append(f.parts, p)
			}
			return f, nil
		},
		Validate: func(x *experiments.Experiment, f *experiments.Fault, add func(field, msg string)) {
			var s azPowerSpec
			if validateParams(f, &s, add) {
				switch s.Instances {
				case "", "stop", "terminate":
				default:
					add("instances", fmt.Sprintf("%q is not stop or terminate", s.Instances))
				}
				switch s.Subnets {
				case "", "all", "private", "public":
				default:
					add("subnets", fmt.Sprintf("%q is not all, private or public", s.Subnets))
				}
				if x.Target.Kind == "aws" && (s.LaunchFailures == nil || *s.LaunchFailures) {
					add("launch_failures", "launch failures need AWS FIS on AWS "+
						"(aws:ec2:asg-insufficient-instance-capacity-error), which gameday does not drive: "+
						"set launch_failures: false and run that FIS action beside the experiment")
				}
			}
			if f.Targets.AZ == "" {
				add("targets.az", "is required: the Availability Zone that loses power")
			}
			if f.Duration <= 0 {
				add("duration", "must be positive: how long the AZ is without power")
			}
			if msg := HeldPastVerify(x, f, "the power interruption"); msg != "" {
				add("duration", msg)
			}
		},
		Guards: func(g experiments.Guards, f *experiments.Fault, add func(field, msg string)) {
			// The blackhole's own guard (max_blackhole_duration) holds.
			if k, ok := Lookup(KindAZBlackhole); ok && k.Guards != nil {
				k.Guards(g, f, add)
			}
		},
	})
}

type azPowerFault struct {
	c    *awsclients.Clients
	name string

	op    sync.Mutex // serialises Apply and Rollback
	mu    sync.Mutex // guards st, parts' progress and notes
	st    AZPowerUndo
	parts []Fault // in apply order, as st.Steps
	notes []string
}

// part builds one part through the registry, named after the composite.
func part(ctx context.Context, c *awsclients.Clients, topo *topology.Topology, spec experiments.Fault, kind string, params map[string]any, sel experiments.Selector) (Fault, error) {
	sub := experiments.Fault{Name: spec.Name + "/" + kind, Kind: kind, Duration: spec.Duration, Targets: sel, Params: params}
	f, err := New(ctx, c, topo, sub)
	if err != nil {
		var se *SpecError
		if errors.As(err, &se) {
			return nil, &SpecError{Fault: spec.Name, Field: se.Field, Msg: kind + ": " + se.Msg}
		}
		return nil, fmt.Errorf("fault %q: %s: %w", spec.Name, kind, err)
	}
	return f, nil
}

func newAZPower(ctx context.Context, c *awsclients.Clients, topo *topology.Topology, spec experiments.Fault) (Fault, error) {
	var s azPowerSpec
	if err := DecodeParams(spec, &s); err != nil {
		return nil, err
	}
	az := spec.Targets.AZ
	if az == "" {
		return nil, specErr(spec, "targets.az", "must name the Availability Zone that loses power (one of %s)", strings.Join(topo.AZs, ", "))
	}
	if !slices.Contains(topo.AZs, az) {
		return nil, specErr(spec, "targets.az", "%q is not an AZ of the target (have %s)", az, strings.Join(topo.AZs, ", "))
	}
	if spec.Duration <= 0 {
		return nil, specErr(spec, "duration", "must be positive: how long the AZ is without power")
	}
	f := &azPowerFault{c: c, name: spec.Name, st: AZPowerUndo{AZ: az}}
	add := func(p Fault) { f.parts = append(f.parts, p) }

	// 1. The instances: every InService member of the group in the AZ.
	kind := KindStopInstances
	var params map[string]any
	switch s.Instances {
	case "", "stop":
	case "terminate":
		kind = KindTerminateInstances
	default:
		return nil, specErr(spec, "instances", "%q is not stop or terminate", s.Instances)
	}
	p, err := part(ctx, c, topo, spec, kind, params, experiments.Selector{Group: spec.Targets.Group, AZ: az, Percent: 100})
	if err != nil {
		var se *SpecError
		// An AZ with no InService member has nothing to stop: the other
		// parts still apply.
		if !errors.As(err, &se) || !strings.Contains(se.Msg, "no InService instance") {
			return nil, err
		}
		f.st.Skipped = append(f.st.Skipped, "instances: "+se.Msg)
	} else {
		add(p)
	}
	// 2. The network: the AZ's subnets.
	var bh map[string]any
	if s.Subnets != "" {
		bh = map[string]any{"subnets": s.Subnets}
	}
	if p, err = part(ctx, c, topo, spec, KindAZBlackhole, bh, experiments.Selector{AZ: az}); err != nil {
		return nil, err
	}
	add(p)
	// 3. Launches in the AZ.
	if s.LaunchFailures == nil || *s.LaunchFailures {
		if p, err = part(ctx, c, topo, spec, KindLaunchFailures, nil, experiments.Selector{Group: spec.Targets.Group, AZ: az}); err != nil {
			return nil, err
		}
		add(p)
	} else {
		f.st.Skipped = append(f.st.Skipped, "launch failures: launch_failures: false")
	}
	// 4. The database: failed over if, when the part's turn comes, its
	// writer is in the AZ (Apply checks; the writer may move during a run,
	// e.g. an earlier db-failover fault).
	switch {
	case s.Database != nil && !*s.Database:
		f.st.Skipped = append(f.st.Skipped, "database: database: false")
	case topo.DBInstanceID == "" && topo.DBClusterID == "":
		f.st.Skipped = append(f.st.Skipped, "database: the target has none")
	default:
		dbParams, err := dbOutOf(ctx, c, topo, az)
		if err != nil {
			return nil, fmt.Errorf("fault %q: %w", spec.Name, err)
		}
		if p, err = part(ctx, c, topo, spec, KindDBFailover, dbParams, experiments.Selector{}); err != nil {
			return nil, err
		}
		add(p)
	}
	f.record()
	return f, nil
}

// dbOutOf returns the db-failover params that fail the database over out
// of az: for a cluster, a target member outside az that is not the writer
// now (none: RDS picks one; an error if the writer is in az and no other
// member is outside it).
func dbOutOf(ctx context.Context, c *awsclients.Clients, topo *topology.Topology, az string) (map[string]any, error) {
	if topo.DBClusterID == "" {
		return map[string]any{"mode": "instance"}, nil
	}
	st, err := describeCluster(ctx, c, topo.DBClusterID)
	if err != nil {
		return nil, err
	}
	for _, m := range st.members {
		if m == st.WriterBefore {
			continue
		}
		out, err := c.RDS.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(m)})
		if err != nil {
			return nil, fmt.Errorf("describe DB instance %s: %w", m, err)
		}
		if len(out.DBInstances) == 1 && aws.ToString(out.DBInstances[0].AvailabilityZone) != az {
			return map[string]any{"mode": "cluster", "target_instance": m}, nil
		}
	}
	if st.WriterAZBefore == az {
		return nil, fmt.Errorf("DB cluster %s has no member outside %s to fail over to", topo.DBClusterID, az)
	}
	return map[string]any{"mode": "cluster"}, nil
}

// writerAZ returns the AZ of the database's writer now.
func writerAZ(ctx context.Context, c *awsclients.Clients, u DBFailoverUndo) (writer, az string, err error) {
	if u.Mode == "cluster" {
		st, err := describeCluster(ctx, c, u.DBCluster)
		if err != nil {
			return "", "", err
		}
		return st.WriterBefore, st.WriterAZBefore, nil
	}
	out, err := c.RDS.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(u.DBInstance)})
	if err != nil {
		return "", "", fmt.Errorf("describe DB instance %s: %w", u.DBInstance, err)
	}
	if len(out.DBInstances) != 1 {
		return "", "", fmt.Errorf("DB instance %s not found", u.DBInstance)
	}
	return u.DBInstance, aws.ToString(out.DBInstances[0].AvailabilityZone), nil
}

// record refreshes st.Steps from the parts' own undo records.
func (f *azPowerFault) record() {
	steps := make([]PowerStep, 0, len(f.parts))
	for _, p := range f.parts {
		raw, err := json.Marshal(p.Undo())
		if err != nil {
			raw = nil
		}
		steps = append(steps, PowerStep{Kind: p.Kind(), Name: p.Name(), Undo: raw})
	}
	f.mu.Lock()
	f.st.Steps = steps
	f.mu.Unlock()
}

func (f *azPowerFault) Name() string { return f.name }
func (f *azPowerFault) Kind() string { return KindAZPowerInterruption }

func (f *azPowerFault) Resources() []string {
	var out []string
	for _, p := range f.parts {
		for _, t := range p.Resources() {
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	return out
}

func (f *azPowerFault) Touches() []Touched {
	var out []Touched
	for _, p := range f.parts {
		out = append(out, p.Touches()...)
	}
	return out
}

func (f *azPowerFault) Leases() []Resource {
	var out []Resource
	for _, p := range f.parts {
		if l, ok := p.(Leaser); ok {
			for _, r := range l.Leases() {
				if !slices.Contains(out, r) {
					out = append(out, r)
				}
			}
		}
	}
	return out
}

// SetRun tags what the parts create (the blackhole's ACL) with the run.
func (f *azPowerFault) SetRun(id string) {
	for _, p := range f.parts {
		if t, ok := p.(RunTagger); ok {
			t.SetRun(id)
		}
	}
	f.record()
}

// CutsAZ: the AZ loses its network (never-every-AZ guards).
func (f *azPowerFault) CutsAZ() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st.AZ
}

// TakesInstances: the AZ's members it stops or terminates.
func (f *azPowerFault) TakesInstances() (string, []string) {
	for _, p := range f.parts {
		if t, ok := p.(InstanceTaker); ok {
			return t.TakesInstances()
		}
	}
	return "", nil
}

func (f *azPowerFault) Describe() string {
	f.mu.Lock()
	az, skipped := f.st.AZ, slices.Clone(f.st.Skipped)
	f.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "power interruption in %s:", az)
	for i, p := range f.parts {
		if p.Kind() == KindDBFailover {
			fmt.Fprintf(&b, " (%d) if the database writer is in %s then: %s;", i+1, az, p.Describe())
			continue
		}
		fmt.Fprintf(&b, " (%d) %s;", i+1, p.Describe())
	}
	if len(skipped) > 0 {
		fmt.Fprintf(&b, " left out: %s;", strings.Join(skipped, "; "))
	}
	b.WriteString(" rolled back in reverse order")
	return b.String()
}

func (f *azPowerFault) Undo() any {
	f.record()
	return snapshot(&f.mu, &f.st, func(s *AZPowerUndo) {
		s.Steps, s.Skipped = slices.Clone(s.Steps), slices.Clone(s.Skipped)
	})
}

func (f *azPowerFault) Notes() []string {
	f.mu.Lock()
	out := slices.Clone(f.notes)
	f.mu.Unlock()
	for _, p := range f.parts {
		if n, ok := p.(Noter); ok {
			for _, s := range n.Notes() {
				out = append(out, p.Name()+": "+s)
			}
		}
	}
	return out
}

// Apply applies the parts in order; on an error it stops there (Rollback
// undoes what was applied: every part's rollback is safe when it never
// ran).
func (f *azPowerFault) Apply(ctx context.Context) error {
	f.op.Lock()
	defer f.op.Unlock()
	if _, err := beginApply(&f.mu, f.name, &f.st, &f.st.Applying); err != nil {
		return err
	}
	defer f.record()
	for _, p := range f.parts {
		if u, ok := p.Undo().(DBFailoverUndo); ok {
			w, waz, err := writerAZ(ctx, f.c, u)
			if err != nil {
				return fmt.Errorf("fault %q: %w", f.name, err)
			}
			if waz != f.st.AZ {
				f.mu.Lock()
				f.st.Skipped = append(f.st.Skipped, fmt.Sprintf("database: the writer %s was in %s, not %s", w, waz, f.st.AZ))
				f.mu.Unlock()
				continue
			}
		}
		if err := p.Apply(ctx); err != nil {
			return fmt.Errorf("fault %q: %w", f.name, err)
		}
	}
	return nil
}

// Rollback rolls every part back in reverse order, going on past a
// failed one (each is retried by a later rollback: they are idempotent),
// and returns every error.
func (f *azPowerFault) Rollback(ctx context.Context) error {
	f.op.Lock()
	defer f.op.Unlock()
	f.mu.Lock()
	applying := f.st.Applying
	f.mu.Unlock()
	if !applying {
		return nil
	}
	defer f.record()
	var errs []error
	for i := len(f.parts) - 1; i >= 0; i-- {
		if err := f.parts[i].Rollback(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("fault %q: rollback: %w", f.name, errors.Join(errs...))
	}
	return nil
}

// azPowerTruth is the union of its parts' ground truth.
func azPowerTruth(ids []string, spec experiments.Fault) Truth {
	var s azPowerSpec
	_ = experiments.DecodeFaultParams(spec.Params, &s) // validated before
	kinds := []string{KindStopInstances, KindAZBlackhole, KindLaunchFailures}
	if s.Instances == "terminate" {
		kinds[0] = KindTerminateInstances
	}
	// The database part may have been left out (writer elsewhere); the
	// blackhole's truth already explains database failures across the AZ.
	if s.Database == nil || *s.Database {
		kinds = append(kinds, KindDBFailover)
	}
	var ts []Truth
	for _, k := range kinds {
		kk, ok := Lookup(k)
		if !ok || kk.Truth == nil {
			continue
		}
		sub := spec
		sub.Kind, sub.Params = k, nil
		ts = append(ts, kk.Truth(ids, sub))
	}
	return Truth{
		CausedBy: func(b Failure) bool {
			for _, t := range ts {
				if t.CausedBy != nil && t.CausedBy(b) {
					return true
				}
			}
			return false
		},
		Context: func(e Change) string {
			for _, t := range ts {
				if t.Context != nil {
					if s := t.Context(e); s != "" {
						return s
					}
				}
			}
			return ""
		},
	}
}
