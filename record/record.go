package record

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/gameday-dev/gameday/internal/inputfile"
)

// Schema names this document's version; renderers refuse other majors.
const Schema = "gameday.run/v1"

// Run is one experiment run.
type Run struct {
	Schema     string    `json:"schema"`
	ID         string    `json:"id"`
	Experiment string    `json:"experiment"`
	File       string    `json:"file"`
	Target     string    `json:"target"` // sandbox | aws
	StartedAt  time.Time `json:"started_at"`
	EndedAt    time.Time `json:"ended_at"`
	Status     Status    `json:"status"`
	ExitCode   int       `json:"exit_code"`
	Message    string    `json:"message,omitempty"`

	WindowS    float64  `json:"window_s"`
	StableFor  int      `json:"stable_for"`
	Thresholds []string `json:"thresholds"`

	Load    Load      `json:"load"`
	Phases  []Phase   `json:"phases"`
	Faults  []Fault   `json:"faults"`
	Gates   []Verdict `json:"gates"`
	Windows []Window  `json:"windows"`
	Events  []Event   `json:"events"`
	Truth   []Truth   `json:"ground_truth,omitempty"`
	// Scaling is the scaling analysis (runs with an asg-capacity probe).
	Scaling *Scaling       `json:"scaling,omitempty"`
	Spec    any            `json:"experiment_as_run,omitempty"`
	Notes   []string       `json:"notes,omitempty"`
	Extra   map[string]any `json:"extra,omitempty"`
	// Workers, when the load came from several generators (load.generators),
	// is each one's own account.
	Workers []Worker `json:"workers,omitempty"`
}

// Worker is one load generator's account of a run sent from several.
type Worker struct {
	ID      string `json:"id"`
	Engine  string `json:"engine"`
	Segment int    `json:"segment"`
	// Asked is the hits its slice asked for; Sent those it started; NotSent
	// the hits of its slice counted as not sent (its own, plus what it did
	// not report when it was lost).
	Asked   uint64  `json:"asked"`
	Sent    uint64  `json:"sent"`
	NotSent uint64  `json:"not_sent"`
	P99S    float64 `json:"p99_s"`
	// OffsetS is its clock's offset to the coordinator's, measured at the
	// barrier (coordinator − worker); RoundTripS the exchange it came from.
	OffsetS    float64 `json:"clock_offset_s"`
	RoundTripS float64 `json:"round_trip_s"`
	// Lost says why the worker was lost ("" if it finished).
	Lost string `json:"lost,omitempty"`
	// Raw is the file of its raw results, on its machine.
	Raw string `json:"raw,omitempty"`
	// SentPerWindow is how many requests it started per window (index =
	// window), for the per-worker rate lines of the HTML report.
	SentPerWindow []uint64 `json:"sent_per_window,omitempty"`
}

// Load summarises the load generator's own account of the run.
type Load struct {
	Asked       uint64  `json:"asked"`
	Sent        uint64  `json:"sent"`
	Dropped     uint64  `json:"dropped"`
	Aborted     uint64  `json:"aborted"`
	DurationS   float64 `json:"duration_s"`
	AskedRPS    float64 `json:"asked_rps"`
	AchievedRPS float64 `json:"achieved_rps"`
	MaxWorkers  uint64  `json:"max_workers_used"`
	Dials       uint64  `json:"dials"`
	// Dropped (above) counts asked hits never sent: no worker was free until
	// half the request timeout after they were due (or the run ended).
	// NotSent counts the hits judged as failures of class not_sent (the
	// dropped ones a run that was not cancelled delivered, plus SentLate:
	// sent more than half the timeout late and cut by their deadline, due +
	// timeout, which only a larger attack MaxLag allows).
	NotSent  uint64 `json:"not_sent"`
	SentLate uint64 `json:"sent_late,omitempty"`
}

// Phase is a stretch of the run: baseline, each fault, verification, total.
type Phase struct {
	Name         string  `json:"name"`
	FromS        float64 `json:"from_s"`
	ToS          float64 `json:"to_s"`
	Requests     uint64  `json:"requests"`
	Failed       uint64  `json:"failed"`
	SuccessRatio float64 `json:"success_ratio"`
	P50S         float64 `json:"p50_s"`
	P90S         float64 `json:"p90_s"`
	P99S         float64 `json:"p99_s"`
	MaxS         float64 `json:"max_s"`
	AchievedRPS  float64 `json:"achieved_rps"`
	AskedRPS     float64 `json:"asked_rps"` // the rate plan's mean over the phase
	// NotSent is how many of the phase's requests (placed by their due
	// time) are of class not_sent: hits the generator could not send, or
	// sent too late to be judged, because it fell behind. They count in
	// Requests and Failed; AchievedRPS leaves them out.
	NotSent uint64 `json:"not_sent"`
	Holds   bool   `json:"holds_steady_state"`

	// P50S…MaxS above are latencies of successful requests from each one's
	// intended send time (the rate plan's schedule) to its end: what users
	// waited, queueing in the load generator included; thresholds and gates
	// read them. The service time runs from the moment a worker actually
	// sent the request: the target's own latency, shown for comparison.
	ServiceP50S float64 `json:"service_p50_s"`
	ServiceP99S float64 `json:"service_p99_s"`
}

// Fault is one fault's schedule, outcome and recovery.
type Fault struct {
	Name          string             `json:"name"`
	Kind          string             `json:"kind"`
	Resources     []string           `json:"targets"`
	Plan          string             `json:"plan"`
	Injected      bool               `json:"injected"`
	InjectedAtS   float64            `json:"injected_at_s"`
	RolledBackAtS float64            `json:"rolled_back_at_s,omitempty"`
	RolledBack    bool               `json:"rolled_back"`
	Skipped       string             `json:"skipped,omitempty"`
	Error         string             `json:"error,omitempty"`
	Recovery      Recovery           `json:"recovery"`
	InfraS        map[string]float64 `json:"infra_recovery_s,omitempty"` // probe → seconds from injection until healthy again
	GroundTruth   *GroundTruth       `json:"ground_truth,omitempty"`
	// RollbackNotes are what the fault's rollback noticed and did other
	// than a plain undo (an original ACL gone, so the VPC's default ACL was
	// used; a failure, then a retry). Any fails the clean_rollback gate.
	RollbackNotes []string `json:"rollback_notes,omitempty"`
	// Notes are what the scheduler changed about the fault (a hold cut short).
	Notes []string `json:"notes,omitempty"`
	// Steps are the fault's own stretches measured as phases (a rolling
	// deploy's batches: "batch 1 (0% → 33%)", ...), also in Run.Phases as
	// "fault: <name> / <step>".
	Steps []Phase `json:"steps,omitempty"`
}

// GroundTruth is the sandbox's own account of when the fault stopped hurting:
// the first moment from which the sandbox failed no request because of the
// fault, read from its failure record (Source), never from the harness's
// measurements.
type GroundTruth struct {
	Event          string  `json:"event"`
	AtS            float64 `json:"at_s"`
	SinceInjectS   float64 `json:"since_inject_s"`
	MeasuredDeltaS float64 `json:"measured_minus_truth_s"`
	// Source is what the truth was read from ("sandbox failure record").
	Source string `json:"source,omitempty"`
	// Failed is how many requests the sandbox failed because of the fault;
	// Reasons counts them by reason (no-healthy-target, target-gone, ...),
	// plus db-delayed: requests held back, not failed, by the fault.
	Failed  uint64            `json:"failed,omitempty"`
	Reasons map[string]uint64 `json:"reasons,omitempty"`
	// Context is the last infrastructure change the fault triggered
	// (targets out of rotation, database available, DNS), for the reader.
	Context string `json:"context,omitempty"`
}

// Window is one fixed window of the timeline.
type Window struct {
	T         float64              `json:"t"`
	Requests  uint64               `json:"requests"`
	AskedRPS  float64              `json:"asked_rps"` // the rate plan's mean over this window
	Successes uint64               `json:"successes"`
	Classes   map[string]uint64    `json:"classes,omitempty"`
	P50S      float64              `json:"p50_s"`
	P99S      float64              `json:"p99_s"`
	MaxS      float64              `json:"max_s"`
	ByAZ      map[string][2]uint64 `json:"by_az,omitempty"` // AZ of the load balancer node dialled → [requests, errors]
	// ByTargetAZ: AZ of the target that served or should have served the
	// request (the AZ header; the node's AZ when absent) → [requests, errors].
	ByTargetAZ map[string][2]uint64 `json:"by_target_az,omitempty"`
	Samples    map[string]float64   `json:"samples,omitempty"`
	Holds      bool                 `json:"holds"`
	// P50S…MaxS count from the intended send time (as Phase.P50S);
	// ServiceP99S from the actual send.
	ServiceP99S float64 `json:"service_p99_s"`
}

// Event is a harness event: fault injected, rolled back, abort, probe error.
type Event struct {
	T      float64 `json:"t"`
	Kind   string  `json:"kind"`
	Name   string  `json:"name"`
	Detail string  `json:"detail,omitempty"`
}

// Truth is one sandbox ground-truth state change.
type Truth struct {
	T        float64 `json:"t"`
	Kind     string  `json:"kind"`
	Resource string  `json:"resource"`
	AZ       string  `json:"az,omitempty"`
	From     string  `json:"from,omitempty"`
	To       string  `json:"to,omitempty"`
	Detail   string  `json:"detail,omitempty"`
}

// Write saves the record as indented JSON.
func Write(path string, r *Run) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode run record: %w", err)
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// MaxFileBytes bounds a run record read back (report, compare, --baseline):
// a day-long run at 100 ms windows is about 300 MB.
const MaxFileBytes = 512 << 20

// Read loads a record and checks its schema.
func Read(path string) (*Run, error) {
	b, err := inputfile.Read(path, MaxFileBytes) // only a regular file, bounded
	if err != nil {
		return nil, err
	}
	var r Run
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: not a run record: %w", path, err)
	}
	if r.Schema != Schema {
		return nil, fmt.Errorf("%s: schema %q, want %q", path, r.Schema, Schema)
	}
	return &r, nil
}

// Fault returns the fault called name, or nil.
func (r *Run) Fault(name string) *Fault {
	for i := range r.Faults {
		if r.Faults[i].Name == name {
			return &r.Faults[i]
		}
	}
	return nil
}

// Phase returns the phase called name, or nil.
func (r *Run) Phase(name string) *Phase {
	for i := range r.Phases {
		if r.Phases[i].Name == name {
			return &r.Phases[i]
		}
	}
	return nil
}

// FaultNames lists the faults' names in record order.
func (r *Run) FaultNames() []string {
	out := make([]string, 0, len(r.Faults))
	for _, f := range r.Faults {
		out = append(out, f.Name)
	}
	return out
}

// PhaseNames lists the phases' names in record order.
func (r *Run) PhaseNames() []string {
	out := make([]string, 0, len(r.Phases))
	for _, p := range r.Phases {
		out = append(out, p.Name)
	}
	return out
}
