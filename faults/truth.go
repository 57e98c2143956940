package faults

// Ground truth: the sandbox records why it failed each request (its
// failure record) and every infrastructure change (its events). Each kind
// says, through Kind.Truth, which failures it explains and which change is
// worth naming as context; runner reads the record and does the arithmetic.
// Kinds name the sandbox's vocabulary from sandbox/truth (a leaf package
// shared with the sandbox; it links nothing of the sandbox into the runner).

import (
	"fmt"
	"slices"

	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/sandbox/truth"
)

// Failure is one bucket of the sandbox's failure record.
type Failure struct {
	Reason   string
	Resource string // instance id, db id
	AZ       string // where the failing hop ended
	PeerAZ   string // where it started
}

// Change is one infrastructure event of the sandbox.
type Change struct {
	Kind     string
	Resource string
	AZ       string
	From, To string
}

// Truth says what of the sandbox's record a fault explains.
type Truth struct {
	// CausedBy reports whether the fault explains a failure.
	CausedBy func(b Failure) bool
	// Context describes a change of the kind the fault triggers ("" for
	// any other); the last one before the span's end is named as context
	// for the reader (the first one when ContextFirst).
	Context      func(e Change) string
	ContextFirst bool
}

// instancesTruth is the ground truth of a fault that takes instances out
// of service (terminate-instances, stop-instances): its targets gone,
// unreachable or timing out, or no healthy target left; context is its
// targets leaving rotation.
func instancesTruth(ids []string, _ experiments.Fault) Truth {
	return Truth{
		CausedBy: func(b Failure) bool {
			switch b.Reason {
			case truth.FailTargetGone, truth.FailTargetUnreachable, truth.FailTargetTimeout:
				return slices.Contains(ids, b.Resource)
			case truth.FailNoHealthyTarget:
				return true
			}
			return false
		},
		Context: func(e Change) string {
			if e.Kind == truth.EventTargetHealth && slices.Contains(ids, e.Resource) && e.From == truth.TargetHealthy {
				return fmt.Sprintf("target %s %s → %s", e.Resource, e.From, e.To)
			}
			return ""
		},
	}
}

// TruthOf returns the ground-truth rules of a fault of kind with these
// resolved targets and spec, or false when the kind has none.
func TruthOf(kind string, targets []string, spec experiments.Fault) (Truth, bool) {
	k, ok := Lookup(kind)
	if !ok || k.Truth == nil {
		return Truth{}, false
	}
	return k.Truth(targets, spec), true
}
