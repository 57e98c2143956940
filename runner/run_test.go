package runner

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/faults"
	"github.com/gameday-dev/gameday/probes"
	"github.com/gameday-dev/gameday/sandbox/awsapi"
)

// A blackhole held for most of a short run against the in-process sandbox.
const blackholeRun = `name: runner-test
target: {kind: sandbox}
load: {rate: 20, duration: 16s, timeout: 1s, max_workers: 32, max_connections: 32}
steady_state: {window: 1s, thresholds: ["success_ratio >= 0.9"], stable_for: 2, baseline: 3s, verify: 3s}
faults:
  - {name: outage, kind: az-blackhole, at: 4s, duration: 8s, targets: {az: local-1b}, subnets: all}
probes:
  - {kind: target-health, interval: 500ms}
`

func prepare(t *testing.T, yaml string) *Prepared {
	t.Helper()
	x, c, err := experiments.Parse("test.yaml", []byte(yaml), nil, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	p, err := openPrepare(context.Background(), x, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// associations returns subnet → ACL as the sandbox's region holds them.
func associations(p *Prepared) map[string]string {
	out := map[string]string{}
	for _, a := range inProcess(p).Region().NetworkACLs() {
		for _, as := range a.Associations {
			out[as.SubnetID] = a.ID
		}
	}
	return out
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// panicky is a probe with a bug: it panics on every sample.
type panicky struct{ probes.Probe }

func (panicky) Sample(context.Context) ([]probes.Sample, error) { panic("probe bug") }

// TestPanicInProbe: a probe that panics is reported as a probe error on the
// timeline; the run goes on and the fault is rolled back as usual.
func TestPanicInProbe(t *testing.T) {
	t.Parallel()
	p := prepare(t, blackholeRun)
	before := associations(p)
	p.Probes[0] = panicky{p.Probes[0]}
	rec := p.Run(context.Background(), Options{JournalPath: filepath.Join(t.TempDir(), "journal.jsonl")})
	reported := false
	for _, e := range rec.Events {
		reported = reported || (e.Kind == "probe-error" && strings.Contains(e.Detail, "panicked: probe bug"))
	}
	if !reported {
		t.Fatalf("the probe's panic is not on the timeline: %+v", rec.Events)
	}
	if len(rec.Faults) != 1 || !rec.Faults[0].RolledBack {
		t.Fatalf("fault record: %+v", rec.Faults)
	}
	if after := associations(p); !sameMap(after, before) {
		t.Fatalf("ACL associations not restored:\n got %v\nwant %v", after, before)
	}
}

// panicAfterApply is a fault with a bug: it applies, then panics.
type panicAfterApply struct{ faults.Fault }

func (f panicAfterApply) Apply(ctx context.Context) error {
	if err := f.Fault.Apply(ctx); err != nil {
		return err
	}
	panic("fault bug")
}

// TestPanicWhileApplyingRollsBack: a panic on the scheduler's goroutine,
// after the fault changed the target, ends the run as an error and the
// fault is still rolled back and marked done in the journal.
func TestPanicWhileApplyingRollsBack(t *testing.T) {
	t.Parallel()
	p := prepare(t, blackholeRun)
	before := associations(p)
	p.Faults[0].Fault = panicAfterApply{p.Faults[0].Fault}
	jr := filepath.Join(t.TempDir(), "journal.jsonl")
	rec := p.Run(context.Background(), Options{JournalPath: jr})
	if rec.ExitCode != ExitError || !strings.Contains(rec.Message, "panic in the fault scheduler: fault bug") {
		t.Fatalf("exit %d (%s): %s; want %d naming the panic", rec.ExitCode, rec.Status, rec.Message, ExitError)
	}
	if len(rec.Faults) != 1 || !rec.Faults[0].Injected || !rec.Faults[0].RolledBack {
		t.Fatalf("fault record: %+v", rec.Faults)
	}
	if after := associations(p); !sameMap(after, before) {
		t.Fatalf("ACL associations not restored:\n got %v\nwant %v", after, before)
	}
	if pend, err := faults.ReadPending(jr); err != nil || len(pend) != 0 {
		t.Fatalf("journal pending %d (%v)", len(pend), err)
	}
}

// TestRollbackThroughThrottling: the AWS API throttles the rollback's calls
// longer than the SDK's own retries last; the rollback keeps going with
// backoff and completes, and the run says it had to retry.
func TestRollbackThroughThrottling(t *testing.T) {
	t.Parallel()
	p := prepare(t, blackholeRun)
	before := associations(p)
	// Apply makes two ReplaceNetworkAclAssociation calls (two subnets); the
	// next eight, all the rollback's, are throttled: more than the SDK's
	// three attempts per call.
	inProcess(p).APIErrors().Add(awsapi.ErrorRule{Service: "ec2", Action: "ReplaceNetworkAclAssociation", After: 2, Count: 8})
	rec := p.Run(context.Background(), Options{JournalPath: filepath.Join(t.TempDir(), "journal.jsonl")})
	if rec.ExitCode != ExitPass {
		t.Fatalf("exit %d (%s): %s", rec.ExitCode, rec.Status, rec.Message)
	}
	if n := inProcess(p).APIErrors().Injected("ec2", "ReplaceNetworkAclAssociation"); n != 8 {
		t.Fatalf("throttled %d calls, want 8", n)
	}
	retried := false
	for _, e := range rec.Events {
		retried = retried || e.Kind == "rollback-retried"
	}
	if !retried {
		t.Fatalf("no rollback-retried event: %+v", rec.Events)
	}
	if after := associations(p); !sameMap(after, before) {
		t.Fatalf("ACL associations not restored:\n got %v\nwant %v", after, before)
	}
}
