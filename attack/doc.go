// Package attack generates open-model HTTP load on the vegeta library: rate
// plans of constant and linear stages (Plan, Pacer), a bounded worker pool
// whose late hits are counted as dropped rather than sent in bursts, an HTTP
// transport that resolves through a chosen DNS server and spreads
// connections over every load balancer node, recycles connections by age,
// labels each result with its node and AZ and classifies failures from their
// real error values (timeline.Class), and raw result files in vegeta's own
// encodings. Each request's one deadline is its due time plus the timeout;
// the request's own record is its context, and one timer per run ends each
// at its deadline (reqctx.go).
//
// Run is the entry point; it hands each finished request to a callback as a
// Hit, from a single goroutine.
package attack
