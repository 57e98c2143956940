package attack

import (
	"context"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/gameday-dev/gameday/timeline"
)

// quantile returns the q-quantile of ds (nearest rank), 0 when empty.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(q*float64(len(s))+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// A starved generator (a 100 ms app, 8 workers, 200 rps asked: capacity
// 80 rps) must neither hide the queue users would have met nor the hits it
// could not send: latency from the intended send time reaches seconds, the
// unsent hits arrive as not_sent at their due time, and every hit of the
// plan is accounted for inside the plan's span.
func TestStarvedGeneratorCountsQueueAndUnsent(t *testing.T) {
	s, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(100 * time.Millisecond):
		case <-r.Context().Done():
		}
	})
	timeout := 4 * time.Second // a hit may start up to 2 s late
	cfg := Config{
		Requests:   []Request{{URL: s.URL}},
		Stages:     constant(4*time.Second, 200),
		Timeout:    timeout,
		Workers:    8,
		MaxWorkers: 8,
		KeepAlive:  true,
	}
	sum, hits := run(t, context.Background(), cfg, 15*time.Second)
	if sum.Asked != 800 || sum.Sent+sum.Dropped != sum.Asked || sum.Dropped+sum.Late < 300 {
		t.Fatalf("asked %d sent %d not sent %d", sum.Asked, sum.Sent, sum.Dropped)
	}
	var corrected, service []time.Duration
	var notSent uint64
	planEnd := sum.Started.Add(4 * time.Second)
	for _, h := range hits {
		if h.Due.Before(sum.Started) || !h.Due.Before(planEnd) {
			t.Fatalf("hit due at %v, outside the plan [0, 4s)", h.Due.Sub(sum.Started))
		}
		if h.Class == timeline.ClassNotSent {
			notSent++
			if !h.Late {
				continue
			}
		}
		if h.Start.Before(h.Due.Add(-5 * time.Millisecond)) {
			t.Fatalf("hit started %v before it was due", h.Due.Sub(h.Start))
		}
		// Bounded: a sent hit never runs past its due time + timeout.
		if h.Latency > timeout {
			t.Fatalf("latency %v from the due time exceeds the %v timeout", h.Latency, timeout)
		}
		if h.Class == timeline.ClassOK {
			corrected = append(corrected, h.Latency)
			service = append(service, h.Service)
		}
	}
	if notSent != sum.Dropped+sum.Late {
		t.Fatalf("%d not_sent hits delivered, summary says %d", notSent, sum.Dropped)
	}
	p99, s99 := quantile(corrected, 0.99), quantile(service, 0.99)
	t.Logf("asked %d sent %d (%d too late) not sent %d; p99 corrected %v, service %v", sum.Asked, sum.Sent, sum.Late, sum.Dropped, p99, s99)
	if p99 < time.Second {
		t.Fatalf("corrected p99 %v: the queue users would have met is hidden", p99)
	}
	if s99 < 90*time.Millisecond || s99 > 600*time.Millisecond {
		t.Fatalf("service-time p99 %v, want ≈100ms", s99)
	}
}

// With ample workers the corrected and the service latency agree within a
// few milliseconds: there is no queue to correct for.
func TestAmpleWorkersCorrectedMatchesService(t *testing.T) {
	s, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(10 * time.Millisecond)
	})
	cfg := Config{
		Requests:   []Request{{URL: s.URL}},
		Stages:     constant(2*time.Second, 100),
		Timeout:    2 * time.Second,
		Workers:    50,
		MaxWorkers: 200,
		KeepAlive:  true,
	}
	sum, hits := run(t, context.Background(), cfg, 8*time.Second)
	if sum.Dropped != 0 {
		t.Fatalf("%d hits not sent with ample workers", sum.Dropped)
	}
	var corrected, service, lag []time.Duration
	for _, h := range hits {
		if h.Class != timeline.ClassOK {
			t.Fatalf("hit %+v", h)
		}
		if h.Latency < h.Service {
			t.Fatalf("hit %d: corrected %v below service %v", h.Raw.Seq, h.Latency, h.Service)
		}
		corrected = append(corrected, h.Latency)
		service = append(service, h.Service)
		lag = append(lag, h.Latency-h.Service) // how late it started
	}
	for _, q := range []float64{0.5, 0.99} {
		t.Logf("p%v corrected %v service %v; start lag %v", q*100, quantile(corrected, q), quantile(service, q), quantile(lag, q))
	}
	// The machine running the tests may be busy: the typical hit starts on
	// time (within a few ms), the slowest within scheduling noise.
	if l := quantile(lag, 0.5); l > 5*time.Millisecond {
		t.Errorf("median start lag %v: corrected and service latency differ by more than a few ms", l)
	}
	if l := quantile(lag, 0.99); l > 250*time.Millisecond {
		t.Errorf("p99 start lag %v with ample workers", l)
	}
}
