package faults_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go/middleware"

	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/faults"
	"github.com/gameday-dev/gameday/internal/testutil"
	"github.com/gameday-dev/gameday/sandbox"
	"github.com/gameday-dev/gameday/sandbox/sim"
)

func init() {
	contracts[faults.KindStopInstances] = contract{
		spec: experiments.Fault{Name: "stop-one", Duration: 10 * time.Second, Targets: experiments.Selector{Count: 1, Seed: aws.Int64(1)},
			Params: map[string]any{"force": true}},
		// Up or not, per group member chosen at plan time: started again
		// counts as up (pending, then running after the boot delay).
		state: func(e *env) string {
			var b strings.Builder
			for _, in := range e.sb.Region().Instances() {
				up := in.State == sim.StateRunning || in.State == sim.StatePending
				b.WriteString(in.ID)
				if up {
					b.WriteString("=up ")
				} else {
					b.WriteString("=" + in.State + " ")
				}
			}
			return b.String()
		},
	}
}

// Stop, then start on rollback; the plan and the undo record say what.
// The group's EC2 health check has not found the stopped member yet
// (quick timings: 2 s), so the same instance is started again.
func TestStopInstances(t *testing.T) {
	var forced []bool
	e := start(t, "", func(_ *sandbox.Sandbox, cfg *aws.Config) {
		cfg.APIOptions = append(cfg.APIOptions, func(st *middleware.Stack) error {
			return st.Initialize.Add(middleware.InitializeMiddlewareFunc("test-see-stop", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if s, ok := in.Parameters.(*ec2.StopInstancesInput); ok {
					forced = append(forced, aws.ToBool(s.Force))
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
		})
	})
	f := mustNew(t, e, experiments.Fault{Name: "stop", Kind: faults.KindStopInstances, Duration: 5 * time.Second, Targets: experiments.Selector{Count: 1},
		Params: map[string]any{"force": true}})
	id := f.Resources()[0]
	if d := f.Describe(); !strings.Contains(d, "force-stop "+id) {
		t.Fatalf("plan %q does not name %s", d, id)
	}
	if err := f.Apply(e.ctx); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if len(forced) != 1 || !forced[0] {
		t.Fatalf("StopInstances calls with Force %v, want one forced", forced)
	}
	if s := e.instance(id).State; s != sim.StateStopping && s != sim.StateStopped {
		t.Fatalf("after Apply %s is %s, want stopping or stopped", id, s)
	}
	if err := f.Rollback(e.ctx); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	if s, n := e.instance(id).State, f.(faults.Noter).Notes(); (s != sim.StatePending && s != sim.StateRunning) || len(n) != 0 {
		t.Fatalf("after Rollback %s is %s with notes %v: want it started again, no note", id, s, n)
	}
	testutil.Eventually(t, 10*time.Second, "the started instance healthy in its target group", func() bool {
		ths, err := e.sb.Region().TargetHealth(e.sb.Region().TargetGroups()[0].ARN)
		if err != nil {
			return false
		}
		for _, th := range ths {
			if th.InstanceID == id {
				return th.State == sim.TargetHealthy
			}
		}
		return false
	})
}

// The sandbox's group replaces a stopped member (its EC2 health check
// fails it and the instance is terminated): rollback cannot start it, and
// says so in a note instead of failing or passing silently.
func TestStopInstancesReplacedByGroupIsNoted(t *testing.T) {
	e := start(t, "", nil)
	f := mustNew(t, e, experiments.Fault{Name: "stop", Kind: faults.KindStopInstances, Duration: 5 * time.Second, Targets: experiments.Selector{Count: 1}})
	id := f.Resources()[0]
	if err := f.Apply(e.ctx); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	testutil.Eventually(t, 10*time.Second, "the group to replace its stopped member", func() bool { return e.instance(id).State == sim.StateTerminated })
	if err := f.Rollback(e.ctx); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	n := f.(faults.Noter).Notes()
	if len(n) != 1 || !strings.Contains(n[0], id) || !strings.Contains(n[0], "not started") {
		t.Fatalf("notes %v: want one saying %s was not started", n, id)
	}
}

// force is the kind's own key: decoded strictly, and `gameday validate`
// knows the kind from the registry.
func TestStopInstancesSpec(t *testing.T) {
	e := start(t, "", nil)
	if _, err := faults.New(e.ctx, e.c, e.topo, experiments.Fault{Name: "s", Kind: faults.KindStopInstances, Params: map[string]any{"forse": true}}); err == nil || !strings.Contains(err.Error(), "forse") {
		t.Fatalf("New with an unknown key: %v, want it named", err)
	}
	x := &experiments.Experiment{Faults: []experiments.Fault{{Kind: faults.KindStopInstances, Params: map[string]any{"force": "yes"}}}}
	_, err := x.Validate()
	if err == nil || !strings.Contains(err.Error(), "faults[0].force") || !strings.Contains(err.Error(), "faults[0].duration") {
		t.Fatalf("Validate: %v, want faults[0].force and faults[0].duration", err)
	}
}

// Through the YAML loader: force is accepted for stop-instances only, and
// a misspelt key is refused with its path.
func TestStopInstancesYAML(t *testing.T) {
	load := func(fault string) (*experiments.Experiment, error) {
		p := filepath.Join(t.TempDir(), "x.yaml")
		if err := os.WriteFile(p, []byte("name: stop\nload: {rate: 10, duration: 60s}\nsteady_state: {thresholds: [\"success_ratio >= 0.99\"]}\nfaults:\n  - "+fault+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		x, _, err := experiments.LoadFile(p, nil)
		return x, err
	}
	x, err := load("{kind: stop-instances, at: 20s, duration: 5s, force: true}")
	if err != nil {
		t.Fatalf("valid stop-instances: %v", err)
	}
	if x.Faults[0].Params["force"] != true {
		t.Fatalf("params %v, want force true", x.Faults[0].Params)
	}
	for _, c := range []struct{ fault, path string }{
		{"{kind: stop-instances, at: 20s, duration: 5s, forse: true}", "faults[0].forse"},
		{"{kind: az-blackhole, at: 20s, duration: 5s, targets: {az: local-1a}, force: true}", "faults[0].force"},
	} {
		_, err := load(c.fault)
		var xe *experiments.Error
		if !errors.As(err, &xe) || len(xe.Problems) != 1 || xe.Problems[0].Path != c.path || !strings.HasPrefix(xe.Problems[0].Message, "unknown key") {
			t.Errorf("%s: %v, want one unknown key at %s", c.fault, err, c.path)
		}
	}
}
