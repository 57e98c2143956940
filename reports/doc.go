// Package reports renders a run record (package record) for people and
// machines: a terminal table (tablewriter), the JSON record itself, a
// self-contained HTML report with timeline charts (uPlot, embedded), a
// Markdown summary for pull requests and CI step summaries, and JUnit XML
// for CI test views. Renderers read only the record, so any saved run can be
// re-rendered; Formats lists them with the file each writes in a run folder.
package reports
