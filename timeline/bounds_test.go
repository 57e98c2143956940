package timeline

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The per-window AZ index Add uses finds the same counters the maps hold:
// windows filled through Add (more names than the index holds, and windows
// that MergeWindow created entries in first) equal windows counted through
// the maps alone.
func TestWindowAZIndexMatchesMaps(t *testing.T) {
	start := time.Unix(1_800_000_000, 0)
	rng := rand.New(rand.NewPCG(16, 1))
	names := make([]string, 2*azIndexLen)
	for i := range names {
		names[i] = fmt.Sprintf("xx-test-%da", i)
	}
	tl, _ := New(start, time.Second)
	want := make([]Counts, 5)
	merged := Counts{}
	merged.add(&Result{Class: ClassOK, AZ: names[3], TargetAZ: names[len(names)-1]})
	for i := range want {
		if err := tl.MergeWindow(i, &merged); err != nil {
			t.Fatal(err)
		}
		want[i].merge(&merged)
	}
	for range 20000 {
		w := rng.IntN(len(want))
		r := Result{Due: start.Add(time.Duration(w)*time.Second + time.Duration(rng.Int64N(int64(time.Second)))),
			Latency: time.Duration(rng.Int64N(int64(time.Second))), Class: Classes[rng.IntN(len(Classes))],
			AZ: names[rng.IntN(len(names))], TargetAZ: strings.Clone(names[rng.IntN(len(names))])} // fresh bytes: compared, not pointer-equal
		if rng.IntN(10) == 0 {
			r.AZ = ""
		}
		tl.Add(r)
		want[w].add(&r)
	}
	for i := range want {
		got := tl.Window(i)
		if !reflect.DeepEqual(got.AZ, want[i].AZ) || !reflect.DeepEqual(got.TargetAZ, want[i].TargetAZ) {
			t.Fatalf("window %d: AZ counts through the index differ from the maps'", i)
		}
		if got.Requests != want[i].Requests || got.Classes != want[i].Classes {
			t.Fatalf("window %d: counts differ", i)
		}
	}
}

// A response header naming a different "AZ" on every response cannot grow
// a window per request: at most MaxAZs names are kept, the rest (and names
// longer than MaxAZName) count under AZOther, every request is still
// counted, and the result passes Check and merges within the same bound.
func TestAZNamesBounded(t *testing.T) {
	start := time.Unix(1_800_000_000, 0)
	tl, _ := New(start, time.Second)
	const n = 10000
	for i := range n {
		name := fmt.Sprintf("az-%d", i)
		if i%7 == 0 {
			name = strings.Repeat("z", MaxAZName+1+i)
		}
		tl.Add(Result{Start: start, Class: ClassOK, AZ: "us-east-1a", TargetAZ: name})
	}
	w := tl.Window(0)
	if len(w.TargetAZ) != MaxAZs+1 {
		t.Fatalf("%d target AZ names kept, want %d plus %s", len(w.TargetAZ), MaxAZs, AZOther)
	}
	var sum uint64
	for name, a := range w.TargetAZ {
		if len(name) > MaxAZName {
			t.Fatalf("a %d-byte name kept", len(name))
		}
		if name != AZOther && a.Requests != 1 {
			t.Fatalf("%s: %d requests, want 1", name, a.Requests)
		}
		sum += a.Requests
	}
	if sum != n || w.TargetAZ[AZOther].Requests != n-MaxAZs || w.AZ["us-east-1a"].Requests != n {
		t.Fatalf("counted %d of %d, %d under %s", sum, n, w.TargetAZ[AZOther].Requests, AZOther)
	}
	if err := w.Check(); err != nil {
		t.Fatalf("a bounded window fails Check: %v", err)
	}

	// Another generator's window with other names: the merge stays bounded
	// and keeps every request.
	other, _ := New(start, time.Second)
	for i := range MaxAZs {
		other.Add(Result{Start: start, Class: ClassOK, TargetAZ: fmt.Sprintf("other-%d", i)})
	}
	if err := tl.MergeWindow(0, &other.Window(0).Counts); err != nil {
		t.Fatal(err)
	}
	if len(w.TargetAZ) != MaxAZs+1 || w.TargetAZ[AZOther].Requests != n-MaxAZs+MaxAZs {
		t.Fatalf("merged: %d names, %d under %s", len(w.TargetAZ), w.TargetAZ[AZOther].Requests, AZOther)
	}

	// Check refuses summaries beyond the bounds.
	for _, bad := range []func(c *Counts){
		func(c *Counts) {
			for i := range MaxAZs + 2 {
				c.TargetAZ[fmt.Sprint(i)] = &AZCounts{}
			}
		},
		func(c *Counts) { c.AZ[strings.Repeat("a", MaxAZName+1)] = &AZCounts{} },
	} {
		c := Counts{}
		c.add(&Result{Class: ClassOK, AZ: "a", TargetAZ: "a"})
		bad(&c)
		if err := c.Check(); err == nil {
			t.Error("Check accepted names beyond the bounds")
		}
	}
}
