package attack

import (
	"context"
	"errors"
	"net/http/httptrace"
	"runtime"
	"sync"
	"testing"
	"time"
)

func newQueuedMeta(q *deadlineQueue, limit time.Time) *meta {
	m := &meta{reqCtx: context.Background(), limit: limit}
	q.add(m)
	return m
}

func waitDone(t *testing.T, m *meta, within time.Duration) bool {
	t.Helper()
	select {
	case <-m.Done():
		return true
	case <-time.After(within):
		return false
	}
}

// The request's context is what the transport needs: its trace, its meta,
// its deadline, and a child (the transport derives one per request) that
// ends with it, linked without a goroutine.
func TestMetaIsTheRequestContext(t *testing.T) {
	q := &deadlineQueue{now: time.Now}
	defer q.stop()
	limit := time.Now().Add(time.Hour)
	m := newQueuedMeta(q, limit)
	if got := httptrace.ContextClientTrace(m); got != &m.trace {
		t.Fatalf("ContextClientTrace = %p, want the meta's trace %p", got, &m.trace)
	}
	if got, _ := context.WithoutCancel(m).Value(metaKey{}).(*meta); got != m {
		t.Fatal("the dial context (WithoutCancel) does not carry the meta")
	}
	if d, ok := m.Deadline(); !ok || !d.Equal(limit) {
		t.Fatalf("Deadline = %v %v, want %v", d, ok, limit)
	}
	type key struct{}
	m.reqCtx = context.WithValue(context.Background(), key{}, "v")
	if m.Value(key{}) != "v" {
		t.Fatal("the caller's values are lost")
	}

	runtime.GC()
	g0 := runtime.NumGoroutine()
	var children []context.Context
	var cancels []context.CancelCauseFunc
	for range 100 {
		c, cancel := context.WithCancelCause(m)
		children, cancels = append(children, c), append(cancels, cancel)
	}
	if g := runtime.NumGoroutine(); g > g0+5 {
		t.Fatalf("deriving 100 contexts started %d goroutines: the meta's AfterFunc is not used", g-g0)
	}
	// A child cancelled by itself unregisters (its stop), the others end
	// with the meta, with its error as their cause.
	cancels[0](errors.New("own"))
	q.remove(m)
	m.end(endDeadline)
	for i, c := range children {
		select {
		case <-c.Done():
		default:
			t.Fatalf("child %d did not end with the meta", i)
		}
		want := context.DeadlineExceeded
		if i == 0 {
			want = context.Canceled
		}
		if !errors.Is(c.Err(), want) {
			t.Fatalf("child %d: Err = %v, want %v", i, c.Err(), want)
		}
	}
	if !errors.Is(context.Cause(children[1]), context.DeadlineExceeded) {
		t.Fatalf("Cause = %v", context.Cause(children[1]))
	}
	if len(m.after) != 0 {
		t.Fatal("registrations kept after the end")
	}
}

func TestMetaAfterFunc(t *testing.T) {
	m := &meta{reqCtx: context.Background()}
	ran := make(chan int, 3)
	stop1 := m.AfterFunc(func() { ran <- 1 })
	m.AfterFunc(func() { ran <- 2 })
	if !stop1() {
		t.Fatal("stop before the end reported not stopped")
	}
	if stop1() {
		t.Fatal("second stop reported stopped")
	}
	m.end(endCanceled)
	m.end(endDeadline) // the first end wins
	if !errors.Is(m.Err(), context.Canceled) {
		t.Fatalf("Err = %v", m.Err())
	}
	if got := <-ran; got != 2 {
		t.Fatalf("ran %d, want 2 (1 was stopped)", got)
	}
	// After the end: f runs at once, in its own goroutine (a caller may
	// hold a lock f takes), and stop cannot stop it.
	var mu sync.Mutex
	mu.Lock()
	stop := m.AfterFunc(func() { mu.Lock(); ran <- 3; mu.Unlock() })
	mu.Unlock()
	if stop() {
		t.Fatal("stop after the end reported stopped")
	}
	if got := <-ran; got != 3 {
		t.Fatalf("ran %d, want 3", got)
	}
	select {
	case <-m.Done():
	default:
		t.Fatal("Done not closed after the end")
	}
}

// Each context ends at its deadline, not before, whatever order requests
// were queued in; a removed one never ends by the queue.
func TestDeadlineQueueEndsEachAtItsDeadline(t *testing.T) {
	q := &deadlineQueue{now: time.Now}
	defer q.stop()
	base := time.Now()
	offsets := []time.Duration{120, 40, 80, 40, 160, 0, 200} // ms; 0 = no deadline
	ms := make([]*meta, len(offsets))
	for i, o := range offsets {
		var limit time.Time
		if o > 0 {
			limit = base.Add(o * time.Millisecond)
		}
		ms[i] = newQueuedMeta(q, limit)
	}
	q.remove(ms[2]) // finished early
	for i, m := range ms {
		switch {
		case i == 2 || offsets[i] == 0:
			continue
		}
		if !waitDone(t, m, 5*time.Second) {
			t.Fatalf("request %d (deadline +%dms) never ended", i, offsets[i])
		}
		if now := time.Now(); now.Before(m.limit) {
			t.Fatalf("request %d ended %v before its deadline", i, m.limit.Sub(now))
		}
		if !errors.Is(m.Err(), context.DeadlineExceeded) {
			t.Fatalf("request %d: Err = %v", i, m.Err())
		}
	}
	time.Sleep(20 * time.Millisecond)
	for _, i := range []int{2, 5} {
		if ms[i].Err() != nil {
			t.Fatalf("request %d ended (%v): it was removed or had no deadline", i, ms[i].Err())
		}
	}
	// Abort ends what is queued (no deadline included) and whatever comes
	// later, with context.Canceled.
	q.abort()
	late := newQueuedMeta(q, time.Now().Add(time.Hour))
	for _, m := range []*meta{ms[5], late} {
		if !errors.Is(m.Err(), context.Canceled) {
			t.Fatalf("after abort: Err = %v, want canceled", m.Err())
		}
	}
	if ms[2].Err() != nil {
		t.Fatal("abort ended a request no longer queued")
	}
}

// A burst of requests all due to time out together (a blackhole) all end,
// past the batch the timer callback takes at once.
func TestDeadlineQueueBurst(t *testing.T) {
	q := &deadlineQueue{now: time.Now}
	defer q.stop()
	limit := time.Now().Add(30 * time.Millisecond)
	ms := make([]*meta, 100)
	for i := range ms {
		ms[i] = newQueuedMeta(q, limit.Add(time.Duration(i)*time.Microsecond))
	}
	past := newQueuedMeta(q, time.Now().Add(-time.Second)) // already due
	if !waitDone(t, past, 5*time.Second) {
		t.Fatal("a request queued past its deadline never ended")
	}
	for i, m := range ms {
		if !waitDone(t, m, 5*time.Second) {
			t.Fatalf("request %d never ended", i)
		}
	}
	if q.head != nil {
		t.Fatal("queue not empty")
	}
}
