package attack

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// The attack's name goes out as the X-Vegeta-Attack header. A name with a
// newline, ESC or NUL used to make every request fail on the client (and
// blame the target); it is sent percent-encoded instead, so every request
// goes out and the header reads back to the name.
func TestAttackNameIsHeaderSafe(t *testing.T) {
	var mu sync.Mutex
	var got []string
	s, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("X-Vegeta-Attack"))
		mu.Unlock()
		ok(w, r)
	})
	name := "checkout\r\nX-Evil: 1\x1b[31m\x00 100% é"
	sum, hits := run(t, context.Background(), Config{
		Requests: []Request{{URL: s.URL}}, Stages: constant(time.Second, 20), Name: name,
	}, 30*time.Second)
	if sum.Sent == 0 {
		t.Fatal("nothing sent")
	}
	for _, h := range hits {
		if h.Err != "" || h.Code != 200 {
			t.Fatalf("request failed: %d %s", h.Code, h.Err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := "checkout%0D%0AX-Evil: 1%1B[31m%00 100%25 %C3%A9"
	if len(got) == 0 || got[0] != want {
		t.Fatalf("header %q, want %q", got, want)
	}
	if d, err := decodeHeaderText(got[0]); err != nil || d != name {
		t.Fatalf("decoded %q (%v), want %q", d, err, name)
	}
}

// A target header that is not a valid HTTP field is a configuration error,
// not a run in which every request fails.
func TestInvalidTargetHeaderRefused(t *testing.T) {
	_, err := Run(context.Background(), Config{
		Requests: []Request{{URL: "http://127.0.0.1:1/", Header: http.Header{"X-A": {"a\r\nb"}, "Bad Name": {"x"}}}},
		Stages:   constant(time.Second, 1),
	}, func(*Hit) {})
	if err == nil || !strings.Contains(err.Error(), `requests[0].header["X-A"]`) || !strings.Contains(err.Error(), `requests[0].header["Bad Name"]`) {
		t.Fatalf("want both headers refused, got %v", err)
	}
}
