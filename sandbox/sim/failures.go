package sim

import (
	"github.com/gameday-dev/gameday/sandbox/truth"
	"slices"
	"sync"
	"time"
)

// Why the sandbox failed a request (FailureBucket.Reason); see package truth.
const (
	FailNoHealthyTarget   = truth.FailNoHealthyTarget
	FailTargetGone        = truth.FailTargetGone
	FailTargetUnreachable = truth.FailTargetUnreachable
	FailTargetTimeout     = truth.FailTargetTimeout
	FailDBUnreachable     = truth.FailDBUnreachable
	FailNodeBlackholed    = truth.FailNodeBlackholed
	FailOverloaded        = truth.FailOverloaded
	FailDBDelayed         = truth.FailDBDelayed
	FailTargetDelayed     = truth.FailTargetDelayed
)

// FailureBucketWidth is the width of the failure record's time buckets.
const FailureBucketWidth = truth.FailureBucketWidth

// maxFailureBuckets bounds the record: the oldest buckets go first (an hour
// of 50 ms buckets that all saw failures).
const maxFailureBuckets = 72_000

// FailureBucket counts the requests the sandbox failed for one reason, on
// one resource, in one time bucket (truth.FailureBucket).
type FailureBucket = truth.FailureBucket

type failKey struct {
	reason, resource, az, peer string
}

// failureLog aggregates failures into time buckets: memory grows with the
// number of (bucket, reason, resource) triples that saw a failure, never
// with the number of requests.
type failureLog struct {
	mu      sync.Mutex
	buckets map[int64]map[failKey]uint64
	order   []int64 // bucket indexes in first-seen order, for pruning
}

func (l *failureLog) add(at time.Time, reason, resource, az, peer string) {
	b := at.UnixNano() / int64(FailureBucketWidth)
	k := failKey{reason, resource, az, peer}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = make(map[int64]map[failKey]uint64)
	}
	m := l.buckets[b]
	if m == nil {
		m = make(map[failKey]uint64, 2)
		l.buckets[b] = m
		l.order = append(l.order, b)
		if len(l.order) > maxFailureBuckets {
			delete(l.buckets, l.order[0])
			l.order = l.order[1:]
		}
	}
	m[k]++
}

// Failures returns the failure record from since on (every bucket if since
// is zero), sorted by time, then reason and resource.
func (r *Region) Failures(since time.Time) []FailureBucket {
	l := &r.failures
	l.mu.Lock()
	var out []FailureBucket
	for b, m := range l.buckets {
		start := time.Unix(0, b*int64(FailureBucketWidth))
		if !since.IsZero() && start.Add(FailureBucketWidth).Before(since) {
			continue
		}
		for k, n := range m {
			out = append(out, FailureBucket{Start: start, Reason: k.reason, Resource: k.resource, AZ: k.az, PeerAZ: k.peer, Count: n})
		}
	}
	l.mu.Unlock()
	slices.SortFunc(out, func(a, b FailureBucket) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		if a.Reason != b.Reason {
			if a.Reason < b.Reason {
				return -1
			}
			return 1
		}
		switch {
		case a.Resource < b.Resource:
			return -1
		case a.Resource > b.Resource:
			return 1
		}
		return 0
	})
	return out
}

func (r *Region) fail(reason, resource, az, peer string) {
	r.failures.add(time.Now(), reason, resource, az, peer)
}

// failAt records a failure at a given time (a held request, at arrival).
func (r *Region) failAt(at time.Time, reason, resource, az, peer string) {
	r.failures.add(at, reason, resource, az, peer)
}

// NoteDNSAnswer records, for every node of an answer the sandbox DNS server
// gives out while that node is blackholed, one node-blackholed failure: the
// client will try to connect there and time out, which the node never sees.
func (r *Region) NoteDNSAnswer(ips []string) {
	if r.lb == nil {
		return
	}
	ns := r.net.Load()
	for _, n := range r.lb.nodes {
		if slices.Contains(ips, n.ip) && !ns.path(r.clientEP, n.ep, lbPort) {
			r.fail(FailNodeBlackholed, n.ip, n.az, "")
		}
	}
}
