package sim

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// testTimings are the quick timings with a slower boot, drain, failover
// and grace period, which the model's own tests are tuned to.
func testTimings() Timings {
	t := quickTimings()
	t.DeregistrationDelay = 300 * time.Millisecond
	t.BootDelay = 500 * time.Millisecond
	t.FailoverTime = time.Second
	t.RebootTime = 500 * time.Millisecond
	t.ASGCheckInterval = 200 * time.Millisecond
	t.GracePeriod = time.Second
	return t
}

func testConfig() Config {
	return Config{Timings: testTimings(), Seed: 42, Instance: InstanceConfig{ServiceTime: time.Millisecond}}
}

func startRegion(t testing.TB, cfg Config) *Region {
	t.Helper()
	r, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func newClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout:   timeout,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true},
	}
}

type result struct {
	code   int // -1: transport error
	az     string
	server string // the Server header
	err    error
	start  time.Time
	at     time.Time
}

func do(c *http.Client, method, url string) result {
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(`{"sku":"gd-1","qty":1}`)
	}
	req, _ := http.NewRequest(method, url, body)
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return result{code: -1, err: err, start: start, at: time.Now()}
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return result{code: resp.StatusCode, az: resp.Header.Get("X-Availability-Zone"), server: resp.Header.Get("Server"), start: start, at: time.Now()}
}

// loader sends requests in a loop from a few workers until stopped.
type loader struct {
	mu      sync.Mutex
	results []result
	stop    chan struct{}
	wg      sync.WaitGroup
}

func startLoad(c *http.Client, method, url string, workers int, pause time.Duration) *loader {
	l := &loader{stop: make(chan struct{})}
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				res := do(c, method, url)
				l.mu.Lock()
				l.results = append(l.results, res)
				l.mu.Unlock()
				time.Sleep(pause)
			}
		}()
	}
	return l
}

func (l *loader) halt() []result {
	close(l.stop)
	l.wg.Wait()
	return l.results
}

func (l *loader) snapshot() []result {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]result(nil), l.results...)
}

func nodeURL(r *Region, i int, path string) string {
	return "http://" + r.ALBNodes()[i].Addr + path
}

func targetByID(t *testing.T, r *Region, id string) (TargetHealth, bool) {
	t.Helper()
	ths, err := r.TargetHealth(r.TargetGroups()[0].ARN)
	if err != nil {
		t.Fatal(err)
	}
	for _, th := range ths {
		if th.InstanceID == id {
			return th, true
		}
	}
	return TargetHealth{}, false
}

func countCodes(rs []result) map[int]int {
	m := map[int]int{}
	for _, x := range rs {
		m[x.code]++
	}
	return m
}

func apiCode(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	if err == nil {
		return ""
	}
	return "non-API: " + err.Error()
}

func hasEvent(r *Region, kind, to string) bool {
	for _, e := range r.Events() {
		if e.Kind == kind && e.To == to {
			return true
		}
	}
	return false
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// startedAfter keeps the results of requests sent after t.
func startedAfter(rs []result, t time.Time) []result {
	var out []result
	for _, x := range rs {
		if x.start.After(t) {
			out = append(out, x)
		}
	}
	return out
}

// detach takes an instance out of the group's management (test only), as
// if it had been launched on its own.
func detach(r *Region, id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.group
	for i, m := range g.members {
		if m.in.m.ID == id {
			g.members = append(g.members[:i], g.members[i+1:]...)
			m.in.group = ""
			g.m.Desired--
			g.m.Min = min(g.m.Min, g.m.Desired)
			return
		}
	}
}
