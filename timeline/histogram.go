package timeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"time"
)

// Bucket layout (log-linear, HDR-style). Durations are recorded in
// nanoseconds. Values below 2^subBits ns are counted exactly; above that,
// every power of two [2^e, 2^(e+1)) is split into 2^subBits equal buckets.
// Quantile reports a bucket's midpoint, so the relative error of any reported
// quantile is at most 1/2^(subBits+1) = 1/128 ≈ 0.78 % of the true sample.
//
// The counters for one power of two live in a chunk allocated the first time
// a value falls in that range, so an idle histogram costs a few hundred bytes
// and a typical window (latencies spread over a few decades) a few KiB; the
// worst case is bounded at numChunks chunks (≈ 5 KiB). A run keeps three
// histograms per window for every window, so a chunk's counters are 16 bits
// wide (128 bytes a chunk, the size that bounds a 10M-request run's memory):
// the part of a count above that carries into an exact 64-bit side table
// (carry), which a window's bucket reaches only past 65,535 observations
// (merged totals, very high rates) and then once every 65,536. Counts stay
// exact. Record never allocates once its chunk exists.
const (
	subBits   = 6
	subCount  = 1 << subBits // buckets per chunk
	maxExp    = 46           // values ≥ 2^46 ns (≈ 19.5 h) are clamped into the top bucket
	numChunks = maxExp - subBits + 1
	numBucket = numChunks * subCount

	// RelativeError is the bound on |Quantile(q) - exact| / exact.
	RelativeError = 1.0 / (2 << subBits)
)

// chunk holds the low counterBits bits of the counters of one power of two.
type chunk [subCount]counter

type counter = uint16

const counterBits = 16

// Histogram is a mergeable latency histogram with bounded relative error
// (see RelativeError) over 1 ns to about 19 hours. The zero value is an empty
// histogram ready to use. A Histogram is not safe for concurrent use.
type Histogram struct {
	count  uint64
	sum    uint64 // ns; overflows only past ~584 years of summed latency
	min    uint64
	max    uint64
	chunks [numChunks]*chunk
	// carry holds, by bucket, the part of its count above the counterBits
	// bits its chunk keeps (a multiple of 2^counterBits); nil until a
	// counter wraps.
	carry map[int]uint64
}

// bucketOf returns the bucket index of v (in ns).
func bucketOf(v uint64) int {
	if v < subCount {
		return int(v)
	}
	e := bits.Len64(v) - 1
	if e >= maxExp {
		return numBucket - 1
	}
	sub := (v >> uint(e-subBits)) & (subCount - 1)
	return (e-subBits+1)*subCount + int(sub)
}

// bucketBounds returns the lowest value of bucket i and its width.
func bucketBounds(i int) (lo, width uint64) {
	if i < subCount {
		return uint64(i), 1
	}
	chunk, sub := i/subCount, uint64(i%subCount)
	e := chunk + subBits - 1
	width = uint64(1) << uint(e-subBits)
	return uint64(1)<<uint(e) + sub*width, width
}

// bucketValue is the value reported for bucket i: its midpoint.
func bucketValue(i int) uint64 {
	lo, w := bucketBounds(i)
	return lo + w/2
}

func nanos(d time.Duration) uint64 {
	if d < 0 {
		return 0
	}
	return uint64(d)
}

// Record adds one observation. Negative durations count as zero. It is the
// hot path (three records per request): integer arithmetic only, inlined
// bucket lookup, and no allocation once the value's chunk exists.
func (h *Histogram) Record(d time.Duration) {
	v := nanos(d)
	h.record(v, bucketOf(v))
}

// record counts one observation v whose bucket is i (= bucketOf(v)), so that
// a caller recording the same value in several histograms looks it up once.
func (h *Histogram) record(v uint64, i int) {
	c := h.chunks[uint(i)/subCount]
	if c == nil {
		c = h.newChunk(i)
	}
	j := uint(i) % subCount
	n := c[j] + 1
	c[j] = n
	if n == 0 {
		h.wrapped(i, 1<<counterBits)
	}
	if v < h.min || h.count == 0 {
		h.min = v
	}
	h.max = max(h.max, v)
	h.count++
	h.sum += v
}

// newChunk allocates the chunk of bucket i: once per power of two per
// histogram, kept out of line so that record stays small.
//
//go:noinline
func (h *Histogram) newChunk(i int) *chunk {
	c := new(chunk)
	h.chunks[uint(i)/subCount] = c
	return c
}

// wrapped carries n (a multiple of 2^counterBits) of bucket i's count.
//
//go:noinline
func (h *Histogram) wrapped(i int, n uint64) {
	if h.carry == nil {
		h.carry = make(map[int]uint64, 1)
	}
	h.carry[i] += n
}

// add adds n observations to bucket i.
func (h *Histogram) add(i int, n uint64) {
	c := h.chunks[uint(i)/subCount]
	if c == nil {
		c = h.newChunk(i)
	}
	j := uint(i) % subCount
	t := uint64(c[j]) + n
	c[j] = counter(t)
	if hi := t &^ (1<<counterBits - 1); hi != 0 {
		h.wrapped(i, hi)
	}
}

// bucket returns the count of bucket i, whose chunk c is not nil.
func (h *Histogram) bucket(c *chunk, i int) uint64 {
	n := uint64(c[uint(i)%subCount])
	if h.carry != nil {
		n += h.carry[i]
	}
	return n
}

// each calls fn for every non-empty bucket in ascending order until fn
// returns false.
func (h *Histogram) each(fn func(i int, n uint64) bool) {
	for ci, c := range h.chunks {
		if c == nil {
			continue
		}
		for j, lo := range c {
			i := ci*subCount + j
			if lo == 0 && (h.carry == nil || h.carry[i] == 0) {
				continue
			}
			if !fn(i, h.bucket(c, i)) {
				return
			}
		}
	}
}

// RecordN adds n observations of d.
func (h *Histogram) RecordN(d time.Duration, n uint64) {
	if n == 0 {
		return
	}
	v := nanos(d)
	h.add(bucketOf(v), n)
	if h.count == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.count += n
	h.sum += v * n
}

// Merge adds every observation of o into h. Merging is exact: the result is
// the histogram that recording both streams into one would have produced.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil || o.count == 0 {
		return
	}
	for ci, oc := range o.chunks {
		if oc == nil {
			continue
		}
		c := h.chunks[ci]
		if c == nil {
			c = h.newChunk(ci * subCount)
		}
		for j, n := range oc {
			t := uint64(c[j]) + uint64(n)
			c[j] = counter(t)
			if t>>counterBits != 0 {
				h.wrapped(ci*subCount+j, 1<<counterBits)
			}
		}
	}
	for i, n := range o.carry {
		h.wrapped(i, n)
	}
	if h.count == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.count += o.count
	h.sum += o.sum
}

// Reset empties h, keeping its allocated chunks for reuse.
func (h *Histogram) Reset() {
	for _, c := range h.chunks {
		if c != nil {
			*c = chunk{}
		}
	}
	h.carry = nil
	h.count, h.sum, h.min, h.max = 0, 0, 0, 0
}

// Clone returns a deep copy of h.
func (h *Histogram) Clone() *Histogram {
	c := &Histogram{}
	c.Merge(h)
	return c
}

// Count is the number of observations.
func (h *Histogram) Count() uint64 { return h.count }

// Min is the smallest observation (exact), 0 when empty.
func (h *Histogram) Min() time.Duration { return time.Duration(h.min) }

// Max is the largest observation (exact), 0 when empty.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Mean is the exact arithmetic mean, 0 when empty.
func (h *Histogram) Mean() time.Duration {
	if h.count == 0 {
		return 0
	}
	return time.Duration(h.sum / h.count)
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1) using the nearest-rank
// definition: the value of the ceil(q·Count())-th smallest observation,
// within RelativeError of it. Quantile(0) is Min and Quantile(1) is Max
// (both exact). An empty histogram returns 0.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.count == 0 || math.IsNaN(q) {
		return 0
	}
	if q <= 0 {
		return time.Duration(h.min)
	}
	if q >= 1 {
		return time.Duration(h.max)
	}
	rank := uint64(math.Ceil(q * float64(h.count)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	v := h.max
	h.each(func(i int, n uint64) bool {
		seen += n
		if seen < rank {
			return true
		}
		v = min(max(bucketValue(i), h.min), h.max)
		return false
	})
	return time.Duration(v)
}

// histJSON is the wire form: exact summary fields plus a sparse list of
// [bucket index, count] pairs in ascending index order.
type histJSON struct {
	SubBits int         `json:"sub_bits"`
	Count   uint64      `json:"count"`
	SumNs   uint64      `json:"sum_ns"`
	MinNs   uint64      `json:"min_ns"`
	MaxNs   uint64      `json:"max_ns"`
	Buckets [][2]uint64 `json:"buckets"`
}

// MarshalJSON encodes h compactly: only non-empty buckets are listed.
func (h Histogram) MarshalJSON() ([]byte, error) {
	j := histJSON{SubBits: subBits, Count: h.count, SumNs: h.sum, MinNs: h.min, MaxNs: h.max, Buckets: [][2]uint64{}}
	h.each(func(i int, n uint64) bool {
		j.Buckets = append(j.Buckets, [2]uint64{uint64(i), n})
		return true
	})
	return json.Marshal(j)
}

// UnmarshalJSON decodes what MarshalJSON wrote, rejecting anything
// inconsistent (unknown layout, out-of-range or repeated buckets, counts that
// do not add up, min/max outside their buckets).
func (h *Histogram) UnmarshalJSON(b []byte) error {
	var j histJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	if j.SubBits != subBits {
		return fmt.Errorf("histogram: sub_bits %d, want %d", j.SubBits, subBits)
	}
	var n Histogram
	var total uint64
	last := -1
	for _, p := range j.Buckets {
		if p[0] >= numBucket || int(p[0]) <= last {
			return fmt.Errorf("histogram: bucket %d out of range or order", p[0])
		}
		if p[1] == 0 {
			return fmt.Errorf("histogram: bucket %d has zero count", p[0])
		}
		last = int(p[0])
		if total+p[1] < total {
			return errors.New("histogram: count overflow")
		}
		total += p[1]
		n.add(int(p[0]), p[1])
	}
	if total != j.Count {
		return fmt.Errorf("histogram: buckets hold %d observations, count says %d", total, j.Count)
	}
	if j.Count > 0 {
		if j.MinNs > j.MaxNs || bucketOf(j.MinNs) != firstBucket(&n) || bucketOf(j.MaxNs) != last {
			return errors.New("histogram: min/max do not match buckets")
		}
	} else if j.MinNs != 0 || j.MaxNs != 0 || j.SumNs != 0 {
		return errors.New("histogram: empty histogram with non-zero fields")
	}
	n.count, n.sum, n.min, n.max = j.Count, j.SumNs, j.MinNs, j.MaxNs
	*h = n
	return nil
}

func firstBucket(h *Histogram) int {
	first := -1
	h.each(func(i int, _ uint64) bool { first = i; return false })
	return first
}
