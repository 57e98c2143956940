// Package timeline owns the time-series model of a run: fixed windows
// (default 1 s, down to 100 ms) of request counts by outcome class, per-AZ
// counts, latency histograms and probe samples, plus timestamped events. It
// does no I/O.
//
// Histogram is a mergeable log-linear latency histogram (relative error ≤
// 0.78 %, exact counts and merges, 16-bit counters in 128-byte chunks with
// an exact carry, no allocation per record once warm). Class and Classify
// turn a request's status code and error into one outcome class (ok,
// connect timeout, refused, reset, ELB 5xx, target 5xx, client timeout,
// 4xx, other).
// Timeline places each finished request in the window of its start time and
// merges windows into phase aggregates. Memory is O(windows), never
// O(requests): about 8 KiB a 1 s window of a faulted 20k rps load
// (BenchmarkWindowMemory), and a window keeps at most MaxAZs AZ names.
package timeline
