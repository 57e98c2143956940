package experiments

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// StopCondition is one entry of stop_conditions: either a harness-side
// expression over settled windows (written as a plain string, e.g.
// "success_rate < 50% for 5s") or a CloudWatch alarm ({alarm: NAME}), which
// stops the run when the alarm is in ALARM, as AWS FIS stop conditions do.
type StopCondition struct {
	Expr  string `mapstructure:"expr" json:"expr,omitempty"`
	Alarm string `mapstructure:"alarm" json:"alarm,omitempty"`
}

// String is the condition as written.
func (s StopCondition) String() string {
	if s.Alarm != "" {
		return "alarm " + s.Alarm
	}
	return s.Expr
}

// MarshalJSON writes an expression as the plain string it was written as.
func (s StopCondition) MarshalJSON() ([]byte, error) {
	if s.Alarm == "" {
		return json.Marshal(s.Expr)
	}
	type plain StopCondition
	return json.Marshal(plain(s))
}

// UnmarshalJSON reads either form.
func (s *StopCondition) UnmarshalJSON(b []byte) error {
	var str string
	if json.Unmarshal(b, &str) == nil {
		*s = StopCondition{Expr: str}
		return nil
	}
	type plain StopCondition
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*s = StopCondition(p)
	return nil
}

// stopConditionHook decodes a plain string into StopCondition{Expr}.
func stopConditionHook(from, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeFor[StopCondition]() || from.Kind() != reflect.String {
		return data, nil
	}
	return map[string]any{"expr": data}, nil
}

// maxAlarmName is CloudWatch's limit on alarm names.
const maxAlarmName = 255

func (x *Experiment) validateStopConditions(v *validator, c *Compiled) {
	for i, s := range x.StopConditions {
		path := fmt.Sprintf("stop_conditions[%d]", i)
		switch {
		case s.Alarm != "" && s.Expr != "":
			v.add(path, "give either an expression or alarm, not both")
		case s.Alarm != "":
			if len(s.Alarm) > maxAlarmName || strings.TrimSpace(s.Alarm) != s.Alarm {
				v.add(path+".alarm", fmt.Sprintf("%q is not a CloudWatch alarm name (1 to %d characters, no surrounding spaces)", s.Alarm, maxAlarmName))
				continue
			}
			c.StopAlarms = append(c.StopAlarms, s.Alarm)
		default:
			e, err := ParseExpr(s.Expr, ScopeWindow, true)
			if err != nil {
				v.add(path, err.Error())
				continue
			}
			c.StopConditions = append(c.StopConditions, e)
		}
	}
}
