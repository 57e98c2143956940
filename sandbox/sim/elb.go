package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

var discardLog = log.New(io.Discard, "", 0)

type loadBalancer struct {
	m     LoadBalancer
	nodes []*lbNode
	port  int

	transport   *http.Transport // nodes → targets, keep-alive
	hcTransport *http.Transport // health checks, a new connection each time
	rr          atomic.Uint64
	requests    atomic.Int64 // requests received by the nodes (scaling metric)
	xff         []string
}

type lbNode struct {
	r     *Region
	lb    *loadBalancer
	azIdx int
	az    string
	sub   *subnet
	ip    string // loopback IP the node listens on
	ep    endpoint
	addr  string
	srv   *http.Server
	ln    *nodeListener
	// blockedSince is when the client's path to the node was cut (zero
	// while it is open); DNS keeps answering the node for NodeDNSDelay.
	blockedSince time.Time
}

type targetGroup struct {
	m       TargetGroup
	targets []*target
}

type target struct {
	in          *instance
	state       string
	reason      string
	desc        string
	okRun, fail int32
	addr        string // last known app address
	rt          *route
}

// route is an immutable routing entry the data plane reads without locks.
type route struct {
	id   string
	az   string
	host string
	ep   endpoint
}

type routeSet struct {
	healthy []*route // routed to normally
	all     []*route // fail-open set: every registered target not draining
}

func (tg *targetGroup) find(id string) *target {
	for _, t := range tg.targets {
		if t.in.m.ID == id {
			return t
		}
	}
	return nil
}

func (r *Region) buildLoadBalancer() {
	name := r.cfg.LoadBalancerName
	lbID := r.hexID("", 16)
	lb := &loadBalancer{
		m: LoadBalancer{
			ARN:         r.arn("elasticloadbalancing", "loadbalancer/app/"+name+"/"+lbID),
			Name:        name,
			DNSName:     fmt.Sprintf("%s-%d.%s.elb.gameday.internal", name, 1000000000+r.rng.IntN(999999999), r.cfg.Region),
			Scheme:      "internet-facing",
			State:       "active",
			VPCID:       r.vpc.ID,
			CreatedTime: time.Now().UTC().Truncate(time.Second),
		},
		xff: []string{r.cfg.ClientIP},
	}
	base := netip.MustParseAddr(r.cfg.ListenIP).As4()
	for i := range r.azs {
		ip := base
		ip[3] += byte(i + 1)
		s := r.publicSubnet(i)
		lb.nodes = append(lb.nodes, &lbNode{
			r: r, lb: lb, azIdx: i, az: r.azs[i].Name, sub: s,
			ip: netip.AddrFrom4(ip).String(),
			ep: endpoint{subnet: s.idx, ip: s.hostIP(byte(10 + r.rng.IntN(200)))},
		})
	}
	tgName := "gameday-tg"
	r.tg = &targetGroup{m: TargetGroup{
		ARN:  r.arn("elasticloadbalancing", "targetgroup/"+tgName+"/"+r.hexID("", 16)),
		Name: tgName, Protocol: "HTTP", Port: appPort, VPCID: r.vpc.ID,
		HealthCheckPath: "/health", HealthCheckInterval: r.t.HealthCheckInterval, HealthCheckTimeout: r.t.HealthCheckTimeout,
		HealthyThreshold: r.t.HealthyThreshold, UnhealthyThreshold: r.t.UnhealthyThreshold, Matcher: "200",
		DeregistrationDelay: r.t.DeregistrationDelay, LoadBalancerARNs: []string{lb.m.ARN}, TargetType: "instance",
	}}
	lb.m.Listeners = []Listener{{
		ARN:      r.arn("elasticloadbalancing", "listener/app/"+name+"/"+lbID+"/"+r.hexID("", 16)),
		Port:     lbPort, // what AWS reports and ACL rules match; the nodes' loopback port is lb.port
		Protocol: "HTTP", TargetGroupARN: r.tg.m.ARN,
	}}
	dial := &net.Dialer{Timeout: r.t.ConnectTimeout, KeepAlive: 30 * time.Second}
	safeDial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if err := loopbackOnly(addr); err != nil {
			return nil, err
		}
		return dial.DialContext(ctx, network, addr)
	}
	lb.transport = &http.Transport{
		DialContext:         safeDial,
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
		WriteBufferSize:     8 << 10,
		ReadBufferSize:      8 << 10,
	}
	lb.hcTransport = &http.Transport{DialContext: safeDial, DisableKeepAlives: true, DisableCompression: true}
	r.lb = lb
}

// startNodes binds every node on its own loopback IP, all on one port:
// a free port picked on the first IP (or Config.ListenPort), retried on
// conflict.
func (r *Region) startNodes() error {
	lb := r.lb
	var lns []net.Listener
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		lns, err = listenAll(lb.nodes, r.cfg.ListenPort)
		if err == nil || r.cfg.ListenPort != 0 {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("sandbox load balancer: %w (on macOS, add the loopback aliases first: sudo ifconfig lo0 alias 127.0.0.11 …)", err)
	}
	port := lns[0].Addr().(*net.TCPAddr).Port
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		for _, ln := range lns {
			ln.Close()
		}
		return errors.New("sandbox region closed while starting")
	}
	lb.port = port
	for i, n := range lb.nodes {
		n.addr = lns[i].Addr().String()
		n.ln = lns[i].(*nodeListener)
		n.srv = &http.Server{
			Handler:           n,
			ReadHeaderTimeout: 30 * time.Second,
			IdleTimeout:       60 * time.Second, // the ALB's default idle timeout
			ErrorLog:          discardLog,
		}
		ln, srv := lns[i], n.srv
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			srv.Serve(ln)
		}()
	}
	r.emit("load-balancer", lb.m.Name, "", "", "active", fmt.Sprintf("nodes listening on port %d", port))
	return nil
}

func listenAll(nodes []*lbNode, port int) ([]net.Listener, error) {
	var lns []net.Listener
	for _, n := range nodes {
		raw, err := listenNode(n.ip, port)
		var ln net.Listener
		if err == nil {
			ln, err = newNodeListener(raw)
		}
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, err
		}
		if port == 0 {
			port = ln.Addr().(*net.TCPAddr).Port
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

// refreshNodesLocked follows the client's path to each node after an ACL
// change: a node cut off drops new connections' SYNs (see nodeListener) and
// leaves DNS after NodeDNSDelay; a node reachable again accepts at once.
func (r *Region) refreshNodesLocked(ns *netSnap) {
	if r.lb == nil {
		return
	}
	for _, n := range r.lb.nodes {
		reach := ns.path(r.clientEP, n.ep, lbPort)
		switch {
		case !reach && n.blockedSince.IsZero():
			n.blockedSince = time.Now()
			if n.ln != nil {
				n.ln.block()
			}
			r.sched.after(r.t.NodeDNSDelay, func() {
				r.mu.Lock()
				defer r.mu.Unlock()
				r.refreshDNSLocked()
			})
		case reach && !n.blockedSince.IsZero():
			n.blockedSince = time.Time{}
			if n.ln != nil {
				n.ln.unblock()
			}
		}
	}
}

// ---- data plane ----

var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// hop-by-hop headers a proxy must not forward.
var hopHeaders = map[string]bool{
	"Connection": true, "Proxy-Connection": true, "Keep-Alive": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

const maxHold = 5 * time.Minute

func (n *lbNode) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r := n.r
	arrived := time.Now() // failures are recorded at the request's arrival
	if !r.net.Load().path(r.clientEP, n.ep, lbPort) {
		// The node's subnet drops the client's packets: hold the request
		// unanswered until the client gives up or the path opens again.
		// It fails (at the client) from its arrival on.
		r.failAt(arrived, FailNodeBlackholed, n.ip, n.az, "")
		reach := func() bool { return r.net.Load().path(r.clientEP, n.ep, lbPort) }
		if !waitUntil(req.Context(), r.done, maxHold, reach) {
			return
		}
	}
	lb := n.lb
	lb.requests.Add(1)
	rs := r.routes.Load()
	list := rs.healthy
	if len(list) == 0 {
		list = rs.all // fail open
	}
	if len(list) == 0 {
		r.failAt(arrived, FailNoHealthyTarget, r.tg.m.Name, n.az, "")
		lbError(w, http.StatusServiceUnavailable)
		return
	}
	rt := list[int(lb.rr.Add(1)%uint64(len(list)))]
	n.proxy(w, req, rt, arrived)
}

func (n *lbNode) proxy(w http.ResponseWriter, req *http.Request, rt *route, arrived time.Time) {
	r := n.r
	ctx, cancel := context.WithTimeout(req.Context(), r.t.TargetTimeout)
	defer cancel()
	if !r.net.Load().path(n.ep, rt.ep, appPort) {
		if !n.waitConnect(ctx, rt) {
			r.failAt(arrived, FailTargetUnreachable, rt.id, rt.az, n.az)
			if req.Context().Err() == nil {
				lbErrorFrom(w, http.StatusGatewayTimeout, rt.az)
			}
			return
		}
		r.failAt(arrived, FailTargetDelayed, rt.id, rt.az, n.az)
	}
	out := &http.Request{
		Method:     req.Method,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1, ProtoMinor: 1,
		Header:        make(http.Header, len(req.Header)+1),
		Host:          req.Host,
		ContentLength: req.ContentLength,
	}
	out.URL = &url.URL{Scheme: "http", Host: rt.host, Path: req.URL.Path, RawPath: req.URL.RawPath, RawQuery: req.URL.RawQuery}
	if req.ContentLength != 0 {
		out.Body = req.Body
	}
	for k, v := range req.Header {
		if !hopHeaders[k] {
			out.Header[k] = v
		}
	}
	out.Header["X-Forwarded-For"] = n.lb.xff
	out = out.WithContext(ctx)
	resp, err := n.lb.transport.RoundTrip(out)
	if err != nil {
		switch {
		case req.Context().Err() != nil:
			// the client went away (the ALB logs 460)
		case ctx.Err() != nil || isTimeout(err):
			r.failAt(arrived, FailTargetTimeout, rt.id, rt.az, n.az)
			lbErrorFrom(w, http.StatusGatewayTimeout, rt.az)
		default:
			r.failAt(arrived, FailTargetGone, rt.id, rt.az, n.az)
			lbErrorFrom(w, http.StatusBadGateway, rt.az)
		}
		return
	}
	defer resp.Body.Close()
	if !r.net.Load().path(n.ep, rt.ep, appPort) {
		// The reply is dropped on its way back.
		if n.waitPath(ctx, rt) {
			goto deliver
		}
		r.failAt(arrived, FailTargetUnreachable, rt.id, rt.az, n.az)
		if req.Context().Err() == nil {
			lbErrorFrom(w, http.StatusGatewayTimeout, rt.az)
		}
		return
	}
deliver:
	wh := w.Header()
	for k, v := range resp.Header {
		if !hopHeaders[k] {
			wh[k] = v
		}
	}
	w.WriteHeader(resp.StatusCode)
	bp := bufPool.Get().(*[]byte)
	_, err = io.CopyBuffer(w, resp.Body, *bp)
	bufPool.Put(bp)
	if err != nil && req.Context().Err() == nil {
		panic(http.ErrAbortHandler) // cut the client's response short, as the ALB does
	}
}

// waitConnect waits for the path to a target to open while the node is
// connecting: its SYNs are dropped, so it gives up after the connect timeout
// and answers 504 ("the load balancer failed to establish a connection to
// the target before the connection timeout expired", AWS ALB troubleshooting
// guide, HTTP 504), or earlier if ctx ends.
func (n *lbNode) waitConnect(ctx context.Context, rt *route) bool {
	cctx, cancel := context.WithTimeout(ctx, n.r.t.ConnectTimeout)
	defer cancel()
	return n.waitPath(cctx, rt)
}

// waitPath waits, until ctx's deadline, for the path from the node to the
// target to open again (TCP would retransmit through it).
func (n *lbNode) waitPath(ctx context.Context, rt *route) bool {
	d, _ := ctx.Deadline()
	return waitUntil(ctx, n.r.done, time.Until(d), func() bool { return n.r.net.Load().path(n.ep, rt.ep, appPort) })
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

var lbBodies = map[int][]byte{}

func init() {
	for code, text := range map[int]string{502: "502 Bad Gateway", 503: "503 Service Temporarily Unavailable", 504: "504 Gateway Time-out"} {
		lbBodies[code] = []byte("<html>\r\n<head><title>" + text + "</title></head>\r\n<body>\r\n<center><h1>" + text + "</h1></center>\r\n</body>\r\n</html>\r\n")
	}
}

// lbError answers as the ALB itself does (Server: awselb/2.0).
func lbError(w http.ResponseWriter, code int) {
	h := w.Header()
	h["Server"] = awselb
	h["Content-Type"] = textHTML
	b := lbBodies[code]
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(code)
	w.Write(b)
}

// lbErrorFrom is lbError for a request the node had routed to a target:
// the sandbox ALB names that target's AZ in X-Availability-Zone, so the
// harness can attribute the failure to the AZ that should have served it.
// (A real ALB does not; on AWS the harness falls back to the node's AZ.)
func lbErrorFrom(w http.ResponseWriter, code int, targetAZ string) {
	w.Header()["X-Availability-Zone"] = []string{targetAZ}
	lbError(w, code)
}

var (
	awselb   = []string{"awselb/2.0"}
	textHTML = []string{"text/html"}
)

// ---- target registration and health ----

func targetDescription(reason string) string {
	switch reason {
	case ReasonInitialHealthChecking:
		return "Initial health checks in progress"
	case ReasonRegistrationInProgress:
		return "Target registration is in progress"
	case ReasonTimeout:
		return "Request timed out"
	case ReasonFailedHealthChecks:
		return "Health checks failed"
	case ReasonDeregistration:
		return "Target deregistration is in progress"
	case ReasonNotRegistered:
		return "Target is not registered to the target group"
	case ReasonNotInUse:
		return "Target group is not configured to receive traffic from the load balancer"
	}
	return ""
}

func (r *Region) setTargetLocked(t *target, state, reason, desc string) {
	if desc == "" {
		desc = targetDescription(reason)
	}
	if t.state == state && t.reason == reason && t.desc == desc {
		return
	}
	from := t.state
	t.state, t.reason, t.desc = state, reason, desc
	detail := reason
	if desc != "" && reason != "" {
		detail = reason + ": " + desc
	}
	r.emit("target-health", t.in.m.ID, t.in.m.AZ, from, state, detail)
}

// registerLocked registers an instance with the target group (initial), or
// returns a draining registration to service.
func (r *Region) registerLocked(in *instance, healthy bool) *target {
	t := r.tg.find(in.m.ID)
	if t == nil {
		t = &target{in: in}
		r.tg.targets = append(r.tg.targets, t)
	}
	t.okRun, t.fail = 0, 0
	t.addr = in.m.Addr
	if healthy {
		r.setTargetLocked(t, TargetHealthy, "", "")
	} else {
		r.setTargetLocked(t, TargetInitial, ReasonInitialHealthChecking, "")
	}
	r.refreshRoutesLocked()
	return t
}

func (r *Region) targetRestartedLocked(t *target) {
	if t.state == TargetDraining {
		return
	}
	t.okRun, t.fail = 0, 0
	t.addr = t.in.m.Addr
	r.setTargetLocked(t, TargetInitial, ReasonInitialHealthChecking, "")
	r.refreshRoutesLocked()
}

// deregisterLocked starts draining a target: no new requests, removed after
// the deregistration delay. It returns that delay (0 if not registered).
func (r *Region) deregisterLocked(in *instance) time.Duration {
	t := r.tg.find(in.m.ID)
	if t == nil || t.state == TargetDraining {
		if t != nil {
			return r.tg.m.DeregistrationDelay
		}
		return 0
	}
	delay := r.tg.m.DeregistrationDelay // ModifyTargetGroupAttributes may change it
	r.setTargetLocked(t, TargetDraining, ReasonDeregistration, "")
	r.refreshRoutesLocked()
	r.sched.after(delay, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		for i, x := range r.tg.targets {
			if x == t && t.state == TargetDraining {
				r.tg.targets = append(r.tg.targets[:i], r.tg.targets[i+1:]...)
				r.emit("target-health", in.m.ID, in.m.AZ, TargetDraining, "deregistered", ReasonNotRegistered)
				r.refreshRoutesLocked()
				return
			}
		}
	})
	return delay
}

// refreshRoutesLocked publishes the routing snapshot and the DNS set.
func (r *Region) refreshRoutesLocked() {
	rs := &routeSet{}
	for _, t := range r.tg.targets {
		if t.addr == "" {
			if t.in.m.Addr == "" {
				continue
			}
			t.addr = t.in.m.Addr
		}
		if t.rt == nil || t.rt.host != t.addr {
			t.rt = &route{id: t.in.m.ID, az: t.in.m.AZ, host: t.addr, ep: t.in.ep}
		}
		switch t.state {
		case TargetHealthy:
			rs.healthy = append(rs.healthy, t.rt)
			rs.all = append(rs.all, t.rt)
		case TargetInitial, TargetUnhealthy:
			rs.all = append(rs.all, t.rt)
		}
	}
	r.routes.Store(rs)
	r.refreshDNSLocked()
}

type hcJob struct {
	t       *target
	addr    string
	path    string        // the target group's settings when the round
	timeout time.Duration // started (ModifyTargetGroup changes them)
	matcher string
	ep      endpoint
	stopped string // instance state when it is stopped/terminated
	ok      bool
	reason  string
	desc    string
}

func (r *Region) healthLoop() {
	for {
		start := time.Now()
		r.healthRound()
		r.mu.Lock()
		interval := r.tg.m.HealthCheckInterval // ModifyTargetGroup may change it
		r.mu.Unlock()
		wait := time.NewTimer(max(interval-time.Since(start), time.Millisecond))
		select {
		case <-r.done:
			wait.Stop()
			return
		case <-wait.C:
		}
	}
}

// healthRound checks every registered target once, concurrently, each
// bounded by the health-check timeout, then applies the results.
func (r *Region) healthRound() {
	r.mu.Lock()
	jobs := make([]hcJob, 0, len(r.tg.targets))
	for _, t := range r.tg.targets {
		if t.state == TargetDraining {
			continue
		}
		j := hcJob{t: t, addr: t.in.m.Addr, ep: t.in.ep, path: r.tg.m.HealthCheckPath, timeout: r.tg.m.HealthCheckTimeout, matcher: r.tg.m.Matcher}
		// Stopped, or pending after a start: ELB does not check it (unused,
		// Target.InvalidState). A stopping one keeps the state it had
		// until it is stopped: its OS shuts down for the shutdown delay,
		// which on AWS (30 s or more) is shorter than the checks take to
		// call it unhealthy (30 s x 2 by default), so requests routed to it
		// meanwhile fail and the group's ELB check does not replace it.
		if t.in.m.State == StateStopping {
			continue
		}
		if s := t.in.m.State; s == StateStopped || s == StatePending {
			j.stopped = s
		}
		jobs = append(jobs, j)
	}
	r.mu.Unlock()
	var wg sync.WaitGroup
	for i := range jobs {
		if jobs[i].stopped != "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.check(&jobs[i])
		}()
	}
	wg.Wait()
	select {
	case <-r.done:
		return
	default:
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range jobs {
		r.applyCheckLocked(&jobs[i])
	}
	r.refreshRoutesLocked()
}

func (r *Region) nodeReaches(ep endpoint) bool {
	ns := r.net.Load()
	for _, n := range r.lb.nodes {
		if ns.path(n.ep, ep, appPort) {
			return true
		}
	}
	return false
}

func (r *Region) check(j *hcJob) {
	ctx, cancel := context.WithTimeout(context.Background(), j.timeout)
	defer cancel()
	fail := func(reason, desc string) { j.ok, j.reason, j.desc = false, reason, desc }
	if !r.nodeReaches(j.ep) {
		// Packets are dropped: the check times out.
		if waitUntil(ctx, r.done, j.timeout, func() bool { return r.nodeReaches(j.ep) }) {
			goto send
		}
		fail(ReasonTimeout, "")
		return
	}
send:
	if j.addr == "" {
		fail(ReasonFailedHealthChecks, "")
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+j.addr+j.path, nil)
	if err != nil {
		fail(ReasonFailedHealthChecks, "")
		return
	}
	req.Header.Set("User-Agent", "ELB-HealthChecker/2.0")
	resp, err := r.lb.hcTransport.RoundTrip(req)
	if err != nil {
		if ctx.Err() != nil || isTimeout(err) {
			fail(ReasonTimeout, "")
		} else {
			fail(ReasonFailedHealthChecks, "")
		}
		return
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if !matchCode(j.matcher, resp.StatusCode) {
		fail(ReasonResponseCodeMismatch, fmt.Sprintf("Health checks failed with these codes: [%d]", resp.StatusCode))
		return
	}
	j.ok = true
}

func (r *Region) applyCheckLocked(j *hcJob) {
	t := j.t
	if r.tg.find(t.in.m.ID) != t || t.state == TargetDraining {
		return // deregistered meanwhile
	}
	if t.in.m.State == StateTerminated {
		// ELB deregisters terminated instances by itself.
		r.deregisterLocked(t.in)
		return
	}
	if j.stopped != "" {
		t.okRun, t.fail = 0, 0
		r.setTargetLocked(t, TargetUnused, ReasonInvalidState, "Target is in the "+map[bool]string{true: "pending", false: "stopped"}[j.stopped == StatePending]+" state")
		return
	}
	if j.addr != t.in.m.Addr {
		return // the instance restarted during the check
	}
	if j.ok {
		t.fail = 0
		t.okRun++
		switch t.state {
		case TargetInitial, TargetUnhealthy, TargetUnused:
			if t.state == TargetUnused {
				r.setTargetLocked(t, TargetInitial, ReasonInitialHealthChecking, "")
			}
			if t.okRun >= r.tg.m.HealthyThreshold {
				r.setTargetLocked(t, TargetHealthy, "", "")
			}
		}
		return
	}
	t.okRun = 0
	t.fail++
	switch t.state {
	case TargetHealthy, TargetInitial:
		if t.fail >= r.tg.m.UnhealthyThreshold {
			r.setTargetLocked(t, TargetUnhealthy, j.reason, j.desc)
		}
	case TargetUnhealthy:
		r.setTargetLocked(t, TargetUnhealthy, j.reason, j.desc)
	case TargetUnused:
		r.setTargetLocked(t, TargetInitial, ReasonInitialHealthChecking, "")
	}
}

// ---- ELBv2 queries ----

// LoadBalancers describes the one ALB, with its nodes' live addresses.
func (r *Region) LoadBalancers() []LoadBalancer {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.lb.m
	m.AZs = r.albNodesLocked()
	m.Listeners = append([]Listener(nil), m.Listeners...)
	return []LoadBalancer{m}
}

// TargetGroups describes the one target group.
func (r *Region) TargetGroups() []TargetGroup {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.tg.m
	m.LoadBalancerARNs = append([]string(nil), m.LoadBalancerARNs...)
	return []TargetGroup{m}
}

// TargetHealth describes every registered (or draining) target.
func (r *Region) TargetHealth(targetGroupARN string) ([]TargetHealth, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if targetGroupARN != r.tg.m.ARN {
		return nil, apiErr(400, "TargetGroupNotFound", "One or more target groups not found")
	}
	out := make([]TargetHealth, 0, len(r.tg.targets))
	for _, t := range r.tg.targets {
		out = append(out, TargetHealth{
			InstanceID: t.in.m.ID, Port: r.tg.m.Port, AZ: t.in.m.AZ,
			State: t.state, Reason: t.reason, Description: t.desc,
		})
	}
	return out, nil
}

// Port is the one port every load balancer node listens on (0 before Start).
func (r *Region) Port() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lb.port
}

// RequestCount is the number of requests the load balancer nodes received.
func (r *Region) RequestCount() int64 { return r.lb.requests.Load() }
