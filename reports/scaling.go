package reports

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/olekukonko/tablewriter"

	"github.com/gameday-dev/gameday/record"
)

// The scaling analysis in every format: a table of the load changes and
// the group's answer to each, the run's figures, and (HTML) a capacity
// chart with the policy's target line and a band per scaling event.

// scalingSecs renders a scaling time: "never" for -1.
func scalingSecs(v float64) string {
	if v < 0 {
		return "never"
	}
	return secs(v)
}

// changeName says what the load did: "scale-out at 20s: 20 → 200 rps".
func changeName(c record.ScalingChange) string {
	return fmt.Sprintf("scale-%s at %s: %g → %g rps", c.Direction, secs(c.AtS), c.FromRPS, c.ToRPS)
}

// scalingCells are one change's cells: load change, desired, trigger,
// capacity, serve, SLO, under-provisioned, max reached, scale-in lag, idle.
func scalingCells(sc *record.Scaling, c record.ScalingChange) []string {
	dash := "–"
	row := []string{changeName(c), fmt.Sprintf("%g → %g", c.DesiredBefore, c.DesiredAfter), scalingSecs(c.TimeToTriggerS)}
	if c.Direction == "out" {
		serve := scalingSecs(c.TimeToServeS)
		if sc.HealthProbe == "" {
			serve = "n/a"
		}
		row = append(row, scalingSecs(c.TimeToCapacityS), serve, scalingSecs(c.TimeToSLOS))
	} else {
		row = append(row, dash, dash, dash)
	}
	row = append(row, secs(c.UnderProvisionedS), yesNo(c.MaxReached))
	if c.Direction == "in" {
		row = append(row, scalingSecs(c.ScaleInLagS), fmt.Sprintf("%.2f", c.IdleMinutes))
	} else {
		row = append(row, dash, dash)
	}
	return row
}

var scalingHeader = []string{"load change", "desired", "time to trigger", "time to capacity", "time to serve", "time to SLO",
	"under provisioned", "max reached", "scale in lag", "idle instance minutes"}

// scalingRunLine is the run's figures in one line.
func scalingRunLine(sc *record.Scaling) string {
	var parts []string
	if sc.HasScaleOut {
		serve := scalingSecs(sc.TimeToServeS)
		if sc.HealthProbe == "" {
			serve = "n/a"
		}
		parts = append(parts, "time to trigger "+scalingSecs(sc.TimeToTriggerS), "to capacity "+scalingSecs(sc.TimeToCapacityS),
			"to serve "+serve, "to SLO "+scalingSecs(sc.TimeToSLOS))
	}
	parts = append(parts, "under-provisioned "+secs(sc.UnderProvisionedS), "max reached "+yesNo(sc.MaxReached))
	if sc.HasScaleIn {
		parts = append(parts, "scale-in lag "+scalingSecs(sc.ScaleInLagS), fmt.Sprintf("idle %.2f instance-minutes", sc.IdleInstanceMinutes))
	}
	parts = append(parts, fmt.Sprintf("%d flaps", sc.Flaps))
	return strings.Join(parts, ", ")
}

// scalingBasis says what under-provisioned time was judged on.
func scalingBasis(sc *record.Scaling) string {
	s := fmt.Sprintf("probe %s", sc.Probe)
	if sc.HealthProbe != "" {
		s += " and " + sc.HealthProbe
	}
	if sc.PolicyTarget > 0 {
		s += fmt.Sprintf("; policy target %g requests/s per in-service target", sc.PolicyTarget)
	} else {
		s += "; policy target unknown (under-provisioned counts windows that broke the steady state while desired < max)"
	}
	return s + fmt.Sprintf("; flaps: reversals within %s", secs(sc.CooldownS))
}

// scalingTable writes the terminal section (nothing without an analysis).
func scalingTable(w io.Writer, r *record.Run) error {
	sc := r.Scaling
	if sc == nil {
		return nil
	}
	fmt.Fprintln(w, "\nScaling")
	if len(sc.Changes) > 0 {
		t := tablewriter.NewWriter(w)
		t.Header(anys(scalingHeader)...)
		for _, c := range sc.Changes {
			if err := t.Append(anys(scalingCells(sc, c))...); err != nil {
				return err
			}
		}
		if err := t.Render(); err != nil {
			return err
		}
	}
	for _, l := range activityLines(sc) {
		fmt.Fprintln(w, l)
	}
	fmt.Fprintf(w, "run: %s\n(%s)\n", scalingRunLine(sc), scalingBasis(sc))
	return nil
}

// scalingMarkdown writes the Markdown section.
func scalingMarkdown(p *printer, r *record.Run) {
	sc := r.Scaling
	if sc == nil {
		return
	}
	p.f("\n### Scaling\n\n")
	if len(sc.Changes) > 0 {
		p.f("| %s |\n|---|%s\n", strings.Join(scalingHeader, " | "), strings.Repeat("---:|", len(scalingHeader)-1))
		for _, c := range sc.Changes {
			cells := scalingCells(sc, c)
			for i := range cells {
				cells[i] = MDEscape(cells[i])
			}
			p.f("| %s |\n", strings.Join(cells, " | "))
		}
		p.f("\n")
	}
	for _, l := range activityLines(sc) {
		p.f("- %s\n", MDEscape(l))
	}
	if len(activityLines(sc)) > 0 {
		p.f("\n")
	}
	p.f("Run: %s.\n\n%s.\n", MDEscape(scalingRunLine(sc)), MDEscape(strings.ToUpper(scalingBasis(sc)[:1])+scalingBasis(sc)[1:]))
}

// scalingCases are the JUnit test cases of the scaling analysis: one per
// load change, reporting its figures; the gates decide pass or fail.
func scalingCases(class string, r *record.Run) []junitCase {
	sc := r.Scaling
	if sc == nil {
		return nil
	}
	var out []junitCase
	for _, c := range sc.Changes {
		cells := scalingCells(sc, c)
		var b strings.Builder
		for i, h := range scalingHeader[1:] {
			fmt.Fprintf(&b, "%s: %s\n", h, cells[i+1])
		}
		if c.ActivityS != nil {
			fmt.Fprintf(&b, "scaling activity: started %s after the change; cause: %s\n", secs(*c.ActivityS), c.ActivityCause)
		}
		tc := junitCase{Name: "scaling: " + changeName(c), Classname: class + ".scaling", Time: "0.000", SystemOut: &cdata{b.String()}}
		if c.Direction == "out" && c.TimeToCapacityS >= 0 {
			tc.Time = seconds(c.TimeToCapacityS)
		}
		out = append(out, tc)
	}
	return out
}

// scalingProperties are the run's scaling figures as JUnit properties.
func scalingProperties(r *record.Run) []junitProperty {
	sc := r.Scaling
	if sc == nil {
		return nil
	}
	return []junitProperty{{"scaling", scalingRunLine(sc)}}
}

// capacityChart is the HTML capacity chart's data, on the timeline's x:
// desired, in-service and healthy targets (instances), and the load per
// in-service target (requests per second) with the policy's target.
type capacityChart struct {
	Desired       []*float64 `json:"desired"`
	InService     []*float64 `json:"in_service"`
	Healthy       []*float64 `json:"healthy,omitempty"`
	LoadPerTarget []*float64 `json:"load_per_target"`
	Target        float64    `json:"target,omitempty"`
}

// capacityData fills the capacity chart and adds a band per scaling event
// (each scale-out from the load change to its time to serve, or capacity;
// each scale-in from the load change until capacity followed it down).
func capacityData(r *record.Run, d *timelineData) {
	sc := r.Scaling
	if sc == nil {
		return
	}
	c := &capacityChart{Target: sc.PolicyTarget}
	num := func(v float64) *float64 { return &v }
	get := func(win record.Window, key string) *float64 {
		if v, ok := win.Samples[key]; ok {
			return num(v)
		}
		return nil
	}
	c.Desired, c.InService, c.LoadPerTarget = []*float64{nil}, []*float64{nil}, []*float64{nil}
	if sc.HealthProbe != "" {
		c.Healthy = []*float64{nil}
	}
	var lastIn float64 = math.NaN()
	for _, win := range r.Windows {
		c.Desired = append(c.Desired, get(win, sc.Probe+"/desired"))
		in := get(win, sc.Probe+"/in_service")
		c.InService = append(c.InService, in)
		if in != nil {
			lastIn = *in
		}
		if sc.HealthProbe != "" {
			c.Healthy = append(c.Healthy, get(win, sc.HealthProbe+"/healthy_targets"))
		}
		if lastIn > 0 {
			c.LoadPerTarget = append(c.LoadPerTarget, num(round(win.AskedRPS/lastIn, 3)))
		} else {
			c.LoadPerTarget = append(c.LoadPerTarget, nil)
		}
	}
	c.Desired, c.InService, c.LoadPerTarget = append(c.Desired, nil), append(c.InService, nil), append(c.LoadPerTarget, nil)
	if c.Healthy != nil {
		c.Healthy = append(c.Healthy, nil)
	}
	d.Capacity = c
	for _, ch := range sc.Changes {
		end := -1.0
		switch {
		case ch.Direction == "in":
			end = ch.ScaleInLagS
		case ch.TimeToServeS >= 0:
			end = ch.TimeToServeS
		default:
			end = ch.TimeToCapacityS
		}
		to := ch.UntilS
		if end >= 0 {
			to = ch.AtS + end
		}
		if to <= ch.AtS {
			continue
		}
		d.Bands = append(d.Bands, band{Kind: "scale-" + ch.Direction, From: ch.AtS, To: math.Min(to, d.End), Label: changeName(ch)})
	}
}

func anys(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// scalingView is the HTML page's scaling table.
type scalingView struct {
	Header     []string
	Rows       [][]string
	Run, Basis string
}

func newScalingView(r *record.Run) *scalingView {
	sc := r.Scaling
	if sc == nil {
		return nil
	}
	v := &scalingView{Header: scalingHeader, Run: scalingRunLine(sc), Basis: scalingBasis(sc)}
	for _, c := range sc.Changes {
		v.Rows = append(v.Rows, scalingCells(sc, c))
	}
	return v
}

// activityLines say, per load change, when the group's scaling activity
// started and why (DescribeScalingActivities), when the run read them.
func activityLines(sc *record.Scaling) []string {
	var out []string
	for _, c := range sc.Changes {
		if c.ActivityS == nil {
			continue
		}
		l := fmt.Sprintf("%s: scaling activity started %s after it", changeName(c), secs(*c.ActivityS))
		if c.ActivityCause != "" {
			l += "; cause: " + c.ActivityCause
		}
		out = append(out, l)
	}
	return out
}
