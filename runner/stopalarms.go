package runner

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// Stop conditions on CloudWatch alarms (stop_conditions: [{alarm: NAME}]),
// as AWS FIS has them: the run refuses to start when an alarm does not
// exist or is already in ALARM, and stops, rolling every fault back, when
// one goes into ALARM while it runs.

// stopAlarmInterval is how often the alarms are read during a run. On AWS
// an alarm changes state at most once per period (a minute for AWS
// metrics), so a second is prompt; DescribeAlarms is not a billed call.
const stopAlarmInterval = time.Second

// stopAlarm is one alarm's state: a metric or a composite alarm (FIS
// takes either).
type stopAlarm struct {
	name   string
	state  cwtypes.StateValue
	reason string
}

func (p *Prepared) describeStopAlarms(ctx context.Context) ([]stopAlarm, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := p.Clients.CW.DescribeAlarms(cctx, &cloudwatch.DescribeAlarmsInput{
		AlarmNames: p.Compiled.StopAlarms, AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm},
	})
	if err != nil {
		return nil, fmt.Errorf("stop conditions: cloudwatch DescribeAlarms: %w", err)
	}
	var as []stopAlarm
	for _, a := range out.MetricAlarms {
		as = append(as, stopAlarm{aws.ToString(a.AlarmName), a.StateValue, aws.ToString(a.StateReason)})
	}
	for _, a := range out.CompositeAlarms {
		as = append(as, stopAlarm{aws.ToString(a.AlarmName), a.StateValue, aws.ToString(a.StateReason)})
	}
	return as, nil
}

// checkStopAlarms is the preflight of the alarm stop conditions: every
// alarm exists, and none is in ALARM (the run would stop at once).
func (p *Prepared) checkStopAlarms(ctx context.Context) error {
	if len(p.Compiled.StopAlarms) == 0 {
		return nil
	}
	if len(p.Compiled.StopAlarms) > 100 {
		return &InputError{Err: fmt.Errorf("%s: stop_conditions: at most 100 alarms", p.Experiment.File)}
	}
	alarms, err := p.describeStopAlarms(ctx)
	if err != nil {
		return err
	}
	var missing, firing []string
	for _, name := range p.Compiled.StopAlarms {
		i := slices.IndexFunc(alarms, func(a stopAlarm) bool { return a.name == name })
		switch {
		case i < 0:
			missing = append(missing, name)
		case alarms[i].state == cwtypes.StateValueAlarm:
			firing = append(firing, name)
		}
	}
	if len(missing) > 0 {
		return &InputError{Err: fmt.Errorf("%s: stop_conditions: CloudWatch alarm %s does not exist in %s/%s (nothing was injected)",
			p.Experiment.File, strings.Join(missing, ", "), p.Account, p.Region)}
	}
	if len(firing) > 0 {
		return &GuardError{Field: "stop_conditions", Msg: fmt.Sprintf("CloudWatch alarm %s is already in ALARM: the run would stop at once (nothing was injected)", strings.Join(firing, ", "))}
	}
	return nil
}

// watchStopAlarms reads the stop-condition alarms every stopAlarmInterval
// and aborts the run when one is in ALARM. A failed read is recorded as
// an event and tried again.
func (r *run) watchStopAlarms(ctx context.Context, abort func(string)) {
	if len(r.p.Compiled.StopAlarms) == 0 {
		return
	}
	tk := time.NewTicker(stopAlarmInterval)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tk.C:
			alarms, err := r.p.describeStopAlarms(ctx)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				r.event(now, "stop-alarm-error", "stop_conditions", err.Error())
				continue
			}
			for _, a := range alarms {
				if a.state != cwtypes.StateValueAlarm {
					continue
				}
				r.event(now, "abort", "stop-condition", "alarm "+a.name+" in ALARM: "+a.reason)
				abort("stop condition met: CloudWatch alarm " + a.name + " is in ALARM")
				return
			}
		}
	}
}
