package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gameday-dev/gameday/sandbox"
)

// guardBase is a valid experiment against the in-process sandbox; each case
// adds a guard or a fault that a guard must refuse.
const guardBase = `name: guards
load: {rate: 10, duration: 60s}
steady_state: {thresholds: ["success_ratio >= 0.9"], baseline: 5s}
`

// guardExperiment writes guardBase plus extra (whose own load: replaces
// the base's) and returns its path.
func guardExperiment(t *testing.T, extra string) string {
	t.Helper()
	y := guardBase + extra
	if strings.Contains(extra, "load:") {
		y = strings.Replace(y, "load: {rate: 10, duration: 60s}\n", "", 1)
	}
	path := filepath.Join(t.TempDir(), "exp.yaml")
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestGuards: every guard refuses before anything is injected (exit 2, the
// field named, no mutating call), and an explicit override lets it through.
func TestGuards(t *testing.T) {
	cases := []struct {
		name, yaml string
		code       int
		want       string
	}{
		{"account not allowed", "target: {kind: sandbox, allowed_accounts: [\"111111111111\"]}\n", 2,
			"target.allowed_accounts: the credentials are for account 000000000000, which is not allowed"},
		{"account allowed", "target: {kind: sandbox, allowed_accounts: [\"000000000000\"], allowed_regions: [local-1]}\n", 0, ""},
		{"region not allowed", "target: {kind: sandbox, allowed_regions: [eu-west-1]}\n", 2,
			"target.allowed_regions: region local-1 is not allowed"},
		{"bad account id", "target: {kind: sandbox, allowed_accounts: [\"12\"]}\n", 2,
			"target.allowed_accounts[0]: \"12\" is not a 12-digit AWS account id"},
		{"opt-in tag missing", "target: {kind: sandbox, require_tag: team=payments}\nfaults:\n  - {kind: az-blackhole, at: 6s, duration: 10s, targets: {az: local-1a}}\n", 2,
			"would touch resources without the opt-in tag team=payments"},
		{"opt-in tag present", "target: {kind: sandbox, require_tag: gameday:opt-in=true}\nfaults:\n  - {kind: az-blackhole, at: 6s, duration: 10s, targets: {az: local-1a}}\n  - {kind: db-failover, at: 20s}\n  - {kind: terminate-instances, at: 30s, targets: {count: 1}}\n", 0, ""},
		{"too many instances", "faults:\n  - {kind: terminate-instances, at: 6s, targets: {count: 2}}\n", 2,
			"faults[0].targets: terminate-instances-1 would take 2 of the group's 3 instances, more than guards.max_instance_share (0.5)"},
		{"too many instances, overridden", "guards: {max_instance_share: 0.7}\nfaults:\n  - {kind: terminate-instances, at: 6s, targets: {count: 2}}\n", 0, ""},
		{"faults add up on one group", "faults:\n  - {name: a, kind: terminate-instances, at: 6s, targets: {count: 1, seed: 1}}\n  - {name: b, kind: terminate-instances, at: 6s, targets: {count: 1, seed: 2}}\n  - {name: c, kind: terminate-instances, at: 6s, targets: {count: 1, seed: 3}}\n", 2,
			"would take 2 of the group's 3 instances, more than guards.max_instance_share (0.5): together with a, since terminations add up"},
		{"share NaN fails closed", "guards: {max_instance_share: .nan}\nfaults:\n  - {kind: terminate-instances, at: 6s, targets: {count: 3}}\n", 2,
			"max_instance_share"},
		{"percent over share", "faults:\n  - {kind: terminate-instances, at: 6s, targets: {percent: 80}}\n", 2,
			"faults[0].targets.percent: 80% exceeds guards.max_instance_share (0.5)"},
		{"blackhole too long", "load: {rate: 10, duration: 40m}\nfaults:\n  - {kind: az-blackhole, at: 6s, duration: 20m, targets: {az: local-1a}}\n", 2,
			"faults[0].duration: 20m0s exceeds guards.max_blackhole_duration (10m0s)"},
		{"blackhole too long, overridden", "load: {rate: 10, duration: 40m}\nguards: {max_blackhole_duration: 30m}\nfaults:\n  - {kind: az-blackhole, at: 6s, duration: 20m, targets: {az: local-1a}}\n", 0, ""},
		{"every AZ at once", "faults:\n  - {name: a, kind: az-blackhole, at: 6s, duration: 30s, targets: {az: local-1a}}\n  - {name: b, kind: az-blackhole, at: 10s, duration: 30s, targets: {az: local-1b}}\n  - {name: c, kind: az-blackhole, at: 12s, duration: 30s, targets: {az: local-1c}}\n", 2,
			"faults[2].targets.az: c could blackhole every AZ of the target at once (local-1a, local-1b, local-1c)"},
		{"every AZ, one after the other", "faults:\n  - {name: a, kind: az-blackhole, at: 6s, duration: 5s, targets: {az: local-1a}}\n  - {name: b, kind: az-blackhole, at: 12s, duration: 5s, targets: {az: local-1b}}\n  - {name: c, kind: az-blackhole, at: 18s, duration: 5s, targets: {az: local-1c}}\n", 0, ""},
		{"every AZ at once, overridden", "guards: {allow_every_az: true}\nfaults:\n  - {name: a, kind: az-blackhole, at: 6s, duration: 30s, targets: {az: local-1a}}\n  - {name: b, kind: az-blackhole, at: 10s, duration: 30s, targets: {az: local-1b}}\n  - {name: c, kind: az-blackhole, at: 12s, duration: 30s, targets: {az: local-1c}}\n", 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := guardExperiment(t, tc.yaml)
			res := runCLI(t, context.Background(), "plan", path)
			if res.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", res.code, tc.code, res.stdout, res.stderr)
			}
			if tc.want != "" && !strings.Contains(res.stderr, tc.want) {
				t.Fatalf("stderr does not say %q:\n%s", tc.want, res.stderr)
			}
			if tc.code != 0 && !strings.Contains(res.stderr, path) {
				t.Fatalf("the error does not name the file %s:\n%s", path, res.stderr)
			}
			if m := res.mutatingCalls(); len(m) > 0 {
				t.Fatalf("mutating calls: %v", m)
			}
		})
	}
}

// TestConfirmationForAWSTargets: an aws target with faults is not touched
// without a "yes": on a terminal the prompt lists the resolved targets (the
// same lines `gameday plan` prints) and anything else refuses; without a
// terminal it refuses unless --yes. The sandbox's API log shows no
// mutating call either way. (The account is the sandbox, reached through
// the aws target's endpoint_url, so the AWS code path is the real one.)
func TestConfirmationForAWSTargets(t *testing.T) {
	sb, err := sandbox.Start(context.Background(), sandbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "x")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "x")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	h := sb.Health()
	y := fmt.Sprintf(`name: confirm
target:
  kind: aws
  aws: {region: local-1, endpoint_url: %q, resolver: %q}
  load_balancer: {name: gameday-alb}
  target_group: {name: gameday-tg}
  auto_scaling_group: {name: gameday-web}
  db_instance: {id: gameday-db}
  vpc: {tags: ["Name=gameday-vpc"]}
load: {url: %q, rate: 10, duration: 30s}
steady_state: {thresholds: ["success_ratio >= 0.9"], baseline: 5s}
faults:
  - {name: outage, kind: az-blackhole, at: 6s, duration: 10s, targets: {az: local-1a}}
`, h.Endpoint, h.DNSAddr, h.LoadBalancerURL)
	path := filepath.Join(t.TempDir(), "aws.yaml")
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	var plan bytes.Buffer
	if code := Main(context.Background(), []string{"plan", path}, &plan, io.Discard); code != 0 {
		t.Fatalf("plan exit %d", code)
	}
	mutating := func() int {
		n := 0
		for _, e := range sb.Region().Events() {
			if e.Kind == "api-call" && e.Mutating {
				n++
			}
		}
		return n
	}
	defer func(r io.Reader, f func() bool) { stdin, stdinIsTerminal = r, f }(stdin, stdinIsTerminal)

	for _, tc := range []struct {
		name     string
		terminal bool
		answer   string
		want     string
	}{
		{"answered no", true, "no\n", "not confirmed; nothing was injected"},
		{"no answer", true, "", "not confirmed; nothing was injected"},
		{"no terminal", false, "yes\n", "without confirmation: run it on a terminal, or pass --yes"},
	} {
		stdin, stdinIsTerminal = strings.NewReader(tc.answer), func() bool { return tc.terminal }
		var out, errb bytes.Buffer
		code := Main(context.Background(), []string{"run", path, "--out", t.TempDir()}, &out, &errb)
		if code != 2 || !strings.Contains(errb.String(), tc.want) {
			t.Fatalf("%s: exit %d, want 2 saying %q\n%s", tc.name, code, tc.want, errb.String())
		}
		if !strings.Contains(errb.String(), plan.String()) {
			t.Fatalf("%s: the prompt does not list what plan lists:\nplan:\n%s\nrun:\n%s", tc.name, plan.String(), errb.String())
		}
		if tc.terminal && !strings.Contains(errb.String(), "into AWS account 000000000000, region local-1? Type yes") {
			t.Fatalf("%s: no prompt naming the account:\n%s", tc.name, errb.String())
		}
	}
	if n := mutating(); n != 0 {
		t.Fatalf("%d mutating calls without confirmation", n)
	}
}

// TestAWSTroubleIsNotBadInput: when the AWS API throttles or fails the
// lookups (here: the sandbox, configured from the experiment's
// target.sandbox.config, throttles every DescribeLoadBalancers), the run
// stops with exit 5 and says so; it is not blamed on the file (exit 2), and
// nothing is injected.
func TestAWSTroubleIsNotBadInput(t *testing.T) {
	dir := t.TempDir()
	cfg := "api_faults:\n  - {service: elasticloadbalancing, action: DescribeLoadBalancers}\n"
	if err := os.WriteFile(filepath.Join(dir, "sandbox.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	exp := filepath.Join(dir, "exp.yaml")
	y := guardBase + "target: {kind: sandbox, sandbox: {config: sandbox.yaml}}\nfaults:\n  - {kind: az-blackhole, at: 6s, duration: 10s, targets: {az: local-1a}}\n"
	if err := os.WriteFile(exp, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"plan", "run"} {
		res := runCLI(t, context.Background(), cmd, exp)
		if res.code != 5 || !strings.Contains(res.stderr, "Throttling") || !strings.Contains(res.stderr, "target.load_balancer") {
			t.Fatalf("%s: exit %d, want 5 naming the throttling and the field\n%s", cmd, res.code, res.stderr)
		}
		if m := res.mutatingCalls(); len(m) > 0 {
			t.Fatalf("%s: mutating calls: %v", cmd, m)
		}
	}
}

// TestUnreachableEndpoints: an AWS endpoint or a load URL nobody listens
// on is bad input naming the field (exit 2), found before anything is
// injected. Port 1 on loopback refuses connections.
func TestUnreachableEndpoints(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "x")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "x")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	cases := map[string]struct{ yaml, want string }{
		"aws endpoint": {"target: {kind: aws, aws: {region: local-1, endpoint_url: \"http://127.0.0.1:1\"}, load_balancer: {name: x}}\n",
			"target.aws.endpoint_url: http://127.0.0.1:1: the AWS API is not reachable"},
		"sandbox endpoint": {"target: {kind: sandbox, sandbox: {endpoint: \"http://127.0.0.1:1\"}}\n",
			"target.sandbox.endpoint: sandbox endpoint http://127.0.0.1:1 is not answering"},
		"load url": {"target: {kind: sandbox}\nload: {url: \"http://127.0.0.1:1/\", rate: 10, duration: 60s}\n",
			"load.url: 127.0.0.1:1 is not reachable (nothing was injected)"},
	}
	for name, tc := range cases {
		path := guardExperiment(t, tc.yaml)
		res := runCLI(t, context.Background(), "plan", path)
		if res.code != 2 || !strings.Contains(res.stderr, path) || !strings.Contains(res.stderr, tc.want) {
			t.Fatalf("%s: exit %d, want 2 naming %s and %q\n%s", name, res.code, path, tc.want, res.stderr)
		}
	}
}
