package attack

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gameday-dev/gameday/timeline"
)

// Hit is one finished request.
type Hit struct {
	Start   time.Time // when a worker started the request
	Latency time.Duration
	Code    uint16 // 0 when no complete response was read
	Class   timeline.Class
	// Node is the IP of the load balancer node the request went to, or tried
	// to connect to; "" if no address was ever chosen (e.g. DNS failure).
	Node string
	AZ   string // NodeAZ(Node), "" if unknown
	// TargetAZ is the AZ the response says served or failed it (the
	// Config.AZHeader header); the node's AZ when no response said.
	TargetAZ string
	// Reused reports whether the request went over a kept-alive connection.
	Reused   bool
	BytesIn  uint64 // whole response body, even beyond MaxBody
	BytesOut uint64
	// Err is the error text with ephemeral ports and the node prefix removed,
	// fit for grouping; "" on success. For non-2xx/3xx answers it is the
	// status line, as vegeta reports it.
	Err string
	Raw *vegeta.Result // vegeta's own result (Body truncated to MaxBody)
}

// Summary is what one Run did.
type Summary struct {
	// Asked is how many hits the plan asked for during the time the attack
	// actually ran (the whole plan, or up to cancellation).
	Asked uint64
	// Sent is how many requests were started (and delivered as Hits,
	// aborted ones included).
	Sent uint64
	// Dropped is how many asked hits were never sent because every worker
	// was busy for longer than MaxLag (plus the backlog still pending when
	// the plan ended or was cancelled). Sent+Dropped == Asked, give or take
	// the one hit racing a cancellation.
	Dropped uint64
	// Aborted is how many in-flight requests were cancelled at the end of
	// Drain after ctx was cancelled.
	Aborted uint64
	Started time.Time // when the plan's clock started
	Ended   time.Time // when the last hit was delivered
	// Cancelled reports that ctx ended the run before the plan did.
	Cancelled bool
	// MaxWorkersUsed is the peak number of requests in flight at once.
	MaxWorkersUsed uint64
	// Dials is how many connections were opened; ConnsRetired how many
	// were closed for reaching MaxConnAge.
	Dials, ConnsRetired uint64
}

// Run sends the load cfg describes and calls out once per finished request,
// always from the goroutine that called Run (out should be quick: while it
// runs, results queue up and workers stall). It blocks until the plan ends
// or ctx is cancelled; on cancellation no new request starts, in-flight ones
// get cfg.Drain to finish and are then aborted, and Run returns once every
// result has been delivered. The error is non-nil only when cfg is invalid;
// a cancelled run returns its Summary with Cancelled set.
func Run(ctx context.Context, cfg Config, out func(*Hit)) (Summary, error) {
	cfg, plan, err := cfg.withDefaults()
	if err != nil {
		return Summary{}, err
	}

	abortCtx, abort := context.WithCancel(context.Background())
	defer abort()
	d := newDialer(&cfg)
	tr := &http.Transport{
		Proxy:               nil, // load goes exactly where the targets say
		DialContext:         d.DialContext,
		TLSClientConfig:     cfg.TLS,
		TLSHandshakeTimeout: cfg.DialTimeout,
		DisableKeepAlives:   !cfg.KeepAlive,
		MaxIdleConnsPerHost: cfg.MaxConnections,
		MaxConnsPerHost:     cfg.MaxConnections,
		IdleConnTimeout:     cfg.IdleTimeout,
	}
	defer tr.CloseIdleConnections()
	rt := &roundTripper{inner: tr, timeout: cfg.Timeout, azHeader: cfg.AZHeader, maxConnAge: cfg.MaxConnAge, abort: abortCtx, now: time.Now}
	client := &http.Client{
		Transport:     rt,
		Timeout:       cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	atk := vegeta.NewAttacker(
		vegeta.Workers(cfg.Workers),
		vegeta.MaxWorkers(cfg.MaxWorkers),
		vegeta.MaxBody(cfg.MaxBody),
		vegeta.Client(client), // last: it replaces the client the other options configure
	)

	tgts := make([]vegeta.Target, len(cfg.Targets))
	for i, t := range cfg.Targets {
		tgts[i] = vegeta.Target{Method: t.Method, URL: t.URL, Header: t.Header, Body: t.Body}
	}
	stop := make(chan struct{})
	pacer := &Pacer{Plan: plan, MaxLag: cfg.MaxLag, Done: stop}

	start := time.Now()
	results := atk.Attack(vegeta.NewStaticTargeter(tgts...), pacer, 0, cfg.Name)

	// The controller stops the attack at the end of the plan (a stalled
	// attacker would otherwise wait for a free worker past it) or on
	// cancellation, then aborts what is still in flight after Drain.
	finished := make(chan struct{})
	ctlDone := make(chan struct{})
	var cancelledAt time.Time
	go func() {
		defer close(ctlDone)
		end := time.NewTimer(plan.Duration() + cfg.MaxLag)
		defer end.Stop()
		select {
		case <-ctx.Done():
			cancelledAt = time.Now()
			close(stop)
			atk.Stop()
			drain := time.NewTimer(cfg.Drain)
			defer drain.Stop()
			select {
			case <-drain.C:
				abort()
			case <-finished:
			}
		case <-end.C:
			close(stop)
			atk.Stop()
		case <-finished:
		}
	}()

	var sum Summary
	for r := range results {
		h := rt.hit(r)
		sum.Sent++
		if h.Class == timeline.ClassAborted {
			sum.Aborted++
		}
		out(h)
	}
	sum.Ended = time.Now()
	close(finished)
	<-ctlDone

	sum.Started = pacer.Began()
	if sum.Started.IsZero() {
		sum.Started = start
	}
	ran := plan.Duration()
	if !cancelledAt.IsZero() {
		sum.Cancelled = true
		ran = min(ran, cancelledAt.Sub(sum.Started))
	}
	sum.Asked = plan.Asked(ran)
	sum.Dropped = pacer.Dropped()
	if sum.Asked > sum.Sent+sum.Dropped {
		sum.Dropped = sum.Asked - sum.Sent
	}
	sum.MaxWorkersUsed = uint64(rt.peak.Load())
	sum.Dials = d.dials.Load()
	sum.ConnsRetired = rt.retired.Load()
	return sum, nil
}

// hit turns a vegeta result into a Hit, using what the transport recorded.
func (rt *roundTripper) hit(r *vegeta.Result) *Hit {
	h := &Hit{
		Start:    r.Timestamp,
		Latency:  r.Latency,
		Code:     r.Code,
		BytesIn:  r.BytesIn,
		BytesOut: r.BytesOut,
		Raw:      r,
	}
	m := rt.take(r.Seq)
	if m == nil { // the request never reached the transport
		h.Class = timeline.ClassifyMessage(int(r.Code), r.Error, timeline.SourceOf(r.Headers.Get("Server"), nil))
		h.Err = normalizeError(r.Error)
		if rt.azHeader != "" {
			h.TargetAZ = r.Headers.Get(rt.azHeader)
		}
		return h
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.node.IsValid() {
		h.Node = m.node.String()
	}
	h.AZ, h.Reused = m.az, m.reused
	h.TargetAZ = m.targetAZ
	if h.TargetAZ == "" {
		h.TargetAZ = h.AZ
	}
	if m.code != 0 || m.bytesIn != 0 {
		h.BytesIn = m.bytesIn
		r.BytesIn = m.bytesIn
	}
	switch {
	case m.class != "":
		h.Class = m.class
	case r.Error != "" && r.Code == 0:
		// An error vegeta saw but the transport did not (e.g. the client's
		// timeout firing between reads): fall back to the text.
		h.Class = timeline.ClassifyMessage(0, r.Error, timeline.SourceUnknown)
	default:
		h.Class = timeline.Classify(int(r.Code), nil, timeline.SourceOf(m.server, r.Body))
	}
	if h.Class != timeline.ClassOK {
		h.Err = normalizeError(r.Error)
	}
	return h
}

var (
	// "127.0.0.1:54321->" and "[::1]:54321->": the local, ephemeral end.
	ephemeralPort = regexp.MustCompile(`((?:\d{1,3}\.){3}\d{1,3}|\[[0-9A-Fa-f:.%]+\]):\d+->`)
	nodePrefix    = regexp.MustCompile(regexp.QuoteMeta(nodeErrPrefix) + `[^ ]+: `)
)

// normalizeError makes error texts groupable: it drops the local ephemeral
// port ("read tcp 127.0.0.1:54321->10.0.1.5:80" → "read tcp
// 127.0.0.1->10.0.1.5:80") and the node prefix (the node is in Hit.Node).
func normalizeError(s string) string {
	if s == "" {
		return s
	}
	if strings.Contains(s, "->") {
		s = ephemeralPort.ReplaceAllString(s, "$1->")
	}
	if strings.Contains(s, nodeErrPrefix) {
		s = nodePrefix.ReplaceAllString(s, "")
	}
	return s
}
