package sim

import (
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func envOr[T int | time.Duration](name string, def T, parse func(string) (T, error)) T {
	if s := os.Getenv(name); s != "" {
		if v, err := parse(s); err == nil {
			return v
		}
	}
	return def
}

// BenchmarkALBThroughput sends a fixed open-model rate (default 5,000 rps
// for 3 s; GAMEDAY_BENCH_RATE, GAMEDAY_BENCH_DURATION) through the load
// balancer's three nodes to three instances with the default app capacity,
// and reports the achieved rate and latency quantiles.
func BenchmarkALBThroughput(b *testing.B) {
	rate := envOr("GAMEDAY_BENCH_RATE", 5000, strconv.Atoi)
	dur := envOr("GAMEDAY_BENCH_DURATION", 3*time.Second, time.ParseDuration)
	r := startRegion(b, Config{Seed: 7})
	var urls []string
	for _, n := range r.ALBNodes() {
		urls = append(urls, "http://"+n.Addr+"/")
	}
	client := &http.Client{
		Timeout: 2 * time.Second,
		Transport: &http.Transport{
			MaxIdleConnsPerHost: 512, MaxConnsPerHost: 512, DisableCompression: true, IdleConnTimeout: 30 * time.Second,
		},
	}
	defer client.CloseIdleConnections()
	// Warm up: open the client's and the nodes' connection pools at rate.
	attack(client, urls, rate, time.Second)
	b.ResetTimer()
	for range b.N {
		lat, errs, non200, elapsed := attack(client, urls, rate, dur)
		var ok []time.Duration
		for _, d := range lat {
			if d > 0 {
				ok = append(ok, d)
			}
		}
		slices.Sort(ok)
		q := func(p float64) float64 {
			if len(ok) == 0 {
				return 0
			}
			return float64(ok[min(len(ok)-1, int(p*float64(len(ok))))].Microseconds()) / 1000
		}
		b.ReportMetric(float64(len(ok))/elapsed.Seconds(), "rps")
		b.ReportMetric(q(0.5), "p50_ms")
		b.ReportMetric(q(0.99), "p99_ms")
		b.ReportMetric(q(0.999), "p999_ms")
		b.ReportMetric(float64(errs), "errors")
		b.ReportMetric(float64(non200), "non200")
	}
}

// attack sends rate requests per second for dur, open model: a request
// that finds no free worker counts as an error. It returns each request's
// latency (-1 for errors).
func attack(client *http.Client, urls []string, rate int, dur time.Duration) (lat []time.Duration, errs, non200 int64, elapsed time.Duration) {
	total := int(float64(rate) * dur.Seconds())
	lat = make([]time.Duration, total)
	var nerr, nnon200, dropped atomic.Int64
	jobs := make(chan int, 1024)
	var wg sync.WaitGroup
	for range 512 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				start := time.Now()
				resp, err := client.Get(urls[i%len(urls)])
				if err != nil {
					nerr.Add(1)
					lat[i] = -1
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[i] = time.Since(start)
				if resp.StatusCode != 200 {
					nnon200.Add(1)
				}
			}
		}()
	}
	interval := time.Second / time.Duration(rate)
	begin := time.Now()
	for i := 0; i < total; {
		due := min(int(time.Since(begin)/interval)+1, total)
		for ; i < due; i++ {
			select {
			case jobs <- i:
			default:
				dropped.Add(1)
				lat[i] = -1
			}
		}
		time.Sleep(500 * time.Microsecond)
	}
	close(jobs)
	wg.Wait()
	elapsed = time.Since(begin)
	return lat, nerr.Load() + dropped.Load(), nnon200.Load(), elapsed
}
