package attack

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gameday-dev/gameday/timeline"
)

// The benchmarks attack a loopback HTTP server running in a child
// process (this test binary, re-executed), so that the CPU measured for the
// harness (this process's rusage) and for the vegeta CLI (its own child's
// rusage) never includes the server's.

const benchServerEnv = "GAMEDAY_BENCH_SERVER"

func TestMain(m *testing.M) {
	if os.Getenv(benchServerEnv) == "1" {
		benchServer()
		return
	}
	os.Exit(m.Run())
}

// benchServer serves "ok" on 127.0.0.1, prints its URL, and exits when its
// stdin closes (so it never outlives the benchmark). A plain http.Server,
// not httptest's: httptest tracks every connection state change under a
// lock, and with one core that bookkeeping made the server, not the
// generators, the bottleneck at 20k rps (both tools then fell short of
// the rate and measured their behaviour under backpressure instead).
func benchServer() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })}
	go s.Serve(ln)
	fmt.Println("http://" + ln.Addr().String())
	io.Copy(io.Discard, os.Stdin)
	s.Close()
}

func startBenchServer(b testing.TB) string {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), benchServerEnv+"=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); cmd.Wait() })
	url, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(url, "http://127.0.0.1:") {
		b.Fatalf("bench server: %q %v", url, err)
	}
	return strings.TrimSpace(url)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

const benchDuration = 3 * time.Second

var benchRates = []int{5000, 10000, 20000}

type loadResult struct {
	sent, ok, dropped uint64
	rate              float64 // requests started per second of plan
	cpuPerReq         time.Duration
}

// runHarness attacks url at rate for benchDuration with Run, feeding a
// timeline as the runner would.
func runHarness(b *testing.B, url string, rate int) loadResult {
	cfg := Config{
		Requests:  []Request{{URL: url}},
		Stages:    constant(benchDuration, float64(rate)),
		Timeout:   5 * time.Second,
		KeepAlive: true,
	}
	tl, _ := timeline.New(time.Now(), time.Second)
	var okN uint64
	cpu0 := cpuTime()
	sum, err := Run(context.Background(), cfg, func(h *Hit) {
		if h.Class == timeline.ClassOK {
			okN++
		}
		tl.Add(timeline.Result{Start: h.Start, Latency: h.Latency, Class: h.Class, AZ: h.AZ, BytesIn: h.BytesIn})
	})
	cpu := cpuTime() - cpu0
	if err != nil {
		b.Fatal(err)
	}
	r := loadResult{sent: sum.Sent, ok: okN, dropped: sum.Dropped, rate: float64(sum.Sent) / benchDuration.Seconds()}
	if sum.Sent > 0 {
		r.cpuPerReq = cpu / time.Duration(sum.Sent)
	}
	return r
}

func BenchmarkAttack(b *testing.B) {
	url := startBenchServer(b)
	for _, rate := range benchRates {
		b.Run(fmt.Sprintf("rps=%d", rate), func(b *testing.B) {
			var r loadResult
			for i := 0; i < b.N; i++ {
				r = runHarness(b, url, rate)
			}
			b.ReportMetric(r.rate, "sent/s")
			b.ReportMetric(float64(r.ok)/benchDuration.Seconds(), "ok/s")
			b.ReportMetric(float64(r.dropped), "dropped")
			b.ReportMetric(float64(r.cpuPerReq.Nanoseconds())/1e3, "cpu-µs/req")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// vegetaCLI builds the vegeta CLI of the version go.mod pins, once per
// machine (cached in the temp dir), or returns "" if it cannot be built.
func vegetaCLI(b *testing.B) string {
	dir := filepath.Join(os.TempDir(), "gameday-bench-vegeta-v12.13.0")
	bin := filepath.Join(dir, "vegeta")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	cmd := exec.Command("go", "install", "github.com/tsenart/vegeta/v12@v12.13.0")
	cmd.Dir = os.TempDir() // outside this module
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Logf("go install vegeta: %v\n%s", err, out)
		return ""
	}
	return bin
}

// runCLI runs `vegeta attack` with the same settings as runHarness, decoding
// its results here and measuring its CPU from its own rusage.
func runCLI(b *testing.B, bin, url string, rate int) loadResult {
	cmd := exec.Command(bin, "attack",
		"-rate", fmt.Sprintf("%d/s", rate), "-duration", benchDuration.String(),
		"-timeout", "5s", "-workers", "10", "-max-workers", fmt.Sprint(DefaultMaxWorkers),
		"-keepalive=true", "-redirects", "-1", "-max-body", fmt.Sprint(DefaultMaxBody))
	cmd.Stdin = strings.NewReader("GET " + url + "\n")
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	dec := vegeta.NewDecoder(bufio.NewReader(stdout))
	var r loadResult
	for {
		var res vegeta.Result
		if err := dec.Decode(&res); err != nil {
			break
		}
		r.sent++
		if res.Code == 200 {
			r.ok++
		}
	}
	if err := cmd.Wait(); err != nil {
		b.Fatalf("vegeta attack: %v\n%s", err, stderr.String())
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if r.sent > 0 {
		r.cpuPerReq = time.Duration(ru.Utime.Nano()+ru.Stime.Nano()) / time.Duration(r.sent)
	}
	r.rate = float64(r.sent) / benchDuration.Seconds()
	return r
}

func BenchmarkAttackVsVegetaCLI(b *testing.B) {
	bin := vegetaCLI(b)
	if bin == "" {
		b.Skip("the vegeta CLI could not be built (go install github.com/tsenart/vegeta/v12@v12.13.0 failed)")
	}
	url := startBenchServer(b)
	for _, rate := range benchRates {
		b.Run(fmt.Sprintf("rps=%d", rate), func(b *testing.B) {
			var ours, theirs loadResult
			for i := 0; i < b.N; i++ {
				ours = runHarness(b, url, rate)
				theirs = runCLI(b, bin, url, rate)
			}
			b.ReportMetric(ours.rate, "gameday-sent/s")
			b.ReportMetric(theirs.rate, "vegeta-sent/s")
			b.ReportMetric(float64(ours.dropped), "gameday-dropped")
			// vegeta's CLI does not count what it could not send: asked − sent.
			b.ReportMetric(float64(uint64(rate)*uint64(benchDuration.Seconds())-min(theirs.sent, uint64(rate)*uint64(benchDuration.Seconds()))), "vegeta-unsent")
			b.ReportMetric(float64(ours.cpuPerReq.Nanoseconds())/1e3, "gameday-cpu-µs/req")
			b.ReportMetric(float64(theirs.cpuPerReq.Nanoseconds())/1e3, "vegeta-cpu-µs/req")
			if theirs.cpuPerReq > 0 {
				b.ReportMetric(float64(ours.cpuPerReq)/float64(theirs.cpuPerReq), "cpu-ratio")
			}
			b.ReportMetric(0, "ns/op")
		})
	}
}
