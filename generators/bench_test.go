package generators

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/gameday-dev/gameday/attack"
	"github.com/gameday-dev/gameday/timeline"
)

// BenchmarkLocalWorkers sends one plan (GAMEDAY_BENCH_RPS, default 4000
// rps, for 5 s) from 1, 2 and 4 local worker processes at a loopback
// server in this process, and reports the rate held (sent per second of
// plan), the hits not sent, and the workers' CPU per request (user+system
// of the worker processes, from their rusage; the coordinator's merging
// and the server are not counted).
func BenchmarkLocalWorkers(b *testing.B) {
	rps := 4000.0
	if v, err := strconv.ParseFloat(os.Getenv("GAMEDAY_BENCH_RPS"), 64); err == nil && v > 0 {
		rps = v
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer srv.Close()
	const dur = 5 * time.Second
	for _, n := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			for b.Loop() {
				eng := &Local{Command: []string{os.Args[0]}, Env: []string{workerEnv + "=1"}, Grace: 2 * time.Second}
				c, err := New(Config{Engine: eng, Count: n, RunID: "bench", JoinTimeout: 30 * time.Second})
				if err != nil {
					b.Fatal(err)
				}
				cfg := attack.Config{Requests: []attack.Request{{URL: srv.URL + "/"}}, Timeout: 2 * time.Second, KeepAlive: true,
					MaxWorkers: 512, Stages: []attack.Stage{{Duration: dur, From: rps, To: rps}}}
				start, err := c.Barrier(context.Background(), cfg, time.Second)
				if err != nil {
					b.Fatal(err)
				}
				tl, _ := timeline.New(start, time.Second)
				m := &merged{tl: tl}
				sum, err := c.Run(context.Background(), m.merge, func(why string) { b.Errorf("abort: %s", why) })
				if err != nil {
					b.Fatal(err)
				}
				if err := c.Close(); err != nil {
					b.Fatal(err)
				}
				var cpu time.Duration
				for _, ws := range c.order {
					ps := ws.handle.(*localHandle).cmd.ProcessState
					cpu += ps.UserTime() + ps.SystemTime()
				}
				b.ReportMetric(float64(sum.Sent)/dur.Seconds(), "rps-held")
				b.ReportMetric(rps, "rps-asked")
				total := tl.Total()
				b.ReportMetric(float64(total.Classes.Get(timeline.ClassNotSent)), "not-sent")
				b.ReportMetric(float64(cpu.Microseconds())/float64(max(sum.Sent, 1)), "cpu-µs/req")
			}
		})
	}
}
