package faults_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/faults"
)

func readLines(t *testing.T, path string) []faults.Entry {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []faults.Entry
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var e faults.Entry
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		out = append(out, e)
	}
	return out
}

func TestJournalRoundTrip(t *testing.T) {
	e := start(t, "", nil)
	path := filepath.Join(t.TempDir(), "state", "journal.jsonl")
	j, err := faults.OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()

	kill, err := faults.New(e.ctx, e.c, e.topo, experiments.Fault{Name: "kill", Kind: faults.KindTerminateInstances})
	if err != nil {
		t.Fatal(err)
	}
	hole, err := faults.New(e.ctx, e.c, e.topo, blackholeSpec("local-1b", "all"))
	if err != nil {
		t.Fatal(err)
	}

	id1, err := j.Begin("run-1", kill)
	if err != nil {
		t.Fatal(err)
	}
	// Durable before Apply: the line is in the file, read by another handle.
	lines := readLines(t, path)
	if len(lines) != 1 || lines[0].ID != id1 || lines[0].State != faults.StateApplying || lines[0].Run != "run-1" ||
		lines[0].Fault != "kill" || lines[0].Kind != faults.KindTerminateInstances || len(lines[0].Targets) != 1 || len(lines[0].Undo) == 0 {
		t.Fatalf("after Begin: %+v", lines)
	}
	if err := j.Done(id1); err != nil {
		t.Fatal(err)
	}

	// The blackhole: begun, applied, then the process "crashes" before the
	// Applied line, so only the Begin record (no clone id yet) survives.
	id2, err := j.Begin("run-1", hole)
	if err != nil {
		t.Fatal(err)
	}
	if id2 == id1 {
		t.Fatal("entry ids repeat")
	}
	if err := hole.Apply(e.ctx); err != nil {
		t.Fatal(err)
	}
	clone := hole.Undo().(faults.BlackholeUndo).Clone

	pending, err := faults.ReadPending(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || pending[0].ID != id2 || pending[0].Kind != faults.KindAZBlackhole {
		t.Fatalf("pending %+v, want only %s", pending, id2)
	}
	var u faults.BlackholeUndo
	if err := json.Unmarshal(pending[0].Undo, &u); err != nil || u.Token == "" || len(u.Subnets) != 2 || u.Clone != "" {
		t.Fatalf("begin undo record %+v (%v)", u, err)
	}

	// A later `gameday rollback`: rebuild from the journal and roll back.
	f, err := faults.Restore(e.c, pending[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Rollback(e.ctx); err != nil {
		t.Fatalf("Rollback of the restored fault: %v", err)
	}
	for _, s := range u.Subnets {
		if got := e.aclOf(s.ID); got != s.OriginalACL {
			t.Fatalf("subnet %s on %s, want %s", s.ID, got, s.OriginalACL)
		}
	}
	if e.aclExists(clone) {
		t.Fatalf("clone %s not deleted", clone)
	}
	if err := j.Done(pending[0].ID); err != nil {
		t.Fatal(err)
	}
	if p, err := faults.ReadPending(path); err != nil || len(p) != 0 {
		t.Fatalf("pending after Done: %+v (%v)", p, err)
	}

	// Applied carries the fuller record; a torn last line is ignored.
	id3, _ := j.Begin("run-2", kill)
	if err := j.Applied(id3, "run-2", kill, nil); err != nil {
		t.Fatal(err)
	}
	fh, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	fh.WriteString(`{"id":"torn","sta`)
	fh.Close()
	p, err := faults.ReadPending(path)
	if err != nil || len(p) != 1 || p[0].ID != id3 || p[0].State != faults.StateApplied || p[0].Run != "run-2" {
		t.Fatalf("pending %+v (%v)", p, err)
	}
	// Reopening after the "crash" ends the torn line; new lines parse.
	j.Close()
	j2, err := faults.OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	id4, err := j2.Begin("run-3", kill)
	if err != nil {
		t.Fatal(err)
	}
	p, err = faults.ReadPending(path)
	if err != nil || len(p) != 2 || p[0].ID != id3 || p[1].ID != id4 {
		t.Fatalf("pending after reopen %+v (%v)", p, err)
	}
	if p, err := faults.ReadPending(filepath.Join(t.TempDir(), "none")); err != nil || p != nil {
		t.Fatalf("missing journal: %v %v", p, err)
	}
}
