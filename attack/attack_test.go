package attack

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gameday-dev/gameday/timeline"
)

// newServer starts an HTTP server on 127.0.0.1 that counts the connections
// it accepts.
func newServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	s := httptest.NewUnstartedServer(h)
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Fatalf("test server not on loopback: %s", s.URL)
	}
	return s, &conns
}

func ok(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }

// run runs cfg and returns its hits; the test fails if Run takes longer
// than limit.
func run(t *testing.T, ctx context.Context, cfg Config, limit time.Duration) (Summary, []*Hit) {
	t.Helper()
	var hits []*Hit
	start := time.Now()
	sum, err := Run(ctx, cfg, func(h *Hit) { hits = append(hits, h) })
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > limit {
		t.Fatalf("Run took %v, limit %v", el, limit)
	}
	// Every hit the plan asked for is delivered: sent ones as results, the
	// others as not_sent.
	var notSent uint64
	for _, h := range hits {
		if h.Class == timeline.ClassNotSent {
			notSent++
		}
	}
	if sum.Sent != uint64(len(hits))-notSent+sum.Late || (!sum.Cancelled && sum.Dropped+sum.Late != notSent) {
		t.Fatalf("summary says %d sent and %d not sent, %d hits delivered of which %d not_sent", sum.Sent, sum.Dropped, len(hits), notSent)
	}
	return sum, hits
}

func constant(d time.Duration, rps float64) []Stage {
	return []Stage{{Duration: d, From: rps, To: rps}}
}

func TestConstantRate(t *testing.T) {
	s, _ := newServer(t, ok)
	cfg := Config{
		Requests:  []Request{{URL: s.URL + "/a"}, {URL: s.URL + "/b", Method: "POST", Body: []byte("xyz")}},
		Stages:    constant(time.Second, 200),
		Timeout:   2 * time.Second,
		KeepAlive: true,
	}
	sum, hits := run(t, context.Background(), cfg, 4*time.Second)
	if sum.Asked != 200 || sum.Sent+sum.Dropped != sum.Asked {
		t.Fatalf("asked %d sent %d dropped %d", sum.Asked, sum.Sent, sum.Dropped)
	}
	if sum.Sent < 180 {
		t.Fatalf("sent only %d of 200", sum.Sent)
	}
	tl, _ := timeline.New(sum.Started, 100*time.Millisecond)
	posts := 0
	for _, h := range hits {
		if h.Class != timeline.ClassOK || h.Code != 200 || h.Node != "127.0.0.1" || h.BytesIn != 2 {
			t.Fatalf("hit %+v", h)
		}
		if h.Raw.Method == "POST" {
			posts++
			if h.BytesOut != 3 {
				t.Fatalf("POST bytes out %d", h.BytesOut)
			}
		}
		tl.Add(timeline.Result{Start: h.Start, Latency: h.Latency, Class: h.Class, AZ: h.AZ, BytesIn: h.BytesIn})
	}
	if posts < len(hits)/2-1 || posts > len(hits)/2+1 {
		t.Fatalf("targets not round-robin: %d POSTs of %d", posts, len(hits))
	}
	// The hits are spread evenly: every 100ms window holds about 20.
	tot := tl.Total()
	if tot.Requests != sum.Sent || tl.Outside() != 0 {
		t.Fatalf("timeline holds %d of %d hits (%d outside)", tot.Requests, sum.Sent, tl.Outside())
	}
	for _, w := range tl.Windows() {
		if w.Requests < 8 || w.Requests > 35 { // bursts within MaxLag may shift a few
			t.Errorf("window %d holds %d hits, want ≈20", w.Index, w.Requests)
		}
	}
}

func TestLinearRampMatchesIntegral(t *testing.T) {
	s, _ := newServer(t, ok)
	cfg := Config{
		Requests:  []Request{{URL: s.URL}},
		Stages:    []Stage{{Duration: time.Second, From: 0, To: 400}, {Duration: 500 * time.Millisecond, From: 400, To: 0}},
		Timeout:   2 * time.Second,
		KeepAlive: true,
	}
	sum, hits := run(t, context.Background(), cfg, 4*time.Second)
	// ∫ = 400·1/2 + 400·0.5/2 = 300
	if sum.Asked != 300 || sum.Sent+sum.Dropped != 300 || sum.Sent < 270 {
		t.Fatalf("asked %d sent %d dropped %d", sum.Asked, sum.Sent, sum.Dropped)
	}
	// Shape: the first half second of the up-ramp asks for 50 hits, the
	// second for 150.
	var first, second int
	for _, h := range hits {
		switch off := h.Start.Sub(sum.Started); {
		case off < 500*time.Millisecond:
			first++
		case off < time.Second:
			second++
		}
	}
	if first < 35 || first > 65 || second < 125 || second > 175 {
		t.Fatalf("ramp shape: %d then %d hits, want ≈50 then ≈150", first, second)
	}
}

func TestSlowServerDropsAreCounted(t *testing.T) {
	s, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(200 * time.Millisecond):
		case <-r.Context().Done():
		}
	})
	cfg := Config{
		Requests:   []Request{{URL: s.URL}},
		Stages:     constant(time.Second, 100),
		Timeout:    2 * time.Second,
		Workers:    2,
		MaxWorkers: 4,
		KeepAlive:  true,
	}
	sum, hits := run(t, context.Background(), cfg, 6*time.Second)
	// 4 workers × 5 req/s each ≈ 20 answered of 100 asked; the others wait
	// for a worker and are not sent (or sent too late to be judged) once
	// their deadline, due + timeout, has passed.
	if sum.Asked != 100 || sum.Dropped+sum.Late == 0 || sum.Sent+sum.Dropped != sum.Asked {
		t.Fatalf("asked %d sent %d (%d late) dropped %d", sum.Asked, sum.Sent, sum.Late, sum.Dropped)
	}
	if sum.MaxWorkersUsed > 4 {
		t.Fatalf("%d workers: MaxWorkers not enforced", sum.MaxWorkersUsed)
	}
	okHits := 0
	for _, h := range hits {
		switch h.Class {
		case timeline.ClassOK:
			okHits++
			if h.Service < 200*time.Millisecond || h.Latency < h.Service {
				t.Fatalf("hit %+v", h)
			}
		case timeline.ClassNotSent:
		default:
			t.Fatalf("hit %+v", h)
		}
	}
	if okHits > 65 { // hits go out until 2 s after the last is due: ≤ 3 s × 20/s
		t.Fatalf("%d answered with 4 workers at 200 ms each in ≈3 s", okHits)
	}
}

// closedPort returns a 127.0.0.1 port nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// fullBacklog returns a 127.0.0.1 address whose accept queue is full and
// never drained: the kernel drops further SYNs, so connects hang.
func fullBacklog(t *testing.T) string {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Skip("raw socket:", err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Skip("bind:", err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Skip("listen:", err)
	}
	sa, _ := syscall.Getsockname(fd)
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	for i := 0; i < 8; i++ { // fill the queue; later connects must time out
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err != nil {
			return addr
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Skip("accept queue never filled")
	return ""
}

func TestClassification(t *testing.T) {
	status := func(code int, server string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			if server != "" {
				w.Header().Set("Server", server)
			}
			w.WriteHeader(code)
			io.WriteString(w, http.StatusText(code))
		}
	}
	reset := func(w http.ResponseWriter, _ *http.Request) {
		c, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		c.(*net.TCPConn).SetLinger(0) // close with RST
		c.Close()
	}
	sleep := func(head bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if head {
				w.WriteHeader(200)
				w.(http.Flusher).Flush()
			}
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
		}
	}
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		addr    func(*testing.T) string
		want    timeline.Class
		code    uint16
		dial    time.Duration
	}{
		{name: "ok", handler: status(200, ""), want: timeline.ClassOK, code: 200},
		{name: "404", handler: status(404, ""), want: timeline.ClassHTTP4xx, code: 404},
		{name: "elb 502", handler: status(502, "awselb/2.0"), want: timeline.ClassELB5xx, code: 502},
		{name: "elb 503", handler: status(503, "awselb/2.0"), want: timeline.ClassELB5xx, code: 503},
		{name: "elb 504", handler: status(504, "awselb/2.0"), want: timeline.ClassELB5xx, code: 504},
		{name: "unsigned 503 is the target's", handler: status(503, ""), want: timeline.ClassTarget5xx, code: 503},
		{name: "app 502", handler: status(502, "gunicorn"), want: timeline.ClassTarget5xx, code: 502},
		{name: "app 500", handler: status(500, ""), want: timeline.ClassTarget5xx, code: 500},
		{name: "refused", addr: closedPort, want: timeline.ClassConnRefused},
		{name: "reset", handler: reset, want: timeline.ClassConnReset},
		{name: "client timeout awaiting headers", handler: sleep(false), want: timeline.ClassClientTimeout},
		{name: "client timeout reading body", handler: sleep(true), want: timeline.ClassClientTimeout},
		{name: "connect timeout (request deadline)", addr: fullBacklog, want: timeline.ClassConnectTimeout},
		{name: "connect timeout (dial deadline)", addr: fullBacklog, want: timeline.ClassConnectTimeout, dial: 100 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var url string
			if tc.addr != nil {
				url = "http://" + tc.addr(t) + "/"
			} else {
				s, _ := newServer(t, tc.handler)
				url = s.URL
			}
			cfg := Config{
				Requests:    []Request{{URL: url}},
				Stages:      constant(200*time.Millisecond, 20),
				Timeout:     300 * time.Millisecond,
				DialTimeout: tc.dial,
				NodeAZ:      func(netip.Addr) string { return "local-1a" },
			}
			_, hits := run(t, context.Background(), cfg, 3*time.Second)
			if len(hits) == 0 {
				t.Fatal("no hits")
			}
			for _, h := range hits {
				if h.Class != tc.want || h.Code != tc.code {
					t.Fatalf("got class %s code %d (err %q), want %s %d", h.Class, h.Code, h.Err, tc.want, tc.code)
				}
				if h.Node != "127.0.0.1" || h.AZ != "local-1a" {
					t.Fatalf("node %q az %q", h.Node, h.AZ)
				}
				if tc.want != timeline.ClassOK && h.Err == "" {
					t.Fatal("failed hit without error text")
				}
				if strings.Contains(h.Err, nodeErrPrefix) || ephemeralPort.MatchString(h.Err) {
					t.Fatalf("error text not normalised: %q", h.Err)
				}
			}
			t.Logf("%s: %q", hits[0].Class, hits[0].Err)
		})
	}
}

func TestMaxConnAgeForcesRedials(t *testing.T) {
	s, conns := newServer(t, ok)
	base := Config{
		Requests:   []Request{{URL: s.URL}},
		Stages:     constant(1500*time.Millisecond, 100),
		Timeout:    time.Second,
		Workers:    2,
		MaxWorkers: 4,
		KeepAlive:  true,
	}
	sum, _ := run(t, context.Background(), base, 4*time.Second)
	without := conns.Load()
	if without > 4 || sum.ConnsRetired != 0 {
		t.Fatalf("keep-alive without MaxConnAge opened %d connections", without)
	}
	conns.Store(0)
	aged := base
	aged.MaxConnAge = 200 * time.Millisecond
	// With a body the transport copies the request, so only the
	// Connection: close header (which the server echoes) retires the conn.
	aged.Requests = []Request{{URL: s.URL}, {URL: s.URL, Method: "POST", Body: []byte("payload")}}
	sum, hits := run(t, context.Background(), aged, 4*time.Second)
	with := conns.Load()
	// ≈1.5s / 200ms = 7 generations of at least one connection.
	if with < 6 || sum.ConnsRetired < 5 {
		t.Fatalf("MaxConnAge 200ms over 1.5s: %d connections, %d retired", with, sum.ConnsRetired)
	}
	reused := 0
	for _, h := range hits {
		if h.Class != timeline.ClassOK {
			t.Fatalf("recycling a connection failed a request: %+v", h)
		}
		if h.Reused {
			reused++
		}
	}
	if reused < len(hits)/2 {
		t.Fatalf("only %d of %d hits reused a connection", reused, len(hits))
	}
	t.Logf("connections: %d without MaxConnAge, %d with (%d retired)", without, with, sum.ConnsRetired)
}

func TestCancelStopsPromptly(t *testing.T) {
	var mu sync.Mutex
	var started int
	s, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		started++
		mu.Unlock()
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
		}
	})
	cfg := Config{
		Requests:  []Request{{URL: s.URL}},
		Stages:    constant(10*time.Second, 50),
		Timeout:   5 * time.Second,
		Drain:     200 * time.Millisecond,
		KeepAlive: true,
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	sum, hits := run(t, ctx, cfg, 2*time.Second)
	if !sum.Cancelled || sum.Aborted == 0 || sum.Aborted != uint64(len(hits)) {
		t.Fatalf("cancelled %v aborted %d hits %d", sum.Cancelled, sum.Aborted, len(hits))
	}
	if sum.Asked < 10 || sum.Asked > 40 || sum.Sent+sum.Dropped < sum.Asked {
		t.Fatalf("asked %d sent %d dropped %d after 300ms at 50 rps", sum.Asked, sum.Sent, sum.Dropped)
	}
	for _, h := range hits {
		if h.Class != timeline.ClassAborted {
			t.Fatalf("hit %+v", h)
		}
	}
	t.Logf("returned %v after start; %d hits aborted", time.Since(start), len(hits))
	// No request starts after Run returned.
	mu.Lock()
	n := started
	mu.Unlock()
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if started != n {
		t.Fatalf("%d requests started after Run returned", started-n)
	}
}

func TestCancelAtLowRateIsPrompt(t *testing.T) {
	s, _ := newServer(t, ok)
	cfg := Config{Requests: []Request{{URL: s.URL}}, Stages: constant(time.Minute, 0.2)} // one hit per 5 s
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	sum, _ := run(t, ctx, cfg, time.Second)
	if !sum.Cancelled || sum.Sent != 1 || sum.Asked != 1 {
		t.Fatalf("%+v", sum)
	}
}

func TestConfigErrorsNameEveryField(t *testing.T) {
	_, err := Run(context.Background(), Config{
		Requests:   []Request{{URL: "ftp://x"}, {URL: "http://"}},
		Stages:     []Stage{{Duration: -1}},
		MaxWorkers: 1 << 30,
		Resolver:   "nope",
	}, func(*Hit) {})
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"requests[0].url", "requests[1].url", "stages[0].duration", "max_workers", "resolver"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
}

func TestNormalizeError(t *testing.T) {
	for in, want := range map[string]string{
		`Get "http://127.0.0.1:8080/": gameday-node=127.0.0.1: read tcp 127.0.0.1:54321->127.0.0.1:8080: read: connection reset by peer`: `Get "http://127.0.0.1:8080/": read tcp 127.0.0.1->127.0.0.1:8080: read: connection reset by peer`,
		`write tcp [::1]:40000->[::1]:80: broken pipe`: `write tcp [::1]->[::1]:80: broken pipe`,
		`502 Bad Gateway`: `502 Bad Gateway`,
		"":                "",
	} {
		if got := normalizeError(in); got != want {
			t.Errorf("normalizeError(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestTimeoutRaceIsAlwaysClientTimeout sends many requests to a server that
// never answers, with a short timeout: the request's deadline (its one
// deadline, due + timeout; the http.Client once raced a timer of its own
// against it) cancels each request while it waits for headers or reads the
// body, and the hit must be a timeout (never "other"): a client timeout, or
// a connect timeout for the few that expired while waiting for a connection.
func TestTimeoutRaceIsAlwaysClientTimeout(t *testing.T) {
	hang := func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/body" {
			w.WriteHeader(200)
			w.(http.Flusher).Flush()
		}
		<-r.Context().Done()
	}
	s, _ := newServer(t, hang)
	for _, path := range []string{"/", "/body"} {
		cfg := Config{
			Requests:   []Request{{URL: s.URL + path}},
			Stages:     constant(time.Second, 1000),
			Timeout:    20 * time.Millisecond,
			MaxWorkers: 200,
			KeepAlive:  true,
		}
		_, hits := run(t, context.Background(), cfg, 10*time.Second)
		bad := map[string]int{}
		sent := 0
		for _, h := range hits {
			// On a busy machine a worker may start a hit more than half
			// the 20 ms timeout late: it is then not sent at all, and the
			// race this test is about cannot happen to it.
			if h.Class == timeline.ClassNotSent {
				continue
			}
			sent++
			if h.Class != timeline.ClassClientTimeout && h.Class != timeline.ClassConnectTimeout {
				bad[string(h.Class)+": "+h.Err]++
			}
		}
		if len(bad) > 0 {
			t.Errorf("%s: %d hits, not all timeouts: %v", path, len(hits), bad)
		}
		if sent < len(hits)/2 {
			t.Errorf("%s: only %d of %d hits were sent: too few to show the race", path, sent, len(hits))
		}
	}
}

// TestTargetAZFromHeader: Hit.TargetAZ is the AZ the response names in
// Config.AZHeader, and the node's AZ when the response names none.
func TestTargetAZFromHeader(t *testing.T) {
	s, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/named" {
			w.Header().Set("X-Availability-Zone", "local-1c")
		}
		w.WriteHeader(503)
	})
	for _, c := range []struct{ path, header, want string }{
		{"/named", "X-Availability-Zone", "local-1c"},
		{"/named", "x-availability-zone", "local-1c"}, // header names are case-insensitive
		{"/unnamed", "X-Availability-Zone", "local-1a"},
	} {
		cfg := Config{
			Requests: []Request{{URL: s.URL + c.path}},
			Stages:   constant(100*time.Millisecond, 20),
			Timeout:  time.Second,
			NodeAZ:   func(netip.Addr) string { return "local-1a" },
			AZHeader: c.header,
		}
		_, hits := run(t, context.Background(), cfg, 3*time.Second)
		for _, h := range hits {
			if h.TargetAZ != c.want || h.AZ != "local-1a" {
				t.Fatalf("%s (%s): target AZ %q node AZ %q, want %q and local-1a", c.path, c.header, h.TargetAZ, h.AZ, c.want)
			}
		}
	}
}
