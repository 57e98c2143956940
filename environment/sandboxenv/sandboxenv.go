package sandboxenv

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/environment"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/faults"
	"github.com/gameday-dev/gameday/sandbox"
	"github.com/gameday-dev/gameday/sandbox/truth"
)

// Open opens the environment x targets. For the in-process sandbox it
// starts one (target.sandbox.config, plus sbCfg's event log if set); Close
// stops it.
func Open(ctx context.Context, x *experiments.Experiment, sbCfg *sandbox.Config) (environment.Environment, error) {
	if x.Target.Kind != "sandbox" {
		return environment.OpenAWS(ctx, x.Target.AWS)
	}
	if ep := x.Target.Sandbox.Endpoint; ep != "" {
		rm, err := sandbox.Attach(ctx, ep)
		if err != nil {
			return nil, &environment.InputError{Err: fmt.Errorf("%s: target.sandbox.endpoint: %w", x.File, err)}
		}
		return &Attached{rm: rm, endpoint: ep}, nil
	}
	sc := sandbox.Config{}
	if f := x.Target.Sandbox.Config; f != "" {
		if !filepath.IsAbs(f) {
			f = filepath.Join(filepath.Dir(x.File), f) // relative to the experiment file
		}
		var err error
		if sc, err = sandbox.LoadConfig(f); err != nil {
			return nil, &environment.InputError{Err: fmt.Errorf("%s: target.sandbox.config: %w", x.File, err)}
		}
	}
	if sbCfg != nil && sbCfg.Region.EventLog != "" {
		sc.Region.EventLog = sbCfg.Region.EventLog
	}
	if x.Target.Sandbox.Profile != "" {
		sc.Region.Profile = x.Target.Sandbox.Profile
	}
	if x.Target.Sandbox.DBKind != "" {
		sc.Region.DB.Kind = x.Target.Sandbox.DBKind
	}
	sb, err := sandbox.Start(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("start sandbox: %w", err)
	}
	return &InProcess{sb: sb, cfg: sb.AWSConfig(ctx)}, nil
}

// InProcess is a sandbox this process started; it ends with the run.
type InProcess struct {
	sb  *sandbox.Sandbox
	cfg aws.Config
}

// Sandbox is the running sandbox (tests reach into its region).
func (e *InProcess) Sandbox() *sandbox.Sandbox { return e.sb }

func (e *InProcess) AWSConfig() aws.Config { return e.cfg }
func (e *InProcess) Location() faults.Location {
	return faults.Location{Kind: "sandbox", Region: e.cfg.Region, InProcess: true}
}
func (e *InProcess) LoadURL() string  { return e.sb.Region().URL() }
func (e *InProcess) Resolver() string { return e.sb.DNSAddr() }
func (e *InProcess) AZHeader() string { return environment.SandboxAZHeader }
func (e *InProcess) Describe() string { return fmt.Sprintf(" (sandbox at %s)", e.sb.Endpoint()) }
func (e *InProcess) Endpoint() (field, where string) {
	return "target.sandbox.endpoint", ""
}
func (e *InProcess) MetricMinute() time.Duration {
	return e.sb.Region().Timings().MetricMinute
}
func (e *InProcess) Truth() environment.Feed { return inProcessFeed{e.sb} }
func (e *InProcess) Close() error            { return e.sb.Close() }

type inProcessFeed struct{ sb *sandbox.Sandbox }

func (f inProcessFeed) Failures(_ context.Context, since time.Time) ([]truth.FailureBucket, error) {
	return f.sb.Region().Failures(since), nil
}
func (f inProcessFeed) Events() []truth.Event { return f.sb.Region().Events() }

// Attached is a sandbox running in another process (`gameday sandbox`),
// reached over HTTP; its state outlives the run.
type Attached struct {
	rm       *sandbox.Remote
	endpoint string
}

func (e *Attached) AWSConfig() aws.Config { return e.rm.AWSConfig() }
func (e *Attached) Location() faults.Location {
	return faults.Location{Kind: "sandbox", Region: e.rm.AWSConfig().Region, EndpointURL: e.endpoint}
}
func (e *Attached) LoadURL() string { return e.rm.Health.LoadBalancerURL }

// MetricMinute is what the attached sandbox says its CloudWatch minute
// lasts; a sandbox too old to say runs on real minutes.
func (e *Attached) MetricMinute() time.Duration {
	if s := e.rm.Health.MetricMinuteS; s > 0 {
		return time.Duration(s * float64(time.Second))
	}
	return time.Minute
}
func (e *Attached) Resolver() string { return e.rm.Health.DNSAddr }
func (e *Attached) AZHeader() string { return environment.SandboxAZHeader }
func (e *Attached) Describe() string {
	return fmt.Sprintf(" (attached sandbox at %s)", e.rm.Health.Endpoint)
}
func (e *Attached) Endpoint() (field, where string) {
	return "target.sandbox.endpoint", e.endpoint
}
func (e *Attached) Truth() environment.Feed { return remoteFeed{e.rm} }
func (e *Attached) Close() error            { return nil }

type remoteFeed struct{ rm *sandbox.Remote }

func (f remoteFeed) Failures(ctx context.Context, since time.Time) ([]truth.FailureBucket, error) {
	return f.rm.Failures(ctx, since)
}
func (f remoteFeed) Events() []truth.Event { return nil }

// Connect builds AWS clients for a journal's target (the account a crashed
// run applied its faults in), for `gameday rollback`.
func Connect(ctx context.Context, t faults.Location) (*awsclients.Clients, error) {
	var cfg aws.Config
	switch {
	case t.InProcess:
		return nil, environment.ErrInProcess
	case t.Kind == "sandbox":
		rm, err := sandbox.Attach(ctx, t.EndpointURL)
		if err != nil {
			return nil, err
		}
		cfg = rm.AWSConfig()
	default:
		var err error
		if cfg, err = environment.ConnectAWS(ctx, t); err != nil {
			return nil, err
		}
	}
	c := awsclients.New(cfg)
	if t.Account != "" {
		id, err := c.STS.GetCallerIdentity(ctx, nil)
		if err != nil {
			return nil, fmt.Errorf("check credentials (sts GetCallerIdentity): %w", err)
		}
		if got := aws.ToString(id.Account); got != t.Account {
			return nil, fmt.Errorf("the credentials are for account %s but the faults were applied in account %s; refusing", got, t.Account)
		}
	}
	return c, nil
}
