package environment

import (
	"context"
	"errors"
	"fmt"
	"github.com/gameday-dev/gameday/internal/exitcode"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/faults"
	"github.com/gameday-dev/gameday/sandbox/truth"
)

// Environment is a run's target account or sandbox.
type Environment interface {
	// AWSConfig is the config every AWS client of the run uses.
	AWSConfig() aws.Config
	// Location is where faults are applied, as the rollback journal records
	// it (the account is filled in once STS answers).
	Location() faults.Location
	// LoadURL is where the load goes when the experiment names no URL;
	// "" means the load balancer's DNS name.
	LoadURL() string
	// Resolver is the DNS server ("host:port") the load and the preflight
	// resolve names with; "" means the system's.
	Resolver() string
	// AZHeader is the response header that names the AZ that served a
	// request, when the environment sends one by default ("" otherwise).
	AZHeader() string
	// Describe is a few words for the plan, " (sandbox at …)", or "".
	Describe() string
	// Endpoint names the experiment field that points at the AWS API and
	// its value, for the error that says it is not reachable.
	Endpoint() (field, where string)
	// MetricMinute is how long one CloudWatch minute lasts in wall time:
	// a minute on AWS, shorter in a sandbox whose clock is scaled. Figures
	// AWS states per minute (RequestCountPerTarget) are per this long.
	MetricMinute() time.Duration
	// Truth is the ground-truth feed; nil when there is none (AWS).
	Truth() Feed
	// Close releases what the environment started (an in-process sandbox).
	Close() error
}

// Feed is a sandbox's own account of what it did.
type Feed interface {
	// Failures is the failure record since a moment.
	Failures(ctx context.Context, since time.Time) ([]truth.FailureBucket, error)
	// Events are the state changes recorded (all of them; nil when the
	// feed cannot list them).
	Events() []truth.Event
}

// SandboxAZHeader is the header in which the sandbox names the AZ that
// served a request or failed it: the instance's AZ; on a database error the
// AZ of the database member the app could not reach; on the load balancer's
// own 502/504 the AZ of the target it tried.
const SandboxAZHeader = "X-Availability-Zone"

// InputError wraps a problem with the experiment's targets (exit code 2).
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// ExitCode is exit code 2: the experiment file is wrong (internal/exitcode
// reads it).
func (e *InputError) ExitCode() int { return exitcode.BadInput }

// ErrInProcess says a target was an in-process sandbox: it ended with the
// run that started it, so there is nothing to reach and nothing to undo.
var ErrInProcess = errors.New("the in-process sandbox ended with the run that started it; nothing of it remains to undo")

// AWS is a real account (or an AWS-compatible endpoint), as target.aws
// configures it.
type AWS struct {
	cfg  aws.Config
	spec experiments.AWSTarget
}

// OpenAWS loads the SDK config target.aws names (region, profile, endpoint).
func OpenAWS(ctx context.Context, spec experiments.AWSTarget) (*AWS, error) {
	cfg, err := awsclients.LoadAWS(ctx, spec.Region, spec.Profile, spec.EndpointURL)
	if err != nil {
		return nil, err
	}
	return &AWS{cfg: cfg, spec: spec}, nil
}

func (a *AWS) AWSConfig() aws.Config { return a.cfg }

// MetricMinute is a real minute on AWS.
func (a *AWS) MetricMinute() time.Duration { return time.Minute }
func (a *AWS) Location() faults.Location {
	return faults.Location{Kind: "aws", Region: a.cfg.Region, Profile: a.spec.Profile, EndpointURL: a.spec.EndpointURL}
}
func (a *AWS) LoadURL() string  { return "" }
func (a *AWS) Resolver() string { return a.spec.Resolver }
func (a *AWS) AZHeader() string { return "" }
func (a *AWS) Describe() string { return "" }
func (a *AWS) Endpoint() (field, where string) {
	if a.spec.EndpointURL != "" {
		return "target.aws.endpoint_url", a.spec.EndpointURL
	}
	return "target.aws.region", a.cfg.Region
}
func (a *AWS) Truth() Feed  { return nil }
func (a *AWS) Close() error { return nil }

// ConnectAWS builds the AWS config for a journal's target when it is an AWS
// account; sandboxenv.Connect handles every kind.
func ConnectAWS(ctx context.Context, t faults.Location) (aws.Config, error) {
	if t.Kind != "aws" {
		return aws.Config{}, fmt.Errorf("unknown target kind %q", t.Kind)
	}
	return awsclients.LoadAWS(ctx, t.Region, t.Profile, t.EndpointURL)
}

// LocationOf is where an experiment file points, as a journal would record
// it (the account is not known until STS answers), without opening it.
func LocationOf(x *experiments.Experiment) faults.Location {
	switch {
	case x.Target.Kind == "aws":
		return faults.Location{Kind: "aws", Region: x.Target.AWS.Region, Profile: x.Target.AWS.Profile, EndpointURL: x.Target.AWS.EndpointURL}
	case x.Target.Sandbox.Endpoint != "":
		return faults.Location{Kind: "sandbox", EndpointURL: x.Target.Sandbox.Endpoint}
	}
	return faults.Location{Kind: "sandbox", InProcess: true}
}
