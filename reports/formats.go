package reports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gameday-dev/gameday/record"
)

// Format is one renderer and the file it writes in a run folder.
type Format struct {
	Name   string // as --format and an experiment's report.formats name it
	File   string // the file's name in a run folder
	Render func(io.Writer, *record.Run) error
}

// Formats lists every renderer, in the order a run writes them.
var Formats = []Format{
	{Name: "json", File: "run.json", Render: JSON},
	{Name: "html", File: "report.html", Render: HTML},
	{Name: "md", File: "summary.md", Render: Markdown},
	{Name: "junit", File: "junit.xml", Render: JUnit},
	{Name: "table", File: "report.txt", Render: Table},
}

// Names lists the formats' names.
func Names() []string {
	out := make([]string, len(Formats))
	for i, f := range Formats {
		out[i] = f.Name
	}
	return out
}

// ParseFormats resolves format names, each of which may be a comma-separated
// list ("html,md"), in the order given and without repeats.
func ParseFormats(names []string) ([]Format, error) {
	var out []Format
	seen := map[string]bool{}
	for _, list := range names {
		for _, n := range strings.Split(list, ",") {
			n = strings.TrimSpace(n)
			if n == "" || seen[n] {
				continue
			}
			f, ok := lookup(n)
			if !ok {
				return nil, fmt.Errorf("unknown format %q (%s)", n, strings.Join(Names(), ", "))
			}
			seen[n] = true
			out = append(out, f)
		}
	}
	return out, nil
}

func lookup(name string) (Format, bool) {
	for _, f := range Formats {
		if f.Name == name {
			return f, true
		}
	}
	return Format{}, false
}

// JSON writes the record itself, indented, as record.Write saves it.
func JSON(w io.Writer, r *record.Run) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode run record: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteFiles renders r in each format into dir (created if needed), one
// file per format, and returns the paths written.
func WriteFiles(dir string, r *record.Run, fs []Format) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create report folder: %w", err)
	}
	var paths []string
	for _, f := range fs {
		path := filepath.Join(dir, f.File)
		if err := writeFile(path, r, f); err != nil {
			return paths, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}

func writeFile(path string, r *record.Run, f Format) error {
	var b bytes.Buffer
	if err := f.Render(&b, r); err != nil {
		return fmt.Errorf("render %s: %w", f.Name, err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s report: %w", f.Name, err)
	}
	return nil
}
