package sim

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gameday-dev/gameday/internal/testutil"
)

func instanceOf(r *Region, id string) Instance {
	for _, x := range r.Instances() {
		if x.ID == id {
			return x
		}
	}
	return Instance{}
}

func memberOfGroup(r *Region, id string) (GroupInstance, bool) {
	for _, m := range r.AutoScalingGroups()[0].Instances {
		if m.InstanceID == id {
			return m, true
		}
	}
	return GroupInstance{}, false
}

// A stopped member stays in the group (InService, Healthy) until the
// group's EC2 health check finds it, StoppedHealthCheckDelay after the
// stop: its target is unused (Target.InvalidState) meanwhile, not
// unhealthy, so an ELB-checked group does not replace it sooner. Then it
// is marked Unhealthy, terminated and replaced.
func TestStoppedMemberReplacedAfterEC2HealthCheck(t *testing.T) {
	cfg := testConfig() // ELB health checks (the default)
	r := startRegion(t, cfg)
	in := r.Instances()[0]
	t0 := time.Now()
	if _, err := r.StopInstances([]string{in.ID}, false); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 3*time.Second, "stopped", func() bool { return instanceOf(r, in.ID).State == StateStopped })
	testutil.Eventually(t, 3*time.Second, "target unused while stopped", func() bool {
		th, _ := targetByID(t, r, in.ID)
		return th.State == TargetUnused && th.Reason == ReasonInvalidState
	})
	// Still a healthy member while the health check has not run: the
	// delay is 2 s and both waits above took well under it only if the
	// machine is not starved, so check against the clock, not a guess.
	if m, ok := memberOfGroup(r, in.ID); time.Since(t0) < cfg.Timings.StoppedHealthCheckDelay-200*time.Millisecond && (!ok || m.HealthStatus != "Healthy" || m.LifecycleState != "InService") {
		t.Fatalf("%s replaced %s after the stop, before the EC2 health check delay %s: %+v", in.ID, time.Since(t0), cfg.Timings.StoppedHealthCheckDelay, m)
	}
	testutil.Eventually(t, 10*time.Second, "stopped member terminated and replaced", func() bool {
		_, ok := memberOfGroup(r, in.ID)
		return !ok && instanceOf(r, in.ID).State == StateTerminated && len(r.AutoScalingGroups()[0].Instances) == 3
	})
	if d := time.Since(t0); d < cfg.Timings.StoppedHealthCheckDelay {
		t.Fatalf("replaced %s after the stop, before the EC2 health check delay %s", d, cfg.Timings.StoppedHealthCheckDelay)
	}
	found := false
	for _, a := range r.ScalingActivities("") {
		if a.Description == "Terminating EC2 instance: "+in.ID {
			found = true
			if want := "an EC2 health check indicating it has been terminated or stopped"; !strings.Contains(a.Cause, want) {
				t.Errorf("cause %q, want it to say %q", a.Cause, want)
			}
		}
	}
	if !found {
		t.Errorf("no terminating activity for %s", in.ID)
	}
}

// Stopped and started again before the group's health check: the same
// member serves again through the load balancer on its new listener.
func TestStoppedMemberStartedServesAgain(t *testing.T) {
	cfg := testConfig()
	cfg.Timings.StoppedHealthCheckDelay = time.Minute
	r := startRegion(t, cfg)
	in := r.Instances()[0]
	if _, err := r.StopInstances([]string{in.ID}, false); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 3*time.Second, "stopped", func() bool { return instanceOf(r, in.ID).State == StateStopped })
	if _, err := r.StartInstances([]string{in.ID}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "running and healthy again", func() bool {
		th, _ := targetByID(t, r, in.ID)
		return instanceOf(r, in.ID).State == StateRunning && th.State == TargetHealthy
	})
	if m, ok := memberOfGroup(r, in.ID); !ok || m.LifecycleState != "InService" || m.HealthStatus != "Healthy" {
		t.Fatalf("member after start: %+v %v", m, ok)
	}
	// The load balancer routes to its new listener: every target answers.
	c := newClient(2 * time.Second)
	seen := map[string]bool{}
	for range 60 {
		req, _ := http.NewRequest(http.MethodGet, nodeURL(r, 0, "/"), nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d after the start", resp.StatusCode)
		}
		seen[resp.Header.Get("X-Instance-Id")] = true
	}
	if !seen[in.ID] {
		t.Fatalf("the restarted instance %s got none of 60 requests: %v", in.ID, seen)
	}
}

// A clean stop lets the app finish a request in flight; a forced stop
// resets it.
func TestStopCleanDrainsForceResets(t *testing.T) {
	for _, force := range []bool{false, true} {
		t.Run(map[bool]string{false: "clean", true: "force"}[force], func(t *testing.T) {
			cfg := testConfig()
			cfg.Instance.ServiceTime = 300 * time.Millisecond
			cfg.Timings.ShutdownDelay = 2 * time.Second // the drain's bound: longer than the request
			r := startRegion(t, cfg)
			in := r.Instances()[0]
			detach(r, in.ID)
			done := make(chan result, 1)
			go func() { done <- do(newClient(3*time.Second), http.MethodGet, "http://"+in.Addr+"/") }()
			time.Sleep(100 * time.Millisecond) // the request is being served
			if _, err := r.StopInstances([]string{in.ID}, force); err != nil {
				t.Fatal(err)
			}
			res := <-done
			if force && res.code != -1 {
				t.Fatalf("forced stop: the request in flight got %d, want it reset", res.code)
			}
			if !force && res.code != 200 {
				t.Fatalf("clean stop: the request in flight got %d (%v), want 200", res.code, res.err)
			}
			// New connections are refused at once either way.
			if res := do(newClient(time.Second), http.MethodGet, "http://"+in.Addr+"/"); res.code != -1 {
				t.Fatalf("a new request during the stop got %d", res.code)
			}
		})
	}
}

// A reboot keeps the instance running and in the group (EC2 health
// checks); its app is down for the reboot time, the target goes unhealthy
// and then healthy again on the new listener.
func TestRebootInstance(t *testing.T) {
	cfg := testConfig()
	cfg.Group.HealthCheckType = "EC2"
	cfg.Timings.InstanceRebootTime = 1500 * time.Millisecond
	r := startRegion(t, cfg)
	in := r.Instances()[0]
	if err := r.RebootInstances([]string{in.ID}); err != nil {
		t.Fatal(err)
	}
	if s := instanceOf(r, in.ID).State; s != StateRunning {
		t.Fatalf("state during reboot %s, want running", s)
	}
	if res := do(newClient(time.Second), http.MethodGet, "http://"+in.Addr+"/"); res.code != -1 {
		t.Fatalf("the app answered %d during the reboot", res.code)
	}
	testutil.Eventually(t, 3*time.Second, "target unhealthy", func() bool {
		th, _ := targetByID(t, r, in.ID)
		return th.State == TargetUnhealthy
	})
	testutil.Eventually(t, 5*time.Second, "target healthy again", func() bool {
		th, _ := targetByID(t, r, in.ID)
		return th.State == TargetHealthy
	})
	after := instanceOf(r, in.ID)
	if after.State != StateRunning || after.Addr == "" || after.Addr == in.Addr {
		t.Fatalf("after the reboot: %+v (before %s)", after, in.Addr)
	}
	if res := do(newClient(time.Second), http.MethodGet, "http://"+after.Addr+"/"); res.code != 200 {
		t.Fatalf("the rebooted app answered %d", res.code)
	}
	if m, ok := memberOfGroup(r, in.ID); !ok || m.LifecycleState != "InService" {
		t.Fatalf("member after the reboot: %+v %v", m, ok)
	}
	if !hasEvent(r, "instance-reboot", "rebooting") || !hasEvent(r, "instance-reboot", StateRunning) {
		t.Errorf("no instance-reboot events")
	}
}

func TestRebootInstanceStates(t *testing.T) {
	r := startRegion(t, testConfig())
	ins := r.Instances()
	if _, err := r.StopInstances([]string{ins[0].ID}, true); err != nil {
		t.Fatal(err)
	}
	if err := r.RebootInstances([]string{ins[0].ID}); apiCode(err) != "IncorrectInstanceState" {
		t.Fatalf("reboot a stopping instance: %v", err)
	}
	if _, err := r.TerminateInstances([]string{ins[1].ID}); err != nil {
		t.Fatal(err)
	}
	if err := r.RebootInstances([]string{ins[1].ID}); err != nil {
		t.Fatalf("reboot a terminating instance: %v, want it ignored", err)
	}
	if err := r.RebootInstances([]string{"i-0123456789abcdef0"}); apiCode(err) != "InvalidInstanceID.NotFound" {
		t.Fatalf("reboot unknown: %v", err)
	}
}

// Stopped and started again before any health round saw it stopped: the
// target still leaves rotation while the instance boots (no request goes
// to the dead listener), and is healthy again after.
func TestQuickStopStartLeavesRotation(t *testing.T) {
	cfg := testConfig()
	cfg.Timings.HealthCheckInterval = 5 * time.Second // no round in between
	cfg.Timings.HealthCheckTimeout = time.Second
	cfg.Timings.StoppedHealthCheckDelay = time.Minute
	r := startRegion(t, cfg)
	in := r.Instances()[0]
	if _, err := r.StopInstances([]string{in.ID}, true); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 3*time.Second, "stopped", func() bool { return instanceOf(r, in.ID).State == StateStopped })
	if _, err := r.StartInstances([]string{in.ID}); err != nil {
		t.Fatal(err)
	}
	if th, _ := targetByID(t, r, in.ID); th.State != TargetUnused || th.Reason != ReasonInvalidState {
		t.Fatalf("target right after the start: %+v, want unused (Target.InvalidState)", th)
	}
	for _, rt := range r.routes.Load().healthy {
		if rt.id == in.ID {
			t.Fatalf("the booting instance %s is still routed", in.ID)
		}
	}
}
