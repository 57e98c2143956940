package generators

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"time"

	"github.com/gameday-dev/gameday/attack"
	"github.com/gameday-dev/gameday/timeline"
)

// Protocol is the version of the coordinator–worker protocol. Every request
// carries it in the ProtocolHeader; the coordinator refuses another version
// with 400, naming both.
//
// The protocol is JSON over HTTP, the worker calling the coordinator:
//
//	POST /v1/hello   Hello   → Assignment  (the worker's slice and load settings)
//	POST /v1/clock   Clock   → Clock       (repeated: NTP-style offset sample)
//	POST /v1/ready   Ready   → Start       (the barrier: answered once every worker is ready)
//	POST /v1/windows Batch   → Ack         (window deltas; Ack.Stop asks the worker to stop)
//	POST /v1/done    Done    → Ack         (the worker's own summary; last call)
//
// Every request carries the run's token as "Authorization: Bearer TOKEN" and
// its body is at most MaxBody bytes.
const (
	Protocol       = 1
	ProtocolHeader = "X-Gameday-Protocol"
	MaxBody        = 8 << 20
	// TokenEnv is the environment variable a worker reads its token from
	// (not a flag: flags show in ps).
	TokenEnv = "GAMEDAY_WORKER_TOKEN"
)

// Hello is a worker's first call.
type Hello struct {
	Worker string `json:"worker"`
}

// Request is one request shape of the load (attack.Request on the wire).
type Request struct {
	Method string      `json:"method"`
	URL    string      `json:"url"`
	Header http.Header `json:"header,omitempty"`
	Body   []byte      `json:"body,omitempty"`
}

// Stage is attack.Stage on the wire.
type Stage struct {
	Duration time.Duration `json:"duration_ns"`
	From     float64       `json:"from"`
	To       float64       `json:"to"`
}

// Assignment is what a worker sends and how: the load settings of the run
// (an attack.Config without its functions) and its slice of the plan.
type Assignment struct {
	Protocol int    `json:"protocol"`
	Run      string `json:"run"`
	Worker   string `json:"worker"`
	// Segments and Segment: the worker sends attack.Slice Segment of the
	// plan under Segments.
	Segments attack.Segments `json:"segments"`
	Segment  int             `json:"segment"`
	Window   time.Duration   `json:"window_ns"`
	// Flush is how often the worker sends its window deltas.
	Flush time.Duration `json:"flush_ns"`

	Requests       []Request         `json:"requests"`
	Stages         []Stage           `json:"stages"`
	Timeout        time.Duration     `json:"timeout_ns"`
	DialTimeout    time.Duration     `json:"dial_timeout_ns,omitempty"`
	MaxLag         time.Duration     `json:"max_lag_ns,omitempty"`
	Workers        uint64            `json:"workers,omitempty"`
	MaxWorkers     uint64            `json:"max_workers,omitempty"`
	MaxConnections int               `json:"max_connections,omitempty"`
	KeepAlive      bool              `json:"keepalive"`
	MaxConnAge     time.Duration     `json:"max_conn_age_ns,omitempty"`
	IdleTimeout    time.Duration     `json:"idle_timeout_ns,omitempty"`
	Resolver       string            `json:"resolver,omitempty"`
	DNSTTL         time.Duration     `json:"dns_ttl_ns,omitempty"`
	NodeAZ         map[string]string `json:"node_az,omitempty"`
	AZHeader       string            `json:"az_header,omitempty"`
	Drain          time.Duration     `json:"drain_ns,omitempty"`
	MaxBody        int64             `json:"max_body,omitempty"`
	Name           string            `json:"name,omitempty"`
}

// assignmentOf is cfg on the wire (its functions and TLS settings left out:
// NodeAZ travels as the map it was built from).
func assignmentOf(cfg attack.Config, nodeAZ map[string]string) Assignment {
	a := Assignment{Protocol: Protocol, Timeout: cfg.Timeout, DialTimeout: cfg.DialTimeout, MaxLag: cfg.MaxLag,
		Workers: cfg.Workers, MaxWorkers: cfg.MaxWorkers, MaxConnections: cfg.MaxConnections, KeepAlive: cfg.KeepAlive,
		MaxConnAge: cfg.MaxConnAge, IdleTimeout: cfg.IdleTimeout, Resolver: cfg.Resolver, DNSTTL: cfg.DNSTTL,
		NodeAZ: nodeAZ, AZHeader: cfg.AZHeader, Drain: cfg.Drain, MaxBody: cfg.MaxBody, Name: cfg.Name}
	for _, t := range cfg.Requests {
		a.Requests = append(a.Requests, Request{Method: t.Method, URL: t.URL, Header: t.Header, Body: t.Body})
	}
	for _, s := range cfg.Stages {
		a.Stages = append(a.Stages, Stage(s))
	}
	return a
}

// Config is the attack.Config the assignment describes, for its slice.
func (a *Assignment) Config() attack.Config {
	cfg := attack.Config{Timeout: a.Timeout, DialTimeout: a.DialTimeout, MaxLag: a.MaxLag,
		Workers: a.Workers, MaxWorkers: a.MaxWorkers, MaxConnections: a.MaxConnections, KeepAlive: a.KeepAlive,
		MaxConnAge: a.MaxConnAge, IdleTimeout: a.IdleTimeout, Resolver: a.Resolver, DNSTTL: a.DNSTTL,
		AZHeader: a.AZHeader, Drain: a.Drain, MaxBody: a.MaxBody, Name: a.Name,
		Segments: a.Segments, Segment: a.Segment}
	for _, t := range a.Requests {
		cfg.Requests = append(cfg.Requests, attack.Request{Method: t.Method, URL: t.URL, Header: t.Header, Body: t.Body})
	}
	for _, s := range a.Stages {
		cfg.Stages = append(cfg.Stages, attack.Stage(s))
	}
	if len(a.NodeAZ) > 0 {
		m := a.NodeAZ
		cfg.NodeAZ = func(ip netip.Addr) string { return m[ip.Unmap().String()] }
	}
	return cfg
}

// Validate reports what makes the assignment unusable.
func (a *Assignment) Validate() error {
	var errs []error
	if a.Protocol != Protocol {
		errs = append(errs, fmt.Errorf("protocol %d, this worker speaks %d", a.Protocol, Protocol))
	}
	if err := a.Segments.Validate(); err != nil {
		errs = append(errs, err)
	} else if a.Segment < 0 || a.Segment >= len(a.Segments) {
		errs = append(errs, fmt.Errorf("segment %d outside 0..%d", a.Segment, len(a.Segments)-1))
	}
	if a.Window < timeline.MinWidth {
		errs = append(errs, fmt.Errorf("window %s below %s", a.Window, timeline.MinWidth))
	}
	if a.Flush <= 0 {
		errs = append(errs, errors.New("flush must be positive"))
	}
	return errors.Join(errs...)
}

// Clock is one NTP-style exchange: the worker sends T1 (its clock), the
// coordinator answers with T2 (received) and T3 (sent) on its clock, and the
// worker notes T4 on receipt. offset = ((T2−T1)+(T3−T4))/2 is the
// coordinator's clock minus the worker's, within ±delay/2 where delay =
// (T4−T1)−(T3−T2).
type Clock struct {
	T1 time.Time `json:"t1"`
	T2 time.Time `json:"t2,omitzero"`
	T3 time.Time `json:"t3,omitzero"`
}

// offsetOf returns the offset and round-trip delay of one exchange.
func offsetOf(c Clock, t4 time.Time) (offset, delay time.Duration) {
	offset = (c.T2.Sub(c.T1) + c.T3.Sub(t4)) / 2
	delay = t4.Sub(c.T1) - c.T3.Sub(c.T2)
	return offset, delay
}

// Ready is a worker at the barrier, with its measured clock offset.
type Ready struct {
	Worker string        `json:"worker"`
	Offset time.Duration `json:"offset_ns"` // coordinator clock − worker clock
	Delay  time.Duration `json:"delay_ns"`  // round trip of the best sample
}

// Start answers Ready once every worker is ready: the plan's t=0 on the
// coordinator's clock (the worker subtracts its offset).
type Start struct {
	At time.Time `json:"at"`
}

// WindowDelta is what a worker counted in one window since its last batch.
type WindowDelta struct {
	Index  int             `json:"index"`
	Counts timeline.Counts `json:"counts"`
}

// Batch is one flush of a worker's window deltas.
type Batch struct {
	Worker  string        `json:"worker"`
	Seq     uint64        `json:"seq"`
	Windows []WindowDelta `json:"windows"`
	// Outside counts hits that fell outside the timeline.
	Outside uint64 `json:"outside,omitempty"`
}

// MaxBatchWindows bounds the windows of one batch.
const MaxBatchWindows = 4096

// Ack answers a Batch or Done.
type Ack struct {
	// Stop asks the worker to stop sending (the run ended early).
	Stop bool `json:"stop,omitempty"`
}

// Done is a worker's last call, after its last batch.
type Done struct {
	Worker  string        `json:"worker"`
	Asked   uint64        `json:"asked"`
	Sent    uint64        `json:"sent"`
	Dropped uint64        `json:"dropped"`
	Late    uint64        `json:"late,omitempty"`
	Aborted uint64        `json:"aborted,omitempty"`
	Started time.Time     `json:"started"`
	Ended   time.Time     `json:"ended"`
	Peak    uint64        `json:"peak_in_flight"`
	Dials   uint64        `json:"dials"`
	Raw     string        `json:"raw,omitempty"` // file of raw results on the worker's machine
	Error   string        `json:"error,omitempty"`
	Offset  time.Duration `json:"offset_ns"`
}
