package probes

import (
	"context"
	"errors"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/sandbox"
	"github.com/gameday-dev/gameday/sandbox/sim"
	"github.com/gameday-dev/gameday/sandbox/sim/simtest"
	"github.com/gameday-dev/gameday/topology"
)

// probeTimings are the sandbox's quick test timings with a failover long
// enough for several DB probe samples to see it.
func probeTimings() sim.Timings {
	t := simtest.Timings()
	t.FailoverTime = 600 * time.Millisecond
	return t
}

type env struct {
	sb   *sandbox.Sandbox
	c    *awsclients.Clients
	topo *topology.Topology
	ctx  context.Context
}

func startEnv(t *testing.T, dbKind string) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	sb, err := sandbox.Start(ctx, sandbox.Config{Region: sim.Config{
		Timings: probeTimings(), Seed: 11,
		Instance: sim.InstanceConfig{ServiceTime: time.Millisecond},
		DB:       sim.DBConfig{Kind: dbKind},
	}})
	if err != nil {
		t.Fatalf("sandbox.Start: %v", err)
	}
	t.Cleanup(func() {
		if err := sb.Close(); err != nil {
			t.Errorf("sandbox Close: %v", err)
		}
	})
	c := awsclients.New(sb.AWSConfig(ctx))
	topo, err := topology.Resolve(ctx, c, experiments.Target{Kind: "sandbox"})
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	return &env{sb: sb, c: c, topo: topo, ctx: ctx}
}

func (e *env) probe(t *testing.T, kind string) Probe {
	t.Helper()
	spec := experiments.Probe{Kind: kind}
	var hc *http.Client
	if kind == KindHTTP {
		spec.URL = e.sb.Summary().LoadBalancerURL
		hc = &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{Resolver: e.sb.Resolver()}).DialContext}}
		t.Cleanup(hc.CloseIdleConnections)
	}
	p, err := New(Env{Clients: e.c, Topology: e.topo, HTTPClient: hc}, spec)
	if err != nil {
		t.Fatalf("New(%s): %v", kind, err)
	}
	if p.Name() != kind {
		t.Fatalf("Name() = %q, want %q", p.Name(), kind)
	}
	return p
}

func sample(t *testing.T, ctx context.Context, p Probe) map[string]float64 {
	t.Helper()
	s, err := p.Sample(ctx)
	if err != nil {
		t.Fatalf("%s: Sample: %v", p.Name(), err)
	}
	return Last(nil, s)
}

// poll samples p every 50ms until cond holds or d passes, returning the
// samples that satisfied it.
func poll(t *testing.T, ctx context.Context, p Probe, d time.Duration, what string, cond func(map[string]float64) bool) map[string]float64 {
	t.Helper()
	deadline := time.Now().Add(d)
	var last map[string]float64
	for {
		last = sample(t, ctx, p)
		if cond(last) {
			return last
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: timed out after %s waiting for %s; last %v", p.Name(), d, what, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestHealthySandbox(t *testing.T) {
	e := startEnv(t, "")
	if len(e.topo.AZs) != 3 {
		t.Fatalf("topology AZs %v", e.topo.AZs)
	}
	th := e.probe(t, KindTargetHealth)
	got := poll(t, e.ctx, th, 5*time.Second, "3 healthy targets", func(m map[string]float64) bool { return m[SeriesHealthyTargets] == 3 })
	for _, az := range e.topo.AZs {
		if v, ok := got[SeriesHealthyTargets+"."+az]; !ok || v != 1 {
			t.Errorf("healthy_targets.%s = %v (present %v), want 1", az, v, ok)
		}
	}
	if got[SeriesUnhealthyTargets] != 0 {
		t.Errorf("unhealthy_targets = %v", got[SeriesUnhealthyTargets])
	}
	if len(got) != 5 {
		t.Errorf("target-health series %v, want total, 3 AZs and unhealthy", got)
	}
	if !Healthy(KindTargetHealth, got, got) {
		t.Error("target-health not Healthy against itself")
	}

	asg := sample(t, e.ctx, e.probe(t, KindASGCapacity))
	if asg[SeriesInService] != 3 || asg[SeriesDesired] != 3 || !Healthy(KindASGCapacity, asg, nil) {
		t.Errorf("asg-capacity %v, want in_service 3 desired 3", asg)
	}
	// The default sandbox group is min 3, max 6 (2 x desired), with no
	// policy visible through DescribePolicies (yet): no policy_target.
	if asg[SeriesMinSize] != 3 || asg[SeriesMaxSize] != 6 {
		t.Errorf("asg-capacity %v, want min_size 3 max_size 6", asg)
	}
	if v, ok := asg[SeriesPolicyTarget]; ok && v <= 0 {
		t.Errorf("policy_target %v: present only when a policy states one", v)
	}

	db := sample(t, e.ctx, e.probe(t, KindDBWriter))
	if db[SeriesDBAvailable] != 1 || !Healthy(KindDBWriter, db, nil) {
		t.Errorf("db-writer %v, want db_available 1", db)
	}
	if idx, ok := db[SeriesDBWriterAZIndex]; !ok || e.topo.AZs[int(idx)] != e.sb.Region().WriterAZ() {
		t.Errorf("db_writer_az_index %v (present %v), writer AZ %s of %v", idx, ok, e.sb.Region().WriterAZ(), e.topo.AZs)
	}

	h := sample(t, e.ctx, e.probe(t, KindHTTP))
	if h[SeriesHTTPOK] != 1 || !Healthy(KindHTTP, h, nil) {
		t.Errorf("http %v, want http_ok 1", h)
	}
	if l, ok := h[SeriesHTTPLatencyMS]; !ok || l <= 0 || l > 2000 {
		t.Errorf("http_latency_ms %v (present %v)", l, ok)
	}
}

func TestTargetHealthDropsAndRecovers(t *testing.T) {
	e := startEnv(t, "")
	th := e.probe(t, KindTargetHealth)
	asg := e.probe(t, KindASGCapacity)
	baseline := poll(t, e.ctx, th, 5*time.Second, "3 healthy targets", func(m map[string]float64) bool { return m[SeriesHealthyTargets] == 3 })

	var victim sim.Instance
	for _, in := range e.sb.Region().Instances() {
		if in.State == sim.StateRunning && in.AZ == e.topo.AZs[1] {
			victim = in
		}
	}
	if victim.ID == "" {
		t.Fatalf("no running instance in %s", e.topo.AZs[1])
	}
	if _, err := e.sb.Region().TerminateInstances([]string{victim.ID}); err != nil {
		t.Fatal(err)
	}
	down := poll(t, e.ctx, th, 5*time.Second, "healthy total to drop", func(m map[string]float64) bool { return m[SeriesHealthyTargets] < 3 })
	if Healthy(KindTargetHealth, down, baseline) {
		t.Errorf("Healthy with %v against %v", down, baseline)
	}
	if down[SeriesHealthyTargets+"."+victim.AZ] != 0 {
		t.Errorf("victim AZ %s still counts %v healthy", victim.AZ, down[SeriesHealthyTargets+"."+victim.AZ])
	}
	up := poll(t, e.ctx, th, 10*time.Second, "target health to recover", func(m map[string]float64) bool { return Healthy(KindTargetHealth, m, baseline) })
	if up[SeriesHealthyTargets] != 3 {
		t.Errorf("recovered with %v", up)
	}
	poll(t, e.ctx, asg, 5*time.Second, "group back in service", func(m map[string]float64) bool { return Healthy(KindASGCapacity, m, nil) && m[SeriesInService] == 3 })
}

func TestDBWriterInstanceFailover(t *testing.T) {
	e := startEnv(t, "instance")
	p := e.probe(t, KindDBWriter)
	before := sample(t, e.ctx, p)
	if before[SeriesDBAvailable] != 1 {
		t.Fatalf("before: %v", before)
	}
	if _, err := e.c.RDS.RebootDBInstance(e.ctx, &rds.RebootDBInstanceInput{DBInstanceIdentifier: aws.String(e.topo.DBInstanceID), ForceFailover: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	poll(t, e.ctx, p, 3*time.Second, "db_available 0", func(m map[string]float64) bool { return m[SeriesDBAvailable] == 0 })
	after := poll(t, e.ctx, p, 5*time.Second, "db_available 1", func(m map[string]float64) bool { return Healthy(KindDBWriter, m, nil) })
	if after[SeriesDBWriterAZIndex] == before[SeriesDBWriterAZIndex] {
		t.Errorf("writer AZ index unchanged: before %v after %v", before, after)
	}
	if got := e.topo.AZs[int(after[SeriesDBWriterAZIndex])]; got != e.sb.Region().WriterAZ() {
		t.Errorf("index points at %s, writer is in %s", got, e.sb.Region().WriterAZ())
	}
}

func TestDBWriterClusterFailover(t *testing.T) {
	e := startEnv(t, "cluster")
	if e.topo.DBClusterID == "" {
		t.Fatalf("no cluster in topology %+v", e.topo)
	}
	p := e.probe(t, KindDBWriter)
	before := sample(t, e.ctx, p)
	if before[SeriesDBAvailable] != 1 {
		t.Fatalf("before: %v", before)
	}
	if _, err := e.c.RDS.FailoverDBCluster(e.ctx, &rds.FailoverDBClusterInput{DBClusterIdentifier: aws.String(e.topo.DBClusterID)}); err != nil {
		t.Fatal(err)
	}
	poll(t, e.ctx, p, 3*time.Second, "db_available 0", func(m map[string]float64) bool { return m[SeriesDBAvailable] == 0 })
	after := poll(t, e.ctx, p, 5*time.Second, "db_available 1", func(m map[string]float64) bool { return m[SeriesDBAvailable] == 1 })
	if after[SeriesDBWriterAZIndex] == before[SeriesDBWriterAZIndex] {
		t.Errorf("writer AZ index unchanged: before %v after %v", before, after)
	}
	if got := e.topo.AZs[int(after[SeriesDBWriterAZIndex])]; got != e.sb.Region().WriterAZ() {
		t.Errorf("index points at %s, writer is in %s", got, e.sb.Region().WriterAZ())
	}
}

func TestNewErrors(t *testing.T) {
	c := awsclients.New(aws.Config{Region: "local-1"})
	full := &topology.Topology{TargetGroupARN: "arn:tg", GroupName: "g", DBInstanceID: "db", AZs: []string{"a", "b"}}
	for _, tc := range []struct {
		name string
		topo *topology.Topology
		spec experiments.Probe
		want string
	}{
		{"unknown kind", full, experiments.Probe{Kind: "ping"}, "unknown kind"},
		{"no target group", &topology.Topology{}, experiments.Probe{Kind: KindTargetHealth}, "target group"},
		{"no group", &topology.Topology{}, experiments.Probe{Kind: KindASGCapacity}, "Auto Scaling group"},
		{"no db", &topology.Topology{}, experiments.Probe{Kind: KindDBWriter}, "DB instance or DB cluster"},
		{"nil topology", nil, experiments.Probe{Kind: KindDBWriter}, "topology"},
		{"http no url", full, experiments.Probe{Kind: KindHTTP}, "url is required"},
		{"http relative url", full, experiments.Probe{Kind: KindHTTP, URL: "/health"}, "not an absolute"},
		{"negative timeout", full, experiments.Probe{Kind: KindHTTP, URL: "http://127.0.0.1/", Timeout: -1}, "timeout"},
	} {
		_, err := New(Env{Clients: c, Topology: tc.topo}, tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
	for _, k := range []string{KindTargetHealth, KindASGCapacity, KindDBWriter} {
		p, err := New(Env{Clients: c, Topology: full}, experiments.Probe{Kind: k, Name: "x-" + k})
		if err != nil || p.Name() != "x-"+k {
			t.Errorf("%s: %v", k, err)
		}
	}
	if _, err := New(Env{}, experiments.Probe{Kind: KindHTTP, URL: "http://127.0.0.1:1/"}); err != nil {
		t.Errorf("http needs no clients or topology: %v", err)
	}
}

func TestHealthy(t *testing.T) {
	base := map[string]float64{"healthy_targets": 3, "healthy_targets.a": 1, "healthy_targets.b": 1, "healthy_targets.c": 1}
	for _, tc := range []struct {
		kind string
		last map[string]float64
		want bool
	}{
		{KindTargetHealth, base, true},
		{KindTargetHealth, map[string]float64{"healthy_targets": 4, "healthy_targets.a": 2, "healthy_targets.b": 1, "healthy_targets.c": 1}, true},
		{KindTargetHealth, map[string]float64{"healthy_targets": 3, "healthy_targets.a": 2, "healthy_targets.b": 1, "healthy_targets.c": 0}, false},
		{KindTargetHealth, map[string]float64{"healthy_targets": 2, "healthy_targets.a": 1, "healthy_targets.b": 1}, false},
		{KindTargetHealth, map[string]float64{"healthy_targets": 3, "healthy_targets.a": 3}, false},
		{KindTargetHealth, nil, false},
		{KindASGCapacity, map[string]float64{"in_service": 3, "desired": 3}, true},
		{KindASGCapacity, map[string]float64{"in_service": 2, "desired": 3}, false},
		{KindASGCapacity, map[string]float64{"desired": 0}, false},
		{KindDBWriter, map[string]float64{"db_available": 1, "db_writer_az_index": 2}, true},
		{KindDBWriter, map[string]float64{"db_available": 0}, false},
		{KindHTTP, map[string]float64{"http_ok": 1}, true},
		{KindHTTP, map[string]float64{"http_ok": 0, "http_latency_ms": 3}, false},
		{"other", map[string]float64{"http_ok": 1}, false},
	} {
		if got := Healthy(tc.kind, tc.last, base); got != tc.want {
			t.Errorf("Healthy(%s, %v) = %v, want %v", tc.kind, tc.last, got, tc.want)
		}
	}
}

func TestHTTPFailuresAreObservations(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-release:
			}
		case "/fail":
			http.Error(w, "boom", http.StatusServiceUnavailable)
		default:
			w.Write([]byte("ok"))
		}
	}))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := "http://" + closed.Addr().String() + "/"
	closed.Close()

	for _, tc := range []struct {
		url    string
		ok     float64
		maxLat float64
	}{
		{srv.URL + "/", 1, 1000},
		{srv.URL + "/fail", 0, 1000},
		{srv.URL + "/slow", 0, 1000},
		{refused, 0, 1000},
	} {
		p, err := New(Env{HTTPClient: srv.Client()}, experiments.Probe{Kind: KindHTTP, URL: tc.url, Timeout: 150 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		got := sample(t, ctx, p)
		if got[SeriesHTTPOK] != tc.ok {
			t.Errorf("%s: http_ok %v, want %v", tc.url, got[SeriesHTTPOK], tc.ok)
		}
		if l, ok := got[SeriesHTTPLatencyMS]; !ok || l > tc.maxLat {
			t.Errorf("%s: http_latency_ms %v (present %v)", tc.url, l, ok)
		}
		if strings.HasSuffix(tc.url, "/slow") && got[SeriesHTTPLatencyMS] < 140 {
			t.Errorf("slow: latency %v, want about the 150ms timeout", got[SeriesHTTPLatencyMS])
		}
	}

	// Without a url the http probe GETs the load's URL (Env.LoadURL), and
	// without either it is refused.
	if _, err := New(Env{}, experiments.Probe{Kind: KindHTTP}); err == nil {
		t.Error("an http probe with no url and no load URL was accepted")
	}
	dp, err := New(Env{HTTPClient: srv.Client(), LoadURL: srv.URL + "/ok"}, experiments.Probe{Kind: KindHTTP})
	if err != nil {
		t.Fatal(err)
	}
	if got := sample(t, ctx, dp); got[SeriesHTTPOK] != 1 {
		t.Errorf("default-url sample %v: want %s = 1 (the load URL answers)", got, SeriesHTTPOK)
	}
	if dead, err := New(Env{LoadURL: refused}, experiments.Probe{Kind: KindHTTP, Timeout: 150 * time.Millisecond}); err != nil {
		t.Fatal(err)
	} else if got := sample(t, ctx, dead); got[SeriesHTTPOK] != 0 {
		t.Errorf("default-url sample of a refused load URL %v: want %s = 0", got, SeriesHTTPOK)
	}

	// A cancelled run is an error, not an observation.
	p, _ := New(Env{HTTPClient: srv.Client()}, experiments.Probe{Kind: KindHTTP, URL: srv.URL + "/slow"})
	cctx, ccancel := context.WithCancel(ctx)
	time.AfterFunc(50*time.Millisecond, ccancel)
	if s, err := p.Sample(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled sample: %v, %v", s, err)
	}
}

func TestAPIErrorsAreProbeErrors(t *testing.T) {
	e := startEnv(t, "")
	topo := *e.topo
	topo.GroupName, topo.DBInstanceID = "no-such-group", "no-such-db"
	topo.TargetGroupARN += "-gone"
	for _, k := range []string{KindTargetHealth, KindASGCapacity, KindDBWriter} {
		p, err := New(Env{Clients: e.c, Topology: &topo}, experiments.Probe{Kind: k, Timeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if s, err := p.Sample(e.ctx); err == nil {
			t.Errorf("%s: sample of a missing resource: %v, no error", k, s)
		}
	}
}

type fakeProbe struct {
	n     atomic.Int32
	panic bool
}

func (f *fakeProbe) Name() string                                        { return "fake" }
func (f *fakeProbe) Healthy(map[string]float64, map[string]float64) bool { return true }

func (f *fakeProbe) Sample(ctx context.Context) ([]Sample, error) {
	n := f.n.Add(1)
	if f.panic && n == 2 {
		panic("boom")
	}
	if n%3 == 0 {
		return nil, errors.New("flaky")
	}
	return []Sample{{"n", float64(n)}}, nil
}

func TestRun(t *testing.T) {
	for _, withPanic := range []bool{false, true} {
		f := &fakeProbe{panic: withPanic}
		ctx, cancel := context.WithCancel(context.Background())
		var (
			mu    sync.Mutex
			times []time.Time
			errs  int
			vals  []float64
		)
		done := make(chan struct{})
		start := time.Now()
		go func() {
			defer close(done)
			Run(ctx, f, 50*time.Millisecond, func(tm time.Time, s []Sample, err error) {
				mu.Lock()
				defer mu.Unlock()
				times = append(times, tm)
				if err != nil {
					errs++
				} else {
					vals = append(vals, s[0].Value)
				}
			})
		}()
		time.Sleep(280 * time.Millisecond)
		cancel()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
		mu.Lock()
		n := len(times)
		if n < 3 || n > 8 {
			t.Errorf("panic=%v: %d samples in 280ms at 50ms", withPanic, n)
		}
		if n > 0 && times[0].Sub(start) > 40*time.Millisecond {
			t.Errorf("first sample %s after start, want at once", times[0].Sub(start))
		}
		for i := 1; i < n; i++ {
			if d := times[i].Sub(times[i-1]); d < 25*time.Millisecond {
				t.Errorf("samples %d and %d only %s apart", i-1, i, d)
			}
		}
		wantErrs := 0
		for i := 1; i <= n; i++ {
			if i%3 == 0 || (withPanic && i == 2) {
				wantErrs++
			}
		}
		if errs != wantErrs {
			t.Errorf("panic=%v: %d errors in %d samples, want %d", withPanic, errs, n, wantErrs)
		}
		mu.Unlock()
		// Nothing is reported after Run returns.
		before := f.n.Load()
		time.Sleep(120 * time.Millisecond)
		if f.n.Load() != before {
			t.Error("probe sampled after Run returned")
		}
	}

	// Run on a cancelled context returns at once without sampling.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f := &fakeProbe{}
	Run(ctx, f, time.Millisecond, func(time.Time, []Sample, error) { t.Error("out called") })
	if f.n.Load() != 0 {
		t.Error("sampled on a cancelled context")
	}
}

func TestRunRealProbe(t *testing.T) {
	e := startEnv(t, "")
	p := e.probe(t, KindASGCapacity)
	ctx, cancel := context.WithTimeout(e.ctx, 350*time.Millisecond)
	defer cancel()
	var n int
	Run(ctx, p, 100*time.Millisecond, func(_ time.Time, s []Sample, err error) {
		if err != nil {
			t.Errorf("sample error: %v", err)
			return
		}
		if m := Last(nil, s); m[SeriesDesired] != 3 {
			t.Errorf("sample %v", m)
		}
		n++
	})
	if n < 2 || n > 5 {
		t.Errorf("%d samples in 350ms at 100ms", n)
	}
}

// A target-tracking policy on ALBRequestCountPerTarget states its target
// per CloudWatch minute; the sandbox's minute is scaled (here 1 s of wall
// time), so the probe divides by the environment's minute, not by 60: the
// sandbox's knob of 25 requests/s per target reads back as 25.
func TestPolicyTargetPerScaledMinute(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tm := simtest.Timings()
	tm.MetricMinute = time.Second
	sb, err := sandbox.Start(ctx, sandbox.Config{Region: sim.Config{
		Timings: tm, Seed: 5,
		Group: sim.GroupConfig{Min: 2, Desired: 2, Max: 4, TargetRequestsPerTarget: 25},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	c := awsclients.New(sb.AWSConfig(ctx))
	topo, err := topology.Resolve(ctx, c, experiments.Target{Kind: "sandbox"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		minute time.Duration
		want   float64
	}{{time.Second, 25}, {0, 25.0 / 60}} { // 0: a real minute, as on AWS
		p, err := New(Env{Clients: c, Topology: topo, MetricMinute: tc.minute}, experiments.Probe{Kind: KindASGCapacity})
		if err != nil {
			t.Fatal(err)
		}
		got := sample(t, ctx, p)
		if v := got[SeriesPolicyTarget]; math.Abs(v-tc.want) > 1e-9 {
			t.Errorf("minute %s: policy_target %v, want %v", tc.minute, v, tc.want)
		}
	}
}
