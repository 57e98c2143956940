package histcompare

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/DataDog/sketches-go/ddsketch"
	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/gameday-dev/gameday/timeline"
)

// sketch is what a window needs of a latency histogram.
type sketch interface {
	record(ns int64)
	merge(o sketch)
	quantile(q float64) float64 // nearest rank, ns
	wire() int                  // bytes of its serialized form
	mem() int                   // bytes held (approximate for ours and DDSketch)
}

type ours struct{ h timeline.Histogram }

func (s *ours) record(ns int64)            { s.h.Record(time.Duration(ns)) }
func (s *ours) merge(o sketch)             { s.h.Merge(&o.(*ours).h) }
func (s *ours) quantile(q float64) float64 { return float64(s.h.Quantile(q)) }
func (s *ours) wire() int                  { b, _ := json.Marshal(s.h); return len(b) }
func (s *ours) mem() int                   { b, _ := json.Marshal(s.h); return 64*2*chunks(b) + 41*8 + 40 }
func chunks(b []byte) int {
	var j struct{ Buckets [][2]uint64 }
	_ = json.Unmarshal(b, &j)
	m := map[uint64]bool{}
	for _, p := range j.Buckets {
		m[p[0]/64] = true
	}
	return len(m)
}

type hdrs struct{ h *hdr.Histogram }

func newHDR(digits int) sketch             { return &hdrs{hdr.New(1, int64(time.Hour), digits)} }
func (s *hdrs) record(ns int64)            { _ = s.h.RecordValue(ns) }
func (s *hdrs) merge(o sketch)             { s.h.Merge(o.(*hdrs).h) }
func (s *hdrs) quantile(q float64) float64 { return float64(s.h.ValueAtQuantile(q * 100)) }
func (s *hdrs) wire() int                  { b, _ := s.h.Encode(hdr.V2CompressedEncodingCookieBase); return len(b) }
func (s *hdrs) mem() int                   { return s.h.ByteSize() }

type dds struct{ s *ddsketch.DDSketch }

func newDD(acc float64) sketch {
	s, err := ddsketch.NewDefaultDDSketch(acc)
	if err != nil {
		panic(err)
	}
	return &dds{s}
}
func (s *dds) record(ns int64)            { _ = s.s.Add(float64(ns)) }
func (s *dds) merge(o sketch)             { _ = s.s.MergeWith(o.(*dds).s) }
func (s *dds) quantile(q float64) float64 { v, _ := s.s.GetValueAtQuantile(q); return v }
func (s *dds) wire() int                  { var b []byte; s.s.Encode(&b, false); return len(b) }
func (s *dds) mem() int                   { var b []byte; s.s.Encode(&b, false); return len(b) * 8 } // dense store: ~8 B per bin

type kind struct {
	name  string
	bound float64 // stated relative error of a quantile
	make  func() sketch
}

var kinds = []kind{
	{"timeline.Histogram (ours, 6 sub-bucket bits)", timeline.RelativeError, func() sketch { return &ours{} }},
	{"hdrhistogram-go 2 significant digits", 0.01, func() sketch { return newHDR(2) }},
	{"hdrhistogram-go 3 significant digits", 0.001, func() sketch { return newHDR(3) }},
	{"sketches-go DDSketch 0.78% accuracy", timeline.RelativeError, func() sketch { return newDD(timeline.RelativeError) }},
	{"sketches-go DDSketch 1% accuracy", 0.01, func() sketch { return newDD(0.01) }},
}

// latencies draws n latencies: a log-normal body around median, plus 1 %
// of timeouts-like outliers up to 10 s, as a faulted window has.
func latencies(rng *rand.Rand, n int, median time.Duration) []int64 {
	out := make([]int64, n)
	for i := range out {
		v := float64(median) * math.Exp(rng.NormFloat64()*0.6)
		if rng.IntN(100) == 0 {
			v = float64(time.Second) * (1 + 9*rng.Float64())
		}
		out[i] = max(int64(v), 1)
	}
	return out
}

func exact(sorted []int64, q float64) float64 {
	r := int(math.Ceil(q * float64(len(sorted))))
	return float64(sorted[min(max(r, 1), len(sorted))-1])
}

// TestPrecision holds each histogram to its stated relative error on the
// quantiles reports use, after merging three generators' histograms, and
// prints the worst error seen, the wire size and the memory of one window.
func TestPrecision(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 3))
	qs := []float64{0.5, 0.9, 0.99, 0.999}
	for _, k := range kinds {
		worst := 0.0
		var wire, mem int
		for _, median := range []time.Duration{300 * time.Microsecond, 5 * time.Millisecond, 80 * time.Millisecond} {
			vals := latencies(rng, 30000, median)
			parts := []sketch{k.make(), k.make(), k.make()}
			for i, v := range vals {
				parts[i%3].record(v)
			}
			m := k.make()
			for _, p := range parts {
				m.merge(p)
			}
			sorted := slices.Clone(vals)
			slices.Sort(sorted)
			for _, q := range qs {
				e := exact(sorted, q)
				rel := math.Abs(m.quantile(q)-e) / e
				worst = max(worst, rel)
				if rel > k.bound*1.0001 {
					t.Errorf("%s: median %v q%v: %.0f vs exact %.0f, error %.3f%% > stated %.3f%%", k.name, median, q, m.quantile(q), e, 100*rel, 100*k.bound)
				}
			}
			wire, mem = max(wire, m.wire()), max(mem, m.mem())
		}
		t.Logf("%-46s stated %.3f%%  worst seen %.3f%%  window of 30k: wire %6d B, memory ≈ %7d B", k.name, 100*k.bound, 100*worst, wire, mem)
	}
}

func BenchmarkRecord(b *testing.B) {
	vals := latencies(rand.New(rand.NewPCG(1, 2)), 1<<16, 5*time.Millisecond)
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			s := k.make()
			// Warm up: ours and DDSketch allocate a value range's storage
			// the first time a value falls in it, once per histogram, which
			// HdrHistogram does up front in New. Timed from a warm state,
			// the loop measures the steady per-record cost (a short
			// -benchtime would otherwise mostly time those allocations).
			for _, v := range vals {
				s.record(v)
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				s.record(vals[i&(1<<16-1)])
			}
		})
	}
}

// BenchmarkMergeWindow merges one window's histogram (1,000 hits) into a
// run total: what the coordinator does per window and generator.
func BenchmarkMergeWindow(b *testing.B) {
	vals := latencies(rand.New(rand.NewPCG(1, 2)), 1000, 5*time.Millisecond)
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			w := k.make()
			for _, v := range vals {
				w.record(v)
			}
			total := k.make()
			b.ReportAllocs()
			for b.Loop() {
				total.merge(w)
			}
		})
	}
}

func Example() {
	fmt.Println("run: go test -v -run Precision -bench .")
	// Output: run: go test -v -run Precision -bench .
}
