// Package generators sends one run's load from several processes at once
// (gameday workers) and merges what they measured into the run's single
// timeline, exactly.
//
// The coordinator (Coordinator, inside `gameday run`) listens on HTTP,
// starts the workers through an Engine (Local: processes of this binary on
// this machine; ECS: tasks started with RunTask; Kubernetes: the pods of one
// Indexed Job applied with kubectl, a BatchEngine), hands each one its slice
// of the rate plan (attack.Slice: the union of the slices is the plan, hit for hit),
// measures each worker's clock offset NTP-style while it joins, waits for
// all of them at a barrier and gives out one start instant on its own clock.
// Each worker (Work, `gameday worker`) sends its slice from that instant
// and streams what it counted, window by window, as deltas: every hit is in
// exactly one delta, so the merged windows equal the windows one generator
// sending every hit would have filled (timeline.Counts.Merge). Raw results
// stay on the worker, in vegeta's encoding, in a file the report names.
//
// A worker that dies or falls silent is lost: the hits of its slice it did
// not report count as not sent in their windows, the report names it, and
// Config.OnLoss says whether the run is aborted (rolled back) or goes on.
// Every worker is journaled before it starts (Journal) and stopped on every
// exit path; StopLeftovers, run by `gameday rollback`, stops what a killed
// coordinator left.
package generators
