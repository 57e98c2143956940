package generators

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/gameday-dev/gameday/attack"
	"github.com/gameday-dev/gameday/timeline"
)

// BenchmarkLocalWorkers sends one plan (GAMEDAY_BENCH_RPS, default 20000
// rps, for 5 s) from 1, 2 and 4 local worker processes at a loopback
// server in this process, and reports the rate held (sent per second of
// plan), the hits not sent, the workers' CPU per request (user+system of
// the worker processes, from their rusage; the coordinator's merging and
// the server are not counted) and what that CPU per request makes one
// core's worth of workers hold (rps-per-core = 1s / cpu-per-request).
//
// With two or more cores and taskset, this process (the server and the
// coordinator) is pinned to core 0 and every worker to the last core, so
// "workers=N" is N workers sharing one core: the rate one core of workers
// holds, and what splitting it over processes costs.
func BenchmarkLocalWorkers(b *testing.B) {
	rps := 20000.0
	if v, err := strconv.ParseFloat(os.Getenv("GAMEDAY_BENCH_RPS"), 64); err == nil && v > 0 {
		rps = v
	}
	prefix := []string{}
	if last, ok := pinApart(); ok {
		prefix = []string{"taskset", "-c", last}
		fmt.Printf("LocalWorkers: server and coordinator pinned to core 0, every worker to core %s (taskset)\n", last)
	} else {
		fmt.Println("LocalWorkers: NOT pinned (one core or no taskset): server, coordinator and workers share the machine")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer srv.Close()
	const dur = 5 * time.Second
	for _, n := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			for b.Loop() {
				eng := &Local{Command: append(prefix[:len(prefix):len(prefix)], os.Args[0]), Env: []string{workerEnv + "=1"}, Grace: 2 * time.Second}
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
				perReq := float64(cpu.Microseconds()) / float64(max(sum.Sent, 1))
				b.ReportMetric(perReq, "cpu-µs/req")
				if perReq > 0 {
					b.ReportMetric(1e6/perReq, "rps-per-core")
				}
			}
		})
	}
}

// pinApart pins every thread of this process to core 0 (taskset -a -p) and
// returns the last core for the workers, when there are two or more cores
// and taskset is on PATH.
func pinApart() (string, bool) {
	if runtime.NumCPU() < 2 {
		return "", false
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		return "", false
	}
	if err := exec.Command("taskset", "-a", "-p", "-c", "0", strconv.Itoa(os.Getpid())).Run(); err != nil {
		return "", false
	}
	return strconv.Itoa(runtime.NumCPU() - 1), true
}
