package experiments

import (
	"fmt"
	"strings"
)

// ReportFormats names what report.formats (and gameday's --format flags) may
// list: the renderers of package reports, plus "raw" for every result in
// vegeta's encoding (the same as report.raw: true).
var ReportFormats = []string{"table", "json", "html", "md", "junit", "raw"}

// validateReport checks report.formats.
func (x *Experiment) validateReport(v *validator) {
	for i, f := range x.Report.Formats {
		if !contains(ReportFormats, f) {
			v.add(fmt.Sprintf("report.formats[%d]", i), fmt.Sprintf("unknown format %q (%s)", f, strings.Join(ReportFormats, ", ")))
		}
	}
}
