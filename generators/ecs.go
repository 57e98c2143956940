package generators

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/faults"
)

// The tags gameday puts on every worker task (and on a task definition it
// registers). The run id goes under the key the faults use for it on their
// own resources (faults.TagExperiment), so one tag finds everything a run
// made; TagManaged marks what `gameday rollback --sweep` may stop.
const (
	TagRun     = faults.TagExperiment // gameday:experiment = the run id
	TagWorker  = "gameday:worker"     // the worker id
	TagManaged = "gameday:managed"    // "true"
	// TagCoordinator says where the coordinator ran (host=…;pid=…), so a
	// sweep on that host leaves a live run's workers alone.
	TagCoordinator = "gameday:coordinator"
)

// ECSTaskDef is the task definition the ECS engine registers when the
// experiment gives an image instead of a task definition.
type ECSTaskDef struct {
	Family           string // default gameday-worker
	Image            string
	CPU, Memory      int // CPU units, MiB
	ExecutionRoleARN string
	TaskRoleARN      string
	LogGroup         string // awslogs driver when set
	LogStreamPrefix  string // default gameday
	LogRegion        string
}

// ECS starts each worker as an ECS task (RunTask, one task per worker) in
// Cluster, with the worker's command and token as container overrides, and
// watches them with DescribeTasks (one poller for all of a run's tasks,
// batched, backing off on throttling). Stop is StopTask, then a wait for
// STOPPED. Every task carries startedBy = ECSStartedBy(worker id), so a
// rollback finds it with ListTasks even if the coordinator died before
// RunTask answered.
type ECS struct {
	Client *ecs.Client
	// Location is where Client points (the sandbox's endpoint, or the AWS
	// account and region), journaled so that `gameday rollback` can
	// rebuild a client after a crash.
	Location faults.Location
	Cluster  string
	// LaunchType is FARGATE (default) or EC2.
	LaunchType string
	// TaskDefinition is the definition to run (ARN, family:revision or
	// family); Register, when set instead, is registered once before the
	// first worker starts.
	TaskDefinition string
	Register       *ECSTaskDef
	// Container receives the overrides (default: gameday for a registered
	// definition, the given definition's only container otherwise).
	Container       string
	Subnets         []string
	SecurityGroups  []string
	AssignPublicIP  bool
	PlatformVersion string
	Tags            map[string]string
	// Coordinator is this process as TagCoordinator records it.
	Coordinator string
	// Poll is the DescribeTasks interval (default 2 s); StopWait bounds
	// the wait for STOPPED after StopTask (default 2 min: Fargate gives a
	// container 30 s after SIGTERM, then deprovisions).
	Poll, StopWait time.Duration
	Log            io.Writer

	mu      sync.Mutex
	td      string // the definition RunTask uses, once resolved
	live    map[string]*ecsHandle
	polling bool
}

// ECSRef is the journal record of an ECS worker: enough to find its task
// again from another process (ListTasks by startedBy in Cluster, at
// Location) even when TaskARN was never learnt.
type ECSRef struct {
	Location  faults.Location `json:"location"`
	Cluster   string          `json:"cluster"`
	StartedBy string          `json:"started_by"`
	TaskARN   string          `json:"task_arn,omitempty"`
}

// ECSStartedBy is the startedBy value of a worker's task: "gameday-" and a
// hash of the worker id (the run id and the worker's index), within the
// API's 128 characters of letters, digits, -, _ and /, whatever the
// experiment's name holds.
func ECSStartedBy(worker string) string {
	h := sha256.Sum256([]byte(worker))
	return "gameday-" + hex.EncodeToString(h[:10])
}

// ecsClientToken is RunTask's idempotency token for a worker (at most 64
// ASCII characters): a retried RunTask returns the same task.
func ecsClientToken(worker string) string {
	h := sha256.Sum256([]byte("runtask\x00" + worker))
	return hex.EncodeToString(h[:16])
}

// Name implements Engine.
func (e *ECS) Name() string { return "ecs" }

// Plan implements Planner: the reference journaled before RunTask.
func (e *ECS) Plan(w WorkerSpec) (json.RawMessage, error) {
	return json.Marshal(e.ref(w.ID))
}

func (e *ECS) ref(worker string) ECSRef {
	return ECSRef{Location: e.Location, Cluster: e.Cluster, StartedBy: ECSStartedBy(worker)}
}

func (e *ECS) logf(format string, a ...any) {
	if e.Log != nil {
		fmt.Fprintf(e.Log, "ecs: "+format+"\n", a...)
	}
}

// taskDefinition resolves, once, the definition to run and the container
// the overrides go to.
func (e *ECS) taskDefinition(ctx context.Context) (string, string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.td != "" {
		return e.td, e.Container, nil
	}
	if r := e.Register; r != nil {
		if e.Container == "" {
			e.Container = "gameday"
		}
		family := r.Family
		if family == "" {
			family = "gameday-worker"
		}
		compat := ecstypes.CompatibilityFargate
		if e.LaunchType == string(ecstypes.LaunchTypeEc2) {
			compat = ecstypes.CompatibilityEc2
		}
		cd := ecstypes.ContainerDefinition{Name: aws.String(e.Container), Image: aws.String(r.Image), Essential: aws.Bool(true)}
		if r.LogGroup != "" {
			prefix := r.LogStreamPrefix
			if prefix == "" {
				prefix = "gameday"
			}
			opts := map[string]string{"awslogs-group": r.LogGroup, "awslogs-stream-prefix": prefix}
			if r.LogRegion != "" {
				opts["awslogs-region"] = r.LogRegion
			}
			cd.LogConfiguration = &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs, Options: opts}
		}
		in := &ecs.RegisterTaskDefinitionInput{
			Family: aws.String(family), ContainerDefinitions: []ecstypes.ContainerDefinition{cd},
			Cpu: aws.String(strconv.Itoa(r.CPU)), Memory: aws.String(strconv.Itoa(r.Memory)),
			NetworkMode: ecstypes.NetworkModeAwsvpc, RequiresCompatibilities: []ecstypes.Compatibility{compat},
			Tags: []ecstypes.Tag{{Key: aws.String(TagManaged), Value: aws.String("true")}},
		}
		if r.ExecutionRoleARN != "" {
			in.ExecutionRoleArn = aws.String(r.ExecutionRoleARN)
		}
		if r.TaskRoleARN != "" {
			in.TaskRoleArn = aws.String(r.TaskRoleARN)
		}
		var out *ecs.RegisterTaskDefinitionOutput
		err := retryAWS(ctx, 4, func() (err error) { out, err = e.Client.RegisterTaskDefinition(ctx, in); return err })
		if err != nil {
			return "", "", fmt.Errorf("register task definition %s: %w", family, err)
		}
		e.td = aws.ToString(out.TaskDefinition.TaskDefinitionArn)
		e.logf("registered task definition %s", e.td)
		return e.td, e.Container, nil
	}
	if e.Container == "" {
		var out *ecs.DescribeTaskDefinitionOutput
		err := retryAWS(ctx, 4, func() (err error) {
			out, err = e.Client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(e.TaskDefinition)})
			return err
		})
		if err != nil {
			return "", "", fmt.Errorf("describe task definition %s: %w", e.TaskDefinition, err)
		}
		cs := out.TaskDefinition.ContainerDefinitions
		if len(cs) != 1 {
			var names []string
			for _, c := range cs {
				names = append(names, aws.ToString(c.Name))
			}
			return "", "", fmt.Errorf("task definition %s has %d containers (%s): name the one that runs gameday in load.generators.ecs.container", e.TaskDefinition, len(cs), strings.Join(names, ", "))
		}
		e.Container = aws.ToString(cs[0].Name)
	}
	e.td = e.TaskDefinition
	return e.td, e.Container, nil
}

// ErrNotStarted marks a Start error after which nothing of the worker runs
// (the coordinator journals it stopped).
var ErrNotStarted = errors.New("not started")

// Start implements Engine: one RunTask, retried with the same client token
// on throttling and server errors. If RunTask's answer never came, the
// tasks startedBy the worker's tag are stopped before Start returns (and,
// if that fails too, the journal still lets `gameday rollback` find them).
func (e *ECS) Start(ctx context.Context, w WorkerSpec) (Handle, error) {
	td, container, err := e.taskDefinition(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotStarted, err)
	}
	ref := e.ref(w.ID)
	cmd := []string{"worker", "--coordinator", w.Coordinator, "--id", w.ID}
	if w.Raw != "" {
		cmd = append(cmd, "--raw", w.Raw)
	}
	in := &ecs.RunTaskInput{
		Cluster:        aws.String(e.Cluster),
		TaskDefinition: aws.String(td),
		Count:          aws.Int32(1),
		StartedBy:      aws.String(ref.StartedBy),
		ClientToken:    aws.String(ecsClientToken(w.ID)),
		Overrides: &ecstypes.TaskOverride{ContainerOverrides: []ecstypes.ContainerOverride{{
			Name:    aws.String(container),
			Command: cmd,
			// Overrides are visible to anyone who may DescribeTasks in the
			// account (docs/load-generators.md says so): the token only
			// lets a caller talk to this run's coordinator, for this run.
			Environment: []ecstypes.KeyValuePair{{Name: aws.String(TokenEnv), Value: aws.String(w.Token)}},
		}}},
		Tags: e.tags(w),
	}
	if e.LaunchType == string(ecstypes.LaunchTypeEc2) {
		in.LaunchType = ecstypes.LaunchTypeEc2
	} else {
		in.LaunchType = ecstypes.LaunchTypeFargate
		if e.PlatformVersion != "" {
			in.PlatformVersion = aws.String(e.PlatformVersion)
		}
	}
	if len(e.Subnets) > 0 {
		vpc := &ecstypes.AwsVpcConfiguration{Subnets: e.Subnets, SecurityGroups: e.SecurityGroups, AssignPublicIp: ecstypes.AssignPublicIpDisabled}
		if e.AssignPublicIP {
			vpc.AssignPublicIp = ecstypes.AssignPublicIpEnabled
		}
		in.NetworkConfiguration = &ecstypes.NetworkConfiguration{AwsvpcConfiguration: vpc}
	}
	var out *ecs.RunTaskOutput
	err = retryAWS(ctx, 5, func() (err error) { out, err = e.Client.RunTask(ctx, in); return err })
	if err != nil {
		if awsclients.Rejected(err) { // ECS refused it: nothing started
			return nil, fmt.Errorf("%w: RunTask: %w", ErrNotStarted, err)
		}
		// The task may exist though the answer was lost (or is still on
		// its way): stop what carries this worker's startedBy now, with a
		// context of its own, and leave the worker in the journal for
		// `gameday rollback` to check again.
		if cerr := e.cleanup(ref); cerr != nil {
			return nil, fmt.Errorf("RunTask: %w (and stopping what it may have started failed: %v; `gameday rollback` finds it by startedBy %s)", err, cerr, ref.StartedBy)
		}
		return nil, fmt.Errorf("RunTask: %w (stopped what it may have started; `gameday rollback` checks again by startedBy %s)", err, ref.StartedBy)
	}
	if len(out.Tasks) == 0 {
		return nil, fmt.Errorf("%w: RunTask started no task: %s", ErrNotStarted, failuresText(out.Failures))
	}
	t := out.Tasks[0]
	ref.TaskARN = aws.ToString(t.TaskArn)
	h := &ecsHandle{e: e, ref: ref, exited: make(chan struct{})}
	e.logf("worker %s: task %s (%s)", w.ID, ref.TaskARN, aws.ToString(t.LastStatus))
	e.watch(h)
	return h, nil
}

func (e *ECS) tags(w WorkerSpec) []ecstypes.Tag {
	keys := make([]string, 0, len(e.Tags))
	for k := range e.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var ts []ecstypes.Tag
	for _, k := range keys {
		ts = append(ts, ecstypes.Tag{Key: aws.String(k), Value: aws.String(e.Tags[k])})
	}
	ts = append(ts,
		ecstypes.Tag{Key: aws.String(TagRun), Value: aws.String(tagValue(w.Run))},
		ecstypes.Tag{Key: aws.String(TagWorker), Value: aws.String(tagValue(w.ID))},
		ecstypes.Tag{Key: aws.String(TagManaged), Value: aws.String("true")})
	if e.Coordinator != "" {
		ts = append(ts, ecstypes.Tag{Key: aws.String(TagCoordinator), Value: aws.String(tagValue(e.Coordinator))})
	}
	return ts
}

// tagValue bounds a tag value to AWS's 256 characters.
func tagValue(s string) string {
	if len(s) > 256 {
		return s[:256]
	}
	return s
}

func failuresText(fs []ecstypes.Failure) string {
	if len(fs) == 0 {
		return "no reason given"
	}
	var s []string
	for _, f := range fs {
		t := aws.ToString(f.Reason)
		if d := aws.ToString(f.Detail); d != "" {
			t += " (" + d + ")"
		}
		if a := aws.ToString(f.Arn); a != "" {
			t += " on " + a
		}
		s = append(s, t)
	}
	return strings.Join(s, "; ")
}

// cleanup stops every task of ref's startedBy in its cluster.
func (e *ECS) cleanup(ref ECSRef) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := stopECSTasks(ctx, e.Client, ref, "gameday: the coordinator never learnt this task's ARN", nil)
	return err
}

// retryAWS calls fn up to n times while it fails with errors worth
// retrying (throttling, 5xx, timeouts), backing off from 200 ms.
func retryAWS(ctx context.Context, n int, fn func() error) error {
	d := 200 * time.Millisecond
	for i := 1; ; i++ {
		err := fn()
		if err == nil || i >= n || !awsclients.Retryable(err) || ctx.Err() != nil {
			return err
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
		d = min(2*d, 5*time.Second)
	}
}

// watch adds h to the tasks the poller describes.
func (e *ECS) watch(h *ecsHandle) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.live == nil {
		e.live = map[string]*ecsHandle{}
	}
	e.live[h.ref.TaskARN] = h
	if !e.polling {
		e.polling = true
		go e.poll()
	}
}

// maxDescribe is DescribeTasks' limit of tasks per call.
const maxDescribe = 100

// poll describes every live task each Poll, in batches of 100, and closes
// the handle of every task that reached STOPPED (or that ECS no longer
// knows). Throttling and other errors back off, up to 30 s; the poller
// ends when no task is left to watch.
func (e *ECS) poll() {
	every := e.Poll
	if every <= 0 {
		every = 2 * time.Second
	}
	wait := every
	for {
		time.Sleep(wait)
		e.mu.Lock()
		arns := make([]string, 0, len(e.live))
		for a := range e.live {
			arns = append(arns, a)
		}
		if len(arns) == 0 {
			e.polling = false
			e.mu.Unlock()
			return
		}
		e.mu.Unlock()
		sort.Strings(arns)
		failed := false
		for i := 0; i < len(arns); i += maxDescribe {
			batch := arns[i:min(i+maxDescribe, len(arns))]
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			out, err := e.Client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(e.Cluster), Tasks: batch})
			cancel()
			if err != nil {
				failed = true
				e.logf("DescribeTasks: %v", err)
				break
			}
			for _, t := range out.Tasks {
				if aws.ToString(t.LastStatus) == "STOPPED" {
					e.exited(aws.ToString(t.TaskArn), stoppedText(t))
				}
			}
			for _, f := range out.Failures {
				if aws.ToString(f.Reason) == "MISSING" {
					e.exited(aws.ToString(f.Arn), "ECS no longer knows the task (MISSING)")
				}
			}
		}
		if failed {
			wait = min(2*wait, 30*time.Second)
		} else {
			wait = every
		}
	}
}

func (e *ECS) exited(arn, why string) {
	e.mu.Lock()
	h := e.live[arn]
	delete(e.live, arn)
	e.mu.Unlock()
	if h != nil {
		h.close(why)
	}
}

// stoppedText says why a task stopped: its stop code and reason and each
// container's exit code.
func stoppedText(t ecstypes.Task) string {
	s := "task stopped"
	if t.StopCode != "" {
		s += " (" + string(t.StopCode) + ")"
	}
	if r := aws.ToString(t.StoppedReason); r != "" {
		s += ": " + r
	}
	for _, c := range t.Containers {
		if c.ExitCode != nil {
			s += fmt.Sprintf("; container %s exited %d", aws.ToString(c.Name), *c.ExitCode)
		}
		if r := aws.ToString(c.Reason); r != "" {
			s += fmt.Sprintf("; container %s: %s", aws.ToString(c.Name), r)
		}
	}
	return s
}

type ecsHandle struct {
	e      *ECS
	ref    ECSRef
	exited chan struct{}
	once   sync.Once
	mu     sync.Mutex
	why    string
}

func (h *ecsHandle) Ref() json.RawMessage    { b, _ := json.Marshal(h.ref); return b }
func (h *ecsHandle) Exited() <-chan struct{} { return h.exited }

func (h *ecsHandle) close(why string) {
	h.once.Do(func() {
		h.mu.Lock()
		h.why = why
		h.mu.Unlock()
		close(h.exited)
	})
}

// ExitReason is why the task stopped, as ECS said ("" while it runs).
func (h *ecsHandle) ExitReason() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.why
}

// Kill stops the task without waiting (a worker lost on purpose).
func (h *ecsHandle) Kill() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return retryAWS(ctx, 5, func() error {
		_, err := h.e.Client.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(h.ref.Cluster), Task: aws.String(h.ref.TaskARN), Reason: aws.String("gameday: worker killed")})
		return err
	})
}

// Stop implements Handle: StopTask, then wait (bounded by StopWait and ctx)
// until the poller sees the task STOPPED.
func (h *ecsHandle) Stop(ctx context.Context) error {
	select {
	case <-h.exited:
		return nil
	default:
	}
	wait := h.e.StopWait
	if wait <= 0 {
		wait = 2 * time.Minute
	}
	// Our own deadline, so a cancelled run still stops its tasks.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), wait)
	defer cancel()
	err := retryAWS(sctx, 6, func() error {
		_, err := h.e.Client.StopTask(sctx, &ecs.StopTaskInput{Cluster: aws.String(h.ref.Cluster), Task: aws.String(h.ref.TaskARN), Reason: aws.String("gameday: run over")})
		return err
	})
	if err != nil {
		return fmt.Errorf("StopTask %s: %w", h.ref.TaskARN, err)
	}
	select {
	case <-h.exited:
		return nil
	case <-sctx.Done():
		return fmt.Errorf("task %s not STOPPED within %s after StopTask", h.ref.TaskARN, wait)
	}
}

// stopECSTasks stops ref's task (by ARN, when known) and every task with
// ref's startedBy that ECS still wants running in ref's cluster, then waits
// (bounded by ctx) until DescribeTasks says each is STOPPED. It returns the
// ARNs it stopped. skip, when set, leaves the tasks it reports alone.
func stopECSTasks(ctx context.Context, c *ecs.Client, ref ECSRef, reason string, skip func(ecstypes.Task) bool) ([]string, error) {
	var arns []string
	var token *string
	for page := 0; page < 20; page++ { // 100 a page; a worker has one task
		var out *ecs.ListTasksOutput
		err := retryAWS(ctx, 5, func() (err error) {
			out, err = c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(ref.Cluster), StartedBy: aws.String(ref.StartedBy), NextToken: token})
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("ListTasks startedBy %s: %w", ref.StartedBy, err)
		}
		arns = append(arns, out.TaskArns...)
		if token = out.NextToken; token == nil {
			break
		}
	}
	if ref.TaskARN != "" && !containsString(arns, ref.TaskARN) {
		// Its desired status may already be STOPPED (then ListTasks does
		// not list it) while it is still stopping: wait for it too.
		arns = append(arns, ref.TaskARN)
	}
	return stopAndWait(ctx, c, ref.Cluster, arns, reason, skip)
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// stopAndWait stops the tasks among arns not yet stopped (StopTask on a
// stopping task is harmless) and waits until each is STOPPED or unknown.
func stopAndWait(ctx context.Context, c *ecs.Client, cluster string, arns []string, reason string, skip func(ecstypes.Task) bool) ([]string, error) {
	var stopped []string
	pending := append([]string(nil), arns...)
	asked := map[string]bool{}
	wait := 250 * time.Millisecond
	for len(pending) > 0 {
		var next []string
		for i := 0; i < len(pending); i += maxDescribe {
			batch := pending[i:min(i+maxDescribe, len(pending))]
			var out *ecs.DescribeTasksOutput
			err := retryAWS(ctx, 5, func() (err error) {
				out, err = c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: batch, Include: []ecstypes.TaskField{ecstypes.TaskFieldTags}})
				return err
			})
			if err != nil {
				return stopped, fmt.Errorf("DescribeTasks: %w", err)
			}
			for _, t := range out.Tasks {
				arn := aws.ToString(t.TaskArn)
				if aws.ToString(t.LastStatus) == "STOPPED" {
					continue
				}
				if skip != nil && skip(t) {
					continue
				}
				if !asked[arn] {
					err := retryAWS(ctx, 5, func() error {
						_, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: aws.String(arn), Reason: aws.String(reason)})
						return err
					})
					if err != nil {
						return stopped, fmt.Errorf("StopTask %s: %w", arn, err)
					}
					asked[arn] = true
					stopped = append(stopped, arn)
				}
				next = append(next, arn)
			}
		}
		if pending = next; len(pending) == 0 {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return stopped, fmt.Errorf("%d task(s) not STOPPED yet: %s", len(pending), strings.Join(pending, ", "))
		}
		wait = min(2*wait, 5*time.Second)
	}
	return stopped, nil
}
