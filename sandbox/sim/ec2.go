package sim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type instance struct {
	m     Instance
	azIdx int
	ep    endpoint
	epoch int // bumped on every state change, to cancel stale timers
	group string
	app   *app

	terminated time.Time
	sick       bool

	// stopAt is when the instance last went stopping (the group's EC2
	// health check measures StoppedHealthCheckDelay from it); reboots
	// counts RebootInstances calls, to cancel a stale reboot's restart.
	stopAt  time.Time
	reboots int
}

func (r *Region) findInstance(id string) *instance {
	for _, in := range r.insts {
		if in.m.ID == id {
			return in
		}
	}
	return nil
}

func (r *Region) setStateLocked(in *instance, state, reason string) {
	if in.m.State == state {
		return
	}
	prev := in.m.State
	in.m.State = state
	in.m.StateReason = reason
	in.epoch++
	if state == StateTerminated {
		in.terminated = time.Now()
	}
	r.emit("instance-state", in.m.ID, in.m.AZ, prev, state, reason)
}

// bootLocked schedules pending → running after the boot delay.
func (r *Region) bootLocked(in *instance) {
	epoch := in.epoch
	r.sched.after(r.t.BootDelay, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if in.epoch != epoch || in.m.State != StatePending || r.closed {
			return
		}
		r.setStateLocked(in, StateRunning, "")
		if err := r.startAppLocked(in); err != nil {
			r.emit("instance-state", in.m.ID, in.m.AZ, StateRunning, StateRunning, "app failed to listen: "+err.Error())
		}
		r.instanceRunningLocked(in)
	})
}

// instanceRunningLocked tells the group and the target group that an
// instance has (re)started. A member still in service (it was stopped and
// started again before the group replaced it) keeps its registration; the
// target checks its new listener from initial, as ELB does after a start.
func (r *Region) instanceRunningLocked(in *instance) {
	m := r.memberOf(in)
	if m != nil && m.lifecycle == lifePending {
		r.memberInServiceLocked(m)
	} else if t := r.tg.find(in.m.ID); t != nil {
		r.targetRestartedLocked(t)
	}
}

// shutdownLocked moves an instance to shutting-down or stopping, kills its
// app, and schedules the final state.
func (r *Region) shutdownLocked(in *instance, via, final, reason string) {
	r.setStateLocked(in, via, reason)
	r.killAppLocked(in)
	epoch := in.epoch
	r.sched.after(r.t.ShutdownDelay, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if in.epoch != epoch || r.closed {
			return
		}
		r.setStateLocked(in, final, reason)
		r.refreshRoutesLocked()
	})
}

func (r *Region) validateInstanceIDs(ids []string) ([]*instance, error) {
	if len(ids) == 0 {
		return nil, apiErr(400, "MissingParameter", "The request must contain the parameter InstanceId")
	}
	var missing []string
	out := make([]*instance, 0, len(ids))
	for _, id := range ids {
		if !instanceIDRE.MatchString(id) {
			return nil, apiErr(400, "InvalidInstanceID.Malformed", "Invalid id: %q (expecting \"i-...\")", id)
		}
		in := r.findInstance(id)
		if in == nil {
			missing = append(missing, id)
			continue
		}
		out = append(out, in)
	}
	switch len(missing) {
	case 0:
		return out, nil
	case 1:
		return nil, apiErr(400, "InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", missing[0])
	default:
		return nil, apiErr(400, "InvalidInstanceID.NotFound", "The instance IDs '%s' do not exist", strings.Join(missing, ", "))
	}
}

// Instances lists every instance, terminated ones included until the
// retention passes.
func (r *Region) Instances() []Instance {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Instance, 0, len(r.insts))
	for _, in := range r.insts {
		m := in.m
		m.Tags = copyTags(m.Tags)
		out = append(out, m)
	}
	return out
}

const userShutdown = "Client.UserInitiatedShutdown: User initiated shutdown"

// TerminateInstances terminates instances at once: listeners close and open
// connections are reset. Group members are then replaced by the group.
func (r *Region) TerminateInstances(ids []string) ([]StateChange, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ins, err := r.validateInstanceIDs(ids)
	if err != nil {
		return nil, err
	}
	out := make([]StateChange, 0, len(ins))
	for _, in := range ins {
		prev := in.m.State
		if prev != StateShuttingDown && prev != StateTerminated {
			r.shutdownLocked(in, StateShuttingDown, StateTerminated, userShutdown)
		}
		out = append(out, StateChange{InstanceID: in.m.ID, Previous: prev, Current: in.m.State})
	}
	r.refreshRoutesLocked()
	return out, nil
}

// StopInstances stops running instances: stopping, then stopped after the
// shutdown delay. A clean stop (force false) is an OS shutdown: the app
// stops accepting connections at once, finishes the requests it is
// serving (bounded by the shutdown delay) and only then resets what is
// left. Force (EC2's "forces the instances to stop", no clean shutdown)
// resets every connection at once, also for an instance already stopping.
// Stopping a stopped or stopping instance is not an error (as EC2).
func (r *Region) StopInstances(ids []string, force bool) ([]StateChange, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ins, err := r.validateInstanceIDs(ids)
	if err != nil {
		return nil, err
	}
	for _, in := range ins {
		switch in.m.State {
		case StateShuttingDown, StateTerminated:
			return nil, apiErr(400, "IncorrectInstanceState", "The instance '%s' is not in a state from which it can be stopped.", in.m.ID)
		}
	}
	out := make([]StateChange, 0, len(ins))
	for _, in := range ins {
		prev := in.m.State
		switch {
		case prev == StatePending || prev == StateRunning:
			r.stopLocked(in, force)
		case prev == StateStopping && force:
			r.killAppLocked(in)
		}
		out = append(out, StateChange{InstanceID: in.m.ID, Previous: prev, Current: in.m.State})
	}
	r.refreshRoutesLocked()
	return out, nil
}

// stopLocked moves an instance to stopping and schedules stopped. The app
// goes away at once (force) or drains as an OS shutdown lets it.
func (r *Region) stopLocked(in *instance, force bool) {
	r.setStateLocked(in, StateStopping, userShutdown)
	in.stopAt = time.Now()
	if force {
		r.killAppLocked(in)
	} else {
		r.drainAppLocked(in, r.t.ShutdownDelay)
	}
	epoch := in.epoch
	r.sched.after(r.t.ShutdownDelay, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if in.epoch != epoch || r.closed {
			return
		}
		r.setStateLocked(in, StateStopped, userShutdown)
		r.refreshRoutesLocked()
	})
}

// drainAppLocked shuts the app down as a clean OS shutdown does: the
// listener closes (new connections are refused), idle connections close,
// requests in flight finish within limit; whatever is left is then reset.
func (r *Region) drainAppLocked(in *instance, limit time.Duration) {
	a := in.app
	if a == nil {
		return
	}
	in.app = nil
	in.m.Addr = ""
	if r.closed {
		a.kill()
		return
	}
	a.dead.Store(true) // /health fails; a connection accepted late is reset
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), limit)
		defer cancel()
		go func() {
			select {
			case <-r.done:
				cancel()
			case <-ctx.Done():
			}
		}()
		a.srv.Shutdown(ctx)
		a.kill()
	}()
}

// RebootInstances reboots running instances, as EC2 does: the instance
// stays running (no state change, so the group's EC2 health check does
// not see it), its OS shuts down cleanly (the app drains as on a clean
// stop) and the app listens again on a fresh port after the reboot time.
// Meanwhile the load balancer's health checks fail, so the target goes
// unhealthy, then healthy again once it passes them. A group using ELB
// health checks may therefore replace a rebooting member, as on AWS.
// Terminated and shutting-down instances are ignored (EC2 API reference,
// RebootInstances: "Requests to reboot terminated instances are
// ignored."); stopping, stopped and pending ones get
// IncorrectInstanceState.
func (r *Region) RebootInstances(ids []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	ins, err := r.validateInstanceIDs(ids)
	if err != nil {
		return err
	}
	for _, in := range ins {
		switch in.m.State {
		case StateStopping, StateStopped, StatePending:
			return apiErr(400, "IncorrectInstanceState", "The instance '%s' is not in a state from which it can be rebooted.", in.m.ID)
		}
	}
	for _, in := range ins {
		if in.m.State != StateRunning {
			continue
		}
		r.drainAppLocked(in, r.t.InstanceRebootTime/2)
		in.reboots++
		r.emit("instance-reboot", in.m.ID, in.m.AZ, StateRunning, "rebooting", "RebootInstances")
		epoch, n := in.epoch, in.reboots
		r.sched.after(r.t.InstanceRebootTime, func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			if in.epoch != epoch || in.reboots != n || in.m.State != StateRunning || r.closed {
				return
			}
			if err := r.startAppLocked(in); err != nil {
				r.emit("instance-state", in.m.ID, in.m.AZ, StateRunning, StateRunning, "app failed to listen: "+err.Error())
			}
			r.emit("instance-reboot", in.m.ID, in.m.AZ, "rebooting", StateRunning, "rebooted")
			// The target keeps its health state and checks the new
			// listener: unhealthy until it passes HealthyThreshold checks.
			if t := r.tg.find(in.m.ID); t != nil && t.state != TargetDraining {
				t.addr = in.m.Addr
			}
			r.refreshRoutesLocked()
		})
	}
	r.refreshRoutesLocked()
	return nil
}

// StartInstances starts stopped instances: pending, then running after the
// boot delay with a fresh app listener.
func (r *Region) StartInstances(ids []string) ([]StateChange, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ins, err := r.validateInstanceIDs(ids)
	if err != nil {
		return nil, err
	}
	for _, in := range ins {
		switch in.m.State {
		case StateStopping, StateShuttingDown, StateTerminated:
			return nil, apiErr(400, "IncorrectInstanceState", "The instance '%s' is not in a state from which it can be started.", in.m.ID)
		}
	}
	out := make([]StateChange, 0, len(ins))
	for _, in := range ins {
		prev := in.m.State
		if prev == StateStopped {
			r.setStateLocked(in, StatePending, "")
			r.bootLocked(in)
			// Not running: out of rotation until it boots and passes its
			// checks, even if no health round saw it stopped (a stop and
			// start within one interval).
			if t := r.tg.find(in.m.ID); t != nil && t.state != TargetDraining {
				t.okRun, t.fail = 0, 0
				r.setTargetLocked(t, TargetUnused, ReasonInvalidState, "Target is in the pending state")
			}
		}
		out = append(out, StateChange{InstanceID: in.m.ID, Previous: prev, Current: in.m.State})
	}
	r.refreshRoutesLocked()
	return out, nil
}

// pruneInstancesLocked forgets instances terminated longer ago than the
// retention.
func (r *Region) pruneInstancesLocked(now time.Time) {
	keep := r.insts[:0]
	for _, in := range r.insts {
		if in.m.State == StateTerminated && now.Sub(in.terminated) > r.t.TerminatedRetention &&
			r.tg.find(in.m.ID) == nil && r.memberOf(in) == nil {
			continue
		}
		keep = append(keep, in)
	}
	clear(r.insts[len(keep):])
	r.insts = keep
}

// ---- the web app ----

// app is one instance's web server on 127.0.0.1:port.
type app struct {
	r       *Region
	id, az  string
	ep      endpoint
	ln      net.Listener
	srv     *http.Server
	sem     chan struct{}
	waiting atomic.Int64
	dead    atomic.Bool
	sick    atomic.Bool // /health answers 503 while the app still serves

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func (r *Region) startAppLocked(in *instance) error {
	if !r.started || r.closed || in.app != nil {
		return nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("instance %s: listen: %w", in.m.ID, err)
	}
	a := &app{
		r: r, id: in.m.ID, az: in.m.AZ, ep: in.ep, ln: ln,
		sem:   make(chan struct{}, r.cfg.Instance.Concurrency),
		conns: map[net.Conn]struct{}{},
	}
	a.srv = &http.Server{
		Handler:           a,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ConnState:         a.connState,
		ErrorLog:          discardLog,
	}
	a.sick.Store(in.sick)
	in.app = a
	in.m.Addr = ln.Addr().String()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		a.srv.Serve(ln)
	}()
	return nil
}

// killAppLocked closes the app's listener and resets its open connections,
// so clients see ECONNRESET rather than a clean close.
func (r *Region) killAppLocked(in *instance) {
	a := in.app
	if a == nil {
		return
	}
	in.app = nil
	in.m.Addr = ""
	a.kill()
}

func (a *app) kill() {
	a.dead.Store(true)
	a.ln.Close()
	a.mu.Lock()
	for c := range a.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.Close()
	}
	a.mu.Unlock()
	a.srv.Close()
}

func (a *app) connState(c net.Conn, s http.ConnState) {
	switch s {
	case http.StateNew:
		a.mu.Lock()
		if a.dead.Load() {
			a.mu.Unlock()
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetLinger(0)
			}
			c.Close()
			return
		}
		a.conns[c] = struct{}{}
		a.mu.Unlock()
	case http.StateClosed, http.StateHijacked:
		a.mu.Lock()
		delete(a.conns, c)
		a.mu.Unlock()
	}
}

var errDBUnreachable = errors.New("database: connection timed out")

func (a *app) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	h := w.Header()
	h["X-Instance-Id"] = []string{a.id}
	h["X-Availability-Zone"] = []string{a.az}
	switch {
	case req.URL.Path == "/health":
		if a.dead.Load() || a.sick.Load() {
			http.Error(w, "unhealthy", http.StatusServiceUnavailable)
			return
		}
		if a.r.cfg.Instance.DeepHealthCheck {
			if err := a.r.dbCall(req.Context(), a.ep, false); err != nil {
				http.Error(w, "database: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		h["Content-Type"] = textPlain
		w.Write(okBody)
	case req.URL.Path == "/" && (req.Method == http.MethodGet || req.Method == http.MethodHead):
		a.serveWork(w, req, false)
	case req.URL.Path == "/orders" && req.Method == http.MethodPost:
		a.serveWork(w, req, true)
	case req.URL.Path == "/orders" || req.URL.Path == "/":
		h["Allow"] = []string{"GET, HEAD, POST"}
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	default:
		http.NotFound(w, req)
	}
}

var (
	okBody    = []byte("ok\n")
	textPlain = []string{"text/plain; charset=utf-8"}
	appJSON   = []string{"application/json"}
)

// serveWork admits the request (concurrency limit, bounded queue), spends
// the service time, and reads or writes through the database.
func (a *app) serveWork(w http.ResponseWriter, req *http.Request, write bool) {
	ctx := req.Context()
	arrived := time.Now() // failures are recorded at the request's arrival
	select {
	case a.sem <- struct{}{}:
	default:
		if a.waiting.Add(1) > int64(a.r.cfg.Instance.QueueSize) {
			a.waiting.Add(-1)
			a.r.failAt(arrived, FailOverloaded, a.id, a.az, "")
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return
		}
		select {
		case a.sem <- struct{}{}:
			a.waiting.Add(-1)
		case <-ctx.Done():
			a.waiting.Add(-1)
			return
		}
	}
	defer func() { <-a.sem }()
	if !sleepCtx(ctx, a.r.done, a.r.cfg.Instance.ServiceTime) {
		return
	}
	ready := a.r.dbReady(a.ep, write)
	if err := a.r.dbCall(ctx, a.ep, write); err != nil {
		if ctx.Err() == nil {
			id, az := a.r.dbTarget(write)
			a.r.failAt(arrived, FailDBUnreachable, id, a.az, az)
			// Name the AZ that failed the request: the database's.
			w.Header()["X-Availability-Zone"] = []string{az}
		}
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if !ready {
		id, az := a.r.dbTarget(write)
		a.r.failAt(arrived, FailDBDelayed, id, a.az, az)
	}
	w.Header()["Content-Type"] = appJSON
	var b []byte
	if write {
		n := a.r.orders.Add(1)
		w.WriteHeader(http.StatusCreated)
		b = append(b, `{"order_id":`...)
		b = strconv.AppendInt(b, n, 10)
		b = append(b, `,"instance":"`...)
	} else {
		b = append(b, `{"instance":"`...)
	}
	b = append(b, a.id...)
	b = append(b, `","az":"`...)
	b = append(b, a.az...)
	b = append(b, "\"}\n"...)
	w.Write(b)
}

// loopbackOnly refuses to dial anything but 127.0.0.0/8: simulated
// addresses are never dialled.
func loopbackOnly(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return fmt.Errorf("sandbox: refusing to dial non-loopback address %s", addr)
	}
	return nil
}

// SetInstanceHealth makes an instance's /health endpoint fail (healthy
// false) or pass again while the app keeps serving its routes, as a broken
// health check would. It applies to the running app and survives restarts.
func (r *Region) SetInstanceHealth(id string, healthy bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	ins, err := r.validateInstanceIDs([]string{id})
	if err != nil {
		return err
	}
	in := ins[0]
	in.sick = !healthy
	if in.app != nil {
		in.app.sick.Store(!healthy)
	}
	r.emit("instance-health", id, in.m.AZ, "", map[bool]string{true: "passing", false: "failing"}[healthy], "health endpoint")
	return nil
}
