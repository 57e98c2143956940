package sandbox

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

	"github.com/gameday-dev/gameday/sandbox/sim"
)

// refreshConfig is the quick region with a group of 3 that a refresh can
// replace in a few seconds.
func refreshConfig(release string) Config {
	cfg := testConfig()
	cfg.Region.Group = sim.GroupConfig{Min: 3, Desired: 3, Max: 6}
	cfg.Region.App = sim.AppConfig{Release: release}
	return cfg
}

// load sends GETs at the load balancer's nodes, one every 10 ms, until
// stop is called; it returns the counts of requests and of failures (any
// status but 200, or a transport error).
func load(t *testing.T, s *Sandbox) (stop func() (sent, failed int64)) {
	t.Helper()
	nodes := s.Region().ALBNodes()
	c := &http.Client{Timeout: 3 * time.Second}
	var sent, failed atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < 3000; i++ { // bounded: at most 30 s
			select {
			case <-done:
				return
			case <-tick.C:
			}
			wg.Add(1)
			go func(addr string) {
				defer wg.Done()
				sent.Add(1)
				resp, err := c.Get("http://" + addr + "/")
				if err != nil {
					failed.Add(1)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
				}
			}(nodes[i%len(nodes)].Addr)
		}
	}()
	return func() (int64, int64) {
		close(done)
		wg.Wait()
		return sent.Load(), failed.Load()
	}
}

// waitRefresh polls DescribeInstanceRefreshes until the refresh's status is
// one of want, and returns every status seen.
func waitRefresh(t *testing.T, ctx context.Context, as *autoscaling.Client, id string, within time.Duration, want ...astypes.InstanceRefreshStatus) (astypes.InstanceRefresh, []astypes.InstanceRefreshStatus) {
	t.Helper()
	deadline := time.Now().Add(within)
	var seen []astypes.InstanceRefreshStatus
	for {
		out, err := as.DescribeInstanceRefreshes(ctx, &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String("gameday-web"), InstanceRefreshIds: []string{id}})
		if err != nil {
			t.Fatalf("DescribeInstanceRefreshes: %v", err)
		}
		if len(out.InstanceRefreshes) != 1 {
			t.Fatalf("DescribeInstanceRefreshes %s: %d refreshes", id, len(out.InstanceRefreshes))
		}
		x := out.InstanceRefreshes[0]
		if len(seen) == 0 || seen[len(seen)-1] != x.Status {
			seen = append(seen, x.Status)
		}
		if slices.Contains(want, x.Status) {
			return x, seen
		}
		if time.Now().After(deadline) {
			t.Fatalf("refresh %s is %s (%s) after %s, want %v; seen %v", id, x.Status, aws.ToString(x.StatusReason), within, want, seen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func groupOf(t *testing.T, ctx context.Context, as *autoscaling.Client) astypes.AutoScalingGroup {
	t.Helper()
	out, err := as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
	if err != nil || len(out.AutoScalingGroups) != 1 {
		t.Fatalf("DescribeAutoScalingGroups: %v", err)
	}
	return out.AutoScalingGroups[0]
}

// A good release rolls through the group one instance at a time (min
// healthy 66% of 3), every old instance drained and replaced by one of the
// new version, with no failed request under steady load; the group then
// launches from the new version. Ground truth records the status changes
// and one batch per instance.
func TestInstanceRefreshReplacesEveryInstanceWithoutFailures(t *testing.T) {
	c := refreshConfig(sim.ReleaseGood)
	// Slow requests, so every instance has some in flight when the refresh
	// takes it out: they must finish during the deregistration delay.
	c.Region.Instance.ServiceTime = 100 * time.Millisecond
	s, cfg := startSandbox(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	as := autoscaling.NewFromConfig(cfg)
	before := groupOf(t, ctx, as)
	if v := aws.ToString(before.LaunchTemplate.Version); v != "1" {
		t.Fatalf("group launch template version %q, want 1", v)
	}
	var old []string
	for _, in := range before.Instances {
		old = append(old, aws.ToString(in.InstanceId))
	}
	stop := load(t, s)
	time.Sleep(300 * time.Millisecond)
	start, err := as.StartInstanceRefresh(ctx, &autoscaling.StartInstanceRefreshInput{
		AutoScalingGroupName: aws.String("gameday-web"),
		DesiredConfiguration: &astypes.DesiredConfiguration{LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("gameday-web-lt"), Version: aws.String("2")}},
		Preferences:          &astypes.RefreshPreferences{MinHealthyPercentage: aws.Int32(66), InstanceWarmup: aws.Int32(0)},
	})
	if err != nil {
		t.Fatalf("StartInstanceRefresh: %v", err)
	}
	id := aws.ToString(start.InstanceRefreshId)
	x, seen := waitRefresh(t, ctx, as, id, 30*time.Second, astypes.InstanceRefreshStatusSuccessful, astypes.InstanceRefreshStatusFailed)
	time.Sleep(300 * time.Millisecond)
	sent, failed := stop()
	if x.Status != astypes.InstanceRefreshStatusSuccessful {
		t.Fatalf("refresh ended %s: %s", x.Status, aws.ToString(x.StatusReason))
	}
	if aws.ToInt32(x.PercentageComplete) != 100 || aws.ToInt32(x.InstancesToUpdate) != 0 || x.EndTime == nil {
		t.Errorf("finished refresh: %d%% complete, %d to update, end %v", aws.ToInt32(x.PercentageComplete), aws.ToInt32(x.InstancesToUpdate), x.EndTime)
	}
	if !slices.Contains(seen, astypes.InstanceRefreshStatusInProgress) {
		t.Errorf("statuses seen %v: never InProgress", seen)
	}
	if failed != 0 || sent < 100 {
		t.Errorf("%d of %d requests failed during the refresh, want none (of at least 100)", failed, sent)
	}
	after := groupOf(t, ctx, as)
	if v := aws.ToString(after.LaunchTemplate.Version); v != "2" {
		t.Errorf("group launches from version %q after the refresh, want 2", v)
	}
	var n int
	for _, in := range after.Instances {
		if in.LifecycleState != astypes.LifecycleStateInService {
			continue
		}
		n++
		if slices.Contains(old, aws.ToString(in.InstanceId)) || aws.ToString(in.LaunchTemplate.Version) != "2" {
			t.Errorf("in service after the refresh: %s version %s", aws.ToString(in.InstanceId), aws.ToString(in.LaunchTemplate.Version))
		}
	}
	if n != 3 {
		t.Errorf("%d instances in service after the refresh, want 3", n)
	}
	var batches, updated int
	for _, e := range s.Region().Events() {
		if e.Kind == sim.EventRefreshBatch && e.Resource == id {
			switch e.To {
			case "started":
				batches++
			case "updated":
				updated++
			}
		}
	}
	if batches != 3 || updated != 3 {
		t.Errorf("ground truth: %d batches started, %d updated; want 3 and 3", batches, updated)
	}
}

// MaxHealthyPercentage 200 with min 100 launches the whole new fleet
// before terminating anything: capacity never drops below desired.
func TestInstanceRefreshLaunchesBeforeTerminating(t *testing.T) {
	s, cfg := startSandbox(t, refreshConfig(sim.ReleaseGood))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	as := autoscaling.NewFromConfig(cfg)
	start, err := as.StartInstanceRefresh(ctx, &autoscaling.StartInstanceRefreshInput{
		AutoScalingGroupName: aws.String("gameday-web"),
		DesiredConfiguration: &astypes.DesiredConfiguration{LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("gameday-web-lt"), Version: aws.String("2")}},
		Preferences:          &astypes.RefreshPreferences{MinHealthyPercentage: aws.Int32(100), MaxHealthyPercentage: aws.Int32(200), InstanceWarmup: aws.Int32(0)},
	})
	if err != nil {
		t.Fatalf("StartInstanceRefresh: %v", err)
	}
	// Sample the healthy targets while it runs: never fewer than 3.
	minHealthy, maxMembers := 99, 0
	deadline := time.Now().Add(20 * time.Second)
	for {
		x, _ := waitRefresh(t, ctx, as, aws.ToString(start.InstanceRefreshId), time.Second,
			astypes.InstanceRefreshStatusPending, astypes.InstanceRefreshStatusInProgress, astypes.InstanceRefreshStatusSuccessful, astypes.InstanceRefreshStatusFailed)
		th, err := s.Region().TargetHealth(s.Region().TargetGroups()[0].ARN)
		if err != nil {
			t.Fatal(err)
		}
		healthy := 0
		for _, h := range th {
			if h.State == sim.TargetHealthy {
				healthy++
			}
		}
		minHealthy = min(minHealthy, healthy)
		maxMembers = max(maxMembers, len(s.Region().AutoScalingGroups()[0].Instances))
		if x.Status == astypes.InstanceRefreshStatusSuccessful {
			break
		}
		if x.Status == astypes.InstanceRefreshStatusFailed || time.Now().After(deadline) {
			t.Fatalf("refresh %s: %s", x.Status, aws.ToString(x.StatusReason))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if minHealthy < 3 {
		t.Errorf("healthy targets fell to %d during a min-100%% refresh", minHealthy)
	}
	if maxMembers < 6 {
		t.Errorf("at most %d members during a max-200%% refresh, want the 3 new ones launched beside the 3 old", maxMembers)
	}
}

// A bad release never passes its health check: the refresh stalls at 0%,
// fails once RefreshFailAfter replacements were found unhealthy, and with
// AutoRollback rolls back to version 1; the group ends on version 1 only.
func TestInstanceRefreshBadReleaseFailsAndRollsBack(t *testing.T) {
	_, cfg := startSandbox(t, refreshConfig(sim.ReleaseBad))
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	as := autoscaling.NewFromConfig(cfg)
	start, err := as.StartInstanceRefresh(ctx, &autoscaling.StartInstanceRefreshInput{
		AutoScalingGroupName: aws.String("gameday-web"),
		DesiredConfiguration: &astypes.DesiredConfiguration{LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("gameday-web-lt"), Version: aws.String("2")}},
		Preferences:          &astypes.RefreshPreferences{MinHealthyPercentage: aws.Int32(66), InstanceWarmup: aws.Int32(0), AutoRollback: aws.Bool(true)},
	})
	if err != nil {
		t.Fatalf("StartInstanceRefresh: %v", err)
	}
	id := aws.ToString(start.InstanceRefreshId)
	x, seen := waitRefresh(t, ctx, as, id, 30*time.Second, astypes.InstanceRefreshStatusRollbackSuccessful, astypes.InstanceRefreshStatusRollbackFailed, astypes.InstanceRefreshStatusSuccessful)
	if x.Status != astypes.InstanceRefreshStatusRollbackSuccessful {
		t.Fatalf("refresh ended %s (%s), seen %v", x.Status, aws.ToString(x.StatusReason), seen)
	}
	if !slices.Contains(seen, astypes.InstanceRefreshStatusRollbackInProgress) {
		t.Errorf("statuses seen %v: never RollbackInProgress", seen)
	}
	if x.RollbackDetails == nil || aws.ToString(x.RollbackDetails.RollbackReason) == "" || aws.ToInt32(x.RollbackDetails.PercentageCompleteOnRollback) != 0 {
		t.Errorf("rollback details %+v: want a reason and 0%% complete at rollback", x.RollbackDetails)
	}
	g := groupOf(t, ctx, as)
	if v := aws.ToString(g.LaunchTemplate.Version); v != "1" {
		t.Errorf("group launches from version %q after the rollback, want 1", v)
	}
	for _, in := range g.Instances {
		if in.LifecycleState == astypes.LifecycleStateInService && aws.ToString(in.LaunchTemplate.Version) != "1" {
			t.Errorf("in service after the rollback: %s version %s", aws.ToString(in.InstanceId), aws.ToString(in.LaunchTemplate.Version))
		}
	}
}

// Cancelling a stalled refresh: Cancelling, then Cancelled; the group
// launches from version 1 again, so the bad replacement is itself replaced
// by a good instance and the group gets back to 3 healthy targets.
func TestInstanceRefreshCancelStalled(t *testing.T) {
	s, cfg := startSandbox(t, refreshConfig(sim.ReleaseBad))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	as := autoscaling.NewFromConfig(cfg)
	if _, err := as.CancelInstanceRefresh(ctx, &autoscaling.CancelInstanceRefreshInput{AutoScalingGroupName: aws.String("gameday-web")}); err == nil {
		t.Fatal("CancelInstanceRefresh with none running: no error")
	} else {
		wantAPIError(t, err, "ActiveInstanceRefreshNotFound", 400)
	}
	start, err := as.StartInstanceRefresh(ctx, &autoscaling.StartInstanceRefreshInput{
		AutoScalingGroupName: aws.String("gameday-web"),
		DesiredConfiguration: &astypes.DesiredConfiguration{LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("gameday-web-lt"), Version: aws.String("2")}},
		Preferences:          &astypes.RefreshPreferences{MinHealthyPercentage: aws.Int32(66), InstanceWarmup: aws.Int32(0)},
	})
	if err != nil {
		t.Fatalf("StartInstanceRefresh: %v", err)
	}
	id := aws.ToString(start.InstanceRefreshId)
	_, err = as.StartInstanceRefresh(ctx, &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("gameday-web")})
	wantAPIError(t, err, "InstanceRefreshInProgress", 400)
	x, _ := waitRefresh(t, ctx, as, id, 5*time.Second, astypes.InstanceRefreshStatusInProgress)
	time.Sleep(time.Second) // the bad replacement boots and fails its checks
	x, _ = waitRefresh(t, ctx, as, id, time.Second, astypes.InstanceRefreshStatusInProgress)
	if aws.ToInt32(x.PercentageComplete) != 0 {
		t.Fatalf("a bad release is %d%% complete", aws.ToInt32(x.PercentageComplete))
	}
	if r := aws.ToString(x.StatusReason); !strings.HasPrefix(r, "Waiting for remaining instances to be available. For example: i-") {
		t.Errorf("status reason of a stalled refresh %q: want AWS's words for a replacement that is not healthy", r)
	}
	c, err := as.CancelInstanceRefresh(ctx, &autoscaling.CancelInstanceRefreshInput{AutoScalingGroupName: aws.String("gameday-web")})
	if err != nil || aws.ToString(c.InstanceRefreshId) != id {
		t.Fatalf("CancelInstanceRefresh: %v %v", c, err)
	}
	waitRefresh(t, ctx, as, id, 5*time.Second, astypes.InstanceRefreshStatusCancelled)
	deadline := time.Now().Add(20 * time.Second)
	for {
		th, _ := s.Region().TargetHealth(s.Region().TargetGroups()[0].ARN)
		healthy := 0
		for _, h := range th {
			if h.State == sim.TargetHealthy {
				healthy++
			}
		}
		g := groupOf(t, ctx, as)
		bad := 0
		for _, in := range g.Instances {
			if in.LifecycleState != astypes.LifecycleStateTerminating && aws.ToString(in.LaunchTemplate.Version) != "1" {
				bad++
			}
		}
		if healthy == 3 && bad == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the cancel: %d healthy targets, %d members of version 2", healthy, bad)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Errors and validation, as the API reference names them.
func TestInstanceRefreshErrors(t *testing.T) {
	_, cfg := startSandbox(t, refreshConfig(""))
	ctx := ctxT(t)
	as := autoscaling.NewFromConfig(cfg)
	grp := aws.String("gameday-web")
	for name, in := range map[string]*autoscaling.StartInstanceRefreshInput{
		"max without min":      {AutoScalingGroupName: grp, Preferences: &astypes.RefreshPreferences{MaxHealthyPercentage: aws.Int32(150)}},
		"max out of range":     {AutoScalingGroupName: grp, Preferences: &astypes.RefreshPreferences{MinHealthyPercentage: aws.Int32(90), MaxHealthyPercentage: aws.Int32(250)}},
		"range over 100":       {AutoScalingGroupName: grp, Preferences: &astypes.RefreshPreferences{MinHealthyPercentage: aws.Int32(50), MaxHealthyPercentage: aws.Int32(200)}},
		"checkpoints unsorted": {AutoScalingGroupName: grp, Preferences: &astypes.RefreshPreferences{CheckpointPercentages: []int32{50, 20}}},
		"delay alone":          {AutoScalingGroupName: grp, Preferences: &astypes.RefreshPreferences{CheckpointDelay: aws.Int32(5)}},
		"unknown group":        {AutoScalingGroupName: aws.String("nope")},
		"rollback w/o config":  {AutoScalingGroupName: grp, Preferences: &astypes.RefreshPreferences{AutoRollback: aws.Bool(true)}},
		"$Latest":              {AutoScalingGroupName: grp, DesiredConfiguration: &astypes.DesiredConfiguration{LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("gameday-web-lt"), Version: aws.String("$Latest")}}},
	} {
		_, err := as.StartInstanceRefresh(ctx, in)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		wantAPIError(t, err, "ValidationError", 400)
	}
	// Without a desired configuration a refresh cannot be rolled back.
	start, err := as.StartInstanceRefresh(ctx, &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: grp, Preferences: &astypes.RefreshPreferences{CheckpointPercentages: []int32{33, 100}, CheckpointDelay: aws.Int32(3600), InstanceWarmup: aws.Int32(0)}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = as.RollbackInstanceRefresh(ctx, &autoscaling.RollbackInstanceRefreshInput{AutoScalingGroupName: grp})
	wantAPIError(t, err, "IrreversibleInstanceRefresh", 400)
	// It stops at its first checkpoint (33% = 1 of 3) and says so.
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := as.DescribeInstanceRefreshes(ctx, &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: grp})
		if err != nil || len(out.InstanceRefreshes) != 1 {
			t.Fatalf("DescribeInstanceRefreshes: %v", err)
		}
		x := out.InstanceRefreshes[0]
		if aws.ToString(x.InstanceRefreshId) != aws.ToString(start.InstanceRefreshId) || x.DesiredConfiguration != nil {
			t.Fatalf("refresh %+v", x)
		}
		if aws.ToInt32(x.PercentageComplete) == 33 && aws.ToString(x.StatusReason) != "" {
			break
		}
		if aws.ToInt32(x.PercentageComplete) > 33 || time.Now().After(deadline) {
			t.Fatalf("refresh %s %d%% (%s): want it held at its 33%% checkpoint", x.Status, aws.ToInt32(x.PercentageComplete), aws.ToString(x.StatusReason))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := as.CancelInstanceRefresh(ctx, &autoscaling.CancelInstanceRefreshInput{AutoScalingGroupName: grp}); err != nil {
		t.Fatal(err)
	}
	// Paging: a second refresh, one per page, newest first.
	if _, err := as.StartInstanceRefresh(ctx, &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: grp}); err != nil {
		// The cancel takes one group pass.
		time.Sleep(300 * time.Millisecond)
		if _, err := as.StartInstanceRefresh(ctx, &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: grp}); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	p := autoscaling.NewDescribeInstanceRefreshesPaginator(as, &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: grp, MaxRecords: aws.Int32(1)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.InstanceRefreshes) != 1 {
			t.Fatalf("page of %d", len(page.InstanceRefreshes))
		}
		ids = append(ids, aws.ToString(page.InstanceRefreshes[0].InstanceRefreshId))
	}
	if len(ids) != 2 || ids[1] != aws.ToString(start.InstanceRefreshId) {
		t.Errorf("pages %v: want the new refresh, then %s", ids, aws.ToString(start.InstanceRefreshId))
	}
	if out, err := as.DescribeInstanceRefreshes(ctx, &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String("nope")}); err != nil || len(out.InstanceRefreshes) != 0 {
		t.Errorf("unknown group: %v %v", out, err)
	}
}

// A slow release fails its health check for app.slow_start after boot: with
// a grace period longer than that, each replacement goes unhealthy, then
// healthy, and the refresh waits for it and succeeds; ground truth shows the
// replacement's target unhealthy before healthy.
func TestInstanceRefreshSlowRelease(t *testing.T) {
	c := refreshConfig(sim.ReleaseSlow)
	c.Region.App.SlowStart = time.Second
	c.Region.Timings.GracePeriod = 5 * time.Second
	s, cfg := startSandbox(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	as := autoscaling.NewFromConfig(cfg)
	start, err := as.StartInstanceRefresh(ctx, &autoscaling.StartInstanceRefreshInput{
		AutoScalingGroupName: aws.String("gameday-web"),
		DesiredConfiguration: &astypes.DesiredConfiguration{LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("gameday-web-lt"), Version: aws.String("2")}},
		Preferences:          &astypes.RefreshPreferences{MinHealthyPercentage: aws.Int32(66), InstanceWarmup: aws.Int32(0)},
	})
	if err != nil {
		t.Fatal(err)
	}
	x, _ := waitRefresh(t, ctx, as, aws.ToString(start.InstanceRefreshId), 30*time.Second, astypes.InstanceRefreshStatusSuccessful, astypes.InstanceRefreshStatusFailed)
	if x.Status != astypes.InstanceRefreshStatusSuccessful {
		t.Fatalf("a slow release within the grace period: %s (%s)", x.Status, aws.ToString(x.StatusReason))
	}
	g := groupOf(t, ctx, as)
	slowOnes := 0
	for _, in := range g.Instances {
		if in.LifecycleState != astypes.LifecycleStateInService {
			continue
		}
		id := aws.ToString(in.InstanceId)
		var states []string
		for _, e := range s.Region().Events() {
			if e.Kind == "target-health" && e.Resource == id {
				states = append(states, e.To)
			}
		}
		u, h := slices.Index(states, sim.TargetUnhealthy), slices.Index(states, sim.TargetHealthy)
		if u >= 0 && h > u {
			slowOnes++
		}
	}
	if slowOnes != 3 {
		t.Errorf("%d of 3 replacements went unhealthy, then healthy; want every one", slowOnes)
	}
}

// A member in Standby is left alone by a refresh (StandbyInstances:
// Ignore): it keeps its version while the members in service are replaced.
func TestInstanceRefreshLeavesStandbyAlone(t *testing.T) {
	_, cfg := startSandbox(t, refreshConfig(sim.ReleaseGood))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	as := autoscaling.NewFromConfig(cfg)
	standby := aws.ToString(groupOf(t, ctx, as).Instances[0].InstanceId)
	if _, err := as.EnterStandby(ctx, &autoscaling.EnterStandbyInput{AutoScalingGroupName: aws.String("gameday-web"),
		InstanceIds: []string{standby}, ShouldDecrementDesiredCapacity: aws.Bool(false)}); err != nil {
		t.Fatalf("EnterStandby: %v", err)
	}
	start, err := as.StartInstanceRefresh(ctx, &autoscaling.StartInstanceRefreshInput{
		AutoScalingGroupName: aws.String("gameday-web"),
		DesiredConfiguration: &astypes.DesiredConfiguration{LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("gameday-web-lt"), Version: aws.String("2")}},
		Preferences:          &astypes.RefreshPreferences{MinHealthyPercentage: aws.Int32(66), InstanceWarmup: aws.Int32(0)},
	})
	if err != nil {
		t.Fatal(err)
	}
	x, _ := waitRefresh(t, ctx, as, aws.ToString(start.InstanceRefreshId), 20*time.Second, astypes.InstanceRefreshStatusSuccessful, astypes.InstanceRefreshStatusFailed)
	if x.Status != astypes.InstanceRefreshStatusSuccessful {
		t.Fatalf("refresh %s (%s)", x.Status, aws.ToString(x.StatusReason))
	}
	for _, in := range groupOf(t, ctx, as).Instances {
		id, v := aws.ToString(in.InstanceId), aws.ToString(in.LaunchTemplate.Version)
		switch {
		case id == standby && (in.LifecycleState != astypes.LifecycleStateStandby || v != "1"):
			t.Errorf("the standby member is %s on version %s, want Standby on 1", in.LifecycleState, v)
		case id != standby && in.LifecycleState == astypes.LifecycleStateInService && v != "2":
			t.Errorf("in service %s on version %s, want 2", id, v)
		}
	}
}
