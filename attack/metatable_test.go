package attack

import (
	"sync"
	"testing"
)

func TestMetaTable(t *testing.T) {
	tab := newMetaTable(100) // 256 slots
	if len(tab.slots) != 256 {
		t.Fatalf("%d slots, want 256", len(tab.slots))
	}
	if n := len(newMetaTable(3000).slots); n != 8192 {
		t.Fatalf("%d slots for 3000 workers, want 8192", n)
	}
	if n := len(newMetaTable(100_000).slots); n != maxMetaSlots {
		t.Fatalf("%d slots for 100000 workers, want the bound %d", n, maxMetaSlots)
	}
	put := func(seq uint64) *meta { m := &meta{seq: seq}; tab.put(m); return m }
	// 0 stays in flight while 256 and 512 (the same slot) start: they
	// spill, and each number still finds its own meta.
	m0, m256, m512, m1 := put(0), put(256), put(512), put(1)
	if tab.spilled.Load() != 2 {
		t.Fatalf("spilled %d, want 2", tab.spilled.Load())
	}
	if tab.take(7) != nil || tab.take(768) != nil {
		t.Fatal("a number never put has a meta")
	}
	for _, want := range []*meta{m256, m1, m0, m512} {
		if got := tab.take(want.seq); got != want {
			t.Fatalf("take(%d) = %v", want.seq, got)
		}
		if tab.take(want.seq) != nil {
			t.Fatalf("take(%d) twice", want.seq)
		}
	}
	if tab.spilled.Load() != 0 || len(tab.spill) != 0 {
		t.Fatal("spill not emptied")
	}
}

// Workers put while one goroutine takes, as in a run (go test -race).
func TestMetaTableConcurrent(t *testing.T) {
	tab := newMetaTable(8)
	const workers, each = 8, 2000
	results := make(chan uint64, 64)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				seq := uint64(i*workers + w)
				tab.put(&meta{seq: seq})
				results <- seq
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()
	n := 0
	for seq := range results {
		if m := tab.take(seq); m == nil || m.seq != seq {
			t.Fatalf("take(%d) = %v", seq, m)
		}
		n++
	}
	if n != workers*each || tab.spilled.Load() != 0 {
		t.Fatalf("took %d, spilled left %d", n, tab.spilled.Load())
	}
}
