package faults

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/sandbox/truth"
	"github.com/gameday-dev/gameday/topology"
)

// KindRebootDB reboots a DB instance without failover (RDS
// RebootDBInstance, ForceFailover false, as FIS aws:rds:reboot-db-instances
// without forceFailover): the writer stays where it is; the outage is the
// database engine's restart.
const KindRebootDB = "reboot-db"

// rebootDBSpec is reboot-db's own YAML: db_instance picks a member of a
// cluster (default: the writer).
type rebootDBSpec struct {
	DBInstance string `mapstructure:"db_instance"`
}

// RebootDBUndo is what a reboot-db fault journals. A reboot is not undone;
// the record says which instance and where the writer was.
type RebootDBUndo struct {
	DBInstance     string `json:"db_instance"`
	DBCluster      string `json:"db_cluster,omitempty"`
	WriterAZBefore string `json:"writer_az_before,omitempty"`
	Applying       bool   `json:"applying,omitempty"`
	Requested      bool   `json:"requested,omitempty"`
	RolledBack     bool   `json:"rolled_back,omitempty"`
}

func init() {
	Register(Kind{
		Name: KindRebootDB,
		Doc: "`RebootDBInstance` without `ForceFailover` on the target's DB instance, or on a " +
			"member of its DB cluster (`db_instance`, default the writer): the database is " +
			"`rebooting`, unreachable while its engine restarts, and comes back in the same AZ — " +
			"the writer does not move (FIS `aws:rds:reboot-db-instances` without failover). " +
			"Nothing is undone server-side; rollback waits, bounded, for the instance to be " +
			"available and notes it if it is not, or if the writer moved meanwhile. No `duration`.",
		Fields: []string{"db_instance"},
		New:    newRebootDB,
		Truth: func([]string, experiments.Fault) Truth {
			return Truth{
				CausedBy: func(b Failure) bool { return b.Reason == truth.FailDBUnreachable || b.Reason == truth.FailDBDelayed },
				Context: func(e Change) string {
					if e.Kind == truth.EventDBStatus && e.To == truth.DBAvailable {
						return fmt.Sprintf("database %s %s → %s", e.Resource, e.From, e.To)
					}
					return ""
				},
				ContextFirst: true,
			}
		},
		Restore: func(c *awsclients.Clients, name string, dec func(any) error) (Fault, error) {
			f := &rebootDBFault{c: c, name: name}
			return f, restoreState(dec, &f.st, &f.st.Applying)
		},
		Validate: func(_ *experiments.Experiment, f *experiments.Fault, add func(field, msg string)) {
			var s rebootDBSpec
			validateParams(f, &s, add)
			if f.Duration != 0 {
				add("duration", "does not apply to reboot-db: the reboot ends by itself")
			}
		},
	})
}

type rebootDBFault struct {
	c    *awsclients.Clients
	name string

	op    sync.Mutex
	mu    sync.Mutex
	st    RebootDBUndo
	notes []string
}

func newRebootDB(ctx context.Context, c *awsclients.Clients, topo *topology.Topology, spec experiments.Fault) (fa Fault, err error) {
	var s rebootDBSpec
	if err := DecodeParams(spec, &s); err != nil {
		return nil, err
	}
	f := &rebootDBFault{c: c, name: spec.Name}
	defer func() {
		// Another live run's lease on the instance refuses the plan.
		if err == nil {
			if herr := CheckHeld(ctx, c, f.Leases(), ""); herr != nil {
				fa, err = nil, fmt.Errorf("fault %q: %w", spec.Name, herr)
			}
		}
	}()
	switch {
	case topo.DBClusterID != "":
		cl, err := describeCluster(ctx, c, topo.DBClusterID)
		if err != nil {
			return nil, fmt.Errorf("fault %q: %w", spec.Name, err)
		}
		f.st = RebootDBUndo{DBCluster: topo.DBClusterID, DBInstance: cl.WriterBefore, WriterAZBefore: cl.WriterAZBefore}
		if s.DBInstance != "" {
			if !slices.Contains(cl.members, s.DBInstance) {
				return nil, specErr(spec, "db_instance", "%s is not a member of DB cluster %s", s.DBInstance, topo.DBClusterID)
			}
			f.st.DBInstance = s.DBInstance
		}
		if f.st.DBInstance == "" {
			return nil, specErr(spec, "kind", "DB cluster %s has no writer to reboot", topo.DBClusterID)
		}
	case topo.DBInstanceID != "":
		if s.DBInstance != "" && s.DBInstance != topo.DBInstanceID {
			return nil, specErr(spec, "db_instance", "the target's database is DB instance %s, not %s", topo.DBInstanceID, s.DBInstance)
		}
		f.st = RebootDBUndo{DBInstance: topo.DBInstanceID}
	default:
		return nil, specErr(spec, "kind", "reboot-db but the target has no database (set target.db_instance or target.db_cluster)")
	}
	status, az, err := dbInstanceStatus(ctx, c, f.st.DBInstance)
	if err != nil {
		return nil, fmt.Errorf("fault %q: %w", spec.Name, err)
	}
	if status == "" {
		return nil, specErr(spec, "kind", "DB instance %s not found", f.st.DBInstance)
	}
	if f.st.DBCluster == "" {
		f.st.WriterAZBefore = az
	}
	return f, nil
}

// dbInstanceStatus returns a DB instance's status and AZ ("" if absent).
func dbInstanceStatus(ctx context.Context, c *awsclients.Clients, id string) (status, az string, err error) {
	out, err := c.RDS.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
	if err != nil {
		return "", "", fmt.Errorf("describe DB instance %s: %w", id, err)
	}
	if len(out.DBInstances) != 1 {
		return "", "", nil
	}
	return aws.ToString(out.DBInstances[0].DBInstanceStatus), aws.ToString(out.DBInstances[0].AvailabilityZone), nil
}

func (f *rebootDBFault) Name() string { return f.name }
func (f *rebootDBFault) Kind() string { return KindRebootDB }

func (f *rebootDBFault) Resources() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return []string{f.st.DBInstance}
}

func (f *rebootDBFault) Describe() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	of := ""
	if f.st.DBCluster != "" {
		of = " of DB cluster " + f.st.DBCluster
	}
	return fmt.Sprintf("reboot DB instance %s%s without failover via RebootDBInstance (writer stays in %s); nothing to undo", f.st.DBInstance, of, f.st.WriterAZBefore)
}

func (f *rebootDBFault) Undo() any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st
}

func (f *rebootDBFault) Notes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.notes)
}

func (f *rebootDBFault) Apply(ctx context.Context) error {
	f.op.Lock()
	defer f.op.Unlock()
	st, err := beginApply(&f.mu, f.name, &f.st, &f.st.Applying)
	if err != nil {
		return err
	}
	if _, err := f.c.RDS.RebootDBInstance(ctx, &rds.RebootDBInstanceInput{DBInstanceIdentifier: aws.String(st.DBInstance), ForceFailover: aws.Bool(false)}); err != nil {
		return fmt.Errorf("fault %q: reboot DB instance %s: %w", f.name, st.DBInstance, err)
	}
	f.mu.Lock()
	f.st.Requested = true
	f.mu.Unlock()
	return nil
}

// Rollback has nothing to undo. After a reboot it waits, bounded by ctx
// and DBSettleWait, for the instance to be available, and notes it if it
// is not, or if the writer is no longer in its AZ; it never fails because
// of that.
func (f *rebootDBFault) Rollback(ctx context.Context) error {
	f.op.Lock()
	defer f.op.Unlock()
	st := snapshot(&f.mu, &f.st, nil)
	if !st.Applying || st.RolledBack {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, DBSettleWait)
	defer cancel()
	var az string
	status, err := waitDBAvailable(wctx, func(ctx context.Context) (string, error) {
		s, a, err := dbInstanceStatus(ctx, f.c, st.DBInstance)
		az = a
		return s, err
	})
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		f.notes = append(f.notes, fmt.Sprintf("DB instance %s not available yet (status %q): %v", st.DBInstance, status, err))
		return nil
	}
	if st.DBCluster == "" && st.WriterAZBefore != "" && az != st.WriterAZBefore {
		f.notes = append(f.notes, fmt.Sprintf("DB instance %s is in %s after its reboot, not %s: something failed it over meanwhile", st.DBInstance, az, st.WriterAZBefore))
	}
	f.st.RolledBack = true
	return nil
}

// Leases: the DB instance it reboots.
func (f *rebootDBFault) Leases() []Resource {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.st.DBInstance == "" {
		return nil
	}
	return []Resource{{ResDBInstance, f.st.DBInstance}}
}

// Touches: the DB instance it reboots.
func (f *rebootDBFault) Touches() []Touched {
	return []Touched{{Type: TouchDBInstance, IDs: f.Resources()}}
}
