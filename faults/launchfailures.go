package faults

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/topology"
)

// KindLaunchFailures makes the group's launches in chosen AZs fail with
// InsufficientInstanceCapacity, as AWS FIS's
// aws:ec2:asg-insufficient-instance-capacity-error does.
//
// No plain AWS API does this, so the kind runs on the sandbox only: it
// arms the failure through the sandbox's control endpoint
// (/_sandbox/launch-failures, beside the AWS APIs on the same endpoint).
// On AWS it is refused at validate time with a message naming the FIS
// action: driving FIS (an experiment template, an IAM role for FIS, and
// the FIS API) is a separate piece of work, not done here.
const KindLaunchFailures = "launch-failures"

// launchFailureSlack is added to the duration the sandbox arms the failure
// for: the run disarms it at the fault's end; if the run died, it expires
// on its own shortly after.
const launchFailureSlack = 5 * time.Second

// launchSpec is the kind's own YAML: the AZs whose launches fail (besides
// or instead of targets.az).
type launchSpec struct {
	AZs []string `mapstructure:"azs"`
	// Percent of the launches in the AZs that fail (1..100, default 100),
	// as FIS's percentage parameter.
	Percent int `mapstructure:"percent"`
}

// LaunchUndo is what a launch-failures fault journals. Token is the id
// the failure is armed under, chosen at plan time so that rollback can
// disarm exactly this fault's failure even after a crash mid-Apply.
type LaunchUndo struct {
	Group    string        `json:"group"`
	AZs      []string      `json:"azs"`
	Token    string        `json:"token"`
	Duration time.Duration `json:"duration"`
	Percent  int           `json:"percent,omitempty"`
	Applying bool          `json:"applying,omitempty"`
}

func init() {
	Register(Kind{
		Name: KindLaunchFailures,
		Doc: "Makes the Auto Scaling group's launches in `targets.az` and/or `azs` fail with " +
			"`InsufficientInstanceCapacity` for `duration`, as AWS FIS " +
			"`aws:ec2:asg-insufficient-instance-capacity-error` does: each refused launch is a " +
			"`Failed` scaling activity with EC2's message, and the group launches in its other AZs " +
			"instead (nothing, if every AZ refuses); `percent` (1..100, default 100) fails only that share " +
			"of the launches, as the FIS action's percentage. Rollback disarms it. **Sandbox only**: no " +
			"plain AWS API does this, so it is armed through the sandbox's control endpoint " +
			"(`/_sandbox/launch-failures`); against AWS `gameday validate` refuses it and names the " +
			"FIS action to run instead.",
		Fields: []string{"azs", "percent"},
		New:    newLaunchFailures,
		Truth:  launchTruth,
		Restore: func(c *awsclients.Clients, name string, dec func(any) error) (Fault, error) {
			f := &launchFault{c: c, name: name}
			return f, restoreState(dec, &f.st, &f.st.Applying)
		},
		Validate: func(x *experiments.Experiment, f *experiments.Fault, add func(field, msg string)) {
			var s launchSpec
			validateParams(f, &s, add)
			if len(s.AZs) == 0 && f.Targets.AZ == "" {
				add("targets.az", "name the Availability Zone whose launches fail (or list them in azs)")
			}
			if s.Percent < 0 || s.Percent > 100 {
				add("percent", fmt.Sprintf("%d is not in 1..100", s.Percent))
			}
			if len(s.AZs) > 16 {
				add("azs", "at most 16 Availability Zones")
			}
			if f.Duration <= 0 {
				add("duration", "must be positive: how long launches fail")
			}
			if msg := HeldPastVerify(x, f, "the launch failures"); msg != "" {
				add("duration", msg)
			}
			if x.Target.Kind == "aws" {
				add("kind", "launch-failures runs on the sandbox only: on AWS, launch failures need AWS FIS "+
					"(action aws:ec2:asg-insufficient-instance-capacity-error), which gameday does not drive; "+
					"run that FIS action beside the experiment instead")
			}
		},
	})
}

// launchTruth: launch failures fail no request themselves; they show as
// context (the group's launches refused in the AZs).
func launchTruth(_ []string, spec experiments.Fault) Truth {
	var s launchSpec
	_ = experiments.DecodeFaultParams(spec.Params, &s) // validated before
	azs := launchAZs(spec, s)
	return Truth{
		CausedBy: func(Failure) bool { return false },
		Context: func(e Change) string {
			if e.Kind == "asg-launch-failed" && slices.Contains(azs, e.AZ) {
				return fmt.Sprintf("launch refused in %s: %s", e.AZ, e.To)
			}
			return ""
		},
		ContextFirst: true,
	}
}

func launchAZs(spec experiments.Fault, s launchSpec) []string {
	var azs []string
	if spec.Targets.AZ != "" {
		azs = append(azs, spec.Targets.AZ)
	}
	for _, a := range s.AZs {
		if !slices.Contains(azs, a) {
			azs = append(azs, a)
		}
	}
	slices.Sort(azs)
	return azs
}

type launchFault struct {
	c    *awsclients.Clients
	name string

	op sync.Mutex // serialises Apply and Rollback
	mu sync.Mutex // guards st
	st LaunchUndo
}

func newLaunchFailures(ctx context.Context, c *awsclients.Clients, topo *topology.Topology, spec experiments.Fault) (Fault, error) {
	var s launchSpec
	if err := DecodeParams(spec, &s); err != nil {
		return nil, err
	}
	azs := launchAZs(spec, s)
	if len(azs) == 0 {
		return nil, specErr(spec, "targets.az", "name the Availability Zone whose launches fail (or list them in azs)")
	}
	if spec.Duration <= 0 {
		return nil, specErr(spec, "duration", "must be positive: how long launches fail")
	}
	if s.Percent < 0 || s.Percent > 100 {
		return nil, specErr(spec, "percent", "%d is not in 1..100", s.Percent)
	}
	if s.Percent == 0 {
		s.Percent = 100
	}
	group, err := groupName(spec, topo)
	if err != nil {
		return nil, err
	}
	out, err := c.ASG.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
	if err != nil {
		return nil, fmt.Errorf("fault %q: describe group %s: %w", spec.Name, group, err)
	}
	if len(out.AutoScalingGroups) != 1 {
		return nil, specErr(spec, "targets.group", "Auto Scaling group %q not found", group)
	}
	for _, az := range azs {
		if !slices.Contains(out.AutoScalingGroups[0].AvailabilityZones, az) {
			return nil, specErr(spec, "targets.az", "%q is not an Availability Zone of group %s (%s)", az, group, strings.Join(out.AutoScalingGroups[0].AvailabilityZones, ", "))
		}
	}
	// Plan time: make sure the endpoint is a sandbox (read only).
	if _, err := sandboxControl(ctx, c, http.MethodGet, "", nil); err != nil {
		return nil, specErr(spec, "kind", "launch-failures runs on the sandbox only (on AWS it needs FIS aws:ec2:asg-insufficient-instance-capacity-error): %v", err)
	}
	var tok [6]byte
	if _, err := rand.Read(tok[:]); err != nil {
		return nil, err
	}
	return &launchFault{c: c, name: spec.Name, st: LaunchUndo{Group: group, AZs: azs, Token: "gameday-" + hex.EncodeToString(tok[:]), Duration: spec.Duration, Percent: s.Percent}}, nil
}

// sandboxControl calls the sandbox's launch-failure control endpoint (the
// aws.Config's endpoint, through the SDK's own loopback-only HTTP client).
// It returns the HTTP status; any status but 2xx and 404 is an error.
func sandboxControl(ctx context.Context, c *awsclients.Clients, method, query string, body any) (int, error) {
	o := c.ASG.Options()
	base := aws.ToString(o.BaseEndpoint)
	if base == "" || o.HTTPClient == nil {
		return 0, fmt.Errorf("no sandbox endpoint: the target is not the sandbox")
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(base, "/")+"/_sandbox/launch-failures"+query, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := o.HTTPClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("sandbox control endpoint: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusNotFound {
		return resp.StatusCode, fmt.Errorf("sandbox control endpoint: %s %s: %s", method, resp.Status, strings.TrimSpace(string(msg)))
	}
	if method == http.MethodGet && resp.StatusCode == http.StatusNotFound {
		return resp.StatusCode, fmt.Errorf("sandbox control endpoint: %s: not a gameday sandbox", base)
	}
	return resp.StatusCode, nil
}

func (f *launchFault) Name() string { return f.name }
func (f *launchFault) Kind() string { return KindLaunchFailures }

func (f *launchFault) Resources() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return []string{f.st.Group}
}

func (f *launchFault) Touches() []Touched {
	return []Touched{{Type: TouchGroup, IDs: f.Resources()}}
}

func (f *launchFault) Leases() []Resource { return []Resource{{ResGroup, f.Resources()[0]}} }

func (f *launchFault) Describe() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	share := "the launches"
	if f.st.Percent > 0 && f.st.Percent < 100 {
		share = fmt.Sprintf("%d%% of the launches", f.st.Percent)
	}
	return fmt.Sprintf("fail %s of group %s in %s with InsufficientInstanceCapacity for %s (sandbox; FIS aws:ec2:asg-insufficient-instance-capacity-error on AWS); disarm on rollback",
		share, f.st.Group, strings.Join(f.st.AZs, ", "), f.st.Duration)
}

func (f *launchFault) Undo() any {
	return snapshot(&f.mu, &f.st, func(s *LaunchUndo) { s.AZs = slices.Clone(s.AZs) })
}

func (f *launchFault) Apply(ctx context.Context) error {
	f.op.Lock()
	defer f.op.Unlock()
	st, err := beginApply(&f.mu, f.name, &f.st, &f.st.Applying)
	if err != nil {
		return err
	}
	req := map[string]any{"id": st.Token, "group": st.Group, "azs": st.AZs, "duration": (st.Duration + launchFailureSlack).String(), "percent": st.Percent}
	code, err := sandboxControl(ctx, f.c, http.MethodPost, "", req)
	if err == nil && code == http.StatusNotFound {
		err = fmt.Errorf("sandbox control endpoint: no /_sandbox/launch-failures (not a gameday sandbox)")
	}
	if err != nil {
		return fmt.Errorf("fault %q: arm launch failures in %s: %w", f.name, strings.Join(st.AZs, ", "), err)
	}
	return nil
}

// Rollback disarms the failure by its token; one already gone (expired,
// or never armed) is fine.
func (f *launchFault) Rollback(ctx context.Context) error {
	f.op.Lock()
	defer f.op.Unlock()
	st := snapshot(&f.mu, &f.st, nil)
	if !st.Applying || st.Token == "" {
		return nil
	}
	if _, err := sandboxControl(ctx, f.c, http.MethodDelete, "?id="+st.Token, nil); err != nil {
		return fmt.Errorf("fault %q: disarm launch failures: %w", f.name, err)
	}
	return nil
}
