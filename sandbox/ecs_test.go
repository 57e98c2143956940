package sandbox

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ecssdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/gameday-dev/gameday/internal/testutil"
)

// The sandbox's ECS runs real processes of the gameday binary: these tests
// build it once (go build ./cmd/gameday) and drive the sandbox with the
// real aws-sdk-go-v2 ECS client.

var (
	gamedayOnce sync.Once
	gamedayPath string
	gamedayErr  error
	gamedayDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if gamedayDir != "" {
		_ = os.RemoveAll(gamedayDir)
	}
	os.Exit(code)
}

// gamedayBinary builds the gameday binary once per test process.
func gamedayBinary(t *testing.T) string {
	t.Helper()
	gamedayOnce.Do(func() {
		gamedayDir, gamedayErr = os.MkdirTemp("", "gameday-ecs-test-")
		if gamedayErr != nil {
			return
		}
		gamedayPath = filepath.Join(gamedayDir, "gameday")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "go", "build", "-o", gamedayPath, "../cmd/gameday").CombinedOutput()
		if err != nil {
			gamedayErr = errors.New("go build ./cmd/gameday: " + err.Error() + "\n" + string(out))
		}
	})
	if gamedayErr != nil {
		t.Fatal(gamedayErr)
	}
	return gamedayPath
}

// syncBuffer collects the containers' output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// ecsSandbox starts a sandbox whose tasks run the built gameday binary.
func ecsSandbox(t *testing.T, mod func(*Config)) (*Sandbox, *ecssdk.Client, aws.Config, *syncBuffer) {
	t.Helper()
	cfg := testConfig()
	cfg.ECS.Executable = gamedayBinary(t)
	out := &syncBuffer{}
	cfg.ECS.Output = out
	cfg.ECS.StepDelay = 20 * time.Millisecond
	cfg.ECS.StopTimeout = 2 * time.Second
	if mod != nil {
		mod(&cfg)
	}
	s, awsCfg := startSandbox(t, cfg)
	return s, ecssdk.NewFromConfig(awsCfg), awsCfg, out
}

// longRunning is the command of a container that runs until it is
// signalled: `gameday sandbox`, a nested sandbox on loopback.
var longRunning = []string{"sandbox"}

// markerEnv is a task override that puts a marker in the container's
// environment: pidsWithEnv finds its processes by it.
func markerEnv(marker string) *ecstypes.TaskOverride {
	return &ecstypes.TaskOverride{ContainerOverrides: []ecstypes.ContainerOverride{{
		Name: aws.String("worker"), Environment: []ecstypes.KeyValuePair{{Name: aws.String("GAMEDAY_TEST_MARKER"), Value: aws.String(marker)}},
	}}}
}

// pidsWithEnv lists the live (not zombie) processes whose environment has
// GAMEDAY_TEST_MARKER=marker, from /proc.
func pidsWithEnv(t *testing.T, marker string) []string {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc on this system")
	}
	want := []byte("GAMEDAY_TEST_MARKER=" + marker + "\x00")
	var out []string
	for _, e := range ents {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil || !(bytes.HasPrefix(b, want) || bytes.Contains(b, append([]byte("\x00"), want...))) {
			continue
		}
		st, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		if i := bytes.LastIndexByte(st, ')'); i >= 0 && len(st) > i+2 && st[i+2] == 'Z' {
			continue
		}
		out = append(out, e.Name())
	}
	return out
}

func registerWorkerTD(t *testing.T, c *ecssdk.Client, family string, command ...string) string {
	t.Helper()
	out, err := c.RegisterTaskDefinition(ctxT(t), &ecssdk.RegisterTaskDefinitionInput{
		Family:                  aws.String(family),
		NetworkMode:             ecstypes.NetworkModeAwsvpc,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu:                     aws.String("256"),
		Memory:                  aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name:        aws.String("worker"),
			Image:       aws.String("ghcr.io/gameday-dev/gameday:any-label"),
			Command:     command,
			Environment: []ecstypes.KeyValuePair{{Name: aws.String("FROM_DEFINITION"), Value: aws.String("1")}},
		}},
	})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

func privateSubnet(t *testing.T, awsCfg aws.Config) (id, cidr string) {
	t.Helper()
	out, err := ec2.NewFromConfig(awsCfg).DescribeSubnets(ctxT(t), &ec2.DescribeSubnetsInput{})
	if err != nil || len(out.Subnets) == 0 {
		t.Fatalf("DescribeSubnets: %v", err)
	}
	return aws.ToString(out.Subnets[0].SubnetId), aws.ToString(out.Subnets[0].CidrBlock)
}

func fargateNet(subnet string) *ecstypes.NetworkConfiguration {
	return &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: []string{subnet}}}
}

// waitTask polls DescribeTasks until the task is STOPPED and returns it
// with every lastStatus seen, in order.
func waitTask(t *testing.T, c *ecssdk.Client, arn string, until string) (ecstypes.Task, []string) {
	t.Helper()
	var seen []string
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		out, err := c.DescribeTasks(ctxT(t), &ecssdk.DescribeTasksInput{Cluster: aws.String("gameday"), Tasks: []string{arn}, Include: []ecstypes.TaskField{ecstypes.TaskFieldTags}})
		if err != nil {
			t.Fatalf("DescribeTasks: %v", err)
		}
		if len(out.Tasks) != 1 {
			t.Fatalf("DescribeTasks: %d tasks, failures %+v", len(out.Tasks), out.Failures)
		}
		tk := out.Tasks[0]
		st := aws.ToString(tk.LastStatus)
		if len(seen) == 0 || seen[len(seen)-1] != st {
			seen = append(seen, st)
		}
		if st == until {
			return tk, seen
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("task %s never reached %s (seen %v)", arn, until, seen)
	return ecstypes.Task{}, nil
}

// inOrder checks that seen follows the ECS lifecycle order.
func inOrder(t *testing.T, seen []string) {
	t.Helper()
	order := map[string]int{"PROVISIONING": 0, "PENDING": 1, "RUNNING": 2, "STOPPING": 3, "DEPROVISIONING": 4, "STOPPED": 5}
	for i := 1; i < len(seen); i++ {
		if order[seen[i]] <= order[seen[i-1]] {
			t.Errorf("lastStatus went %v: not the ECS order", seen)
		}
	}
}

func TestECSRunTaskRunsTheBinary(t *testing.T) {
	s, c, awsCfg, out := ecsSandbox(t, nil)
	subnet, cidr := privateSubnet(t, awsCfg)
	td := registerWorkerTD(t, c, "gameday-version", "version")

	run, err := c.RunTask(ctxT(t), &ecssdk.RunTaskInput{
		Cluster: aws.String("gameday"), TaskDefinition: aws.String("gameday-version"), LaunchType: ecstypes.LaunchTypeFargate,
		NetworkConfiguration: fargateNet(subnet), StartedBy: aws.String("ecs-test"), Group: aws.String("g1"),
		Tags: []ecstypes.Tag{{Key: aws.String("gameday:run"), Value: aws.String("r1")}},
	})
	if err != nil {
		t.Fatalf("RunTask: %v", err)
	}
	if len(run.Tasks) != 1 || len(run.Failures) != 0 {
		t.Fatalf("RunTask: %d tasks, failures %+v", len(run.Tasks), run.Failures)
	}
	first := run.Tasks[0]
	if aws.ToString(first.LastStatus) != "PROVISIONING" || aws.ToString(first.DesiredStatus) != "RUNNING" || aws.ToString(first.TaskDefinitionArn) != td {
		t.Errorf("RunTask answered lastStatus %s desired %s td %s", aws.ToString(first.LastStatus), aws.ToString(first.DesiredStatus), aws.ToString(first.TaskDefinitionArn))
	}
	arn := aws.ToString(first.TaskArn)
	if !strings.Contains(arn, ":task/gameday/") {
		t.Errorf("task ARN %s", arn)
	}
	tk, seen := waitTask(t, c, arn, "STOPPED")
	inOrder(t, seen)
	if tk.StopCode != ecstypes.TaskStopCodeEssentialContainerExited || aws.ToString(tk.StoppedReason) != "Essential container in task exited" {
		t.Errorf("stopCode %s reason %q", tk.StopCode, aws.ToString(tk.StoppedReason))
	}
	if len(tk.Containers) != 1 || tk.Containers[0].ExitCode == nil || *tk.Containers[0].ExitCode != 0 || aws.ToString(tk.Containers[0].LastStatus) != "STOPPED" {
		t.Fatalf("containers %+v", tk.Containers)
	}
	if !strings.Contains(out.String(), "gameday dev") {
		t.Errorf("the container did not run `gameday version`: output %q", out.String())
	}
	// Ground truth: every lastStatus change is an ecs-task event.
	var trail []string
	last := ""
	for _, e := range s.Region().Events() {
		if e.Kind == "ecs-task" && e.Resource == arn {
			trail = append(trail, e.To)
			last = e.Detail
		}
	}
	if strings.Join(trail, ",") != "PROVISIONING,PENDING,RUNNING,STOPPING,DEPROVISIONING,STOPPED" || !strings.Contains(last, "EssentialContainerExited") || !strings.Contains(last, "worker exit 0") {
		t.Errorf("ecs-task events %v, last detail %q", trail, last)
	}
	for name, ts := range map[string]*time.Time{"createdAt": tk.CreatedAt, "startedAt": tk.StartedAt, "stoppingAt": tk.StoppingAt, "stoppedAt": tk.StoppedAt} {
		if ts == nil || ts.IsZero() {
			t.Errorf("%s not set", name)
		}
	}
	if tk.StartedAt != nil && tk.StoppedAt != nil && tk.StoppedAt.Before(*tk.StartedAt) {
		t.Errorf("stoppedAt %v before startedAt %v", tk.StoppedAt, tk.StartedAt)
	}
	if aws.ToString(tk.StartedBy) != "ecs-test" || aws.ToString(tk.Group) != "g1" || tk.LaunchType != ecstypes.LaunchTypeFargate ||
		aws.ToString(tk.Cpu) != "256" || aws.ToString(tk.Memory) != "512" {
		t.Errorf("startedBy %q group %q launch %s cpu %s mem %s", aws.ToString(tk.StartedBy), aws.ToString(tk.Group), tk.LaunchType, aws.ToString(tk.Cpu), aws.ToString(tk.Memory))
	}
	if len(tk.Tags) != 1 || aws.ToString(tk.Tags[0].Key) != "gameday:run" {
		t.Errorf("tags %+v", tk.Tags)
	}
	// The awsvpc ENI: a label address from the chosen subnet.
	if len(tk.Attachments) != 1 || aws.ToString(tk.Attachments[0].Type) != "ElasticNetworkInterface" {
		t.Fatalf("attachments %+v", tk.Attachments)
	}
	var ip, sn string
	for _, d := range tk.Attachments[0].Details {
		switch aws.ToString(d.Name) {
		case "privateIPv4Address":
			ip = aws.ToString(d.Value)
		case "subnetId":
			sn = aws.ToString(d.Value)
		}
	}
	if a, err := netip.ParseAddr(ip); err != nil || !netip.MustParsePrefix(cidr).Contains(a) || sn != subnet {
		t.Errorf("ENI address %q subnet %q, want in %s of %s", ip, sn, cidr, subnet)
	}

	// Overrides: the command and the environment reach the process. The
	// worker without GAMEDAY_WORKER_TOKEN exits 2 (bad input); with it, and
	// an unreachable coordinator, 5.
	for _, tc := range []struct {
		env  []ecstypes.KeyValuePair
		want int32
	}{
		{nil, 2},
		{[]ecstypes.KeyValuePair{{Name: aws.String("GAMEDAY_WORKER_TOKEN"), Value: aws.String("t")}}, 5},
	} {
		run, err := c.RunTask(ctxT(t), &ecssdk.RunTaskInput{
			Cluster: aws.String("gameday"), TaskDefinition: aws.String(td), LaunchType: ecstypes.LaunchTypeFargate,
			NetworkConfiguration: fargateNet(subnet),
			Overrides: &ecstypes.TaskOverride{ContainerOverrides: []ecstypes.ContainerOverride{{
				Name:        aws.String("worker"),
				Command:     []string{"worker", "--id", "w1", "--coordinator", "http://127.0.0.1:1"},
				Environment: tc.env,
			}}},
		})
		if err != nil {
			t.Fatalf("RunTask: %v", err)
		}
		tk, _ := waitTask(t, c, aws.ToString(run.Tasks[0].TaskArn), "STOPPED")
		if got := aws.ToInt32(tk.Containers[0].ExitCode); got != tc.want || tk.StopCode != ecstypes.TaskStopCodeEssentialContainerExited {
			t.Errorf("env %v: exit code %d stopCode %s, want %d EssentialContainerExited", tc.env, got, tk.StopCode, tc.want)
		}
		if tk.Overrides == nil || len(tk.Overrides.ContainerOverrides) != 1 || tk.Overrides.ContainerOverrides[0].Command[0] != "worker" {
			t.Errorf("overrides not echoed: %+v", tk.Overrides)
		}
	}
}

func TestECSStopTaskKillsTheProcess(t *testing.T) {
	_, c, awsCfg, _ := ecsSandbox(t, nil)
	subnet, _ := privateSubnet(t, awsCfg)
	marker := "ecs-stop"
	registerWorkerTD(t, c, "long", longRunning...)
	run, err := c.RunTask(ctxT(t), &ecssdk.RunTaskInput{
		Cluster: aws.String("gameday"), TaskDefinition: aws.String("long"), LaunchType: ecstypes.LaunchTypeFargate,
		NetworkConfiguration: fargateNet(subnet), Overrides: markerEnv(marker),
	})
	if err != nil {
		t.Fatalf("RunTask: %v", err)
	}
	arn := aws.ToString(run.Tasks[0].TaskArn)
	waitTask(t, c, arn, "RUNNING")
	testutil.Eventually(t, 10*time.Second, "the task's gameday process runs", func() bool { return len(pidsWithEnv(t, marker)) == 1 })

	st, err := c.StopTask(ctxT(t), &ecssdk.StopTaskInput{Cluster: aws.String("gameday"), Task: aws.String(arn), Reason: aws.String("test done")})
	if err != nil {
		t.Fatalf("StopTask: %v", err)
	}
	if aws.ToString(st.Task.DesiredStatus) != "STOPPED" || st.Task.StopCode != ecstypes.TaskStopCodeUserInitiated {
		t.Errorf("StopTask answered desired %s stopCode %s", aws.ToString(st.Task.DesiredStatus), st.Task.StopCode)
	}
	tk, _ := waitTask(t, c, arn, "STOPPED")
	if pids := pidsWithEnv(t, marker); len(pids) != 0 {
		t.Errorf("task STOPPED but its processes %v are alive", pids)
	}
	if tk.StopCode != ecstypes.TaskStopCodeUserInitiated || aws.ToString(tk.StoppedReason) != "test done" {
		t.Errorf("stopCode %s reason %q", tk.StopCode, aws.ToString(tk.StoppedReason))
	}
	// gameday sandbox ends on SIGTERM by the signal: 128+15, as Docker says.
	if code := tk.Containers[0].ExitCode; code == nil || *code != 143 {
		t.Errorf("exit code %v after the stop, want 143 (SIGTERM)", code)
	}
	// Stopped tasks stay describable but leave the default ListTasks.
	lt, err := c.ListTasks(ctxT(t), &ecssdk.ListTasksInput{Cluster: aws.String("gameday")})
	if err != nil || len(lt.TaskArns) != 0 {
		t.Errorf("ListTasks after the stop: %v %v", lt.TaskArns, err)
	}
	lt, err = c.ListTasks(ctxT(t), &ecssdk.ListTasksInput{Cluster: aws.String("gameday"), DesiredStatus: ecstypes.DesiredStatusStopped})
	if err != nil || len(lt.TaskArns) != 1 || lt.TaskArns[0] != arn {
		t.Errorf("ListTasks STOPPED: %v %v", lt.TaskArns, err)
	}
}

func TestECSCloseLeavesNoProcess(t *testing.T) {
	s, c, awsCfg, _ := ecsSandbox(t, nil)
	subnet, _ := privateSubnet(t, awsCfg)
	marker := "ecs-close"
	registerWorkerTD(t, c, "long", longRunning...)
	run, err := c.RunTask(ctxT(t), &ecssdk.RunTaskInput{
		Cluster: aws.String("gameday"), TaskDefinition: aws.String("long"), LaunchType: ecstypes.LaunchTypeFargate,
		NetworkConfiguration: fargateNet(subnet), Count: aws.Int32(3), Overrides: markerEnv(marker),
	})
	if err != nil || len(run.Tasks) != 3 {
		t.Fatalf("RunTask: %v", err)
	}
	testutil.Eventually(t, 10*time.Second, "three task processes run", func() bool { return len(pidsWithEnv(t, marker)) == 3 })
	if n := s.Health().ECSTasks; n != 3 {
		t.Errorf("health counts %d ECS tasks, want 3", n)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if pids := pidsWithEnv(t, marker); len(pids) != 0 {
		t.Errorf("after Close, task processes %v are alive", pids)
	}
}
