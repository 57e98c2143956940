package attack

import (
	"testing"
	"time"
)

// BenchmarkPace is the pacer's cost per hit (the Plan behind an interface
// since slices exist): a long constant plan paced without sleeping.
func BenchmarkPace(b *testing.B) {
	plan, _ := NewPlan([]Stage{{Duration: time.Hour, From: 20000, To: 20000}, {Duration: time.Hour, From: 20000, To: 40000}})
	p := &Pacer{Plan: plan, MaxLag: time.Hour}
	var at time.Duration
	var hits uint64
	for b.Loop() {
		wait, stop := p.Pace(at, hits)
		if stop {
			b.Fatal("stopped")
		}
		at += wait
		hits++
	}
}
