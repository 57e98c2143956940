package sandbox

import (
	"net/http"
	"testing"
	"time"

	"github.com/gameday-dev/gameday/sandbox/sim"
)

// TestFailuresOverHTTP: an attached sandbox serves its failure record on
// /_sandbox/failures, which Remote.Failures reads back.
func TestFailuresOverHTTP(t *testing.T) {
	cfg := testConfig()
	cfg.Region.Group = sim.GroupConfig{Min: 0, Desired: 0, Max: 1}
	s, _ := startSandbox(t, cfg)
	start := time.Now()
	c := &http.Client{Timeout: 2 * time.Second}
	for range 3 {
		resp, err := c.Get("http://" + s.Region().ALBNodes()[0].Addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 503 {
			t.Fatalf("status %d, want the load balancer's 503", resp.StatusCode)
		}
	}
	rm, err := Attach(ctxT(t), s.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	fs, err := rm.Failures(ctxT(t), start)
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, b := range fs {
		if b.Reason != sim.FailNoHealthyTarget || b.AZ != s.Region().ALBNodes()[0].AZ {
			t.Errorf("bucket %+v", b)
		}
		n += b.Count
	}
	if n != 3 {
		t.Errorf("record holds %d failures over HTTP, want 3: %+v", n, fs)
	}
	if fs, err := rm.Failures(ctxT(t), time.Now().Add(time.Minute)); err != nil || len(fs) != 0 {
		t.Errorf("since the future: %v %v", fs, err)
	}
}
