package faults_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/faults"
)

// contract is what the contract suite needs to exercise one fault kind
// against the sandbox. Every registered kind must have one (a kind file's
// test registers it in contracts from an init); the suite fails otherwise.
type contract struct {
	dbKind string            // sandbox database kind ("" instance, "cluster")
	spec   experiments.Fault // a fault of the kind, valid on the sandbox
	// Failing the midN-th call of midAction (1: its first) stops Apply
	// half-way, after some mutating call. "" when Apply is a single call.
	midService, midAction string
	midN                  int
	// state snapshots what the fault changes and Rollback restores.
	state func(e *env) string
	// unrestorable, when set, says why the sandbox cannot yet show the
	// state restored after an applied fault (the kind's own test covers
	// what Rollback does instead); the comparison is then skipped, every
	// other rule still holds.
	unrestorable string
}

var contracts = map[string]contract{}

// TestContract runs every registered fault kind through the lifecycle
// rules all kinds share (as restic's backends all run one test suite).
func TestContract(t *testing.T) {
	for _, kind := range faults.Kinds() {
		t.Run(kind, func(t *testing.T) {
			ct, ok := contracts[kind]
			if !ok {
				t.Fatalf("fault kind %q has no contract fixture: add one to contracts in its test file", kind)
			}
			ct.spec.Kind = kind
			if k, ok := faults.Lookup(kind); !ok || k.Name != kind {
				t.Fatalf("Lookup(%q) = %v, %v", kind, k.Name, ok)
			}
			t.Run("NewChangesNothing", func(t *testing.T) {
				e := start(t, ct.dbKind, nil)
				before, m := ct.state(e), e.mark()
				f, err := faults.New(e.ctx, e.c, e.topo, ct.spec)
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if f.Kind() != kind || f.Describe() == "" || len(f.Resources()) == 0 {
					t.Fatalf("kind %q, describe %q, targets %v", f.Kind(), f.Describe(), f.Resources())
				}
				if calls := e.mutatingSince(m); len(calls) > 0 || ct.state(e) != before {
					t.Fatalf("building or planning changed something: %v", calls)
				}
			})
			// require_tag: every resource the fault touches is checked, and
			// one without the tag is named (the run then refuses the fault).
			t.Run("RequireTag", func(t *testing.T) {
				e := start(t, ct.dbKind, nil)
				f := mustNew(t, e, ct.spec)
				var all []string
				for _, tc := range f.Touches() {
					all = append(all, tc.IDs...)
				}
				if len(all) == 0 {
					t.Fatal("Touches names no resource")
				}
				m := e.mark()
				if missing, err := faults.Untagged(e.ctx, e.c, f.Touches(), "gameday:opt-in", "true"); err != nil || len(missing) > 0 {
					t.Fatalf("with the sandbox's opt-in tag: missing %v, %v", missing, err)
				}
				missing, err := faults.Untagged(e.ctx, e.c, f.Touches(), "team", "payments")
				if err != nil || !slices.Equal(missing, all) {
					t.Fatalf("outside require_tag team=payments: missing %v (%v), want %v", missing, err, all)
				}
				if calls := e.mutatingSince(m); len(calls) > 0 {
					t.Fatalf("the tag check changed something: %v", calls)
				}
			})
			t.Run("RollbackBeforeApplyIsNoop", func(t *testing.T) {
				e := start(t, ct.dbKind, nil)
				f := mustNew(t, e, ct.spec)
				before, m := ct.state(e), e.mark()
				if err := f.Rollback(e.ctx); err != nil {
					t.Fatalf("Rollback before Apply: %v", err)
				}
				if calls := e.mutatingSince(m); len(calls) > 0 || ct.state(e) != before {
					t.Fatalf("Rollback before Apply changed something: %v", calls)
				}
			})
			t.Run("SecondApplyRefusedRollbackIdempotent", func(t *testing.T) {
				e := start(t, ct.dbKind, nil)
				f := mustNew(t, e, ct.spec)
				before := ct.state(e)
				if err := f.Apply(e.ctx); err != nil {
					t.Fatalf("Apply: %v", err)
				}
				m := e.mark()
				if err := f.Apply(e.ctx); err == nil || !strings.Contains(err.Error(), "already applied") {
					t.Fatalf("second Apply: %v, want it refused", err)
				}
				if calls := e.mutatingSince(m); len(calls) > 0 {
					t.Fatalf("a refused Apply changed something: %v", calls)
				}
				if err := f.Rollback(e.ctx); err != nil {
					t.Fatalf("Rollback: %v", err)
				}
				restored := ct.state(e)
				if ct.unrestorable != "" {
					t.Logf("not compared: %s", ct.unrestorable)
				} else if restored != before {
					t.Fatalf("after Rollback: %s, want %s", restored, before)
				}
				m = e.mark()
				if err := f.Rollback(e.ctx); err != nil {
					t.Fatalf("second Rollback: %v", err)
				}
				if calls := e.mutatingSince(m); len(calls) > 0 || ct.state(e) != restored {
					t.Fatalf("second Rollback changed something: %v", calls)
				}
			})
			// A journal entry written before Apply, half-way through it and
			// after it: the fault restored from it rolls back exactly.
			for _, point := range []string{"before", "halfway", "after"} {
				t.Run("RestoreFromJournal/"+point, func(t *testing.T) {
					if point == "halfway" && ct.midAction == "" {
						t.Skip("Apply is a single call: there is no half-way")
					}
					var e *env
					switch {
					case point == "halfway" && ct.midN > 1:
						e = start(t, ct.dbKind, failNthCall(ct.midService, ct.midAction, ct.midN))
					case point == "halfway":
						e = start(t, ct.dbKind, nil)
						e.sb.APIErrors().Add(faultOnce(ct.midService, ct.midAction))
					default:
						e = start(t, ct.dbKind, nil)
					}
					f := mustNew(t, e, ct.spec)
					before := ct.state(e)
					var undo any
					if point == "before" {
						undo = f.Undo()
					} else {
						err := f.Apply(e.ctx)
						if point == "halfway" && err == nil {
							t.Fatal("Apply with a failing call mid-way: want an error")
						}
						if point == "after" && err != nil {
							t.Fatalf("Apply: %v", err)
						}
						undo = f.Undo()
					}
					raw, err := json.Marshal(undo)
					if err != nil {
						t.Fatal(err)
					}
					r, err := faults.Restore(e.c, faults.Entry{ID: "e1", Fault: f.Name(), Kind: kind, Undo: raw})
					if err != nil {
						t.Fatalf("Restore: %v", err)
					}
					if err := r.Rollback(e.ctx); err != nil {
						t.Fatalf("Rollback of the restored fault: %v", err)
					}
					if got := ct.state(e); got != before && point != "before" && ct.unrestorable != "" {
						t.Logf("not compared: %s", ct.unrestorable)
					} else if got != before {
						t.Fatalf("after restoring from a journal written %s Apply: %s, want %s", point, got, before)
					}
				})
			}
		})
	}
}

func mustNew(t *testing.T, e *env, spec experiments.Fault) faults.Fault {
	t.Helper()
	f, err := faults.New(e.ctx, e.c, e.topo, spec)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return f
}

// Fixtures of the kinds written before the registry (their tests predate
// the suite); a new kind registers its own from its test file.
func init() {
	contracts[faults.KindAZBlackhole] = contract{
		spec:       experiments.Fault{Name: "dark", Targets: experiments.Selector{AZ: "local-1a"}},
		midService: "ec2", midAction: "ReplaceNetworkAclAssociation", midN: 2,
		state: func(e *env) string {
			var b strings.Builder
			for _, s := range e.subnetsIn("local-1a") {
				b.WriteString(s + "=" + e.aclOf(s) + " ")
			}
			return b.String()
		},
	}
	contracts[faults.KindTerminateInstances] = contract{
		// The terminations are not undone (the group replaces them); what
		// the fault restores is the desired capacity it decremented.
		// Half-way: the group's decrement tag is written, the termination
		// call fails.
		spec:       experiments.Fault{Name: "shrink", Params: map[string]any{"via": "autoscaling", "decrement": true}, Targets: experiments.Selector{Count: 1, Seed: aws.Int64(1)}},
		midService: "autoscaling", midAction: "TerminateInstanceInAutoScalingGroup", midN: 1,
		state: func(e *env) string { return string(rune('0' + e.desired())) },
	}
	contracts[faults.KindDBFailover] = contract{
		// Nothing is undone server-side; the writer is wherever the
		// failover left it, and the database is available again.
		spec:  experiments.Fault{Name: "failover"},
		state: func(e *env) string { return "" },
	}
}
