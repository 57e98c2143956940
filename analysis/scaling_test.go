package analysis

import (
	"math"
	"testing"
	"time"

	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/record"
)

// step returns v before t, then w.
func step(t int, v, w float64) func(int) float64 {
	return func(i int) float64 {
		if i < t {
			return v
		}
		return w
	}
}

// upDown is a before t1, b from t1, c from t2.
func upDown(t1, t2 int, a, b, c float64) func(int) float64 {
	return func(i int) float64 {
		switch {
		case i < t1:
			return a
		case i < t2:
			return b
		}
		return c
	}
}

type scen struct {
	n                                    int
	asked, desired, inSvc, healthy, maxS func(int) float64
	broken                               func(int) bool
}

func (s scen) windows() []record.Window {
	var ws []record.Window
	for i := range s.n {
		w := record.Window{T: float64(i), AskedRPS: s.asked(i), Requests: uint64(s.asked(i)), Holds: s.broken == nil || !s.broken(i),
			Samples: map[string]float64{"cap/desired": s.desired(i), "cap/in_service": s.inSvc(i), "cap/min_size": 2, "cap/max_size": s.maxS(i)}}
		if s.healthy != nil {
			w.Samples["th/healthy_targets"] = s.healthy(i)
		}
		ws = append(ws, w)
	}
	return ws
}

var spikeStages = []experiments.Stage{{Duration: 10 * time.Second, From: 20, To: 20}, {Duration: 30 * time.Second, From: 200, To: 200}, {Duration: 30 * time.Second, From: 20, To: 20}}

func spike() scen {
	return scen{n: 70,
		asked:   upDown(10, 40, 20, 200, 20),
		desired: upDown(13, 50, 2, 5, 2),
		inSvc:   upDown(17, 52, 2, 5, 2),
		healthy: upDown(19, 52, 2, 5, 2),
		maxS:    func(int) float64 { return 10 },
		broken:  func(i int) bool { return i >= 11 && i <= 15 },
	}
}

func TestScalingSpike(t *testing.T) {
	series := ScalingSeries{Desired: "cap/desired", InService: "cap/in_service", MinSize: "cap/min_size", MaxSize: "cap/max_size", Healthy: "th/healthy_targets"}
	for _, tc := range []struct {
		name     string
		sc       scen
		target   float64
		cooldown float64
		check    func(t *testing.T, s *record.Scaling)
	}{
		{"spike with a policy target", spike(), 50, 30, func(t *testing.T, s *record.Scaling) {
			if len(s.Changes) != 2 || s.Changes[0].Direction != "out" || s.Changes[1].Direction != "in" {
				t.Fatalf("changes %+v", s.Changes)
			}
			out, in := s.Changes[0], s.Changes[1]
			eq(t, "out.at", out.AtS, 10)
			eq(t, "out.trigger", out.TimeToTriggerS, 3)
			eq(t, "out.capacity", out.TimeToCapacityS, 7)
			eq(t, "out.serve", out.TimeToServeS, 9)
			eq(t, "out.slo", out.TimeToSLOS, 6) // broken 11..15, holds from 16 for 3 windows
			eq(t, "out.desired", out.DesiredAfter, 5)
			// 200 rps over 2 in service (100/target > 50) in windows 10..16.
			eq(t, "out.under", out.UnderProvisionedS, 7)
			eq(t, "in.at", in.AtS, 40)
			eq(t, "in.trigger", in.TimeToTriggerS, 10)
			eq(t, "in.needed", in.NeededAfter, 2) // ceil(20/50) = 1, but min_size is 2
			eq(t, "in.lag", in.ScaleInLagS, 12)
			eq(t, "in.idle", in.IdleMinutes, 3*12/60.0)
			eq(t, "run.trigger", s.TimeToTriggerS, 3)
			eq(t, "run.capacity", s.TimeToCapacityS, 7)
			eq(t, "run.under", s.UnderProvisionedS, 7)
			eq(t, "run.lag", s.ScaleInLagS, 12)
			eq(t, "run.idle", s.IdleInstanceMinutes, 0.6)
			if s.MaxReached || s.Flaps != 0 || len(s.Events) != 2 {
				t.Errorf("max reached %v, flaps %d, events %+v", s.MaxReached, s.Flaps, s.Events)
			}
			eq(t, "metric max_reached", ScalingMetric(s, "max_reached"), 0)
			if out.ActivityS == nil || math.Abs(*out.ActivityS-2.9) > 1e-9 || out.ActivityCause != "alarm high" {
				t.Errorf("scale-out activity %v %q, want the first launch after the change: 2.9s, alarm high", out.ActivityS, out.ActivityCause)
			}
			if in.ActivityS == nil || math.Abs(*in.ActivityS-10.2) > 1e-9 || in.ActivityCause != "scale in" {
				t.Errorf("scale-in activity %v %q", in.ActivityS, in.ActivityCause)
			}
			eq(t, "metric time_to_serve", ScalingMetric(s, "time_to_serve"), 9)
		}},
		{"reversal within the cooldown is a flap", spike(), 50, 60, func(t *testing.T, s *record.Scaling) {
			if s.Flaps != 1 || !s.Events[1].Flap || s.Events[0].Flap {
				t.Errorf("flaps %d, events %+v", s.Flaps, s.Events)
			}
		}},
		{"max reached: a ceiling, not a slow policy", func() scen {
			s := spike()
			s.maxS = func(int) float64 { return 5 }
			return s
		}(), 50, 30, func(t *testing.T, s *record.Scaling) {
			if !s.MaxReached || !s.Changes[0].MaxReached || s.Changes[1].MaxReached != true {
				t.Errorf("max reached %v, changes %+v", s.MaxReached, s.Changes)
			}
			eq(t, "metric", ScalingMetric(s, "max_reached"), 1)
		}},
		{"no policy target: under-provisioned is broken while desired < max", spike(), 0, 30, func(t *testing.T, s *record.Scaling) {
			eq(t, "under", s.UnderProvisionedS, 5) // windows 11..15
			eq(t, "in.needed", s.Changes[1].NeededAfter, 2)
		}},
		{"never scaled out", scen{n: 70, asked: upDown(10, 40, 20, 200, 20), desired: step(0, 2, 2), inSvc: step(0, 2, 2),
			healthy: step(0, 2, 2), maxS: func(int) float64 { return 10 }}, 50, 30, func(t *testing.T, s *record.Scaling) {
			eq(t, "trigger", s.Changes[0].TimeToTriggerS, -1)
			eq(t, "capacity", s.Changes[0].TimeToCapacityS, -1)
			eq(t, "slo", s.Changes[0].TimeToSLOS, 0) // never broke
			if !math.IsInf(ScalingMetric(s, "time_to_capacity"), 1) {
				t.Errorf("time_to_capacity %v, want never", ScalingMetric(s, "time_to_capacity"))
			}
			eq(t, "under", s.UnderProvisionedS, 30) // 200/2 > 50 for the whole peak
			// Already at what 20 rps needs (2, min size) when the load fell.
			eq(t, "lag", s.Changes[1].ScaleInLagS, 0)
		}},
		// A CPU policy gives no request target: the capacity 20 rps needs is
		// what served 20 rps before the spike (2), not the lowest desired
		// after the drop (5, when the group never scales in): the lag is
		// never, not 0.
		{"no policy target and never scaled in", scen{n: 70, asked: upDown(10, 40, 20, 200, 20), desired: upDown(13, 99, 2, 5, 5),
			inSvc: upDown(17, 99, 2, 5, 5), maxS: func(int) float64 { return 10 }}, 0, 30, func(t *testing.T, s *record.Scaling) {
			eq(t, "in.needed", s.Changes[1].NeededAfter, 2)
			eq(t, "lag", s.Changes[1].ScaleInLagS, -1)
			if !math.IsInf(ScalingMetric(s, "scale_in_lag"), 1) {
				t.Errorf("scale_in_lag %v, want never", ScalingMetric(s, "scale_in_lag"))
			}
			eq(t, "idle", s.IdleInstanceMinutes, 3*30/60.0)
		}},
		{"capacity never followed the load down", scen{n: 70, asked: upDown(10, 40, 20, 200, 20), desired: upDown(13, 99, 2, 5, 5),
			inSvc: upDown(17, 99, 2, 5, 5), maxS: func(int) float64 { return 10 }}, 50, 30, func(t *testing.T, s *record.Scaling) {
			eq(t, "lag", s.Changes[1].ScaleInLagS, -1)
			eq(t, "idle", s.IdleInstanceMinutes, 3*30/60.0)
			if !math.IsInf(ScalingMetric(s, "scale_in_lag"), 1) {
				t.Error("scale_in_lag should be never")
			}
			if !math.IsNaN(ScalingMetric(s, "time_to_serve")) {
				t.Error("time_to_serve without a target-health probe should be n/a")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := ScalingInput{Windows: tc.sc.windows(), WindowS: 1, StableFor: 3, Stages: spikeStages, Series: series,
				Probe: "cap", Health: "th", PolicyTarget: tc.target, CooldownS: tc.cooldown}
			// Newest first, as DescribeScalingActivities lists them; one
			// before the run's change (ignored), launches and terminations.
			in.Activities = []Activity{{AtS: 50.2, Cause: "scale in"}, {AtS: 13.5, Launch: true, Cause: "alarm high, second"},
				{AtS: 12.9, Launch: true, Cause: "alarm high"}, {AtS: 2, Launch: true, Cause: "earlier"}}
			if tc.sc.healthy == nil {
				in.Series.Healthy, in.Health = "", ""
			}
			s := Scaling(in)
			if s == nil {
				t.Fatal("no analysis")
			}
			tc.check(t, s)
		})
	}
}

func TestScalingNeedsTheProbe(t *testing.T) {
	ws := []record.Window{{T: 0, AskedRPS: 10, Holds: true}}
	if s := Scaling(ScalingInput{Windows: ws, WindowS: 1, Series: ScalingSeries{Desired: "cap/desired"}}); s != nil {
		t.Errorf("analysis without samples: %+v", s)
	}
	if !math.IsNaN(ScalingMetric(nil, "time_to_capacity")) {
		t.Error("a run without analysis must judge n/a")
	}
}

func TestLoadChanges(t *testing.T) {
	s := time.Second
	for _, tc := range []struct {
		name   string
		stages []experiments.Stage
		want   []LoadChange
	}{
		{"constant", []experiments.Stage{{Duration: 10 * s, From: 5, To: 5}}, nil},
		{"spike", spikeStages, []LoadChange{{10, 20, 200}, {40, 200, 20}}},
		{"ramp then hold is one change", []experiments.Stage{{Duration: 10 * s, From: 10, To: 10}, {Duration: 5 * s, From: 10, To: 75}, {Duration: 30 * s, From: 75, To: 75}},
			[]LoadChange{{10, 10, 75}}},
		{"ramp from the start", []experiments.Stage{{Duration: 10 * s, From: 1, To: 50}}, []LoadChange{{0, 1, 50}}},
		{"two steps", []experiments.Stage{{Duration: 10 * s, From: 10, To: 10}, {Duration: 10 * s, From: 20, To: 20}, {Duration: 10 * s, From: 40, To: 40}},
			[]LoadChange{{10, 10, 20}, {20, 20, 40}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := LoadChanges(tc.stages)
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("change %d: %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestScalingGates(t *testing.T) {
	rec := &record.Run{Scaling: &record.Scaling{HasScaleOut: true, TimeToCapacityS: 30, UnderProvisionedS: 75, MaxReached: true, HasScaleIn: true, ScaleInLagS: -1}}
	var gates []experiments.Expr
	for _, g := range []string{"time_to_capacity <= 4m", "under_provisioned <= 60s", "max_reached == false", "scale_in_lag <= 5m"} {
		e, err := experiments.ParseExpr(g, experiments.ScopeRun, false)
		if err != nil {
			t.Fatal(err)
		}
		gates = append(gates, e)
	}
	vs := JudgeGates(GateInput{Run: rec, RunGates: gates})
	want := []bool{true, false, false, false}
	for i, v := range vs {
		if v.Pass != want[i] {
			t.Errorf("%s: pass %v (measured %s), want %v", v.Gate, v.Pass, v.Measured, want[i])
		}
	}
	if vs[2].Measured != "true" || vs[3].Measured != "never" {
		t.Errorf("measured %q, %q", vs[2].Measured, vs[3].Measured)
	}
	if _, err := experiments.ParseExpr("max_reached < true", experiments.ScopeRun, false); err == nil {
		t.Error("max_reached takes only ==")
	}
}

func eq(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9 {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}
