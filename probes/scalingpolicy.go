package probes

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/experiments"
)

// KindScalingPolicy records the group's scaling policies and activities:
// series of how many policies there are and how many activities are in
// progress, and events on the timeline for each activity that starts or
// ends (with Auto Scaling's description and cause) and each policy that
// appears or goes.
const KindScalingPolicy = "scaling-policy"

// Series of the scaling-policy probe.
const (
	SeriesPolicies             = "policies"
	SeriesActivitiesInProgress = "activities_in_progress"
)

// maxActivities is how many of the newest activities one sample reads.
const maxActivities = 50

func init() {
	Register(Kind{
		Name:  KindScalingPolicy,
		Order: 7,
		Doc: "the Auto Scaling group's scaling policies and activities (" + SeriesPolicies + ", " + SeriesActivitiesInProgress +
			"; events scaling-activity and scaling-policy on the timeline); informational, healthy when no activity is in progress",
		Healthy: (*policyProbe)(nil).Healthy,
		New: func(env Env, b base, _ experiments.Probe) (Probe, error) {
			if err := env.needAWS(b.name, KindScalingPolicy); err != nil {
				return nil, err
			}
			if err := need(b.name, KindScalingPolicy, "an Auto Scaling group", env.Topology.GroupName != ""); err != nil {
				return nil, err
			}
			return &policyProbe{base: b, c: env.Clients, group: env.Topology.GroupName, since: time.Now(), acts: map[string]string{}}, nil
		},
	})
}

type policyProbe struct {
	base
	c     *awsclients.Clients
	group string
	since time.Time // activities that started before the probe are history

	mu       sync.Mutex
	started  bool
	acts     map[string]string // activity id → status code seen
	policies []string
	pending  []Event
}

// Healthy: no scaling activity in progress.
func (*policyProbe) Healthy(last, _ map[string]float64) bool {
	v, ok := last[SeriesActivitiesInProgress]
	return ok && v == 0
}

func (p *policyProbe) Sample(ctx context.Context) ([]Sample, error) {
	cctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	pol, err := p.c.ASG.DescribePolicies(cctx, &autoscaling.DescribePoliciesInput{AutoScalingGroupName: aws.String(p.group)})
	if err != nil {
		return nil, ctxErr(ctx, p.name, fmt.Errorf("describe policies: %w", err))
	}
	act, err := p.c.ASG.DescribeScalingActivities(cctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String(p.group), MaxRecords: aws.Int32(maxActivities)})
	if err != nil {
		return nil, ctxErr(ctx, p.name, fmt.Errorf("describe scaling activities: %w", err))
	}
	var names []string
	desc := map[string]string{}
	for _, sp := range pol.ScalingPolicies {
		n := aws.ToString(sp.PolicyName)
		names = append(names, n)
		d := aws.ToString(sp.PolicyType)
		if tt := sp.TargetTrackingConfiguration; tt != nil && tt.PredefinedMetricSpecification != nil {
			d += fmt.Sprintf(" %s target %g", tt.PredefinedMetricSpecification.PredefinedMetricType, aws.ToFloat64(tt.TargetValue))
		}
		desc[n] = d
	}
	sort.Strings(names)
	now := time.Now()

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		for _, n := range names {
			if !slices.Contains(p.policies, n) {
				p.pending = append(p.pending, Event{now, "scaling-policy", "policy " + n + " (" + desc[n] + ") appeared"})
			}
		}
		for _, n := range p.policies {
			if !slices.Contains(names, n) {
				p.pending = append(p.pending, Event{now, "scaling-policy", "policy " + n + " is gone"})
			}
		}
	}
	p.policies, p.started = names, true
	inProgress := 0
	acts := act.Activities
	for i := len(acts) - 1; i >= 0; i-- { // oldest first
		a := acts[i]
		id, code := aws.ToString(a.ActivityId), string(a.StatusCode)
		done := code == "Successful" || code == "Failed" || code == "Cancelled"
		if !done {
			inProgress++
		}
		start := aws.ToTime(a.StartTime)
		seen, known := p.acts[id]
		if start.Before(p.since) {
			p.acts[id] = code
			continue
		}
		what := strings.TrimSpace(aws.ToString(a.Description))
		if !known {
			p.pending = append(p.pending, Event{start, "scaling-activity", what + ": " + strings.TrimSpace(aws.ToString(a.Cause))})
		}
		if done && seen != code {
			end := aws.ToTime(a.EndTime)
			if end.IsZero() {
				end = now
			}
			p.pending = append(p.pending, Event{end, "scaling-activity", what + ": " + code})
		}
		p.acts[id] = code
	}
	if len(p.acts) > 10*maxActivities { // bound the memory: forget the oldest ids
		keep := map[string]string{}
		for _, a := range acts {
			keep[aws.ToString(a.ActivityId)] = string(a.StatusCode)
		}
		p.acts = keep
	}
	return []Sample{
		{SeriesPolicies, float64(len(names))},
		{SeriesActivitiesInProgress, float64(inProgress)},
	}, nil
}

// Events returns the events found since the last call.
func (p *policyProbe) Events() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	ev := p.pending
	p.pending = nil
	return ev
}
