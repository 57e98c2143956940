package reports

import (
	"embed"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/record"
	"github.com/gameday-dev/gameday/timeline"
)

// The page is one self-contained file: uPlot's script and styles (vendored
// by scripts/vendor-js.sh) and ours are inlined, so it opens offline.
//
//go:embed assets/report.css assets/report.js assets/uPlot.iife.min.js assets/uPlot.min.css
var assets embed.FS

func asset(name string) string {
	b, err := assets.ReadFile("assets/" + name)
	if err != nil {
		panic(err) // embedded at build time
	}
	return string(b)
}

// HTML writes the report page: the verdict, a timeline of charts sharing one
// time axis with the faults, impacts, recoveries and events marked on them,
// then the recovery, phase and gate tables, notes, events and the
// experiment as run. Everything from the record is escaped (see writePage).
func HTML(w io.Writer, r *record.Run) error {
	v := newHTMLView(r)
	if err := writePage(w, &v); err != nil {
		return fmt.Errorf("render HTML: %w", err)
	}
	return nil
}

// newHTMLView gathers what the page shows of r.
func newHTMLView(r *record.Run) htmlView {
	v := htmlView{
		R:           r,
		Verdict:     verdictWord(r),
		Class:       verdictClass(r),
		GatesFailed: FailedGates(r.Gates),
		Spec:        specText(r.Spec),
		Total:       r.Phase(experiments.PhaseTotal),
		Data:        chartData(r),
		UPlotJS:     asset("uPlot.iife.min.js"),
		UPlotCSS:    asset("uPlot.min.css"),
		JS:          asset("report.js"),
		CSS:         asset("report.css"),
	}
	for _, f := range r.Faults {
		if f.Injected {
			v.Injected++
		}
	}
	v.Scaling = newScalingView(r)
	for _, e := range r.Events {
		if e.Kind == "probe-error" {
			v.ProbeErrors++
			continue
		}
		v.Events = append(v.Events, e)
	}
	return v
}

type htmlView struct {
	R           *record.Run
	Verdict     string
	Class       string
	GatesFailed int
	Injected    int
	Spec        string
	Total       *record.Phase
	Events      []record.Event
	ProbeErrors int
	Data        timelineData
	// Our script and styles and uPlot's, inlined as they are (trusted:
	// embedded at build time).
	UPlotJS, JS   string
	UPlotCSS, CSS string
	Scaling       *scalingView // the scaling analysis's table (nil without one)
}

func verdictClass(r *record.Run) string {
	switch r.Status {
	case "passed":
		return "pass"
	case "failed", "baseline-failed":
		return "fail"
	default:
		return "error"
	}
}

// timelineData is what the page's script draws; times are seconds from the
// start of the load, at the middle of each window, with one empty point at 0
// and one at End so that every chart spans the whole run and its events.
type timelineData struct {
	WindowS  float64    `json:"window_s"`
	End      float64    `json:"end"`
	X        []float64  `json:"x"`
	Asked    []*float64 `json:"asked"`
	Achieved []*float64 `json:"achieved"`
	Success  []*float64 `json:"success"` // percent; null for a window without requests
	P50      []*float64 `json:"p50"`     // milliseconds, successful requests
	P99      []*float64 `json:"p99"`
	// ServiceP99 is the p99 service time (from the actual send); P50/P99
	// count from the intended send time.
	ServiceP99 []*float64 `json:"service_p99"`
	// Workers is each load generator's sent rate (load.generators), drawn
	// on the rate chart; empty for a single-machine run.
	Workers  []series     `json:"workers"`
	Classes  []series     `json:"classes"`   // errors per second by class
	AZ       []series     `json:"az"`        // errors per second by the AZ of the node dialled
	TargetAZ []series     `json:"target_az"` // errors per second by the AZ of the target
	Probes   []probeChart `json:"probes"`
	Bands    []band       `json:"bands"`
	Marks    []mark       `json:"marks"`
	// Capacity is the scaling analysis's chart (nil without one).
	Capacity *capacityChart `json:"capacity,omitempty"`
	// Limits are the steady state's thresholds in chart units: "success"
	// in percent, "p50" and "p99" in milliseconds.
	Limits map[string]float64 `json:"limits"`
}

type series struct {
	Name   string     `json:"name"`
	Values []*float64 `json:"values"`
}

type probeChart struct {
	Name   string   `json:"name"`
	Series []series `json:"series"`
}

// band is a stretch of time: a fault held (from injection to rollback), its
// impact on users (first breaking window to recovery), and the stable run
// that confirmed recovery.
type band struct {
	Kind  string  `json:"kind"` // held | impact | recovered
	From  float64 `json:"from"`
	To    float64 `json:"to"`
	Label string  `json:"label"`
	Lane  int     `json:"lane"` // held bands: which strip at the top
}

// mark is an instant: an event or a fault's ground truth.
type mark struct {
	T     float64 `json:"t"`
	Kind  string  `json:"kind"`
	Name  string  `json:"name"`
	Label string  `json:"label"`
}

func chartData(r *record.Run) timelineData {
	w := r.WindowS
	if w <= 0 {
		w = 1
	}
	d := timelineData{WindowS: w, End: float64(len(r.Windows)) * w, Classes: []series{}, AZ: []series{}, TargetAZ: []series{}, Probes: []probeChart{},
		Bands: []band{}, Marks: []mark{}, Limits: limits(r.Thresholds), Workers: []series{}}
	classes, azs, samples, tazs := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, win := range r.Windows {
		for c := range win.Classes {
			classes[c] = true
		}
		for az := range win.ByAZ {
			azs[az] = true
		}
		for az := range win.ByTargetAZ {
			tazs[az] = true
		}
		for s := range win.Samples {
			samples[s] = true
		}
	}
	classNames := orderedClasses(classes)
	for _, c := range classNames {
		d.Classes = append(d.Classes, series{Name: c})
	}
	for _, az := range sortedKeys(azs) {
		d.AZ = append(d.AZ, series{Name: az})
	}
	for _, az := range sortedKeys(tazs) {
		d.TargetAZ = append(d.TargetAZ, series{Name: az})
	}
	// Probe series are "probe/series"; one chart per probe.
	byProbe := map[string][]string{}
	for _, s := range sortedKeys(samples) {
		p, name, ok := strings.Cut(s, "/")
		if !ok {
			p, name = "probe", s
		}
		byProbe[p] = append(byProbe[p], name)
	}
	for _, p := range sortedKeys(setOf(byProbe)) {
		pc := probeChart{Name: p}
		for _, name := range byProbe[p] {
			pc.Series = append(pc.Series, series{Name: name})
		}
		d.Probes = append(d.Probes, pc)
	}

	for _, e := range r.Events {
		d.End = math.Max(d.End, e.T+w/2)
	}
	num := func(v float64) *float64 { return &v }
	pad := func() {
		d.Asked, d.Achieved, d.Success = append(d.Asked, nil), append(d.Achieved, nil), append(d.Success, nil)
		d.P50, d.P99 = append(d.P50, nil), append(d.P99, nil)
		d.ServiceP99 = append(d.ServiceP99, nil)
		for _, l := range [][]series{d.Classes, d.AZ, d.TargetAZ, d.Workers} {
			for i := range l {
				l[i].Values = append(l[i].Values, nil)
			}
		}
		for _, pc := range d.Probes {
			for i := range pc.Series {
				pc.Series[i].Values = append(pc.Series[i].Values, nil)
			}
		}
	}
	for _, wk := range r.Workers {
		d.Workers = append(d.Workers, series{Name: wk.ID})
	}
	d.X = append(d.X, 0)
	pad()
	for _, win := range r.Windows {
		d.X = append(d.X, round(win.T+w/2, 3))
		d.Asked = append(d.Asked, num(round(win.AskedRPS, 3)))
		d.Achieved = append(d.Achieved, num(round(float64(win.Requests-win.Classes["not_sent"])/w, 3)))
		for k, wk := range r.Workers {
			var n uint64
			if i := int(math.Round(win.T / w)); i >= 0 && i < len(wk.SentPerWindow) {
				n = wk.SentPerWindow[i]
			}
			d.Workers[k].Values = append(d.Workers[k].Values, num(round(float64(n)/w, 3)))
		}
		if win.Requests > 0 {
			d.Success = append(d.Success, num(round(100*float64(win.Successes)/float64(win.Requests), 3)))
		} else {
			d.Success = append(d.Success, nil)
		}
		if win.Successes > 0 {
			d.P50 = append(d.P50, num(round(1000*win.P50S, 3)))
			d.P99 = append(d.P99, num(round(1000*win.P99S, 3)))
			d.ServiceP99 = append(d.ServiceP99, num(round(1000*win.ServiceP99S, 3)))
		} else {
			d.P50, d.P99 = append(d.P50, nil), append(d.P99, nil)
			d.ServiceP99 = append(d.ServiceP99, nil)
		}
		for i, c := range classNames {
			d.Classes[i].Values = append(d.Classes[i].Values, num(round(float64(win.Classes[c])/w, 3)))
		}
		for i := range d.AZ {
			d.AZ[i].Values = append(d.AZ[i].Values, num(round(float64(win.ByAZ[d.AZ[i].Name][1])/w, 3)))
		}
		for i := range d.TargetAZ {
			d.TargetAZ[i].Values = append(d.TargetAZ[i].Values, num(round(float64(win.ByTargetAZ[d.TargetAZ[i].Name][1])/w, 3)))
		}
		for _, pc := range d.Probes {
			for i := range pc.Series {
				if v, ok := win.Samples[pc.Name+"/"+pc.Series[i].Name]; ok {
					pc.Series[i].Values = append(pc.Series[i].Values, num(v))
				} else {
					pc.Series[i].Values = append(pc.Series[i].Values, nil)
				}
			}
		}
	}
	d.End = round(d.End, 3)
	d.X = append(d.X, d.End)
	pad()

	lane := 0
	for _, f := range r.Faults {
		if !f.Injected {
			continue
		}
		to := d.End
		if f.RolledBackAtS > 0 {
			to = f.RolledBackAtS
		}
		d.Bands = append(d.Bands, band{Kind: "held", From: f.InjectedAtS, To: to, Label: f.Name, Lane: lane})
		lane++
		rc := f.Recovery
		if rc.Impacted {
			end := d.End
			if rc.Recovered {
				end = rc.RecoveryStart
			}
			d.Bands = append(d.Bands, band{Kind: "impact", From: rc.ImpactStart, To: end, Label: f.Name + " impact"})
			if rc.Recovered {
				d.Bands = append(d.Bands, band{Kind: "recovered", From: rc.RecoveryStart,
					To: math.Min(d.End, rc.RecoveryStart+float64(r.StableFor)*w), Label: f.Name + " recovered"})
			}
		}
		if f.GroundTruth != nil {
			d.Marks = append(d.Marks, mark{T: f.GroundTruth.AtS, Kind: "truth", Name: f.Name, Label: f.GroundTruth.Event})
		}
	}
	for _, e := range r.Events {
		if e.Kind == "probe-error" {
			continue
		}
		d.Marks = append(d.Marks, mark{T: e.T, Kind: e.Kind, Name: e.Name, Label: e.Detail})
	}
	capacityData(r, &d)
	return d
}

func limits(thresholds []string) map[string]float64 {
	out := map[string]float64{}
	for _, t := range thresholds {
		e, err := experiments.ParseExpr(t, experiments.ScopeWindow, false)
		if err != nil {
			continue
		}
		switch e.Metric {
		case "success_ratio":
			out["success"] = round(100*e.Value, 4)
		case "error_ratio":
			out["success"] = round(100*(1-e.Value), 4)
		case "p50", "p99":
			out[e.Metric] = round(1000*e.Value, 3)
		}
	}
	return out
}

// orderedClasses puts error classes in the timeline's own order, unknown
// ones last.
func orderedClasses(m map[string]bool) []string {
	var out []string
	for _, c := range timeline.Classes {
		if m[string(c)] {
			out = append(out, string(c))
			delete(m, string(c))
		}
	}
	return append(out, sortedKeys(m)...)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func setOf[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
