package runner

import (
	"os/exec"
	"strings"
	"testing"
)

// The runner links no renderer (reports, compare's tables, html/template
// in our own packages, tablewriter) and no sandbox internals: imports run
// one way, from cmd through runner down to awsclients, and reports only
// read the record.
func TestImportsOneWay(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const mod = "github.com/gameday-dev/gameday/"
	forbidden := []string{
		mod + "reports", mod + "compare",
		"github.com/olekukonko/tablewriter",
		mod + "sandbox/sim", mod + "sandbox/awsapi",
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, " ")
		if pkg == mod+"sandbox" {
			t.Errorf("runner links the sandbox (open it through environment/sandboxenv)")
		}
		for _, f := range forbidden {
			if pkg == f || strings.HasPrefix(pkg, f+"/") {
				t.Errorf("runner links %s", pkg)
			}
		}
		// html/template also arrives through viper (spf13/cast), which is
		// not ours; none of our own packages may use it.
		if strings.HasPrefix(pkg, mod) && strings.Contains(" "+imports+" ", " html/template ") {
			t.Errorf("%s (linked by runner) imports html/template", pkg)
		}
	}
}
