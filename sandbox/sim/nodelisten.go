package sim

import (
	"errors"
	"net"
	"os"
	"sync"
	"time"
)

// nodeBacklog is the listen backlog of a load balancer node where the
// platform lets the sandbox choose it (Linux): small enough that a
// blackholed node can fill its accept queue cheaply, large enough that a
// burst of new client connections never overflows it in normal operation
// (the accept loop drains it in microseconds).
const nodeBacklog = 64

// nodeListener is a load balancer node's listener. While the node's subnet
// is blackholed (a network ACL drops the client's packets) it behaves as a
// real NACL does towards NEW connections: their SYNs go unanswered, so the
// client's connect times out and retransmits; it is never refused or reset.
//
// How, in userspace: the accept loop stops accepting, and the accept queue
// (backlog nodeBacklog, set explicitly on Linux) is filled with dummy
// connections the node dials to itself; with the queue full the kernel drops
// further SYNs. On restore the dummies are closed, accepting resumes (the
// dummies come out of the queue as connections that read EOF at once and are
// closed by the HTTP server), and a client still retransmitting its SYN gets
// through, as it would once the ACL allows it again. The listener is never
// closed and reopened: that would refuse connections in between.
//
// Connections established before the blackhole stay open and hang: the
// node's handler holds their requests (see lbNode.ServeHTTP).
//
// Where the backlog cannot be set (not Linux), blocking is a no-op and new
// connections are accepted and then held like established ones.
type nodeListener struct {
	*net.TCPListener
	addr string

	mu      sync.Mutex
	blocked bool
	open    chan struct{} // closed when the node is reachable again
	dummies []net.Conn
	full    bool       // the fill saw a SYN dropped: new connects now time out
	pending []net.Conn // real connections drained from the queue on restore

	closeOnce sync.Once
	closed    chan struct{}
}

func newNodeListener(ln net.Listener) (*nodeListener, error) {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		ln.Close()
		return nil, errors.New("node listener is not TCP")
	}
	return &nodeListener{TCPListener: tl, addr: tl.Addr().String(), closed: make(chan struct{})}, nil
}

// Accept accepts the next connection, waiting while the node is blackholed.
func (l *nodeListener) Accept() (net.Conn, error) {
	for {
		l.mu.Lock()
		blocked, open := l.blocked, l.open
		l.mu.Unlock()
		if blocked {
			select {
			case <-open:
			case <-l.closed:
				return nil, net.ErrClosed
			}
			continue
		}
		l.mu.Lock()
		if len(l.pending) > 0 {
			c := l.pending[0]
			l.pending = l.pending[1:]
			l.mu.Unlock()
			return c, nil
		}
		l.mu.Unlock()
		c, err := l.TCPListener.Accept()
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue // block() kicked the accept out; look again
			}
			return nil, err
		}
		return c, nil
	}
}

// Close closes the listener and wakes a blocked Accept.
func (l *nodeListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	l.mu.Lock()
	ds, ps := l.dummies, l.pending
	l.dummies, l.pending = nil, nil
	l.mu.Unlock()
	for _, c := range append(ds, ps...) {
		c.Close()
	}
	return l.TCPListener.Close()
}

// block makes new connections to the node time out in connect.
func (l *nodeListener) block() {
	if !canDropSYN {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.blocked {
		return
	}
	l.blocked, l.full = true, false
	l.open = make(chan struct{})
	_ = l.TCPListener.SetDeadline(time.Unix(1, 0)) // kick a pending Accept out
	go l.fill()
}

// unblock lets new connections through again. Before it returns, the
// dummies are taken out of the accept queue (accepted and closed), so the
// queue has room for the next SYN at once; real connections found in the
// queue meanwhile are handed to Accept first.
func (l *nodeListener) unblock() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.blocked {
		return
	}
	want := make(map[string]bool, len(l.dummies))
	for _, c := range l.dummies {
		want[c.LocalAddr().String()] = true
	}
	// Bounded: every dummy completed its handshake, so each is in the queue.
	_ = l.TCPListener.SetDeadline(time.Now().Add(time.Second))
	for len(want) > 0 {
		c, err := l.TCPListener.Accept()
		if err != nil {
			break
		}
		if k := c.RemoteAddr().String(); want[k] {
			delete(want, k)
			c.Close()
			continue
		}
		l.pending = append(l.pending, c)
	}
	for _, c := range l.dummies {
		c.Close()
	}
	l.dummies = nil
	l.blocked, l.full = false, false
	_ = l.TCPListener.SetDeadline(time.Time{})
	close(l.open)
}

// fill dials the node until a dial times out: the accept queue is then full
// and the kernel drops every further SYN.
func (l *nodeListener) fill() {
	d := net.Dialer{Timeout: 100 * time.Millisecond}
	for range 4 * nodeBacklog {
		l.mu.Lock()
		if !l.blocked {
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()
		c, err := d.Dial("tcp4", l.addr)
		l.mu.Lock()
		switch {
		case !l.blocked:
			l.mu.Unlock()
			if c != nil {
				c.Close()
			}
			return
		case err != nil:
			l.full = true
			l.mu.Unlock()
			return
		}
		l.dummies = append(l.dummies, c)
		l.mu.Unlock()
	}
}

// dropsSYN reports whether new connections are being dropped now.
func (l *nodeListener) dropsSYN() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.blocked && l.full
}
