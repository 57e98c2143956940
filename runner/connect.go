package runner

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/faults"
	"github.com/gameday-dev/gameday/sandbox"
)

// ErrInProcess says a target was an in-process sandbox: it ended with the
// run that started it, so there is nothing to reach and nothing to undo.
var ErrInProcess = errors.New("the in-process sandbox ended with the run that started it; nothing of it remains to undo")

// Connect builds AWS clients for a journal's target (the account a crashed
// run applied its faults in), for `gameday rollback`.
func Connect(ctx context.Context, t faults.Target) (*awsclients.Clients, error) {
	var cfg aws.Config
	switch {
	case t.InProcess:
		return nil, ErrInProcess
	case t.Kind == "sandbox":
		rm, err := sandbox.Attach(ctx, t.EndpointURL)
		if err != nil {
			return nil, err
		}
		cfg = rm.AWSConfig()
	case t.Kind == "aws":
		var err error
		cfg, err = awsclients.LoadAWS(ctx, t.Region, t.Profile, t.EndpointURL)
		if err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown target kind %q", t.Kind)
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

// TargetOf is where an experiment file points, as a journal would record
// it (the account is not known until STS answers).
func TargetOf(x *experiments.Experiment) faults.Target {
	switch {
	case x.Target.Kind == "aws":
		return faults.Target{Kind: "aws", Region: x.Target.AWS.Region, Profile: x.Target.AWS.Profile, EndpointURL: x.Target.AWS.EndpointURL}
	case x.Target.Sandbox.Endpoint != "":
		return faults.Target{Kind: "sandbox", EndpointURL: x.Target.Sandbox.Endpoint}
	}
	return faults.Target{Kind: "sandbox", InProcess: true}
}
