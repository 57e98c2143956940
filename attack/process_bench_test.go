package attack

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// BenchmarkProcessVsVegetaCLI is what `make bench` prints first: the
// whole-process CPU per request and the peak RSS of `gameday run` (a real
// experiment file: load only, against a loopback server, no faults, no
// probes, no --raw) and of the vegeta CLI built from the pinned version
// (`vegeta attack -rate R -duration 8s -max-workers 256 -workers 32
// -output FILE`), at 5k, 10k and 20k rps, alternating runs, with the
// median, min and max ratio. Each process's CPU (user + system) and
// Maxrss come from its own rusage, so neither the server's nor this
// process's work counts. With two or more cores (and taskset), the server
// (and the sandbox gameday needs for its AWS calls) run on core 0 and the
// generators on core 1.
//
// Settings: GAMEDAY_BIN (a built bin/gameday; default: built here),
// GAMEDAY_BENCH_RUNS (runs of each tool per rate, default 5),
// GAMEDAY_BENCH_RATES (comma-separated, default 5000,10000,20000),
// GAMEDAY_BENCH_RUN_DURATION (default 8s), GAMEDAY_BENCH_CPUPROFILE (a folder:
// each gameday run writes its CPU profile there, through the hidden
// GAMEDAY_CPUPROFILE environment variable of the CLI).
func BenchmarkProcessVsVegetaCLI(b *testing.B) {
	if testing.Short() {
		b.Skip("whole-process runs take minutes")
	}
	vbin := vegetaCLI(b)
	if vbin == "" {
		b.Skip("the vegeta CLI could not be built (go install github.com/tsenart/vegeta/v12@v12.13.0 failed)")
	}
	gbin := gamedayBin(b)
	runs := envInt(b, "GAMEDAY_BENCH_RUNS", 5)
	dur := benchEnvDuration(b, "GAMEDAY_BENCH_RUN_DURATION", 8*time.Second)
	rates := benchRates
	if s := os.Getenv("GAMEDAY_BENCH_RATES"); s != "" {
		rates = nil
		for _, f := range strings.Split(s, ",") {
			r, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || r <= 0 {
				b.Fatalf("GAMEDAY_BENCH_RATES: %q is not a positive number", f)
			}
			rates = append(rates, r)
		}
	}

	pin := pinning()
	url := startPinnedServer(b, pin.server)
	endpoint := startSandbox(b, gbin, pin.server)
	dir := b.TempDir()
	profDir := os.Getenv("GAMEDAY_BENCH_CPUPROFILE")

	type row struct {
		rate         int
		g, v         []procResult
		ratios       []float64
		gRSS, vRSS   []float64
		gAnon, vAnon []float64
		gFile, vFile []float64
		gSent, vSent []uint64
	}
	var rows []row
	for range b.N {
		rows = rows[:0]
		for _, rate := range rates {
			r := row{rate: rate}
			for i := range runs {
				var g, v procResult
				// Alternate which goes first, so that a slow spell of
				// the machine does not always hit the same tool.
				runG := func() {
					prof := ""
					if profDir != "" {
						prof = filepath.Join(profDir, fmt.Sprintf("gameday-%d-%d.pprof", rate, i))
					}
					g = runGamedayProcess(b, gbin, pin.gen, endpoint, url, rate, dur, filepath.Join(dir, fmt.Sprintf("g%d-%d", rate, i)), prof)
				}
				runV := func() {
					v = runVegetaProcess(b, vbin, pin.gen, url, rate, dur, filepath.Join(dir, fmt.Sprintf("v%d-%d.bin", rate, i)))
				}
				if i%2 == 0 {
					runG()
					runV()
				} else {
					runV()
					runG()
				}
				r.g, r.v = append(r.g, g), append(r.v, v)
				r.ratios = append(r.ratios, g.cpuPerReq()/v.cpuPerReq())
				r.gRSS, r.vRSS = append(r.gRSS, g.rssMiB), append(r.vRSS, v.rssMiB)
				r.gAnon, r.vAnon = append(r.gAnon, g.anonMiB), append(r.vAnon, v.anonMiB)
				r.gFile, r.vFile = append(r.gFile, g.fileMiB), append(r.vFile, v.fileMiB)
				r.gSent, r.vSent = append(r.gSent, g.sent), append(r.vSent, v.sent)
			}
			rows = append(rows, r)
		}
	}

	var out strings.Builder
	fmt.Fprintf(&out, "\nwhole-process CPU per request: gameday run vs the vegeta CLI v12.13.0 (%s per run, %d runs of each per rate, alternating; %s)\n", dur, runs, pin.what)
	fmt.Fprintf(&out, "%-7s %13s %13s %23s %23s %21s\n", "rps", "gameday µs/req", "vegeta µs/req", "ratio median [min–max]", "peak RSS MiB gd / vg", "sent/s gd / vg (min)")
	for _, r := range rows {
		gc := medianOf(mapf(r.g, procResult.cpuPerReq))
		vc := medianOf(mapf(r.v, procResult.cpuPerReq))
		fmt.Fprintf(&out, "%-7d %13.1f %13.1f %9.3f [%.3f–%.3f] %11.1f / %-9.1f %10.0f / %-8.0f\n",
			r.rate, gc, vc, medianOf(r.ratios), slices.Min(r.ratios), slices.Max(r.ratios),
			medianOf(r.gRSS), medianOf(r.vRSS),
			float64(slices.Min(r.gSent))/dur.Seconds(), float64(slices.Min(r.vSent))/dur.Seconds())
	}
	fmt.Fprintf(&out, "(µs/req and RSS are medians; ratio = gameday/vegeta of each pair of runs; sent/s is the lowest run's)\n")
	fmt.Fprintf(&out, "\npeak RSS split, MiB (each sampled every 50 ms; medians)\n%-7s %19s %19s\n", "rps", "anon gd / vg", "file gd / vg")
	for _, r := range rows {
		fmt.Fprintf(&out, "%-7d %8.1f / %-8.1f %8.1f / %-8.1f\n", r.rate,
			medianOf(r.gAnon), medianOf(r.vAnon), medianOf(r.gFile), medianOf(r.vFile))
	}
	fmt.Fprintf(&out, "(anon: heap, stacks, runtime; file: the pages of the executable and libraries touched, clean and shared with the page cache)\n")
	fmt.Print(out.String())
	b.ReportMetric(0, "ns/op")
}

// procResult is one process's run.
type procResult struct {
	sent   uint64
	cpu    time.Duration // user + system
	rssMiB float64       // Maxrss
	// anonMiB and fileMiB are the sampled peaks of its anonymous and
	// file-backed resident memory (see rssPeak).
	anonMiB, fileMiB float64
}

func (p procResult) cpuPerReq() float64 {
	if p.sent == 0 {
		return 0
	}
	return float64(p.cpu.Microseconds()) / float64(p.sent)
}

// pinned says which cores the server and the generators run on.
type pinned struct {
	server, gen string // taskset core lists; "" = not pinned
	what        string
}

func pinning() pinned {
	if runtime.NumCPU() < 2 {
		return pinned{what: "1 core: server and generator NOT pinned apart"}
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		return pinned{what: "no taskset: server and generator NOT pinned apart"}
	}
	last := strconv.Itoa(runtime.NumCPU() - 1)
	return pinned{server: "0", gen: last, what: "server and sandbox pinned to core 0, generators to core " + last + " (taskset)"}
}

// pinnedCmd runs name pinned to cores (taskset -c) when cores is set.
func pinnedCmd(cores, name string, args ...string) *exec.Cmd {
	if cores == "" {
		return exec.Command(name, args...)
	}
	return exec.Command("taskset", append([]string{"-c", cores, name}, args...)...)
}

// startPinnedServer starts the benchmark's "ok" server (this test binary,
// re-executed) pinned to cores.
func startPinnedServer(b *testing.B, cores string) string {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := pinnedCmd(cores, exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), benchServerEnv+"=1", "GOMAXPROCS=1")
	return startLineServer(b, cmd, "http://127.0.0.1:", func(line string) (string, bool) {
		return strings.TrimSpace(line), strings.HasPrefix(line, "http://127.0.0.1:")
	})
}

// startSandbox starts `gameday sandbox` (gameday run needs an AWS API to
// talk to, even for load only) pinned to cores; it returns its endpoint.
func startSandbox(b *testing.B, gbin, cores string) string {
	b.Helper()
	cmd := pinnedCmd(cores, gbin, "sandbox")
	return startLineServer(b, cmd, "AWS endpoint", func(line string) (string, bool) {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == "AWS" && f[1] == "endpoint" {
			return f[2], true
		}
		return "", false
	})
}

// startLineServer starts cmd, waits for the stdout line parse accepts, and
// stops it (closing its stdin, then interrupting it) when b ends.
func startLineServer(b *testing.B, cmd *exec.Cmd, want string, parse func(string) (string, bool)) string {
	b.Helper()
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder // shown if it fails to start; quiet at the end
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	sc := bufio.NewScanner(stdout)
	found := make(chan string, 1)
	go func() {
		sent := false
		for sc.Scan() {
			if v, ok := parse(sc.Text()); ok && !sent {
				found <- v
				sent = true
			}
		}
		if !sent {
			close(found)
		}
	}()
	select {
	case v, ok := <-found:
		if !ok {
			cmd.Wait() // its stderr is complete once it is reaped
			b.Fatalf("%s: exited without printing %q\n%s", cmd.Path, want, stderr.String())
		}
		return v
	case <-time.After(60 * time.Second):
		b.Fatalf("%s: no %q line within 60s", cmd.Path, want)
	}
	return ""
}

// gamedayBin returns GAMEDAY_BIN, or builds cmd/gameday into a temp dir.
func gamedayBin(b *testing.B) string {
	if p := os.Getenv("GAMEDAY_BIN"); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			b.Fatal(err)
		}
		return abs
	}
	bin := filepath.Join(b.TempDir(), "gameday")
	cmd := exec.Command("go", "build", "-o", bin, "../cmd/gameday")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build ../cmd/gameday: %v\n%s", err, out)
	}
	return bin
}

// runGamedayProcess runs `gameday run` on a load-only experiment file.
func runGamedayProcess(b *testing.B, gbin, cores, endpoint, url string, rate int, dur time.Duration, out, cpuprofile string) procResult {
	b.Helper()
	if err := os.MkdirAll(out, 0o755); err != nil {
		b.Fatal(err)
	}
	file := filepath.Join(out, "bench.yaml")
	yaml := fmt.Sprintf(`name: bench-%d
target: {kind: sandbox, sandbox: {endpoint: %q}}
load:
  url: %q
  rate: %d
  duration: %s
  workers: 32
  max_workers: 256
  max_connections: 256
steady_state:
  thresholds: ["success_ratio >= 0.99"]
`, rate, endpoint, url+"/", rate, dur)
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		b.Fatal(err)
	}
	cmd := pinnedCmd(cores, gbin, "run", file, "--out", filepath.Join(out, "run"), "-f", "json", "-q")
	if cpuprofile != "" {
		cmd.Env = append(os.Environ(), "GAMEDAY_CPUPROFILE="+cpuprofile)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.Stdout = io.Discard
	peak, runErr := runSampled(cmd)
	// A run whose steady state failed (the generator could not keep up)
	// still wrote its record: its figures count, its lower rate shows.
	rec, err := os.ReadFile(filepath.Join(out, "run", "run.json"))
	if err != nil {
		b.Fatalf("gameday run: %v %v\n%s", runErr, err, stderr.String())
	}
	var run struct {
		Load struct {
			Sent uint64 `json:"sent"`
		} `json:"load"`
	}
	if err := json.Unmarshal(rec, &run); err != nil {
		b.Fatalf("run.json: %v", err)
	}
	return procOf(cmd, run.Load.Sent, peak)
}

// runVegetaProcess runs the vegeta CLI and counts the results it wrote.
func runVegetaProcess(b *testing.B, vbin, cores, url string, rate int, dur time.Duration, out string) procResult {
	b.Helper()
	cmd := pinnedCmd(cores, vbin, "attack", "-rate", strconv.Itoa(rate), "-duration", dur.String(),
		"-max-workers", "256", "-workers", "32", "-output", out)
	cmd.Stdin = strings.NewReader("GET " + url + "/\n")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	peak, err := runSampled(cmd)
	if err != nil {
		b.Fatalf("vegeta attack: %v\n%s", err, stderr.String())
	}
	f, err := os.Open(out)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	dec := vegeta.NewDecoder(bufio.NewReader(f))
	var n uint64
	for {
		var r vegeta.Result
		if err := dec.Decode(&r); err != nil {
			break
		}
		n++
	}
	os.Remove(out)
	return procOf(cmd, n, peak)
}

func procOf(cmd *exec.Cmd, sent uint64, peak rssPeak) procResult {
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return procResult{
		sent:    sent,
		cpu:     time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		rssMiB:  float64(ru.Maxrss) / 1024, // KiB on Linux
		anonMiB: float64(peak.anonKiB) / 1024,
		fileMiB: float64(peak.fileKiB) / 1024,
	}
}

// rssPeak is the largest RssAnon and RssFile (KiB) seen in a process's
// /proc/PID/status while it ran: what its peak RSS is made of, the heap
// and stacks (anonymous) apart from the pages of its executable and
// libraries it touched (file-backed: clean, shared with the page cache).
// Sampled every 50 ms, so a peak shorter than that can be missed; zero
// where /proc is not there.
type rssPeak struct{ anonKiB, fileKiB uint64 }

// runSampled runs cmd (taskset execs its program, keeping the pid) and
// samples its memory until it exits.
func runSampled(cmd *exec.Cmd) (rssPeak, error) {
	if err := cmd.Start(); err != nil {
		return rssPeak{}, err
	}
	done := make(chan struct{})
	var peak rssPeak
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			if data, err := os.ReadFile(status); err == nil {
				for _, line := range strings.Split(string(data), "\n") {
					f := strings.Fields(line)
					if len(f) < 2 {
						continue
					}
					n, _ := strconv.ParseUint(f[1], 10, 64)
					switch f[0] {
					case "RssAnon:":
						peak.anonKiB = max(peak.anonKiB, n)
					case "RssFile:":
						peak.fileKiB = max(peak.fileKiB, n)
					}
				}
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	<-sampled
	return peak, err
}

func envInt(b *testing.B, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		b.Fatalf("%s: %q is not a positive number", name, s)
	}
	return n
}

func benchEnvDuration(b *testing.B, name string, def time.Duration) time.Duration {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		b.Fatalf("%s: %q is not a positive duration", name, s)
	}
	return d
}

func medianOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func mapf[T any](xs []T, f func(T) float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}
