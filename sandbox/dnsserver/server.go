package dnsserver

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// LookupFunc returns the addresses of a name (lower-case, without the
// trailing dot), or none if the name is unknown. It must be fast and safe
// for concurrent use.
type LookupFunc func(name string) []netip.Addr

// DefaultTTL is the TTL of answers unless WithTTL says otherwise (the fast
// profile's 1 s).
const DefaultTTL = time.Second

// Option configures a Server.
type Option func(*Server)

// WithTTL sets the TTL of answers (rounded down to whole seconds; at least 0).
func WithTTL(d time.Duration) Option { return func(s *Server) { s.ttl = d } }

// WithoutTCP serves UDP only.
func WithoutTCP() Option { return func(s *Server) { s.noTCP = true } }

// Server is a running DNS server.
type Server struct {
	lookup LookupFunc
	ttl    time.Duration
	noTCP  bool

	udp  *net.UDPConn
	tcp  *net.TCPListener
	addr string

	queries atomic.Uint64
	wg      sync.WaitGroup
	once    sync.Once
	done    chan struct{}
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
}

// Start listens on addr ("127.0.0.1:0" picks a free port; the host must be
// a loopback address) over UDP and, on the same port, TCP, and serves until
// Close or until ctx is done.
func Start(ctx context.Context, addr string, lookup LookupFunc, opts ...Option) (*Server, error) {
	if lookup == nil {
		return nil, errors.New("dnsserver: nil lookup")
	}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dnsserver: address %q: %w", addr, err)
	}
	if !ap.Addr().IsLoopback() {
		return nil, fmt.Errorf("dnsserver: address %q is not a loopback address", addr)
	}
	s := &Server{lookup: lookup, ttl: DefaultTTL, done: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	for _, o := range opts {
		o(s)
	}
	// With port 0, UDP picks the port and TCP must get the same one; retry
	// if another process holds it for TCP.
	for attempt := 0; ; attempt++ {
		udp, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
		if err != nil {
			return nil, fmt.Errorf("dnsserver: %w", err)
		}
		if s.noTCP {
			s.udp = udp
			break
		}
		port := udp.LocalAddr().(*net.UDPAddr).Port
		tcp, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(ap.Addr(), uint16(port))))
		if err != nil {
			udp.Close()
			if ap.Port() == 0 && attempt < 10 {
				continue
			}
			return nil, fmt.Errorf("dnsserver: %w", err)
		}
		s.udp, s.tcp = udp, tcp
		break
	}
	s.addr = s.udp.LocalAddr().String()
	s.wg.Add(1)
	go s.serveUDP()
	if s.tcp != nil {
		s.wg.Add(1)
		go s.serveTCP()
	}
	if ctx != nil && ctx.Done() != nil {
		go func() {
			select {
			case <-ctx.Done():
				s.Close()
			case <-s.done:
			}
		}()
	}
	return s, nil
}

// Addr is the "127.0.0.1:PORT" the server answers on (UDP and TCP).
func (s *Server) Addr() string { return s.addr }

// Queries counts the queries answered so far.
func (s *Server) Queries() uint64 { return s.queries.Load() }

// Close stops the server and waits for its goroutines. It is idempotent.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		close(s.done)
		err = s.udp.Close()
		if s.tcp != nil {
			err = errors.Join(err, s.tcp.Close())
		}
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return err
}

func (s *Server) serveUDP() {
	defer s.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, from, err := s.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		resp := s.answer(buf[:n], 512)
		if resp != nil {
			_, _ = s.udp.WriteToUDPAddrPort(resp, from)
		}
	}
}

func (s *Server) serveTCP() {
	defer s.wg.Done()
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		s.mu.Lock()
		select {
		case <-s.done:
			s.mu.Unlock()
			c.Close()
			return
		default:
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serveConn(c)
	}
}

func (s *Server) serveConn(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	var lenBuf [2]byte
	for {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(c, lenBuf[:]); err != nil {
			return
		}
		msg := make([]byte, binary.BigEndian.Uint16(lenBuf[:]))
		if _, err := io.ReadFull(c, msg); err != nil {
			return
		}
		resp := s.answer(msg, 65535)
		if resp == nil {
			return
		}
		out := make([]byte, 2+len(resp))
		binary.BigEndian.PutUint16(out, uint16(len(resp)))
		copy(out[2:], resp)
		_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

// answer builds the response to one query message; nil drops it.
func (s *Server) answer(req []byte, maxSize int) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(req)
	if err != nil || h.Response {
		return nil // not a query we can even answer with an error
	}
	s.queries.Add(1)
	qs, err := p.AllQuestions()
	resp := dnsmessage.Header{ID: h.ID, Response: true, OpCode: h.OpCode, RecursionDesired: h.RecursionDesired, Authoritative: true}
	switch {
	case err != nil:
		resp.RCode = dnsmessage.RCodeFormatError
		return build(resp, nil, nil, maxSize)
	case h.OpCode != 0: // only QUERY
		resp.RCode = dnsmessage.RCodeNotImplemented
		return build(resp, qs, nil, maxSize)
	case len(qs) != 1:
		resp.RCode = dnsmessage.RCodeFormatError
		return build(resp, qs, nil, maxSize)
	}
	if edns, ok := ednsSize(&p); ok && int(edns) > maxSize {
		maxSize = int(edns)
	}
	q := qs[0]
	if q.Class != dnsmessage.ClassINET && q.Class != dnsmessage.ClassANY {
		resp.RCode = dnsmessage.RCodeRefused
		return build(resp, qs, nil, maxSize)
	}
	name := strings.TrimSuffix(strings.ToLower(q.Name.String()), ".")
	addrs := s.lookup(name)
	if len(addrs) == 0 {
		resp.RCode = dnsmessage.RCodeNameError
		return build(resp, qs, nil, maxSize)
	}
	var answers []dnsmessage.Resource
	ttl := uint32(max(s.ttl, 0) / time.Second)
	for _, a := range addrs {
		rh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: ttl}
		switch {
		case a.Is4() && (q.Type == dnsmessage.TypeA || q.Type == dnsmessage.TypeALL):
			rh.Type = dnsmessage.TypeA
			answers = append(answers, dnsmessage.Resource{Header: rh, Body: &dnsmessage.AResource{A: a.As4()}})
		case a.Is6() && !a.Is4In6() && (q.Type == dnsmessage.TypeAAAA || q.Type == dnsmessage.TypeALL):
			rh.Type = dnsmessage.TypeAAAA
			answers = append(answers, dnsmessage.Resource{Header: rh, Body: &dnsmessage.AAAAResource{AAAA: a.As16()}})
		}
	}
	// A known name without records of the asked type: NOERROR, no data.
	return build(resp, qs, answers, maxSize)
}

// ednsSize returns the UDP payload size of the request's OPT record.
func ednsSize(p *dnsmessage.Parser) (uint16, bool) {
	if err := p.SkipAllAnswers(); err != nil {
		return 0, false
	}
	if err := p.SkipAllAuthorities(); err != nil {
		return 0, false
	}
	for {
		h, err := p.AdditionalHeader()
		if err != nil {
			return 0, false
		}
		if h.Type == dnsmessage.TypeOPT {
			return uint16(h.Class), true
		}
		if err := p.SkipAdditional(); err != nil {
			return 0, false
		}
	}
}

func build(h dnsmessage.Header, qs []dnsmessage.Question, answers []dnsmessage.Resource, maxSize int) []byte {
	for {
		b := dnsmessage.NewBuilder(make([]byte, 0, 512), h)
		b.EnableCompression()
		if err := b.StartQuestions(); err != nil {
			return nil
		}
		for _, q := range qs {
			if err := b.Question(q); err != nil {
				return nil
			}
		}
		if err := b.StartAnswers(); err != nil {
			return nil
		}
		for _, a := range answers {
			var err error
			switch body := a.Body.(type) {
			case *dnsmessage.AResource:
				err = b.AResource(a.Header, *body)
			case *dnsmessage.AAAAResource:
				err = b.AAAAResource(a.Header, *body)
			}
			if err != nil {
				return nil
			}
		}
		msg, err := b.Finish()
		if err != nil {
			return nil
		}
		if len(msg) <= maxSize || len(answers) == 0 {
			return msg
		}
		// Too big for the transport: drop answers and set TC.
		answers = answers[:len(answers)/2]
		h.Truncated = true
	}
}
