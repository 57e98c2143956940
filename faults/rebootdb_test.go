package faults_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/faults"
	"github.com/gameday-dev/gameday/internal/testutil"
	"github.com/gameday-dev/gameday/sandbox/sim"
)

func init() {
	contracts[faults.KindRebootDB] = contract{
		spec: experiments.Fault{Name: "reboot-db"},
		// Where the writer is: a reboot does not move it, and after the
		// rollback (which waits for it) the database is available.
		state: func(e *env) string { return e.sb.Region().WriterAZ() + " " + e.sb.Health().DBStatus },
	}
}

// A reboot without failover: the DB instance goes rebooting and comes back
// available in the same AZ, with RDS's events; the writer never moves.
func TestRebootDB(t *testing.T) {
	for _, kind := range []string{"instance", "cluster"} {
		t.Run(kind, func(t *testing.T) {
			e := start(t, kind, nil)
			f := mustNew(t, e, experiments.Fault{Name: "reboot", Kind: faults.KindRebootDB})
			id := f.Resources()[0]
			before := e.sb.Region().WriterAZ()
			if d := f.Describe(); !strings.Contains(d, id) || !strings.Contains(d, "without failover") || !strings.Contains(d, before) {
				t.Fatalf("Describe = %q", d)
			}
			if kind == "cluster" && !strings.HasSuffix(id, "-instance-1") {
				t.Fatalf("cluster reboot targets %s, want the writer", id)
			}
			t0 := time.Now().Add(-time.Second)
			if err := f.Apply(e.ctx); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			out, err := e.c.RDS.DescribeDBInstances(e.ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
			if err != nil || aws.ToString(out.DBInstances[0].DBInstanceStatus) != sim.DBRebooting {
				t.Fatalf("status after Apply: %v %v, want rebooting", out, err)
			}
			for i := range 2 {
				if err := f.Rollback(e.ctx); err != nil {
					t.Fatalf("Rollback #%d: %v", i+1, err)
				}
			}
			if h := e.sb.Health(); h.DBStatus != sim.DBAvailable {
				t.Fatalf("db status %q after rollback, want available", h.DBStatus)
			}
			if az := e.sb.Region().WriterAZ(); az != before {
				t.Fatalf("writer in %s after a reboot without failover, was %s", az, before)
			}
			if n := f.(faults.Noter).Notes(); len(n) > 0 {
				t.Fatalf("notes %v", n)
			}
			ev, err := e.c.RDS.DescribeEvents(e.ctx, &rds.DescribeEventsInput{SourceIdentifier: aws.String(id), SourceType: "db-instance", StartTime: aws.Time(t0)})
			if err != nil {
				t.Fatal(err)
			}
			var msgs []string
			for _, x := range ev.Events {
				msgs = append(msgs, aws.ToString(x.Message))
			}
			if got := strings.Join(msgs, " | "); got != "DB instance shutdown. | DB instance restarted." {
				t.Fatalf("RDS events %q, want shutdown then restarted", got)
			}
		})
	}
}

func TestRebootDBSpec(t *testing.T) {
	e := start(t, "cluster", nil)
	if _, err := faults.New(e.ctx, e.c, e.topo, experiments.Fault{Name: "r", Kind: faults.KindRebootDB, Params: map[string]any{"db_instance": "nope"}}); err == nil || !strings.Contains(err.Error(), "db_instance") || !strings.Contains(err.Error(), "not a member") {
		t.Fatalf("New with a non-member: %v", err)
	}
	reader := e.topo.DBClusterID + "-instance-2"
	f, err := faults.New(e.ctx, e.c, e.topo, experiments.Fault{Name: "r", Kind: faults.KindRebootDB, Params: map[string]any{"db_instance": reader}})
	if err != nil || f.Resources()[0] != reader {
		t.Fatalf("New with the reader: %v %v", f, err)
	}
	x := &experiments.Experiment{Faults: []experiments.Fault{{Kind: faults.KindRebootDB, Duration: time.Second, Params: map[string]any{"force_failover": true}}}}
	_, err = x.Validate()
	if err == nil || !strings.Contains(err.Error(), "faults[0].duration") || !strings.Contains(err.Error(), "force_failover") {
		t.Fatalf("Validate: %v, want duration and the unknown key", err)
	}
}

// db-failover target_az: a cluster fails over to its member in that AZ
// (FailoverDBCluster's TargetDBInstanceIdentifier); a Multi-AZ instance
// only to its standby's AZ, and another AZ is refused at plan time.
func TestDBFailoverTargetAZ(t *testing.T) {
	t.Run("cluster", func(t *testing.T) {
		e := start(t, "cluster", nil)
		azs := e.sb.Region().AvailabilityZones()
		last := azs[len(azs)-1].Name
		f := mustNew(t, e, experiments.Fault{Name: "f", Kind: faults.KindDBFailover, Params: map[string]any{"target_az": last}})
		if u := f.Undo().(faults.DBFailoverUndo); u.TargetInstance != e.topo.DBClusterID+"-instance-2" || u.TargetAZ != last {
			t.Fatalf("undo %+v: want the member in %s", u, last)
		}
		if d := f.Describe(); !strings.Contains(d, "in "+last) {
			t.Fatalf("Describe %q does not name %s", d, last)
		}
		if err := f.Apply(e.ctx); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 5*time.Second, "writer in "+last, func() bool { return e.sb.Region().WriterAZ() == last })
		if err := f.Rollback(e.ctx); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			params map[string]any
			want   string
		}{
			{map[string]any{"target_az": azs[1].Name}, "no member in " + azs[1].Name},
			{map[string]any{"target_az": azs[0].Name}, ""}, // the writer moved to last: azs[0] now holds the reader
			{map[string]any{"target_az": last}, "already in " + last},
			{map[string]any{"target_az": last, "target_instance": "x"}, "not both"},
		} {
			_, err := faults.New(e.ctx, e.c, e.topo, experiments.Fault{Name: "f", Kind: faults.KindDBFailover, Params: c.params})
			if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "target_az")) {
				t.Errorf("%v: %v, want %q", c.params, err, c.want)
			}
		}
	})
	t.Run("instance", func(t *testing.T) {
		e := start(t, "instance", nil)
		db := e.sb.Region().DBInstances()[0]
		if _, err := faults.New(e.ctx, e.c, e.topo, experiments.Fault{Name: "f", Kind: faults.KindDBFailover, Params: map[string]any{"target_az": db.SecondaryAZ}}); err != nil {
			t.Fatalf("target_az = the standby's AZ: %v", err)
		}
		_, err := faults.New(e.ctx, e.c, e.topo, experiments.Fault{Name: "f", Kind: faults.KindDBFailover, Params: map[string]any{"target_az": "local-1b"}})
		if err == nil || !strings.Contains(err.Error(), "target_az") || !strings.Contains(err.Error(), "standby in "+db.SecondaryAZ) {
			t.Fatalf("target_az not the standby's: %v, want it refused naming the standby's AZ", err)
		}
	})
}
