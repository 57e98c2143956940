// Package timeline owns the time-series model of a run: fixed windows
// (default 1 s, down to 100 ms) of request counts by outcome class, per-AZ
// counts, latency histograms and probe samples, plus timestamped events. It
// does no I/O.
//
// Histogram is a mergeable log-linear latency histogram (relative error ≤
// 0.78 %, no allocation per record once warm). Class and Classify turn a
// request's status code and error into one outcome class (ok, connect
// timeout, refused, reset, ELB 5xx, target 5xx, client timeout, 4xx, other).
// Timeline places each finished request in the window of its start time and
// merges windows into phase aggregates. Memory is O(windows).
package timeline
