package experiments

import (
	"encoding/json"
	"time"
)

// Experiment is one experiment file, as loaded. Durations are already parsed;
// expressions (thresholds, gates, stop conditions) stay as written here and
// are compiled by Validate into the Compiled* fields of Plan.
type Experiment struct {
	// File is the path the experiment was loaded from (not a YAML key).
	File string `mapstructure:"-" json:"-"`

	Name        string `mapstructure:"name" json:"name"`
	Description string `mapstructure:"description" json:"description,omitempty"`

	Target         Target          `mapstructure:"target" json:"target"`
	Load           Load            `mapstructure:"load" json:"load"`
	SteadyState    SteadyState     `mapstructure:"steady_state" json:"steady_state"`
	Faults         []Fault         `mapstructure:"faults" json:"faults"`
	Probes         []Probe         `mapstructure:"probes" json:"probes,omitempty"`
	StopConditions []StopCondition `mapstructure:"stop_conditions" json:"stop_conditions,omitempty"`
	Gates          Gates           `mapstructure:"gates" json:"gates"`
	Guards         Guards          `mapstructure:"guards" json:"guards"`
	Report         ReportSettings  `mapstructure:"report" json:"report,omitempty"`
	// Scaling tells the scaling analysis what the group's policy aims at.
	Scaling ScalingSettings `mapstructure:"scaling" json:"scaling,omitempty"`
}

// Target says where the stack under test lives and how to find its parts.
type Target struct {
	// Kind is "sandbox" (the embedded local region, started in-process) or "aws".
	Kind    string        `mapstructure:"kind" json:"kind"`
	Sandbox SandboxTarget `mapstructure:"sandbox" json:"sandbox,omitempty"`
	AWS     AWSTarget     `mapstructure:"aws" json:"aws,omitempty"`

	LoadBalancer     Ref   `mapstructure:"load_balancer" json:"load_balancer,omitempty"`
	TargetGroup      Ref   `mapstructure:"target_group" json:"target_group,omitempty"`
	AutoScalingGroup Ref   `mapstructure:"auto_scaling_group" json:"auto_scaling_group,omitempty"`
	DBInstance       Ref   `mapstructure:"db_instance" json:"db_instance,omitempty"`
	DBCluster        Ref   `mapstructure:"db_cluster" json:"db_cluster,omitempty"`
	VPC              Ref   `mapstructure:"vpc" json:"vpc,omitempty"`
	Subnets          []Ref `mapstructure:"subnets" json:"subnets,omitempty"`

	// AllowedAccounts and AllowedRegions, when set, are checked with STS
	// GetCallerIdentity before anything else; any other account or region
	// is refused.
	AllowedAccounts []string `mapstructure:"allowed_accounts" json:"allowed_accounts,omitempty"`
	AllowedRegions  []string `mapstructure:"allowed_regions" json:"allowed_regions,omitempty"`
	// RequireTag ("Key=Value"), when set, makes every fault target (instance,
	// subnet, database) carry that tag, as AWS FIS does with resource tags.
	RequireTag string `mapstructure:"require_tag" json:"require_tag,omitempty"`
}

// Guards bound the blast radius. The defaults apply unless the file sets a
// field explicitly; setting one is the override.
type Guards struct {
	// MaxInstanceShare is the largest share (0..1] of a group's instances
	// one fault may take (default 0.5).
	MaxInstanceShare float64 `mapstructure:"max_instance_share" json:"max_instance_share"`
	// MaxBlackholeDuration is the longest an AZ may be blackholed (default 10m).
	MaxBlackholeDuration time.Duration `mapstructure:"max_blackhole_duration" json:"max_blackhole_duration"`
	// AllowEveryAZ permits faults that together blackhole every AZ at once.
	AllowEveryAZ bool `mapstructure:"allow_every_az" json:"allow_every_az,omitempty"`
}

// SandboxTarget configures the embedded region.
type SandboxTarget struct {
	Profile string `mapstructure:"profile" json:"profile,omitempty"` // fast | aws
	Config  string `mapstructure:"config" json:"config,omitempty"`   // optional sandbox config file (timings etc.)
	DBKind  string `mapstructure:"db_kind" json:"db_kind,omitempty"` // instance | cluster
	// Endpoint attaches to a sandbox already running in another process
	// (`gameday sandbox`, e.g. http://127.0.0.1:4566) instead of starting one
	// in-process; its state then outlives the run, like a real account's.
	Endpoint string `mapstructure:"endpoint" json:"endpoint,omitempty"`
}

// AWSTarget configures the AWS SDK for a real account.
type AWSTarget struct {
	Region      string `mapstructure:"region" json:"region,omitempty"`
	EndpointURL string `mapstructure:"endpoint_url" json:"endpoint_url,omitempty"`
	Profile     string `mapstructure:"profile" json:"profile,omitempty"`
	// Resolver is a DNS server ("host:port") used to resolve the load
	// balancer's name; empty means the system resolver.
	Resolver string `mapstructure:"resolver" json:"resolver,omitempty"`
}

// Ref names one AWS resource by name, id, ARN or tags ("Key=Value").
type Ref struct {
	Name string   `mapstructure:"name" json:"name,omitempty"`
	ID   string   `mapstructure:"id" json:"id,omitempty"`
	ARN  string   `mapstructure:"arn" json:"arn,omitempty"`
	Tags []string `mapstructure:"tags" json:"tags,omitempty"`
}

// IsZero reports whether the reference names nothing.
func (r Ref) IsZero() bool { return r.Name == "" && r.ID == "" && r.ARN == "" && len(r.Tags) == 0 }

// Load is the open-model HTTP load sent at the target.
type Load struct {
	// URL is the base URL; empty means http://<load balancer DNS name>/.
	URL      string    `mapstructure:"url" json:"url,omitempty"`
	Requests []Request `mapstructure:"requests" json:"requests,omitempty"`
	Rate     float64   `mapstructure:"rate" json:"rate,omitempty"` // constant rps when Stages is empty
	Stages   []Stage   `mapstructure:"stages" json:"stages,omitempty"`
	// Shape is a named shape (step, spike) that expands to stages; see Shape.
	Shape    *Shape        `mapstructure:"shape" json:"shape,omitempty"`
	Duration time.Duration `mapstructure:"duration" json:"duration"`
	Timeout  time.Duration `mapstructure:"timeout" json:"timeout"`
	Workers  uint64        `mapstructure:"workers" json:"workers"`
	// MaxWorkers caps concurrent in-flight requests; always bounded.
	MaxWorkers     uint64        `mapstructure:"max_workers" json:"max_workers"`
	MaxConnections int           `mapstructure:"max_connections" json:"max_connections"`
	KeepAlive      *bool         `mapstructure:"keepalive" json:"keepalive,omitempty"`
	MaxConnAge     time.Duration `mapstructure:"max_conn_age" json:"max_conn_age,omitempty"`
	DNSTTL         time.Duration `mapstructure:"dns_ttl" json:"dns_ttl,omitempty"`
	// AZHeader names the response header in which the target says its
	// Availability Zone (the AZ that served, or failed, the request); it
	// attributes failures to the target's AZ as well as the node's. Empty:
	// X-Availability-Zone on the sandbox, none on AWS (the node's AZ).
	AZHeader string `mapstructure:"az_header" json:"az_header,omitempty"`
	// Generators, when set, sends the load from several load generators
	// (gameday workers), each an exact slice of the rate plan, instead of
	// from this process (see generators.go).
	Generators *Generators `mapstructure:"generators" json:"generators,omitempty"`
}

// Request is one request shape; the load round-robins over them.
type Request struct {
	Method  string            `mapstructure:"method" json:"method,omitempty"`
	Path    string            `mapstructure:"path" json:"path,omitempty"` // joined to Load.URL
	URL     string            `mapstructure:"url" json:"url,omitempty"`   // absolute; overrides Path
	Headers map[string]string `mapstructure:"headers" json:"headers,omitempty"`
	Body    string            `mapstructure:"body" json:"body,omitempty"`
}

// Stage is one piece of the rate plan: constant (Rate) or a linear ramp (From → To).
type Stage struct {
	Duration time.Duration `mapstructure:"duration" json:"duration"`
	Rate     float64       `mapstructure:"rate" json:"rate,omitempty"`
	From     float64       `mapstructure:"from" json:"from,omitempty"`
	To       float64       `mapstructure:"to" json:"to,omitempty"`
}

// SteadyState says what "healthy" means, per window.
type SteadyState struct {
	Window time.Duration `mapstructure:"window" json:"window"`
	// Thresholds like "success_ratio >= 0.99" or "p99 < 300ms", all must hold.
	Thresholds []string `mapstructure:"thresholds" json:"thresholds"`
	// StableFor is how many consecutive healthy windows count as recovered.
	StableFor int `mapstructure:"stable_for" json:"stable_for"`
	// Baseline is the fault-free phase at the start that must hold the steady state.
	Baseline time.Duration `mapstructure:"baseline" json:"baseline"`
	// Verify is how long the steady state is checked after the last rollback.
	Verify time.Duration `mapstructure:"verify" json:"verify"`
}

// Fault is one fault to inject.
type Fault struct {
	Name string `mapstructure:"name" json:"name"`
	Kind string `mapstructure:"kind" json:"kind"` // a registered kind: FaultKindNames()
	// At is the offset from the start of the run (load start) to inject at.
	At time.Duration `mapstructure:"at" json:"at,omitempty"`
	// After "recovered" starts this fault once the previous one has recovered
	// (user-visible) and Delay has passed, instead of at a fixed offset.
	After string        `mapstructure:"after" json:"after,omitempty"`
	Delay time.Duration `mapstructure:"delay" json:"delay,omitempty"`
	// Duration is how long the fault is held before rollback (az-blackhole).
	Duration time.Duration `mapstructure:"duration" json:"duration,omitempty"`
	Targets  Selector      `mapstructure:"targets" json:"targets,omitempty"`

	// Params holds the keys a registered kind declares as its own
	// (FaultKind.Fields: via, decrement, mode, subnets, force...), raw; the
	// kind decodes them into its typed spec (DecodeFaultParams). In JSON
	// they sit beside the envelope's keys, as in the YAML.
	Params map[string]any `mapstructure:",remain" json:"-"`
}

// MarshalJSON writes the kind's own keys beside the envelope's, as the
// YAML has them.
func (f Fault) MarshalJSON() ([]byte, error) {
	type plain Fault
	b, err := json.Marshal(plain(f))
	if err != nil || len(f.Params) == 0 {
		return b, err
	}
	extra, err := json.Marshal(f.Params)
	if err != nil {
		return nil, err
	}
	return append(append(b[:len(b)-1], ','), extra[1:]...), nil
}

// Selector picks a fault's targets.
type Selector struct {
	Group       string   `mapstructure:"group" json:"group,omitempty"`
	AZ          string   `mapstructure:"az" json:"az,omitempty"`
	Tags        []string `mapstructure:"tags" json:"tags,omitempty"`
	InstanceIDs []string `mapstructure:"instance_ids" json:"instance_ids,omitempty"`
	Count       int      `mapstructure:"count" json:"count,omitempty"`
	Percent     float64  `mapstructure:"percent" json:"percent,omitempty"`
	Seed        *int64   `mapstructure:"seed" json:"seed,omitempty"`
}

// Probe samples one signal onto the timeline.
type Probe struct {
	Name     string        `mapstructure:"name" json:"name"`
	Kind     string        `mapstructure:"kind" json:"kind"` // http | target-health | asg-capacity | db-writer
	URL      string        `mapstructure:"url" json:"url,omitempty"`
	Interval time.Duration `mapstructure:"interval" json:"interval,omitempty"`
	Timeout  time.Duration `mapstructure:"timeout" json:"timeout,omitempty"`

	// cloudwatch-metric: one statistic of one CloudWatch metric
	// (probes/cloudwatchmetric.go). Period is in seconds, as CloudWatch's
	// API takes it (default 60).
	Namespace  string            `mapstructure:"namespace" json:"namespace,omitempty"`
	Metric     string            `mapstructure:"metric" json:"metric,omitempty"`
	Dimensions map[string]string `mapstructure:"dimensions" json:"dimensions,omitempty"`
	Stat       string            `mapstructure:"stat" json:"stat,omitempty"`
	Period     int32             `mapstructure:"period" json:"period,omitempty"`
	// alarm: a CloudWatch alarm's state (probes/alarm.go).
	Alarm string `mapstructure:"alarm" json:"alarm,omitempty"`
}

// Gates are the limits the run must hold; they decide the exit code.
type Gates struct {
	Run       []string            `mapstructure:"run" json:"run,omitempty"`
	EachFault []string            `mapstructure:"each_fault" json:"each_fault,omitempty"`
	Faults    map[string][]string `mapstructure:"faults" json:"faults,omitempty"`
	// Regression limits how much worse than a baseline run (--baseline)
	// this run may be, e.g. "time_to_recover +20%" (see Regression).
	Regression []string `mapstructure:"regression" json:"regression,omitempty"`
	// CleanRollback (default true) adds the run gate clean_rollback, which
	// fails when any rollback left a note (e.g. an original network ACL was
	// gone and the VPC's default ACL was used). false opts out.
	CleanRollback *bool `mapstructure:"clean_rollback" json:"clean_rollback,omitempty"`
}

// ReportSettings says which report files a run writes.
type ReportSettings struct {
	Formats []string `mapstructure:"formats" json:"formats,omitempty"`
	Raw     bool     `mapstructure:"raw" json:"raw,omitempty"` // write raw results in vegeta's encoding
}
