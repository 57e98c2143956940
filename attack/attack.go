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

// Hit is one finished request, or one the plan asked for but the generator
// could not send (Class timeline.ClassNotSent).
type Hit struct {
	// Due is when the rate plan asked for the hit (the pacer's clock start
	// plus Plan.Due of its index): its intended send time.
	Due time.Time
	// Start is when a worker started the request; zero if never sent.
	Start time.Time
	// Latency runs from Due to the end of the request (response read or
	// failure): what a user who asked at Due waited, the time the hit queued
	// for a free worker included (wrk2's and HdrHistogram's
	// coordinated-omission-corrected latency). Never less than Service.
	// Bounded by the timeout: a request still running at Due+Timeout is
	// cancelled (client_timeout or connect_timeout). For a not-sent hit it
	// is the timeout, as long as the user would have waited.
	Latency time.Duration
	// Service runs from Start (vegeta's own Result.Latency): the time the
	// request took once sent. Zero for a not-sent hit.
	Service time.Duration
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
	// Late marks a hit of class not_sent that was in fact sent, but more
	// than half the timeout after it was due, and then cut by its deadline
	// (due + timeout): the target had less than half the timeout to answer.
	Late bool
	// Raw is vegeta's own result (Body truncated to MaxBody); its Timestamp
	// and Latency are the actual start and the service time. Nil for a hit
	// that was never sent.
	Raw *vegeta.Result
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
	// was busy until MaxLag (half the request timeout) after they were due, plus
	// the backlog still pending when the plan ended or was cancelled. Each
	// is delivered as a Hit of class not_sent at its due time.
	// Sent+Dropped == Asked, give or take the one hit racing a cancellation.
	Dropped uint64
	// Late is how many sent hits were delivered as not_sent because the
	// generator started them too late (see Hit.Late); they count in Sent.
	Late uint64
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

// Run sends the load cfg describes and calls out once per finished request
// and once per asked hit that could not be sent (class not_sent, within
// about MaxLag of its due time), always from the goroutine that called Run
// (out should be quick: while it runs, results queue up and workers stall). It blocks until the plan ends
// or ctx is cancelled; on cancellation no new request starts, in-flight ones
// get cfg.Drain to finish and are then aborted, and Run returns once every
// result has been delivered. The error is non-nil only when cfg is invalid;
// a cancelled run returns its Summary with Cancelled set.
func Run(ctx context.Context, cfg Config, out func(*Hit)) (Summary, error) {
	cfg, plan, err := cfg.withDefaults()
	if err != nil {
		return Summary{}, err
	}

	d := newDialer(&cfg)
	tr := &http.Transport{
		Proxy:               nil, // load goes exactly where the requests say
		DialContext:         d.DialContext,
		TLSClientConfig:     cfg.TLS,
		TLSHandshakeTimeout: cfg.DialTimeout,
		DisableKeepAlives:   !cfg.KeepAlive,
		MaxIdleConnsPerHost: cfg.MaxConnections,
		MaxConnsPerHost:     cfg.MaxConnections,
		IdleConnTimeout:     cfg.IdleTimeout,
		WriteBufferSize:     writeBufferSize(cfg.Requests, headerText(cfg.Name)),
	}
	defer tr.CloseIdleConnections()
	stop := make(chan struct{})
	skipped := make(chan struct{}, 1)
	pacer := &Pacer{Plan: plan, MaxLag: cfg.MaxLag, Done: stop, Origin: cfg.Start, Skip: skipped, KeepMarks: int(4 * cfg.MaxWorkers)}
	rt := &roundTripper{inner: tr, timeout: cfg.Timeout, maxLag: cfg.MaxLag, azHeader: http.CanonicalHeaderKey(cfg.AZHeader), maxConnAge: cfg.MaxConnAge, now: time.Now, dueOf: pacer.DueOf, metas: newMetaTable(cfg.MaxWorkers)}
	rt.deadlines.now = rt.now
	defer rt.deadlines.stop()
	// No http.Client.Timeout: the round tripper gives each request its one
	// deadline (due + timeout). A client timeout on top would start a timer
	// and a goroutine per request to race it, and wrap every body read.
	client := &http.Client{
		Transport:     rt,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	atk := vegeta.NewAttacker(
		vegeta.Workers(cfg.Workers),
		vegeta.MaxWorkers(cfg.MaxWorkers),
		vegeta.MaxBody(cfg.MaxBody),
		vegeta.Client(client), // last: it replaces the client the other options configure
	)

	tgts := make([]vegeta.Target, len(cfg.Requests))
	for i, t := range cfg.Requests {
		tgts[i] = vegeta.Target{Method: t.Method, URL: t.URL, Header: t.Header, Body: t.Body}
	}
	start := time.Now()
	origin := start
	if !cfg.Start.IsZero() && cfg.Start.Before(start) {
		origin = cfg.Start
	}
	results := atk.Attack(vegeta.NewStaticTargeter(tgts...), pacer, 0, headerText(cfg.Name)) // sent as X-Vegeta-Attack

	// The controller stops the attack at the end of the plan (a stalled
	// attacker would otherwise wait for a free worker past it) or on
	// cancellation, then aborts what is still in flight after Drain.
	finished := make(chan struct{})
	ctlDone := make(chan struct{})
	var cancelledAt time.Time
	go func() {
		defer close(ctlDone)
		// The last hits may start up to MaxLag late.
		end := time.NewTimer(time.Until(origin.Add(plan.Duration() + cfg.MaxLag)))
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
				rt.deadlines.abort()
			case <-finished:
			}
		case <-end.C:
			close(stop)
			atk.Stop()
		case <-finished:
		}
	}()

	var sum Summary
	notSent := func(k uint64) {
		sum.Dropped++
		out(&Hit{Due: pacer.DueAt(k), Latency: cfg.Timeout, Class: timeline.ClassNotSent})
	}
	vegetaResults := uint64(0) // ticks vegeta turned into results
loop:
	for {
		select {
		case r, ok := <-results:
			if !ok {
				break loop
			}
			vegetaResults++
			h := rt.hit(r)
			switch {
			case h.Late:
				sum.Late++
				sum.Sent++
			case h.Class == timeline.ClassNotSent:
				sum.Dropped++
			case h.Class == timeline.ClassAborted:
				sum.Aborted++
				sum.Sent++
			default:
				sum.Sent++
			}
			out(h)
		case <-skipped:
			pacer.TakeSkipped(notSent)
		}
	}
	pacer.TakeSkipped(notSent)
	close(finished)
	<-ctlDone

	sum.Started = pacer.Began()
	if sum.Started.IsZero() {
		sum.Started = origin
	}
	ran := plan.Duration()
	if !cancelledAt.IsZero() {
		sum.Cancelled = true
		ran = min(ran, cancelledAt.Sub(sum.Started))
	}
	sum.Asked = plan.Asked(ran)
	// The hits after the last tick vegeta sent (the plan or the run ended
	// while every worker was busy) were never sent either. Tick c is plan
	// hit c + (hits skipped before it), so they start at this index.
	// After a cancellation they are not delivered (the harness, not the
	// generator, stopped them) but still count as dropped.
	for k := vegetaResults + pacer.Dropped(); k < sum.Asked; k++ {
		if sum.Cancelled {
			sum.Dropped++
			continue
		}
		notSent(k)
	}
	sum.Ended = time.Now()
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
		Service:  r.Latency,
		Code:     r.Code,
		BytesIn:  r.BytesIn,
		BytesOut: r.BytesOut,
		Raw:      r,
	}
	m := rt.metas.take(r.Seq)
	if m == nil { // the request never reached the transport
		h.setDue(rt.due(r.Seq))
		h.Class = timeline.ClassifyMessage(int(r.Code), r.Error, timeline.SourceOf(r.Headers.Get("Server"), nil))
		h.Err = normalizeError(r.Error)
		if rt.azHeader != "" {
			h.TargetAZ = r.Headers.Get(rt.azHeader)
		}
		return h
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	h.setDue(m.due)
	dueBound := !m.due.IsZero() && rt.timeout > 0 // its deadline was due + timeout
	if dueBound {
		h.bound(rt.timeout)
	}
	if m.class == timeline.ClassNotSent {
		h.Start, h.Latency, h.Service, h.Raw = time.Time{}, rt.timeout, 0, nil
		h.Class, h.Err = m.class, ""
		return h
	}
	if (m.class == timeline.ClassClientTimeout || m.class == timeline.ClassConnectTimeout) &&
		dueBound && m.start.Sub(m.due) > rt.timeout/2 {
		// Cut by its deadline (due + timeout) after the generator started it
		// more than half the timeout late: the target had less than half
		// the timeout to answer, so the failure is the generator's more
		// than the stack's. It counts as not sent (sent too late to be
		// judged); its latency from the due time stays. A hit started a
		// little late that times out (a blackhole) keeps its class.
		h.Class, h.Late = timeline.ClassNotSent, true
		h.Err = errSentLate
		return h
	}
	h.Node = m.nodeString()
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

const errSentLate = "gameday: not judged: the generator started it too late to wait the full timeout"

// setDue sets the hit's due time and its latency from it (never below the
// service time: a hit may start a fraction of a millisecond early). A zero
// due (unknown) leaves the latency as the service time.
func (h *Hit) setDue(due time.Time) {
	if due.IsZero() {
		h.Due = h.Start
		return
	}
	h.Due = due
	h.Latency = max(h.Start.Add(h.Service).Sub(due), h.Service)
}

// bound caps the hit's latencies at the timeout: the request's deadline
// (due + timeout) ended it by then, and what vegeta measured beyond is the
// time its goroutines took to be scheduled on a busy machine, not time a
// user waited. This keeps every latency, and every window's content, within
// the bound the online settling of windows assumes.
func (h *Hit) bound(timeout time.Duration) {
	if timeout > 0 {
		h.Latency, h.Service = min(h.Latency, timeout), min(h.Service, timeout)
	}
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
