package reports

import (
	"fmt"
	"io"

	"github.com/olekukonko/tablewriter"

	"github.com/gameday-dev/gameday/record"
)

// workerHeader and workerRows: the per-worker table of a run whose load
// came from several generators (load.generators).
var workerHeader = []string{"worker", "engine", "slice", "asked", "sent", "not sent", "p99", "clock offset", "status"}

func workerRows(r *record.Run) [][]string {
	var rows [][]string
	for _, w := range r.Workers {
		status := "finished"
		if w.Lost != "" {
			status = "LOST: " + w.Lost
		}
		rows = append(rows, []string{w.ID, w.Engine, fmt.Sprint(w.Segment), fmt.Sprint(w.Asked), fmt.Sprint(w.Sent),
			fmt.Sprint(w.NotSent), secs(w.P99S), fmt.Sprintf("%+.3fms", 1000*w.OffsetS), status})
	}
	return rows
}

// workersTable writes the per-worker table to the terminal summary.
func workersTable(w io.Writer, r *record.Run) error {
	if len(r.Workers) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nLoad generators")
	t := tablewriter.NewWriter(w)
	t.Header(workerHeader)
	for _, row := range workerRows(r) {
		if err := t.Append(row); err != nil {
			return err
		}
	}
	return t.Render()
}

// workersMarkdown writes the per-worker table in Markdown.
func workersMarkdown(f func(string, ...any), r *record.Run) {
	if len(r.Workers) == 0 {
		return
	}
	f("\n### Load generators\n\n| worker | engine | slice | asked | sent | not sent | p99 | clock offset | status |\n|---|---|---:|---:|---:|---:|---:|---:|---|\n")
	for _, row := range workerRows(r) {
		for i := range row {
			row[i] = MDEscape(row[i])
		}
		f("| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8])
	}
}
