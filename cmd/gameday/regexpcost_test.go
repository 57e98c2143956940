package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp/syntax"
	"strconv"
	"strings"
	"testing"
)

// maxRepeat is the largest bounded repetition ({n,m}) a compiled pattern
// of the module may hold. Go's regexp compiles x{1,255} into 255 copies of
// x (and a one-pass copy of them): the package-level patterns are compiled
// at every start of the binary, whatever the command, and five of them once
// cost 1.4 MB of heap and about 20 ms there. Check the length apart and
// use + or * instead.
const maxRepeat = 32

// TestNoLargeBoundedRepetitionInPatterns scans every regexp.MustCompile and
// regexp.Compile of a string literal outside tests for a repetition bound
// above maxRepeat.
func TestNoLargeBoundedRepetitionInPatterns(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "out" || d.Name() == "bin") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 1 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "MustCompile" && sel.Sel.Name != "Compile") {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "regexp" {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			pattern, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			re, err := syntax.Parse(pattern, syntax.Perl)
			if err != nil {
				t.Errorf("%s: %v", fset.Position(lit.Pos()), err)
				return true
			}
			checked++
			if m := largestRepeat(re); m > maxRepeat {
				t.Errorf("%s: pattern %s repeats up to %d times (at most %d here): use + or * and check the length apart",
					fset.Position(lit.Pos()), lit.Value, m, maxRepeat)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 10 {
		t.Fatalf("checked only %d patterns: the scan is not finding them", checked)
	}
}

// largestRepeat is the largest bound of any {n,m} in re.
func largestRepeat(re *syntax.Regexp) int {
	m := 0
	if re.Op == syntax.OpRepeat {
		m = max(re.Min, re.Max)
	}
	for _, s := range re.Sub {
		m = max(m, largestRepeat(s))
	}
	return m
}
