package sandboxenv

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/gameday-dev/gameday/environment"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/sandbox"
)

func parse(t *testing.T, target string) *experiments.Experiment {
	t.Helper()
	yaml := "name: env\ntarget: " + target + `
load: {rate: 10, duration: 5s}
steady_state: {window: 1s, thresholds: ["success_ratio >= 0.9"]}
`
	x, _, err := experiments.Parse("env.yaml", []byte(yaml), nil, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// The same questions answered by each environment: where the load goes,
// how it resolves, what the journal records, whether there is ground truth.
func TestEnvironments(t *testing.T) {
	ctx := context.Background()
	in, err := Open(ctx, parse(t, "{kind: sandbox}"), &sandbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	sb := in.(*InProcess).Sandbox()
	if tg := in.Location(); tg.Kind != "sandbox" || !tg.InProcess || tg.Region == "" {
		t.Errorf("in-process target %+v", tg)
	}
	if in.LoadURL() != sb.Region().URL() || in.Resolver() != sb.DNSAddr() || in.AZHeader() != environment.SandboxAZHeader {
		t.Errorf("in-process load %q via %q (%q)", in.LoadURL(), in.Resolver(), in.AZHeader())
	}
	if in.Truth() == nil || len(in.Truth().Events()) == 0 {
		t.Error("in-process sandbox: no ground-truth events")
	}

	at, err := Open(ctx, parse(t, fmt.Sprintf("{kind: sandbox, sandbox: {endpoint: %q}}", sb.Endpoint())), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer at.Close()
	if tg := at.Location(); tg.Kind != "sandbox" || tg.InProcess || tg.EndpointURL != sb.Endpoint() {
		t.Errorf("attached target %+v", tg)
	}
	if at.LoadURL() != sb.Region().URL() || at.Resolver() != sb.DNSAddr() {
		t.Errorf("attached load %q via %q, want the sandbox's %q via %q", at.LoadURL(), at.Resolver(), sb.Region().URL(), sb.DNSAddr())
	}
	if _, err := at.Truth().Failures(ctx, time.Now().Add(-time.Minute)); err != nil {
		t.Errorf("attached failure record: %v", err)
	}
	if f, w := at.Endpoint(); f != "target.sandbox.endpoint" || w != sb.Endpoint() {
		t.Errorf("attached endpoint %s %s", f, w)
	}

	u, _ := url.Parse(sb.Endpoint())
	aws, err := Open(ctx, parse(t, fmt.Sprintf("{kind: aws, load_balancer: {name: web}, aws: {region: local-1, endpoint_url: %q, resolver: %q}}", u.String(), sb.DNSAddr())), nil)
	if err != nil {
		t.Fatal(err)
	}
	if tg := aws.Location(); tg.Kind != "aws" || tg.Region != "local-1" || tg.EndpointURL != u.String() {
		t.Errorf("aws target %+v", tg)
	}
	if aws.Truth() != nil || aws.LoadURL() != "" || aws.AZHeader() != "" || aws.Resolver() != sb.DNSAddr() {
		t.Errorf("aws: truth %v, load %q, header %q, resolver %q", aws.Truth(), aws.LoadURL(), aws.AZHeader(), aws.Resolver())
	}
	if f, w := aws.Endpoint(); f != "target.aws.endpoint_url" || w != u.String() {
		t.Errorf("aws endpoint %s %s", f, w)
	}

	// A journal's in-process target has nothing left to reach.
	if _, err := Connect(ctx, in.Location()); !errors.Is(err, environment.ErrInProcess) {
		t.Errorf("connect to an in-process target: %v", err)
	}
	c, err := Connect(ctx, at.Location())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.STS.GetCallerIdentity(ctx, nil); err != nil {
		t.Errorf("attached clients: %v", err)
	}
	var ie *environment.InputError
	if _, err := Open(ctx, parse(t, `{kind: sandbox, sandbox: {endpoint: "http://127.0.0.1:1"}}`), nil); !errors.As(err, &ie) {
		t.Errorf("attach to nothing: %v, want an input error", err)
	}
}
