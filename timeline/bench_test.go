package timeline

import (
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// BenchmarkTimelineAdd is the timeline's share of the per-hit path: one
// finished request placed in its window (three histograms, classes, bytes,
// two per-AZ maps), 20k hits per 1 s window.
func BenchmarkTimelineAdd(b *testing.B) {
	start := time.Unix(1_700_000_000, 0)
	tl, _ := New(start, time.Second)
	rs := syntheticResults(start, 1<<16)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r := rs[i&(1<<16-1)]
		r.Due = start.Add(time.Duration(i) * 50 * time.Microsecond)
		tl.Add(r)
	}
}

var benchAZs = [...]string{"us-east-1a", "us-east-1b", "us-east-1c"}

// syntheticResults draws n results: latencies spread like a faulted
// window's (a log-normal body around 2 ms, 1 % slow), 2 % failures.
func syntheticResults(start time.Time, n int) []Result {
	rng := rand.New(rand.NewPCG(16, 2))
	out := make([]Result, n)
	for i := range out {
		lat := time.Duration(float64(2*time.Millisecond) * (0.3 + rng.ExpFloat64()))
		if rng.IntN(100) == 0 {
			lat = time.Duration(rng.Int64N(int64(5 * time.Second)))
		}
		c := ClassOK
		if rng.IntN(50) == 0 {
			c = Classes[1+rng.IntN(8)]
		}
		az := benchAZs[rng.IntN(3)]
		out[i] = Result{Start: start, Latency: lat + 20*time.Microsecond, Service: lat, Class: c,
			AZ: az, TargetAZ: az, BytesIn: 512, BytesOut: 64}
	}
	return out
}

// BenchmarkWindowMemory reports the heap a window keeps (bytes/window) after
// 20,000 hits of syntheticResults each (a faulted window: a 2 ms body and
// 1 % slow hits up to 5 s, three AZs): what a timeline costs per window of
// a long run.
func BenchmarkWindowMemory(b *testing.B) {
	const windows, perWindow = 200, 20000
	start := time.Unix(1_700_000_000, 0)
	rs := syntheticResults(start, 1<<16)
	var perW float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		tl, _ := New(start, time.Second)
		for i := range windows * perWindow {
			r := rs[i&(1<<16-1)]
			r.Due = start.Add(time.Duration(i) * (time.Second / perWindow))
			tl.Add(r)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perW = float64(after.HeapAlloc-before.HeapAlloc) / windows
		runtime.KeepAlive(tl)
	}
	b.ReportMetric(perW, "bytes/window")
	b.ReportMetric(0, "ns/op")
}
