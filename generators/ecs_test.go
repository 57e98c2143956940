package generators

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/gameday-dev/gameday/attack"
	"github.com/gameday-dev/gameday/faults"
	"github.com/gameday-dev/gameday/sandbox"
	"github.com/gameday-dev/gameday/sandbox/awsapi"
	"github.com/gameday-dev/gameday/timeline"
)

// ecsSandbox starts an in-process sandbox whose ECS tasks run this test
// binary (TestMain turns it into a worker when its first argument is
// "worker", as a container command gives it), and an ECS engine on it.
func ecsSandbox(t *testing.T) (*sandbox.Sandbox, *ecs.Client, *ECS) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := sandbox.Config{}
	cfg.ECS.Executable = os.Args[0]
	cfg.ECS.Output = os.Stderr
	sb, err := sandbox.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	c := ecs.NewFromConfig(sb.AWSConfig(ctx))
	var subnets []string
	for _, s := range sb.Region().Subnets() {
		if s.Public {
			subnets = append(subnets, s.ID)
		}
	}
	eng := &ECS{Client: c, Location: faults.Location{Kind: "sandbox", EndpointURL: sb.Endpoint()}, Cluster: "gameday",
		Register: &ECSTaskDef{Image: "gameday:test", CPU: 256, Memory: 512}, Subnets: subnets,
		Tags: map[string]string{"team": "sre"}, Poll: 100 * time.Millisecond, StopWait: 20 * time.Second, Log: os.Stderr}
	return sb, c, eng
}

// runningTasks is ListTasks in the cluster: the tasks ECS still wants
// running (ECS's default filter), all pages.
func runningTasks(t *testing.T, c *ecs.Client) []string {
	t.Helper()
	var arns []string
	p := ecs.NewListTasksPaginator(c, &ecs.ListTasksInput{Cluster: aws.String("gameday")})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, out.TaskArns...)
	}
	return arns
}

// workerProcesses are the live (not zombie) processes whose command line
// holds "--id" and an id starting with prefix.
func workerProcesses(prefix string) []int {
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
			if args[i] == "--id" && strings.HasPrefix(args[i+1], prefix) && !zombie(pid) {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// Three workers as tasks of the sandbox's ECS send a plan together: asked
// and the merged windows are the plan exactly, each task carries the
// worker's command, token, startedBy and tags, and at Close every task is
// STOPPED, ListTasks is empty, no worker process is left and the journal
// has nothing pending.
func TestECSWorkersSendThePlanExactly(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a sandbox and three worker processes")
	}
	srv, served := target(t)
	_, client, eng := ecsSandbox(t)
	dir := t.TempDir()
	jr, err := OpenJournal(filepath.Join(dir, "workers.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer jr.Close()
	c, err := New(Config{Engine: eng, Count: 3, RunID: "ecsrun1", Journal: jr, RawDir: dir, JoinTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := attack.Config{Requests: []attack.Request{{Method: "GET", URL: srv.URL + "/"}}, Timeout: 2 * time.Second, KeepAlive: true,
		Stages: []attack.Stage{{Duration: 2 * time.Second, From: 60, To: 60}}}
	plan, _ := attack.NewPlan(cfg.Stages)
	width := 250 * time.Millisecond
	ctx := context.Background()
	start, err := c.Barrier(ctx, cfg, width)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(runningTasks(t, client)); n != 3 {
		t.Errorf("%d tasks running at the start, want 3", n)
	}
	tl, _ := timeline.New(start, width)
	m := &merged{tl: tl}
	sum, err := c.Run(ctx, m.merge, func(why string) { t.Errorf("abort: %s", why) })
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if total := tl.Total(); sum.Asked != plan.Total() || total.Requests != plan.Total() || sum.Sent != uint64(served.Load()) {
		t.Fatalf("asked %d, merged %d, sent %d, served %d; the plan %d", sum.Asked, total.Requests, sum.Sent, served.Load(), plan.Total())
	}
	var arns []string
	for _, ws := range c.order {
		if ws.done == nil || ws.lost != "" {
			t.Fatalf("worker %s: done %v lost %q", ws.id, ws.done != nil, ws.lost)
		}
		var ref ECSRef
		if err := json.Unmarshal(ws.handle.Ref(), &ref); err != nil {
			t.Fatal(err)
		}
		if ref.TaskARN == "" || ref.Cluster != "gameday" || ref.StartedBy != ECSStartedBy(ws.id) || ref.Location.EndpointURL == "" {
			t.Fatalf("worker %s: ref %+v", ws.id, ref)
		}
		if n := len(readRaw(t, ws.done.Raw)); uint64(n) != ws.done.Sent {
			t.Errorf("worker %s: %d raw results, it sent %d", ws.id, n, ws.done.Sent)
		}
		arns = append(arns, ref.TaskARN)
	}
	out, err := client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("gameday"), Tasks: arns, Include: []ecstypes.TaskField{ecstypes.TaskFieldTags}})
	if err != nil || len(out.Tasks) != 3 {
		t.Fatalf("describe: %v %v", out, err)
	}
	for _, task := range out.Tasks {
		arn := aws.ToString(task.TaskArn)
		id := c.order[slices.Index(arns, arn)].id
		if s := aws.ToString(task.LastStatus); s != "STOPPED" {
			t.Errorf("task %s is %s after Close", arn, s)
		}
		tags := map[string]string{}
		for _, tg := range task.Tags {
			tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		if tags[TagRun] != "ecsrun1" || tags[TagWorker] != id || tags[TagManaged] != "true" || tags["team"] != "sre" || aws.ToString(task.StartedBy) != ECSStartedBy(id) {
			t.Errorf("task %s: startedBy %q tags %v", arn, aws.ToString(task.StartedBy), tags)
		}
		co := task.Overrides.ContainerOverrides
		if len(co) != 1 || !strings.Contains(strings.Join(co[0].Command, " "), "worker --coordinator "+c.URL()+" --id "+id) ||
			len(co[0].Environment) != 1 || aws.ToString(co[0].Environment[0].Name) != TokenEnv {
			t.Errorf("task %s: overrides %+v", arn, co)
		}
	}
	if r := runningTasks(t, client); len(r) != 0 {
		t.Errorf("ListTasks after Close: %v", r)
	}
	if p := workerProcesses("ecsrun1-w"); len(p) != 0 {
		t.Errorf("worker processes left: %v", p)
	}
	if pend, err := Pending(jr.Path()); err != nil || len(pend) != 0 {
		t.Fatalf("pending workers after Close: %v %v", pend, err)
	}
}

// A coordinator killed after the journal's starting line and RunTask, but
// before it learnt the task's ARN (so only the starting line is in the
// journal): StopLeftoversWith finds the task by startedBy and stops it;
// ListTasks is empty and the worker process is gone.
func TestECSCrashBeforeRunTaskAnswered(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a sandbox and a worker process")
	}
	sb, client, eng := ecsSandbox(t)
	jr, err := OpenJournal(filepath.Join(t.TempDir(), "workers.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	spec := WorkerSpec{ID: "crashrun-w0", Run: "crashrun", Coordinator: "http://127.0.0.1:9", Token: "t"}
	ref, err := eng.Plan(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := jr.StartingRef("crashrun", "ecs", spec.ID, ref); err != nil {
		t.Fatal(err)
	}
	// RunTask happens; its answer is "lost" (never journaled).
	if _, err := eng.Start(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	_ = jr.Close()
	if n := len(runningTasks(t, client)); n != 1 {
		t.Fatalf("%d tasks running, want 1", n)
	}
	var out strings.Builder
	err = StopLeftoversWith(context.Background(), []string{jr.Path()}, &out, Leftovers{Wait: 20 * time.Second,
		ConnectECS: func(_ context.Context, loc faults.Location) (*ecs.Client, error) {
			if loc.EndpointURL != sb.Endpoint() {
				t.Errorf("journaled location %+v, the sandbox is at %s", loc, sb.Endpoint())
			}
			return client, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "worker crashrun-w0 (ecs): stopped task arn:") {
		t.Errorf("output %q", out.String())
	}
	if r := runningTasks(t, client); len(r) != 0 {
		t.Errorf("ListTasks after StopLeftovers: %v", r)
	}
	if p := workerProcesses("crashrun-w"); len(p) != 0 {
		t.Errorf("worker processes left: %v", p)
	}
	if pend, err := Pending(jr.Path()); err != nil || len(pend) != 0 {
		t.Fatalf("pending: %v %v", pend, err)
	}
}

// RunTask refused (an unknown subnet): the barrier fails naming the worker
// and ECS's reason, the worker is journaled as never started, and nothing
// runs.
func TestECSRunTaskRefused(t *testing.T) {
	_, client, eng := ecsSandbox(t)
	eng.Subnets = []string{"subnet-0000000000000dead"}
	jr, err := OpenJournal(filepath.Join(t.TempDir(), "workers.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer jr.Close()
	c, err := New(Config{Engine: eng, Count: 2, RunID: "refused", Journal: jr, JoinTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cfg := attack.Config{Requests: []attack.Request{{URL: "http://127.0.0.1:1/"}}, Stages: []attack.Stage{{Duration: time.Second, From: 1, To: 1}}}
	_, err = c.Barrier(context.Background(), cfg, time.Second)
	if err == nil || !strings.Contains(err.Error(), "start worker refused-w0") || !strings.Contains(err.Error(), "subnet-0000000000000dead") {
		t.Fatalf("barrier: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if pend, err := Pending(jr.Path()); err != nil || len(pend) != 0 {
		t.Fatalf("pending: %v %v", pend, err)
	}
	if r := runningTasks(t, client); len(r) != 0 {
		t.Errorf("ListTasks: %v", r)
	}
}

// A worker whose task is stopped mid-run is lost, with ECS's stop code and
// reason in why; its share counts as not sent.
func TestECSStoppedTaskIsALostWorkerWithItsReason(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a sandbox and two worker processes")
	}
	srv, _ := target(t)
	_, client, eng := ecsSandbox(t)
	c, err := New(Config{Engine: eng, Count: 2, RunID: "stopped", OnLoss: OnLossContinue, JoinTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := attack.Config{Requests: []attack.Request{{Method: "GET", URL: srv.URL + "/"}}, Timeout: time.Second,
		Stages: []attack.Stage{{Duration: 3 * time.Second, From: 40, To: 40}}}
	width := 250 * time.Millisecond
	start, err := c.Barrier(context.Background(), cfg, width)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(time.Until(start) + time.Second)
		_, err := client.StopTask(context.Background(), &ecs.StopTaskInput{Cluster: aws.String("gameday"),
			Task: aws.String(c.order[1].handle.(*ecsHandle).ref.TaskARN), Reason: aws.String("chaos on the load generator")})
		if err != nil {
			t.Error(err)
		}
	}()
	tl, _ := timeline.New(start, width)
	m := &merged{tl: tl}
	sum, err := c.Run(context.Background(), m.merge, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	lost := c.order[1].lost
	if !strings.Contains(lost, "UserInitiated") || !strings.Contains(lost, "chaos on the load generator") || c.order[0].lost != "" {
		t.Fatalf("lost: w0 %q, w1 %q", c.order[0].lost, lost)
	}
	plan, _ := attack.NewPlan(cfg.Stages)
	if total := tl.Total(); sum.Asked != plan.Total() || total.Requests != plan.Total() || total.Classes.Get(timeline.ClassNotSent) == 0 {
		t.Fatalf("asked %d, merged %d (not sent %d), plan %d", sum.Asked, total.Requests, total.Classes.Get(timeline.ClassNotSent), plan.Total())
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if r := runningTasks(t, client); len(r) != 0 {
		t.Errorf("ListTasks after Close: %v", r)
	}
}

// SweepECS stops the running tasks tagged gameday:managed=true that no
// journal accounts for, and leaves other tasks of the cluster alone.
func TestSweepECS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a sandbox and worker processes")
	}
	_, client, eng := ecsSandbox(t)
	// A gameday worker whose journal is gone (its coordinator is another,
	// dead, process), and someone else's task of the same definition.
	h, err := eng.Start(context.Background(), WorkerSpec{ID: "lost-w0", Run: "lost", Coordinator: "http://127.0.0.1:9", Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := client.RunTask(context.Background(), &ecs.RunTaskInput{Cluster: aws.String("gameday"), TaskDefinition: aws.String(eng.td), LaunchType: ecstypes.LaunchTypeFargate,
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: eng.Subnets}},
		Overrides: &ecstypes.TaskOverride{ContainerOverrides: []ecstypes.ContainerOverride{{Name: aws.String("gameday"),
			Command:     []string{"worker", "--coordinator", "http://127.0.0.1:9", "--id", "theirs-w0"},
			Environment: []ecstypes.KeyValuePair{{Name: aws.String(TokenEnv), Value: aws.String("t")}}}}}})
	if err != nil || len(theirs.Tasks) != 1 {
		t.Fatalf("run theirs: %v %v", theirs, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	found, err := SweepECS(ctx, client, "gameday")
	if err != nil {
		t.Fatal(err)
	}
	mine := h.(*ecsHandle).ref.TaskARN
	if len(found) != 1 || found[0].Task != mine || found[0].Worker != "lost-w0" || found[0].Run != "lost" || found[0].Skipped != "" {
		t.Fatalf("swept %+v, want only %s", found, mine)
	}
	select {
	case <-h.Exited():
	case <-time.After(10 * time.Second):
		t.Fatal("the swept task never reached STOPPED")
	}
	// Theirs was left alone (it ends by itself when its worker gives up on
	// its coordinator, but not by a StopTask).
	d, err := client.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Cluster: aws.String("gameday"), Tasks: []string{aws.ToString(theirs.Tasks[0].TaskArn)}})
	if err != nil || len(d.Tasks) != 1 {
		t.Fatalf("describe theirs: %v %v", d, err)
	}
	if d.Tasks[0].StopCode == ecstypes.TaskStopCodeUserInitiated {
		t.Fatalf("the sweep stopped a task gameday does not manage: %s", aws.ToString(d.Tasks[0].StoppedReason))
	}
}

// A task that fails to start (here the sandbox's own TaskFailedToStart: it
// will not run a Go test binary it was not told to) fails the barrier,
// naming the worker and ECS's stop code and reason; nothing is left.
func TestECSTaskFailedToStart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sb, err := sandbox.Start(ctx, sandbox.Config{}) // ECS.Executable unset: this test binary, refused
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	client := ecs.NewFromConfig(sb.AWSConfig(ctx))
	var subnets []string
	for _, s := range sb.Region().Subnets() {
		subnets = append(subnets, s.ID)
	}
	eng := &ECS{Client: client, Location: faults.Location{Kind: "sandbox", EndpointURL: sb.Endpoint()}, Cluster: "gameday",
		Register: &ECSTaskDef{Image: "gameday:test", CPU: 256, Memory: 512}, Subnets: subnets[:1], Poll: 100 * time.Millisecond}
	jr, err := OpenJournal(filepath.Join(t.TempDir(), "workers.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer jr.Close()
	c, err := New(Config{Engine: eng, Count: 1, RunID: "nostart", Journal: jr, JoinTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cfg := attack.Config{Requests: []attack.Request{{URL: "http://127.0.0.1:1/"}}, Stages: []attack.Stage{{Duration: time.Second, From: 1, To: 1}}}
	_, err = c.Barrier(context.Background(), cfg, time.Second)
	if err == nil || !strings.Contains(err.Error(), "worker nostart-w0 (task stopped (TaskFailedToStart)") || !strings.Contains(err.Error(), "exited before the start") {
		t.Fatalf("barrier: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if pend, err := Pending(jr.Path()); err != nil || len(pend) != 0 {
		t.Fatalf("pending: %v %v", pend, err)
	}
	if r := runningTasks(t, client); len(r) != 0 {
		t.Errorf("ListTasks: %v", r)
	}
}

// Throttled RunTask and DescribeTasks calls (beyond the SDK's own
// retries) are retried: the worker starts, with one task (RunTask's client
// token), and is watched until it ends.
func TestECSThrottlingIsRetried(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a sandbox and a worker process")
	}
	srv, _ := target(t)
	sb, client, eng := ecsSandbox(t)
	if _, _, err := eng.taskDefinition(context.Background()); err != nil {
		t.Fatal(err)
	}
	sb.APIErrors().Add(awsapi.Throttle("ecs", "RunTask", 4), awsapi.Throttle("ecs", "DescribeTasks", 4))
	c, err := New(Config{Engine: eng, Count: 1, RunID: "throttled", JoinTimeout: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := attack.Config{Requests: []attack.Request{{URL: srv.URL + "/"}}, Timeout: time.Second,
		Stages: []attack.Stage{{Duration: time.Second, From: 20, To: 20}}}
	start, err := c.Barrier(context.Background(), cfg, 250*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	tl, _ := timeline.New(start, 250*time.Millisecond)
	m := &merged{tl: tl}
	if _, err := c.Run(context.Background(), m.merge, func(why string) { t.Errorf("abort: %s", why) }); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := client.ListTasks(context.Background(), &ecs.ListTasksInput{Cluster: aws.String("gameday"), DesiredStatus: ecstypes.DesiredStatusStopped})
	if err != nil || len(out.TaskArns) != 1 {
		t.Fatalf("stopped tasks %v (%v): want exactly one", out, err)
	}
	if r := runningTasks(t, client); len(r) != 0 {
		t.Errorf("ListTasks: %v", r)
	}
}
