package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gameday-dev/gameday/attack"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/generators"
	"github.com/gameday-dev/gameday/internal/testutil"
	"github.com/gameday-dev/gameday/record"
	"github.com/gameday-dev/gameday/runner"
	"github.com/gameday-dev/gameday/timeline"
)

// An AZ blackhole held for a while in a short run against the in-process
// sandbox, sent by one process or by three workers.
const distributedRun = `name: distributed
target: {kind: sandbox}
load: {rate: 60, duration: 16s, timeout: 1s, max_workers: 64, max_connections: 64}
steady_state: {window: 1s, thresholds: ["success_ratio >= 0.9"], stable_for: 2, baseline: 3s, verify: 3s}
faults:
  - {name: outage, kind: az-blackhole, at: 4s, duration: 6s, targets: {az: local-1b}, subnets: all}
`

func runDistributed(t *testing.T, yaml string, workers int) (*record.Run, *generators.Coordinator, string) {
	t.Helper()
	return runDistributedWith(t, context.Background(), yaml, workers, nil)
}

// runDistributedWith is runDistributed with a context and a function called
// once the workers are at the start (with the coordinator).
func runDistributedWith(t *testing.T, ctx context.Context, yaml string, workers int, started func(*generators.Coordinator)) (*record.Run, *generators.Coordinator, string) {
	t.Helper()
	return runDistributedOn(t, ctx, yaml, distEngine{name: "local"}, workers, started)
}

// distEngine is the engine runDistributedOn sends the load with: local
// (worker processes of the gameday binary), or ecs (tasks of the sandbox's
// ECS, a `gameday sandbox` process at endpoint, which the run attaches to).
type distEngine struct {
	name     string
	endpoint string
}

// runDistributedOn is runDistributedWith on a given engine.
func runDistributedOn(t *testing.T, ctx context.Context, yaml string, eng distEngine, workers int, started func(*generators.Coordinator)) (*record.Run, *generators.Coordinator, string) {
	t.Helper()
	x, c, err := experiments.Parse("distributed.yaml", []byte(yaml), nil, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if eng.endpoint != "" {
		x.Target.Sandbox.Endpoint = eng.endpoint
	}
	if workers > 0 {
		x.Load.Generators = &experiments.Generators{Engine: eng.name, Count: workers}
		if eng.name == "ecs" {
			x.Load.Generators.ECS = &experiments.ECSGenerators{Cluster: "gameday", Image: "gameday:test", CPU: 256, Memory: 512}
		}
	}
	p, err := prepare(ctx, x, c, "")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	out := t.TempDir()
	opts := runner.Options{JournalPath: filepath.Join(out, "journal.jsonl"), RunID: runner.NewRunID(x.Name, time.Now())}
	var coord *generators.Coordinator
	if workers > 0 {
		if want := fmt.Sprintf("from %d load generators (engine %s)", workers, eng.name); !strings.Contains(p.PlanText(), want) {
			t.Errorf("the plan does not say %q:\n%s", want, p.PlanText())
		}
		coord, err = newCoordinator(x, p, out, opts.RunID, true, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if eng.name == "local" {
			// The workers are the real gameday binary.
			coord.SetEngine(&generators.Local{Command: []string{gamedayBinary(t), "worker"}, Output: os.Stderr})
		} // ecs: the sandbox process runs its own binary, this gameday
		defer coord.Close()
		opts.Remote = coord
		if started != nil {
			opts.Remote = startedHook{coord, started}
		}
	}
	return p.Run(ctx, opts), coord, out
}

func rawResults(t *testing.T, path string) []vegeta.Result {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := vegeta.NewDecoder(f)
	var out []vegeta.Result
	for {
		var r vegeta.Result
		if err := dec.Decode(&r); err != nil {
			if errors.Is(err, io.EOF) {
				return out
			}
			t.Fatal(err)
		}
		out = append(out, r)
	}
}

// Issue 15's end-to-end test: three local workers (real gameday worker
// processes) against the sandbox with an AZ blackhole. Asked is the plan
// exactly; the merged totals and classes equal the sum over the workers and
// a recount of their raw results; merged p50/p99 (service time) equal the
// raw results' within the histogram's stated precision; the fault's
// recovery is within one window of the single-machine run's; no worker is
// left running.
func TestThreeLocalWorkersAgainstTheSandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("two 16 s runs")
	}
	single := singleMachineRun(t)
	rec, coord, out := runDistributed(t, distributedRun, 3)
	checkDistributed(t, single, rec, coord, out)
}

var single struct {
	sync.Once
	rec *record.Run
}

// singleMachineRun is distributedRun sent by this process alone, run once
// for the tests that compare with it.
func singleMachineRun(t *testing.T) *record.Run {
	t.Helper()
	single.Do(func() { single.rec, _, _ = runDistributed(t, distributedRun, 0) })
	if single.rec == nil {
		t.Fatal("the single-machine run failed")
	}
	return single.rec
}

// checkDistributed holds a run of distributedRun by three workers (rec,
// whose coordinator is coord and run folder out) to issue 15's promises,
// against the single-machine run.
func checkDistributed(t *testing.T, single, rec *record.Run, coord *generators.Coordinator, out string) {
	t.Helper()
	for _, r := range []*record.Run{single, rec} {
		if r.ExitCode != 0 && r.ExitCode != runner.ExitGateFailed {
			t.Fatalf("run ended %s (%d): %s", r.Status, r.ExitCode, r.Message)
		}
	}
	plan, _ := attack.NewPlan([]attack.Stage{{Duration: 16 * time.Second, From: 60, To: 60}})
	if rec.Load.Asked != plan.Total() {
		t.Fatalf("asked %d, the plan %d", rec.Load.Asked, plan.Total())
	}
	var windows struct{ req, ok uint64 }
	classes := map[string]uint64{}
	for _, w := range rec.Windows {
		windows.req += w.Requests
		windows.ok += w.Successes
		for c, n := range w.Classes {
			classes[c] += n
		}
	}
	if windows.req != plan.Total() {
		t.Fatalf("the merged windows hold %d requests, the plan asks %d", windows.req, plan.Total())
	}
	// Sum over the workers.
	if len(rec.Workers) != 3 {
		t.Fatalf("%d workers in the record", len(rec.Workers))
	}
	var asked, sent, notSent uint64
	var lat []time.Duration
	var rawOK, rawAll uint64
	for _, w := range rec.Workers {
		if w.Lost != "" {
			t.Fatalf("worker %s lost: %s", w.ID, w.Lost)
		}
		asked += w.Asked
		sent += w.Sent
		notSent += w.NotSent
		var perWindow uint64
		for _, n := range w.SentPerWindow {
			perWindow += n
		}
		if perWindow != w.Sent {
			t.Errorf("worker %s: %d sent per window in all, %d sent", w.ID, perWindow, w.Sent)
		}
		raw := rawResults(t, w.Raw)
		if uint64(len(raw)) != w.Sent {
			t.Errorf("worker %s: %d raw results, it sent %d", w.ID, len(raw), w.Sent)
		}
		for _, r := range raw {
			rawAll++
			if r.Code >= 200 && r.Code < 400 && r.Error == "" {
				rawOK++
				lat = append(lat, r.Latency)
			}
		}
	}
	if asked != rec.Load.Asked || sent != rec.Load.Sent || notSent != rec.Load.NotSent {
		t.Fatalf("workers: asked %d sent %d not sent %d; record %+v", asked, sent, notSent, rec.Load)
	}
	if rawAll != rec.Load.Sent || rawOK != windows.ok {
		t.Fatalf("raw results: %d sent, %d ok; merged: %d sent, %d ok", rawAll, rawOK, rec.Load.Sent, windows.ok)
	}
	total := coord.Total()
	if total.Requests != windows.req || total.Successes != windows.ok {
		t.Fatalf("the workers' totals %d/%d, the windows %d/%d", total.Requests, total.Successes, windows.req, windows.ok)
	}
	for _, c := range timeline.Classes {
		if c != timeline.ClassOK && total.Classes.Get(c) != classes[string(c)] {
			t.Errorf("class %s: workers %d, windows %d", c, total.Classes.Get(c), classes[string(c)])
		}
	}
	if classes[string(timeline.ClassOK)] != 0 || rec.Load.Sent-windows.ok == 0 {
		t.Errorf("the blackhole failed nothing: classes %v", classes)
	}
	slices.Sort(lat)
	for _, q := range []float64{0.5, 0.99} {
		want := float64(lat[int(math.Ceil(q*float64(len(lat))))-1])
		got := float64(total.OKService.Quantile(q))
		if d := math.Abs(got-want) / want; d > timeline.RelativeError {
			t.Errorf("p%v: merged %v, raw %v (%.2f%% > %.2f%%)", q*100, time.Duration(got), time.Duration(want), 100*d, 100*timeline.RelativeError)
		}
	}
	// Recovery within one window of the single-machine run.
	if len(single.Faults) != 1 || len(rec.Faults) != 1 {
		t.Fatalf("faults: %d and %d", len(single.Faults), len(rec.Faults))
	}
	a, b := single.Faults[0].Recovery, rec.Faults[0].Recovery
	if !a.Impacted || !b.Impacted || !a.Recovered || !b.Recovered {
		t.Fatalf("recovery single %+v, distributed %+v", a, b)
	}
	// Both figures end on a window boundary and start at the injection,
	// which lands a few milliseconds apart in the two runs (the apply's
	// own latency): "one window" allows that jitter, a tenth of a window,
	// not a second window.
	if d := math.Abs(a.TimeToRecover - b.TimeToRecover); d > 1.1*rec.WindowS {
		t.Errorf("time to recover: single %.1fs, 3 workers %.1fs: more than one window apart", a.TimeToRecover, b.TimeToRecover)
	}
	t.Logf("time to recover: single %.1fs, 3 workers %.1fs; asked %d, sent %d, failed %d", a.TimeToRecover, b.TimeToRecover, rec.Load.Asked, rec.Load.Sent, rec.Load.Sent-windows.ok)
	for _, w := range rec.Workers {
		t.Logf("worker %s: asked %d sent %d not sent %d p99 %.1fms offset %.0fµs", w.ID, w.Asked, w.Sent, w.NotSent, w.P99S*1000, w.OffsetS*1e6)
	}
	if pend, err := generators.Pending(filepath.Join(out, workersJournal)); err != nil || len(pend) != 0 {
		t.Fatalf("workers not stopped: %v %v", pend, err)
	}
}

// alive reports whether pid is a running (not zombie) process.
func alive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || len(s) <= i+2 || s[i+2] != 'Z'
}

// SIGKILL of the coordinator mid-run, then `gameday rollback`: no worker
// process is left and the worker journal has nothing pending.
func TestKilledCoordinatorLeavesNoWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	dir := t.TempDir()
	exp := filepath.Join(dir, "x.yaml")
	yaml := `name: killed
target: {kind: sandbox}
load: {rate: 40, duration: 60s, timeout: 1s, generators: {engine: local, count: 2}}
steady_state: {window: 1s, thresholds: ["success_ratio >= 0.9"]}
faults:
  - {name: outage, kind: az-blackhole, at: 40s, duration: 5s, targets: {az: local-1b}, subnets: all}
`
	if err := os.WriteFile(exp, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	c := startRun(t, exp, dir)
	wj := filepath.Join(dir, workersJournal)
	var pids []int
	testutil.Eventually(t, 30*time.Second, "both workers started", func() bool {
		pend, err := generators.Pending(wj)
		if err != nil || len(pend) != 2 {
			return false
		}
		pids = pids[:0]
		for _, e := range pend {
			var ref generators.LocalRef
			if e.State != generators.WorkerStarted || json.Unmarshal(e.Ref, &ref) != nil {
				return false
			}
			pids = append(pids, ref.PID)
		}
		return true
	})
	time.Sleep(2 * time.Second) // sending
	for _, pid := range pids {
		if !alive(pid) {
			t.Fatalf("worker %d not running before the kill", pid)
		}
	}
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.wait(t, 10*time.Second)
	if pend, _ := generators.Pending(wj); len(pend) != 2 {
		t.Fatalf("the killed coordinator's journal should still list both workers, got %v", pend)
	}
	code, out := rollbackCLI(t, "--journal", filepath.Join(dir, "journal.jsonl"))
	if code != 0 {
		t.Fatalf("gameday rollback exit %d\n%s", code, out)
	}
	testutil.Eventually(t, 10*time.Second, "no worker process left", func() bool {
		for _, pid := range pids {
			if alive(pid) {
				return false
			}
		}
		return true
	})
	if pend, err := generators.Pending(wj); err != nil || len(pend) != 0 {
		t.Fatalf("workers still pending after rollback: %v %v\n%s", pend, err, out)
	}
	t.Logf("rollback:\n%s", out)
}

// startedHook calls fn once the barrier has passed.
type startedHook struct {
	*generators.Coordinator
	fn func(*generators.Coordinator)
}

func (h startedHook) Barrier(ctx context.Context, cfg attack.Config, width time.Duration) (time.Time, error) {
	start, err := h.Coordinator.Barrier(ctx, cfg, width)
	if err == nil {
		go func() {
			time.Sleep(time.Until(start))
			h.fn(h.Coordinator)
		}()
	}
	return start, err
}

// The run's exit paths with workers: a signal mid-run (ctx cancelled) and a
// worker killed mid-run with on_worker_loss fail. Either way the fault is
// rolled back, the workers are stopped and journaled so, and the record
// says what happened (the lost worker by name).
func TestWorkersExitPaths(t *testing.T) {
	if testing.Short() {
		t.Skip("runs workers against the sandbox")
	}
	const yaml = `name: exits
target: {kind: sandbox}
load: {rate: 30, duration: 30s, timeout: 1s}
steady_state: {window: 1s, thresholds: ["success_ratio >= 0.5"], stable_for: 2, baseline: 2s, verify: 2s}
faults:
  - {name: outage, kind: az-blackhole, at: 3s, duration: 20s, targets: {az: local-1b}, subnets: all}
`
	check := func(t *testing.T, rec *record.Run, out string) {
		t.Helper()
		if len(rec.Faults) != 1 || !rec.Faults[0].Injected || !rec.Faults[0].RolledBack {
			t.Fatalf("fault not injected and rolled back: %+v", rec.Faults)
		}
		if pend, err := generators.Pending(filepath.Join(out, workersJournal)); err != nil || len(pend) != 0 {
			t.Fatalf("workers not stopped: %v %v", pend, err)
		}
		if len(rec.Workers) != 2 {
			t.Fatalf("%d workers in the record", len(rec.Workers))
		}
	}
	t.Run("signal", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		rec, _, out := runDistributedWith(t, ctx, yaml, 2, func(*generators.Coordinator) {
			time.Sleep(5 * time.Second)
			cancel()
		})
		if rec.Status != "interrupted" {
			t.Fatalf("status %s: %s", rec.Status, rec.Message)
		}
		check(t, rec, out)
	})
	t.Run("worker killed", func(t *testing.T) {
		rec, coord, out := runDistributedWith(t, context.Background(), yaml, 2, func(c *generators.Coordinator) {
			time.Sleep(5 * time.Second)
			if err := c.KillWorker(1); err != nil {
				t.Error(err)
			}
		})
		_ = coord
		if rec.Status != "aborted" || !strings.Contains(rec.Message, "load generator lost") || !strings.Contains(rec.Message, "-w1") {
			t.Fatalf("status %s: %s", rec.Status, rec.Message)
		}
		check(t, rec, out)
		if rec.Workers[1].Lost == "" || rec.Workers[0].Lost != "" {
			t.Fatalf("workers %+v", rec.Workers)
		}
		named := false
		for _, n := range rec.Notes {
			named = named || strings.Contains(n, rec.Workers[1].ID+" was lost")
		}
		if !named {
			t.Errorf("no note names the lost worker: %q", rec.Notes)
		}
		if rec.Load.NotSent == 0 {
			t.Error("the lost worker's share is not counted as not sent")
		}
	})
}
