package probes

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/experiments"
)

// KindAlarm reports a CloudWatch alarm's state.
const KindAlarm = "alarm"

// Series of the alarm probe: 1 or 0.
const (
	SeriesInAlarm          = "in_alarm"
	SeriesInsufficientData = "insufficient_data"
)

func init() {
	Register(Kind{
		Name:   KindAlarm,
		Order:  6,
		Fields: []string{"alarm"},
		Doc:    "a CloudWatch alarm's state (" + SeriesInAlarm + ", " + SeriesInsufficientData + ": 1 or 0); healthy when not in ALARM",
		Check: func(pr *experiments.Probe, add func(field, msg string)) {
			if pr.Alarm == "" || len(pr.Alarm) > 255 {
				add("alarm", "is required: the alarm's name (1 to 255 characters)")
			}
		},
		Validate: func(spec experiments.Probe) []error {
			if spec.Alarm == "" || len(spec.Alarm) > 255 {
				return []error{fmt.Errorf("kind %s: alarm is required (the alarm's name, 1 to 255 characters)", KindAlarm)}
			}
			return nil
		},
		Healthy: (*alarmProbe)(nil).Healthy,
		New: func(env Env, b base, spec experiments.Probe) (Probe, error) {
			if err := env.needAWS(b.name, KindAlarm); err != nil {
				return nil, err
			}
			if err := need(b.name, KindAlarm, "a CloudWatch client", env.Clients.CW != nil); err != nil {
				return nil, err
			}
			return &alarmProbe{base: b, c: env.Clients, alarm: spec.Alarm}, nil
		},
	})
}

type alarmProbe struct {
	base
	c     *awsclients.Clients
	alarm string
}

// Healthy: in_alarm == 0.
func (*alarmProbe) Healthy(last, _ map[string]float64) bool {
	v, ok := last[SeriesInAlarm]
	return ok && v == 0
}

func (p *alarmProbe) Sample(ctx context.Context) ([]Sample, error) {
	cctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	out, err := p.c.CW.DescribeAlarms(cctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{p.alarm}})
	if err != nil {
		return nil, ctxErr(ctx, p.name, fmt.Errorf("cloudwatch describe alarms: %w", err))
	}
	for _, a := range out.MetricAlarms {
		if aws.ToString(a.AlarmName) != p.alarm {
			continue
		}
		b := func(ok bool) float64 {
			if ok {
				return 1
			}
			return 0
		}
		return []Sample{
			{SeriesInAlarm, b(a.StateValue == "ALARM")},
			{SeriesInsufficientData, b(a.StateValue == "INSUFFICIENT_DATA")},
		}, nil
	}
	return nil, fmt.Errorf("probe %s: CloudWatch alarm %s not found", p.name, p.alarm)
}
