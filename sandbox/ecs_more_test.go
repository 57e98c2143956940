package sandbox

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecssdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/gameday-dev/gameday/internal/testutil"
	"github.com/gameday-dev/gameday/sandbox/awsapi"
)

// noRetry is a client option: one attempt, so a throttle reaches the test.
func noRetry(o *ecssdk.Options) { o.RetryMaxAttempts = 1 }

func listAll(t *testing.T, c *ecssdk.Client, in ecssdk.ListTasksInput) []string {
	t.Helper()
	var out []string
	p := ecssdk.NewListTasksPaginator(c, &in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctxT(t))
		if err != nil {
			t.Fatalf("ListTasks: %v", err)
		}
		out = append(out, page.TaskArns...)
	}
	return out
}

// TestECSValidation: each bad RunTask is refused with ECS's code and starts
// nothing.
func TestECSValidation(t *testing.T) {
	s, c, awsCfg, _ := ecsSandbox(t, nil)
	subnet, _ := privateSubnet(t, awsCfg)
	registerWorkerTD(t, c, "v", "version")
	// A task definition that Fargate cannot run (bridge mode).
	if _, err := c.RegisterTaskDefinition(ctxT(t), &ecssdk.RegisterTaskDefinitionInput{
		Family: aws.String("bridge"), ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("w"), Image: aws.String("x"), Command: []string{"version"}}},
	}); err != nil {
		t.Fatal(err)
	}
	tags := make([]ecstypes.Tag, 51)
	for i := range tags {
		tags[i] = ecstypes.Tag{Key: aws.String("k" + strings.Repeat("x", i)), Value: aws.String("v")}
	}
	ok := func(in *ecssdk.RunTaskInput) *ecssdk.RunTaskInput {
		if in.Cluster == nil {
			in.Cluster = aws.String("gameday")
		}
		if in.TaskDefinition == nil {
			in.TaskDefinition = aws.String("v")
		}
		return in
	}
	for _, tc := range []struct {
		what string
		in   *ecssdk.RunTaskInput
		code string
	}{
		{"unknown cluster", ok(&ecssdk.RunTaskInput{Cluster: aws.String("nope")}), "ClusterNotFoundException"},
		{"no cluster is ECS's \"default\", which this sandbox lacks", ok(&ecssdk.RunTaskInput{Cluster: aws.String("")}), "ClusterNotFoundException"},
		{"unknown task definition", ok(&ecssdk.RunTaskInput{TaskDefinition: aws.String("nope")}), "ClientException"},
		{"unknown revision", ok(&ecssdk.RunTaskInput{TaskDefinition: aws.String("v:9")}), "ClientException"},
		{"awsvpc without a network configuration", ok(&ecssdk.RunTaskInput{LaunchType: ecstypes.LaunchTypeFargate}), "InvalidParameterException"},
		{"an unknown subnet", ok(&ecssdk.RunTaskInput{LaunchType: ecstypes.LaunchTypeFargate, NetworkConfiguration: fargateNet("subnet-0123456789abcdef0")}), "InvalidParameterException"},
		{"FARGATE with a bridge-mode definition", ok(&ecssdk.RunTaskInput{TaskDefinition: aws.String("bridge"), LaunchType: ecstypes.LaunchTypeFargate}), "InvalidParameterException"},
		{"a cpu override without a Fargate size", ok(&ecssdk.RunTaskInput{LaunchType: ecstypes.LaunchTypeFargate, NetworkConfiguration: fargateNet(subnet), Overrides: &ecstypes.TaskOverride{Cpu: aws.String("512")}}), "InvalidParameterException"},
		{"an override for a container the definition lacks", ok(&ecssdk.RunTaskInput{LaunchType: ecstypes.LaunchTypeFargate, NetworkConfiguration: fargateNet(subnet),
			Overrides: &ecstypes.TaskOverride{ContainerOverrides: []ecstypes.ContainerOverride{{Name: aws.String("other")}}}}), "InvalidParameterException"},
		{"count 0", ok(&ecssdk.RunTaskInput{Count: aws.Int32(0), LaunchType: ecstypes.LaunchTypeFargate, NetworkConfiguration: fargateNet(subnet)}), "InvalidParameterException"},
		{"count 11", ok(&ecssdk.RunTaskInput{Count: aws.Int32(11), LaunchType: ecstypes.LaunchTypeFargate, NetworkConfiguration: fargateNet(subnet)}), "InvalidParameterException"},
		{"startedBy of 129 characters", ok(&ecssdk.RunTaskInput{StartedBy: aws.String(strings.Repeat("s", 129)), LaunchType: ecstypes.LaunchTypeFargate, NetworkConfiguration: fargateNet(subnet)}), "InvalidParameterException"},
		{"51 tags", ok(&ecssdk.RunTaskInput{Tags: tags, LaunchType: ecstypes.LaunchTypeFargate, NetworkConfiguration: fargateNet(subnet)}), "InvalidParameterException"},
		{"an aws: tag", ok(&ecssdk.RunTaskInput{Tags: []ecstypes.Tag{{Key: aws.String("aws:x"), Value: aws.String("v")}}, LaunchType: ecstypes.LaunchTypeFargate, NetworkConfiguration: fargateNet(subnet)}), "InvalidParameterException"},
		{"a client token of 65 characters", ok(&ecssdk.RunTaskInput{ClientToken: aws.String(strings.Repeat("t", 65)), LaunchType: ecstypes.LaunchTypeFargate, NetworkConfiguration: fargateNet(subnet)}), "InvalidParameterException"},
		{"public IP on the EC2 launch type", ok(&ecssdk.RunTaskInput{LaunchType: ecstypes.LaunchTypeEc2, NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: []string{subnet}, AssignPublicIp: ecstypes.AssignPublicIpEnabled}}}), "InvalidParameterException"},
	} {
		_, err := c.RunTask(ctxT(t), tc.in)
		if err == nil {
			t.Errorf("%s: RunTask succeeded", tc.what)
			continue
		}
		t.Run(tc.what, func(t *testing.T) { wantAPIError(t, err, tc.code, 400) })
	}
	if all := listAll(t, c, ecssdk.ListTasksInput{Cluster: aws.String("gameday"), DesiredStatus: ecstypes.DesiredStatusStopped}); len(all) != 0 {
		t.Errorf("refused RunTasks left tasks: %v", all)
	}
	if all := listAll(t, c, ecssdk.ListTasksInput{Cluster: aws.String("gameday")}); len(all) != 0 {
		t.Errorf("refused RunTasks left tasks: %v", all)
	}

	// Task definitions.
	for _, tc := range []struct {
		what string
		in   *ecssdk.RegisterTaskDefinitionInput
	}{
		{"no containers", &ecssdk.RegisterTaskDefinitionInput{Family: aws.String("f"), ContainerDefinitions: []ecstypes.ContainerDefinition{}}},
		{"a bad family", &ecssdk.RegisterTaskDefinitionInput{Family: aws.String("a b"), ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("w"), Image: aws.String("x")}}}},
		{"no image", &ecssdk.RegisterTaskDefinitionInput{Family: aws.String("f"), ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("w")}}}},
		{"FARGATE in bridge mode", &ecssdk.RegisterTaskDefinitionInput{Family: aws.String("f"), RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate}, Cpu: aws.String("256"), Memory: aws.String("512"),
			ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("w"), Image: aws.String("x")}}}},
		{"FARGATE with 256 CPU and 4 GB", &ecssdk.RegisterTaskDefinitionInput{Family: aws.String("f"), NetworkMode: ecstypes.NetworkModeAwsvpc, RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate}, Cpu: aws.String("256"), Memory: aws.String("4 GB"),
			ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("w"), Image: aws.String("x")}}}},
		{"no essential container", &ecssdk.RegisterTaskDefinitionInput{Family: aws.String("f"), ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("w"), Image: aws.String("x"), Essential: aws.Bool(false)}}}},
	} {
		_, err := c.RegisterTaskDefinition(ctxT(t), tc.in)
		t.Run("register "+tc.what, func(t *testing.T) { wantAPIError(t, err, "ClientException", 400) })
	}
	_, err := c.DescribeTaskDefinition(ctxT(t), &ecssdk.DescribeTaskDefinitionInput{TaskDefinition: aws.String("f")})
	wantAPIError(t, err, "ClientException", 400)

	// Deregistered: describable, not runnable.
	if _, err := c.DeregisterTaskDefinition(ctxT(t), &ecssdk.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("bridge:1")}); err != nil {
		t.Fatal(err)
	}
	d, err := c.DescribeTaskDefinition(ctxT(t), &ecssdk.DescribeTaskDefinitionInput{TaskDefinition: aws.String("bridge:1")})
	if err != nil || d.TaskDefinition.Status != ecstypes.TaskDefinitionStatusInactive || d.TaskDefinition.DeregisteredAt == nil {
		t.Errorf("DescribeTaskDefinition of a deregistered revision: %+v %v", d, err)
	}
	_, err = c.RunTask(ctxT(t), &ecssdk.RunTaskInput{Cluster: aws.String("gameday"), TaskDefinition: aws.String("bridge:1")})
	wantAPIError(t, err, "ClientException", 400)

	// The control plane's fault injector reaches ECS with its throttling code.
	s.APIErrors().Add(awsapi.Throttle(awsapi.ServiceECS, "ListTasks", 1))
	_, err = c.ListTasks(ctxT(t), &ecssdk.ListTasksInput{Cluster: aws.String("gameday")}, noRetry)
	wantAPIError(t, err, "ThrottlingException", 400)
}

// TestECSTaskCap: beyond ecs.max_tasks, RunTask is throttled and starts
// nothing; a stopped task frees its place.
func TestECSTaskCap(t *testing.T) {
	_, c, awsCfg, _ := ecsSandbox(t, func(cfg *Config) { cfg.ECS.MaxTasks = 2 })
	subnet, _ := privateSubnet(t, awsCfg)
	registerWorkerTD(t, c, "long", longRunning...)
	// A fresh input per call: the SDK writes the client token it draws
	// into the input, and the same token again is the same request.
	mk := func(n int32) *ecssdk.RunTaskInput {
		return &ecssdk.RunTaskInput{Cluster: aws.String("gameday"), TaskDefinition: aws.String("long"), LaunchType: ecstypes.LaunchTypeFargate, NetworkConfiguration: fargateNet(subnet), Count: aws.Int32(n), Overrides: markerEnv("ecs-cap")}
	}
	first, err := c.RunTask(ctxT(t), mk(1))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.RunTask(ctxT(t), mk(2), noRetry)
	wantAPIError(t, err, "ThrottlingException", 400)
	if n := len(listAll(t, c, ecssdk.ListTasksInput{Cluster: aws.String("gameday")})); n != 1 {
		t.Errorf("%d tasks after the throttled RunTask, want 1", n)
	}
	if _, err := c.RunTask(ctxT(t), mk(1)); err != nil {
		t.Fatalf("the second task fits: %v", err)
	}
	_, err = c.RunTask(ctxT(t), mk(1), noRetry)
	wantAPIError(t, err, "ThrottlingException", 400)
	if _, err := c.StopTask(ctxT(t), &ecssdk.StopTaskInput{Cluster: aws.String("gameday"), Task: first.Tasks[0].TaskArn}); err != nil {
		t.Fatal(err)
	}
	waitTask(t, c, aws.ToString(first.Tasks[0].TaskArn), "STOPPED")
	if _, err := c.RunTask(ctxT(t), mk(1)); err != nil {
		t.Fatalf("after a stop, a task fits again: %v", err)
	}
}

// TestECSClientToken: the same token and parameters return the same tasks
// and start nothing more; other parameters are a ConflictException.
func TestECSClientToken(t *testing.T) {
	_, c, awsCfg, _ := ecsSandbox(t, nil)
	subnet, _ := privateSubnet(t, awsCfg)
	registerWorkerTD(t, c, "v", "version")
	in := &ecssdk.RunTaskInput{Cluster: aws.String("gameday"), TaskDefinition: aws.String("v"), LaunchType: ecstypes.LaunchTypeFargate,
		NetworkConfiguration: fargateNet(subnet), Count: aws.Int32(2), ClientToken: aws.String("retry-me")}
	a, err := c.RunTask(ctxT(t), in)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.RunTask(ctxT(t), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Tasks) != 2 || len(b.Tasks) != 2 || aws.ToString(a.Tasks[0].TaskArn) != aws.ToString(b.Tasks[0].TaskArn) || aws.ToString(a.Tasks[1].TaskArn) != aws.ToString(b.Tasks[1].TaskArn) {
		t.Errorf("a retry with the same token started other tasks: %d then %d", len(a.Tasks), len(b.Tasks))
	}
	other := *in
	other.StartedBy = aws.String("someone else")
	_, err = c.RunTask(ctxT(t), &other)
	wantAPIError(t, err, "ConflictException", 400)
	all := listAll(t, c, ecssdk.ListTasksInput{Cluster: aws.String("gameday"), DesiredStatus: ecstypes.DesiredStatusStopped})
	all = append(all, listAll(t, c, ecssdk.ListTasksInput{Cluster: aws.String("gameday")})...)
	if len(all) != 2 {
		t.Errorf("%d tasks exist, want the 2 of the first call", len(all))
	}
	// The SDK fills a fresh token per call: two calls, two sets.
	in.ClientToken = nil
	x, err := c.RunTask(ctxT(t), in)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(x.Tasks[0].TaskArn) == aws.ToString(a.Tasks[0].TaskArn) {
		t.Errorf("a call without a token reused the tasks of a token")
	}
}

// TestECSTaskFailedToStart: an executable that cannot start stops the
// task with TaskFailedToStart and the reason.
func TestECSTaskFailedToStart(t *testing.T) {
	_, c, awsCfg, _ := ecsSandbox(t, func(cfg *Config) { cfg.ECS.Executable = "/nonexistent/gameday" })
	subnet, _ := privateSubnet(t, awsCfg)
	registerWorkerTD(t, c, "v", "version")
	run, err := c.RunTask(ctxT(t), &ecssdk.RunTaskInput{Cluster: aws.String("gameday"), TaskDefinition: aws.String("v"), LaunchType: ecstypes.LaunchTypeFargate, NetworkConfiguration: fargateNet(subnet)})
	if err != nil {
		t.Fatal(err)
	}
	tk, seen := waitTask(t, c, aws.ToString(run.Tasks[0].TaskArn), "STOPPED")
	inOrder(t, seen)
	if tk.StopCode != ecstypes.TaskStopCodeTaskFailedToStart || !strings.Contains(aws.ToString(tk.StoppedReason), "CannotStartContainerError") {
		t.Errorf("stopCode %s reason %q", tk.StopCode, aws.ToString(tk.StoppedReason))
	}
	if tk.StartedAt != nil || tk.Containers[0].ExitCode != nil || !strings.Contains(aws.ToString(tk.Containers[0].Reason), "nonexistent") {
		t.Errorf("a task that never started: startedAt %v exitCode %v reason %q", tk.StartedAt, tk.Containers[0].ExitCode, aws.ToString(tk.Containers[0].Reason))
	}
}

// TestECSListTasksPagingAndFilters: ListTasks pages by maxResults with a
// token sealed to the query, and filters by family, startedBy, launch type
// and desired status.
func TestECSListTasksPagingAndFilters(t *testing.T) {
	_, c, awsCfg, _ := ecsSandbox(t, nil)
	subnet, _ := privateSubnet(t, awsCfg)
	registerWorkerTD(t, c, "alpha", longRunning...)
	registerWorkerTD(t, c, "beta", longRunning...)
	run := func(family, by string, n int32) []string {
		out, err := c.RunTask(ctxT(t), &ecssdk.RunTaskInput{Cluster: aws.String("gameday"), TaskDefinition: aws.String(family), LaunchType: ecstypes.LaunchTypeFargate,
			NetworkConfiguration: fargateNet(subnet), Count: aws.Int32(n), StartedBy: aws.String(by), Overrides: markerEnv("ecs-list-" + family)})
		if err != nil {
			t.Fatal(err)
		}
		var arns []string
		for _, tk := range out.Tasks {
			arns = append(arns, aws.ToString(tk.TaskArn))
		}
		return arns
	}
	a := run("alpha", "me", 5)
	b := run("beta", "you", 2)
	want := append(append([]string(nil), a...), b...)

	// Pages of 3: 3, 3, 1, in order, the last without a token.
	var got []string
	var tok *string
	pages := 0
	for {
		out, err := c.ListTasks(ctxT(t), &ecssdk.ListTasksInput{Cluster: aws.String("gameday"), MaxResults: aws.Int32(3), NextToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		got = append(got, out.TaskArns...)
		if out.NextToken == nil {
			break
		}
		if len(out.TaskArns) != 3 {
			t.Errorf("page %d has %d tasks, want 3", pages, len(out.TaskArns))
		}
		tok = out.NextToken
	}
	if pages != 3 || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("%d pages: %v, want 3 pages of %v", pages, got, want)
	}
	// A token continues only its own query.
	first, _ := c.ListTasks(ctxT(t), &ecssdk.ListTasksInput{Cluster: aws.String("gameday"), MaxResults: aws.Int32(3)})
	_, err := c.ListTasks(ctxT(t), &ecssdk.ListTasksInput{Cluster: aws.String("gameday"), MaxResults: aws.Int32(3), Family: aws.String("alpha"), NextToken: first.NextToken})
	wantAPIError(t, err, "InvalidParameterException", 400)
	for _, n := range []int32{0, 101} {
		_, err := c.ListTasks(ctxT(t), &ecssdk.ListTasksInput{Cluster: aws.String("gameday"), MaxResults: aws.Int32(n)})
		wantAPIError(t, err, "InvalidParameterException", 400)
	}
	_, err = c.ListTasks(ctxT(t), &ecssdk.ListTasksInput{Cluster: aws.String("nope")})
	wantAPIError(t, err, "ClusterNotFoundException", 400)

	for what, tc := range map[string]struct {
		in   ecssdk.ListTasksInput
		want int
	}{
		"family alpha":    {ecssdk.ListTasksInput{Family: aws.String("alpha")}, 5},
		"startedBy you":   {ecssdk.ListTasksInput{StartedBy: aws.String("you")}, 2},
		"launch FARGATE":  {ecssdk.ListTasksInput{LaunchType: ecstypes.LaunchTypeFargate}, 7},
		"launch EC2":      {ecssdk.ListTasksInput{LaunchType: ecstypes.LaunchTypeEc2}, 0},
		"desired STOPPED": {ecssdk.ListTasksInput{DesiredStatus: ecstypes.DesiredStatusStopped}, 0},
	} {
		tc.in.Cluster = aws.String("gameday")
		if n := len(listAll(t, c, tc.in)); n != tc.want {
			t.Errorf("ListTasks %s: %d tasks, want %d", what, n, tc.want)
		}
	}
	// Stop the beta tasks: they leave the default listing for STOPPED.
	for _, arn := range b {
		if _, err := c.StopTask(ctxT(t), &ecssdk.StopTaskInput{Cluster: aws.String("gameday"), Task: aws.String(arn)}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(listAll(t, c, ecssdk.ListTasksInput{Cluster: aws.String("gameday")})); n != 5 {
		t.Errorf("after stopping beta: %d running, want 5", n)
	}
	if got := listAll(t, c, ecssdk.ListTasksInput{Cluster: aws.String("gameday"), DesiredStatus: ecstypes.DesiredStatusStopped}); strings.Join(got, ",") != strings.Join(b, ",") {
		t.Errorf("STOPPED: %v, want %v", got, b)
	}
	testutil.Eventually(t, 10*time.Second, "the beta processes are gone", func() bool { return len(pidsWithEnv(t, "ecs-list-beta")) == 0 })
	testutil.Eventually(t, 10*time.Second, "the five alpha processes run", func() bool { return len(pidsWithEnv(t, "ecs-list-alpha")) == 5 })
}

// TestECSTagsAndClusters: tags on tasks, task definitions and clusters;
// CreateCluster, DescribeClusters counts, ListClusters.
func TestECSTagsAndClusters(t *testing.T) {
	s, c, awsCfg, _ := ecsSandbox(t, nil)
	subnet, _ := privateSubnet(t, awsCfg)
	tdArn := registerWorkerTD(t, c, "long", longRunning...)
	run, err := c.RunTask(ctxT(t), &ecssdk.RunTaskInput{Cluster: aws.String("gameday"), TaskDefinition: aws.String("long"), LaunchType: ecstypes.LaunchTypeFargate,
		NetworkConfiguration: fargateNet(subnet), Tags: []ecstypes.Tag{{Key: aws.String("gameday:run"), Value: aws.String("r9")}}, Overrides: markerEnv("ecs-tags")})
	if err != nil {
		t.Fatal(err)
	}
	task := aws.ToString(run.Tasks[0].TaskArn)
	clusterArn := aws.ToString(run.Tasks[0].ClusterArn)
	for _, arn := range []string{task, tdArn, clusterArn} {
		if _, err := c.TagResource(ctxT(t), &ecssdk.TagResourceInput{ResourceArn: aws.String(arn), Tags: []ecstypes.Tag{{Key: aws.String("owner"), Value: aws.String("sre")}}}); err != nil {
			t.Fatalf("TagResource %s: %v", arn, err)
		}
		l, err := c.ListTagsForResource(ctxT(t), &ecssdk.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
		if err != nil || !hasTag(l.Tags, "owner", "sre") {
			t.Errorf("ListTagsForResource %s: %+v %v", arn, l, err)
		}
		if _, err := c.UntagResource(ctxT(t), &ecssdk.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"owner"}}); err != nil {
			t.Fatal(err)
		}
		l, _ = c.ListTagsForResource(ctxT(t), &ecssdk.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
		if hasTag(l.Tags, "owner", "sre") {
			t.Errorf("UntagResource %s left the tag", arn)
		}
	}
	d, err := c.DescribeTasks(ctxT(t), &ecssdk.DescribeTasksInput{Cluster: aws.String("gameday"), Tasks: []string{task}})
	if err != nil || len(d.Tasks[0].Tags) != 0 {
		t.Errorf("DescribeTasks without include TAGS returned tags %+v (%v)", d.Tasks[0].Tags, err)
	}
	d, _ = c.DescribeTasks(ctxT(t), &ecssdk.DescribeTasksInput{Cluster: aws.String("gameday"), Tasks: []string{task, "0123456789abcdef0123456789abcdef"}, Include: []ecstypes.TaskField{ecstypes.TaskFieldTags}})
	if len(d.Tasks) != 1 || !hasTag(d.Tasks[0].Tags, "gameday:run", "r9") || len(d.Failures) != 1 || aws.ToString(d.Failures[0].Reason) != "MISSING" {
		t.Errorf("DescribeTasks with TAGS and an unknown id: %+v failures %+v", d.Tasks, d.Failures)
	}
	_, err = c.TagResource(ctxT(t), &ecssdk.TagResourceInput{ResourceArn: aws.String(strings.Replace(clusterArn, "gameday", "nope", 1)), Tags: []ecstypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	wantAPIError(t, err, "ClusterNotFoundException", 400)

	waitTask(t, c, task, "RUNNING")
	dc, err := c.DescribeClusters(ctxT(t), &ecssdk.DescribeClustersInput{Clusters: []string{"gameday", "nope"}})
	if err != nil || len(dc.Clusters) != 1 || dc.Clusters[0].RunningTasksCount != 1 || aws.ToString(dc.Clusters[0].Status) != "ACTIVE" || len(dc.Failures) != 1 {
		t.Errorf("DescribeClusters: %+v %v", dc, err)
	}
	cc, err := c.CreateCluster(ctxT(t), &ecssdk.CreateClusterInput{ClusterName: aws.String("second")})
	if err != nil || aws.ToString(cc.Cluster.ClusterName) != "second" {
		t.Fatalf("CreateCluster: %v", err)
	}
	lc, err := c.ListClusters(ctxT(t), &ecssdk.ListClustersInput{})
	if err != nil || len(lc.ClusterArns) != 2 {
		t.Errorf("ListClusters: %v %v", lc, err)
	}
	if got := s.Summary().ECSCluster; got != "gameday" {
		t.Errorf("summary names cluster %q", got)
	}
	// Tasks are per cluster.
	_, err = c.StopTask(ctxT(t), &ecssdk.StopTaskInput{Cluster: aws.String("second"), Task: aws.String(task)})
	wantAPIError(t, err, "InvalidParameterException", 400)
}

func hasTag(tags []ecstypes.Tag, k, v string) bool {
	for _, t := range tags {
		if aws.ToString(t.Key) == k && aws.ToString(t.Value) == v {
			return true
		}
	}
	return false
}

// TestECSUnservedAction: an ECS action the sandbox does not serve is an
// awsJson UnknownOperationException the SDK reads, not a query-XML error.
func TestECSUnservedAction(t *testing.T) {
	_, c, awsCfg, _ := ecsSandbox(t, nil)
	_, err := c.CreateService(ctxT(t), &ecssdk.CreateServiceInput{ServiceName: aws.String("web"), Cluster: aws.String("gameday")})
	wantAPIError(t, err, "UnknownOperationException", 400)
	// Signed for another region: refused in ECS's protocol, as the
	// query services refuse it.
	other := ecssdk.NewFromConfig(awsCfg, func(o *ecssdk.Options) { o.Region = "us-east-1" })
	_, err = other.ListClusters(ctxT(t), &ecssdk.ListClustersInput{})
	wantAPIError(t, err, "SignatureDoesNotMatch", 403)
}

// TestECSConfigFile: the ecs section of a sandbox config file names the
// cluster and the timings; the executable is not settable from a file;
// out-of-range values stop Start with the field named.
func TestECSConfigFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sb.yaml")
	if err := os.WriteFile(p, []byte("ecs:\n  cluster: loadgen\n  step_delay: 50ms\n  stop_timeout: 1s\n  max_tasks: 8\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ECS.Cluster != "loadgen" || cfg.ECS.StepDelay != 50*time.Millisecond || cfg.ECS.StopTimeout != time.Second || cfg.ECS.MaxTasks != 8 {
		t.Errorf("ecs section read as %+v", cfg.ECS)
	}
	if err := os.WriteFile(p, []byte("ecs:\n  executable: /bin/sh\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(p); err == nil || !strings.Contains(err.Error(), "executable") {
		t.Errorf("ecs.executable in a file: %v, want it refused", err)
	}
	cfg.Region = testConfig().Region
	cfg.ECS.MaxTasks = 5000
	if _, err := Start(ctxT(t), cfg); err == nil || !strings.Contains(err.Error(), "ecs.max_tasks") {
		t.Errorf("max_tasks 5000: %v, want an error naming ecs.max_tasks", err)
	}
	cfg.ECS.MaxTasks = 8
	s, awsCfg := startSandbox(t, cfg)
	if s.Summary().ECSCluster != "loadgen" {
		t.Errorf("summary cluster %q", s.Summary().ECSCluster)
	}
	out, err := ecssdk.NewFromConfig(awsCfg).ListClusters(ctxT(t), &ecssdk.ListClustersInput{})
	if err != nil || len(out.ClusterArns) != 1 || !strings.HasSuffix(out.ClusterArns[0], ":cluster/loadgen") {
		t.Errorf("ListClusters: %v %v", out, err)
	}
}

// TestECSTasksDieWithASandboxKilledHard: SIGKILL of a `gameday sandbox`
// process (no Close, no cleanup) still leaves no task process behind: the
// kernel kills them (PR_SET_PDEATHSIG).
func TestECSTasksDieWithASandboxKilledHard(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("PR_SET_PDEATHSIG is Linux's")
	}
	bin := gamedayBinary(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "sandbox", "--api-port", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	endpoint := "http://127.0.0.1:" + strconv.Itoa(port)
	var h Health
	testutil.Eventually(t, 30*time.Second, "gameday sandbox answers", func() bool {
		resp, err := http.Get(endpoint + "/_sandbox/health")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return json.NewDecoder(resp.Body).Decode(&h) == nil && h.Status == "ok"
	})
	awsCfg := AWSConfig(endpoint, h.Region)
	c := ecssdk.NewFromConfig(awsCfg)
	subnet, _ := privateSubnet(t, awsCfg)
	marker := "ecs-pdeathsig-" + strconv.Itoa(os.Getpid())
	t.Cleanup(func() { // if the test fails, still leave nothing behind
		for _, pid := range pidsWithEnv(t, marker) {
			if n, err := strconv.Atoi(pid); err == nil {
				_ = syscall.Kill(n, syscall.SIGKILL)
			}
		}
	})
	registerWorkerTD(t, c, "long", longRunning...)
	if _, err := c.RunTask(ctxT(t), &ecssdk.RunTaskInput{Cluster: aws.String("gameday"), TaskDefinition: aws.String("long"), LaunchType: ecstypes.LaunchTypeFargate,
		NetworkConfiguration: fargateNet(subnet), Count: aws.Int32(2), Overrides: markerEnv(marker),
	}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "two task processes run under the sandbox", func() bool { return len(pidsWithEnv(t, marker)) == 2 })
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	testutil.Eventually(t, 10*time.Second, "no task process outlives the killed sandbox", func() bool { return len(pidsWithEnv(t, marker)) == 0 })
}

// TestECSInsideATestBinary: with no executable set, a sandbox inside a Go
// test binary refuses to run it (it would run the tests again): the task is
// TaskFailedToStart and says what to set.
func TestECSInsideATestBinary(t *testing.T) {
	_, c, awsCfg, _ := ecsSandbox(t, func(cfg *Config) { cfg.ECS.Executable = "" })
	subnet, _ := privateSubnet(t, awsCfg)
	registerWorkerTD(t, c, "v", "version")
	run, err := c.RunTask(ctxT(t), &ecssdk.RunTaskInput{Cluster: aws.String("gameday"), TaskDefinition: aws.String("v"), LaunchType: ecstypes.LaunchTypeFargate, NetworkConfiguration: fargateNet(subnet)})
	if err != nil {
		t.Fatal(err)
	}
	tk, _ := waitTask(t, c, aws.ToString(run.Tasks[0].TaskArn), "STOPPED")
	if tk.StopCode != ecstypes.TaskStopCodeTaskFailedToStart || !strings.Contains(aws.ToString(tk.StoppedReason), "Config.ECS.Executable") {
		t.Errorf("stopCode %s reason %q", tk.StopCode, aws.ToString(tk.StoppedReason))
	}
}

// TestECSEC2LaunchType: a bridge-mode definition runs on the EC2 launch
// type (the default without a capacity provider), with no ENI.
func TestECSEC2LaunchType(t *testing.T) {
	_, c, _, _ := ecsSandbox(t, nil)
	if _, err := c.RegisterTaskDefinition(ctxT(t), &ecssdk.RegisterTaskDefinitionInput{
		Family: aws.String("bridge"), ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("w"), Image: aws.String("x"), Memory: aws.Int32(128), Command: []string{"version"}}},
	}); err != nil {
		t.Fatal(err)
	}
	run, err := c.RunTask(ctxT(t), &ecssdk.RunTaskInput{Cluster: aws.String("gameday"), TaskDefinition: aws.String("bridge")})
	if err != nil {
		t.Fatal(err)
	}
	tk, _ := waitTask(t, c, aws.ToString(run.Tasks[0].TaskArn), "STOPPED")
	if tk.LaunchType != ecstypes.LaunchTypeEc2 || len(tk.Attachments) != 0 || tk.StopCode != ecstypes.TaskStopCodeEssentialContainerExited || aws.ToInt32(tk.Containers[0].ExitCode) != 0 {
		t.Errorf("launch %s attachments %d stopCode %s exit %v", tk.LaunchType, len(tk.Attachments), tk.StopCode, tk.Containers[0].ExitCode)
	}
}

// TestECSStopBeforeRunning: a task stopped while it provisions never
// starts a process and stops UserInitiated.
func TestECSStopBeforeRunning(t *testing.T) {
	_, c, awsCfg, out := ecsSandbox(t, func(cfg *Config) { cfg.ECS.StepDelay = 2 * time.Second })
	subnet, _ := privateSubnet(t, awsCfg)
	registerWorkerTD(t, c, "v", "version")
	run, err := c.RunTask(ctxT(t), &ecssdk.RunTaskInput{Cluster: aws.String("gameday"), TaskDefinition: aws.String("v"), LaunchType: ecstypes.LaunchTypeFargate, NetworkConfiguration: fargateNet(subnet)})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(run.Tasks[0].TaskArn)
	if _, err := c.StopTask(ctxT(t), &ecssdk.StopTaskInput{Cluster: aws.String("gameday"), Task: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	tk, seen := waitTask(t, c, arn, "STOPPED")
	for _, st := range seen {
		if st == "RUNNING" {
			t.Errorf("a task stopped while provisioning ran: %v", seen)
		}
	}
	if tk.StopCode != ecstypes.TaskStopCodeUserInitiated || aws.ToString(tk.StoppedReason) != "Task stopped by user" || tk.StartedAt != nil || tk.Containers[0].ExitCode != nil {
		t.Errorf("stopCode %s reason %q startedAt %v exit %v", tk.StopCode, aws.ToString(tk.StoppedReason), tk.StartedAt, tk.Containers[0].ExitCode)
	}
	if strings.Contains(out.String(), "gameday") {
		t.Errorf("the container ran: %q", out.String())
	}
}

// TestECSStopEscalatesToSIGKILL: a container that ignores SIGTERM is
// killed after its stopTimeout, with the children of its process group.
// The program is /bin/sh here (the sandbox runs any executable it is given)
// because the gameday binary honours SIGTERM.
func TestECSStopEscalatesToSIGKILL(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	_, c, _, _ := ecsSandbox(t, func(cfg *Config) { cfg.ECS.Executable = "/bin/sh" })
	if _, err := c.RegisterTaskDefinition(ctxT(t), &ecssdk.RegisterTaskDefinitionInput{
		Family: aws.String("stubborn"), ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("worker"), Image: aws.String("x"), StopTimeout: aws.Int32(1),
			Command: []string{"-c", `trap "" TERM; sleep 60 & wait; wait`}}},
	}); err != nil {
		t.Fatal(err)
	}
	run, err := c.RunTask(ctxT(t), &ecssdk.RunTaskInput{Cluster: aws.String("gameday"), TaskDefinition: aws.String("stubborn"), Overrides: markerEnv("ecs-stubborn")})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(run.Tasks[0].TaskArn)
	waitTask(t, c, arn, "RUNNING")
	// The shell and its sleep (both carry the marker in their environment).
	testutil.Eventually(t, 10*time.Second, "the shell and its child run", func() bool { return len(pidsWithEnv(t, "ecs-stubborn")) == 2 })
	if _, err := c.StopTask(ctxT(t), &ecssdk.StopTaskInput{Cluster: aws.String("gameday"), Task: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(pidsWithEnv(t, "ecs-stubborn")); n == 0 {
		t.Errorf("the shell ignoring SIGTERM is gone before its stopTimeout")
	}
	tk, _ := waitTask(t, c, arn, "STOPPED")
	if code := aws.ToInt32(tk.Containers[0].ExitCode); code != 137 {
		t.Errorf("exit code %d, want 137 (SIGKILL)", code)
	}
	if pids := pidsWithEnv(t, "ecs-stubborn"); len(pids) != 0 {
		t.Errorf("processes %v of the task's group outlive it", pids)
	}

	// An essential container that exits leaving a child: the task stops
	// with the container's own exit code and the child is killed with it.
	if _, err := c.RegisterTaskDefinition(ctxT(t), &ecssdk.RegisterTaskDefinitionInput{
		Family: aws.String("leaver"), ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("worker"), Image: aws.String("x"),
			Command: []string{"-c", `sleep 60 & exit 3`}}},
	}); err != nil {
		t.Fatal(err)
	}
	run, err = c.RunTask(ctxT(t), &ecssdk.RunTaskInput{Cluster: aws.String("gameday"), TaskDefinition: aws.String("leaver"), Overrides: markerEnv("ecs-leaver")})
	if err != nil {
		t.Fatal(err)
	}
	tk, _ = waitTask(t, c, aws.ToString(run.Tasks[0].TaskArn), "STOPPED")
	if code := aws.ToInt32(tk.Containers[0].ExitCode); code != 3 || tk.StopCode != ecstypes.TaskStopCodeEssentialContainerExited {
		t.Errorf("exit code %d stopCode %s, want 3 EssentialContainerExited", code, tk.StopCode)
	}
	if pids := pidsWithEnv(t, "ecs-leaver"); len(pids) != 0 {
		t.Errorf("the child %v the container left outlives the task", pids)
	}
}
