package analysis

import (
	"testing"

	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/record"
)

func expr(t *testing.T, s string, scope experiments.Scope) experiments.Expr {
	t.Helper()
	e, err := experiments.ParseExpr(s, scope, false)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestJudgeGates(t *testing.T) {
	recovered := record.Recovery{Impacted: true, Recovered: true, TimeToRecover: 12, ImpactDuration: 10}
	never := record.Recovery{Impacted: true}
	for _, tc := range []struct {
		name   string
		faults []record.Fault
		clean  bool
		want   []string // scope/gate/pass in order
	}{
		{name: "recovered in time, clean rollback", clean: true,
			faults: []record.Fault{{Name: "a", Injected: true, Recovery: recovered, InfraS: map[string]float64{"p": 3}}},
			want:   []string{"run/failed_requests <= 1000/true", "run/clean_rollback/true", "a/time_to_recover <= 30s/true", "a/infra_recovery <= 5s/true"}},
		{name: "never recovered fails, a rollback note fails clean_rollback", clean: true,
			faults: []record.Fault{{Name: "a", Injected: true, Recovery: never, InfraS: map[string]float64{"p": -1}, RollbackNotes: []string{"retried"}}},
			want:   []string{"run/failed_requests <= 1000/true", "run/clean_rollback/false", "a/time_to_recover <= 30s/false", "a/infra_recovery <= 5s/false"}},
		{name: "not injected: not measured, fails; clean_rollback opted out",
			faults: []record.Fault{{Name: "a"}},
			want:   []string{"run/failed_requests <= 1000/true", "a/time_to_recover <= 30s/false", "a/infra_recovery <= 5s/false"}},
		{name: "no faults: no clean_rollback", clean: true,
			want: []string{"run/failed_requests <= 1000/true"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := GateInput{Run: &record.Run{Faults: tc.faults}, CleanRollback: tc.clean,
				RunGates:       []experiments.Expr{expr(t, "failed_requests <= 1000", experiments.ScopeRun)},
				EachFaultGates: []experiments.Expr{expr(t, "time_to_recover <= 30s", experiments.ScopeFault)},
				FaultGates:     map[string][]experiments.Expr{"a": {expr(t, "infra_recovery <= 5s", experiments.ScopeFault)}}}
			var got []string
			for _, v := range JudgeGates(in) {
				pass := "false"
				if v.Pass {
					pass = "true"
				}
				got = append(got, v.Scope+"/"+v.Gate+"/"+pass)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("verdicts %q, want %q", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("verdict %d: %q, want %q", i, got[i], tc.want[i])
				}
			}
		})
	}
}
