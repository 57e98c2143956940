package runner

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/gameday-dev/gameday/attack"
	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/environment"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/faults"
	"github.com/gameday-dev/gameday/probes"
	"github.com/gameday-dev/gameday/topology"
)

// Prepared is an experiment resolved against its target: the sandbox (if
// any) is running, targets are resolved, faults and probes are built. Nothing
// has been changed on the target yet. Close releases it.
// PlannedFault is one fault of the experiment: its spec as the file gives
// it, and the fault resolved from it at plan time.
type PlannedFault struct {
	Spec  experiments.Fault
	Fault faults.Fault
}

// faultList is the resolved faults alone, in file order.
func (p *Prepared) faultList() []faults.Fault {
	fs := make([]faults.Fault, len(p.Faults))
	for i, pf := range p.Faults {
		fs[i] = pf.Fault
	}
	return fs
}

type Prepared struct {
	Experiment *experiments.Experiment
	Compiled   *experiments.Compiled
	// Env is where the run happens: the in-process sandbox, an attached
	// one or AWS. Prepared owns it: Close closes it.
	Env      environment.Environment
	Clients  *awsclients.Clients
	Topology *topology.Topology
	// Faults are the experiment's faults in file order, each with its spec.
	Faults  []PlannedFault
	Probes  []probes.Probe
	Attack  attack.Config
	Account string
	Region  string
	// Location is where faults are applied, as the rollback journal records it.
	Location faults.Location
	// groupSize is, per Auto Scaling group a fault terminates in, its
	// InService instances at plan time (the guards' capacity).
	groupSize map[string]int
}

// GuardError says a safety guard refused the experiment (exit code 2):
// wrong account or region, a target without the opt-in tag, or a blast
// radius over its limit. Nothing was changed.
type GuardError struct {
	Field string
	Msg   string
}

func (e *GuardError) Error() string { return e.Field + ": " + e.Msg }

// InputError wraps a problem with the experiment's targets (exit code 2).
type InputError = environment.InputError

// Prepare resolves every target of x through env's AWS APIs and builds
// faults, probes and the attack. It changes nothing on the target: this is
// all `gameday plan` does. The Prepared owns env (Close closes it); so
// does a failed Prepare, which closes it.
func Prepare(ctx context.Context, x *experiments.Experiment, c *experiments.Compiled, env environment.Environment) (p *Prepared, err error) {
	p = &Prepared{Experiment: x, Compiled: c, Env: env}
	defer func() {
		if err != nil {
			p.Close()
			p = nil
		}
	}()
	cfg := env.AWSConfig()
	p.Location = env.Location()
	p.Clients = awsclients.New(cfg)
	p.Region = cfg.Region
	// Who and where we are, before anything else.
	id, err := p.Clients.STS.GetCallerIdentity(ctx, nil)
	if err != nil {
		return nil, p.unreachable(fmt.Errorf("check credentials (sts GetCallerIdentity): %w", err))
	}
	p.Account = aws.ToString(id.Account)
	p.Location.Account = p.Account
	if err := checkAllowlists(x, p.Account, p.Region); err != nil {
		return nil, err
	}

	p.Topology, err = topology.Resolve(ctx, p.Clients, x.Target)
	if err != nil {
		var nf *topology.NotFoundError
		if errors.As(err, &nf) {
			return nil, &InputError{Err: fmt.Errorf("%s: %w", x.File, err)}
		}
		return nil, fmt.Errorf("%s: %w", x.File, err) // AWS trouble, not the file's fault
	}
	for i, spec := range x.Faults {
		f, err := faults.New(ctx, p.Clients, p.Topology, spec)
		if err != nil {
			err = fmt.Errorf("%s: faults[%d] (%s): %w", x.File, i, spec.Name, err)
			var se *faults.SpecError
			if errors.As(err, &se) || topology.Rejected(err) || faults.Refused(err) {
				return nil, &InputError{Err: err}
			}
			return nil, err
		}
		p.Faults = append(p.Faults, PlannedFault{Spec: spec, Fault: f})
	}
	if err := p.checkGuards(ctx); err != nil {
		return nil, err
	}
	hc := &http.Client{Timeout: 5 * time.Second}
	for i, spec := range x.Probes {
		pr, err := probes.New(probes.Env{Clients: p.Clients, Topology: p.Topology, HTTPClient: hc, LoadURL: p.baseURL(), MetricMinute: p.Env.MetricMinute()}, spec)
		if err != nil {
			return nil, &InputError{Err: fmt.Errorf("%s: probes[%d]: %w", x.File, i, err)}
		}
		p.Probes = append(p.Probes, pr)
	}
	p.Attack, err = p.attackConfig()
	if err != nil {
		return nil, &InputError{Err: fmt.Errorf("%s: load: %w", x.File, err)}
	}
	if err := p.preflight(ctx); err != nil {
		return nil, err
	}
	if err := p.checkStopAlarms(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Prepared) baseURL() string {
	if p.Experiment.Load.URL != "" {
		return p.Experiment.Load.URL
	}
	if u := p.Env.LoadURL(); u != "" {
		return u
	}
	return "http://" + p.Topology.DNSName + "/"
}

func (p *Prepared) attackConfig() (attack.Config, error) {
	l := p.Experiment.Load
	base, err := url.Parse(p.baseURL())
	if err != nil {
		return attack.Config{}, err
	}
	reqs := l.Requests
	if len(reqs) == 0 {
		reqs = []experiments.Request{{Method: "GET", Path: base.Path}}
	}
	var tg []attack.Request
	for _, r := range reqs {
		u := r.URL
		if u == "" {
			ref := *base
			ref.Path = r.Path
			if ref.Path == "" {
				ref.Path = "/"
			}
			u = ref.String()
		}
		h := http.Header{}
		for k, v := range r.Headers {
			h.Set(k, v)
		}
		m := strings.ToUpper(r.Method)
		if m == "" {
			m = "GET"
		}
		tg = append(tg, attack.Request{Method: m, URL: u, Header: h, Body: []byte(r.Body)})
	}
	var stages []attack.Stage
	for _, s := range p.Compiled.Stages {
		stages = append(stages, attack.Stage{Duration: s.Duration, From: s.From, To: s.To})
	}
	keep := true
	if l.KeepAlive != nil {
		keep = *l.KeepAlive
	}
	cfg := attack.Config{
		Requests: tg, Stages: stages, Timeout: l.Timeout,
		Workers: l.Workers, MaxWorkers: l.MaxWorkers, MaxConnections: l.MaxConnections,
		KeepAlive: keep, MaxConnAge: l.MaxConnAge, DNSTTL: l.DNSTTL,
		NodeAZ: p.Topology.AZOf, Name: p.Experiment.Name, AZHeader: l.AZHeader,
	}
	if cfg.AZHeader == "" {
		cfg.AZHeader = p.Env.AZHeader()
	}
	cfg.Resolver = p.Env.Resolver()
	return cfg, nil
}

// PlanText describes what a run would do, for `gameday plan` and logs.
func (p *Prepared) PlanText() string {
	var b strings.Builder
	x := p.Experiment
	fmt.Fprintf(&b, "experiment  %s (%s)\n", x.Name, x.File)
	fmt.Fprintf(&b, "target      %s, account %s", x.Target.Kind, p.Account)
	b.WriteString(p.Env.Describe())
	if p.Region != "" {
		fmt.Fprintf(&b, ", region %s", p.Region)
	}
	b.WriteString("\n")
	t := p.Topology
	fmt.Fprintf(&b, "  load balancer  %s (%s)\n  target group   %s\n  group          %s\n", t.LoadBalancerName, t.DNSName, t.TargetGroupARN, t.GroupName)
	if t.DBClusterID != "" {
		fmt.Fprintf(&b, "  db cluster     %s\n", t.DBClusterID)
	} else if t.DBInstanceID != "" {
		fmt.Fprintf(&b, "  db instance    %s\n", t.DBInstanceID)
	}
	fmt.Fprintf(&b, "load        %s (%s in all), timeout %s, max %d workers / %d connections\n",
		describeStages(p.Compiled.Stages), x.Load.Duration, x.Load.Timeout, x.Load.MaxWorkers, x.Load.MaxConnections)
	b.WriteString(experiments.ShapeText(x, p.Compiled.Stages))
	for _, tg := range p.Attack.Requests {
		fmt.Fprintf(&b, "  %s %s\n", tg.Method, tg.URL)
	}
	if g := x.Load.Generators; g != nil {
		loss := g.OnWorkerLoss
		if loss == "" {
			loss = "fail"
		}
		fmt.Fprintf(&b, "  from %d load generators (engine %s), each an exact 1/%d slice of the plan; a lost one: %s\n", g.Count, g.Engine, g.Count, loss)
		if g.ECS != nil && g.Engine == "ecs" {
			fmt.Fprintf(&b, "  %s\n", g.ECS.Describe(g))
		}
	}
	fmt.Fprintf(&b, "steady      %s per %s window, recovered after %d stable windows; baseline %s, verify %s\n",
		strings.Join(x.SteadyState.Thresholds, " and "), x.SteadyState.Window, x.SteadyState.StableFor, x.SteadyState.Baseline, x.SteadyState.Verify)
	for _, w := range experiments.WindowWarnings(x, p.Compiled) {
		fmt.Fprintf(&b, "warning     %s\n", w)
	}
	b.WriteString(p.timelineText())
	for _, pr := range p.Probes {
		fmt.Fprintf(&b, "probe       %s\n", pr.Name())
	}
	for _, e := range p.Compiled.StopConditions {
		fmt.Fprintf(&b, "stop if     %s\n", e.Source)
	}
	for _, a := range p.Compiled.StopAlarms {
		fmt.Fprintf(&b, "stop if     CloudWatch alarm %s is in ALARM\n", a)
	}
	for _, e := range p.Compiled.RunGates {
		fmt.Fprintf(&b, "gate        run: %s\n", e.Source)
	}
	for _, e := range p.Compiled.EachFaultGates {
		fmt.Fprintf(&b, "gate        each fault: %s\n", e.Source)
	}
	for name, es := range p.Compiled.FaultGates {
		for _, e := range es {
			fmt.Fprintf(&b, "gate        %s: %s\n", name, e.Source)
		}
	}
	return b.String()
}

func describeStages(st []experiments.Stage) string {
	var parts []string
	for _, s := range st {
		if s.From == s.To {
			parts = append(parts, fmt.Sprintf("%g rps for %s", s.From, s.Duration))
		} else {
			parts = append(parts, fmt.Sprintf("%g→%g rps over %s", s.From, s.To, s.Duration))
		}
	}
	return strings.Join(parts, ", then ")
}

// Close releases the environment (stops an in-process sandbox).
func (p *Prepared) Close() {
	if p != nil && p.Env != nil {
		_ = p.Env.Close()
	}
}

// SandboxAZHeader is the header in which the sandbox names the AZ that
// served a request or failed it (environment.SandboxAZHeader).
const SandboxAZHeader = environment.SandboxAZHeader
