package runner

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/faults"
	"github.com/gameday-dev/gameday/record"
	"github.com/gameday-dev/gameday/sandbox/truth"
)

// sandboxFailures reads the sandbox's failure record since start: from the
// in-process region, or over HTTP from an attached sandbox. ok is false when
// there is no sandbox or the record could not be read (err says why).
func (p *Prepared) sandboxFailures(start time.Time) (fs []truth.FailureBucket, ok bool, err error) {
	feed := p.Env.Truth()
	if feed == nil {
		return nil, false, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fs, err = feed.Failures(ctx, start)
	return fs, err == nil, err
}

// causedBy reports whether the sandbox failed a request for a reason the
// fault explains (its kind's ground-truth rules say).
func causedBy(b *truth.FailureBucket, kind string, targets []string, spec experiments.Fault) bool {
	t, ok := faults.TruthOf(kind, targets, spec)
	return ok && t.CausedBy != nil && t.CausedBy(faults.Failure{Reason: b.Reason, Resource: b.Resource, AZ: b.AZ, PeerAZ: b.PeerAZ})
}

// groundTruthFromFailures is the sandbox's own answer to "when did this fault
// stop hurting users": the first moment from which the sandbox failed no
// request because of it (nor held one back waiting for an unreachable
// database: db-delayed), read from its failure record (50 ms buckets) over
// [injection, spanEnd). No such failure at all means the fault never hurt
// anyone: the truth is the injection itself (0 s). The last infrastructure
// change of the kind the fault triggers is kept as context only.
//
// Requests the fault only held back (db-delayed: they succeeded after
// waiting for the database) count when the steady state judges latency
// (slowJudged), since a slow request then breaks it as a failed one does;
// otherwise they hurt nobody by the experiment's own definition.
func groundTruthFromFailures(fs []truth.FailureBucket, evs []truth.Event, kind string, targets []string, a *applied, spec experiments.Fault, spanEnd, start time.Time, slowJudged, recovered bool, ttr float64) *record.GroundTruth {
	at := a.injectedAt
	var n uint64
	reasons := map[string]uint64{}
	for i := range fs {
		b := &fs[i]
		end := b.Start.Add(truth.FailureBucketWidth)
		delayed := b.Reason == truth.FailDBDelayed || b.Reason == truth.FailTargetDelayed
		if !end.After(a.injectedAt) || !b.Start.Before(spanEnd) || !causedBy(b, kind, targets, spec) || (delayed && !slowJudged) {
			continue
		}
		if !delayed {
			n += b.Count // held back is not failed
		}
		reasons[b.Reason] += b.Count
		if end.After(at) {
			at = end
		}
	}
	gt := &record.GroundTruth{
		Source: "sandbox failure record", AtS: at.Sub(start).Seconds(), SinceInjectS: at.Sub(a.injectedAt).Seconds(),
		Failed: n, Reasons: reasons,
	}
	if len(reasons) == 0 {
		gt.Event = "the sandbox failed no request because of this fault"
	} else {
		var parts []string
		for r, c := range reasons {
			parts = append(parts, fmt.Sprintf("%s %d", r, c))
		}
		sort.Strings(parts)
		gt.Event = fmt.Sprintf("last request failed or held back by the fault (%s)", strings.Join(parts, ", "))
	}
	if ctx := contextEvent(evs, kind, targets, a, spec, spanEnd); ctx != "" {
		gt.Context = ctx
	}
	if recovered {
		gt.MeasuredDeltaS = ttr - gt.SinceInjectS
	}
	return gt
}

// contextEvent names the last infrastructure change the fault triggered
// before spanEnd (targets leaving rotation, the database available again, a
// DNS change): context for the reader, not the truth.
func contextEvent(evs []truth.Event, kind string, targets []string, a *applied, spec experiments.Fault, spanEnd time.Time) string {
	t, ok := faults.TruthOf(kind, targets, spec)
	if !ok || t.Context == nil {
		return ""
	}
	var what string
	for _, e := range evs {
		if e.Time.Before(a.injectedAt) || !e.Time.Before(spanEnd) {
			continue
		}
		if t.ContextFirst && what != "" {
			break
		}
		if d := t.Context(faults.Change{Kind: e.Kind, Resource: e.Resource, AZ: e.AZ, From: e.From, To: e.To}); d != "" {
			what = fmt.Sprintf("%+.1fs %s", e.Time.Sub(a.injectedAt).Seconds(), d)
		}
	}
	return what
}

// judgesLatency reports whether any steady-state threshold is on latency.
func judgesLatency(ts []experiments.Expr) bool {
	for _, t := range ts {
		if t.Kind == experiments.Duration {
			return true
		}
	}
	return false
}
