//go:build linux

package runner

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gameday-dev/gameday/attack"
	"github.com/gameday-dev/gameday/timeline"
)

// Memory of the per-hit path (issue 16): the runner's own work per request
// (run.hit: the timeline, the raw results file) fed synthetic hits at full
// speed. BenchmarkHitPath10M runs it in a child process (this test binary,
// re-executed) so that the peak RSS it reports (the child's rusage Maxrss)
// is that path's alone, with the whole binary loaded as `gameday run` has it.

const hitPathEnv = "GAMEDAY_HITPATH_CHILD" // "hits,window[,raw file]"

// hitSpacing is the due-time spacing of the synthetic hits: 20,000 rps, so
// 10M hits span 500 s (500 windows of 1 s, 5,000 of 100 ms).
const hitSpacing = 50 * time.Microsecond

// hitPathStats is what one run of the path measured.
type hitPathStats struct {
	Hits     int     `json:"hits"`
	Windows  int     `json:"windows"`
	NsPerHit float64 `json:"ns_per_hit"`
	// HeapInuse is runtime.MemStats.HeapInuse sampled every tenth of the
	// hits (after a GC, so it is what stays live), the last at the end.
	HeapInuse []uint64 `json:"heap_inuse"`
	// PeakHeapInuse is the largest HeapInuse seen without forcing a GC,
	// garbage not yet collected included.
	PeakHeapInuse uint64 `json:"peak_heap_inuse"`
	RawBytes      int64  `json:"raw_bytes,omitempty"`
	// RSSBefore is the process's resident set (and its anonymous part)
	// before the first hit, from /proc/self/status: the binary's own
	// baseline, which the path's peak RSS includes.
	RSSBefore, AnonBefore uint64
}

// procStatus returns fields of /proc/self/status in bytes (0 if absent).
func procStatus(keys ...string) []uint64 {
	b, _ := os.ReadFile("/proc/self/status")
	out := make([]uint64, len(keys))
	for _, line := range strings.Split(string(b), "\n") {
		for i, k := range keys {
			if v, ok := strings.CutPrefix(line, k+":"); ok {
				kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				out[i] = kb << 10
			}
		}
	}
	return out
}

var hitAZs = [...]string{"us-east-1a", "us-east-1b", "us-east-1c"}

// feedHits sends n synthetic hits through r.hit as attack.Run delivers
// them: a fresh *attack.Hit per request, with vegeta's *Result when it was
// sent, due every hitSpacing from start; 2 % failures of every class, 1 %
// not sent, latencies from a log-normal-like body around 2 ms with 1 %
// slow ones up to 5 s, three AZs.
func feedHits(r *run, start time.Time, n int, every int, sample func()) {
	const tableLen = 1 << 16
	type proto struct {
		lat   time.Duration
		class timeline.Class
		az    string
		code  uint16
	}
	rng := rand.New(rand.NewPCG(16, 10))
	table := make([]proto, tableLen)
	for i := range table {
		p := proto{lat: time.Duration(float64(2*time.Millisecond) * (0.3 + rng.ExpFloat64())), class: timeline.ClassOK, az: hitAZs[rng.IntN(3)], code: 200}
		if rng.IntN(100) == 0 {
			p.lat = time.Duration(rng.Int64N(int64(5 * time.Second)))
		}
		switch k := rng.IntN(100); {
		case k < 1:
			p.class, p.code = timeline.ClassNotSent, 0
		case k < 3:
			p.class = timeline.Classes[1+rng.IntN(8)]
			p.code = 503
		}
		table[i] = p
	}
	const target = "http://127.0.0.1:8080/" // one string for every result, as vegeta's targeter gives
	hdr := http.Header{"Content-Type": {"text/plain"}}
	for k := range n {
		p := &table[k&(tableLen-1)]
		due := start.Add(time.Duration(k) * hitSpacing)
		h := &attack.Hit{Due: due, Latency: p.lat, Class: p.class, Code: p.code}
		if p.class != timeline.ClassNotSent {
			h.Start = due.Add(30 * time.Microsecond)
			h.Service = p.lat - 30*time.Microsecond
			h.AZ, h.TargetAZ, h.BytesIn, h.BytesOut = p.az, p.az, 2, 0
			h.Raw = &vegeta.Result{Attack: "bench", Seq: uint64(k), Code: p.code, Timestamp: h.Start, Latency: h.Service,
				BytesIn: 2, Body: []byte("ok"), Method: "GET", URL: target, Headers: hdr}
		}
		r.hit(h)
		if every > 0 && (k+1)%every == 0 {
			sample()
		}
	}
}

// runHitPath feeds n hits into a fresh run (raw results to rawPath when
// set) and measures the heap along the way.
func runHitPath(n int, width time.Duration, rawPath string) (hitPathStats, error) {
	start := time.Unix(1_800_000_000, 0)
	tl, err := timeline.New(start, width)
	if err != nil {
		return hitPathStats{}, err
	}
	r := &run{tl: tl}
	var rawFile *os.File
	if rawPath != "" {
		if rawFile, err = os.Create(rawPath); err != nil {
			return hitPathStats{}, err
		}
		defer rawFile.Close()
		if r.o.Raw, err = attack.NewRawWriter(rawFile, "gob"); err != nil {
			return hitPathStats{}, err
		}
	}
	st := hitPathStats{Hits: n}
	var ms runtime.MemStats
	peak := func() {
		runtime.ReadMemStats(&ms)
		st.PeakHeapInuse = max(st.PeakHeapInuse, ms.HeapInuse)
	}
	live := func() {
		peak()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		st.HeapInuse = append(st.HeapInuse, ms.HeapInuse)
	}
	runtime.GC()
	if v := procStatus("VmRSS", "RssAnon"); len(v) == 2 {
		st.RSSBefore, st.AnonBefore = v[0], v[1]
	}
	t0 := time.Now()
	feedHits(r, start, n, n/10, live)
	st.NsPerHit = float64(time.Since(t0).Nanoseconds()) / float64(n)
	if n%10 != 0 {
		live()
	}
	st.Windows = tl.Len()
	if rawFile != nil {
		fi, err := rawFile.Stat()
		if err != nil {
			return st, err
		}
		st.RawBytes = fi.Size()
	}
	return st, nil
}

// TestHitPathChild is the child BenchmarkHitPath10M starts; it does nothing
// in a normal test run.
func TestHitPathChild(t *testing.T) {
	spec := os.Getenv(hitPathEnv)
	if spec == "" {
		t.Skip("the child process of BenchmarkHitPath10M")
	}
	parts := strings.Split(spec, ",")
	n, err := strconv.Atoi(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	width, err := time.ParseDuration(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	raw := ""
	if len(parts) > 2 {
		raw = parts[2]
	}
	st, err := runHitPath(n, width, raw)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(st)
	fmt.Printf("HITPATH %s\n", b)
}

// hitPathChild runs the path in a child process and returns its figures
// and peak RSS (bytes).
func hitPathChild(b *testing.B, n int, width time.Duration, raw string) (hitPathStats, uint64) {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	spec := fmt.Sprintf("%d,%s", n, width)
	if raw != "" {
		spec += "," + raw
	}
	cmd := exec.Command(exe, "-test.run=^TestHitPathChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), hitPathEnv+"="+spec)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	var st hitPathStats
	found := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if j, ok := strings.CutPrefix(sc.Text(), "HITPATH "); ok {
			found = json.Unmarshal([]byte(j), &st) == nil
		}
	}
	_, _ = io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil || !found {
		b.Fatalf("hit path child (%s): %v (figures found: %v)", spec, err, found)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		b.Fatal("no rusage for the child")
	}
	return st, uint64(ru.Maxrss) * 1024 // Linux: KiB
}

// memTarget is issue 16's bound for a 10M-request run without --raw.
const memTarget = 64 << 20

// maxWindowBytes bounds what the live heap may grow by per window: the
// timeline keeps about 8 KiB per 1 s window of this load (three latency
// histograms, classes, two per-AZ maps); more means something is kept per
// hit.
const maxWindowBytes = 16 << 10

// BenchmarkHitPath10M feeds 10 million synthetic hits (20k rps for 500 s)
// through the runner's per-hit path at full speed, with 1 s windows (the
// default) and 100 ms windows (the finest), and prints the child process's
// peak RSS (and how much of it was there before the first hit: the binary
// and its packages' init), the heap in use at its peak and the live heap by
// tenths of the run; then 1M hits with raw results written to a file, to
// show the heap stays flat while the file grows.
func BenchmarkHitPath10M(b *testing.B) {
	mib := func(v uint64) float64 { return float64(v) / (1 << 20) }
	for _, width := range []time.Duration{time.Second, 100 * time.Millisecond} {
		b.Run("window="+width.String(), func(b *testing.B) {
			var st hitPathStats
			var rss uint64
			for b.Loop() {
				st, rss = hitPathChild(b, 10_000_000, width, "")
			}
			live := st.HeapInuse[len(st.HeapInuse)-1]
			b.ReportMetric(st.NsPerHit, "ns/hit")
			b.ReportMetric(mib(rss), "peak-RSS-MiB")
			b.ReportMetric(mib(st.RSSBefore), "RSS-before-MiB")
			b.ReportMetric(mib(st.PeakHeapInuse), "peak-heap-MiB")
			b.ReportMetric(mib(live), "live-heap-MiB")
			b.ReportMetric(0, "ns/op")
			b.Logf("%d hits in %d windows of %s: peak RSS %.1f MiB (%.1f MiB before the first hit; issue 16's target for the whole process: under %d MiB); heap in use %.1f MiB at its peak; live heap by tenths (MiB) %s",
				st.Hits, st.Windows, width, mib(rss), mib(st.RSSBefore), memTarget>>20, mib(st.PeakHeapInuse), heapMiB(st.HeapInuse))
			if st.PeakHeapInuse >= memTarget && width == time.Second {
				b.Errorf("heap in use peaked at %.1f MiB, over %d MiB", mib(st.PeakHeapInuse), memTarget>>20)
			}
			if grew := int64(live) - int64(st.HeapInuse[0]); grew > int64(st.Windows)*maxWindowBytes {
				b.Errorf("the live heap grew by %.1f MiB over %d windows, more than %d KiB a window", float64(grew)/(1<<20), st.Windows, maxWindowBytes>>10)
			}
		})
	}
	b.Run("raw=gob/hits=1M", func(b *testing.B) {
		raw := filepath.Join(b.TempDir(), "results.gob")
		var st hitPathStats
		var rss uint64
		for b.Loop() {
			st, rss = hitPathChild(b, 1_000_000, time.Second, raw)
		}
		b.ReportMetric(st.NsPerHit, "ns/hit")
		b.ReportMetric(mib(rss), "peak-RSS-MiB")
		b.ReportMetric(mib(uint64(st.RawBytes)), "raw-file-MiB")
		b.ReportMetric(mib(st.HeapInuse[len(st.HeapInuse)-1]), "live-heap-MiB")
		b.ReportMetric(0, "ns/op")
		b.Logf("%d hits with raw results: file %.1f MiB, peak RSS %.1f MiB (%.1f before the first hit), live heap by tenths (MiB) %s",
			st.Hits, mib(uint64(st.RawBytes)), mib(rss), mib(st.RSSBefore), heapMiB(st.HeapInuse))
	})
}

func heapMiB(vs []uint64) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = fmt.Sprintf("%.1f", float64(v)/(1<<20))
	}
	return strings.Join(s, " ")
}

// Writing raw results streams them to the file: the heap still in use after
// 200,000 hits is what it was after 20,000 (within 8 MiB, where keeping
// each result would take over 30 MiB), and the file decodes back to every
// hit that was sent.
func TestRawResultsStreamWithoutGrowingHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 200,000 results")
	}
	const n = 200_000
	raw := filepath.Join(t.TempDir(), "results.gob")
	st, err := runHitPath(n, time.Second, raw)
	if err != nil {
		t.Fatal(err)
	}
	first, last := st.HeapInuse[0], st.HeapInuse[len(st.HeapInuse)-1]
	t.Logf("live heap by tenths (MiB): %s; raw file %d bytes", heapMiB(st.HeapInuse), st.RawBytes)
	if last > first+8<<20 {
		t.Errorf("live heap grew from %d to %d bytes over %d hits with raw results on", first, last, n)
	}
	f, err := os.Open(raw)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := vegeta.NewDecoder(bufio.NewReader(f))
	var got int
	var res vegeta.Result
	for {
		if err := dec.Decode(&res); err != nil {
			if err != io.EOF {
				t.Fatalf("decoding result %d: %v", got, err)
			}
			break
		}
		got++
	}
	// feedHits makes 1 % of the table's hits not sent (no raw result).
	if got < n*97/100 || got >= n {
		t.Fatalf("the raw file holds %d results for %d hits", got, n)
	}
}
