package timeline

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketLayout(t *testing.T) {
	// Every bucket's bounds map back to it, and buckets tile the range.
	var next uint64
	for i := 0; i < numBucket; i++ {
		lo, w := bucketBounds(i)
		if lo != next {
			t.Fatalf("bucket %d starts at %d, want %d", i, lo, next)
		}
		if bucketOf(lo) != i || bucketOf(lo+w-1) != i {
			t.Fatalf("bucket %d [%d,+%d) does not map back", i, lo, w)
		}
		next = lo + w
	}
	if got := bucketOf(math.MaxUint64); got != numBucket-1 {
		t.Fatalf("huge value in bucket %d", got)
	}
}

// exactQuantile is the nearest-rank quantile of sorted values.
func exactQuantile(sorted []time.Duration, q float64) time.Duration {
	rank := int(math.Ceil(q * float64(len(sorted))))
	rank = max(rank, 1)
	return sorted[rank-1]
}

func TestHistogramQuantileProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	gens := map[string]func() time.Duration{
		"uniform-ms": func() time.Duration { return time.Duration(rng.Int64N(int64(500 * time.Millisecond))) },
		"lognormal":  func() time.Duration { return time.Duration(math.Exp(rng.NormFloat64()*2+13)) + time.Microsecond },
		"wide": func() time.Duration {
			// 1 µs … 60 s, log-uniform
			return time.Duration(math.Exp(rng.Float64()*math.Log(6e10/1e3)) * 1e3)
		},
		"bimodal": func() time.Duration {
			if rng.IntN(100) < 3 {
				return 5*time.Second + time.Duration(rng.Int64N(int64(time.Second)))
			}
			return 2*time.Millisecond + time.Duration(rng.Int64N(int64(time.Millisecond)))
		},
	}
	qs := []float64{0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 0.9999, 1}
	for name, gen := range gens {
		t.Run(name, func(t *testing.T) {
			for trial := 0; trial < 20; trial++ {
				n := 1 + rng.IntN(5000)
				var h Histogram
				vals := make([]time.Duration, n)
				var sum time.Duration
				for i := range vals {
					vals[i] = gen()
					sum += vals[i]
					h.Record(vals[i])
				}
				slices.Sort(vals)
				for _, q := range qs {
					want := exactQuantile(vals, q)
					got := h.Quantile(q)
					if rel := math.Abs(float64(got-want)) / float64(want); rel > RelativeError+1e-12 && math.Abs(float64(got-want)) > 1 {
						t.Fatalf("n=%d q=%v: got %v want %v (rel err %.4f > %.4f)", n, q, got, want, rel, RelativeError)
					}
				}
				if h.Count() != uint64(n) || h.Min() != vals[0] || h.Max() != vals[n-1] || h.Mean() != sum/time.Duration(n) {
					t.Fatalf("summary mismatch: count %d min %v max %v mean %v", h.Count(), h.Min(), h.Max(), h.Mean())
				}
			}
		})
	}
}

func TestHistogramMergeEqualsRecordAll(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 50; trial++ {
		var all Histogram
		parts := make([]Histogram, 1+rng.IntN(6))
		for i := 0; i < rng.IntN(3000); i++ {
			d := time.Duration(math.Exp(rng.Float64() * 24))
			all.Record(d)
			parts[rng.IntN(len(parts))].Record(d)
		}
		var merged Histogram
		for i := range parts {
			merged.Merge(&parts[i])
		}
		if !histEqual(&all, &merged) {
			t.Fatalf("trial %d: merged histogram differs from recording all", trial)
		}
	}
}

func histEqual(a, b *Histogram) bool {
	if a.count != b.count || a.sum != b.sum || a.min != b.min || a.max != b.max {
		return false
	}
	for i := 0; i < numBucket; i++ {
		var x, y uint64
		if c := a.chunks[i/subCount]; c != nil {
			x = a.bucket(c, i)
		}
		if c := b.chunks[i/subCount]; c != nil {
			y = b.bucket(c, i)
		}
		if x != y {
			return false
		}
	}
	return true
}

func TestHistogramEmptyAndEdges(t *testing.T) {
	var h Histogram
	if h.Quantile(0.5) != 0 || h.Mean() != 0 || h.Max() != 0 || h.Count() != 0 {
		t.Fatal("empty histogram must report zeros")
	}
	h.Record(-time.Second)
	if h.Min() != 0 || h.Count() != 1 {
		t.Fatal("negative duration must count as zero")
	}
	h.Record(100 * 24 * time.Hour) // beyond range: clamped bucket, exact max
	if h.Max() != 100*24*time.Hour || h.Quantile(1) != 100*24*time.Hour {
		t.Fatalf("max %v", h.Max())
	}
	if got := h.Quantile(math.NaN()); got != 0 {
		t.Fatalf("NaN quantile %v", got)
	}
}

func TestHistogramRecordDoesNotAllocate(t *testing.T) {
	var h Histogram
	h.Record(3 * time.Millisecond)
	if n := testing.AllocsPerRun(1000, func() { h.Record(3*time.Millisecond + 17*time.Microsecond) }); n != 0 {
		t.Fatalf("Record allocates %v times", n)
	}
}

func TestHistogramJSONRoundTrip(t *testing.T) {
	var h Histogram
	for _, d := range []time.Duration{0, 5, 70, time.Microsecond, 3 * time.Millisecond, 3 * time.Millisecond, time.Second, time.Minute} {
		h.Record(d)
	}
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var back Histogram
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if !histEqual(&h, &back) {
		t.Fatalf("round trip differs: %s", b)
	}
	var empty Histogram
	b, _ = json.Marshal(empty)
	if err := json.Unmarshal(b, &back); err != nil || back.Count() != 0 {
		t.Fatalf("empty round trip: %v %s", err, b)
	}
	for _, bad := range []string{
		`{"sub_bits":5,"count":0}`,
		`{"sub_bits":6,"count":2,"min_ns":1,"max_ns":1,"buckets":[[1,1]]}`,
		`{"sub_bits":6,"count":1,"min_ns":1,"max_ns":1,"buckets":[[99999,1]]}`,
		`{"sub_bits":6,"count":2,"min_ns":1,"max_ns":1,"buckets":[[1,1],[1,1]]}`,
		`{"sub_bits":6,"count":1,"min_ns":5,"max_ns":5,"buckets":[[1,1]]}`,
	} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func FuzzHistogramJSON(f *testing.F) {
	var h Histogram
	h.Record(time.Millisecond)
	h.Record(time.Second)
	b, _ := json.Marshal(h)
	f.Add(b)
	f.Add([]byte(`{"sub_bits":6,"count":0,"buckets":[]}`))
	f.Add([]byte(`{"sub_bits":6,"count":1,"sum_ns":3,"min_ns":3,"max_ns":3,"buckets":[[3,1]]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var h Histogram
		if err := json.Unmarshal(data, &h); err != nil {
			return
		}
		// Whatever decodes must be self-consistent and re-encode identically.
		prev := time.Duration(-1)
		for _, q := range []float64{0, 0.1, 0.5, 0.9, 0.99, 1} {
			v := h.Quantile(q)
			if v < prev || (h.Count() > 0 && (v < h.Min() || v > h.Max())) {
				t.Fatalf("quantile %v = %v out of order/range", q, v)
			}
			prev = v
		}
		b, err := json.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		var back Histogram
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !histEqual(&h, &back) {
			t.Fatal("re-encode differs")
		}
	})
}

func BenchmarkHistogramRecord(b *testing.B) {
	var h Histogram
	for i := 0; b.Loop(); i++ {
		h.Record(time.Duration(i%100000) * time.Microsecond)
	}
}

// A chunk's counters are counterBits wide; a bucket past that many
// observations carries exactly (here past 2^32 too), through Record,
// RecordN, Merge and the JSON form.
func TestHistogramCountsBeyondChunkCounters(t *testing.T) {
	const d = 3 * time.Millisecond
	var h Histogram
	for range 3 << counterBits { // wraps the chunk's counter three times
		h.Record(d)
	}
	h.RecordN(d, 1<<32-3<<counterBits)
	h.Record(time.Second)
	if got := h.bucket(h.chunks[bucketOf(uint64(d))/subCount], bucketOf(uint64(d))); got != 1<<32 {
		t.Fatalf("bucket holds %d after 2^32 records, want %d", got, uint64(1)<<32)
	}
	var m Histogram
	m.RecordN(d, 3<<30)
	m.Merge(&h) // 3·2^30 + 2^32 in one bucket
	m.Merge(&h)
	want := uint64(3<<30) + 2<<32
	if got := m.bucket(m.chunks[bucketOf(uint64(d))/subCount], bucketOf(uint64(d))); got != want {
		t.Fatalf("merged bucket holds %d, want %d", got, want)
	}
	if m.Count() != want+2 || m.Quantile(0.5) < d*99/100 || m.Quantile(0.5) > d*101/100 || m.Quantile(1) != time.Second {
		t.Fatalf("count %d, p50 %v, max %v", m.Count(), m.Quantile(0.5), m.Quantile(1))
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back Histogram
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if !histEqual(&m, &back) {
		t.Fatalf("round trip of counts beyond 32 bits differs: %s", b)
	}
	var all Histogram // the same observations recorded into one histogram
	all.RecordN(d, want)
	all.RecordN(time.Second, 2)
	if !histEqual(&all, &m) {
		t.Fatal("merged histogram differs from recording everything into one")
	}
	m.Reset()
	if m.Count() != 0 || m.Quantile(0.5) != 0 || firstBucket(&m) != -1 {
		t.Fatal("Reset left observations behind")
	}
}
