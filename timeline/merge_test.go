package timeline

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// randomResults draws n results over 10 s with every class, two AZs and
// latencies from 100 µs to 10 s.
func randomResults(rng *rand.Rand, start time.Time, n int) []Result {
	azs := []string{"", "us-east-1a", "us-east-1b"}
	out := make([]Result, n)
	for i := range out {
		due := start.Add(time.Duration(rng.Int64N(int64(10 * time.Second))))
		lat := time.Duration(float64(100*time.Microsecond) * float64(int64(1)<<rng.IntN(17)) * (1 + rng.Float64()))
		c := Classes[rng.IntN(len(Classes))]
		if rng.IntN(3) > 0 {
			c = ClassOK
		}
		out[i] = Result{Due: due, Start: due.Add(time.Millisecond), Latency: lat, Service: lat / 2, Class: c,
			AZ: azs[rng.IntN(3)], TargetAZ: azs[rng.IntN(3)], BytesIn: uint64(rng.IntN(5000)), BytesOut: uint64(rng.IntN(300))}
	}
	return out
}

// Windows counted on N generators, sent as JSON and merged, equal the
// windows one generator counting every request fills: totals, classes, AZs,
// bytes and histograms (hence every quantile) alike.
func TestMergedWindowsEqualOneTimeline(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 2))
	start := time.Unix(1_800_000_000, 0)
	for _, n := range []int{1, 2, 3, 7} {
		all := randomResults(rng, start, 20000)
		one, _ := New(start, 250*time.Millisecond)
		merged, _ := New(start, 250*time.Millisecond)
		parts := make([]*Timeline, n)
		for i := range parts {
			parts[i], _ = New(start, 250*time.Millisecond)
		}
		for k, r := range all {
			one.Add(r)
			parts[k%n].Add(r)
		}
		for _, p := range parts {
			for _, w := range p.Windows() {
				b, err := json.Marshal(&w.Counts)
				if err != nil {
					t.Fatal(err)
				}
				var c Counts
				if err := json.Unmarshal(b, &c); err != nil {
					t.Fatal(err)
				}
				if err := merged.MergeWindow(w.Index, &c); err != nil {
					t.Fatal(err)
				}
			}
		}
		if one.Len() != merged.Len() {
			t.Fatalf("n=%d: %d windows, merged %d", n, one.Len(), merged.Len())
		}
		for i, w := range one.Windows() {
			if !reflect.DeepEqual(w.Counts, merged.Window(i).Counts) {
				t.Fatalf("n=%d: window %d differs after merge", n, i)
			}
		}
		a, b := one.Total(), merged.Total()
		for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
			if a.Latency.Quantile(q) != b.Latency.Quantile(q) || a.OKService.Quantile(q) != b.OKService.Quantile(q) {
				t.Fatalf("n=%d: q%v differs", n, q)
			}
		}
		if a.Requests != uint64(len(all))-a.Classes.Get(ClassAborted) {
			t.Fatalf("n=%d: requests %d", n, a.Requests)
		}
	}
}

func TestMergeWindowRejectsInconsistentCounts(t *testing.T) {
	tl, _ := New(time.Unix(1_800_000_000, 0), time.Second)
	good := Counts{}
	good.add(&Result{Latency: time.Millisecond, Class: ClassOK, AZ: "a"})
	bad := []func(c *Counts){
		func(c *Counts) { c.Requests++ },
		func(c *Counts) { c.Successes = 0 },
		func(c *Counts) { c.Latency.Record(time.Second) },
		func(c *Counts) { c.OKService = Histogram{} },
		func(c *Counts) { c.AZ["a"].Errors++ },
		func(c *Counts) { c.AZ["b"] = &AZCounts{Requests: 5, Successes: 5} },
	}
	for i, f := range bad {
		var c Counts
		c.merge(&good)
		f(&c)
		if err := tl.MergeWindow(0, &c); err == nil {
			t.Errorf("case %d: inconsistent counts merged", i)
		}
	}
	if tl.Len() != 0 {
		t.Fatal("a refused merge changed the timeline")
	}
	if err := tl.MergeWindow(-1, &good); err == nil {
		t.Error("negative window accepted")
	}
	if err := tl.MergeWindow(MaxWindows, &good); err == nil {
		t.Error("window past MaxWindows accepted")
	}
	if err := tl.MergeWindow(3, &good); err != nil || tl.Window(3).Requests != 1 {
		t.Fatalf("good merge: %v", err)
	}
}
