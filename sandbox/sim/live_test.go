package sim

import (
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gameday-dev/gameday/internal/testutil"
)

func TestTerminateInstanceIsReplaced(t *testing.T) {
	r := startRegion(t, testConfig())
	c := newClient(2 * time.Second)
	defer c.CloseIdleConnections()
	url := nodeURL(r, 0, "/")
	if res := do(c, "GET", url); res.code != 200 {
		t.Fatalf("baseline GET: %+v", res)
	}
	var victim Instance
	for _, in := range r.Instances() {
		if in.AZ == "local-1a" {
			victim = in
		}
	}
	load := startLoad(c, "GET", url, 4, 2*time.Millisecond)
	time.Sleep(200 * time.Millisecond)
	chg, err := r.TerminateInstances([]string{victim.ID})
	if err != nil || chg[0].Previous != StateRunning || chg[0].Current != StateShuttingDown {
		t.Fatalf("terminate: %+v %v", chg, err)
	}
	// The ALB stops routing to it: draining (the group saw it) or unhealthy.
	testutil.Eventually(t, 5*time.Second, "victim out of rotation", func() bool {
		th, ok := targetByID(t, r, victim.ID)
		return !ok || th.State == TargetDraining || th.State == TargetUnhealthy
	})
	out := time.Now()
	// A replacement in the same AZ comes up healthy.
	var repl string
	testutil.Eventually(t, 10*time.Second, "healthy replacement in local-1a", func() bool {
		ths, _ := r.TargetHealth(r.TargetGroups()[0].ARN)
		for _, th := range ths {
			if th.InstanceID != victim.ID && th.AZ == "local-1a" && th.State == TargetHealthy {
				repl = th.InstanceID
				return true
			}
		}
		return false
	})
	time.Sleep(300 * time.Millisecond)
	results := load.halt()
	after := startedAfter(results, out)
	if codes := countCodes(after); codes[200] != len(after) {
		t.Errorf("after the victim left rotation, not all 200: %v", codes)
	}
	t.Logf("during the whole run: %v", countCodes(results))
	testutil.Eventually(t, 3*time.Second, "victim terminated", func() bool {
		for _, in := range r.Instances() {
			if in.ID == victim.ID {
				return in.State == StateTerminated && in.Addr == ""
			}
		}
		return false
	})
	g := r.AutoScalingGroups()[0]
	if g.Desired != 3 || len(g.Instances) != 3 {
		t.Errorf("group %+v", g.Instances)
	}
	var launch, term bool
	for _, a := range r.ScalingActivities(g.Name) {
		if a.Description == "Launching a new EC2 instance: "+repl && strings.Contains(a.Cause, "difference between desired and running capacity") {
			launch = a.StatusCode == "Successful"
		}
		if a.Description == "Terminating EC2 instance: "+victim.ID && strings.Contains(a.Cause, "terminated or stopped") {
			term = true
		}
	}
	if !launch || !term {
		t.Errorf("activities launch=%v terminate=%v: %+v", launch, term, r.ScalingActivities(g.Name))
	}
}

func TestTerminateResetsConnections(t *testing.T) {
	r := startRegion(t, testConfig())
	in := r.Instances()[0]
	conn, err := net.Dial("tcp", in.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// An idle keep-alive connection to the app.
	if _, err := conn.Write([]byte("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	if _, err := conn.Read(buf); err != nil {
		t.Fatal(err)
	}
	if _, err := r.TerminateInstances([]string{in.ID}); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err = conn.Read(buf)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("read after terminate: %v, want connection reset", err)
	}
	if _, err := net.DialTimeout("tcp", in.Addr, time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial after terminate: %v, want refused", err)
	}
}

func TestDBFailover(t *testing.T) {
	r := startRegion(t, testConfig())
	c := newClient(3 * time.Second)
	defer c.CloseIdleConnections()
	url := nodeURL(r, 1, "/orders")
	if res := do(c, "POST", url); res.code != 201 {
		t.Fatalf("baseline write: %+v", res)
	}
	db := r.DBInstances()[0]
	got, err := r.RebootDBInstance(db.ID, true)
	if err != nil || got.Status != DBRebooting {
		t.Fatalf("reboot: %+v %v", got, err)
	}
	if _, err := r.RebootDBInstance(db.ID, true); apiCode(err) != "InvalidDBInstanceState" {
		t.Errorf("second reboot: %v", err)
	}
	start := time.Now()
	res := do(c, "POST", url)
	if res.code != 500 {
		t.Errorf("write during failover: %+v, want 500", res)
	}
	var failures int
	for res.code != 201 {
		failures++
		if time.Since(start) > 10*time.Second {
			t.Fatal("writes never recovered")
		}
		res = do(c, "POST", url)
	}
	if failures == 0 {
		t.Error("no write failed")
	}
	after := r.DBInstances()[0]
	if after.Status != DBAvailable || after.AZ != db.SecondaryAZ || after.SecondaryAZ != db.AZ {
		t.Errorf("after failover %+v (before %+v)", after, db)
	}
	evs := r.DBEvents(db.ID, "db-instance", time.Time{}, time.Time{})
	var ids []string
	for _, e := range evs {
		ids = append(ids, e.EventID)
	}
	if strings.Join(ids, ",") != "RDS-EVENT-0013,RDS-EVENT-0049,RDS-EVENT-0006" {
		t.Errorf("events %v", ids)
	}
	if d := evs[1].Date.Sub(evs[0].Date); d < r.Timings().FailoverTime {
		t.Errorf("failover took %s, less than the configured %s", d, r.Timings().FailoverTime)
	}
	if !hasEvent(r, "db-writer", db.SecondaryAZ) {
		t.Error("no db-writer event")
	}
	// A plain reboot keeps the AZ.
	if _, err := r.RebootDBInstance(db.ID, false); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 3*time.Second, "reboot done", func() bool { return r.DBInstances()[0].Status == DBAvailable })
	if r.WriterAZ() != db.SecondaryAZ {
		t.Errorf("reboot moved the writer to %s", r.WriterAZ())
	}
}

func TestDBClusterFailover(t *testing.T) {
	cfg := testConfig()
	cfg.DB.Kind = "cluster"
	r := startRegion(t, cfg)
	cl := r.DBClusters()
	if len(cl) != 1 || len(cl[0].Members) != 2 || !cl[0].Members[0].IsWriter {
		t.Fatalf("cluster %+v", cl)
	}
	if _, err := r.RebootDBInstance(cl[0].Members[0].InstanceID, true); apiCode(err) != "InvalidParameterCombination" {
		t.Errorf("force failover on a member: %v", err)
	}
	before := r.WriterAZ()
	got, err := r.FailoverDBCluster(cl[0].ID, "")
	if err != nil || got.Status != DBFailingOver {
		t.Fatalf("failover: %+v %v", got, err)
	}
	c := newClient(3 * time.Second)
	defer c.CloseIdleConnections()
	if res := do(c, "POST", nodeURL(r, 0, "/orders")); res.code != 500 {
		t.Errorf("write during failover: %+v", res)
	}
	testutil.Eventually(t, 5*time.Second, "cluster available", func() bool { return r.DBClusters()[0].Status == DBAvailable })
	after := r.DBClusters()[0]
	if !after.Members[1].IsWriter || after.Members[0].IsWriter || r.WriterAZ() == before {
		t.Errorf("writer did not move: %+v", after)
	}
	var ids []string
	for _, e := range r.DBEvents(cl[0].ID, "db-cluster", time.Time{}, time.Time{}) {
		ids = append(ids, e.EventID+" "+e.Message)
	}
	if len(ids) != 2 || !strings.HasPrefix(ids[0], "RDS-EVENT-0072 Started cross AZ failover to DB instance: ") || ids[1] != "RDS-EVENT-0071 A failover for the DB cluster has completed." {
		t.Errorf("events %q", ids)
	}
	if res := do(c, "POST", nodeURL(r, 0, "/orders")); res.code != 201 {
		t.Errorf("write after failover: %+v", res)
	}
}

// blackhole moves a subnet to a fresh deny-all ACL and returns a restore.
func blackhole(t *testing.T, r *Region, subnetID string) func() {
	t.Helper()
	deny, err := r.CreateNetworkACL(r.VPCs()[0].ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	var assoc, orig string
	for _, a := range r.NetworkACLs() {
		for _, as := range a.Associations {
			if as.SubnetID == subnetID {
				assoc, orig = as.ID, a.ID
			}
		}
	}
	newAssoc, err := r.ReplaceNetworkACLAssociation(assoc, deny.ID)
	if err != nil {
		t.Fatal(err)
	}
	return func() {
		if _, err := r.ReplaceNetworkACLAssociation(newAssoc, orig); err != nil {
			t.Fatal(err)
		}
	}
}

func subnetOf(r *Region, az string, public bool) string {
	for _, s := range r.Subnets() {
		if s.AZ == az && s.Public == public {
			return s.ID
		}
	}
	return ""
}

func TestPrivateSubnetBlackhole(t *testing.T) {
	cfg := testConfig()
	cfg.Group.HealthCheckType = "EC2" // keep the blackholed instances, to see them recover
	r := startRegion(t, cfg)
	c := newClient(3 * time.Second)
	defer c.CloseIdleConnections()
	url := nodeURL(r, 2, "/")
	load := startLoad(c, "GET", url, 4, 2*time.Millisecond)
	time.Sleep(200 * time.Millisecond)
	restore := blackhole(t, r, subnetOf(r, "local-1b", false))
	var victim string
	for _, in := range r.Instances() {
		if in.AZ == "local-1b" {
			victim = in.ID
		}
	}
	testutil.Eventually(t, 5*time.Second, "local-1b target unhealthy with Target.Timeout", func() bool {
		th, _ := targetByID(t, r, victim)
		return th.State == TargetUnhealthy && th.Reason == ReasonTimeout
	})
	if ips := r.HealthyNodeIPs(); strings.Join(ips, ",") != "127.0.0.11,127.0.0.13" {
		t.Errorf("DNS set with no healthy target in local-1b: %v", ips)
	}
	detected := time.Now()
	time.Sleep(time.Second + 200*time.Millisecond)
	mid := startedAfter(load.snapshot(), detected)
	codes := countCodes(mid)
	if codes[200] != len(mid) || len(mid) == 0 {
		t.Errorf("after detection: %v, want all 200", codes)
	}
	for _, res := range mid {
		if res.az == "local-1b" {
			t.Fatalf("a request was served from the blackholed AZ")
		}
	}
	restore()
	testutil.Eventually(t, 5*time.Second, "local-1b target healthy again", func() bool {
		th, _ := targetByID(t, r, victim)
		return th.State == TargetHealthy
	})
	results := load.halt()
	t.Logf("whole run: %v", countCodes(results))
	if n := countCodes(results)[504]; n == 0 {
		t.Log("no 504 during detection (requests happened to avoid the blackholed target)")
	}
	if !hasEvent(r, "target-health", TargetUnhealthy) {
		t.Error("no unhealthy event")
	}
}

func TestDBUnreachableThroughACL(t *testing.T) {
	r := startRegion(t, testConfig())
	c := newClient(3 * time.Second)
	defer c.CloseIdleConnections()
	// The primary is in local-1a's private subnet; instances elsewhere
	// lose it, the one in local-1a (same subnet) does not.
	restore := blackhole(t, r, subnetOf(r, "local-1a", false))
	var fails, oks int
	for range 12 {
		res := do(c, "POST", nodeURL(r, 1, "/orders"))
		switch res.code {
		case 500:
			fails++
		case 201:
			oks++
		}
	}
	restore()
	if fails == 0 {
		t.Error("no write failed while the DB subnet was blackholed")
	}
	if res := do(c, "POST", nodeURL(r, 1, "/orders")); res.code != 201 && res.code != 504 {
		t.Errorf("after restore: %+v", res)
	}
	t.Logf("while blackholed: %d failed, %d succeeded", fails, oks)
}

func TestPublicSubnetBlackhole(t *testing.T) {
	r := startRegion(t, testConfig())
	nodes := r.ALBNodes()
	restore := blackhole(t, r, subnetOf(r, "local-1a", true))
	// DNS drops the node only after NodeDNSDelay, as the ALB's DNS follows
	// its own node health checks rather than the ACL change.
	if ips := r.HealthyNodeIPs(); len(ips) != 3 {
		t.Errorf("DNS set right after the blackhole %v, want all three nodes still", ips)
	}
	testutil.Eventually(t, 5*time.Second, "blackholed node leaves DNS", func() bool {
		return strings.Join(r.HealthyNodeIPs(), ",") == "127.0.0.12,127.0.0.13"
	})
	c := newClient(400 * time.Millisecond)
	defer c.CloseIdleConnections()
	res := do(c, "GET", "http://"+nodes[0].Addr+"/")
	var ne net.Error
	if res.code != -1 || !errors.As(res.err, &ne) || !ne.Timeout() {
		t.Errorf("blackholed node: %+v, want a client timeout", res)
	}
	if res := do(c, "GET", "http://"+nodes[1].Addr+"/"); res.code != 200 {
		t.Errorf("other node: %+v", res)
	}
	restore()
	if ips := r.HealthyNodeIPs(); len(ips) != 3 {
		t.Errorf("DNS set after restore %v", ips)
	}
	if res := do(c, "GET", "http://"+nodes[0].Addr+"/"); res.code != 200 {
		t.Errorf("restored node: %+v", res)
	}
	if !hasEvent(r, "dns", "127.0.0.12,127.0.0.13") {
		t.Error("no dns event")
	}
}

func TestNoTargets503(t *testing.T) {
	cfg := testConfig()
	cfg.Group = GroupConfig{Min: 0, Desired: 0, Max: 3}
	r := startRegion(t, cfg)
	c := newClient(2 * time.Second)
	defer c.CloseIdleConnections()
	resp, err := c.Get(nodeURL(r, 0, "/"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Server") != "awselb/2.0" {
		t.Errorf("got %d %v", resp.StatusCode, resp.Header)
	}
	// Scale up from zero: the group launches and the ALB starts serving.
	if err := r.SetDesiredCapacity("gameday-web", 1, false); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "served after scale-up", func() bool { return do(c, "GET", nodeURL(r, 0, "/")).code == 200 })
	acts := r.ScalingActivities("gameday-web")
	if len(acts) == 0 || !strings.Contains(acts[0].Cause, "a user request explicitly set group desired capacity changing the desired capacity from 0 to 1") {
		t.Errorf("activity %+v", acts)
	}
}

func TestFailOpen(t *testing.T) {
	cfg := testConfig()
	cfg.Group.HealthCheckType = "EC2"
	r := startRegion(t, cfg)
	for _, in := range r.Instances() {
		if err := r.SetInstanceHealth(in.ID, false); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, 5*time.Second, "every target unhealthy", func() bool {
		ths, _ := r.TargetHealth(r.TargetGroups()[0].ARN)
		for _, th := range ths {
			if th.State != TargetUnhealthy || th.Reason != ReasonResponseCodeMismatch {
				return false
			}
		}
		return true
	})
	th, _ := r.TargetHealth(r.TargetGroups()[0].ARN)
	if th[0].Description != "Health checks failed with these codes: [503]" {
		t.Errorf("description %q", th[0].Description)
	}
	c := newClient(2 * time.Second)
	defer c.CloseIdleConnections()
	for range 6 {
		if res := do(c, "GET", nodeURL(r, 0, "/")); res.code != 200 {
			t.Errorf("fail-open request: %+v", res)
		}
	}
	if len(r.HealthyNodeIPs()) != 3 {
		t.Errorf("DNS set with no healthy AZ: %v", r.HealthyNodeIPs())
	}
}

func TestStopAndStartInstance(t *testing.T) {
	cfg := testConfig()
	cfg.Group = GroupConfig{Min: 0, Desired: 2, Max: 3, HealthCheckType: "EC2"}
	r := startRegion(t, cfg)
	in := r.Instances()[0]
	detach(r, in.ID)
	chg, err := r.StopInstances([]string{in.ID}, false)
	if err != nil || chg[0].Current != StateStopping {
		t.Fatalf("stop %+v %v", chg, err)
	}
	testutil.Eventually(t, 3*time.Second, "stopped", func() bool {
		for _, x := range r.Instances() {
			if x.ID == in.ID {
				return x.State == StateStopped
			}
		}
		return false
	})
	testutil.Eventually(t, 3*time.Second, "target unused while stopped", func() bool {
		th, _ := targetByID(t, r, in.ID)
		return th.State == TargetUnused && th.Reason == ReasonInvalidState
	})
	chg, err = r.StartInstances([]string{in.ID})
	if err != nil || chg[0].Previous != StateStopped || chg[0].Current != StatePending {
		t.Fatalf("start %+v %v", chg, err)
	}
	testutil.Eventually(t, 3*time.Second, "running with a new listener", func() bool {
		for _, x := range r.Instances() {
			if x.ID == in.ID {
				return x.State == StateRunning && x.Addr != "" && x.Addr != in.Addr
			}
		}
		return false
	})
	testutil.Eventually(t, 3*time.Second, "target healthy again", func() bool {
		th, _ := targetByID(t, r, in.ID)
		return th.State == TargetHealthy
	})
	if _, err := r.TerminateInstances([]string{in.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.StartInstances([]string{in.ID}); apiCode(err) != "IncorrectInstanceState" {
		t.Errorf("start terminated: %v", err)
	}
}

func TestTerminateInAutoScalingGroup(t *testing.T) {
	cfg := testConfig()
	cfg.Group = GroupConfig{Min: 1, Desired: 3, Max: 4}
	r := startRegion(t, cfg)
	ids := []string{r.Instances()[0].ID, r.Instances()[1].ID}
	act, err := r.TerminateInstanceInAutoScalingGroup(ids[0], true)
	if err != nil || act.Description != "Terminating EC2 instance: "+ids[0] || !strings.Contains(act.Cause, "shrinking the capacity from 3 to 2") {
		t.Fatalf("%+v %v", act, err)
	}
	th, _ := targetByID(t, r, ids[0])
	if th.State != TargetDraining || th.Reason != ReasonDeregistration {
		t.Errorf("target %+v", th)
	}
	if _, err := r.TerminateInstanceInAutoScalingGroup(ids[1], false); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "group back to 2 in service", func() bool {
		g := r.AutoScalingGroups()[0]
		n := 0
		for _, m := range g.Instances {
			if m.LifecycleState == "InService" {
				n++
			}
		}
		return g.Desired == 2 && n == 2 && len(g.Instances) == 2
	})
	for _, id := range ids {
		if _, ok := targetByID(t, r, id); ok {
			t.Errorf("%s still registered", id)
		}
	}
}

func TestScaleOutOnRequestCount(t *testing.T) {
	cfg := testConfig()
	cfg.Group = GroupConfig{Min: 1, Desired: 1, Max: 4, TargetRequestsPerTarget: 30}
	r := startRegion(t, cfg)
	c := newClient(2 * time.Second)
	defer c.CloseIdleConnections()
	load := startLoad(c, "GET", nodeURL(r, 0, "/"), 4, 20*time.Millisecond) // ~150 rps
	testutil.Eventually(t, 10*time.Second, "scale-out", func() bool { return r.AutoScalingGroups()[0].Desired > 1 })
	load.halt()
	if !hasEvent(r, "asg-capacity", "") && !strings.Contains(r.ScalingActivities("gameday-web")[0].Cause, "TargetTracking-gameday-web-AlarmHigh") {
		t.Errorf("cause %q", r.ScalingActivities("gameday-web")[0].Cause)
	}
}

func TestOverloadQueuesAndSheds(t *testing.T) {
	cfg := testConfig()
	cfg.Group = GroupConfig{Min: 1, Desired: 1, Max: 1, HealthCheckType: "EC2"}
	cfg.Instance = InstanceConfig{Concurrency: 2, QueueSize: 2, ServiceTime: 100 * time.Millisecond}
	r := startRegion(t, cfg)
	c := newClient(3 * time.Second)
	defer c.CloseIdleConnections()
	load := startLoad(c, "GET", nodeURL(r, 0, "/"), 12, 0)
	time.Sleep(700 * time.Millisecond)
	results := load.halt()
	codes := countCodes(results)
	if codes[503] == 0 || codes[200] == 0 {
		t.Errorf("codes %v, want both 200 and 503 (queue full)", codes)
	}
	// The instance shed them, not the load balancer: a real ALB signs only
	// the responses it generates (Server: awselb/2.0), and passes a
	// target's through; the sandbox app sends no Server header at all.
	for _, res := range results {
		if res.code == 503 && (res.server != "" || res.az == "") {
			t.Fatalf("an instance's 503 came with Server %q and AZ %q, want no Server and the instance's AZ", res.server, res.az)
		}
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 3 {
		r, err := New(testConfig())
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		c := newClient(time.Second)
		load := startLoad(c, "GET", nodeURL(r, 0, "/"), 4, time.Millisecond)
		time.Sleep(150 * time.Millisecond)
		if _, err := r.TerminateInstances([]string{r.Instances()[0].ID}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(150 * time.Millisecond)
		load.halt()
		c.CloseIdleConnections()
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatal("second Close:", err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+1 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+1 {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines before, %d after Close:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

func TestSubscribeEvents(t *testing.T) {
	r := startRegion(t, testConfig())
	ch, cancel := r.SubscribeEvents(64)
	defer cancel()
	if _, err := r.RebootDBInstance(r.DBInstances()[0].ID, false); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(3 * time.Second)
	for {
		select {
		case e := <-ch:
			if e.Kind == "db-status" && e.To == DBAvailable {
				return
			}
		case <-timeout:
			t.Fatal("no db-status available event")
		}
	}
}

var _ = http.MethodGet

func TestStoppedMemberIsReplaced(t *testing.T) {
	cfg := testConfig()
	cfg.Group.HealthCheckType = "EC2"
	r := startRegion(t, cfg)
	in := r.Instances()[0]
	if _, err := r.StopInstances([]string{in.ID}, false); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "stopped member terminated and replaced", func() bool {
		g := r.AutoScalingGroups()[0]
		n := 0
		for _, m := range g.Instances {
			if m.InstanceID == in.ID {
				return false
			}
			if m.LifecycleState == "InService" {
				n++
			}
		}
		return n == 3
	})
}

// TestFastProfileInstanceCycle runs the default fast profile: a terminated
// instance is replaced and the replacement is healthy (about 10 s by design;
// only a generous bound is asserted).
func TestFastProfileInstanceCycle(t *testing.T) {
	if testing.Short() {
		t.Skip("takes ~8 s")
	}
	r := startRegion(t, Config{Seed: 11})
	victim := r.Instances()[1]
	t0 := time.Now()
	if _, err := r.TerminateInstances([]string{victim.ID}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 25*time.Second, "replacement healthy", func() bool {
		ths, _ := r.TargetHealth(r.TargetGroups()[0].ARN)
		for _, th := range ths {
			if th.InstanceID != victim.ID && th.AZ == victim.AZ && th.State == TargetHealthy {
				return true
			}
		}
		return false
	})
	t.Logf("terminate → healthy replacement in %s", time.Since(t0).Round(100*time.Millisecond))
	for _, e := range r.Events() {
		if e.Kind != "api-call" {
			t.Logf("%s %-15s %-22s %-9s %s → %s %s", e.Time.Sub(t0).Round(time.Millisecond), e.Kind, e.Resource, e.AZ, e.From, e.To, e.Detail)
		}
	}
}

// TestBlackholedNodeDropsSYN: a new connection to a node whose subnet is
// blackholed times out in connect, as when a network ACL drops the SYN (it
// is never refused or reset); a connection made before hangs; after the
// restore, new connections succeed again.
func TestBlackholedNodeDropsSYN(t *testing.T) {
	if !canDropSYN {
		t.Skip("the node's listen backlog cannot be set on this platform")
	}
	r := startRegion(t, testConfig())
	node := r.ALBNodes()[0]
	before, err := net.Dial("tcp4", node.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer before.Close()
	restore := blackhole(t, r, subnetOf(r, "local-1a", true))
	testutil.Eventually(t, 5*time.Second, "accept queue full", func() bool { return r.lb.nodes[0].ln.dropsSYN() })
	for range 3 {
		start := time.Now()
		c, err := net.DialTimeout("tcp4", node.Addr, 300*time.Millisecond)
		var ne net.Error
		if err == nil {
			c.Close()
			t.Fatal("a new connection to a blackholed node was established")
		}
		if !errors.As(err, &ne) || !ne.Timeout() || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("dial a blackholed node: %v, want a connect timeout", err)
		}
		if el := time.Since(start); el < 250*time.Millisecond {
			t.Fatalf("dial failed after %v, before its timeout", el)
		}
	}
	// The connection made before the blackhole is open but gets no answer.
	before.SetDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := before.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	var ne net.Error
	if _, err := before.Read(make([]byte, 512)); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("established connection during the blackhole: %v, want it to hang", err)
	}
	restore()
	c := newClient(2 * time.Second)
	defer c.CloseIdleConnections()
	if res := do(c, "GET", "http://"+node.Addr+"/"); res.code != 200 {
		t.Fatalf("after restore: %+v", res)
	}
	// The request held on the old connection is answered once the path opens.
	before.SetDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 12)
	if _, err := io.ReadFull(before, buf); err != nil || !strings.HasPrefix(string(buf), "HTTP/1.1 200") {
		t.Fatalf("held request after restore: %q %v", buf, err)
	}
}

// TestFailureRecordSaysWhy: the sandbox records why and when it failed
// requests, in buckets, by reason and resource: a database cut off by an
// ACL, then a node blackholed, then no target at all.
func TestFailureRecordSaysWhy(t *testing.T) {
	r := startRegion(t, testConfig())
	c := newClient(2 * time.Second)
	defer c.CloseIdleConnections()
	writerAZ := r.WriterAZ()
	restore := blackhole(t, r, subnetOf(r, writerAZ, false))
	cut := time.Now()
	var fails int
	for range 6 {
		if do(c, "POST", nodeURL(r, 1, "/orders")).code == 500 {
			fails++
		}
	}
	restore()
	after := time.Now()
	var db uint64
	for _, b := range r.Failures(cut) {
		if b.Reason == FailDBUnreachable {
			db += b.Count
			if b.PeerAZ != writerAZ || b.Start.Before(cut.Add(-FailureBucketWidth)) || b.Start.After(after) {
				t.Errorf("db failure bucket %+v: want peer AZ %s, inside [%v, %v]", b, writerAZ, cut, after)
			}
		}
	}
	if fails == 0 || db != uint64(fails) {
		t.Errorf("%d writes failed, the record holds %d db-unreachable", fails, db)
	}
	if n := len(r.Failures(time.Now().Add(time.Second))); n != 0 {
		t.Errorf("%d buckets in the future", n)
	}
}
