package attack

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/gameday-dev/gameday/timeline"
)

// fakeDNS answers A queries for one name from a mutable address list, over
// UDP on 127.0.0.1; every other question gets an empty NOERROR answer.
type fakeDNS struct {
	name    string
	pc      net.PacketConn
	mu      sync.Mutex
	addrs   []netip.Addr
	queries int
}

func newFakeDNS(t *testing.T, name string, addrs ...netip.Addr) *fakeDNS {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeDNS{name: name + ".", pc: pc, addrs: addrs}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp, ok := f.answer(buf[:n]); ok {
				pc.WriteTo(resp, from)
			}
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return f
}

func (f *fakeDNS) set(addrs ...netip.Addr) {
	f.mu.Lock()
	f.addrs = addrs
	f.mu.Unlock()
}

func (f *fakeDNS) answer(req []byte) ([]byte, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(req)
	if err != nil {
		return nil, false
	}
	q, err := p.Question()
	if err != nil {
		return nil, false
	}
	f.mu.Lock()
	f.queries++
	addrs := append([]netip.Addr(nil), f.addrs...)
	f.mu.Unlock()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired})
	b.EnableCompression()
	b.StartQuestions()
	b.Question(q)
	b.StartAnswers()
	if q.Type == dnsmessage.TypeA && q.Name.String() == f.name {
		for _, a := range addrs {
			b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 1}, dnsmessage.AResource{A: a.As4()})
		}
	}
	out, err := b.Finish()
	return out, err == nil
}

// twoNodes starts one HTTP server on 127.0.0.1:P and one on 127.0.0.2:P
// (same port), each answering with its own address in X-Served-By.
func twoNodes(t *testing.T) (port string) {
	t.Helper()
	handler := func(self string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("X-Served-By", self)
			w.Write([]byte("ok"))
		})
	}
	for attempt := 0; attempt < 20; attempt++ {
		l1, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ = net.SplitHostPort(l1.Addr().String())
		l2, err := net.Listen("tcp", "127.0.0.2:"+port)
		if err != nil {
			l1.Close()
			continue
		}
		for _, l := range []net.Listener{l1, l2} {
			srv := &http.Server{Handler: handler(l.Addr().(*net.TCPAddr).IP.String())}
			go srv.Serve(l)
			t.Cleanup(func() { srv.Close() })
		}
		return port
	}
	t.Skip("could not get the same port on 127.0.0.1 and 127.0.0.2")
	return ""
}

func TestDNSSpreadAndFailover(t *testing.T) {
	const name = "alb.test.internal"
	node1, node2 := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")
	dns := newFakeDNS(t, name, node1, node2)
	port := twoNodes(t)

	const (
		ttl    = 300 * time.Millisecond
		age    = 200 * time.Millisecond
		idle   = 300 * time.Millisecond
		change = time.Second
	)
	cfg := Config{
		Requests:    []Request{{URL: "http://" + name + ":" + port + "/"}},
		Stages:      constant(2500*time.Millisecond, 100),
		Timeout:     time.Second,
		Workers:     4,
		MaxWorkers:  8,
		KeepAlive:   true,
		MaxConnAge:  age,
		IdleTimeout: idle,
		Resolver:    dns.pc.LocalAddr().String(),
		DNSTTL:      ttl,
		NodeAZ: func(ip netip.Addr) string {
			return map[netip.Addr]string{node1: "local-1a", node2: "local-1b"}[ip]
		},
	}
	var started time.Time
	var once sync.Once
	var hits []*Hit
	sum, err := Run(context.Background(), cfg, func(h *Hit) {
		once.Do(func() {
			started = h.Start
			time.AfterFunc(change-time.Since(started), func() { dns.set(node1) })
		})
		hits = append(hits, h)
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Sent < 200 {
		t.Fatalf("sent %d", sum.Sent)
	}
	// Before the change both nodes get a fair share; after TTL + max(age,
	// idle) + slack, none goes to the dropped node.
	settle := change + ttl + max(age, idle) + 200*time.Millisecond
	before := map[string]int{}
	after := map[string]int{}
	tl, _ := timeline.New(started, 100*time.Millisecond)
	for _, h := range hits {
		if h.Class != timeline.ClassOK {
			t.Fatalf("hit failed: %+v", h)
		}
		if served := h.Raw.Headers.Get("X-Served-By"); served != h.Node {
			t.Fatalf("hit labelled %q was served by %q", h.Node, served)
		}
		if h.Raw.Headers.Get(NodeHeader) != h.Node {
			t.Fatalf("raw result lacks the node header: %v", h.Raw.Headers)
		}
		if want := map[string]string{"127.0.0.1": "local-1a", "127.0.0.2": "local-1b"}[h.Node]; h.AZ != want {
			t.Fatalf("node %s labelled AZ %q", h.Node, h.AZ)
		}
		switch off := h.Start.Sub(started); {
		case off < change:
			before[h.Node]++
		case off >= settle:
			after[h.Node]++
		}
		tl.Add(timeline.Result{Start: h.Start, Latency: h.Latency, Class: h.Class, AZ: h.AZ})
	}
	t.Logf("before the change: %v; after it settled: %v; dials %d, retired %d", before, after, sum.Dials, sum.ConnsRetired)
	total := before["127.0.0.1"] + before["127.0.0.2"]
	for _, n := range []string{"127.0.0.1", "127.0.0.2"} {
		if before[n] < total/5 {
			t.Errorf("node %s got %d of %d hits before the change", n, before[n], total)
		}
	}
	if after["127.0.0.2"] != 0 || after["127.0.0.1"] == 0 {
		t.Errorf("after the DNS change settled: %v, want only 127.0.0.1", after)
	}
	// Per-AZ counts in the timeline agree.
	tot := tl.Total()
	if tot.AZ["local-1a"].Requests+tot.AZ["local-1b"].Requests != tot.Requests || tot.AZ["local-1b"].Requests != uint64(before["127.0.0.2"])+countNode(hits, "127.0.0.2", started.Add(change)) {
		t.Errorf("per-AZ counts: %+v %+v", tot.AZ["local-1a"], tot.AZ["local-1b"])
	}
}

func countNode(hits []*Hit, node string, from time.Time) uint64 {
	var n uint64
	for _, h := range hits {
		if h.Node == node && !h.Start.Before(from) {
			n++
		}
	}
	return n
}

func TestDialerRoundRobinTTLAndStaleAnswer(t *testing.T) {
	const name = "db.test.internal"
	a, b := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")
	dns := newFakeDNS(t, name, a, b)
	cfg := Config{Resolver: dns.pc.LocalAddr().String(), DNSTTL: time.Minute, DialTimeout: time.Second}
	d := newDialer(&cfg)
	now := time.Unix(1000, 0)
	d.now = func() time.Time { return now }

	picks := func(n int) map[netip.Addr]int {
		got := map[netip.Addr]int{}
		for i := 0; i < n; i++ {
			ip, err := d.pick(name)
			if err != nil {
				t.Fatal(err)
			}
			got[ip]++
		}
		return got
	}
	if got := picks(10); got[a] != 5 || got[b] != 5 {
		t.Fatalf("round robin: %v", got)
	}
	dns.set(b)
	if got := picks(4); got[a] != 2 {
		t.Fatalf("answer re-resolved before the TTL: %v", got)
	}
	now = now.Add(time.Minute)
	if got := picks(4); got[b] != 4 {
		t.Fatalf("after the TTL: %v, want only %v", got, b)
	}
	// The name stops resolving: the stale answer is kept, and retried soon.
	dns.set()
	now = now.Add(time.Minute)
	if got := picks(2); got[b] != 2 {
		t.Fatalf("stale answer not kept: %v", got)
	}
	dns.mu.Lock()
	q := dns.queries
	dns.mu.Unlock()
	dns.set(a)
	now = now.Add(2 * time.Second)
	if got := picks(2); got[a] != 2 {
		t.Fatalf("retry after a failed lookup: %v (queries before %d)", got, q)
	}
	// A name that never resolved fails the dial.
	if _, err := d.pick("nothing.test.internal"); err == nil {
		t.Fatal("unknown name resolved")
	}
}
