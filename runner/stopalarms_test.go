package runner

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gameday-dev/gameday/experiments"
)

// alarmSandbox is a sandbox config with the alarms a stack would have: one
// on the target group's healthy hosts, and one on a metric nothing
// publishes, with missing data breaching (so it is soon in ALARM).
const alarmSandbox = `region:
  alarms:
    - {name: hosts-low, namespace: AWS/ApplicationELB, metric: HealthyHostCount, statistic: Minimum,
       period: 60, evaluation_periods: 2, threshold: 3, comparison: LessThanThreshold}
    - {name: never-data, namespace: Custom/None, metric: Nothing, dimensions: {X: y},
       period: 10, evaluation_periods: 1, threshold: 0, comparison: GreaterThanThreshold, treat_missing_data: breaching}
`

func prepareWithAlarm(t *testing.T, yaml string) (*Prepared, error) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sandbox.yaml"), []byte(alarmSandbox), 0o600); err != nil {
		t.Fatal(err)
	}
	x, c, err := experiments.Parse(filepath.Join(dir, "x.yaml"), []byte(yaml), nil, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	p, err := openPrepare(context.Background(), x, c)
	if p != nil {
		t.Cleanup(p.Close)
	}
	return p, err
}

const alarmRun = `name: stop-alarm
target: {kind: sandbox, sandbox: {config: sandbox.yaml}}
load: {rate: 20, duration: 16s, timeout: 1s, max_workers: 32, max_connections: 32}
steady_state: {window: 1s, thresholds: ["success_ratio >= 0.9"], stable_for: 2, baseline: 3s, verify: 3s}
faults:
  - {name: outage, kind: az-blackhole, at: 4s, duration: 8s, targets: {az: local-1b}, subnets: all}
stop_conditions:
  - {alarm: hosts-low}
`

// TestStopAlarmAbortsRun: a CloudWatch alarm named in stop_conditions goes
// into ALARM mid-run (the blackholed AZ's target fails its health checks,
// and the healthy-host alarm sees two periods below 3); the run stops as
// aborted, naming the alarm, and the fault is rolled back.
func TestStopAlarmAbortsRun(t *testing.T) {
	t.Parallel()
	p, err := prepareWithAlarm(t, alarmRun)
	if err != nil {
		t.Fatal(err)
	}
	before := associations(p)
	start := time.Now()
	rec := p.Run(context.Background(), Options{JournalPath: filepath.Join(t.TempDir(), "journal.jsonl")})
	if rec.Status != "aborted" || rec.ExitCode != ExitAborted || !strings.Contains(rec.Message, "CloudWatch alarm hosts-low is in ALARM") {
		t.Fatalf("status %s, exit %d: %s; want aborted (exit %d) by the alarm", rec.Status, rec.ExitCode, rec.Message, ExitAborted)
	}
	if d := time.Since(start); d > 14*time.Second {
		t.Errorf("the run took %s: it did not stop at the alarm", d)
	}
	found := false
	for _, e := range rec.Events {
		found = found || (e.Kind == "abort" && strings.Contains(e.Detail, "alarm hosts-low in ALARM: Threshold Crossed: 2 out of the last 2 datapoints"))
	}
	if !found {
		t.Errorf("no abort event naming the alarm: %+v", rec.Events)
	}
	if len(rec.Faults) != 1 || !rec.Faults[0].RolledBack {
		t.Fatalf("fault record: %+v", rec.Faults)
	}
	if after := associations(p); !sameMap(after, before) {
		t.Fatalf("ACL associations not restored:\n got %v\nwant %v", after, before)
	}
}

// TestStopAlarmPreflight: an alarm that does not exist is an input error
// (exit 2) naming it, one already in ALARM a guard error; the plan lists
// the alarm.
func TestStopAlarmPreflight(t *testing.T) {
	t.Parallel()
	_, err := prepareWithAlarm(t, strings.Replace(alarmRun, "{alarm: hosts-low}", "{alarm: hosts-low-typo}", 1))
	var ie *InputError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "CloudWatch alarm hosts-low-typo does not exist") {
		t.Fatalf("got %v, want an InputError naming the alarm", err)
	}
	p, err := prepareWithAlarm(t, alarmRun)
	if err != nil {
		t.Fatal(err)
	}
	if plan := p.PlanText(); !strings.Contains(plan, "stop if     CloudWatch alarm hosts-low is in ALARM") {
		t.Errorf("plan:\n%s", plan)
	}
	p.Compiled.StopAlarms = []string{"hosts-low", "never-data"}
	deadline := time.Now().Add(5 * time.Second)
	for inProcess(p).Region().Alarms()[1].StateValue != "ALARM" && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	var ge *GuardError
	if err := p.checkStopAlarms(context.Background()); !errors.As(err, &ge) || !strings.Contains(err.Error(), "CloudWatch alarm never-data is already in ALARM") {
		t.Fatalf("got %v, want a guard error naming never-data", err)
	}
}
