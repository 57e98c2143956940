package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoTemplateExecution: the built binary holds no template executor.
// Executing any text/template or html/template calls reflect's
// MethodByName with names known only at run time, so the linker then keeps
// every exported method of every type that reaches an interface: with the
// HTML report on html/template the binary was 84 MB, 18 MB of it the EC2
// client's 2,400 operations (gameday calls about 20), and every process
// touched about 20 MB more of it (peak RSS of a 20k-rps run: 70 MB against
// 49 MB now). The report page is written by Go code (reports/htmlpage.go).
// A dependency can bring it back too (cobra executes its usage template
// only when a custom one is set, which the linker can see); this catches
// both, and the method count says whether dead-code elimination works.
func TestNoTemplateExecution(t *testing.T) {
	bin := gamedayBinary(t)
	out, err := exec.Command("go", "tool", "nm", bin).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool nm: %v\n%s", err, out)
	}
	ec2Methods := 0
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		sym := f[len(f)-1]
		if strings.HasPrefix(sym, "text/template.(*state).walk") || strings.HasPrefix(sym, "text/template.(*state).evalField") {
			t.Errorf("the binary can execute templates (%s): the linker keeps every exported method; see reports/htmlpage.go", sym)
		}
		if strings.HasPrefix(sym, "github.com/aws/aws-sdk-go-v2/service/ec2.(*Client).") {
			ec2Methods++
		}
	}
	// gameday calls a few dozen EC2 operations (each with its paginators
	// and waiters); the client has about 2,400.
	if ec2Methods > 300 {
		t.Errorf("%d methods of the EC2 client are linked: dead-code elimination of methods is off", ec2Methods)
	}
	t.Logf("%d EC2 client methods linked", ec2Methods)
}
