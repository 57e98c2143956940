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

// hitCost is what in-process runs of a hit path cost, in all.
type hitCost struct {
	mallocs, bytes, hits, notSent float64
	cpu                           time.Duration
}

func (c hitCost) plus(d hitCost) hitCost {
	return hitCost{c.mallocs + d.mallocs, c.bytes + d.bytes, c.hits + d.hits, c.notSent + d.notSent, c.cpu + d.cpu}
}

func (c hitCost) allocsPerHit() float64    { return c.mallocs / c.hits }
func (c hitCost) bytesPerHit() float64     { return c.bytes / c.hits }
func (c hitCost) cpuMicrosPerHit() float64 { return float64(c.cpu.Microseconds()) / c.hits }

// report puts the cost per hit in the benchmark's output.
func (c hitCost) report(b *testing.B) {
	b.ReportMetric(c.allocsPerHit(), "allocs/hit")
	b.ReportMetric(c.bytesPerHit(), "B/hit")
	b.ReportMetric(c.cpuMicrosPerHit(), "cpu-µs/hit")
}

// measure runs send between start and stop (a benchmark's ResetTimer and
// StopTimer) and returns what it cost this process; send returns how many
// hits it sent and how many it could not.
func measure(tb testing.TB, start, stop func(), send func() (sent, notSent uint64)) hitCost {
	tb.Helper()
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	cpu0 := cpuTime()
	start()
	sent, notSent := send()
	stop()
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&ms1)
	if sent == 0 {
		tb.Fatal("nothing sent")
	}
	return hitCost{mallocs: float64(ms1.Mallocs - ms0.Mallocs), bytes: float64(ms1.TotalAlloc - ms0.TotalAlloc),
		hits: float64(sent), notSent: float64(notSent), cpu: cpu}
}

// measureHitPath sends n hits at rate to url through Run, feeding a
// timeline as the runner does.
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
	return measure(tb, start, stop, func() (uint64, uint64) {
		sum, err := Run(context.Background(), cfg, func(h *Hit) {
			tl.Add(timeline.Result{Due: h.Due, Start: h.Start, Latency: h.Latency, Service: h.Service,
				Class: h.Class, AZ: h.AZ, TargetAZ: h.TargetAZ, BytesIn: h.BytesIn, BytesOut: h.BytesOut})
		})
		if err != nil {
			tb.Fatal(err)
		}
		return sum.Sent, sum.Dropped
	})
}

// measureVegetaLib sends the same load with vegeta's own attacker and a
// plain client (what the vegeta CLI does, minus writing results).
func measureVegetaLib(tb testing.TB, url string, n int, rate float64, start, stop func()) hitCost {
	tb.Helper()
	atk := vegeta.NewAttacker(vegeta.Workers(32), vegeta.MaxWorkers(256), vegeta.KeepAlive(true))
	tgt := vegeta.NewStaticTargeter(vegeta.Target{Method: "GET", URL: url})
	return measure(tb, start, stop, func() (uint64, uint64) {
		var sent uint64
		for range atk.Attack(tgt, vegeta.ConstantPacer{Freq: int(rate), Per: time.Second}, time.Duration(float64(n)/rate*float64(time.Second)), "") {
			sent++
		}
		return sent, 0
	})
}

// BenchmarkHitPath is the harness's cost per hit, in process, against the
// loopback server of the other benchmarks (a child process, so its work is
// not counted): b.N hits at 10k rps (GAMEDAY_BENCH_HIT_RATE) fed to a
// timeline as the runner does. Its allocs/hit and B/hit are exact (the machine's noise does not touch
// them); cpu-µs/hit is this process's CPU, noisy on a shared machine.
func BenchmarkHitPath(b *testing.B) {
	url := startBenchServer(b)
	c := measureHitPath(b, url, max(b.N, 1000), hitPathRate, b.ResetTimer, b.StopTimer)
	c.report(b)
	b.ReportMetric(c.notSent, "not-sent")
}

// BenchmarkHitPathVegetaLib is the same load sent by vegeta's own attacker
// with a plain client (what the vegeta CLI does, minus writing results):
// the floor BenchmarkHitPath is compared with.
func BenchmarkHitPathVegetaLib(b *testing.B) {
	url := startBenchServer(b)
	measureVegetaLib(b, url, max(b.N, 1000), hitPathRate, b.ResetTimer, b.StopTimer).report(b)
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
		gd = gd.plus(measureHitPath(t, url, n, rate, nop, nop))
		vg = vg.plus(measureVegetaLib(t, url, n, rate, nop, nop))
	}
	ga, gb := gd.allocsPerHit(), gd.bytesPerHit()
	va, vb := vg.allocsPerHit(), vg.bytesPerHit()
	t.Logf("per hit: gameday %.1f allocations, %.0f B; vegeta's attacker %.1f, %.0f B", ga, gb, va, vb)
	if gb > 1.08*vb || ga > va+3 {
		t.Errorf("the hit path allocates %.1f times and %.0f B per hit, against vegeta's %.1f and %.0f B: above the bound (+3, +8%%)", ga, gb, va, vb)
	}
}
