package record

import (
	"encoding/json"
	"math"
)

// Verdict is one gate's outcome.
type Verdict struct {
	Scope    string  `json:"scope"` // "run" or the fault's name
	Gate     string  `json:"gate"`
	Metric   string  `json:"metric"`
	Value    float64 `json:"value"`
	Measured string  `json:"measured"`
	Limit    string  `json:"limit"`
	Pass     bool    `json:"pass"`
}

// Recovery is one fault's effect on users, measured from the load.
// A fault that never recovered has Impacted and not Recovered; its
// TimeToRecover and ImpactDuration are then meaningless (0 in memory).
// The file writes them as -1, as it always has (JSON has no infinity).
type Recovery struct {
	Impacted bool `json:"impacted"`
	// Recovered is false when the steady state did not return before the
	// analysis span ended ("never").
	Recovered         bool    `json:"recovered"`
	TimeToImpact      float64 `json:"time_to_impact_s"`  // seconds from injection to the first breaking window's start
	TimeToRecover     float64 `json:"time_to_recover_s"` // seconds from injection to the start of the first stable run; only when Recovered
	ImpactDuration    float64 `json:"impact_duration_s"` // from the injection (or the first breaking window, if later) to recovery; only when Recovered
	Requests          uint64  `json:"requests"`
	FailedRequests    uint64  `json:"failed_requests"` // errors from injection to recovery (or span end)
	WorstSuccessRatio float64 `json:"worst_success_ratio"`
	WorstWindow       float64 `json:"worst_window_s"` // offset of the worst window from run start
	PeakP99           float64 `json:"peak_p99_s"`
	ImpactStart       float64 `json:"impact_start_s,omitempty"` // offsets from run start, for charts
	RecoveryStart     float64 `json:"recovery_start_s,omitempty"`
	// LateFailures are failed requests after recovery while the fault was
	// still applied; not part of FailedRequests.
	LateFailures uint64 `json:"late_failures"`
}

// Never reports whether the fault hurt users and they never recovered.
func (r Recovery) Never() bool { return r.Impacted && !r.Recovered }

// MarshalJSON writes "never" as -1 in time_to_recover_s and
// impact_duration_s, the file format's encoding.
func (r Recovery) MarshalJSON() ([]byte, error) {
	type plain Recovery
	p := plain(r)
	if r.Never() {
		p.TimeToRecover, p.ImpactDuration = -1, -1
	}
	p.TimeToRecover, p.ImpactDuration = finite(p.TimeToRecover), finite(p.ImpactDuration)
	return json.Marshal(p)
}

// UnmarshalJSON reads the file's -1 for "never" back as Recovered false
// with the two durations cleared.
func (r *Recovery) UnmarshalJSON(b []byte) error {
	type plain Recovery
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*r = Recovery(p)
	if r.Never() {
		r.TimeToRecover, r.ImpactDuration = 0, 0
	}
	return nil
}

func finite(v float64) float64 {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return -1
	}
	return v
}
