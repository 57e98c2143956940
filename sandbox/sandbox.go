package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/gameday-dev/gameday/sandbox/awsapi"
	"github.com/gameday-dev/gameday/sandbox/dnsserver"
	"github.com/gameday-dev/gameday/sandbox/ecs"
	"github.com/gameday-dev/gameday/sandbox/sim"
)

// Config configures a sandbox.
type Config struct {
	// Region configures the region model and data plane.
	Region sim.Config `yaml:"region" mapstructure:"region" json:"region"`
	// APIPort is the control plane's port on 127.0.0.1; 0 picks a free one.
	APIPort int `yaml:"api_port" mapstructure:"api_port" json:"api_port,omitempty"`
	// DNSPort is the DNS server's port on 127.0.0.1 (UDP and TCP); 0 picks
	// a free one.
	DNSPort int `yaml:"dns_port" mapstructure:"dns_port" json:"dns_port,omitempty"`
	// APIFaults are control-plane faults active from the start (throttling,
	// 503s for chosen actions); more can be added with Faults().Add.
	APIFaults []awsapi.ErrorRule `yaml:"api_faults" mapstructure:"api_faults" json:"api_faults,omitempty"`
	// FaultSeed seeds probabilistic API faults; 0 uses the region's seed.
	FaultSeed uint64 `yaml:"fault_seed" mapstructure:"fault_seed" json:"fault_seed,omitempty"`
	// ECS configures the sandbox's Amazon ECS: its cluster (default
	// "gameday"), lifecycle steps, stop timeout and task cap. Its tasks are
	// real processes of ECS.Executable — in Go, set
	// cfg.ECS.Executable = "/path/to/gameday" to run a built binary; empty
	// means os.Executable(), the gameday binary the sandbox runs in (in a
	// Go test binary, tasks then fail to start: set it).
	ECS ecs.Config `yaml:"ecs" mapstructure:"ecs" json:"ecs"`
}

// Credentials the sandbox's aws.Config carries; the control plane accepts
// any signature.
const (
	AccessKeyID     = "AKIAGAMEDAYSANDBOX01"
	SecretAccessKey = "gameday-sandbox-secret-key-not-a-secret"
)

// Sandbox is a running local region.
type Sandbox struct {
	region    *sim.Region
	ecs       *ecs.Service
	apiErrors *awsapi.ErrorInjector
	ln        net.Listener
	srv       *http.Server
	dns       *dnsserver.Server
	endpoint  string
	started   time.Time

	closeOnce sync.Once
	closeErr  error
	srvDone   chan struct{}
}

// Start builds the region from cfg.Region, starts its data plane, the
// control plane on 127.0.0.1:cfg.APIPort and the DNS server on
// 127.0.0.1:cfg.DNSPort. ctx bounds the start only; Close stops everything.
func Start(ctx context.Context, cfg Config) (*Sandbox, error) {
	region, err := sim.New(cfg.Region)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	if err := region.Start(ctx); err != nil {
		region.Close()
		return nil, fmt.Errorf("sandbox: start region: %w", err)
	}
	seed := cfg.FaultSeed
	if seed == 0 {
		seed = region.Config().Seed
	}
	s := &Sandbox{region: region, apiErrors: awsapi.NewErrorInjector(seed), started: time.Now(), srvDone: make(chan struct{})}
	s.apiErrors.Add(cfg.APIFaults...)
	s.ecs, err = ecs.New(cfg.ECS, region.Config().Profile, region)
	if err != nil {
		region.Close()
		return nil, fmt.Errorf("sandbox: %w", err)
	}

	fail := func(err error) (*Sandbox, error) {
		s.Close()
		return nil, err
	}
	if cfg.APIPort < 0 || cfg.APIPort > 65535 || cfg.DNSPort < 0 || cfg.DNSPort > 65535 {
		return fail(fmt.Errorf("sandbox: api_port and dns_port must be 0..65535"))
	}
	s.ln, err = net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.APIPort)))
	if err != nil {
		return fail(fmt.Errorf("sandbox: control plane listener: %w", err))
	}
	s.endpoint = "http://" + s.ln.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("/_sandbox/events", s.serveEvents)
	mux.HandleFunc("/_sandbox/health", s.serveHealth)
	mux.HandleFunc("/_sandbox/failures", s.serveFailures)
	mux.HandleFunc("/_sandbox/api-faults", s.serveAPIFaults)
	mux.HandleFunc("/_sandbox/launch-failures", s.serveLaunchFailures)
	mux.Handle("/", awsapi.NewHandler(region, awsapi.WithErrorInjector(s.apiErrors), awsapi.WithECS(s.ecs)))
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second}
	go func() {
		defer close(s.srvDone)
		_ = s.srv.Serve(s.ln)
	}()

	s.dns, err = dnsserver.Start(context.Background(), net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.DNSPort)), s.lookup, dnsserver.WithTTL(region.DNSTTL()))
	if err != nil {
		return fail(fmt.Errorf("sandbox: dns: %w", err))
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	return s, nil
}

// lookup answers the load balancer's DNS name with the nodes the region
// says DNS should return now, and the database's endpoint names with the
// addresses of the members they lead to now (sim/dnsrds.go).
func (s *Sandbox) lookup(name string) []netip.Addr {
	if !strings.EqualFold(name, strings.TrimSuffix(s.region.DNSName(), ".")) {
		var out []netip.Addr
		for _, ip := range s.region.DBEndpointIPs(name) {
			if a, err := netip.ParseAddr(ip); err == nil {
				out = append(out, a)
			}
		}
		return out
	}
	var out []netip.Addr
	ips := s.region.HealthyNodeIPs()
	s.region.NoteDNSAnswer(ips)
	for _, ip := range ips {
		if a, err := netip.ParseAddr(ip); err == nil {
			out = append(out, a)
		}
	}
	return out
}

// Endpoint is the control plane's URL, "http://127.0.0.1:PORT".
func (s *Sandbox) Endpoint() string { return s.endpoint }

// DNSAddr is the DNS server's "127.0.0.1:PORT" (UDP and TCP).
func (s *Sandbox) DNSAddr() string { return s.dns.Addr() }

// ECS is the sandbox's Amazon ECS, for ground truth and direct inspection.
func (s *Sandbox) ECS() *ecs.Service { return s.ecs }

// Region is the region model, for ground truth and direct inspection.
func (s *Sandbox) Region() *sim.Region { return s.region }

// APIErrors is the control plane's fault injector: add throttling or 503s for
// chosen actions while the sandbox runs.
func (s *Sandbox) APIErrors() *awsapi.ErrorInjector { return s.apiErrors }

// Resolver returns a resolver that asks the sandbox DNS server, for
// clients that should reach the load balancer by its DNS name.
func (s *Sandbox) Resolver() *net.Resolver {
	addr := s.dns.Addr()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
}

// AWSConfig returns an aws.Config for the real aws-sdk-go-v2 clients: the
// sandbox endpoint, static dummy credentials, the region's name, and an
// HTTP client that refuses to dial anything but loopback.
func (s *Sandbox) AWSConfig(ctx context.Context) aws.Config {
	_ = ctx
	return AWSConfig(s.endpoint, s.region.RegionName())
}

// Close stops the control plane, the DNS server and the region. It is
// idempotent and returns the first error.
func (s *Sandbox) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			if err := s.srv.Shutdown(ctx); err != nil {
				errs = append(errs, s.srv.Close())
			}
			cancel()
			<-s.srvDone
		} else if s.ln != nil {
			errs = append(errs, s.ln.Close())
		}
		if s.dns != nil {
			errs = append(errs, s.dns.Close())
		}
		errs = append(errs, s.ecs.Close()) // every task's processes are gone after it
		errs = append(errs, s.region.Close())
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// serveEvents writes the ground-truth events as JSON lines, oldest first.
// ?since=RFC3339Nano keeps events strictly after that time; ?kind=K (may
// repeat) keeps those kinds.
func (s *Sandbox) serveEvents(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	var since time.Time
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			http.Error(w, "since: want an RFC 3339 time, e.g. 2006-01-02T15:04:05.999999999Z: "+err.Error(), http.StatusBadRequest)
			return
		}
		since = t
	}
	kinds := map[string]bool{}
	for _, k := range q["kind"] {
		for _, p := range strings.Split(k, ",") {
			if p != "" {
				kinds[p] = true
			}
		}
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	for _, e := range s.region.Events() {
		if !since.IsZero() && !e.Time.After(since) {
			continue
		}
		if len(kinds) > 0 && !kinds[e.Kind] {
			continue
		}
		if err := enc.Encode(e); err != nil {
			return
		}
	}
}

// serveFailures writes the data plane's failure record (sim.FailureBucket:
// why, where and when the sandbox failed requests, in 50 ms buckets) as JSON
// lines, oldest first. ?since=RFC3339Nano keeps buckets ending after it.
func (s *Sandbox) serveFailures(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var since time.Time
	if v := r.URL.Query().Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			http.Error(w, "since: want an RFC 3339 time, e.g. 2006-01-02T15:04:05.999999999Z: "+err.Error(), http.StatusBadRequest)
			return
		}
		since = t
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	for _, b := range s.region.Failures(since) {
		if err := enc.Encode(b); err != nil {
			return
		}
	}
}

// Health is what GET /_sandbox/health returns.
type Health struct {
	Status           string   `json:"status"` // "ok"
	Region           string   `json:"region"`
	Endpoint         string   `json:"endpoint"`
	DNSAddr          string   `json:"dns_addr"`
	LoadBalancerDNS  string   `json:"load_balancer_dns"`
	LoadBalancerURL  string   `json:"load_balancer_url"`
	DNSAnswer        []string `json:"dns_answer"`
	InstancesRunning int      `json:"instances_running"`
	TargetsHealthy   int      `json:"targets_healthy"`
	TargetsTotal     int      `json:"targets_total"`
	DBStatus         string   `json:"db_status"`
	WriterAZ         string   `json:"writer_az,omitempty"`
	UptimeSeconds    float64  `json:"uptime_seconds"`
	// MetricMinuteS is how many wall seconds one CloudWatch minute lasts in
	// this sandbox (timings.metric_minute: fast 1, aws 60): per-minute
	// figures such as a target-tracking policy's RequestCountPerTarget
	// target are per this long.
	MetricMinuteS float64 `json:"metric_minute_s"`
	// ECSTasks counts the ECS tasks not yet STOPPED (each one real
	// processes on this host).
	ECSTasks int `json:"ecs_tasks"`
}

// Health reports the sandbox's current state in brief.
func (s *Sandbox) Health() Health {
	h := Health{
		Status:          "ok",
		Region:          s.region.RegionName(),
		Endpoint:        s.endpoint,
		DNSAddr:         s.DNSAddr(),
		LoadBalancerDNS: s.region.DNSName(),
		LoadBalancerURL: s.region.URL(),
		DNSAnswer:       s.region.HealthyNodeIPs(),
		WriterAZ:        s.region.WriterAZ(),
		UptimeSeconds:   time.Since(s.started).Seconds(),
		MetricMinuteS:   s.region.Timings().MetricMinute.Seconds(),
		ECSTasks:        s.ecs.Live(),
	}
	for _, in := range s.region.Instances() {
		if in.State == sim.StateRunning {
			h.InstancesRunning++
		}
	}
	for _, tg := range s.region.TargetGroups() {
		ths, _ := s.region.TargetHealth(tg.ARN)
		for _, th := range ths {
			h.TargetsTotal++
			if th.State == sim.TargetHealthy {
				h.TargetsHealthy++
			}
		}
	}
	if dbs := s.region.DBInstances(); len(dbs) > 0 {
		h.DBStatus = dbs[0].Status
	}
	if cs := s.region.DBClusters(); len(cs) > 0 {
		h.DBStatus = cs[0].Status
	}
	return h
}

func (s *Sandbox) serveHealth(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(s.Health())
}
