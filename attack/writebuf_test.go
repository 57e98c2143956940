package attack

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// The write buffer is the smallest power of two from 1 KiB that holds the
// largest request with every per-hit header, net/http's 4 KiB beyond.
func TestWriteBufferHoldsEveryRequest(t *testing.T) {
	body := func(n int) []byte { return bytes.Repeat([]byte("x"), n) }
	cases := []struct {
		name   string
		reqs   []Request
		attack string // the attack's name; "bench" when empty
		want   int
	}{
		{"small GET", []Request{{URL: "http://gameday-alb-1100421781.local-1.elb.gameday.internal:80/"}}, "", 1 << 10},
		{"GET with headers", []Request{{URL: "http://127.0.0.1:8080/api/v1/items?page=2", Header: http.Header{"Authorization": {"Bearer " + strings.Repeat("t", 600)}, "Host": {"shop.example.com"}}}}, "", 1 << 10},
		{"1.5 KiB POST", []Request{{Method: "POST", URL: "http://127.0.0.1/orders", Body: body(1500)}}, "", 2 << 10},
		{"the largest of several", []Request{{URL: "http://127.0.0.1/"}, {Method: "PUT", URL: "http://127.0.0.1/x", Body: body(3000)}}, "", 4 << 10},
		{"10 KiB POST", []Request{{Method: "POST", URL: "http://127.0.0.1/upload", Body: body(10 << 10)}}, "", 4 << 10},
		{"long attack name", []Request{{URL: "http://127.0.0.1/"}}, strings.Repeat("n", 900), 2 << 10},
		// The request's own Accept-Encoding replaces the transport's
		// "gzip": its length counts, not that of "gzip".
		{"own Accept-Encoding", []Request{{URL: "http://127.0.0.1/", Header: http.Header{"Accept-Encoding": {strings.Repeat("x", 900)}}}}, "", 2 << 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := c.attack
			if name == "" {
				name = "bench"
			}
			got := writeBufferSize(c.reqs, headerText(name))
			if got != c.want {
				t.Errorf("write buffer %d, want %d", got, c.want)
			}
		})
	}
}

// An unparsable URL (refused by validation before Run ever gets here)
// gets net/http's default rather than a guess.
func TestWriteBufferDefaultWhenUnknown(t *testing.T) {
	if got := writeBufferSize([]Request{{URL: "http://[::1"}}, "x"); got != maxWriteBuffer {
		t.Errorf("write buffer %d for an unparsable URL, want %d", got, maxWriteBuffer)
	}
}

// On real traffic every request, with all that vegeta and the transport
// add to it (the seq, the attack's name, Accept-Encoding, Connection:
// close on a connection's last request), fits the write buffer the
// connection got, so it leaves in one write: the server counts the bytes
// of each request (a client sends the next request on a connection only
// after the answer to the last, so the bytes a connection delivered
// between two answers are exactly one request).
func TestWriteBufferHoldsRequestsOnTheWire(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var (
		mu      sync.Mutex
		largest int
		seen    int
	)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				cc := &countConn{Conn: c}
				br := bufio.NewReader(cc)
				for {
					before := cc.n
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					if br.Buffered() != 0 {
						t.Errorf("the client sent more than one request before an answer")
					}
					mu.Lock()
					largest, seen = max(largest, cc.n-before), seen+1
					mu.Unlock()
					resp := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
					if req.Close {
						resp = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
					}
					if _, err := io.WriteString(c, resp); err != nil || req.Close {
						return
					}
				}
			}()
		}
	}()
	reqs := []Request{
		// Just over 1 KiB on the wire with what is added per hit, and
		// under it without: a size that forgot those would be 1 KiB.
		{URL: "http://" + ln.Addr().String() + "/api/items?page=2", Header: http.Header{"Authorization": {"Bearer " + strings.Repeat("t", 855)}}},
		{Method: "POST", URL: "http://" + ln.Addr().String() + "/orders", Body: bytes.Repeat([]byte("x"), 200)},
	}
	name := "write buffer"
	size := writeBufferSize(reqs, headerText(name))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sum, err := Run(ctx, Config{
		Name:       name,
		Requests:   reqs,
		Stages:     []Stage{{Duration: 500 * time.Millisecond, From: 400, To: 400}},
		KeepAlive:  true,
		MaxConnAge: 50 * time.Millisecond, // last requests of a connection carry Connection: close
		Timeout:    2 * time.Second,
	}, func(*Hit) {})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if seen < 100 || sum.ConnsRetired == 0 {
		t.Fatalf("%d requests seen, %d connections retired: not the traffic the test needs", seen, sum.ConnsRetired)
	}
	if largest <= minWriteBuffer || largest > minWriteBuffer+64 {
		t.Fatalf("the largest request took %d bytes: the test needs one just over %d", largest, minWriteBuffer)
	}
	if largest > size {
		t.Errorf("a request took %d bytes on the wire, more than its connection's %d-byte write buffer", largest, size)
	}
	t.Logf("%d requests, the largest %d bytes, write buffer %d", seen, largest, size)
}

type countConn struct {
	net.Conn
	n int
}

func (c *countConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n += n
	return n, err
}
