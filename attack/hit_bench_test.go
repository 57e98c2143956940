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

// hitCost is what one in-process run of the hit path cost per hit.
type hitCost struct{ allocs, bytes, cpuMicros, notSent, hits float64 }

// measureHitPath sends n hits at rate to url through Run, feeding a
// timeline as the runner does, and returns their cost per hit; start runs
// just before the first hit is asked for (a benchmark's ResetTimer).
func measureHitPath(tb testing.TB, url string, n int, rate float64, start, stop func()) hitCost {
	tb.Helper()
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
	start()
	sum, err := Run(context.Background(), cfg, func(h *Hit) {
		tl.Add(timeline.Result{Due: h.Due, Start: h.Start, Latency: h.Latency, Service: h.Service,
			Class: h.Class, AZ: h.AZ, TargetAZ: h.TargetAZ, BytesIn: h.BytesIn, BytesOut: h.BytesOut})
	})
	stop()
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&ms1)
	if err != nil {
		tb.Fatal(err)
	}
	if sum.Sent == 0 {
		tb.Fatal("nothing sent")
	}
	hits := float64(sum.Sent)
	return hitCost{
		allocs: float64(ms1.Mallocs-ms0.Mallocs) / hits, bytes: float64(ms1.TotalAlloc-ms0.TotalAlloc) / hits,
		cpuMicros: float64(cpu.Microseconds()) / hits, notSent: float64(sum.Dropped), hits: hits,
	}
}

// measureVegetaLib sends the same load with vegeta's own attacker and a
// plain client (what the vegeta CLI does, minus writing results).
func measureVegetaLib(url string, n int, rate float64, start, stop func()) hitCost {
	atk := vegeta.NewAttacker(vegeta.Workers(32), vegeta.MaxWorkers(256), vegeta.KeepAlive(true))
	tgt := vegeta.NewStaticTargeter(vegeta.Target{Method: "GET", URL: url})
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	cpu0 := cpuTime()
	start()
	var sent uint64
	for r := range atk.Attack(tgt, vegeta.ConstantPacer{Freq: int(rate), Per: time.Second}, time.Duration(float64(n)/rate*float64(time.Second)), "") {
		_ = r
		sent++
	}
	stop()
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&ms1)
	hits := float64(max(sent, 1))
	return hitCost{
		allocs: float64(ms1.Mallocs-ms0.Mallocs) / hits, bytes: float64(ms1.TotalAlloc-ms0.TotalAlloc) / hits,
		cpuMicros: float64(cpu.Microseconds()) / hits, hits: hits,
	}
}

// BenchmarkHitPath is the harness's cost per hit, in process, against the
// loopback server of the other benchmarks (a child process, so its work is
// not counted): b.N hits at 10k rps (GAMEDAY_BENCH_HIT_RATE) fed to a
// timeline as the runner does. Its allocs/hit and B/hit are exact (the machine's noise does not touch
// them); cpu-µs/hit is this process's CPU, noisy on a shared machine.
func BenchmarkHitPath(b *testing.B) {
	url := startBenchServer(b)
	c := measureHitPath(b, url, max(b.N, 1000), hitPathRate, b.ResetTimer, b.StopTimer)
	b.ReportMetric(c.allocs, "allocs/hit")
	b.ReportMetric(c.bytes, "B/hit")
	b.ReportMetric(c.cpuMicros, "cpu-µs/hit")
	b.ReportMetric(c.notSent, "not-sent")
}

// BenchmarkHitPathVegetaLib is the same load sent by vegeta's own attacker
// with a plain client (what the vegeta CLI does, minus writing results):
// the floor BenchmarkHitPath is compared with.
func BenchmarkHitPathVegetaLib(b *testing.B) {
	url := startBenchServer(b)
	c := measureVegetaLib(url, max(b.N, 1000), hitPathRate, b.ResetTimer, b.StopTimer)
	b.ReportMetric(c.allocs, "allocs/hit")
	b.ReportMetric(c.bytes, "B/hit")
	b.ReportMetric(c.cpuMicros, "cpu-µs/hit")
}

// TestHitPathAllocatesAsVegetaDoes keeps the hit path lean: per hit, Run
// (its transport, its request context and record, the Hit) allocates at
// most 8% more bytes and 3 more allocations than vegeta's own attacker
// with a plain client sending the same load in the same process (before
// the request context became the request's own record it was 11% and 3.4
// more). Counts, not times: the machine's speed does not enter, only how
// many connections each opens, which the pairs, alternated, share.
func TestHitPathAllocatesAsVegetaDoes(t *testing.T) {
	url := startBenchServer(t)
	const n, rate, rounds = 10000, 10000.0, 2
	var gd, vg hitCost
	nop := func() {}
	for range rounds {
		g := measureHitPath(t, url, n, rate, nop, nop)
		v := measureVegetaLib(url, n, rate, nop, nop)
		gd.allocs += g.allocs * g.hits
		gd.bytes += g.bytes * g.hits
		gd.hits += g.hits
		vg.allocs += v.allocs * v.hits
		vg.bytes += v.bytes * v.hits
		vg.hits += v.hits
	}
	ga, gb := gd.allocs/gd.hits, gd.bytes/gd.hits
	va, vb := vg.allocs/vg.hits, vg.bytes/vg.hits
	t.Logf("per hit: gameday %.1f allocations, %.0f B; vegeta's attacker %.1f, %.0f B", ga, gb, va, vb)
	if gb > 1.08*vb || ga > va+3 {
		t.Errorf("the hit path allocates %.1f times and %.0f B per hit, against vegeta's %.1f and %.0f B: above the bound (+3, +8%%)", ga, gb, va, vb)
	}
}
