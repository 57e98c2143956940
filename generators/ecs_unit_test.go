package generators

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gameday-dev/gameday/faults"
)

// startedBy is within ECS's limits (128 letters, digits, -, _ and /)
// whatever the run is called, and differs per worker and per run.
func TestECSStartedBy(t *testing.T) {
	ok := regexp.MustCompile(`^[A-Za-z0-9_/-]{1,128}$`)
	seen := map[string]string{}
	for _, id := range []string{"x-20261201T100000Z-abcdef-w0", "x-20261201T100000Z-abcdef-w1", "x-20261201T100000Z-abcdee-w0",
		"un nom à espaces & accents-w3", strings.Repeat("long", 200) + "-w0"} {
		s := ECSStartedBy(id)
		if !ok.MatchString(s) {
			t.Errorf("%q: startedBy %q is not valid for ECS", id, s)
		}
		if other, dup := seen[s]; dup {
			t.Errorf("%q and %q share startedBy %s", id, other, s)
		}
		seen[s] = id
		if tok := ecsClientToken(id); len(tok) > 64 || tok == s {
			t.Errorf("client token %q", tok)
		}
	}
	// Short: "gameday-" and 20 hex digits.
	if s := ECSStartedBy("run-w0"); !strings.HasPrefix(s, "gameday-") || len(s) != 28 {
		t.Errorf("startedBy %q", s)
	}
}

// A coordinator killed between the journal's starting line and RunTask's
// answer leaves only the starting line: Pending still has the reference
// (cluster, location, startedBy) to find the task with.
func TestPendingKeepsTheStartingReference(t *testing.T) {
	jr, err := OpenJournal(filepath.Join(t.TempDir(), "workers.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	eng := &ECS{Cluster: "load", Location: faults.Location{Kind: "sandbox", EndpointURL: "http://127.0.0.1:4566"}}
	for _, w := range []string{"r-w0", "r-w1"} {
		ref, err := eng.Plan(WorkerSpec{ID: w, Run: "r"})
		if err != nil {
			t.Fatal(err)
		}
		if err := jr.StartingRef("r", "ecs", w, ref); err != nil {
			t.Fatal(err)
		}
	}
	// w1's RunTask answered; w0's never did.
	b, _ := json.Marshal(ECSRef{Location: eng.Location, Cluster: "load", StartedBy: ECSStartedBy("r-w1"), TaskARN: "arn:aws:ecs:local-1:000000000000:task/load/abc"})
	if err := jr.Started("r", "ecs", "r-w1", b); err != nil {
		t.Fatal(err)
	}
	_ = jr.Close()
	pend, err := Pending(jr.Path())
	if err != nil || len(pend) != 2 {
		t.Fatalf("pending %v %v", pend, err)
	}
	for i, e := range pend {
		var ref ECSRef
		if err := json.Unmarshal(e.Ref, &ref); err != nil {
			t.Fatal(err)
		}
		if e.Engine != "ecs" || ref.Cluster != "load" || ref.StartedBy != ECSStartedBy(e.Worker) || ref.Location.EndpointURL != "http://127.0.0.1:4566" {
			t.Errorf("entry %d: %+v ref %+v", i, e, ref)
		}
		if (ref.TaskARN != "") != (e.Worker == "r-w1") {
			t.Errorf("%s: task ARN %q", e.Worker, ref.TaskARN)
		}
	}
}

// Without a way to reach ECS, an ECS leftover is an error and stays in the
// journal for another try; one from an in-process sandbox ended with it.
func TestStopLeftoversECSWithoutClient(t *testing.T) {
	jr, err := OpenJournal(filepath.Join(t.TempDir(), "workers.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	remote, _ := json.Marshal(ECSRef{Location: faults.Location{Kind: "aws", Region: "eu-west-1"}, Cluster: "c", StartedBy: ECSStartedBy("r-w0")})
	inproc, _ := json.Marshal(ECSRef{Location: faults.Location{Kind: "sandbox", InProcess: true}, Cluster: "c", StartedBy: ECSStartedBy("r-w1")})
	_ = jr.StartingRef("r", "ecs", "r-w0", remote)
	_ = jr.StartingRef("r", "ecs", "r-w1", inproc)
	_ = jr.Close()
	var out strings.Builder
	err = StopLeftovers([]string{jr.Path()}, &out)
	if err == nil || !strings.Contains(err.Error(), "worker r-w0: this command cannot reach ECS") {
		t.Fatalf("err %v", err)
	}
	if !strings.Contains(out.String(), "worker r-w1 (ecs): ended with the in-process sandbox") {
		t.Errorf("output %q", out.String())
	}
	pend, _ := Pending(jr.Path())
	if len(pend) != 1 || pend[0].Worker != "r-w0" {
		t.Fatalf("pending %v", pend)
	}
}
