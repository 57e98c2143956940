package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLayoutTableIsComplete: every Go package of the module has a doc.go
// and a row in the README's layout table, and every row names a package
// that exists.
func TestLayoutTableIsComplete(t *testing.T) {
	root := filepath.Join("..", "..")
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "\n## Layout\n")
	if !ok {
		t.Fatal("README.md has no ## Layout section")
	}
	section, _, _ := strings.Cut(after, "\n## ")
	rows := map[string]bool{}
	for _, line := range strings.Split(section, "\n") {
		if name, ok := strings.CutPrefix(line, "| `"); ok {
			if name, _, ok := strings.Cut(name, "`"); ok {
				rows[name] = true
			}
		}
	}
	pkgs := map[string]bool{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "out" || d.Name() == "bin" || d.Name() == "gameday-runs") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		dir, _ := filepath.Rel(root, filepath.Dir(path))
		pkgs[filepath.ToSlash(dir)] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for p := range pkgs {
		if !rows[p] {
			t.Errorf("package %s has no row in the README's layout table", p)
		}
		if _, err := os.Stat(filepath.Join(root, p, "doc.go")); err != nil {
			t.Errorf("package %s has no doc.go", p)
		}
	}
	for r := range rows {
		if !pkgs[r] {
			t.Errorf("the README's layout table names %s, which is not a package", r)
		}
	}
}
