package generators

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gameday-dev/gameday/attack"
	"github.com/gameday-dev/gameday/record"
	"github.com/gameday-dev/gameday/timeline"
)

// What a lost worker does to the run (Config.OnLoss).
const (
	OnLossFail     = "fail"     // abort the run (every fault is rolled back)
	OnLossContinue = "continue" // go on; its remaining share counts as not sent
)

// MaxCount bounds how many workers one run may start.
const MaxCount = 256

// Config configures a Coordinator.
type Config struct {
	Engine Engine
	Count  int
	// OnLoss is OnLossFail (default) or OnLossContinue.
	OnLoss string
	// JoinTimeout bounds the wait for every worker at the barrier
	// (default 60 s); Silence is how long a worker may send nothing before
	// it is lost (default 5 s, at least 4 flushes).
	JoinTimeout, Silence time.Duration
	// Listen is the address the coordinator listens on (default
	// 127.0.0.1:0); Advertise the base URL workers are given (default
	// http:// + the address listened on).
	Listen, Advertise string
	// NodeAZ maps load balancer node IPs to AZs, sent to the workers.
	NodeAZ map[string]string
	// Journal records every worker before it starts; nil for none.
	Journal *Journal
	RunID   string
	// RawDir is where workers are asked to write raw results ("" none);
	// for the local engine a directory on this machine.
	RawDir string
	Log    io.Writer
}

type workerState struct {
	id     string
	index  int
	handle Handle
	hello  bool
	ready  bool
	offset time.Duration
	delay  time.Duration
	seen   time.Time
	seq    uint64
	got    map[int]uint64 // hits it reported per window
	sent   map[int]uint64 // of which it started (not not_sent)
	total  timeline.Counts
	done   *Done
	// early is a summary that came before the worker's slice was done
	// while the run goes on (a task stopped under it: it reports what it
	// sent, then ends); it is lost, once its engine says why (earlyAt).
	early   *Done
	earlyAt time.Time
	lost    string
	missing uint64 // hits counted as not sent on its behalf
}

// Coordinator runs the coordinator side of a run sent by several workers.
// Barrier starts them and returns the start instant; Run merges their
// windows until each is done or lost; Close stops every worker (it is safe
// to call on every exit path, more than once).
type Coordinator struct {
	cfg   Config
	token string
	ln    net.Listener
	srv   *http.Server
	base  string

	mu       sync.Mutex
	workers  map[string]*workerState
	order    []*workerState
	assign   Assignment
	plan     *attack.Plan
	start    time.Time
	started  chan struct{} // closed when the start instant is set
	allReady chan struct{}
	stopping bool
	merge    func(int, *timeline.Counts) error
	queue    []*Batch
	changed  chan struct{}
	mergeErr error
	closed   bool
	flush    atomic.Int64 // assign.Flush, for Lag without the lock
}

// New validates cfg and starts listening.
func New(cfg Config) (*Coordinator, error) {
	if cfg.Engine == nil {
		return nil, errors.New("generators: no engine")
	}
	if cfg.Count < 1 || cfg.Count > MaxCount {
		return nil, fmt.Errorf("generators: count %d outside 1..%d", cfg.Count, MaxCount)
	}
	switch cfg.OnLoss {
	case "":
		cfg.OnLoss = OnLossFail
	case OnLossFail, OnLossContinue:
	default:
		return nil, fmt.Errorf("generators: on_worker_loss %q: want fail or continue", cfg.OnLoss)
	}
	if cfg.JoinTimeout <= 0 {
		cfg.JoinTimeout = time.Minute
	}
	if cfg.Silence <= 0 {
		cfg.Silence = 5 * time.Second
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("generators: listen: %w", err)
	}
	var tok [16]byte
	_, _ = rand.Read(tok[:])
	c := &Coordinator{cfg: cfg, token: hex.EncodeToString(tok[:]), ln: ln, workers: map[string]*workerState{},
		started: make(chan struct{}), allReady: make(chan struct{}), changed: make(chan struct{}, 1)}
	c.base = cfg.Advertise
	if c.base == "" {
		c.base = "http://" + ln.Addr().String()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/hello", c.handle(c.hello))
	mux.HandleFunc("POST /v1/clock", c.handle(c.clock))
	mux.HandleFunc("POST /v1/ready", c.handle(c.ready))
	mux.HandleFunc("POST /v1/windows", c.handle(c.windows))
	mux.HandleFunc("POST /v1/done", c.handle(c.doneCall))
	c.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = c.srv.Serve(ln) }()
	return c, nil
}

// URL is the base URL workers call.
func (c *Coordinator) URL() string { return c.base }

// Token is the bearer token workers must present.
func (c *Coordinator) Token() string { return c.token }

type handlerFunc func(ctx context.Context, body []byte) (any, int, error)

func (c *Coordinator) handle(fn handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if v := r.Header.Get(ProtocolHeader); v != strconv.Itoa(Protocol) {
			http.Error(w, fmt.Sprintf("protocol %q, this coordinator speaks %d", v, Protocol), http.StatusBadRequest)
			return
		}
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+c.token)) != 1 {
			http.Error(w, "bad token", http.StatusUnauthorized)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
		if err != nil {
			http.Error(w, "body: "+err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		out, code, err := fn(r.Context(), body)
		if err != nil {
			http.Error(w, err.Error(), code)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	}
}

func (c *Coordinator) worker(id string) (*workerState, error) {
	ws := c.workers[id]
	if ws == nil {
		return nil, fmt.Errorf("unknown worker %q", id)
	}
	return ws, nil
}

func (c *Coordinator) hello(_ context.Context, body []byte) (any, int, error) {
	var h Hello
	if err := json.Unmarshal(body, &h); err != nil {
		return nil, http.StatusBadRequest, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ws, err := c.worker(h.Worker)
	if err != nil {
		return nil, http.StatusNotFound, err
	}
	if ws.hello {
		// A second process for the same slice (a re-run pod of an index,
		// a worker started twice) would send the slice twice.
		return nil, http.StatusConflict, fmt.Errorf("worker %s (slice %d) has already joined: a second worker for one slice is refused", ws.id, ws.index)
	}
	ws.hello, ws.seen = true, time.Now()
	a := c.assign
	a.Worker, a.Segment = ws.id, ws.index
	return a, http.StatusOK, nil
}

func (c *Coordinator) clock(_ context.Context, body []byte) (any, int, error) {
	t2 := time.Now()
	var ck Clock
	if err := json.Unmarshal(body, &ck); err != nil {
		return nil, http.StatusBadRequest, err
	}
	ck.T2, ck.T3 = t2.Round(0), time.Now().Round(0)
	return ck, http.StatusOK, nil
}

func (c *Coordinator) ready(ctx context.Context, body []byte) (any, int, error) {
	var r Ready
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, http.StatusBadRequest, err
	}
	c.mu.Lock()
	ws, err := c.worker(r.Worker)
	if err != nil {
		c.mu.Unlock()
		return nil, http.StatusNotFound, err
	}
	ws.ready, ws.offset, ws.delay, ws.seen = true, r.Offset, r.Delay, time.Now()
	all := true
	for _, o := range c.order {
		all = all && o.ready
	}
	if all {
		select {
		case <-c.allReady:
		default:
			close(c.allReady)
		}
	}
	c.mu.Unlock()
	select {
	case <-c.started:
	case <-ctx.Done():
		return nil, http.StatusServiceUnavailable, ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.start.IsZero() {
		return nil, http.StatusGone, errors.New("the run is not starting")
	}
	return Start{At: c.start}, http.StatusOK, nil
}

func (c *Coordinator) windows(_ context.Context, body []byte) (any, int, error) {
	var b Batch
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, http.StatusBadRequest, err
	}
	if len(b.Windows) > MaxBatchWindows {
		return nil, http.StatusBadRequest, fmt.Errorf("%d windows in one batch, limit %d", len(b.Windows), MaxBatchWindows)
	}
	for _, w := range b.Windows {
		if err := w.Counts.Check(); err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf("window %d: %w", w.Index, err)
		}
		if w.Index < 0 || w.Index >= timeline.MaxWindows {
			return nil, http.StatusBadRequest, fmt.Errorf("window %d out of range", w.Index)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ws, err := c.worker(b.Worker)
	if err != nil {
		return nil, http.StatusNotFound, err
	}
	ws.seen = time.Now()
	if ws.lost != "" {
		return Ack{Stop: true}, http.StatusOK, nil // too late: its share is already counted as not sent
	}
	if b.Seq <= ws.seq { // a retry of a batch already merged
		return Ack{Stop: c.stopping}, http.StatusOK, nil
	}
	ws.seq = b.Seq
	if ws.got == nil {
		ws.got = map[int]uint64{}
	}
	for i := range b.Windows {
		w := &b.Windows[i]
		ws.got[w.Index] += w.Counts.Requests + w.Counts.Classes.Get(timeline.ClassAborted)
		if ws.sent == nil {
			ws.sent = map[int]uint64{}
		}
		ws.sent[w.Index] += w.Counts.Requests + w.Counts.Classes.Get(timeline.ClassAborted) - w.Counts.Classes.Get(timeline.ClassNotSent)
		ws.total.Merge(&w.Counts)
	}
	if c.merge == nil {
		c.queue = append(c.queue, &b)
	} else {
		c.mergeLocked(&b)
	}
	return Ack{Stop: c.stopping}, http.StatusOK, nil
}

func (c *Coordinator) mergeLocked(b *Batch) {
	for i := range b.Windows {
		if err := c.merge(b.Windows[i].Index, &b.Windows[i].Counts); err != nil && c.mergeErr == nil {
			c.mergeErr = fmt.Errorf("worker %s: %w", b.Worker, err)
		}
	}
}

func (c *Coordinator) doneCall(_ context.Context, body []byte) (any, int, error) {
	var d Done
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, http.StatusBadRequest, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ws, err := c.worker(d.Worker)
	if err != nil {
		return nil, http.StatusNotFound, err
	}
	ws.seen = time.Now()
	if ws.lost == "" && ws.done == nil && ws.early == nil {
		if !c.stopping && c.plan != nil && d.Asked < c.sliceTotal(ws) {
			ws.early, ws.earlyAt = &d, time.Now()
		} else {
			ws.done = &d
		}
	}
	c.poke()
	return Ack{}, http.StatusOK, nil
}

func (c *Coordinator) poke() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// Barrier starts the workers, each on its slice of cfg's plan with windows
// of width, waits until every one has joined and measured its clock, and
// sets the start instant: far enough ahead (at least 200 ms, and four of
// the slowest round trips) that every worker hears it before it comes. It
// returns the start instant on this machine's clock.
func (c *Coordinator) Barrier(ctx context.Context, cfg attack.Config, width time.Duration) (time.Time, error) {
	plan, err := attack.NewPlan(cfg.Stages)
	if err != nil {
		return time.Time{}, err
	}
	flush := min(width/2, 250*time.Millisecond)
	c.mu.Lock()
	c.plan = plan
	c.assign = assignmentOf(cfg, c.cfg.NodeAZ)
	c.assign.Run, c.assign.Segments, c.assign.Window, c.assign.Flush = c.cfg.RunID, attack.Equal(c.cfg.Count), width, flush
	c.flush.Store(int64(flush))
	c.cfg.Silence = max(c.cfg.Silence, 4*flush)
	for i := range c.cfg.Count {
		ws := &workerState{id: WorkerID(c.cfg.RunID, i), index: i}
		c.workers[ws.id] = ws
		c.order = append(c.order, ws)
	}
	c.mu.Unlock()
	if be, ok := c.cfg.Engine.(BatchEngine); ok {
		if err := c.startAll(ctx, be); err != nil {
			return time.Time{}, err
		}
	}
	for _, ws := range c.order {
		if ws.handle != nil {
			break // started together (BatchEngine)
		}
		spec := c.spec(ws)
		if c.cfg.Journal != nil {
			var ref json.RawMessage
			if p, ok := c.cfg.Engine.(Planner); ok {
				if ref, err = p.Plan(spec); err != nil {
					return time.Time{}, fmt.Errorf("start worker %s: %w", ws.id, err)
				}
			}
			if err := c.cfg.Journal.StartingRef(c.cfg.RunID, c.cfg.Engine.Name(), ws.id, ref); err != nil {
				return time.Time{}, err
			}
		}
		h, err := c.cfg.Engine.Start(ctx, spec)
		if err != nil {
			if c.cfg.Journal != nil && errors.Is(err, ErrNotStarted) {
				_ = c.cfg.Journal.StoppedNote(c.cfg.RunID, ws.id, "never started: "+err.Error())
			}
			return time.Time{}, fmt.Errorf("start worker %s: %w", ws.id, err)
		}
		c.mu.Lock()
		ws.handle = h
		c.mu.Unlock()
		if c.cfg.Journal != nil {
			if err := c.cfg.Journal.Started(c.cfg.RunID, c.cfg.Engine.Name(), ws.id, h.Ref()); err != nil {
				return time.Time{}, err
			}
		}
	}
	join := time.NewTimer(c.cfg.JoinTimeout)
	defer join.Stop()
	for {
		select {
		case <-c.allReady:
		case <-join.C:
			return time.Time{}, fmt.Errorf("not every worker joined within %s: %s", c.cfg.JoinTimeout, c.missingJoin())
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(100 * time.Millisecond):
			if id, ok := c.exitedEarly(); ok {
				return time.Time{}, fmt.Errorf("worker %s exited before the start", id)
			}
			continue
		}
		break
	}
	c.mu.Lock()
	var worst time.Duration
	for _, ws := range c.order {
		worst = max(worst, ws.delay)
	}
	c.start = time.Now().Add(max(200*time.Millisecond, 4*worst))
	start := c.start
	for _, ws := range c.order {
		ws.seen = start
	}
	close(c.started)
	c.mu.Unlock()
	return start, nil
}

func (c *Coordinator) spec(ws *workerState) WorkerSpec {
	spec := WorkerSpec{ID: ws.id, Run: c.cfg.RunID, Coordinator: c.base, Token: c.token}
	if c.cfg.RawDir != "" {
		spec.Raw = fmt.Sprintf("%s/%s.gob", c.cfg.RawDir, ws.id)
	}
	return spec
}

// startAll starts every worker at once through a BatchEngine, each
// journaled (with the engine's planned reference) before anything starts.
func (c *Coordinator) startAll(ctx context.Context, be BatchEngine) error {
	planned, err := be.Planned(c.cfg.RunID)
	if err != nil {
		return fmt.Errorf("start workers: %w", err)
	}
	specs := make([]WorkerSpec, len(c.order))
	for i, ws := range c.order {
		specs[i] = c.spec(ws)
		if c.cfg.Journal != nil {
			if err := c.cfg.Journal.StartingRef(c.cfg.RunID, be.Name(), ws.id, planned); err != nil {
				return err
			}
		}
	}
	hs, err := be.StartAll(ctx, specs)
	if err != nil {
		return fmt.Errorf("start workers: %w", err)
	}
	if len(hs) != len(c.order) {
		return fmt.Errorf("start workers: the engine started %d of %d", len(hs), len(c.order))
	}
	c.mu.Lock()
	for i, ws := range c.order {
		ws.handle = hs[i]
	}
	c.mu.Unlock()
	if c.cfg.Journal != nil {
		for i, ws := range c.order {
			if err := c.cfg.Journal.Started(c.cfg.RunID, be.Name(), ws.id, hs[i].Ref()); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *Coordinator) missingJoin() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var s []string
	for _, ws := range c.order {
		if !ws.ready {
			s = append(s, ws.id)
		}
	}
	return fmt.Sprint(s)
}

func (c *Coordinator) exitedEarly() (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ws := range c.order {
		if ws.handle == nil || ws.ready {
			continue
		}
		select {
		case <-ws.handle.Exited():
			if why := exitReason(ws.handle); why != "" {
				return ws.id + " (" + why + ")", true
			}
			return ws.id, true
		default:
		}
	}
	return "", false
}

// Run merges the workers' window deltas with merge until every worker is
// done or lost, and returns the merged summary. A worker is lost when its
// process ends before its summary came, or when it sends nothing for
// Config.Silence; the hits of its slice it did not report are then merged
// as not sent, window by window, and with OnLoss "fail" abort is called.
// When ctx ends the workers are asked to stop (on their next batch) and
// given the request timeout plus their drain to report.
func (c *Coordinator) Run(ctx context.Context, merge func(window int, cnt *timeline.Counts) error, abort func(why string)) (attack.Summary, error) {
	c.mu.Lock()
	c.merge = merge
	for _, b := range c.queue {
		c.mergeLocked(b)
	}
	c.queue = nil
	start, plan, a := c.start, c.plan, c.assign
	c.mu.Unlock()
	if start.IsZero() {
		return attack.Summary{}, errors.New("generators: Run before Barrier")
	}
	drain := a.Drain
	if drain == 0 {
		drain = min(a.Timeout, attack.DefaultDrain)
	}
	grace := a.Timeout + drain + 4*a.Flush + time.Second
	end := start.Add(plan.Duration() + a.Timeout + grace)
	var stopAt time.Time
	tk := time.NewTicker(a.Flush)
	defer tk.Stop()
	ctxDone := ctx.Done()
	for {
		select {
		case <-ctxDone:
			ctxDone = nil
			stopAt = time.Now()
			c.mu.Lock()
			c.stopping = true
			c.mu.Unlock()
			end = stopAt.Add(grace)
		case <-tk.C:
		case <-c.changed:
		}
		now := time.Now()
		if lost := c.checkLost(now, now.After(end)); len(lost) > 0 && c.cfg.OnLoss == OnLossFail && stopAt.IsZero() {
			abort("load generator lost: " + lost[0])
		}
		if c.allFinished() {
			break
		}
	}
	ran := plan.Duration()
	if !stopAt.IsZero() && stopAt.Sub(start) < ran {
		ran = max(stopAt.Sub(start), 0)
	}
	sum := c.summary(start, ran, !stopAt.IsZero())
	c.mu.Lock()
	err := c.mergeErr
	c.mu.Unlock()
	return sum, err
}

// checkLost marks the workers lost now; all marks every unfinished one
// (the run's end is past). It returns why each new one was lost.
func (c *Coordinator) checkLost(now time.Time, all bool) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, ws := range c.order {
		if ws.done != nil || ws.lost != "" {
			continue
		}
		why := ""
		exited := false
		if ws.handle != nil {
			select {
			case <-ws.handle.Exited():
				exited = true
			default:
			}
		}
		switch {
		case ws.early != nil && (exited || now.Sub(ws.earlyAt) > earlyGrace):
			why = fmt.Sprintf("it stopped before its slice was done (asked %d of %d)", ws.early.Asked, c.sliceTotal(ws))
			if r := exitReason(ws.handle); r != "" {
				why += ": " + r
			}
		case ws.early != nil:
			// wait a little for the engine to say why
		case exited:
			why = "its process ended before it reported"
			if r := exitReason(ws.handle); r != "" {
				why = "it ended before it reported: " + r
			}
		case now.Sub(ws.seen) > c.cfg.Silence:
			why = fmt.Sprintf("silent for %s", now.Sub(ws.seen).Round(time.Millisecond))
		case all:
			why = "did not finish in time"
		}
		if why != "" {
			ws.lost = why
			out = append(out, ws.id+": "+why)
			if ws.handle != nil {
				go func(h Handle) { _ = h.Stop(context.Background()) }(ws.handle)
			}
		}
	}
	return out
}

// earlyGrace is how long a worker that reported early is given for its
// engine to say why it ended (an ECS task's stop reason) before it is
// named lost without one.
const earlyGrace = 3 * time.Second

// sliceTotal is the hits of ws's slice over the whole plan; c.mu is held.
func (c *Coordinator) sliceTotal(ws *workerState) uint64 {
	sl, err := attack.NewSlice(c.plan, c.assign.Segments, ws.index)
	if err != nil {
		return 0
	}
	return sl.Asked(c.plan.Duration())
}

func (c *Coordinator) allFinished() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ws := range c.order {
		if ws.done == nil && ws.lost == "" {
			return false
		}
	}
	return true
}

// summary adds up the workers' summaries and merges, for each lost worker,
// the hits of its slice it did not report as not sent.
func (c *Coordinator) summary(start time.Time, ran time.Duration, cancelled bool) attack.Summary {
	c.mu.Lock()
	defer c.mu.Unlock()
	sum := attack.Summary{Started: start, Cancelled: cancelled}
	w := c.assign.Window
	for _, ws := range c.order {
		if ws.done != nil {
			d := ws.done
			sum.Asked += d.Asked
			sum.Sent += d.Sent
			sum.Dropped += d.Dropped
			sum.Late += d.Late
			sum.Aborted += d.Aborted
			sum.MaxWorkersUsed += d.Peak
			sum.Dials += d.Dials
			if e := d.Ended.Add(ws.offset); e.After(sum.Ended) {
				sum.Ended = e
			}
			continue
		}
		sl, _ := attack.NewSlice(c.plan, c.assign.Segments, ws.index)
		asked := sl.Asked(ran)
		sum.Asked += asked
		var got uint64
		for _, n := range ws.got {
			got += n
		}
		sent := got - min(got, ws.total.Classes.Get(timeline.ClassNotSent))
		sum.Sent += sent
		sum.Dropped += asked - min(asked, sent)
		// The windows of its slice: asked minus reported is not sent.
		for i := 0; time.Duration(i)*w < ran; i++ {
			from, to := time.Duration(i)*w, min(time.Duration(i+1)*w, ran)
			due := sl.Asked(to) - sl.Asked(from)
			if miss := due - min(due, ws.got[i]); miss > 0 {
				var cnt timeline.Counts
				cnt.Requests = miss
				cnt.Classes.Add(timeline.ClassNotSent, miss)
				cnt.Latency.RecordN(c.assign.Timeout, miss)
				ws.missing += miss
				ws.total.Merge(&cnt)
				if c.merge != nil {
					if err := c.merge(i, &cnt); err != nil && c.mergeErr == nil {
						c.mergeErr = err
					}
				}
			}
		}
	}
	if sum.Ended.IsZero() {
		sum.Ended = time.Now()
	}
	return sum
}

// Record adds the per-worker table and notes to rec.
func (c *Coordinator) Record(rec *record.Run) {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.assign.Window
	for _, ws := range c.order {
		rw := record.Worker{ID: ws.id, Engine: c.cfg.Engine.Name(), Segment: ws.index, Lost: ws.lost,
			NotSent: ws.total.Classes.Get(timeline.ClassNotSent), P99S: ws.total.OKLatency.Quantile(0.99).Seconds(),
			OffsetS: ws.offset.Seconds(), RoundTripS: ws.delay.Seconds()}
		if d := ws.done; d != nil {
			rw.Asked, rw.Sent, rw.Raw = d.Asked, d.Sent, d.Raw
			if d.Error != "" {
				rec.Notes = append(rec.Notes, fmt.Sprintf("load generator %s: %s", ws.id, d.Error))
			}
		} else {
			var got uint64
			for _, n := range ws.got {
				got += n
			}
			// Reported hits minus the reported not-sent ones (NotSent
			// also holds the missing hits counted on its behalf).
			reportedNotSent := rw.NotSent - min(rw.NotSent, ws.missing)
			rw.Sent = got - min(got, reportedNotSent)
			rw.Asked = rw.Sent + rw.NotSent
		}
		last := -1
		for i := range ws.sent {
			last = max(last, i)
		}
		if last >= 0 && last < timeline.MaxWindows {
			rw.SentPerWindow = make([]uint64, last+1)
			for i, n := range ws.sent {
				rw.SentPerWindow[i] = n
			}
		}
		rec.Workers = append(rec.Workers, rw)
		if ws.lost != "" {
			rec.Notes = append(rec.Notes, fmt.Sprintf("load generator %s was lost (%s): the %d hits of its slice it did not report count as not sent", ws.id, ws.lost, ws.missing))
		}
		if off := ws.offset.Abs(); w > 0 && off > w/4 {
			rec.Notes = append(rec.Notes, fmt.Sprintf("warning: load generator %s's clock is %s off the coordinator's, more than a quarter window (%s): its hits may land in a neighbouring window", ws.id, ws.offset.Round(time.Microsecond), w/4))
		}
	}
	sort.SliceStable(rec.Workers, func(i, j int) bool { return rec.Workers[i].Segment < rec.Workers[j].Segment })
}

// Close stops every worker still running, waits for them, marks them
// stopped in the journal, and stops listening. Safe to call more than once.
func (c *Coordinator) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	select {
	case <-c.started:
	default:
		close(c.started) // release workers waiting at the barrier (start stays zero: 410)
	}
	ws := append([]*workerState(nil), c.order...)
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// In parallel: an ECS task takes tens of seconds to reach STOPPED.
	errc := make([]error, len(ws))
	var wg sync.WaitGroup
	for i, w := range ws {
		if w.handle == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.mu.Lock()
			finished := w.done != nil
			c.mu.Unlock()
			if finished { // it reported: let it exit by itself first
				select {
				case <-w.handle.Exited():
				case <-time.After(2 * time.Second):
				}
			}
			if err := w.handle.Stop(ctx); err != nil {
				errc[i] = fmt.Errorf("stop worker %s: %w", w.id, err)
				return
			}
			if c.cfg.Journal != nil {
				errc[i] = c.cfg.Journal.Stopped(c.cfg.RunID, w.id)
			}
		}()
	}
	wg.Wait()
	errs := errc
	sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer scancel()
	_ = c.srv.Shutdown(sctx)
	return errors.Join(errs...)
}

// Lag is how much later a window's last counts may arrive than a local
// generator's: one flush interval plus a network allowance.
//
// It takes no lock: the runner calls it holding its own, which a merge
// (called under the coordinator's lock) takes too.
func (c *Coordinator) Lag() time.Duration {
	return time.Duration(c.flush.Load()) + 250*time.Millisecond
}

// Total is the merge of every worker's reported (and, for a lost worker,
// not-sent) counts: what the run's timeline holds from the workers.
func (c *Coordinator) Total() timeline.Counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	var t timeline.Counts
	for _, ws := range c.order {
		t.Merge(&ws.total)
	}
	return t
}

// SetEngine replaces the engine before Barrier (tests start workers from a
// given binary).
func (c *Coordinator) SetEngine(e Engine) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cfg.Engine = e
}

// KillWorker ends worker i's process or task at once, as a crash would (for
// exit-path tests and chaos on the load generators themselves).
func (c *Coordinator) KillWorker(i int) error {
	c.mu.Lock()
	if i < 0 || i >= len(c.order) || c.order[i].handle == nil {
		c.mu.Unlock()
		return fmt.Errorf("no worker %d", i)
	}
	h := c.order[i].handle
	c.mu.Unlock()
	if k, ok := h.(interface{ Kill() error }); ok {
		return k.Kill()
	}
	return h.Stop(context.Background())
}
