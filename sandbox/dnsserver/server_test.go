package dnsserver

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

type table struct {
	mu sync.Mutex
	m  map[string][]netip.Addr
}

func (t *table) lookup(name string) []netip.Addr {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[name]
}

func (t *table) set(name string, addrs ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var as []netip.Addr
	for _, a := range addrs {
		as = append(as, netip.MustParseAddr(a))
	}
	t.m[name] = as
}

func start(t *testing.T, opts ...Option) (*Server, *table) {
	t.Helper()
	tab := &table{m: map[string][]netip.Addr{}}
	s, err := Start(context.Background(), "127.0.0.1:0", tab.lookup, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, tab
}

func resolver(addr, network string) *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
}

func TestResolverUDPAndTCP(t *testing.T) {
	s, tab := start(t)
	tab.set("alb-1.local-1.elb.sandbox", "127.0.0.12", "127.0.0.11")
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			r := resolver(s.Addr(), network)
			ips, err := r.LookupHost(ctx, "ALB-1.local-1.elb.sandbox")
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(ips)
			if !slices.Equal(ips, []string{"127.0.0.11", "127.0.0.12"}) {
				t.Fatalf("got %v", ips)
			}
			_, err = r.LookupHost(ctx, "nope.local-1.elb.sandbox")
			var de *net.DNSError
			if !errors.As(err, &de) || !de.IsNotFound {
				t.Fatalf("unknown name: want not-found DNSError, got %v", err)
			}
		})
	}
	// The answer follows the callback at once.
	tab.set("alb-1.local-1.elb.sandbox", "127.0.0.13")
	ips, err := resolver(s.Addr(), "udp").LookupHost(context.Background(), "alb-1.local-1.elb.sandbox")
	if err != nil || !slices.Equal(ips, []string{"127.0.0.13"}) {
		t.Fatalf("after change: %v %v", ips, err)
	}
	if s.Queries() == 0 {
		t.Fatal("no queries counted")
	}
}

// exchange sends one raw query over UDP and parses the reply.
func exchange(t *testing.T, addr string, h dnsmessage.Header, q dnsmessage.Question) (dnsmessage.Header, []dnsmessage.Resource) {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, h)
	if err := b.StartQuestions(); err != nil {
		t.Fatal(err)
	}
	if err := b.Question(q); err != nil {
		t.Fatal(err)
	}
	msg, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	var m dnsmessage.Message
	if err := m.Unpack(buf[:n]); err != nil {
		t.Fatal(err)
	}
	if m.Header.ID != h.ID {
		t.Fatalf("id %d, want %d", m.Header.ID, h.ID)
	}
	return m.Header, m.Answers
}

func TestRawAnswers(t *testing.T) {
	s, tab := start(t, WithTTL(5*time.Second), WithoutTCP())
	tab.set("db.sandbox", "127.0.0.20")
	name := dnsmessage.MustNewName("db.sandbox.")

	h, ans := exchange(t, s.Addr(), dnsmessage.Header{ID: 7, RecursionDesired: true}, dnsmessage.Question{Name: name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET})
	if h.RCode != dnsmessage.RCodeSuccess || !h.Authoritative || len(ans) != 1 {
		t.Fatalf("A: rcode %v aa %v answers %d", h.RCode, h.Authoritative, len(ans))
	}
	if ans[0].Header.TTL != 5 {
		t.Fatalf("ttl %d, want 5", ans[0].Header.TTL)
	}
	if a := ans[0].Body.(*dnsmessage.AResource).A; netip.AddrFrom4(a).String() != "127.0.0.20" {
		t.Fatalf("A = %v", a)
	}

	h, ans = exchange(t, s.Addr(), dnsmessage.Header{ID: 8}, dnsmessage.Question{Name: name, Type: dnsmessage.TypeAAAA, Class: dnsmessage.ClassINET})
	if h.RCode != dnsmessage.RCodeSuccess || len(ans) != 0 {
		t.Fatalf("AAAA of a known name: want NOERROR no data, got %v %d", h.RCode, len(ans))
	}

	h, _ = exchange(t, s.Addr(), dnsmessage.Header{ID: 9}, dnsmessage.Question{Name: dnsmessage.MustNewName("other.example."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET})
	if h.RCode != dnsmessage.RCodeNameError {
		t.Fatalf("unknown: %v", h.RCode)
	}

	h, _ = exchange(t, s.Addr(), dnsmessage.Header{ID: 10, OpCode: 2}, dnsmessage.Question{Name: name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET})
	if h.RCode != dnsmessage.RCodeNotImplemented {
		t.Fatalf("STATUS opcode: %v", h.RCode)
	}

	h, _ = exchange(t, s.Addr(), dnsmessage.Header{ID: 11}, dnsmessage.Question{Name: name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassCHAOS})
	if h.RCode != dnsmessage.RCodeRefused {
		t.Fatalf("CHAOS class: %v", h.RCode)
	}
}

func TestStartRejectsNonLoopbackAndCloses(t *testing.T) {
	if _, err := Start(context.Background(), "0.0.0.0:0", func(string) []netip.Addr { return nil }); err == nil {
		t.Fatal("0.0.0.0 accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := Start(ctx, "127.0.0.1:0", func(string) []netip.Addr { return nil })
	if err != nil {
		t.Fatal(err)
	}
	cancel() // ctx ends the server
	deadline := time.Now().Add(2 * time.Second)
	for {
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("server still accepting after ctx cancel")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
}
