package reports

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"

	"github.com/gameday-dev/gameday/record"
)

// Table writes the terminal summary: verdict, per-fault recovery, phases,
// gates and notes.
func Table(w io.Writer, r *record.Run) error {
	fmt.Fprintf(w, "\n%s  %s  (%s, run %s)\n", verdictWord(r), r.Experiment, r.Target, r.ID)
	if r.Message != "" {
		fmt.Fprintf(w, "%s\n", r.Message)
	}
	fmt.Fprintf(w, "load: asked %d, sent %d, not sent %d (%.1f rps asked, %.1f rps achieved over %s)\n",
		r.Load.Asked, r.Load.Sent, notSent(r.Load), r.Load.AskedRPS, r.Load.AchievedRPS, secs(r.Load.DurationS))
	fmt.Fprintf(w, "steady state: %s per %s window; recovered = %d stable windows\n",
		strings.Join(r.Thresholds, " and "), secs(r.WindowS), r.StableFor)

	if len(r.Faults) > 0 {
		fmt.Fprintln(w, "\nFaults")
		t := tablewriter.NewWriter(w)
		t.Header("fault", "kind", "injected", "time to impact", "time to recover", "impact", "failed req", "worst window", "peak p99", "infra recovery", "ground truth")
		for _, f := range r.Faults {
			if !f.Injected {
				if err := t.Append(f.Name, f.Kind, "skipped: "+f.Skipped, "", "", "", "", "", "", "", ""); err != nil {
					return err
				}
				continue
			}
			rc, c := f.Recovery, faultRow(f)
			gt := ""
			if f.GroundTruth != nil {
				gt = secs(f.GroundTruth.SinceInjectS)
				if rc.Recovered && rc.Impacted {
					gt += fmt.Sprintf(" (Δ %+.1fs)", f.GroundTruth.MeasuredDeltaS)
				}
			}
			if err := t.Append(f.Name, f.Kind, "at "+secs(f.InjectedAtS), c.Impact, c.Recover, c.Duration,
				fmt.Sprintf("%d / %d", rc.FailedRequests, rc.Requests)+late(rc.LateFailures),
				fmt.Sprintf("%.1f%% @%s", 100*rc.WorstSuccessRatio, secs(rc.WorstWindow)),
				secs(rc.PeakP99), infra(f.InfraS), gt); err != nil {
				return err
			}
		}
		if err := t.Render(); err != nil {
			return err
		}
	}

	fmt.Fprintln(w, "\nPhases")
	t := tablewriter.NewWriter(w)
	t.Header("phase", "from", "to", "requests", "failed", "success", "p50", "p90", "p99", "max", "p99 service", "rps sent/asked", "not sent", "steady")
	for _, p := range r.Phases {
		if err := t.Append(p.Name, secs(p.FromS), secs(p.ToS), fmt.Sprint(p.Requests), fmt.Sprint(p.Failed),
			pctText(p.SuccessRatio), secs(p.P50S), secs(p.P90S), secs(p.P99S), secs(p.MaxS), svcSecs(p.ServiceP99S),
			fmt.Sprintf("%.1f / %.1f", p.AchievedRPS, p.AskedRPS), fmt.Sprint(p.NotSent), yesNo(p.Holds)); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	fmt.Fprintln(w, "latency counts from each request's intended send time (users' wait, generator queueing included); p99 service from the actual send")
	if err := workersTable(w, r); err != nil { // reports/workers.go
		return err
	}
	if err := scalingTable(w, r); err != nil {
		return err
	}

	if len(r.Gates) > 0 {
		fmt.Fprintln(w, "\nGates")
		t := tablewriter.NewWriter(w)
		t.Header("scope", "gate", "measured", "verdict")
		for _, g := range r.Gates {
			v := "PASS"
			if !g.Pass {
				v = "FAIL"
			}
			if err := t.Append(g.Scope, g.Gate, g.Measured, v); err != nil {
				return err
			}
		}
		if err := t.Render(); err != nil {
			return err
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	return nil
}

func verdictWord(r *record.Run) string {
	switch r.Status {
	case "passed":
		return "PASS"
	case "failed", "baseline-failed":
		return "FAIL"
	default:
		return strings.ToUpper(string(r.Status))
	}
}

func secs(s float64) string {
	if math.IsInf(s, 0) || s < 0 {
		return "never"
	}
	d := time.Duration(s * float64(time.Second))
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(time.Millisecond).String()
	default:
		return d.Round(time.Microsecond).String()
	}
}

func infra(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+" "+secs(m[k]))
	}
	return strings.Join(parts, ", ")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// notSent is the load's not_sent count; records written before it existed
// only have Dropped.
func notSent(l record.Load) uint64 { return max(l.NotSent, l.Dropped) }

// svcSecs renders a service-time quantile; records written before service
// time was recorded have 0 there.
func svcSecs(v float64) string {
	if v == 0 {
		return "–"
	}
	return secs(v)
}

// late renders a fault's late failures (after recovery, before rollback).
func late(n uint64) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (+%d late)", n)
}
