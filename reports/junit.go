package reports

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/gameday-dev/gameday/record"
)

// JUnit XML in the shape of the Ant/Jenkins junit schema (testdata/junit.xsd
// is the schema the tests validate it against): one <testsuite> per run, one
// <testcase> per gate verdict, one per fault's recovery, and one for the run
// itself (it ran to the end, its baseline held). A failed gate or an
// unrecovered fault is a <failure>; an abort, an interruption, a runtime
// error or an incomplete rollback is an <error>; a fault that was not
// injected is <skipped>.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	ID         string          `xml:"id,attr,omitempty"`
	Package    string          `xml:"package,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  *cdata          `xml:"system-out"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Skipped   *junitSkipped `xml:"skipped"`
	Error     *junitResult  `xml:"error"`
	Failure   *junitResult  `xml:"failure"`
	SystemOut *cdata        `xml:"system-out"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

type junitResult struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

// cdata keeps multi-line text readable in the file.
type cdata struct {
	Text string `xml:",cdata"`
}

// JUnit writes the run as JUnit XML.
func JUnit(w io.Writer, r *record.Run) error {
	class := "gameday." + strings.ReplaceAll(r.Experiment, " ", "_")
	s := junitSuite{
		Name:      "gameday: " + r.Experiment,
		Time:      seconds(r.EndedAt.Sub(r.StartedAt).Seconds()),
		Timestamp: r.StartedAt.UTC().Format("2006-01-02T15:04:05"), // Ant's schema: no zone, so UTC
		ID:        r.ID,
		Package:   class,
		Properties: []junitProperty{
			{"experiment", r.Experiment}, {"run_id", r.ID}, {"file", r.File}, {"target", r.Target},
			{"status", string(r.Status)}, {"exit_code", fmt.Sprint(r.ExitCode)}, {"message", r.Message},
			{"steady_state", strings.Join(r.Thresholds, " and ")}, {"window_s", fmt.Sprint(r.WindowS)},
			{"requests_sent", fmt.Sprint(r.Load.Sent)},
		},
	}

	run := junitCase{Name: "run: completed with a healthy baseline", Classname: class + ".run", Time: s.Time}
	switch r.Status {
	case "passed", "failed":
	case "baseline-failed":
		run.Failure = &junitResult{Message: "the baseline did not hold the steady state; no fault was injected", Type: string(r.Status), Text: r.Message}
	default:
		run.Error = &junitResult{Message: string(r.Status) + ": " + r.Message, Type: string(r.Status), Text: r.Message}
	}
	s.Cases = append(s.Cases, run)

	for _, f := range r.Faults {
		c := junitCase{Name: f.Name + ": recovery", Classname: class + ".faults", Time: "0.000"}
		rc := f.Recovery
		var out strings.Builder
		fmt.Fprintf(&out, "%s (%s): %s\n", f.Name, f.Kind, f.Plan)
		switch {
		case !f.Injected:
			c.Skipped = &junitSkipped{Message: "not injected: " + f.Skipped}
		case rc.Impacted && !rc.Recovered:
			c.Failure = &junitResult{Message: fmt.Sprintf("did not recover: the steady state had not returned when the next fault or the run's end came (impact from %s after injection)", secs(rc.TimeToImpact)),
				Type: "recovery"}
		default:
			c.Time = seconds(rc.TimeToRecover)
		}
		if f.Injected {
			fr := faultRow(f)
			fmt.Fprintf(&out, "injected at %s; time to impact %s, time to recover %s, impact %s; failed %d of %d requests; worst window %s; peak p99 %s",
				secs(f.InjectedAtS), fr.Impact, fr.Recover, fr.Duration, rc.FailedRequests, rc.Requests, fr.Worst, secs(rc.PeakP99))
			if len(f.InfraS) > 0 {
				fmt.Fprintf(&out, "; infrastructure recovery: %s", infra(f.InfraS))
			}
			out.WriteString("\n")
			if f.Error != "" || !f.RolledBack {
				msg := f.Error
				if msg == "" {
					msg = "not rolled back"
				}
				c.Error = &junitResult{Message: msg, Type: "rollback", Text: "finish it with `gameday rollback`"}
			}
		}
		for _, n := range f.Notes {
			fmt.Fprintf(&out, "note: %s\n", n)
		}
		for _, n := range f.RollbackNotes {
			fmt.Fprintf(&out, "rollback note: %s\n", n)
		}
		if c.Failure != nil {
			c.Failure.Text = out.String()
		}
		c.SystemOut = &cdata{out.String()}
		s.Cases = append(s.Cases, c)
	}

	s.Cases = append(s.Cases, scalingCases(class, r)...)
	s.Properties = append(s.Properties, scalingProperties(r)...)

	for _, g := range r.Gates {
		c := junitCase{Name: g.Scope + ": " + g.Gate, Classname: class + ".gates", Time: "0.000"}
		if !g.Pass {
			c.Failure = &junitResult{Message: fmt.Sprintf("measured %s, limit %s", g.Measured, g.Limit), Type: "gate",
				Text: fmt.Sprintf("gate %q on %s failed: measured %s, limit %s", g.Gate, g.Scope, g.Measured, g.Limit)}
		}
		s.Cases = append(s.Cases, c)
	}

	for _, c := range s.Cases {
		s.Tests++
		switch {
		case c.Skipped != nil:
			s.Skipped++
		case c.Error != nil:
			s.Errors++
		case c.Failure != nil:
			s.Failures++
		}
	}
	var table bytes.Buffer
	if err := Table(&table, r); err != nil {
		return err
	}
	s.SystemOut = &cdata{table.String()}

	doc := junitSuites{Name: "gameday", Tests: s.Tests, Failures: s.Failures, Errors: s.Errors, Skipped: s.Skipped,
		Time: s.Time, Suites: []junitSuite{s}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("encode JUnit XML: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// seconds renders a duration in seconds for JUnit's time attributes; "never"
// and negative values become 0.
func seconds(s float64) string {
	if s < 0 || s != s || s > 1e12 {
		s = 0
	}
	return fmt.Sprintf("%.3f", s)
}
