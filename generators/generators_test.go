package generators

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gameday-dev/gameday/attack"
	"github.com/gameday-dev/gameday/record"
	"github.com/gameday-dev/gameday/timeline"
)

// The test binary doubles as the worker: with workerEnv set, or with
// "worker" as its first argument (as the sandbox's ECS runs a container's
// command), it runs Work with the worker's flags instead of the tests, so
// the workers below are real processes speaking the real protocol.
const workerEnv = "GENERATORS_TEST_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) == "1" || len(os.Args) > 1 && os.Args[1] == "worker" {
		args := os.Args[1:]
		if len(args) > 0 && args[0] == "worker" {
			args = args[1:]
		}
		fs := flag.NewFlagSet("worker", flag.ExitOnError)
		var o WorkOptions
		var run string
		var index int
		fs.StringVar(&o.Coordinator, "coordinator", "", "")
		fs.StringVar(&o.Worker, "id", "", "")
		fs.StringVar(&o.Raw, "raw", "", "")
		fs.StringVar(&run, "run", "", "")
		fs.IntVar(&index, "index", -1, "")
		_ = fs.Parse(args)
		o.Token, o.Log = os.Getenv(TokenEnv), os.Stderr
		id, err := WorkerIDFrom(o.Worker, run, index, os.Getenv)
		if err != nil {
			fmt.Fprintln(os.Stderr, "worker:", err)
			os.Exit(2)
		}
		o.Worker = id
		o.GiveUp = 3 * time.Second
		// As `gameday worker` does: SIGTERM (StopTask, a pod deleted)
		// ends the slice early, reporting what was sent.
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		defer stop()
		if err := Work(ctx, o); err != nil {
			fmt.Fprintln(os.Stderr, "worker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func testEngine() *Local {
	return &Local{Command: []string{os.Args[0]}, Env: []string{workerEnv + "=1"}, Output: os.Stderr, Grace: 2 * time.Second}
}

// target is a loopback server answering 200, or 503 for every 10th request.
func target(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1)%10 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(s.Close)
	return s, &n
}

type merged struct {
	mu sync.Mutex
	tl *timeline.Timeline
}

func (m *merged) merge(i int, c *timeline.Counts) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tl.MergeWindow(i, c)
}

func readRaw(t *testing.T, path string) []vegeta.Result {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := vegeta.NewDecoder(f)
	var out []vegeta.Result
	for {
		var r vegeta.Result
		if err := dec.Decode(&r); err != nil {
			if errors.Is(err, io.EOF) {
				return out
			}
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, r)
	}
}

// Three worker processes send a ramping plan together: asked is the plan
// exactly, the merged windows hold every hit once, totals equal the sum of
// the workers' own summaries and a recount of their raw results, and the
// merged service-time quantiles equal the raw results' within the
// histogram's stated precision.
func TestThreeWorkersSendThePlanExactly(t *testing.T) {
	srv, served := target(t)
	dir := t.TempDir()
	jr, err := OpenJournal(filepath.Join(dir, "workers.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer jr.Close()
	c, err := New(Config{Engine: testEngine(), Count: 3, RunID: "run1", Journal: jr, RawDir: dir, JoinTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := attack.Config{Requests: []attack.Request{{Method: "GET", URL: srv.URL + "/"}}, Timeout: 2 * time.Second, KeepAlive: true,
		Stages: []attack.Stage{{Duration: time.Second, From: 50, To: 250}, {Duration: time.Second, From: 250, To: 250}}}
	plan, _ := attack.NewPlan(cfg.Stages)
	width := 250 * time.Millisecond
	ctx := context.Background()
	start, err := c.Barrier(ctx, cfg, width)
	if err != nil {
		t.Fatal(err)
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
	total := tl.Total()
	if sum.Asked != plan.Total() {
		t.Fatalf("asked %d, plan %d", sum.Asked, plan.Total())
	}
	if total.Requests != plan.Total() || tl.Outside() != 0 {
		t.Fatalf("merged windows hold %d requests (%d outside), plan %d", total.Requests, tl.Outside(), plan.Total())
	}
	if notSent := total.Classes.Get(timeline.ClassNotSent); sum.Sent+notSent != sum.Asked || sum.Sent != uint64(served.Load()) {
		t.Fatalf("sent %d + not sent %d ≠ asked %d, or ≠ %d served", sum.Sent, notSent, sum.Asked, served.Load())
	}
	var raw []vegeta.Result
	var rec struct{ asked, sent uint64 }
	for _, ws := range c.order {
		if ws.done == nil || ws.lost != "" {
			t.Fatalf("worker %s: done %v lost %q", ws.id, ws.done != nil, ws.lost)
		}
		rec.asked += ws.done.Asked
		rec.sent += ws.done.Sent
		r := readRaw(t, ws.done.Raw)
		if uint64(len(r)) != ws.done.Sent {
			t.Fatalf("worker %s: %d raw results, it sent %d", ws.id, len(r), ws.done.Sent)
		}
		raw = append(raw, r...)
	}
	if rec.asked != sum.Asked || rec.sent != sum.Sent {
		t.Fatalf("workers asked %d sent %d, merged %d %d", rec.asked, rec.sent, sum.Asked, sum.Sent)
	}
	// Recount from the raw results.
	var ok, e5xx uint64
	var lat []time.Duration
	for _, r := range raw {
		switch {
		case r.Code == 200 && r.Error == "":
			ok++
			lat = append(lat, r.Latency)
		case r.Code == 503:
			e5xx++
		}
	}
	if ok != total.Successes || ok+e5xx != sum.Sent {
		t.Fatalf("raw: %d ok + %d 503 (sent %d); merged successes %d, classes %v", ok, e5xx, sum.Sent, total.Successes, total.Classes.Map())
	}
	slices.Sort(lat)
	for _, q := range []float64{0.5, 0.99} {
		r := int(float64(len(lat))*q+0.999999) - 1
		want := float64(lat[max(r, 0)])
		got := float64(total.OKService.Quantile(q))
		if d := (got - want) / want; d > timeline.RelativeError || d < -timeline.RelativeError {
			t.Errorf("p%v: merged %v, raw %v: off by %.2f%% > %.2f%%", q*100, time.Duration(got), time.Duration(want), 100*d, 100*timeline.RelativeError)
		}
	}
	// Every hit lands in the window of its due time on the coordinator's
	// clock: per window, the plan's hits.
	for i := range tl.Len() {
		from, to := time.Duration(i)*width, time.Duration(i+1)*width
		if want, got := plan.Asked(to)-plan.Asked(from), tl.Window(i).Requests; got != want {
			t.Errorf("window %d: %d hits, plan asks %d", i, got, want)
		}
	}
	// Journal: every worker started and stopped.
	if pend, err := Pending(jr.Path()); err != nil || len(pend) != 0 {
		t.Fatalf("pending workers after Close: %v %v", pend, err)
	}
}

// A worker that goes silent (SIGSTOP) is lost: the hits of its slice it did
// not report count as not sent, so the merged windows still hold the whole
// plan; with on_worker_loss fail the run is aborted.
func TestSilentWorkerIsLostAndItsShareNotSent(t *testing.T) {
	srv, _ := target(t)
	c, err := New(Config{Engine: testEngine(), Count: 3, RunID: "run2", Silence: time.Second, JoinTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := attack.Config{Requests: []attack.Request{{URL: srv.URL + "/"}}, Timeout: time.Second, KeepAlive: true,
		Stages: []attack.Stage{{Duration: 3 * time.Second, From: 150, To: 150}}}
	plan, _ := attack.NewPlan(cfg.Stages)
	width := 250 * time.Millisecond
	start, err := c.Barrier(context.Background(), cfg, width)
	if err != nil {
		t.Fatal(err)
	}
	tl, _ := timeline.New(start, width)
	m := &merged{tl: tl}
	victim := c.order[1]
	go func() {
		time.Sleep(time.Until(start.Add(time.Second)))
		_ = syscall.Kill(victim.handle.(*localHandle).ref.PID, syscall.SIGSTOP)
	}()
	var aborted atomic.Value
	sum, err := c.Run(context.Background(), m.merge, func(why string) { aborted.Store(why) })
	if err != nil {
		t.Fatal(err)
	}
	if aborted.Load() == nil {
		t.Error("a lost worker with on_worker_loss fail did not abort the run")
	}
	if victim.lost == "" || victim.missing == 0 {
		t.Fatalf("victim lost %q, missing %d", victim.lost, victim.missing)
	}
	total := tl.Total()
	if sum.Asked != plan.Total() || total.Requests != plan.Total() {
		t.Fatalf("asked %d, merged %d, plan %d", sum.Asked, total.Requests, plan.Total())
	}
	if ns := total.Classes.Get(timeline.ClassNotSent); ns < victim.missing {
		t.Fatalf("not sent %d < the victim's missing %d", ns, victim.missing)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-victim.handle.Exited():
	default:
		t.Fatal("the stopped worker is still running after Close")
	}
}

// A worker stopped gracefully mid-run (SIGTERM, as StopTask sends) reports
// what it sent and ends: it is still lost, its unsent share counts as not
// sent, and asked stays the plan.
func TestWorkerStoppedEarlyIsLost(t *testing.T) {
	srv, _ := target(t)
	c, err := New(Config{Engine: testEngine(), Count: 2, RunID: "early", OnLoss: OnLossContinue, JoinTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := attack.Config{Requests: []attack.Request{{URL: srv.URL + "/"}}, Timeout: time.Second, KeepAlive: true,
		Stages: []attack.Stage{{Duration: 3 * time.Second, From: 100, To: 100}}}
	plan, _ := attack.NewPlan(cfg.Stages)
	width := 250 * time.Millisecond
	start, err := c.Barrier(context.Background(), cfg, width)
	if err != nil {
		t.Fatal(err)
	}
	tl, _ := timeline.New(start, width)
	m := &merged{tl: tl}
	victim := c.order[1]
	go func() {
		time.Sleep(time.Until(start.Add(time.Second)))
		_ = syscall.Kill(victim.handle.(*localHandle).ref.PID, syscall.SIGTERM)
	}()
	sum, err := c.Run(context.Background(), m.merge, func(why string) { t.Errorf("abort with on_worker_loss continue: %s", why) })
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(victim.lost, "it stopped before its slice was done") || victim.missing == 0 || c.order[0].lost != "" {
		t.Fatalf("victim lost %q, missing %d; other lost %q", victim.lost, victim.missing, c.order[0].lost)
	}
	if total := tl.Total(); sum.Asked != plan.Total() || total.Requests != plan.Total() || total.Classes.Get(timeline.ClassNotSent) < victim.missing {
		t.Fatalf("asked %d, merged %d (not sent %d, victim missing %d), plan %d", sum.Asked, total.Requests, total.Classes.Get(timeline.ClassNotSent), victim.missing, plan.Total())
	}
}

// A worker a killed coordinator left running (journaled as started, never
// stopped) is stopped by StopLeftovers, which marks it stopped; a second
// pass finds nothing to do.
func TestStopLeftovers(t *testing.T) {
	dir := t.TempDir()
	jr, err := OpenJournal(filepath.Join(dir, "workers.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	eng := &Local{Command: []string{"sh", "-c", "sleep 60"}, Grace: time.Second}
	if err := jr.Starting("r", "local", "r-w0"); err != nil {
		t.Fatal(err)
	}
	h, err := eng.Start(context.Background(), WorkerSpec{ID: "r-w0", Coordinator: "http://127.0.0.1:1", Token: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if err := jr.Started("r", "local", "r-w0", h.Ref()); err != nil {
		t.Fatal(err)
	}
	_ = jr.Close()
	if pend, _ := Pending(jr.Path()); len(pend) != 1 {
		t.Fatalf("pending %v", pend)
	}
	var out strings.Builder
	if err := StopLeftovers([]string{jr.Path()}, &out); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.Exited():
	case <-time.After(5 * time.Second):
		t.Fatal("the leftover worker is still running")
	}
	if !strings.Contains(out.String(), "r-w0 (local): stopped") {
		t.Errorf("output %q", out.String())
	}
	if pend, err := Pending(jr.Path()); err != nil || len(pend) != 0 {
		t.Fatalf("still pending after StopLeftovers: %v %v", pend, err)
	}
	out.Reset()
	if err := StopLeftovers([]string{jr.Path()}, &out); err != nil || out.Len() != 0 {
		t.Fatalf("second pass: %v %q", err, out.String())
	}
}

// An idle stretch of the plan longer than the silence timeout does not lose
// the workers: they send heartbeats.
func TestIdleStageIsNotSilence(t *testing.T) {
	srv, _ := target(t)
	c, err := New(Config{Engine: testEngine(), Count: 2, RunID: "run3", Silence: 500 * time.Millisecond, JoinTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := attack.Config{Requests: []attack.Request{{URL: srv.URL + "/"}}, Timeout: time.Second, KeepAlive: true,
		Stages: []attack.Stage{{Duration: 500 * time.Millisecond, From: 100, To: 100}, {Duration: 2 * time.Second}, {Duration: 500 * time.Millisecond, From: 100, To: 100}}}
	plan, _ := attack.NewPlan(cfg.Stages)
	start, err := c.Barrier(context.Background(), cfg, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	tl, _ := timeline.New(start, 200*time.Millisecond)
	m := &merged{tl: tl}
	sum, err := c.Run(context.Background(), m.merge, func(why string) { t.Errorf("abort: %s", why) })
	if err != nil {
		t.Fatal(err)
	}
	for _, ws := range c.order {
		if ws.lost != "" {
			t.Errorf("worker %s lost during an idle stage: %s", ws.id, ws.lost)
		}
	}
	if sum.Asked != plan.Total() || tl.Total().Requests != plan.Total() {
		t.Fatalf("asked %d, merged %d, plan %d", sum.Asked, tl.Total().Requests, plan.Total())
	}
}

// A worker that cannot start fails the barrier, naming it; Close leaves
// nothing running.
func TestBarrierFailsWhenAWorkerCannotStart(t *testing.T) {
	c, err := New(Config{Engine: &Local{Command: []string{"false"}}, Count: 2, RunID: "run4", JoinTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cfg := attack.Config{Requests: []attack.Request{{URL: "http://127.0.0.1:1/"}}, Stages: []attack.Stage{{Duration: time.Second, From: 1, To: 1}}}
	_, err = c.Barrier(context.Background(), cfg, time.Second)
	if err == nil || !strings.Contains(err.Error(), "exited before the start") {
		t.Fatalf("barrier: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

// The coordinator refuses another protocol version and a wrong token.
func TestCoordinatorRefusesBadCallers(t *testing.T) {
	c, err := New(Config{Engine: testEngine(), Count: 1, RunID: "run5"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct {
		proto, token string
		code         int
	}{{"2", c.Token(), 400}, {"1", "wrong", 401}, {"1", c.Token(), 404}} {
		req, _ := http.NewRequest(http.MethodPost, c.URL()+"/v1/hello", strings.NewReader(`{"worker":"nobody"}`))
		req.Header.Set(ProtocolHeader, tc.proto)
		req.Header.Set("Authorization", "Bearer "+tc.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("protocol %s token %s: %d, want %d", tc.proto, tc.token, resp.StatusCode, tc.code)
		}
	}
}

// A clock offset over a quarter window is a warning in the record; a lost
// worker is named with what was counted on its behalf.
func TestRecordWarnsOfClockOffsetAndNamesLostWorkers(t *testing.T) {
	c := &Coordinator{cfg: Config{Engine: &Local{}}, assign: Assignment{Window: time.Second}}
	c.order = []*workerState{
		{id: "r-w0", index: 0, offset: 300 * time.Millisecond, done: &Done{Asked: 10, Sent: 10}},
		{id: "r-w1", index: 1, offset: -240 * time.Millisecond, done: &Done{Asked: 10, Sent: 10}},
		{id: "r-w2", index: 2, lost: "silent for 5s", missing: 7, got: map[int]uint64{0: 3}},
	}
	c.order[2].total.Requests = 10
	c.order[2].total.Classes.Add(timeline.ClassOK, 3)
	c.order[2].total.Classes.Add(timeline.ClassNotSent, 7)
	var rec record.Run
	c.Record(&rec)
	notes := strings.Join(rec.Notes, "\n")
	if !strings.Contains(notes, "r-w0's clock is 300ms off") || strings.Contains(notes, "r-w1's clock") {
		t.Errorf("clock warnings:\n%s", notes)
	}
	if !strings.Contains(notes, "r-w2 was lost (silent for 5s): the 7 hits") {
		t.Errorf("lost worker note:\n%s", notes)
	}
	if w := rec.Workers[2]; w.Lost == "" || w.Sent != 3 || w.NotSent != 7 || w.Asked != 10 {
		t.Errorf("lost worker row %+v", w)
	}
}

// A batch whose answer is lost after the coordinator merged it is sent
// again by the worker and merged once: the merged windows still hold the
// plan exactly, no hit twice.
func TestLostAnswerIsNotMergedTwice(t *testing.T) {
	srv, _ := target(t)
	var lost atomic.Int32
	var coordURL atomic.Value
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, coordURL.Load().(string)+r.URL.Path, r.Body)
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		// Every 3rd batch: merged by the coordinator, answer lost.
		if r.URL.Path == "/v1/windows" && resp.StatusCode == 200 && lost.Add(1)%3 == 0 {
			http.Error(w, "answer lost", http.StatusBadGateway)
			return
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(body)
	}))
	defer proxy.Close()
	c, err := New(Config{Engine: testEngine(), Count: 2, RunID: "run6", Advertise: proxy.URL, JoinTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	coordURL.Store("http://" + c.ln.Addr().String())
	cfg := attack.Config{Requests: []attack.Request{{URL: srv.URL + "/"}}, Timeout: time.Second, KeepAlive: true,
		Stages: []attack.Stage{{Duration: 2 * time.Second, From: 200, To: 200}}}
	plan, _ := attack.NewPlan(cfg.Stages)
	start, err := c.Barrier(context.Background(), cfg, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	tl, _ := timeline.New(start, 200*time.Millisecond)
	m := &merged{tl: tl}
	sum, err := c.Run(context.Background(), m.merge, func(why string) { t.Errorf("abort: %s", why) })
	if err != nil {
		t.Fatal(err)
	}
	if lost.Load() < 3 {
		t.Fatalf("only %d batches went through the proxy; the test proves nothing", lost.Load())
	}
	if total := tl.Total(); sum.Asked != plan.Total() || total.Requests != plan.Total() {
		t.Fatalf("asked %d, merged %d, plan %d (%d batches, every 3rd answer lost)", sum.Asked, total.Requests, plan.Total(), lost.Load())
	}
}

// The runner calls Lag holding the lock its merge function takes, and the
// coordinator calls merge holding its own: Lag must not take the
// coordinator's lock, or the two deadlock (a merge that calls Lag stands
// in for the runner here).
func TestLagDoesNotDeadlockWithMerge(t *testing.T) {
	srv, _ := target(t)
	c, err := New(Config{Engine: testEngine(), Count: 1, RunID: "lag", JoinTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// No deferred Close: after a deadlock it would block too.
	cfg := attack.Config{Requests: []attack.Request{{URL: srv.URL + "/"}}, Timeout: time.Second,
		Stages: []attack.Stage{{Duration: time.Second, From: 20, To: 20}}}
	width := 250 * time.Millisecond
	start, err := c.Barrier(context.Background(), cfg, width)
	if err != nil {
		t.Fatal(err)
	}
	tl, _ := timeline.New(start, width)
	m := &merged{tl: tl}
	done := make(chan error, 1)
	go func() {
		_, err := c.Run(context.Background(), func(i int, cnt *timeline.Counts) error {
			if c.Lag() <= 0 {
				t.Error("no lag")
			}
			return m.merge(i, cnt)
		}, func(string) {})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not end: Lag called from merge deadlocked")
	}
}
