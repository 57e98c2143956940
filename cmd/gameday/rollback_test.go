package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/faults"
	"github.com/gameday-dev/gameday/sandbox"
	"github.com/gameday-dev/gameday/sandbox/sim"
	"github.com/gameday-dev/gameday/sandbox/sim/simtest"
	"github.com/gameday-dev/gameday/topology"
)

// These tests run `gameday rollback` in-process on journals written by
// the faults package against in-process sandboxes on loopback.

type rbSandbox struct {
	sb     *sandbox.Sandbox
	c      *awsclients.Clients
	topo   *topology.Topology
	target faults.Location
}

func rbStart(t *testing.T, seed uint64) *rbSandbox {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	sb, err := sandbox.Start(ctx, sandbox.Config{Region: sim.Config{Timings: simtest.Timings(), Seed: seed}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	cfg := sb.AWSConfig(ctx)
	c := awsclients.New(cfg)
	topo, err := topology.Resolve(ctx, c, experiments.Target{Kind: "sandbox"})
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.STS.GetCallerIdentity(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &rbSandbox{sb: sb, c: c, topo: topo, target: faults.Location{Kind: "sandbox", Region: cfg.Region, EndpointURL: sb.Endpoint(), Account: aws.ToString(id.Account)}}
}

// applyBlackhole blackholes local-1b in s and journals it with target.
func (s *rbSandbox) applyBlackhole(t *testing.T, path string, target faults.Location) {
	t.Helper()
	ctx := context.Background()
	f, err := faults.New(ctx, s.c, s.topo, experiments.Fault{Name: "dark", Kind: faults.KindAZBlackhole, Targets: experiments.Selector{AZ: "local-1b"}})
	if err != nil {
		t.Fatal(err)
	}
	j, err := faults.OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	j.SetLocation(target)
	id, err := j.Begin("run-1", f)
	if err != nil {
		t.Fatal(err)
	}
	aerr := f.Apply(ctx)
	if aerr != nil {
		t.Fatal(aerr)
	}
	if err := j.Applied(id, "run-1", f, aerr); err != nil {
		t.Fatal(err)
	}
}

func (s *rbSandbox) dark(t *testing.T) bool {
	t.Helper()
	for _, a := range s.sb.Region().NetworkACLs() {
		for _, tg := range a.Tags {
			if tg.Key == faults.TagToken && len(a.Associations) > 0 {
				return true
			}
		}
	}
	return false
}

func rollbackMain(t *testing.T, dir string, args ...string) (int, string) {
	t.Helper()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil { // the default journal glob is relative
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	var out bytes.Buffer
	code := Main(context.Background(), append([]string{"rollback"}, args...), &out, &out)
	return code, out.String()
}

func TestRollbackJournalIntegrity(t *testing.T) {
	s := rbStart(t, 5)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}

	t.Run("garbage is an error naming the line, not nothing to roll back", func(t *testing.T) {
		code, out := rollbackMain(t, dir, "--journal", write("garbage.jsonl", "hello\nworld\n"))
		if code != 4 || !strings.Contains(out, "line 1") || strings.Contains(out, "nothing") {
			t.Fatalf("exit %d\n%s", code, out)
		}
	})

	t.Run("a corrupt middle line is an error naming it", func(t *testing.T) {
		p := filepath.Join(dir, "mid.jsonl")
		s.applyBlackhole(t, p, s.target)
		b, _ := os.ReadFile(p)
		lines := strings.SplitAfter(string(b), "\n")
		corrupt := lines[0] + "#### not an entry ####\n" + strings.Join(lines[1:], "")
		if err := os.WriteFile(p, []byte(corrupt), 0o644); err != nil {
			t.Fatal(err)
		}
		code, out := rollbackMain(t, dir, "--journal", p)
		if code != 4 || !strings.Contains(out, "line 2") {
			t.Fatalf("exit %d\n%s", code, out)
		}
		if !s.dark(t) {
			t.Fatal("a corrupt journal was acted on")
		}
		// Repaired, it rolls back.
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if code, out := rollbackMain(t, dir, "--journal", p); code != 0 || s.dark(t) {
			t.Fatalf("exit %d, dark %v\n%s", code, s.dark(t), out)
		}
	})

	t.Run("a device is refused at once", func(t *testing.T) {
		done := make(chan struct{})
		var code int
		var out string
		go func() { code, out = rollbackMain(t, dir, "--journal", "/dev/zero"); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("reading /dev/zero as a journal did not end")
		}
		if code != 2 || !strings.Contains(out, "not a regular file") {
			t.Fatalf("exit %d\n%s", code, out)
		}
	})

	t.Run("--timeout 0 is bad input", func(t *testing.T) {
		code, out := rollbackMain(t, dir, "--timeout", "0", "--journal", write("empty.jsonl", ""))
		if code != 2 || !strings.Contains(out, "--timeout") {
			t.Fatalf("exit %d\n%s", code, out)
		}
	})

	t.Run("--sweep with a finished journal sweeps its account", func(t *testing.T) {
		p := filepath.Join(dir, "finished.jsonl")
		s.applyBlackhole(t, p, s.target)
		if code, out := rollbackMain(t, dir, "--journal", p); code != 0 {
			t.Fatalf("exit %d\n%s", code, out)
		}
		code, out := rollbackMain(t, dir, "--journal", p, "--sweep")
		if code != 0 || !strings.Contains(out, "sweep sandbox") || !strings.Contains(out, "no gameday leftovers") {
			t.Fatalf("exit %d\n%s", code, out)
		}
	})

	t.Run("another sandbox at the journal's endpoint: not marked done", func(t *testing.T) {
		other := rbStart(t, 6) // another region model: other ids
		if other.target.Account != s.target.Account {
			t.Skip("the sandboxes have different accounts; the test needs the same one")
		}
		p := filepath.Join(dir, "elsewhere.jsonl")
		s.applyBlackhole(t, p, other.target) // applied in s, journaled as other
		code, out := rollbackMain(t, dir, "--journal", p)
		if code != 4 || !strings.Contains(out, "cannot confirm") {
			t.Fatalf("exit %d\n%s", code, out)
		}
		if pend, err := faults.ReadPending(p); err != nil || len(pend) != 1 {
			t.Fatalf("the entry was marked done: %d pending (%v)", len(pend), err)
		}
		// Pointed back at the right account, it finishes.
		b, _ := os.ReadFile(p)
		fixed := strings.ReplaceAll(string(b), other.target.EndpointURL, s.target.EndpointURL)
		if err := os.WriteFile(p, []byte(fixed), 0o644); err != nil {
			t.Fatal(err)
		}
		if code, out := rollbackMain(t, dir, "--journal", p); code != 0 || s.dark(t) {
			t.Fatalf("exit %d, dark %v\n%s", code, s.dark(t), out)
		}
	})

	t.Run("a reused pid that is not gameday does not block", func(t *testing.T) {
		notes := write("gameday-notes.txt", "notes\n")
		tail := exec.Command("tail", "-f", notes)
		if err := tail.Start(); err != nil {
			t.Skip("no tail: ", err)
		}
		defer func() { _ = tail.Process.Kill(); _ = tail.Wait() }()
		p := filepath.Join(dir, "reused.jsonl")
		s.applyBlackhole(t, p, s.target)
		b, _ := os.ReadFile(p)
		b = bytes.ReplaceAll(b, []byte(`"pid":`+strconv.Itoa(os.Getpid())), []byte(`"pid":`+strconv.Itoa(tail.Process.Pid)))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		code, out := rollbackMain(t, dir, "--journal", p)
		if code != 0 || strings.Contains(out, "SKIPPED") || s.dark(t) {
			t.Fatalf("exit %d, dark %v\n%s", code, s.dark(t), out)
		}
	})
}

func TestRollbackRefusesAFIFO(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "journal.jsonl")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Skip("mkfifo: ", err)
	}
	done := make(chan struct{})
	var code int
	var out string
	go func() { code, out = rollbackMain(t, dir, "--journal", p); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		f, _ := os.OpenFile(p, os.O_WRONLY, 0) // unblock the reader
		f.Close()
		t.Fatal("a FIFO as journal blocked")
	}
	if code != 2 || !strings.Contains(out, "not a regular file") {
		t.Fatalf("exit %d\n%s", code, out)
	}
}
