// Package reports renders a run record (package record) for people and
// machines: a terminal summary with tablewriter and the JSON record itself.
// Renderers read only the record, so any saved run can be re-rendered.
package reports
