package faults_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"

	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/sandbox"
	"github.com/gameday-dev/gameday/sandbox/awsapi"
	"github.com/gameday-dev/gameday/sandbox/sim"
	"github.com/gameday-dev/gameday/sandbox/sim/simtest"
	"github.com/gameday-dev/gameday/topology"
)

type env struct {
	sb   *sandbox.Sandbox
	cfg  aws.Config
	c    *awsclients.Clients
	topo *topology.Topology
	ctx  context.Context
}

// start runs a sandbox on loopback (group min 2, desired 3, max 6) and
// resolves its topology with the real SDK clients. edit may change the
// sandbox config and the aws.Config before the clients are built.
func start(t *testing.T, dbKind string, edit func(*sandbox.Sandbox, *aws.Config)) *env {
	t.Helper()
	return startWith(t, dbKind, nil, edit)
}

// startWith is start with region, when given, changing the sandbox's
// region config first (a group with EC2 health checks, other timings).
func startWith(t *testing.T, dbKind string, region func(*sim.Config), edit func(*sandbox.Sandbox, *aws.Config)) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	cfg := sandbox.Config{Region: sim.Config{
		Timings:  simtest.Timings(),
		Seed:     11,
		Instance: sim.InstanceConfig{ServiceTime: time.Millisecond},
		Group:    sim.GroupConfig{Min: 2, Desired: 3, Max: 6},
		DB:       sim.DBConfig{Kind: dbKind},
	}}
	if region != nil {
		region(&cfg.Region)
	}
	sb, err := sandbox.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("sandbox.Start: %v", err)
	}
	t.Cleanup(func() { sb.Close() })
	awsCfg := sb.AWSConfig(ctx)
	if edit != nil {
		edit(sb, &awsCfg)
	}
	c := awsclients.New(awsCfg)
	topo, err := topology.Resolve(ctx, c, experiments.Target{Kind: "sandbox"})
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	return &env{sb: sb, cfg: awsCfg, c: c, topo: topo, ctx: ctx}
}

// mark returns the number of events so far, for mutatingSince.
func (e *env) mark() int { return len(e.sb.Region().Events()) }

// mutatingSince lists the mutating API calls recorded after mark.
func (e *env) mutatingSince(mark int) []string {
	var out []string
	for _, ev := range e.sb.Region().Events()[mark:] {
		if ev.Kind == "api-call" && ev.Mutating {
			out = append(out, ev.Resource+"/"+ev.Detail)
		}
	}
	return out
}

func (e *env) instance(id string) sim.Instance {
	for _, in := range e.sb.Region().Instances() {
		if in.ID == id {
			return in
		}
	}
	return sim.Instance{}
}

func (e *env) desired() int32 { return e.sb.Region().AutoScalingGroups()[0].Desired }

// aclOf returns the ACL a subnet is associated with now, per ground truth.
func (e *env) aclOf(subnet string) string {
	for _, a := range e.sb.Region().NetworkACLs() {
		for _, as := range a.Associations {
			if as.SubnetID == subnet {
				return a.ID
			}
		}
	}
	return ""
}

func (e *env) aclExists(id string) bool {
	for _, a := range e.sb.Region().NetworkACLs() {
		if a.ID == id {
			return true
		}
	}
	return false
}

// faultOnce fails the next call of service/action with a non-retryable
// 400, so the SDK gives up at once.
func faultOnce(service, action string) awsapi.ErrorRule {
	return awsapi.ErrorRule{Service: service, Action: action, Code: "InvalidParameterValue", Message: "injected by test", Count: 1}
}

// failNthCall arms, after the (n-1)th successful call of action, a fault
// that fails the next call of it once: the n-th call fails.
func failNthCall(service, action string, n int) func(*sandbox.Sandbox, *aws.Config) {
	var mu sync.Mutex
	seen := 0
	return func(sb *sandbox.Sandbox, cfg *aws.Config) {
		cfg.APIOptions = append(cfg.APIOptions, func(st *middleware.Stack) error {
			return st.Initialize.Add(middleware.InitializeMiddlewareFunc("test-fail-nth", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleInitialize(ctx, in)
				if err == nil && awsmiddleware.GetOperationName(ctx) == action {
					mu.Lock()
					seen++
					if seen == n-1 {
						sb.APIErrors().Add(faultOnce(service, action))
					}
					mu.Unlock()
				}
				return out, md, err
			}), middleware.After)
		})
	}
}
