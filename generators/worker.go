package generators

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gameday-dev/gameday/attack"
	"github.com/gameday-dev/gameday/timeline"
)

// WorkOptions configure one worker.
type WorkOptions struct {
	Coordinator string // the coordinator's base URL
	Worker      string // this worker's id, as the coordinator named it
	Token       string
	// Raw, when set, is the file the worker writes its raw results to, in
	// vegeta's gob encoding (`vegeta report` reads it).
	Raw string
	// Log receives a line per step; nil for none.
	Log io.Writer
	// GiveUp is how long the coordinator may be unreachable before the
	// worker stops by itself (default 10 s): a worker never outlives its
	// coordinator by more than that.
	GiveUp time.Duration
}

// clockSamples is how many clock exchanges a worker makes at the barrier;
// the one with the shortest round trip gives the offset.
const clockSamples = 8

// Work runs one worker: it fetches its assignment, measures its clock
// against the coordinator's, waits at the barrier, sends its slice from
// the agreed start instant, streams its window deltas, and reports its
// summary. It returns when its slice is sent (or the coordinator says
// stop, or ctx ends, or the coordinator is unreachable for GiveUp).
func Work(ctx context.Context, o WorkOptions) error {
	if o.GiveUp <= 0 {
		o.GiveUp = 10 * time.Second
	}
	logf := func(format string, a ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, "worker %s: "+format+"\n", append([]any{o.Worker}, a...)...)
		}
	}
	c := &client{base: o.Coordinator, token: o.Token, http: &http.Client{Timeout: 10 * time.Second}}
	var a Assignment
	if err := c.post(ctx, "/v1/hello", Hello{Worker: o.Worker}, &a); err != nil {
		return fmt.Errorf("hello: %w", err)
	}
	if err := a.Validate(); err != nil {
		return fmt.Errorf("assignment: %w", err)
	}
	offset, delay, err := measureClock(ctx, c)
	if err != nil {
		return fmt.Errorf("clock: %w", err)
	}
	logf("slice %d of %d, clock offset %s (round trip %s)", a.Segment, len(a.Segments), offset, delay)

	// The barrier: the answer comes once every worker is ready.
	long := &client{base: c.base, token: c.token, http: &http.Client{}}
	var st Start
	if err := long.post(ctx, "/v1/ready", Ready{Worker: o.Worker, Offset: offset, Delay: delay}, &st); err != nil {
		return fmt.Errorf("ready: %w", err)
	}
	start := st.At.Add(-offset) // the plan's t=0 on this worker's clock

	var raw func(*vegeta.Result) error
	var rawFile *os.File
	var rawBuf *bufio.Writer
	if o.Raw != "" {
		f, err := os.OpenFile(o.Raw, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return fmt.Errorf("raw results: %w", err)
		}
		rawFile, rawBuf = f, bufio.NewWriterSize(f, 64<<10)
		w, _ := attack.NewRawWriter(rawBuf, "gob")
		raw = w
	}

	select {
	case <-time.After(time.Until(start)):
	case <-ctx.Done():
		return ctx.Err()
	}
	cfg := a.Config()
	cfg.Start = start
	s := &stream{c: c, worker: o.Worker, start: start, width: a.Window}
	s.reset()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	flushDone := make(chan struct{})
	go func() {
		defer close(flushDone)
		s.loop(runCtx, a.Flush, o.GiveUp, cancel, logf)
	}()
	var rawErr error
	sum, err := attack.Run(runCtx, cfg, func(h *attack.Hit) {
		s.add(h)
		if raw != nil && rawErr == nil && h.Raw != nil && h.Class != timeline.ClassAborted {
			rawErr = raw(h.Raw)
		}
	})
	cancel()
	<-flushDone
	if rawBuf != nil {
		if err := rawBuf.Flush(); err != nil && rawErr == nil {
			rawErr = err
		}
		if err := rawFile.Close(); err != nil && rawErr == nil {
			rawErr = err
		}
	}
	// The last deltas and the summary go out even after a stop: they are
	// what the coordinator merges. Bounded by GiveUp.
	endCtx, endCancel := context.WithTimeout(context.WithoutCancel(ctx), o.GiveUp)
	defer endCancel()
	if ferr := s.flushRetry(endCtx); ferr != nil {
		return fmt.Errorf("last windows: %w", ferr)
	}
	d := Done{Worker: o.Worker, Asked: sum.Asked, Sent: sum.Sent, Dropped: sum.Dropped, Late: sum.Late, Aborted: sum.Aborted,
		Started: sum.Started, Ended: sum.Ended, Peak: sum.MaxWorkersUsed, Dials: sum.Dials, Raw: o.Raw, Offset: offset}
	if err != nil {
		d.Error = err.Error()
	} else if rawErr != nil {
		d.Error = "raw results: " + rawErr.Error()
	}
	if perr := c.post(endCtx, "/v1/done", d, &Ack{}); perr != nil {
		return fmt.Errorf("done: %w", perr)
	}
	logf("sent %d of %d asked (%d not sent)", sum.Sent, sum.Asked, sum.Dropped)
	if err != nil {
		return err
	}
	return rawErr
}

// measureClock makes clockSamples exchanges and keeps the one with the
// shortest round trip, as NTP does.
func measureClock(ctx context.Context, c *client) (offset, delay time.Duration, err error) {
	delay = -1
	for range clockSamples {
		var ans Clock
		t1 := time.Now()
		if err := c.post(ctx, "/v1/clock", Clock{T1: t1}, &ans); err != nil {
			return 0, 0, err
		}
		t4 := time.Now()
		ans.T1 = t1 // keep the monotonic reading
		off, d := offsetOf(Clock{T1: t1.Round(0), T2: ans.T2, T3: ans.T3}, t4.Round(0))
		if delay < 0 || d < delay {
			offset, delay = off, d
		}
	}
	return offset, delay, nil
}

// stream holds the deltas not yet sent and sends them.
type stream struct {
	c      *client
	worker string
	start  time.Time
	width  time.Duration

	mu  sync.Mutex
	tl  *timeline.Timeline
	seq uint64
	// unsent holds a batch that failed to go out, resent first.
	unsent *Batch
}

func (s *stream) reset() { s.tl, _ = timeline.New(s.start, s.width) }

func (s *stream) add(h *attack.Hit) {
	s.mu.Lock()
	s.tl.Add(timeline.Result{Due: h.Due, Start: h.Start, Latency: h.Latency, Service: h.Service,
		Class: h.Class, AZ: h.AZ, TargetAZ: h.TargetAZ, BytesIn: h.BytesIn, BytesOut: h.BytesOut})
	s.mu.Unlock()
}

// take swaps out the deltas counted since the last take, as a batch (nil
// when there is nothing new and nothing unsent).
func (s *stream) take() *Batch {
	if s.unsent != nil {
		b := s.unsent
		return b
	}
	s.mu.Lock()
	old := s.tl
	s.reset()
	s.mu.Unlock()
	var ws []WindowDelta
	for _, w := range old.Windows() {
		if w.Requests > 0 || w.Classes.Get(timeline.ClassAborted) > 0 {
			ws = append(ws, WindowDelta{Index: w.Index, Counts: w.Counts})
		}
	}
	if len(ws) == 0 && old.Outside() == 0 {
		return nil
	}
	s.seq++
	return &Batch{Worker: s.worker, Seq: s.seq, Windows: ws, Outside: old.Outside()}
}

// send sends one batch (splitting it to stay within MaxBatchWindows);
// stop reports that the coordinator asked the worker to stop.
func (s *stream) send(ctx context.Context, b *Batch) (stop bool, err error) {
	var ack Ack
	if err := s.c.post(ctx, "/v1/windows", b, &ack); err != nil {
		s.unsent = b
		return false, err
	}
	s.unsent = nil
	return ack.Stop, nil
}

func (s *stream) loop(ctx context.Context, every, giveUp time.Duration, stop func(), logf func(string, ...any)) {
	tk := time.NewTicker(every)
	defer tk.Stop()
	lastOK := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
		b := s.take()
		if b == nil {
			// A heartbeat: nothing new (an idle stretch of the plan), but
			// the coordinator must hear from the worker, and may answer
			// stop. Its sequence number is the last one sent, so it merges
			// nothing.
			b = &Batch{Worker: s.worker, Seq: s.seq}
		}
		sctx, cancel := context.WithTimeout(ctx, giveUp)
		halt, err := s.send(sctx, b)
		cancel()
		switch {
		case err == nil:
			lastOK = time.Now()
			if halt {
				logf("the coordinator asked to stop")
				stop()
				return
			}
		case time.Since(lastOK) > giveUp:
			logf("coordinator unreachable for %s, stopping: %v", giveUp, err)
			stop()
			return
		}
	}
}

// flushRetry sends whatever is left, retrying until ctx ends.
func (s *stream) flushRetry(ctx context.Context) error {
	for {
		b := s.take()
		if b == nil {
			return nil
		}
		_, err := s.send(ctx, b)
		if err == nil {
			continue
		}
		var se *StatusError
		if errors.As(err, &se) && se.Code < 500 {
			return err // refused for good
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}
