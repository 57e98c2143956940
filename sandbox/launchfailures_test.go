package sandbox

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/gameday-dev/gameday/internal/testutil"
	"github.com/gameday-dev/gameday/sandbox/sim"
)

func postLaunchFailure(t *testing.T, s *Sandbox, req LaunchFailureRequest) (sim.LaunchFailure, int, string) {
	t.Helper()
	body, _ := json.Marshal(req)
	resp, err := http.Post(s.Endpoint()+"/_sandbox/launch-failures", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	var lf sim.LaunchFailure
	if resp.StatusCode == http.StatusCreated {
		if err := json.Unmarshal(buf.Bytes(), &lf); err != nil {
			t.Fatal(err)
		}
	}
	return lf, resp.StatusCode, buf.String()
}

func deleteLaunchFailure(t *testing.T, s *Sandbox, id string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, s.Endpoint()+"/_sandbox/launch-failures?id="+id, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Launches in a refused AZ fail as AWS shows them (a Failed activity with
// EC2's InsufficientInstanceCapacity message) and the group launches in
// another AZ instead; once disarmed, launches go there again.
func TestLaunchFailures(t *testing.T) {
	s, cfg := startSandbox(t, testConfig())
	ctx := ctxT(t)
	sum := s.Summary()
	v := asgView{t, autoscaling.NewFromConfig(cfg), sum.AutoScalingGroup}

	for _, bad := range []LaunchFailureRequest{
		{Group: "nope", AZs: []string{"local-1a"}, Duration: "1m"},
		{Group: sum.AutoScalingGroup, AZs: []string{"mars-1a"}, Duration: "1m"},
		{Group: sum.AutoScalingGroup, Duration: "1m"},
		{Group: sum.AutoScalingGroup, AZs: []string{"local-1a"}, Duration: "48h"},
		{Group: sum.AutoScalingGroup, AZs: []string{"local-1a"}, Duration: "soon"},
		{ID: "no spaces", Group: sum.AutoScalingGroup, AZs: []string{"local-1a"}, Duration: "1m"},
		{Group: sum.AutoScalingGroup, AZs: []string{"local-1a"}, Duration: "1m", Percent: 101},
	} {
		if _, code, msg := postLaunchFailure(t, s, bad); code != http.StatusBadRequest {
			t.Fatalf("%+v: status %d %q, want 400", bad, code, msg)
		}
	}
	if n := len(s.Region().LaunchFailures()); n != 0 {
		t.Fatalf("refused requests armed %d failures", n)
	}

	lf, code, msg := postLaunchFailure(t, s, LaunchFailureRequest{ID: "mine-1", Group: sum.AutoScalingGroup, AZs: []string{"local-1a"}, Duration: "1m"})
	if code != http.StatusCreated || lf.ID != "mine-1" {
		t.Fatalf("arm: %d %q", code, msg)
	}
	var victim string
	for _, in := range v.group().Instances {
		if aws.ToString(in.AvailabilityZone) == "local-1a" {
			victim = aws.ToString(in.InstanceId)
		}
	}
	if _, err := ec2.NewFromConfig(cfg).TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{victim}}); err != nil {
		t.Fatal(err)
	}
	// The replacement goes elsewhere; the attempt in local-1a is Failed.
	var failed astypes.Activity
	testutil.Eventually(t, 5*time.Second, "a Failed launch activity in local-1a and a replacement elsewhere", func() bool {
		acts, err := v.c.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String(v.name)})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range acts.Activities {
			if a.StatusCode == astypes.ScalingActivityStatusCodeFailed {
				failed = a
			}
		}
		azs := map[string]int{}
		for _, in := range v.group().Instances {
			if in.LifecycleState != astypes.LifecycleStateTerminating && in.LifecycleState != astypes.LifecycleStateTerminated {
				azs[aws.ToString(in.AvailabilityZone)]++
			}
		}
		return failed.ActivityId != nil && azs["local-1a"] == 0 && azs["local-1b"]+azs["local-1c"] == 3
	})
	msgWant := "We currently do not have sufficient t3.micro capacity in the Availability Zone you requested (local-1a). Our system will be working on provisioning additional capacity. You can currently get t3.micro capacity by not specifying an Availability Zone in your request or choosing local-1b, local-1c. Launching EC2 instance failed."
	if got := aws.ToString(failed.StatusMessage); got != msgWant {
		t.Fatalf("StatusMessage %q\nwant %q", got, msgWant)
	}
	if d := aws.ToString(failed.Description); d != "Launching a new EC2 instance.  Status Reason: "+msgWant {
		t.Fatalf("Description %q", d)
	}
	if c := aws.ToString(failed.Cause); !strings.Contains(c, "an instance was started in response to a difference between desired and running capacity") || aws.ToInt32(failed.Progress) != 100 || failed.EndTime == nil {
		t.Fatalf("failed activity %+v", failed)
	}

	if _, code, _ := postLaunchFailure(t, s, LaunchFailureRequest{ID: lf.ID, Group: sum.AutoScalingGroup, AZs: []string{"local-1b"}, Duration: "1m"}); code != http.StatusConflict {
		t.Fatalf("arming id %s twice: %d, want 409", lf.ID, code)
	}
	if code := deleteLaunchFailure(t, s, lf.ID); code != http.StatusOK {
		t.Fatalf("disarm: %d", code)
	}
	if code := deleteLaunchFailure(t, s, lf.ID); code != http.StatusNotFound {
		t.Fatalf("disarm twice: %d, want 404", code)
	}
	// Every AZ refused: the group launches nothing and keeps trying.
	if _, code, msg := postLaunchFailure(t, s, LaunchFailureRequest{Group: sum.AutoScalingGroup, AZs: []string{"local-1a", "local-1b", "local-1c"}, Duration: "1m"}); code != http.StatusCreated {
		t.Fatalf("arm all: %d %q", code, msg)
	}
	v.setDesired(4)
	time.Sleep(quiet)
	if n := v.live(); n != 3 {
		t.Fatalf("every AZ refused: %d members, want 3", n)
	}
	req, _ := http.NewRequest(http.MethodDelete, s.Endpoint()+"/_sandbox/launch-failures", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("disarm all: %v %v", resp, err)
	}
	// Disarmed, the group launches the missing member in local-1a, the
	// least populated AZ.
	testutil.Eventually(t, 5*time.Second, "a launch in local-1a", func() bool {
		for _, in := range v.group().Instances {
			if aws.ToString(in.AvailabilityZone) == "local-1a" && in.LifecycleState != astypes.LifecycleStateTerminating && in.LifecycleState != astypes.LifecycleStateTerminated {
				return v.live() == 4
			}
		}
		return false
	})
}

// percent fails only that share of the launches (FIS's percentage): with
// 1% in every AZ the group still gets its launch through.
func TestLaunchFailuresPercent(t *testing.T) {
	s, cfg := startSandbox(t, testConfig())
	sum := s.Summary()
	v := asgView{t, autoscaling.NewFromConfig(cfg), sum.AutoScalingGroup}
	lf, code, msg := postLaunchFailure(t, s, LaunchFailureRequest{Group: sum.AutoScalingGroup, AZs: []string{"local-1a", "local-1b", "local-1c"}, Duration: "1m", Percent: 1})
	if code != http.StatusCreated || lf.Percent != 1 {
		t.Fatalf("arm 1%%: %d %q %+v", code, msg, lf)
	}
	v.setDesired(4)
	testutil.Eventually(t, 5*time.Second, "a launch through a 1% failure", func() bool { return v.live() == 4 })
}
