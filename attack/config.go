package attack

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"time"
)

// Request is one request to send; Run cycles through Config.Requests in order.
type Request struct {
	Method string // "" means GET
	URL    string
	Header http.Header
	Body   []byte
}

// Config describes one attack. The zero values of optional fields mean the
// defaults named next to them.
type Config struct {
	Requests []Request // round-robin
	Stages   []Stage   // the rate plan; total duration = sum of stage durations
	// Segments, when set, makes this attack send only slice Segment of the
	// plan (see Slice): N generators given the same plan and Segments and
	// Segment 0..N-1 send the plan together, hit for hit, each hit at its
	// due time counted from the same Start.
	Segments Segments
	Segment  int

	Timeout time.Duration // per request, connect included; default DefaultTimeout
	// DialTimeout bounds connection setup (TCP connect and TLS handshake);
	// default Timeout.
	DialTimeout time.Duration

	// Workers is the number of workers started up front (default 10);
	// MaxWorkers bounds how many requests can be in flight at once (default
	// DefaultMaxWorkers). It is never unlimited: an unbounded worker pool
	// collapses under a slow target. A hit that finds every worker busy
	// waits for one (its latency counts from its due time); one that could
	// not start within MaxLag of its due time is not sent (class not_sent).
	Workers, MaxWorkers uint64
	// MaxLag is how late a hit may still start; default Timeout/2, at most
	// Timeout. A request's deadline is its due time + Timeout, so a hit sent
	// later than MaxLag would leave the target less than Timeout-MaxLag to
	// answer: it could only time out, hiding the generator's failure as
	// the stack's, and would load the target with requests no user waits for.
	MaxLag time.Duration

	// Start is the wall-clock time of the plan's t=0, from which every
	// hit's due time counts (e.g. the run's timeline start, so that every
	// hit of the plan falls in [Start, Start+plan duration)); zero means
	// when Run starts. It must not lie in the future.
	Start time.Time

	// MaxConnections caps connections per target host name (all its
	// addresses together); default MaxWorkers.
	MaxConnections int
	// KeepAlive reuses connections between requests. When false every
	// request opens a new connection (and leaves a client-side TIME_WAIT:
	// beyond a few hundred requests per second this exhausts ephemeral ports).
	KeepAlive bool
	// MaxConnAge: a kept-alive connection older than this carries at most
	// one more request, sent with "Connection: close", so clients re-dial
	// (and re-resolve) the way real clients recycling connections do.
	// 0 = never.
	MaxConnAge time.Duration
	// IdleTimeout closes connections idle for that long; default 90 s.
	IdleTimeout time.Duration

	// Resolver is "host:port" of the DNS server used to resolve target host
	// names (e.g. the sandbox's 127.0.0.1:PORT); "" = the system resolver.
	Resolver string
	// DNSTTL is how long an answer is used before re-resolving (on the next
	// new connection); 0 = DefaultDNSTTL, negative = resolve for every new
	// connection. New connections go round-robin over every address of the
	// latest answer.
	DNSTTL time.Duration
	// NodeAZ labels each result with the AZ of the node it went to; nil ok.
	NodeAZ func(ip netip.Addr) string
	// AZHeader names the response header carrying the AZ of the target
	// that served (or failed) the request; Hit.TargetAZ reads it, and falls
	// back to the node's AZ when it is empty or absent.
	AZHeader string

	// Drain is how long requests still in flight when ctx is cancelled may
	// finish before being aborted (delivered with class aborted); default
	// min(Timeout, DefaultDrain).
	Drain time.Duration
	// MaxBody is how many body bytes each raw result keeps (BytesIn still
	// counts the whole body); default DefaultMaxBody, negative = all.
	MaxBody int64
	// TLS configures HTTPS requests; nil = system roots.
	TLS *tls.Config

	Name string // the attack's name, sent percent-encoded as X-Vegeta-Attack
}

// Defaults.
const (
	DefaultTimeout    = 10 * time.Second
	DefaultWorkers    = 10
	DefaultMaxWorkers = 1000
	DefaultDNSTTL     = 60 * time.Second // an ALB's record TTL
	DefaultDrain      = time.Second
	DefaultMaxBody    = 4096
	// maxMaxWorkers is a sanity bound, not a tuning knob.
	maxMaxWorkers = 100_000
)

// withDefaults validates c, reporting every problem at once, and fills in
// the defaults.
func (c Config) withDefaults() (Config, Schedule, error) {
	var errs []error
	c.Requests = slices.Clone(c.Requests) // defaults are filled in on a copy
	plan, err := NewPlan(c.Stages)
	if err != nil {
		errs = append(errs, err)
	}
	var sched Schedule = plan
	if len(c.Segments) > 0 && plan != nil {
		sl, err := NewSlice(plan, c.Segments, c.Segment)
		if err != nil {
			errs = append(errs, err)
		}
		sched = sl
	}
	if len(c.Requests) == 0 {
		errs = append(errs, errors.New("requests: at least one request is required"))
	}
	for i, t := range c.Requests {
		u, err := url.Parse(t.URL)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("requests[%d].url: %w", i, err))
		case u.Scheme != "http" && u.Scheme != "https":
			errs = append(errs, fmt.Errorf("requests[%d].url: scheme must be http or https, got %q", i, u.Scheme))
		case u.Host == "":
			errs = append(errs, fmt.Errorf("requests[%d].url: no host in %q", i, t.URL))
		}
		if t.Method == "" {
			c.Requests[i].Method = http.MethodGet
		}
		errs = append(errs, headerProblems(i, t.Header)...)
	}
	if c.Timeout < 0 || c.DialTimeout < 0 || c.MaxConnAge < 0 || c.IdleTimeout < 0 || c.Drain < 0 || c.MaxLag < 0 {
		errs = append(errs, errors.New("timeout, dial_timeout, max_conn_age, idle_timeout, drain and max_lag must not be negative"))
	}
	if c.MaxWorkers > maxMaxWorkers {
		errs = append(errs, fmt.Errorf("max_workers: %d is above the limit %d", c.MaxWorkers, maxMaxWorkers))
	}
	if c.MaxConnections < 0 {
		errs = append(errs, errors.New("max_connections: must not be negative"))
	}
	if c.Resolver != "" {
		if _, _, err := net.SplitHostPort(c.Resolver); err != nil {
			errs = append(errs, fmt.Errorf("resolver: want host:port: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return c, nil, err
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.DialTimeout == 0 || c.DialTimeout > c.Timeout {
		c.DialTimeout = c.Timeout
	}
	if c.MaxWorkers == 0 {
		c.MaxWorkers = DefaultMaxWorkers
	}
	if c.Workers == 0 {
		c.Workers = DefaultWorkers
	}
	c.Workers = min(c.Workers, c.MaxWorkers)
	if c.MaxLag == 0 {
		c.MaxLag = c.Timeout / 2
	}
	c.MaxLag = min(c.MaxLag, c.Timeout)
	if c.MaxConnections == 0 {
		c.MaxConnections = int(c.MaxWorkers)
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 90 * time.Second
	}
	if c.DNSTTL == 0 {
		c.DNSTTL = DefaultDNSTTL
	}
	if c.Drain == 0 {
		c.Drain = min(c.Timeout, DefaultDrain)
	}
	if c.MaxBody == 0 {
		c.MaxBody = DefaultMaxBody
	}
	return c, sched, nil
}
