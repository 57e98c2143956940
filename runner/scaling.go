package runner

import (
	"github.com/gameday-dev/gameday/analysis"
	"github.com/gameday-dev/gameday/probes"
	"github.com/gameday-dev/gameday/record"
)

// scaling runs the scaling analysis on the record's windows when the run
// has an asg-capacity probe (and reads a target-health probe's healthy
// targets for time to serve). nil without an asg-capacity probe.
func (r *run) scaling(rec *record.Run) *record.Scaling {
	p, x := r.p, r.p.X
	in := analysis.ScalingInput{Windows: rec.Windows, WindowS: x.SteadyState.Window.Seconds(), StableFor: x.SteadyState.StableFor,
		Stages: p.C.Stages, PolicyTarget: x.Scaling.PolicyTarget, CooldownS: x.Scaling.CooldownOrDefault().Seconds()}
	for i, pr := range p.Probes {
		name := pr.Name() + "/"
		switch x.Probes[i].Kind {
		case probes.KindASGCapacity:
			if in.Probe != "" {
				continue
			}
			in.Probe = pr.Name()
			in.Series.Desired, in.Series.InService = name+probes.SeriesDesired, name+probes.SeriesInService
			in.Series.MinSize, in.Series.MaxSize = name+probes.SeriesMinSize, name+probes.SeriesMaxSize
			in.Series.PolicyTarget = name + probes.SeriesPolicyTarget
		case probes.KindTargetHealth:
			if in.Health == "" {
				in.Health, in.Series.Healthy = pr.Name(), name+probes.SeriesHealthyTargets
			}
		}
	}
	if in.Probe == "" {
		return nil
	}
	return analysis.Scaling(in)
}
