package faults_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/faults"
	"github.com/gameday-dev/gameday/internal/testutil"
	"github.com/gameday-dev/gameday/topology"
)

func TestDBFailover(t *testing.T) {
	for _, kind := range []string{"instance", "cluster"} {
		t.Run(kind, func(t *testing.T) {
			e := start(t, kind, nil)
			m := e.mark()
			f, err := faults.New(e.ctx, e.c, e.topo, experiments.Fault{Name: "failover", Kind: faults.KindDBFailover})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if calls := e.mutatingSince(m); len(calls) > 0 {
				t.Fatalf("New changed something: %v", calls)
			}
			want := e.topo.DBInstanceID
			if kind == "cluster" {
				want = e.topo.DBClusterID
			}
			if got := f.Resources(); len(got) != 1 || got[0] != want || want == "" {
				t.Fatalf("targets %v, want [%s]", got, want)
			}
			before := e.sb.Region().WriterAZ()
			if d := f.Describe(); !strings.Contains(d, want) || !strings.Contains(d, before) {
				t.Fatalf("Describe = %q", d)
			}
			u := f.Undo().(faults.DBFailoverUndo)
			if u.WriterAZBefore != before || u.Mode != kind {
				t.Fatalf("undo %+v, want writer AZ %s, mode %s", u, before, kind)
			}
			if err := f.Rollback(e.ctx); err != nil {
				t.Fatalf("Rollback before Apply: %v", err)
			}

			start := time.Now()
			if err := f.Apply(e.ctx); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			testutil.Eventually(t, 5*time.Second, "writer AZ to change", func() bool { return e.sb.Region().WriterAZ() != before })
			if took := time.Since(start); took < 300*time.Millisecond {
				t.Errorf("writer moved after %s, before the failover time", took)
			}
			for i := range 2 {
				if err := f.Rollback(e.ctx); err != nil {
					t.Fatalf("Rollback #%d: %v", i+1, err)
				}
			}
			if h := e.sb.Health(); h.DBStatus != "available" {
				t.Fatalf("db status %q after rollback, want available", h.DBStatus)
			}
			if n := f.(faults.Noter).Notes(); len(n) > 0 {
				t.Fatalf("notes %v", n)
			}
		})
	}
}

func TestDBFailoverErrors(t *testing.T) {
	e := start(t, "instance", nil)
	noDB := *e.topo
	noDB.DBInstanceID, noDB.DBClusterID = "", ""
	if _, err := faults.New(e.ctx, e.c, &noDB, experiments.Fault{Name: "f", Kind: faults.KindDBFailover}); err == nil {
		t.Error("no database: want an error")
	}
	if _, err := faults.New(e.ctx, e.c, e.topo, experiments.Fault{Name: "f", Kind: faults.KindDBFailover, Params: map[string]any{"mode": "cluster"}}); err == nil {
		t.Error("mode cluster without a cluster: want an error")
	}
	if _, err := faults.New(e.ctx, e.c, &topology.Topology{}, experiments.Fault{Name: "f", Kind: "nope"}); err == nil {
		t.Error("unknown kind: want an error")
	}
}
