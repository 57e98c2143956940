package attack

import (
	"context"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"
)

// A request's context is its meta, and one deadlineQueue per run ends every
// request's context when its deadline passes, or all of them when the run is
// aborted. The usual way, a context.WithDeadline per request below a run's
// abort context, costs per request a timer started and stopped, a context
// linked into (and unlinked from) the abort context's locked set of
// children that every worker shares, a second such set for the child the
// http.Transport derives, and a context wrapping the client trace: about a
// tenth of the bytes the harness allocates per hit. Here the transport's
// child registers through meta.AfterFunc (context's afterFuncer hook: no
// goroutine, no set), the meta answers for the client trace itself, and the
// queue, kept in deadline order (deadlines follow due times, so a new
// request almost always goes at its tail), holds one timer for the run.

// meta is the context of the request RoundTrip hands the transport.
var _ context.Context = (*meta)(nil)

// closedChan is the Done channel of a request whose context ended before
// anyone asked for one.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// traceProbe holds traceProbeTrace under the key httptrace keeps a
// request's ClientTrace under; that key's type is unexported, so isTraceKey
// recognises it by asking the probe.
var (
	traceProbeTrace = new(httptrace.ClientTrace)
	traceProbe      = httptrace.WithClientTrace(context.Background(), traceProbeTrace)
)

// isTraceKey reports whether key is the one httptrace.ContextClientTrace
// looks up.
func isTraceKey(key any) bool {
	t, _ := traceProbe.Value(key).(*httptrace.ClientTrace)
	return t == traceProbeTrace
}

// Deadline is the request's one deadline: its due time plus the timeout
// (its start plus the timeout when the due time is unknown).
func (m *meta) Deadline() (time.Time, bool) { return m.limit, !m.limit.IsZero() }

// Done is closed when the request's context ends.
func (m *meta) Done() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.done == nil {
		m.done = make(chan struct{})
	}
	return m.done
}

// Err is context.DeadlineExceeded once the deadline passed,
// context.Canceled once the run was aborted, the caller's context was
// cancelled or the request was released; nil before.
// Lock-free: the transport's hooks call it with m.mu held.
func (m *meta) Err() error {
	switch m.ctxEnd.Load() {
	case endCanceled:
		return context.Canceled
	case endDeadline:
		return context.DeadlineExceeded
	}
	return nil
}

// How a request's context ended (meta.ctxEnd).
const (
	endNot int32 = iota
	endCanceled
	endDeadline
)

// Value answers metaKey{} with the meta itself (for the dialer), the
// client trace's key with the request's trace (for the transport), and
// anything else from the caller's context.
func (m *meta) Value(key any) any {
	if _, ok := key.(metaKey); ok {
		return m
	}
	if isTraceKey(key) {
		return &m.trace
	}
	if m.reqCtx == nil {
		return nil
	}
	return m.reqCtx.Value(key)
}

// AfterFunc arranges for f to be called once the request's context ends,
// as context.AfterFunc does: when it has already ended, at once in a
// goroutine of its own. A context derived from the meta (the transport's)
// registers its cancellation through it. stop unregisters f, reporting
// whether it did so before f was called.
func (m *meta) AfterFunc(f func()) (stop func() bool) {
	m.mu.Lock()
	if m.ctxEnd.Load() != endNot {
		m.mu.Unlock()
		go f() // the caller may hold a lock f takes (propagateCancel does)
		return func() bool { return false }
	}
	if m.after == nil {
		m.after = m.afterBuf[:0]
	}
	m.after = append(m.after, f)
	i := len(m.after) - 1
	m.mu.Unlock()
	return func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		if i < len(m.after) && m.after[i] != nil {
			m.after[i] = nil
			return true
		}
		return false
	}
}

// end ends the request's context (how: endCanceled or endDeadline; the
// first call wins) and runs what was registered with AfterFunc.
func (m *meta) end(how int32) {
	if !m.ctxEnd.CompareAndSwap(endNot, how) {
		return
	}
	m.mu.Lock()
	if m.done == nil {
		m.done = closedChan
	} else {
		close(m.done)
	}
	after := m.after
	m.after = nil
	m.mu.Unlock()
	for _, f := range after {
		if f != nil {
			f()
		}
	}
}

// deadlineQueue holds the requests in flight in the order of their
// deadlines (a zero deadline, none, last) and ends each one's context at
// its deadline with one timer, armed at or before the first deadline
// (lazily: a request that finishes early leaves the timer where it was,
// and the timer, when it fires, re-arms for the new first one).
type deadlineQueue struct {
	now     func() time.Time
	aborted atomic.Bool

	mu         sync.Mutex
	head, tail *meta
	timer      *time.Timer
	armed      time.Time // when the timer fires; zero when it is not armed
	stopped    bool
}

// before reports whether deadline a comes before b, a zero deadline being
// never.
func before(a, b time.Time) bool {
	return !a.IsZero() && (b.IsZero() || a.Before(b))
}

// add queues m (its limit set) until remove; after abort it ends m at once.
func (q *deadlineQueue) add(m *meta) {
	q.mu.Lock()
	if q.aborted.Load() {
		q.mu.Unlock()
		m.end(endCanceled)
		return
	}
	p := q.tail
	for p != nil && before(m.limit, p.limit) {
		p = p.prev
	}
	m.prev = p
	if p == nil {
		m.next, q.head = q.head, m
	} else {
		m.next, p.next = p.next, m
	}
	if m.next == nil {
		q.tail = m
	} else {
		m.next.prev = m
	}
	m.queued = true
	if before(m.limit, q.armed) { // (any deadline is before none)
		q.armLocked(m.limit)
	}
	q.mu.Unlock()
}

// armLocked sets the timer to fire at t.
func (q *deadlineQueue) armLocked(t time.Time) {
	if q.stopped {
		return
	}
	q.armed = t
	d := t.Sub(q.now())
	if q.timer == nil {
		q.timer = time.AfterFunc(d, q.expire)
		return
	}
	q.timer.Reset(d)
}

func (q *deadlineQueue) unlinkLocked(m *meta) {
	if !m.queued {
		return
	}
	if m.prev == nil {
		q.head = m.next
	} else {
		m.prev.next = m.next
	}
	if m.next == nil {
		q.tail = m.prev
	} else {
		m.next.prev = m.prev
	}
	m.prev, m.next, m.queued = nil, nil, false
}

// remove takes m out of the queue (it finished before its deadline).
func (q *deadlineQueue) remove(m *meta) {
	q.mu.Lock()
	q.unlinkLocked(m)
	q.mu.Unlock()
}

// expire ends the context of every request whose deadline has passed and
// re-arms the timer for the next one.
func (q *deadlineQueue) expire() {
	var buf [16]*meta
	for {
		ended := buf[:0]
		q.mu.Lock()
		now := q.now()
		for m := q.head; m != nil && !m.limit.IsZero() && !now.Before(m.limit) && len(ended) < len(buf); m = q.head {
			q.unlinkLocked(m)
			ended = append(ended, m)
		}
		more := len(ended) == len(buf)
		q.armed = time.Time{}
		if h := q.head; !more && h != nil && !h.limit.IsZero() {
			q.armLocked(h.limit)
		}
		q.mu.Unlock()
		for _, m := range ended {
			m.end(endDeadline)
		}
		if !more {
			return
		}
	}
}

// abort ends every queued request's context, and those added later at
// once, with context.Canceled.
func (q *deadlineQueue) abort() {
	q.mu.Lock()
	q.aborted.Store(true)
	var all []*meta
	for m := q.head; m != nil; m = q.head {
		q.unlinkLocked(m)
		all = append(all, m)
	}
	q.mu.Unlock()
	for _, m := range all {
		m.end(endCanceled)
	}
}

// stop releases the timer; requests still queued keep their contexts until
// released.
func (q *deadlineQueue) stop() {
	q.mu.Lock()
	q.stopped = true
	if q.timer != nil {
		q.timer.Stop()
	}
	q.mu.Unlock()
}
