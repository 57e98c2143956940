package attack

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// metaTable maps vegeta's sequence numbers to the metas of requests whose
// results have not been taken yet. Numbers are handed out in order and a
// result is taken soon after its request ends, so the numbers in the table
// at once lie in a narrow band: each goes to the slot its low bits name
// (no lock, no map), and only a number whose slot is still held by an
// earlier request (one still in flight after as many later ones started
// as there are slots: a blackhole, a slow target) spills into a locked map.
type metaTable struct {
	slots []atomic.Pointer[meta] // a power of two of them
	mask  uint64

	spilled atomic.Int64 // entries in spill: take skips the lock when 0
	mu      sync.Mutex
	spill   map[uint64]*meta
}

// Slot counts: the table holds about as many metas as requests in flight,
// so it gets twice the worker bound, within these (8 bytes a slot).
const (
	minMetaSlots = 256
	maxMetaSlots = 1 << 14
)

func newMetaTable(maxInFlight uint64) *metaTable {
	n := uint64(minMetaSlots)
	if want := 2 * maxInFlight; want > n {
		n = min(uint64(1)<<bits.Len64(want-1), maxMetaSlots)
	}
	return &metaTable{slots: make([]atomic.Pointer[meta], n), mask: n - 1}
}

// put records m (m.seq set) until take(m.seq). Called by the workers.
func (t *metaTable) put(m *meta) {
	if t.slots[m.seq&t.mask].CompareAndSwap(nil, m) {
		return
	}
	t.mu.Lock()
	if t.spill == nil {
		t.spill = make(map[uint64]*meta)
	}
	t.spill[m.seq] = m
	t.spilled.Add(1)
	t.mu.Unlock()
}

// take returns and forgets the meta of seq; nil if none was put (the
// request never reached the transport). Called by one goroutine only, after
// the put of seq happened before (vegeta hands the result over by channel).
func (t *metaTable) take(seq uint64) *meta {
	s := &t.slots[seq&t.mask]
	if m := s.Load(); m != nil && m.seq == seq {
		s.Store(nil) // only take empties a slot, and only this goroutine takes
		return m
	}
	if t.spilled.Load() == 0 {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	m, ok := t.spill[seq]
	if ok {
		delete(t.spill, seq)
		t.spilled.Add(-1)
	}
	return m
}
