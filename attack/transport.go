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
	return &trackedConn{Conn: c, born: d.now(), node: ip, az: az}, nil
}

// trackedConn remembers when it was dialled and which node it reaches.
type trackedConn struct {
	net.Conn
	born time.Time
	node netip.Addr
	az   string
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
// response's source, and the body size.
type meta struct {
	mu       sync.Mutex
	node     netip.Addr
	az       string
	gotConn  bool
	reused   bool
	class    timeline.Class // set when the request ended in an error
	err      error
	server   string
	targetAZ string // the AZ header of the response
	code     int
	bytesIn  uint64
	finished bool
	release  func()
	reqCtx   context.Context // the caller's, carrying the client's deadline
	start    time.Time
	due      time.Time // the hit's intended send time; zero if unknown
	deadline time.Time // due + timeout; zero if due is unknown
	// cancel is the request's Cancel channel: http.Client closes it when
	// its Timeout fires (vegeta never sets one of its own).
	cancel <-chan struct{}
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

// roundTripper wraps the http.Transport: it labels each request with its
// node, classifies errors from their real values, enforces MaxConnAge, and
// aborts in-flight requests when the run is aborted.
type roundTripper struct {
	inner      *http.Transport
	timeout    time.Duration // the http.Client's
	maxLag     time.Duration // a hit starting later than due+maxLag is not sent
	azHeader   string        // response header naming the target's AZ
	maxConnAge time.Duration
	abort      context.Context
	now        func() time.Time

	// dueOf returns when the hit vegeta numbered seq was due (the Pacer's
	// DueOf); nil or a zero time when unknown.
	dueOf func(seq uint64) time.Time

	metas    sync.Map // vegeta seq (uint64) → *meta
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

func (rt *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	// http.Client itself still sets the deprecated Cancel for a RoundTripper
	// it does not know (ours) and closes it when its Timeout fires: reading
	// it is how a timeout is told from other cancellations without a clock.
	//lint:ignore SA1019 read, not set: see above
	m := &meta{reqCtx: req.Context(), cancel: req.Cancel, start: rt.now()}
	if s := req.Header.Get("X-Vegeta-Seq"); s != "" {
		if seq, err := strconv.ParseUint(s, 10, 64); err == nil {
			rt.metas.Store(seq, m)
			if m.due = rt.due(seq); !m.due.IsZero() && rt.timeout > 0 {
				m.deadline = m.due.Add(rt.timeout)
			}
		}
	}
	if !m.due.IsZero() && rt.maxLag > 0 && m.start.Sub(m.due) > rt.maxLag {
		// Too late to be judged fairly (see Config.MaxLag): never send it.
		m.mu.Lock()
		m.class, m.err, m.finished = timeline.ClassNotSent, errNotSent, true
		m.mu.Unlock()
		return nil, errNotSent
	}
	n := rt.inflight.Add(1)
	for p := rt.peak.Load(); n > p && !rt.peak.CompareAndSwap(p, n); p = rt.peak.Load() {
	}

	// The request's deadline counts from when it was due, not from when a
	// worker got to it: its latency from the due time is thereby bounded by
	// the timeout (which the online settling of windows relies on).
	var ctx context.Context
	var cancel context.CancelFunc
	if m.deadline.IsZero() {
		ctx, cancel = context.WithCancel(req.Context())
	} else {
		ctx, cancel = context.WithDeadline(req.Context(), m.deadline)
	}
	stopAbort := context.AfterFunc(rt.abort, cancel)
	m.release = func() {
		stopAbort()
		cancel()
		rt.inflight.Add(-1)
	}
	var r2 *http.Request // the request handed to the transport; GotConn may mark it
	ctx = context.WithValue(ctx, metaKey{}, m)
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			tc := asTracked(info.Conn)
			m.mu.Lock()
			m.gotConn, m.reused = true, info.Reused
			if tc != nil {
				m.node, m.az = tc.node, tc.az
			}
			m.mu.Unlock()
			if tc != nil && rt.maxConnAge > 0 && rt.now().Sub(tc.born) >= rt.maxConnAge {
				// Last request on this connection: GotConn runs before the
				// request is written, so it goes out with Connection: close,
				// the server answers likewise, and the transport closes the
				// connection instead of pooling it. (A request with a body
				// reaches the transport as a copy, so for it only the header
				// acts: it relies on the server honouring Connection: close,
				// as HTTP/1.1 servers must.)
				r2.Header.Set("Connection", "close")
				r2.Close = true
				rt.retired.Add(1)
			}
		},
	})
	r2 = req.WithContext(ctx)
	if rt.maxConnAge > 0 {
		r2.Header = req.Header.Clone() // never modify the caller's request
	}

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
		m.finished = true
		m.mu.Unlock()
		m.release()
		if node.IsValid() {
			return nil, &nodeError{node: node, err: err}
		}
		return nil, err
	}
	m.mu.Lock()
	m.code, m.server = resp.StatusCode, resp.Header.Get("Server")
	if rt.azHeader != "" {
		m.targetAZ = resp.Header.Get(rt.azHeader)
	}
	node := m.node
	m.mu.Unlock()
	if node.IsValid() {
		resp.Header.Set(NodeHeader, node.String())
	}
	resp.Body = &trackedBody{rc: resp.Body, m: m, rt: rt}
	return resp, nil
}

func (rt *roundTripper) classifyErr(err error) timeline.Class {
	if rt.abort.Err() != nil {
		return timeline.ClassAborted
	}
	return timeline.Classify(0, err, timeline.SourceUnknown)
}

// timedOut marks err as a timeout when the request failed because the
// client's deadline passed: the transport then reports a bare "request
// canceled" whatever phase it was in.
//
// http.Client enforces its Timeout twice, with a context deadline and with a
// timer that closes the request's Cancel channel; either may win, and the
// error differs. So the decision reads the request's state, never a clock of
// our own racing the client's: the context ended by its deadline, the
// deadline the client set has passed, or the client closed Cancel (which it
// does only when its timer fires, since nobody else sets Cancel here).
func (rt *roundTripper) timedOut(m *meta, err error) error {
	now := rt.now()
	if m.clientTimedOut(now) || (!m.deadline.IsZero() && !now.Before(m.deadline)) {
		return &timeoutError{err}
	}
	return err
}

func (m *meta) clientTimedOut(now time.Time) bool {
	if errors.Is(m.reqCtx.Err(), context.DeadlineExceeded) {
		return true
	}
	if d, ok := m.reqCtx.Deadline(); ok && !now.Before(d) {
		return true
	}
	if m.cancel != nil {
		select {
		case <-m.cancel:
			return true
		default:
		}
	}
	return false
}

// timeoutError is a net.Error reporting Timeout, wrapping the original.
type timeoutError struct{ err error }

func (e *timeoutError) Error() string   { return e.err.Error() }
func (e *timeoutError) Unwrap() error   { return e.err }
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return true }

var _ net.Error = (*timeoutError)(nil)

// take returns and forgets the meta of vegeta hit seq.
func (rt *roundTripper) take(seq uint64) *meta {
	v, ok := rt.metas.LoadAndDelete(seq)
	if !ok {
		return nil
	}
	return v.(*meta)
}

type nodeError struct {
	node netip.Addr
	err  error
}

func (e *nodeError) Error() string { return nodeErrPrefix + e.node.String() + ": " + e.err.Error() }
func (e *nodeError) Unwrap() error { return e.err }

// trackedBody counts the body's bytes and records how reading it ended.
type trackedBody struct {
	rc   io.ReadCloser
	m    *meta
	rt   *roundTripper
	once sync.Once
}

func (b *trackedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.m.mu.Lock()
	b.m.bytesIn += uint64(n)
	if err != nil && !errors.Is(err, io.EOF) && b.m.err == nil {
		err := b.rt.timedOut(b.m, err)
		b.m.err = err
		b.m.class = b.rt.classifyErr(err)
	}
	b.m.mu.Unlock()
	return n, err
}

func (b *trackedBody) Close() error {
	err := b.rc.Close()
	b.once.Do(func() {
		b.m.mu.Lock()
		b.m.finished = true
		b.m.mu.Unlock()
		b.m.release()
	})
	return err
}
