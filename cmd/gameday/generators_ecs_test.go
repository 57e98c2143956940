package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/gameday-dev/gameday/generators"
	"github.com/gameday-dev/gameday/internal/testutil"
	"github.com/gameday-dev/gameday/record"
)

// These tests run the load from tasks of the sandbox's ECS: a `gameday
// sandbox` child process whose RunTask starts `gameday worker` processes of
// the same binary on loopback. The run attaches to that sandbox, so its
// ECS calls are the SDK's, over the wire, as on AWS.

// ecsTasks is ListTasks in the sandbox's cluster (ECS's default filter:
// the tasks it still wants running).
func (s *extSandbox) ecsTasks(t *testing.T) []string {
	t.Helper()
	var arns []string
	p := ecs.NewListTasksPaginator(s.c.ECS, &ecs.ListTasksInput{Cluster: aws.String("gameday")})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, out.TaskArns...)
	}
	return arns
}

// workerPIDs are the live processes whose command line has "--id" and an
// id starting with prefix (a run's workers: RUN-w).
func workerPIDs(prefix string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "--id" && strings.HasPrefix(args[i+1], prefix) && alive(pid) {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// runOf is the run id of a run with workers (its workers are RUN-wI).
func runOf(t *testing.T, rec *record.Run) string {
	t.Helper()
	if len(rec.Workers) == 0 {
		t.Fatal("no workers in the record")
	}
	run, ok := strings.CutSuffix(rec.Workers[0].ID, "-w0")
	if !ok {
		t.Fatalf("worker id %q", rec.Workers[0].ID)
	}
	return run
}

// journaledTasks are the task ARNs a run folder's worker journal recorded.
func journaledTasks(t *testing.T, out string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out, workersJournal))
	if err != nil {
		t.Fatal(err)
	}
	var arns []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var e generators.JournalEntry
		var ref generators.ECSRef
		if json.Unmarshal([]byte(line), &e) != nil || e.State != generators.WorkerStarted || json.Unmarshal(e.Ref, &ref) != nil {
			continue
		}
		arns = append(arns, ref.TaskARN)
	}
	return arns
}

// noECSWorkerLeft: ListTasks is empty, every task the journal recorded is
// STOPPED, no worker process of the run is alive, and the journal has
// nothing pending.
func (s *extSandbox) noECSWorkerLeft(t *testing.T, out, runID string, want int) {
	t.Helper()
	if r := s.ecsTasks(t); len(r) != 0 {
		t.Errorf("ListTasks: %v", r)
	}
	arns := journaledTasks(t, out)
	if len(arns) != want {
		t.Fatalf("%d tasks journaled, want %d", len(arns), want)
	}
	d, err := s.c.ECS.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Cluster: aws.String("gameday"), Tasks: arns})
	if err != nil || len(d.Tasks) != want {
		t.Fatalf("describe %v: %v %v", arns, d, err)
	}
	for _, task := range d.Tasks {
		if aws.ToString(task.LastStatus) != "STOPPED" {
			t.Errorf("task %s is %s", aws.ToString(task.TaskArn), aws.ToString(task.LastStatus))
		}
	}
	testutil.Eventually(t, 5*time.Second, "no worker process left", func() bool { return len(workerPIDs(runID+"-w")) == 0 })
	if pend, err := generators.Pending(filepath.Join(out, workersJournal)); err != nil || len(pend) != 0 {
		t.Fatalf("workers pending: %v %v", pend, err)
	}
}

// Issue 15's end-to-end test on engine ecs: the same checks as for local
// workers (checkDistributed), the workers being tasks of the sandbox's ECS;
// afterwards ListTasks is empty and no worker process is alive.
func TestThreeECSWorkersAgainstTheSandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("a 16 s run on a sandbox process")
	}
	single := singleMachineRun(t)
	sb := startSandbox(t)
	rec, coord, out := runDistributedOn(t, context.Background(), distributedRun, distEngine{name: "ecs", endpoint: sb.endpoint}, 3, nil)
	checkDistributed(t, single, rec, coord, out)
	for _, w := range rec.Workers {
		if w.Engine != "ecs" {
			t.Errorf("worker %s: engine %q", w.ID, w.Engine)
		}
	}
	sb.noECSWorkerLeft(t, out, runOf(t, rec), 3)
}

// The run's exit paths on engine ecs: a signal mid-run (ctx cancelled) and
// a worker's task stopped mid-run (on_worker_loss fail): the fault is
// rolled back, the lost worker is named with ECS's stop code, and no task
// or worker process is left.
func TestECSWorkersExitPaths(t *testing.T) {
	if testing.Short() {
		t.Skip("runs workers on a sandbox process")
	}
	const yaml = `name: exits
target: {kind: sandbox}
load: {rate: 30, duration: 30s, timeout: 1s}
steady_state: {window: 1s, thresholds: ["success_ratio >= 0.5"], stable_for: 2, baseline: 2s, verify: 2s}
faults:
  - {name: outage, kind: az-blackhole, at: 3s, duration: 20s, targets: {az: local-1b}, subnets: all}
`
	sb := startSandbox(t)
	eng := distEngine{name: "ecs", endpoint: sb.endpoint}
	check := func(t *testing.T, rec *record.Run, out string) {
		t.Helper()
		if len(rec.Faults) != 1 || !rec.Faults[0].Injected || !rec.Faults[0].RolledBack {
			t.Fatalf("fault not injected and rolled back: %+v", rec.Faults)
		}
		if len(rec.Workers) != 2 {
			t.Fatalf("%d workers in the record", len(rec.Workers))
		}
		sb.noECSWorkerLeft(t, out, runOf(t, rec), 2)
	}
	t.Run("signal", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		rec, _, out := runDistributedOn(t, ctx, yaml, eng, 2, func(*generators.Coordinator) {
			time.Sleep(4 * time.Second)
			cancel()
		})
		if rec.Status != "interrupted" {
			t.Fatalf("status %s: %s", rec.Status, rec.Message)
		}
		check(t, rec, out)
	})
	t.Run("task stopped", func(t *testing.T) {
		rec, _, out := runDistributedOn(t, context.Background(), yaml, eng, 2, func(c *generators.Coordinator) {
			time.Sleep(4 * time.Second)
			if err := c.KillWorker(1); err != nil { // StopTask
				t.Error(err)
			}
		})
		if rec.Status != "aborted" || !strings.Contains(rec.Message, "load generator lost") || !strings.Contains(rec.Message, "-w1") {
			t.Fatalf("status %s: %s", rec.Status, rec.Message)
		}
		if l := rec.Workers[1].Lost; !strings.Contains(l, string(ecstypes.TaskStopCodeUserInitiated)) || rec.Workers[0].Lost != "" {
			t.Fatalf("lost: %q and %q; want w1's to carry ECS's stop code", rec.Workers[0].Lost, l)
		}
		check(t, rec, out)
	})
}

// A `gameday run` child on engine ecs: SIGTERM mid-run leaves no task
// (the run stops them itself); SIGKILL leaves them running, and `gameday
// rollback` stops them: ListTasks (through the SDK against the still
// running sandbox) is empty and no worker process is alive.
func TestKilledCoordinatorLeavesNoECSWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	sb := startSandbox(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			exp := filepath.Join(dir, "x.yaml")
			yaml := `name: killed
target: {kind: sandbox, sandbox: {endpoint: "` + sb.endpoint + `"}}
load: {rate: 40, duration: 60s, timeout: 1s, generators: {engine: ecs, count: 2, ecs: {cluster: gameday, image: "gameday:test", cpu: 256, memory: 512}}}
steady_state: {window: 1s, thresholds: ["success_ratio >= 0.9"]}
faults:
  - {name: outage, kind: az-blackhole, at: 40s, duration: 5s, targets: {az: local-1b}, subnets: all}
`
			if err := os.WriteFile(exp, []byte(yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			c := startRun(t, exp, dir)
			wj := filepath.Join(dir, workersJournal)
			var run string
			testutil.Eventually(t, 30*time.Second, "both workers started", func() bool {
				pend, err := generators.Pending(wj)
				if err != nil || len(pend) != 2 {
					return false
				}
				for _, e := range pend {
					if e.State != generators.WorkerStarted {
						return false
					}
					run = e.Run
				}
				return true
			})
			time.Sleep(2 * time.Second) // sending
			if n := len(sb.ecsTasks(t)); n != 2 {
				t.Fatalf("%d tasks running before the signal, want 2", n)
			}
			if len(workerPIDs(run+"-w")) != 2 {
				t.Fatalf("worker processes before the signal: %v", workerPIDs(run+"-w"))
			}
			if sig == syscall.SIGKILL {
				// While the run lives, `gameday rollback` leaves its workers
				// to it (exit 4, nothing stopped), as it leaves its faults.
				code, out := rollbackCLI(t, "--journal", filepath.Join(dir, "journal.jsonl"))
				if code != 4 || strings.Count(out, "SKIPPED: the run that started it") != 2 || len(sb.ecsTasks(t)) != 2 {
					t.Fatalf("rollback during the run: exit %d, %d tasks running\n%s", code, len(sb.ecsTasks(t)), out)
				}
			}
			if err := c.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			c.wait(t, 60*time.Second)
			if sig == syscall.SIGKILL {
				if n := len(sb.ecsTasks(t)); n != 2 {
					t.Fatalf("%d tasks running after the SIGKILL; the test wants the rollback to stop them", n)
				}
				code, out := rollbackCLI(t, "--journal", filepath.Join(dir, "journal.jsonl"))
				if code != 0 || strings.Count(out, "(ecs): stopped task arn:") != 2 {
					t.Fatalf("gameday rollback exit %d\n%s", code, out)
				}
				t.Logf("rollback:\n%s", out)
			}
			sb.noECSWorkerLeft(t, dir, run, 2)
		})
	}
}

// `gameday rollback --sweep --target FILE` stops a running task tagged
// gameday:managed=true in the file's cluster that no journal accounts for
// (its run folder is gone).
func TestSweepStopsUntrackedECSWorkers(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	sb := startSandbox(t)
	dir := t.TempDir()
	exp := filepath.Join(dir, "x.yaml")
	yaml := `name: swept
target: {kind: sandbox, sandbox: {endpoint: "` + sb.endpoint + `"}}
load: {rate: 10, duration: 10s, generators: {engine: ecs, count: 1, ecs: {cluster: gameday, image: "gameday:test", cpu: 256, memory: 512}}}
steady_state: {thresholds: ["success_ratio >= 0.9"]}
`
	if err := os.WriteFile(exp, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	// A worker task as a run on another machine would have left it: tagged,
	// journaled nowhere here, its coordinator not answering (a loopback
	// server that holds every call until the test ends).
	ctx := context.Background()
	hold := make(chan struct{})
	coord := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hold:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(coord.Close)
	t.Cleanup(func() { close(hold) })
	td, err := sb.c.ECS.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("gameday-worker"),
		NetworkMode: ecstypes.NetworkModeAwsvpc, RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("gameday"), Image: aws.String("gameday:test"), Essential: aws.Bool(true)}}})
	if err != nil {
		t.Fatal(err)
	}
	subnets, err := sb.c.EC2.DescribeSubnets(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := sb.c.ECS.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("gameday"), TaskDefinition: td.TaskDefinition.TaskDefinitionArn,
		LaunchType:           ecstypes.LaunchTypeFargate,
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: []string{aws.ToString(subnets.Subnets[0].SubnetId)}}},
		StartedBy:            aws.String(generators.ECSStartedBy("elsewhere-w0")),
		Tags: []ecstypes.Tag{{Key: aws.String(generators.TagManaged), Value: aws.String("true")}, {Key: aws.String(generators.TagWorker), Value: aws.String("elsewhere-w0")},
			{Key: aws.String(generators.TagCoordinator), Value: aws.String("host=another-host;pid=1;start=1")}},
		Overrides: &ecstypes.TaskOverride{ContainerOverrides: []ecstypes.ContainerOverride{{Name: aws.String("gameday"),
			Command:     []string{"worker", "--coordinator", coord.URL, "--id", "elsewhere-w0", "--give-up", "60s"},
			Environment: []ecstypes.KeyValuePair{{Name: aws.String(generators.TokenEnv), Value: aws.String("t")}}}}}})
	if err != nil || len(rt.Tasks) != 1 {
		t.Fatalf("RunTask: %v %v", rt, err)
	}
	testutil.Eventually(t, 10*time.Second, "the worker process runs", func() bool { return len(workerPIDs("elsewhere-w")) == 1 })
	if r := sb.ecsTasks(t); len(r) != 1 {
		t.Fatalf("ListTasks before the sweep: %v", r)
	}
	// No journal of this run anywhere: an empty one, so the rollback reads
	// nothing but the sweep.
	empty := filepath.Join(dir, "other-run", "journal.jsonl")
	if err := os.MkdirAll(filepath.Dir(empty), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := rollbackCLI(t, "--journal", empty, "--sweep", "--target", exp)
	if code != 0 || !strings.Contains(out, "stopped task "+aws.ToString(rt.Tasks[0].TaskArn)) {
		t.Fatalf("gameday rollback --sweep exit %d\n%s", code, out)
	}
	if r := sb.ecsTasks(t); len(r) != 0 {
		t.Errorf("ListTasks after the sweep: %v", r)
	}
	testutil.Eventually(t, 5*time.Second, "no worker process left", func() bool { return len(workerPIDs("elsewhere-w")) == 0 })
}

// `gameday plan` says how the ECS engine will run the workers; `gameday
// validate` accepts the real-account example (it is never run in tests).
func TestPlanShowsTheECSEngine(t *testing.T) {
	r := runCLI(t, context.Background(), "plan", "../../experiments/ecs-workers.yaml")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"from 3 load generators (engine ecs)",
		"on ECS cluster gameday (FARGATE), one RunTask per worker, registering gameday-worker from gameday:latest (256 CPU units, 512 MiB)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("plan lacks %q:\n%s", want, r.stdout)
		}
	}
	r = runCLI(t, context.Background(), "validate", "../../configs/aws-ecs-generators.yaml")
	if r.code != 0 {
		t.Fatalf("validate: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
