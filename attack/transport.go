package attack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gameday-dev/gameday/timeline"
)

// NodeHeader is the response header the transport adds to every response
// (so raw vegeta results carry it): the IP of the node the request went to.
const NodeHeader = "X-Gameday-Node"

// nodeErrPrefix starts the text of every transport error whose node is
// known, so raw vegeta results carry it: "gameday-node=IP: <error>".
const nodeErrPrefix = "gameday-node="

// dialer resolves host names through the configured DNS server, caches the
// answer for the TTL, and spreads new connections round-robin over every
// address of the answer, one address per dial (no fallback to the next
// address: a dial failure is attributed to the node that failed).
type dialer struct {
	net      net.Dialer
	resolver *net.Resolver
	ttl      time.Duration
	nodeAZ   func(netip.Addr) string
	now      func() time.Time

	mu    sync.Mutex
	hosts map[string]*hostEntry

	dials atomic.Uint64
}

type hostEntry struct {
	addrs     []netip.Addr
	expires   time.Time
	next      uint64
	resolving chan struct{} // non-nil while a lookup runs; closed when done
	err       error         // of the last lookup, when it left no address
}

func newDialer(cfg *Config) *dialer {
	d := &dialer{
		net:    net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second},
		ttl:    cfg.DNSTTL,
		nodeAZ: cfg.NodeAZ,
		now:    time.Now,
		hosts:  make(map[string]*hostEntry),
	}
	d.resolver = net.DefaultResolver
	if cfg.Resolver != "" {
		server := cfg.Resolver
		d.resolver = &net.Resolver{
			PreferGo: true,
			Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
				var nd net.Dialer
				return nd.DialContext(ctx, network, server)
			},
		}
	}
	return d
}

// pick returns the next address for host, resolving when the cached answer
// is missing or older than the TTL. A failed re-resolution keeps the stale
// answer (and retries within a second) rather than failing every dial.
func (d *dialer) pick(host string) (netip.Addr, error) {
	for {
		d.mu.Lock()
		e := d.hosts[host]
		if e == nil {
			e = &hostEntry{}
			d.hosts[host] = e
		}
		now := d.now()
		fresh := len(e.addrs) > 0 && (d.ttl > 0 && now.Before(e.expires))
		if fresh || (len(e.addrs) > 0 && e.resolving != nil) {
			a := e.addrs[e.next%uint64(len(e.addrs))]
			e.next++
			d.mu.Unlock()
			return a, nil
		}
		if e.resolving != nil { // nothing cached yet: wait for the lookup
			ch := e.resolving
			d.mu.Unlock()
			<-ch
			d.mu.Lock()
			err := e.err
			d.mu.Unlock()
			if err != nil {
				return netip.Addr{}, err
			}
			continue
		}
		ch := make(chan struct{})
		e.resolving = ch
		d.mu.Unlock()

		addrs, err := d.lookup(host)

		d.mu.Lock()
		e.resolving = nil
		close(ch)
		e.err = nil
		switch {
		case err == nil:
			e.addrs = addrs
			e.expires = d.now().Add(d.ttl)
		case len(e.addrs) > 0:
			e.expires = d.now().Add(min(d.ttl, time.Second))
		default:
			e.err = err
			d.mu.Unlock()
			return netip.Addr{}, err
		}
		d.mu.Unlock()
	}
}

func (d *dialer) lookup(host string) ([]netip.Addr, error) {
	ctx, cancel := context.WithTimeout(context.Background(), max(d.net.Timeout, time.Second))
	defer cancel()
	addrs, err := d.resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		out = append(out, a.Unmap())
	}
	if len(out) == 0 {
		return nil, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
	}
	return out, nil
}

func (d *dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("dial %s: bad port: %w", addr, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		if ip, err = d.pick(host); err != nil {
			return nil, err
		}
	}
	var az string
	if d.nodeAZ != nil {
		az = d.nodeAZ(ip)
	}
	m, _ := ctx.Value(metaKey{}).(*meta)
	m.dialing(ip, az)
	d.dials.Add(1)
	c, err := d.net.DialContext(ctx, network, netip.AddrPortFrom(ip, uint16(port)).String())
	if err != nil {
		return nil, err
	}
	return newTrackedConn(c, d.now(), ip, az), nil
}

// trackedConn remembers when it was dialled and which node it reaches. It
// adds nothing to reads and writes: what a request needs from it (node,
// AZ, age) is read once per request, in GotConn.
type trackedConn struct {
	net.Conn
	born    time.Time
	node    netip.Addr
	nodeStr string   // node.String(), made once per connection
	nodeHdr []string // {nodeStr}: the NodeHeader value every response on it carries
	az      string
}

func newTrackedConn(c net.Conn, born time.Time, node netip.Addr, az string) *trackedConn {
	s := node.String()
	return &trackedConn{Conn: c, born: born, node: node, nodeStr: s, nodeHdr: []string{s}, az: az}
}

func asTracked(c net.Conn) *trackedConn {
	for c != nil {
		switch v := c.(type) {
		case *trackedConn:
			return v
		case interface{ NetConn() net.Conn }: // *tls.Conn
			c = v.NetConn()
		default:
			return nil
		}
	}
	return nil
}

type metaKey struct{}

// meta is what the transport learns about one request, beyond what vegeta
// keeps in its Result: the node, the error value (not just its text), the
// response's source, and the body size. It is also the request's context
// (reqctx.go: its deadline, ended when the run is aborted; Value(metaKey{})
// is the meta itself, for the dialer), its client trace, and, as
// *metaBody, the response body: one allocation per request for all of them.
type meta struct {
	// unlink stops the caller's context from ending this one; nil when
	// the caller's context cannot be cancelled (vegeta's never can).
	unlink func() bool
	reqCtx context.Context // the caller's
	trace  httptrace.ClientTrace
	rt     *roundTripper
	r2     *http.Request // the request handed to the transport; GotConn may mark it
	rc     io.ReadCloser // the response body
	seq    uint64        // vegeta's number for the request (X-Vegeta-Seq), if it had one

	// The context's state (reqctx.go), under mu; prev and next link the
	// request into rt.deadlines, under its lock.
	ctxEnd     atomic.Int32 // endNot, endCanceled or endDeadline; not under mu
	done       chan struct{}
	after      []func()
	afterBuf   [1]func()
	prev, next *meta
	queued     bool

	start time.Time
	due   time.Time // the hit's intended send time; zero if unknown
	// limit is when the request's context ends, its deadline: due +
	// timeout, or start + timeout when the due time is unknown.
	limit time.Time
	// bytesIn counts the body's bytes. Only the goroutine reading the
	// body writes it, and the result that carries it is handed over (by a
	// channel) after the body was closed: no lock.
	bytesIn uint64

	mu       sync.Mutex
	node     netip.Addr
	nodeHdr  []string // {node.String()}, the NodeHeader value; nil until made
	az       string
	gotConn  bool
	reused   bool
	class    timeline.Class // set when the request ended in an error
	err      error
	server   string // the Server header of a 5xx response
	targetAZ string // the AZ header of the response
	code     int
	released bool
}

func (m *meta) dialing(ip netip.Addr, az string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	if !m.gotConn {
		m.node, m.az = ip, az
	}
	m.mu.Unlock()
}

// gotConn is the request's httptrace GotConn hook.
func (m *meta) gotConnHook(info httptrace.GotConnInfo) {
	tc := asTracked(info.Conn)
	m.mu.Lock()
	m.gotConn, m.reused = true, info.Reused
	if tc != nil {
		m.node, m.nodeHdr, m.az = tc.node, tc.nodeHdr, tc.az
	}
	m.mu.Unlock()
	rt := m.rt
	if tc != nil && rt.maxConnAge > 0 && rt.now().Sub(tc.born) >= rt.maxConnAge {
		// Last request on this connection: GotConn runs before the
		// request is written, so it goes out with Connection: close,
		// the server answers likewise, and the transport closes the
		// connection instead of pooling it. (A request with a body
		// reaches the transport as a copy, so for it only the header
		// acts: it relies on the server honouring Connection: close,
		// as HTTP/1.1 servers must.)
		m.r2.Header.Set("Connection", "close")
		m.r2.Close = true
		rt.retired.Add(1)
	}
}

// release ends the request's context and its in-flight count, once.
func (m *meta) release() {
	m.mu.Lock()
	done := m.released
	m.released = true
	m.mu.Unlock()
	if done {
		return
	}
	if m.unlink != nil {
		m.unlink()
	}
	m.rt.deadlines.remove(m)
	m.end(endCanceled)
	m.rt.inflight.Add(-1)
}

// nodeString is the node's text ("" if unknown); call with mu held.
func (m *meta) nodeString() string {
	if m.nodeHdr == nil && m.node.IsValid() {
		m.nodeHdr = []string{m.node.String()}
	}
	if m.nodeHdr == nil {
		return ""
	}
	return m.nodeHdr[0]
}

// roundTripper wraps the http.Transport: it labels each request with its
// node, classifies errors from their real values, enforces MaxConnAge and
// the request's one deadline, and aborts in-flight requests when the run is
// aborted.
type roundTripper struct {
	inner      *http.Transport
	timeout    time.Duration // per request, counted from its due time
	maxLag     time.Duration // a hit starting later than due+maxLag is not sent
	azHeader   string        // response header naming the target's AZ, canonical
	maxConnAge time.Duration
	now        func() time.Time
	// deadlines ends each request's context at its deadline, and every
	// one when the run is aborted.
	deadlines deadlineQueue

	// dueOf returns when the hit vegeta numbered seq was due (the Pacer's
	// DueOf); nil or a zero time when unknown.
	dueOf func(seq uint64) time.Time

	metas    *metaTable // vegeta seq → meta, until the result is taken
	inflight atomic.Int64
	peak     atomic.Int64
	retired  atomic.Uint64 // connections closed for age
}

// due returns when hit seq was due, or the zero time.
func (rt *roundTripper) due(seq uint64) time.Time {
	if rt.dueOf == nil {
		return time.Time{}
	}
	return rt.dueOf(seq)
}

// errNotSent is the error of a hit that reached a worker more than MaxLag
// after it was due: it is not sent at all.
var errNotSent = errors.New("gameday: not sent: no worker was free until max_lag after the hit was due")

// seqHeader is the header vegeta numbers each request with (canonical).
const seqHeader = "X-Vegeta-Seq"

// RoundTrip sends req with exactly one deadline: its due time plus the
// timeout (start plus the timeout when the due time is unknown), enforced
// by the request's context. The http.Client has no Timeout of its own: a
// second, per-request timer racing this one would only cost CPU.
func (rt *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	m := &meta{rt: rt, reqCtx: req.Context(), start: rt.now()}
	if v := req.Header[seqHeader]; len(v) > 0 {
		if seq, err := strconv.ParseUint(v[0], 10, 64); err == nil {
			m.seq = seq
			rt.metas.put(m)
			m.due = rt.due(seq)
		}
	}
	if !m.due.IsZero() && rt.maxLag > 0 && m.start.Sub(m.due) > rt.maxLag {
		// Too late to be judged fairly (see Config.MaxLag): never send it.
		m.mu.Lock()
		m.class, m.err, m.released = timeline.ClassNotSent, errNotSent, true
		m.mu.Unlock()
		return nil, errNotSent
	}
	n := rt.inflight.Add(1)
	for p := rt.peak.Load(); n > p && !rt.peak.CompareAndSwap(p, n); p = rt.peak.Load() {
	}

	// The request's deadline counts from when it was due, not from when a
	// worker got to it: its latency from the due time is thereby bounded by
	// the timeout (which the online settling of windows relies on). The
	// request's context is m itself, ended by rt.deadlines at the deadline
	// or when the run is aborted; a caller's cancellable context (never
	// vegeta's) is linked in with AfterFunc.
	switch {
	case rt.timeout <= 0:
	case !m.due.IsZero():
		m.limit = m.due.Add(rt.timeout)
	default:
		m.limit = m.start.Add(rt.timeout)
	}
	m.trace.GotConn = m.gotConnHook
	rt.deadlines.add(m)
	if req.Context().Done() != nil {
		m.unlink = context.AfterFunc(req.Context(), func() { m.end(endCanceled) })
	}
	r2 := req.WithContext(m)
	if rt.maxConnAge > 0 {
		r2.Header = req.Header.Clone() // never modify the caller's request
	}
	m.r2 = r2

	resp, err := rt.inner.RoundTrip(r2)
	if err != nil {
		m.mu.Lock()
		if !m.gotConn {
			err = &timeline.ConnectError{Err: err}
		}
		err = rt.timedOut(m, err)
		m.err = err
		m.class = rt.classifyErr(err)
		node := m.node
		m.mu.Unlock()
		m.release()
		if node.IsValid() {
			return nil, &nodeError{node: node, err: err}
		}
		return nil, err
	}
	m.mu.Lock()
	m.code = resp.StatusCode
	if m.code >= 500 { // only a 5xx is classified by who answered it
		m.server = resp.Header.Get("Server")
	}
	if rt.azHeader != "" {
		if v := resp.Header[rt.azHeader]; len(v) > 0 { // canonical: no Get
			m.targetAZ = v[0]
		}
	}
	m.nodeString() // makes m.nodeHdr when the node is known
	hdr := m.nodeHdr
	m.mu.Unlock()
	if hdr != nil {
		resp.Header[NodeHeader] = hdr // shared by the connection's responses: read-only
	}
	m.rc = resp.Body
	resp.Body = (*metaBody)(m)
	return resp, nil
}

func (rt *roundTripper) classifyErr(err error) timeline.Class {
	if rt.deadlines.aborted.Load() {
		return timeline.ClassAborted
	}
	return timeline.Classify(0, err, timeline.SourceUnknown)
}

// timedOut marks err as a timeout when the request failed because its
// deadline passed: the transport then reports a bare "request canceled" or
// "context deadline exceeded" whatever phase it was in. The decision reads
// the request's state (its context ended by its deadline, or the deadline
// has passed), plus the caller's own deadline if it had one.
func (rt *roundTripper) timedOut(m *meta, err error) error {
	now := rt.now()
	if errors.Is(m.Err(), context.DeadlineExceeded) ||
		(!m.limit.IsZero() && !now.Before(m.limit)) || callerTimedOut(m.reqCtx, now) {
		return &timeoutError{err}
	}
	return err
}

func callerTimedOut(ctx context.Context, now time.Time) bool {
	if ctx == nil {
		return false
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && !now.Before(d)
}

// timeoutError is a net.Error reporting Timeout, wrapping the original.
type timeoutError struct{ err error }

func (e *timeoutError) Error() string   { return e.err.Error() }
func (e *timeoutError) Unwrap() error   { return e.err }
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return true }

var _ net.Error = (*timeoutError)(nil)

type nodeError struct {
	node netip.Addr
	err  error
}

func (e *nodeError) Error() string { return nodeErrPrefix + e.node.String() + ": " + e.err.Error() }
func (e *nodeError) Unwrap() error { return e.err }

// metaBody is the response body as the transport hands it out: it counts
// the body's bytes and records how reading it ended.
type metaBody meta

func (b *metaBody) Read(p []byte) (int, error) {
	m := (*meta)(b)
	n, err := m.rc.Read(p)
	m.bytesIn += uint64(n)
	if err != nil && err != io.EOF {
		m.mu.Lock()
		if m.err == nil && !errors.Is(err, io.EOF) {
			err := m.rt.timedOut(m, err)
			m.err = err
			m.class = m.rt.classifyErr(err)
		}
		m.mu.Unlock()
	}
	return n, err
}

func (b *metaBody) Close() error {
	m := (*meta)(b)
	err := m.rc.Close()
	m.release()
	return err
}
