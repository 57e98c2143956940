package timeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func TestNewValidatesWidth(t *testing.T) {
	if _, err := New(t0, 50*time.Millisecond); err == nil {
		t.Fatal("width below 100ms accepted")
	}
	tl, err := New(t0, 0)
	if err != nil || tl.Width != DefaultWidth {
		t.Fatalf("default width: %v %v", tl, err)
	}
	if _, err := New(time.Time{}, time.Second); err == nil {
		t.Fatal("zero start accepted")
	}
}

func TestWindowsSumToTotals(t *testing.T) {
	tl, _ := New(t0, 100*time.Millisecond)
	rng := rand.New(rand.NewPCG(5, 6))
	var want Counts
	azs := []string{"", "local-1a", "local-1b"}
	for i := 0; i < 20000; i++ {
		r := Result{
			Start:    t0.Add(time.Duration(rng.Int64N(int64(10 * time.Second)))),
			Latency:  time.Duration(rng.Int64N(int64(time.Second))),
			Class:    Classes[rng.IntN(len(Classes))],
			AZ:       azs[rng.IntN(3)],
			BytesIn:  uint64(rng.IntN(1000)),
			BytesOut: uint64(rng.IntN(100)),
		}
		want.add(&r)
		tl.Add(r)
	}
	tl.Add(Result{Start: t0.Add(-time.Millisecond), Class: ClassOK}) // before Start
	if tl.Outside() != 1 {
		t.Fatalf("outside = %d", tl.Outside())
	}
	if tl.Len() != 100 {
		t.Fatalf("%d windows, want 100", tl.Len())
	}
	var sum Counts
	for i, w := range tl.Windows() {
		if w.Index != i || !w.Start.Equal(t0.Add(time.Duration(i)*100*time.Millisecond)) {
			t.Fatalf("window %d has index %d start %v", i, w.Index, w.Start)
		}
		if w.Requests != w.Classes.Errors()+w.Successes || w.Latency.Count() != w.Requests || w.OKLatency.Count() != w.Successes {
			t.Fatalf("window %d inconsistent: %+v", i, w.Counts.Classes)
		}
		sum.merge(&w.Counts)
	}
	tot := tl.Total()
	for _, got := range []*Counts{&sum, &tot.Counts} {
		if got.Requests != want.Requests || got.Successes != want.Successes || got.Classes != want.Classes ||
			got.BytesIn != want.BytesIn || got.BytesOut != want.BytesOut || !histEqual(&got.Latency, &want.Latency) ||
			!histEqual(&got.OKLatency, &want.OKLatency) {
			t.Fatalf("totals differ")
		}
		for az, a := range want.AZ {
			if *got.AZ[az] != *a {
				t.Fatalf("az %s: %+v vs %+v", az, got.AZ[az], a)
			}
		}
	}
	if want.Classes.Get(ClassAborted) == 0 || want.Requests+want.Classes.Get(ClassAborted) != 20000 {
		t.Fatalf("aborted must be counted apart: %d requests", want.Requests)
	}
}

func TestResultPlacedByStart(t *testing.T) {
	tl, _ := New(t0, time.Second)
	// Starts in window 0, ends in window 5: belongs to window 0.
	tl.Add(Result{Start: t0.Add(900 * time.Millisecond), Latency: 5 * time.Second, Class: ClassClientTimeout})
	tl.Add(Result{Start: t0.Add(time.Second), Latency: time.Millisecond, Class: ClassOK, AZ: "a"})
	if w := tl.Window(0); w.Requests != 1 || w.Classes.Get(ClassClientTimeout) != 1 {
		t.Fatalf("window 0: %+v", w.Counts)
	}
	if w := tl.Window(1); w.Requests != 1 || w.Successes != 1 || w.AZ["a"].Successes != 1 {
		t.Fatalf("window 1: %+v", w.Counts)
	}
	if w := tl.Window(7); w.Requests != 0 || tl.Len() != 2 {
		t.Fatal("reading a future window must not grow the timeline")
	}
	if got := tl.Settled(t0.Add(3500*time.Millisecond), 2*time.Second); got != 1 {
		t.Fatalf("settled = %d, want 1", got)
	}
}

func TestAggregatePhase(t *testing.T) {
	tl, _ := New(t0, time.Second)
	for s := 0; s < 10; s++ {
		for i := 0; i < 10; i++ {
			c := ClassOK
			if s >= 4 && s < 6 && i < 5 {
				c = ClassELB5xx
			}
			tl.Add(Result{Start: t0.Add(time.Duration(s)*time.Second + time.Duration(i)*time.Millisecond), Latency: time.Duration(s+1) * time.Millisecond, Class: c})
		}
	}
	// [3.5s, 6s) rounds to windows 4 and 5.
	a := tl.Aggregate(t0.Add(3500*time.Millisecond), t0.Add(6*time.Second))
	if a.Windows != 2 || a.Requests != 20 || a.Successes != 10 || a.Classes.Get(ClassELB5xx) != 10 ||
		!a.From.Equal(t0.Add(4*time.Second)) || !a.To.Equal(t0.Add(6*time.Second)) {
		t.Fatalf("aggregate: %+v", a)
	}
	if a.Latency.Max() != 6*time.Millisecond || a.Latency.Min() != 5*time.Millisecond {
		t.Fatalf("aggregate latency %v..%v", a.Latency.Min(), a.Latency.Max())
	}
	if r := a.SuccessRatio(); r != 0.5 {
		t.Fatalf("ratio %v", r)
	}
	if e := tl.Aggregate(t0.Add(20*time.Second), t0.Add(30*time.Second)); e.Requests != 0 || e.Windows != 10 || e.SuccessRatio() != 1 {
		t.Fatalf("empty range: %+v", e)
	}
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var back Aggregate
	if err := json.Unmarshal(b, &back); err != nil || back.Requests != 20 || back.Classes != a.Classes || !histEqual(&back.Latency, &a.Latency) {
		t.Fatalf("aggregate JSON round trip: %v %s", err, b)
	}
}

func TestSamplesAndEvents(t *testing.T) {
	tl, _ := New(t0, time.Second)
	tl.AddSample("healthy", t0.Add(200*time.Millisecond), 3)
	tl.AddSample("healthy", t0.Add(800*time.Millisecond), 1)
	tl.AddSample("healthy", t0.Add(500*time.Millisecond), 2) // late arrival, not the last by time
	s := tl.Window(0).Samples["healthy"]
	if s.Last != 1 || s.Min != 1 || s.Max != 3 || s.N != 3 {
		t.Fatalf("sample %+v", s)
	}
	tl.AddEvent(t0.Add(2*time.Second), "fault", "kill", "i-1")
	tl.AddEvent(t0.Add(time.Second), "phase", "baseline", "")
	tl.AddEvent(t0.Add(-time.Second), "preflight", "check", "")
	ev := tl.Events()
	if len(ev) != 3 || ev[0].Kind != "preflight" || ev[2].Name != "kill" {
		t.Fatalf("events %+v", ev)
	}
	if in := tl.EventsIn(t0, t0.Add(2*time.Second)); len(in) != 1 || in[0].Name != "baseline" {
		t.Fatalf("events in %+v", in)
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassify(t *testing.T) {
	dialRefused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	for _, tc := range []struct {
		code int
		err  error
		src  Source
		want Class
	}{
		{200, nil, SourceUnknown, ClassOK},
		{301, nil, SourceUnknown, ClassOK},
		{404, nil, SourceTarget, ClassHTTP4xx},
		{500, nil, SourceUnknown, ClassTarget5xx},
		{500, nil, SourceLB, ClassTarget5xx},
		{502, nil, SourceLB, ClassELB5xx},
		{503, nil, SourceUnknown, ClassTarget5xx}, // unsigned: not the load balancer
		{503, nil, SourceTarget, ClassTarget5xx},
		{504, nil, SourceTarget, ClassTarget5xx},
		{0, dialRefused, SourceUnknown, ClassConnRefused},
		{0, fmt.Errorf("x: %w", &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}), SourceUnknown, ClassConnReset},
		{0, io.ErrUnexpectedEOF, SourceUnknown, ClassConnReset},
		{0, &net.OpError{Op: "dial", Err: timeoutErr{}}, SourceUnknown, ClassConnectTimeout},
		{0, &ConnectError{Err: context.DeadlineExceeded}, SourceUnknown, ClassConnectTimeout},
		{0, context.DeadlineExceeded, SourceUnknown, ClassClientTimeout},
		{200, fmt.Errorf("reading body: %w", os.ErrDeadlineExceeded), SourceUnknown, ClassClientTimeout},
		{0, &net.DNSError{Err: "no such host", Name: "x"}, SourceUnknown, ClassOther},
	} {
		if got := Classify(tc.code, tc.err, tc.src); got != tc.want {
			t.Errorf("Classify(%d, %v, %v) = %s, want %s", tc.code, tc.err, tc.src, got, tc.want)
		}
	}
}

func TestClassifyMessage(t *testing.T) {
	for _, tc := range []struct {
		code int
		msg  string
		want Class
	}{
		{200, "", ClassOK},
		{502, "502 Bad Gateway", ClassTarget5xx}, // no Server header known: not signed by the LB
		{500, "500 Internal Server Error", ClassTarget5xx},
		{0, `Get "http://127.0.0.1:1/": dial tcp 127.0.0.1:1: connect: connection refused`, ClassConnRefused},
		{0, `Get "http://x/": read tcp 127.0.0.1->127.0.0.1:80: read: connection reset by peer`, ClassConnReset},
		{0, `Get "http://x/": EOF`, ClassConnReset},
		{0, `Get "http://x/": dial tcp 10.0.0.1:80: i/o timeout`, ClassConnectTimeout},
		{0, `Get "http://x/": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`, ClassClientTimeout},
		{0, `Get "http://x/": tls: bad certificate`, ClassOther},
	} {
		if got := ClassifyMessage(tc.code, tc.msg, SourceUnknown); got != tc.want {
			t.Errorf("ClassifyMessage(%d, %q) = %s, want %s", tc.code, tc.msg, got, tc.want)
		}
	}
}

func TestSourceOf(t *testing.T) {
	if SourceOf("awselb/2.0", nil) != SourceLB || SourceOf("", []byte("<center>awselb/2.0</center>")) != SourceTarget ||
		SourceOf("nginx", nil) != SourceTarget || SourceOf("", nil) != SourceTarget {
		t.Fatal("SourceOf")
	}
}

func TestClassCountsJSON(t *testing.T) {
	var cc ClassCounts
	cc.Add(ClassOK, 3)
	cc.Add(ClassConnReset, 1)
	b, _ := json.Marshal(cc)
	var back ClassCounts
	if err := json.Unmarshal(b, &back); err != nil || back != cc {
		t.Fatalf("%v %s", err, b)
	}
	if err := json.Unmarshal([]byte(`{"bogus":1}`), &back); err == nil {
		t.Fatal("unknown class accepted")
	}
}

// A request is placed by its due time, not by when it was sent; its
// latency (from the due time) and its service time are kept apart.
func TestPlacedByDueTime(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	tl, _ := New(start, time.Second)
	due := start.Add(500 * time.Millisecond)
	tl.Add(Result{Due: due, Start: start.Add(2500 * time.Millisecond), Latency: 2100 * time.Millisecond,
		Service: 100 * time.Millisecond, Class: ClassOK})
	tl.Add(Result{Due: start.Add(900 * time.Millisecond), Latency: 2 * time.Second, Class: ClassNotSent})
	w := tl.Window(0)
	if tl.Len() != 1 || w.Requests != 2 || w.Successes != 1 || w.Classes.Get(ClassNotSent) != 1 || w.Errors() != 1 {
		t.Fatalf("windows %d, window 0: %+v", tl.Len(), w.Counts)
	}
	if got := w.OKLatency.Max(); got < 2*time.Second || got > 2200*time.Millisecond {
		t.Fatalf("latency from the due time %v, want ≈2.1s", got)
	}
	if got := w.OKService.Max(); got < 90*time.Millisecond || got > 110*time.Millisecond {
		t.Fatalf("service time %v, want ≈100ms", got)
	}
	// Without a due time, the start decides and latency is service time.
	tl.Add(Result{Start: start.Add(3200 * time.Millisecond), Latency: 40 * time.Millisecond, Class: ClassOK})
	if w := tl.Window(3); w.Requests != 1 || w.OKService.Count() != 1 || w.OKService.Max() < 39*time.Millisecond {
		t.Fatalf("window 3: %+v", w.Counts)
	}
}

func TestTargetAZCounts(t *testing.T) {
	start := time.Unix(1000, 0)
	tl, _ := New(start, time.Second)
	tl.Add(Result{Start: start, Class: ClassOK, AZ: "a", TargetAZ: "a"})
	tl.Add(Result{Start: start.Add(1500 * time.Millisecond), Class: ClassTarget5xx, AZ: "b", TargetAZ: "c"})
	tl.Add(Result{Start: start.Add(1600 * time.Millisecond), Class: ClassAborted, AZ: "b", TargetAZ: "c"})
	tot := tl.Total()
	if c := tot.TargetAZ["c"]; c == nil || c.Requests != 1 || c.Errors != 1 {
		t.Fatalf("target AZ c: %+v", c)
	}
	if c := tot.TargetAZ["a"]; c == nil || c.Successes != 1 {
		t.Fatalf("target AZ a: %+v", c)
	}
	if c := tot.AZ["b"]; c == nil || c.Errors != 1 {
		t.Fatalf("node AZ b: %+v", c)
	}
}
