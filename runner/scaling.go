package runner

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/gameday-dev/gameday/analysis"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/probes"
	"github.com/gameday-dev/gameday/record"
)

// activitiesTimeout bounds reading the group's scaling activities at the
// end of a run.
const activitiesTimeout = 10 * time.Second

// scaling runs the scaling analysis on the record's windows when the run
// has an asg-capacity probe (and reads a target-health probe's healthy
// targets for time to serve), with the group's scaling activities since
// start. nil without an asg-capacity probe.
func (r *run) scaling(rec *record.Run, start time.Time, status string) *record.Scaling {
	p, x := r.p, r.p.Experiment
	in := analysis.ScalingInput{Windows: rec.Windows, WindowS: x.SteadyState.Window.Seconds(), StableFor: x.SteadyState.StableFor,
		Stages: p.Compiled.Stages, PolicyTarget: x.Scaling.PolicyTarget, CooldownS: x.Scaling.CooldownOrDefault().Seconds()}
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
	if in.Probe == "" || !r.wantsScaling() {
		return nil
	}
	if status != "interrupted" {
		acts, err := r.activities(start)
		if err != nil {
			rec.Notes = append(rec.Notes, "the scaling analysis has no scaling activities (their start and cause): DescribeScalingActivities: "+err.Error())
		}
		in.Activities = acts
	}
	return analysis.Scaling(in)
}

// activities reads the group's scaling activities that started after
// start (DescribeScalingActivities lists them newest first; it stops at
// the first older one).
func (r *run) activities(start time.Time) ([]analysis.Activity, error) {
	group := r.p.Topology.GroupName
	if group == "" || r.p.Clients == nil {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), activitiesTimeout)
	defer cancel()
	var out []analysis.Activity
	pg := autoscaling.NewDescribeScalingActivitiesPaginator(r.p.Clients.ASG, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String(group)})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return out, err
		}
		for _, a := range page.Activities {
			t := aws.ToTime(a.StartTime)
			if t.Before(start) {
				return out, nil
			}
			desc := aws.ToString(a.Description)
			out = append(out, analysis.Activity{AtS: t.Sub(start).Seconds(), Launch: strings.HasPrefix(desc, "Launching"), Cause: aws.ToString(a.Cause)})
		}
	}
	return out, nil
}

// wantsScaling: the analysis is for runs that test scaling: the rate plan
// changes (a step, spike or ramp), the experiment states scaling settings,
// or a gate reads a scaling figure. A constant load with a fault gets none
// (its group's replacements are the fault's infrastructure recovery).
func (r *run) wantsScaling() bool {
	x := r.p.Experiment
	if len(analysis.LoadChanges(r.p.Compiled.Stages)) > 0 || x.Scaling != (experiments.ScalingSettings{}) {
		return true
	}
	for _, g := range r.p.Compiled.RunGates {
		if analysis.IsScalingMetric(g.Metric) {
			return true
		}
	}
	return false
}
