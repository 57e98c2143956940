package main

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/olekukonko/tablewriter/pkg/twwidth"
)

// startupHeapBudget bounds what package initialisation allocates in the
// gameday binary (GODEBUG=inittrace=1, summed over every package). This
// heap is live for the whole process and the garbage collector's headroom
// (GOGC=100) doubles it, so every MB here is about 2 MiB of the peak RSS
// of every gameday process, a 20k-rps load run's included (issue 16: within
// 10 MiB of the vegeta CLI's, whose initialisation allocates 0.35 MB).
// It was 5.8 MB when aws-sdk-go-v2's service modules for RDS, Auto
// Scaling, ELBv2 and ECS built their `schemas` packages at start-up
// (3.1 MB of them; README, Dependencies) and tablewriter its width cache
// (0.66 MB, freed by memory.go's init but counted here); it is 2.7 MB.
const startupHeapBudget = 3 << 20

// pinnedBelowSchemas are the aws-sdk-go-v2 service modules go.mod holds at
// their newest release without a `schemas` package. (CloudWatch's has been
// there since before its Smithy RPC v2 CBOR protocol, and STS's comes with
// the config module: 0.36 and 0.08 MB, kept.)
var pinnedBelowSchemas = []string{"rds", "autoscaling", "elasticloadbalancingv2", "ecs"}

// TestStartupHeap: the binary's package initialisation stays within
// startupHeapBudget. The count is exact (the same binary allocates the
// same at every start), not a timing. A failure lists the packages that
// allocate most: an SDK upgrade that brings a service's schemas is the
// likely cause; README, Dependencies says what to weigh.
func TestStartupHeap(t *testing.T) {
	bin := gamedayBinary(t)
	cmd := exec.Command(bin, "version")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gameday version: %v\n%s", err, out)
	}
	type pkgInit struct {
		pkg   string
		bytes int
	}
	var inits []pkgInit
	total := 0
	for _, line := range strings.Split(string(out), "\n") {
		// init github.com/x/y @12 ms, 0.5 ms clock, 1234 bytes, 5 allocs
		f := strings.Fields(line)
		if len(f) < 10 || f[0] != "init" || f[8] != "bytes," {
			continue
		}
		n, err := strconv.Atoi(f[7])
		if err != nil {
			t.Fatalf("inittrace line %q: %v", line, err)
		}
		inits = append(inits, pkgInit{f[1], n})
		total += n
	}
	if len(inits) < 50 {
		t.Fatalf("only %d inittrace lines: the format changed?\n%s", len(inits), out)
	}
	slices.SortFunc(inits, func(a, b pkgInit) int { return b.bytes - a.bytes })
	var top strings.Builder
	for _, p := range inits[:min(8, len(inits))] {
		fmt.Fprintf(&top, "\n  %8.1f KB  %s", float64(p.bytes)/1e3, p.pkg)
	}
	if total > startupHeapBudget {
		t.Errorf("package initialisation allocates %.2f MB, over the %.2f MB budget; the most:%s", float64(total)/1e6, float64(startupHeapBudget)/1e6, top.String())
	}
	for _, p := range inits {
		for _, svc := range pinnedBelowSchemas {
			if p.pkg == "github.com/aws/aws-sdk-go-v2/service/"+svc+"/schemas" {
				t.Errorf("%s is linked and allocates %.0f KB at start-up: service/%s moved past its pin (go.mod; README, Dependencies)", p.pkg, float64(p.bytes)/1e3, svc)
			}
		}
	}
	t.Logf("package initialisation allocates %.2f MB; the most:%s", float64(total)/1e6, top.String())
}

// TestTablewriterWidthCacheOff: memory.go's init turned tablewriter's
// width cache off (this test binary runs package main's init too).
func TestTablewriterWidthCacheOff(t *testing.T) {
	if _, capacity, _ := twwidth.GetCacheStats(); capacity != 0 {
		t.Errorf("tablewriter's width cache holds up to %d entries; memory.go turns it off", capacity)
	}
}
