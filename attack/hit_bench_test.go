package attack

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gameday-dev/gameday/timeline"
)

// hitPathRate is the rate of the HitPath benchmarks; GAMEDAY_BENCH_HIT_RATE
// sets another.
var hitPathRate = float64(envIntOr("GAMEDAY_BENCH_HIT_RATE", 10000))

func envIntOr(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// BenchmarkHitPath is the harness's cost per hit, in process, against the
// loopback server of the other benchmarks (a child process, so its work is
// not counted): b.N hits at 10k rps (GAMEDAY_BENCH_HIT_RATE) fed to a
// timeline as the runner does. Its allocs/hit and B/hit are exact (the machine's noise does not touch
// them); cpu-µs/hit is this process's CPU, noisy on a shared machine.
func BenchmarkHitPath(b *testing.B) {
	url := startBenchServer(b)
	rate := hitPathRate
	n := max(b.N, 1000)
	cfg := Config{
		Requests:   []Request{{URL: url}},
		Stages:     constant(time.Duration(float64(n)/rate*float64(time.Second)), rate),
		Timeout:    5 * time.Second,
		KeepAlive:  true,
		Workers:    32,
		MaxWorkers: 256,
	}
	tl, _ := timeline.New(time.Now(), time.Second)
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	cpu0 := cpuTime()
	b.ResetTimer()
	sum, err := Run(context.Background(), cfg, func(h *Hit) {
		tl.Add(timeline.Result{Due: h.Due, Start: h.Start, Latency: h.Latency, Service: h.Service,
			Class: h.Class, AZ: h.AZ, TargetAZ: h.TargetAZ, BytesIn: h.BytesIn, BytesOut: h.BytesOut})
	})
	b.StopTimer()
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&ms1)
	if err != nil {
		b.Fatal(err)
	}
	if sum.Sent == 0 {
		b.Fatal("nothing sent")
	}
	hits := float64(sum.Sent)
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/hits, "allocs/hit")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/hits, "B/hit")
	b.ReportMetric(float64(cpu.Microseconds())/hits, "cpu-µs/hit")
	b.ReportMetric(float64(sum.Dropped), "not-sent")
}

// BenchmarkHitPathVegetaLib is the same load sent by vegeta's own attacker
// with a plain client (what the vegeta CLI does, minus writing results):
// the floor BenchmarkHitPath is compared with.
func BenchmarkHitPathVegetaLib(b *testing.B) {
	url := startBenchServer(b)
	rate := hitPathRate
	n := max(b.N, 1000)
	atk := vegeta.NewAttacker(vegeta.Workers(32), vegeta.MaxWorkers(256), vegeta.KeepAlive(true))
	tgt := vegeta.NewStaticTargeter(vegeta.Target{Method: "GET", URL: url})
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	cpu0 := cpuTime()
	b.ResetTimer()
	var sent uint64
	for r := range atk.Attack(tgt, vegeta.ConstantPacer{Freq: int(rate), Per: time.Second}, time.Duration(float64(n)/rate*float64(time.Second)), "") {
		_ = r
		sent++
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&ms1)
	hits := float64(sent)
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/hits, "allocs/hit")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/hits, "B/hit")
	b.ReportMetric(float64(cpu.Microseconds())/hits, "cpu-µs/hit")
}
