package faults

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/sandbox/truth"
	"github.com/gameday-dev/gameday/topology"
)

func init() {
	Register(Kind{
		Name: KindDBFailover,
		Doc: "`FailoverDBCluster` for a cluster (`mode: cluster`, optionally " +
			"`target_instance`, or `target_az`: the reader in that AZ becomes the writer, as " +
			"FailoverDBCluster's TargetDBInstanceIdentifier allows), else `RebootDBInstance` with " +
			"`ForceFailover` on a Multi-AZ instance. A Multi-AZ DB instance always fails over to " +
			"its one standby: `target_az` is accepted there only when it names the standby's AZ " +
			"(RebootDBInstance cannot choose). Nothing is undone server-side; rollback waits, " +
			"bounded, for the database to be available and notes it if it is not.",
		New: newDBFailover,
		Truth: func([]string, experiments.Fault) Truth {
			return Truth{
				CausedBy: func(b Failure) bool { return b.Reason == truth.FailDBUnreachable || b.Reason == truth.FailDBDelayed },
				Context: func(e Change) string {
					if e.Kind == truth.EventDBStatus && e.To == truth.DBAvailable {
						return fmt.Sprintf("database %s %s → %s", e.Resource, e.From, e.To)
					}
					return ""
				},
				// The first time the database is available again.
				ContextFirst: true,
			}
		},
		Restore: func(c *awsclients.Clients, name string, dec func(any) error) (Fault, error) {
			f := &dbFailoverFault{c: c, name: name}
			return f, restoreState(dec, &f.st, &f.st.Applying)
		},
		Fields: []string{"mode", "target_instance", "target_az"},
		Validate: func(_ *experiments.Experiment, f *experiments.Fault, add func(field, msg string)) {
			var s dbFailoverSpec
			if validateParams(f, &s, add) {
				switch s.Mode {
				case "", "instance", "cluster":
				default:
					add("mode", fmt.Sprintf("unknown %q (instance, cluster)", s.Mode))
				}
				if s.TargetAZ != "" && s.TargetInstance != "" {
					add("target_az", "give target_instance or target_az, not both")
				}
			}
			if f.Duration != 0 {
				add("duration", "does not apply to db-failover")
			}
		},
	})
}

// dbFailoverSpec is db-failover's own YAML.
type dbFailoverSpec struct {
	Mode           string `mapstructure:"mode"`            // instance | cluster
	TargetInstance string `mapstructure:"target_instance"` // cluster failover target
	TargetAZ       string `mapstructure:"target_az"`       // the AZ the writer should move to
}

// DBFailoverUndo is the undo record of a db-failover fault. A failover is
// not undone (the writer stays where it moved); the record says where the
// writer was, for reports and for checking recovery.
type DBFailoverUndo struct {
	Mode           string `json:"mode"` // cluster | instance
	DBCluster      string `json:"db_cluster,omitempty"`
	DBInstance     string `json:"db_instance,omitempty"`
	TargetInstance string `json:"target_instance,omitempty"`
	TargetAZ       string `json:"target_az,omitempty"`
	// Writer (instance id) and its AZ before the failover; refreshed by Apply.
	WriterBefore   string `json:"writer_before,omitempty"`
	WriterAZBefore string `json:"writer_az_before,omitempty"`
	StandbyAZ      string `json:"standby_az,omitempty"`
	Applying       bool   `json:"applying,omitempty"`
	Requested      bool   `json:"requested,omitempty"` // the failover call succeeded
	RolledBack     bool   `json:"rolled_back,omitempty"`
}

// DBSettleWait caps how long Rollback of a db-failover waits for the
// database to be available again (it is also bounded by its context).
var DBSettleWait = 2 * time.Minute

type dbFailoverFault struct {
	c    *awsclients.Clients
	name string

	op    sync.Mutex
	mu    sync.Mutex
	st    DBFailoverUndo
	notes []string
}

func newDBFailover(ctx context.Context, c *awsclients.Clients, topo *topology.Topology, spec experiments.Fault) (fa Fault, err error) {
	f := &dbFailoverFault{c: c, name: spec.Name}
	defer func() {
		// Another live run's lease on the database refuses the plan.
		if err == nil {
			if herr := CheckHeld(ctx, c, f.Leases(), ""); herr != nil {
				fa, err = nil, fmt.Errorf("fault %q: %w", spec.Name, herr)
			}
		}
	}()
	var ds dbFailoverSpec
	if err := DecodeParams(spec, &ds); err != nil {
		return nil, err
	}
	switch ds.Mode {
	case "", "cluster", "instance":
	default:
		return nil, specErr(spec, "mode", "%q is not instance or cluster", ds.Mode)
	}
	cluster := ds.Mode == "cluster" || (ds.Mode == "" && topo.DBClusterID != "")
	if cluster {
		if topo.DBClusterID == "" {
			return nil, specErr(spec, "mode", "cluster failover but the target has no DB cluster (set target.db_cluster)")
		}
		st, err := describeCluster(ctx, c, topo.DBClusterID)
		if err != nil {
			return nil, fmt.Errorf("fault %q: %w", spec.Name, err)
		}
		if ds.TargetAZ != "" && ds.TargetInstance != "" {
			return nil, specErr(spec, "target_az", "give target_instance or target_az, not both")
		}
		st.TargetInstance, st.TargetAZ = ds.TargetInstance, ds.TargetAZ
		if ds.TargetAZ != "" {
			if st.TargetInstance, err = clusterMemberIn(ctx, c, st, ds.TargetAZ); err != nil {
				return nil, specErr(spec, "target_az", "%v", err)
			}
		}
		if ds.TargetInstance != "" {
			if ds.TargetInstance == st.WriterBefore {
				return nil, specErr(spec, "target_instance", "%s is already the writer of %s", ds.TargetInstance, topo.DBClusterID)
			}
			if !st.member(ds.TargetInstance) {
				return nil, specErr(spec, "target_instance", "%s is not a member of DB cluster %s", ds.TargetInstance, topo.DBClusterID)
			}
		}
		f.st = st.DBFailoverUndo
		return f, nil
	}
	if ds.TargetInstance != "" {
		return nil, specErr(spec, "target_instance", "only for a cluster failover")
	}
	if topo.DBInstanceID == "" {
		return nil, specErr(spec, "kind", "db-failover but the target has no database (set target.db_instance or target.db_cluster)")
	}
	out, err := c.RDS.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(topo.DBInstanceID)})
	if err != nil {
		return nil, fmt.Errorf("fault %q: describe DB instance %s: %w", spec.Name, topo.DBInstanceID, err)
	}
	if len(out.DBInstances) != 1 {
		return nil, specErr(spec, "kind", "DB instance %s not found", topo.DBInstanceID)
	}
	d := out.DBInstances[0]
	if !aws.ToBool(d.MultiAZ) {
		return nil, specErr(spec, "kind", "DB instance %s is not Multi-AZ: a forced failover needs a standby", topo.DBInstanceID)
	}
	f.st = DBFailoverUndo{
		Mode: "instance", DBInstance: topo.DBInstanceID, WriterBefore: topo.DBInstanceID,
		WriterAZBefore: aws.ToString(d.AvailabilityZone), StandbyAZ: aws.ToString(d.SecondaryAvailabilityZone),
		TargetAZ: ds.TargetAZ,
	}
	// RebootDBInstance with ForceFailover promotes the one standby: the
	// API takes no target (RDS API reference, RebootDBInstance), so
	// target_az can only name the standby's AZ.
	if ds.TargetAZ != "" && ds.TargetAZ != f.st.StandbyAZ {
		return nil, specErr(spec, "target_az", "DB instance %s fails over to its standby in %s; a Multi-AZ DB instance cannot fail over to %s (RebootDBInstance takes no target; use a Multi-AZ DB cluster or Aurora for a chosen AZ)", topo.DBInstanceID, f.st.StandbyAZ, ds.TargetAZ)
	}
	return f, nil
}

type clusterState struct {
	DBFailoverUndo
	members []string
}

func (s clusterState) member(id string) bool {
	for _, m := range s.members {
		if m == id {
			return true
		}
	}
	return false
}

// describeCluster reads the cluster's writer and its AZ.
func describeCluster(ctx context.Context, c *awsclients.Clients, id string) (clusterState, error) {
	out, err := c.RDS.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(id)})
	if err != nil {
		return clusterState{}, fmt.Errorf("describe DB cluster %s: %w", id, err)
	}
	if len(out.DBClusters) != 1 {
		return clusterState{}, fmt.Errorf("DB cluster %s not found", id)
	}
	st := clusterState{DBFailoverUndo: DBFailoverUndo{Mode: "cluster", DBCluster: id}}
	for _, m := range out.DBClusters[0].DBClusterMembers {
		mid := aws.ToString(m.DBInstanceIdentifier)
		st.members = append(st.members, mid)
		if aws.ToBool(m.IsClusterWriter) {
			st.WriterBefore = mid
		}
	}
	if st.WriterBefore != "" {
		in, err := c.RDS.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(st.WriterBefore)})
		if err != nil {
			return clusterState{}, fmt.Errorf("describe DB instance %s: %w", st.WriterBefore, err)
		}
		if len(in.DBInstances) == 1 {
			st.WriterAZBefore = aws.ToString(in.DBInstances[0].AvailabilityZone)
		}
	}
	return st, nil
}

// clusterMemberIn returns the member of the cluster in st that is in az
// and is not the writer, for FailoverDBCluster's
// TargetDBInstanceIdentifier (the API picks by instance, not by AZ).
func clusterMemberIn(ctx context.Context, c *awsclients.Clients, st clusterState, az string) (string, error) {
	var inAZ []string
	for _, id := range st.members {
		out, err := c.RDS.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
		if err != nil {
			return "", fmt.Errorf("describe DB instance %s: %w", id, err)
		}
		if len(out.DBInstances) == 1 && aws.ToString(out.DBInstances[0].AvailabilityZone) == az {
			inAZ = append(inAZ, id)
		}
	}
	for _, id := range inAZ {
		if id != st.WriterBefore {
			return id, nil
		}
	}
	if len(inAZ) > 0 {
		return "", fmt.Errorf("the writer of DB cluster %s (%s) is already in %s", st.DBCluster, st.WriterBefore, az)
	}
	return "", fmt.Errorf("DB cluster %s has no member in %s (members %s)", st.DBCluster, az, strings.Join(st.members, ", "))
}

func (f *dbFailoverFault) Name() string { return f.name }
func (f *dbFailoverFault) Kind() string { return KindDBFailover }

func (f *dbFailoverFault) Resources() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return []string{f.st.db()}
}

func (f *dbFailoverFault) Describe() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.st.Mode == "cluster" {
		to := "a reader"
		if f.st.TargetInstance != "" {
			to = f.st.TargetInstance
		}
		if f.st.TargetAZ != "" {
			to += " in " + f.st.TargetAZ
		}
		return fmt.Sprintf("fail over DB cluster %s (writer %s in %s) to %s via FailoverDBCluster", f.st.DBCluster, f.st.WriterBefore, f.st.WriterAZBefore, to)
	}
	return fmt.Sprintf("fail over DB instance %s (%s → %s) via RebootDBInstance with ForceFailover", f.st.DBInstance, f.st.WriterAZBefore, f.st.StandbyAZ)
}

func (f *dbFailoverFault) Undo() any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st
}

// Notes returns what Rollback noticed (e.g. the database not yet available).
func (f *dbFailoverFault) Notes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.notes...)
}

func (f *dbFailoverFault) Apply(ctx context.Context) error {
	f.op.Lock()
	defer f.op.Unlock()
	st, err := beginApply(&f.mu, f.name, &f.st, &f.st.Applying)
	if err != nil {
		return err
	}

	if st.Mode == "cluster" {
		// Record the writer as it is now, just before the failover.
		if cur, err := describeCluster(ctx, f.c, st.DBCluster); err == nil {
			f.mu.Lock()
			f.st.WriterBefore, f.st.WriterAZBefore = cur.WriterBefore, cur.WriterAZBefore
			f.mu.Unlock()
		}
		in := &rds.FailoverDBClusterInput{DBClusterIdentifier: aws.String(st.DBCluster)}
		if st.TargetInstance != "" {
			in.TargetDBInstanceIdentifier = aws.String(st.TargetInstance)
		}
		if _, err := f.c.RDS.FailoverDBCluster(ctx, in); err != nil {
			return fmt.Errorf("fault %q: fail over DB cluster %s: %w", f.name, st.DBCluster, err)
		}
	} else {
		if out, err := f.c.RDS.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(st.DBInstance)}); err == nil && len(out.DBInstances) == 1 {
			f.mu.Lock()
			f.st.WriterAZBefore = aws.ToString(out.DBInstances[0].AvailabilityZone)
			f.st.StandbyAZ = aws.ToString(out.DBInstances[0].SecondaryAvailabilityZone)
			f.mu.Unlock()
		}
		if _, err := f.c.RDS.RebootDBInstance(ctx, &rds.RebootDBInstanceInput{DBInstanceIdentifier: aws.String(st.DBInstance), ForceFailover: aws.Bool(true)}); err != nil {
			return fmt.Errorf("fault %q: reboot DB instance %s with failover: %w", f.name, st.DBInstance, err)
		}
	}
	f.mu.Lock()
	f.st.Requested = true
	f.mu.Unlock()
	return nil
}

// Rollback has nothing to undo server-side. After a failover it waits,
// bounded by ctx and DBSettleWait, for the database to be available, and
// notes it if it is not; it never fails because of that.
func (f *dbFailoverFault) Rollback(ctx context.Context) error {
	f.op.Lock()
	defer f.op.Unlock()
	st := snapshot(&f.mu, &f.st, nil)
	if !st.Applying || st.RolledBack {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, DBSettleWait)
	defer cancel()
	status, err := f.waitAvailable(wctx, st)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		f.notes = append(f.notes, fmt.Sprintf("database %s not available yet (status %q): %v", st.db(), status, err))
		return nil
	}
	f.st.RolledBack = true
	return nil
}

// db names the database of st.
func (st DBFailoverUndo) db() string {
	if st.Mode == "cluster" {
		return st.DBCluster
	}
	return st.DBInstance
}

func (f *dbFailoverFault) waitAvailable(ctx context.Context, st DBFailoverUndo) (string, error) {
	return waitDBAvailable(ctx, func(ctx context.Context) (string, error) {
		if st.Mode == "cluster" {
			out, err := f.c.RDS.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(st.DBCluster)})
			if err != nil || len(out.DBClusters) != 1 {
				return "", err
			}
			return aws.ToString(out.DBClusters[0].Status), nil
		}
		out, err := f.c.RDS.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(st.DBInstance)})
		if err != nil || len(out.DBInstances) != 1 {
			return "", err
		}
		return aws.ToString(out.DBInstances[0].DBInstanceStatus), nil
	})
}

// waitDBAvailable polls status every 200ms until it reads "available" or
// ctx ends; it returns the last status read and, unless available, the
// last error (ctx's when the reads themselves succeeded).
func waitDBAvailable(ctx context.Context, status func(context.Context) (string, error)) (string, error) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		st, err := status(ctx)
		if st != "" {
			last = st
		}
		if err == nil && st == "available" {
			return st, nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = ctx.Err()
			}
			return last, err
		case <-tick.C:
		}
	}
}

// Leases: the DB cluster, or the DB instance.
func (f *dbFailoverFault) Leases() []Resource {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.st.Mode == "cluster" && f.st.DBCluster != "" {
		return []Resource{{ResDBCluster, f.st.DBCluster}}
	}
	if f.st.DBInstance != "" {
		return []Resource{{ResDBInstance, f.st.DBInstance}}
	}
	return nil
}

// Touches: the cluster it fails over, or the instance it reboots.
func (f *dbFailoverFault) Touches() []Touched {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.st.Mode == "cluster" {
		return []Touched{{Type: TouchDBCluster, IDs: []string{f.st.DBCluster}}}
	}
	return []Touched{{Type: TouchDBInstance, IDs: []string{f.st.DBInstance}}}
}
