package analysis

import (
	"fmt"
	"math"

	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/record"
	"github.com/gameday-dev/gameday/timeline"
)

// GateInput is what the gates judge: a record whose load, faults and
// phases are filled, the whole load and the load after the last rollback,
// and the gates.
type GateInput struct {
	Run         *record.Run
	Total, Post timeline.Aggregate
	Asked       uint64
	RunGates    []experiments.Expr
	// CleanRollback judges the clean_rollback gate (when the run has faults).
	CleanRollback  bool
	EachFaultGates []experiments.Expr
	FaultGates     map[string][]experiments.Expr
	// Regression gates are judged against Baseline, when there is one.
	Regression []experiments.Regression
	Baseline   *record.Run
}

// JudgeGates returns every gate's verdict, in the record's order: run
// gates, clean_rollback, each fault's gates, regression gates.
func JudgeGates(in GateInput) []Verdict {
	var out []Verdict
	rec := in.Run
	for _, e := range in.RunGates {
		if IsScalingMetric(e.Metric) {
			out = append(out, Judge("run", e, ScalingMetric(rec.Scaling, e.Metric)))
			continue
		}
		out = append(out, Judge("run", e, RunMetric(in.Total, in.Post, in.Asked, rec.Load.NotSent, e.Metric)))
	}
	if len(rec.Faults) > 0 && in.CleanRollback {
		out = append(out, CleanRollback(rec.Faults))
	}
	for _, rf := range rec.Faults {
		gates := append(append([]experiments.Expr{}, in.EachFaultGates...), in.FaultGates[rf.Name]...)
		for _, e := range gates {
			v := math.NaN()
			if rf.Injected {
				v = FaultMetric(rf.Recovery, InfraMax(rf.InfraS), e.Metric)
				if sv, ok := StepMetric(rf.Steps, e.Metric); ok {
					v = sv
				}
			}
			out = append(out, Judge(rf.Name, e, v))
		}
	}
	if in.Baseline != nil {
		out = append(out, JudgeRegressions(in.Baseline, rec, in.Regression)...)
	}
	return out
}

// CleanRollback is the run gate clean_rollback: every rollback was a plain
// undo, with no note (gates.clean_rollback: false opts out).
func CleanRollback(fs []record.Fault) Verdict {
	n := 0
	for _, f := range fs {
		n += len(f.RollbackNotes)
	}
	v := Verdict{Scope: "run", Gate: "clean_rollback", Metric: "rollback_notes", Value: float64(n),
		Measured: fmt.Sprintf("%d rollback notes", n), Limit: "no rollback notes", Pass: n == 0}
	if n == 1 {
		v.Measured = "1 rollback note"
	}
	return v
}

// InfraMax is the slowest probe's recovery (+Inf when one never recovered).
func InfraMax(m map[string]float64) float64 {
	v := 0.0
	for _, x := range m {
		if x < 0 {
			return math.Inf(1)
		}
		v = max(v, x)
	}
	return v
}

// StepMetric judges the step metrics of a fault over its steps (a rolling
// deploy's batches): batch_failed_requests is the failed requests of every
// step, batch_p99 the worst step's p99. ok is false for other metrics; a
// fault without steps measures NaN, which fails the gate ("not measured").
func StepMetric(steps []record.Phase, metric string) (v float64, ok bool) {
	switch metric {
	case "batch_failed_requests", "batch_p99":
	default:
		return 0, false
	}
	if len(steps) == 0 {
		return math.NaN(), true
	}
	for _, s := range steps {
		if metric == "batch_failed_requests" {
			v += float64(s.Failed)
		} else {
			v = max(v, s.P99S)
		}
	}
	return v, true
}
