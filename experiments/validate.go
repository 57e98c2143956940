package experiments

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// Problem is one thing wrong with an experiment, at a field path such as
// "faults[1].targets.count".
type Problem struct {
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
	// Source, when the value came from elsewhere than the file, names it:
	// "GAMEDAY_LOAD_RATE=NaN" or "--set load.rate=NaN".
	Source string `json:"source,omitempty"`
}

func (p Problem) where() string {
	if p.Source == "" {
		return p.Path
	}
	return p.Path + " (from " + p.Source + ")"
}

// Error lists every problem found in one file. It maps to exit code 2.
type Error struct {
	File     string    `json:"file"`
	Problems []Problem `json:"problems"`
}

func (e *Error) Error() string {
	var b strings.Builder
	if len(e.Problems) == 1 {
		p := e.Problems[0]
		if p.Path == "" {
			return fmt.Sprintf("%s: %s", e.File, p.Message)
		}
		return fmt.Sprintf("%s: %s: %s", e.File, p.where(), p.Message)
	}
	fmt.Fprintf(&b, "%s: %d problems:", e.File, len(e.Problems))
	for _, p := range e.Problems {
		if p.Path == "" {
			fmt.Fprintf(&b, "\n  - %s", p.Message)
		} else {
			fmt.Fprintf(&b, "\n  - %s: %s", p.where(), p.Message)
		}
	}
	return b.String()
}

// Compiled holds the experiment's expressions, parsed and checked.
type Compiled struct {
	Thresholds     []Expr
	StopConditions []Expr
	// StopAlarms are the CloudWatch alarms of stop_conditions ({alarm:
	// NAME}): the run stops when one is in ALARM.
	StopAlarms     []string
	RunGates       []Expr
	EachFaultGates []Expr
	FaultGates     map[string][]Expr
	Regression     []Regression // judged against a baseline run (gameday run --baseline)
	Stages         []Stage      // the rate plan, with a constant Rate normalised to one stage
}

// Limits on values that are possible in YAML but absurd for a run.
const (
	MaxRate       = 1_000_000
	MaxDuration   = 24 * time.Hour
	MinWindow     = 100 * time.Millisecond
	MaxMaxWorkers = 100_000
)

// Validate checks every field and compiles the expressions. The error is
// an *Error listing all problems.
func (x *Experiment) Validate() (*Compiled, error) {
	v := &validator{}
	c := &Compiled{FaultGates: map[string][]Expr{}}

	if strings.TrimSpace(x.Name) == "" {
		v.add("name", "is required")
	}
	x.validateTarget(v)
	c.Stages = x.validateLoad(v)
	x.validateGenerators(v)
	x.validateSteady(v, c)
	x.validateFaults(v)
	x.validateProbes(v)
	x.validateGuards(v)
	x.validateBounds(v)
	x.validateStopConditions(v, c)
	for i, s := range x.Gates.Run {
		if e, err := ParseExpr(s, ScopeRun, false); err != nil {
			v.add(fmt.Sprintf("gates.run[%d]", i), err.Error())
		} else {
			c.RunGates = append(c.RunGates, e)
		}
	}
	for i, s := range x.Gates.EachFault {
		if e, err := ParseExpr(s, ScopeFault, false); err != nil {
			v.add(fmt.Sprintf("gates.each_fault[%d]", i), err.Error())
		} else {
			c.EachFaultGates = append(c.EachFaultGates, e)
		}
	}
	for name, list := range x.Gates.Faults {
		if !x.hasFault(name) {
			v.add("gates.faults."+name, "names no fault of this experiment")
		}
		for i, s := range list {
			if e, err := ParseExpr(s, ScopeFault, false); err != nil {
				v.add(fmt.Sprintf("gates.faults.%s[%d]", name, i), err.Error())
			} else {
				c.FaultGates[name] = append(c.FaultGates[name], e)
			}
		}
	}
	x.validateScaling(v)
	x.validateRegression(v, c)
	x.validateReport(v)
	if len(v.ps) > 0 {
		return nil, &Error{File: x.File, Problems: v.ps}
	}
	return c, nil
}

type validator struct{ ps []Problem }

func (v *validator) add(path, msg string) { v.ps = append(v.ps, Problem{Path: path, Message: msg}) }

func (x *Experiment) hasFault(name string) bool {
	for _, f := range x.Faults {
		if f.Name == name {
			return true
		}
	}
	return false
}

func (x *Experiment) validateTarget(v *validator) {
	t := x.Target
	switch t.Kind {
	case "sandbox":
		switch t.Sandbox.Profile {
		case "", "fast", "aws":
		default:
			v.add("target.sandbox.profile", fmt.Sprintf("unknown profile %q (fast, aws)", t.Sandbox.Profile))
		}
		switch t.Sandbox.DBKind {
		case "", "instance", "cluster":
		default:
			v.add("target.sandbox.db_kind", fmt.Sprintf("unknown %q (instance, cluster)", t.Sandbox.DBKind))
		}
		if e := t.Sandbox.Endpoint; e != "" {
			if u, err := url.Parse(e); err != nil || u.Scheme != "http" || !isLoopbackHost(u.Hostname()) {
				v.add("target.sandbox.endpoint", fmt.Sprintf("%q: want a loopback URL such as http://127.0.0.1:4566", e))
			} else if t.Sandbox.Profile != "" || t.Sandbox.DBKind != "" || t.Sandbox.Config != "" {
				v.add("target.sandbox", "profile, db_kind and config configure an in-process sandbox; an attached one (endpoint) was configured when it started")
			}
		}
	case "aws":
		if t.AWS.Region == "" {
			v.add("target.aws.region", "is required for an aws target")
		}
		if t.AWS.EndpointURL != "" {
			if u, err := url.Parse(t.AWS.EndpointURL); err != nil || u.Scheme == "" || u.Host == "" {
				v.add("target.aws.endpoint_url", "is not an absolute URL")
			}
		}
		if t.Sandbox != (SandboxTarget{}) {
			v.add("target.sandbox", "only applies to kind sandbox")
		}
		if t.LoadBalancer.IsZero() && x.Load.URL == "" {
			v.add("target.load_balancer", "is required for an aws target unless load.url is set")
		}
	default:
		v.add("target.kind", fmt.Sprintf("unknown kind %q (sandbox, aws)", t.Kind))
	}
	for i, a := range t.AllowedAccounts {
		if len(a) != 12 || strings.Trim(a, "0123456789") != "" {
			v.add(fmt.Sprintf("target.allowed_accounts[%d]", i), fmt.Sprintf("%q is not a 12-digit AWS account id", a))
		}
	}
	for i, r := range t.AllowedRegions {
		if strings.TrimSpace(r) == "" {
			v.add(fmt.Sprintf("target.allowed_regions[%d]", i), "must not be empty")
		}
	}
	if t.RequireTag != "" {
		if k, _, ok := strings.Cut(t.RequireTag, "="); !ok || k == "" {
			v.add("target.require_tag", fmt.Sprintf("%q is not KEY=VALUE", t.RequireTag))
		}
	}
	for _, r := range []struct {
		path string
		ref  Ref
	}{{"target.load_balancer", t.LoadBalancer}, {"target.target_group", t.TargetGroup},
		{"target.auto_scaling_group", t.AutoScalingGroup}, {"target.db_instance", t.DBInstance},
		{"target.db_cluster", t.DBCluster}, {"target.vpc", t.VPC}} {
		for i, tag := range r.ref.Tags {
			if k, _, ok := strings.Cut(tag, "="); !ok || k == "" {
				v.add(fmt.Sprintf("%s.tags[%d]", r.path, i), fmt.Sprintf("%q is not KEY=VALUE", tag))
			}
		}
	}
}

func (x *Experiment) validateLoad(v *validator) []Stage {
	checkRate := func(path string, r float64, allowZero bool) {
		if r < 0 || (!allowZero && r == 0) {
			v.add(path, "must be positive (requests per second)")
		} else if r > MaxRate {
			v.add(path, fmt.Sprintf("%g rps is above the %d rps limit", r, MaxRate))
		}
	}
	var shaped []Stage
	if x.Load.Shape != nil {
		shaped = x.validateShape(v, checkRate) // may fill load.duration
	}
	l := x.Load
	if l.URL != "" {
		if u, err := url.Parse(l.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.add("load.url", fmt.Sprintf("%q is not an http(s) URL", l.URL))
		}
	}
	for i, r := range l.Requests {
		p := fmt.Sprintf("load.requests[%d]", i)
		switch strings.ToUpper(r.Method) {
		case "", "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS":
		default:
			v.add(p+".method", fmt.Sprintf("unknown HTTP method %q", r.Method))
		}
		if r.URL != "" {
			if u, err := url.Parse(r.URL); err != nil || u.Host == "" {
				v.add(p+".url", fmt.Sprintf("%q is not an absolute URL", r.URL))
			}
		} else if r.Path != "" && !strings.HasPrefix(r.Path, "/") {
			v.add(p+".path", "must start with /")
		}
	}
	if l.Duration <= 0 {
		v.add("load.duration", "must be positive, e.g. 2m")
	} else if l.Duration > MaxDuration {
		v.add("load.duration", fmt.Sprintf("%s is longer than the %s limit", l.Duration, MaxDuration))
	}
	if l.Timeout <= 0 {
		v.add("load.timeout", "must be positive")
	}
	if l.MaxWorkers == 0 {
		v.add("load.max_workers", "must be at least 1 (load is always bounded)")
	} else if l.MaxWorkers > MaxMaxWorkers {
		v.add("load.max_workers", fmt.Sprintf("%d is above the %d limit", l.MaxWorkers, MaxMaxWorkers))
	}
	if l.Workers > l.MaxWorkers {
		v.add("load.workers", "must not exceed load.max_workers")
	}
	if l.MaxConnections <= 0 {
		v.add("load.max_connections", "must be at least 1")
	}
	if l.MaxConnAge < 0 {
		v.add("load.max_conn_age", "must not be negative")
	}
	if l.DNSTTL < 0 {
		v.add("load.dns_ttl", "must not be negative")
	}
	if l.AZHeader != "" && !validHeaderName(l.AZHeader) {
		v.add("load.az_header", fmt.Sprintf("%q is not an HTTP header name (letters, digits and !#$%%&'*+-.^_`|~)", l.AZHeader))
	}
	if l.Shape != nil {
		return shaped
	}
	if len(l.Stages) == 0 {
		checkRate("load.rate", l.Rate, false)
		if l.Duration > 0 {
			return []Stage{{Duration: l.Duration, From: l.Rate, To: l.Rate}}
		}
		return nil
	}
	if l.Rate != 0 {
		v.add("load.rate", "set either load.rate or load.stages, not both")
	}
	var total time.Duration
	var out []Stage
	for i, s := range l.Stages {
		p := fmt.Sprintf("load.stages[%d]", i)
		if s.Duration <= 0 {
			v.add(p+".duration", "must be positive")
		}
		total += s.Duration
		if s.Rate != 0 {
			if s.From != 0 || s.To != 0 {
				v.add(p, "set either rate or from/to, not both")
			}
			checkRate(p+".rate", s.Rate, false)
			out = append(out, Stage{Duration: s.Duration, From: s.Rate, To: s.Rate})
			continue
		}
		checkRate(p+".from", s.From, true)
		checkRate(p+".to", s.To, true)
		if s.From == 0 && s.To == 0 {
			v.add(p, "needs rate, or from and to")
		}
		out = append(out, Stage{Duration: s.Duration, From: s.From, To: s.To})
	}
	if l.Duration > 0 && total != l.Duration {
		v.add("load.stages", fmt.Sprintf("stages add up to %s but load.duration is %s", total, l.Duration))
	}
	return out
}

func (x *Experiment) validateSteady(v *validator, c *Compiled) {
	s := x.SteadyState
	if s.Window < MinWindow {
		v.add("steady_state.window", fmt.Sprintf("must be at least %s", MinWindow))
	} else if x.Load.Duration > 0 && s.Window > x.Load.Duration {
		v.add("steady_state.window", "is longer than load.duration")
	}
	if s.StableFor < 1 {
		v.add("steady_state.stable_for", "must be at least 1 window")
	}
	if s.Baseline < 0 {
		v.add("steady_state.baseline", "must not be negative")
	} else if len(x.Faults) > 0 && s.Baseline < s.Window {
		v.add("steady_state.baseline", "must cover at least one window before any fault")
	}
	if s.Verify < 0 {
		v.add("steady_state.verify", "must not be negative")
	}
	if len(s.Thresholds) == 0 {
		v.add("steady_state.thresholds", "needs at least one, e.g. \"success_ratio >= 0.99\"")
	}
	for i, t := range s.Thresholds {
		e, err := ParseExpr(t, ScopeWindow, false)
		if err != nil {
			v.add(fmt.Sprintf("steady_state.thresholds[%d]", i), err.Error())
			continue
		}
		c.Thresholds = append(c.Thresholds, e)
	}
}

func (x *Experiment) validateFaults(v *validator) {
	seen := map[string]bool{}
	for i := range x.Faults {
		f := &x.Faults[i]
		p := fmt.Sprintf("faults[%d]", i)
		if f.Name == "" {
			f.Name = fmt.Sprintf("%s-%d", f.Kind, i+1)
		}
		if seen[f.Name] {
			v.add(p+".name", fmt.Sprintf("%q is used twice", f.Name))
		}
		seen[f.Name] = true
		switch f.After {
		case "":
			if f.At < x.SteadyState.Baseline {
				v.add(p+".at", fmt.Sprintf("%s falls inside the %s baseline; faults start after it", f.At, x.SteadyState.Baseline))
			} else if judged := x.SteadyState.Baseline + BaselineSettle(x); f.At < judged {
				// The run judges the baseline once its last requests can
				// have finished; a fault due before that would start late
				// and be held shorter than its duration.
				v.add(p+".at", fmt.Sprintf("%s is before the baseline is judged at %s (steady_state.baseline %s + %s for its last requests to finish); start it at %s or later", f.At, judged, x.SteadyState.Baseline, BaselineSettle(x), judged))
			}
			if x.Load.Duration > 0 && f.At >= x.Load.Duration {
				v.add(p+".at", fmt.Sprintf("%s is not before the end of the load (%s)", f.At, x.Load.Duration))
			} else if vs := x.Load.Duration - x.SteadyState.Verify; x.Load.Duration > 0 && x.SteadyState.Verify > 0 && f.At >= vs {
				v.add(p+".at", fmt.Sprintf("%s falls inside the verify period (the last %s of the %s load, from %s): no fault is injected or held there", f.At, x.SteadyState.Verify, x.Load.Duration, vs))
			}
		case "recovered":
			if i == 0 {
				v.add(p+".after", "the first fault has no previous fault to wait for")
			}
			if f.At != 0 {
				v.add(p+".at", "set either at or after, not both")
			}
		default:
			v.add(p+".after", fmt.Sprintf("unknown %q (the only value is \"recovered\")", f.After))
		}
		if f.Delay < 0 {
			v.add(p+".delay", "must not be negative")
		}
		sel := f.Targets
		if sel.Count < 0 {
			v.add(p+".targets.count", "must not be negative")
		}
		if sel.Percent < 0 || sel.Percent > 100 {
			v.add(p+".targets.percent", "must be between 0 and 100")
		}
		if sel.Count > 0 && sel.Percent > 0 {
			v.add(p+".targets", "set either count or percent, not both")
		}
		for j, tag := range sel.Tags {
			if k, _, ok := strings.Cut(tag, "="); !ok || k == "" {
				v.add(fmt.Sprintf("%s.targets.tags[%d]", p, j), fmt.Sprintf("%q is not KEY=VALUE", tag))
			}
		}
		x.validateFaultKind(v, p, f)
	}
}

func (x *Experiment) validateProbes(v *validator) {
	seen := map[string]bool{}
	for i, pr := range x.Probes {
		p := fmt.Sprintf("probes[%d]", i)
		if k, ok := lookupProbeKind(pr.Kind); !ok {
			v.add(p+".kind", unknownProbeKind(pr.Kind))
		} else {
			add := func(field, msg string) { v.add(p+"."+field, msg) }
			checkProbeKeys(k, &x.Probes[i], add)
			if k.Validate != nil {
				k.Validate(&x.Probes[i], add)
			}
		}
		if pr.Interval < 0 || (pr.Interval > 0 && pr.Interval < 50*time.Millisecond) {
			v.add(p+".interval", "must be at least 50ms")
		}
		name := pr.Name
		if name == "" {
			name = pr.Kind
		}
		if seen[name] {
			v.add(p+".name", fmt.Sprintf("%q is used twice", name))
		}
		seen[name] = true
	}
}

func (x *Experiment) validateGuards(v *validator) {
	g := x.Guards
	if g.MaxInstanceShare <= 0 || g.MaxInstanceShare > 1 {
		v.add("guards.max_instance_share", fmt.Sprintf("%g: must be in (0, 1]", g.MaxInstanceShare))
	}
	if g.MaxBlackholeDuration <= 0 {
		v.add("guards.max_blackhole_duration", "must be positive")
	}
	for i := range x.Faults {
		f := &x.Faults[i]
		if k, ok := LookupFaultKind(f.Kind); ok && k.Guards != nil {
			p := fmt.Sprintf("faults[%d]", i)
			k.Guards(g, f, func(field, msg string) { v.add(p+"."+field, msg) })
		}
	}
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(h)
	return err == nil && ip.IsLoopback()
}

// validHeaderName reports whether s is an HTTP field name (RFC 9110 token).
func validHeaderName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.ContainsRune("!#$%&'*+-.^_`|~", c):
		default:
			return false
		}
	}
	return true
}

// BaselineSettle is how long after the baseline's end the run waits before
// judging it: one window, or the request timeout if shorter (the scheduler
// waits exactly this long, so no fault can start earlier).
func BaselineSettle(x *Experiment) time.Duration {
	w := x.SteadyState.Window
	if w <= 0 {
		w = time.Second
	}
	if t := x.Load.Timeout; t > 0 && t < w {
		return t
	}
	return w
}
