package sim

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Profiles names the timing profiles DefaultTimings knows.
var Profiles = []string{"fast", "aws"}

// Timings are the region's delays and health-check parameters. A zero field
// is filled from the profile.
type Timings struct {
	// Target group health checks.
	HealthCheckInterval time.Duration `yaml:"health_check_interval" mapstructure:"health_check_interval" json:"health_check_interval,omitempty"`
	HealthCheckTimeout  time.Duration `yaml:"health_check_timeout" mapstructure:"health_check_timeout" json:"health_check_timeout,omitempty"`
	HealthyThreshold    int32         `yaml:"healthy_threshold" mapstructure:"healthy_threshold" json:"healthy_threshold,omitempty"`
	UnhealthyThreshold  int32         `yaml:"unhealthy_threshold" mapstructure:"unhealthy_threshold" json:"unhealthy_threshold,omitempty"`
	DeregistrationDelay time.Duration `yaml:"deregistration_delay" mapstructure:"deregistration_delay" json:"deregistration_delay,omitempty"`
	// TargetTimeout is how long a load balancer node waits for a target's
	// response before answering 504 (the ALB idle timeout, as it applies to
	// a silent target).
	TargetTimeout time.Duration `yaml:"target_timeout" mapstructure:"target_timeout" json:"target_timeout,omitempty"`
	// ConnectTimeout bounds a node's TCP connect to a target (502 after).
	ConnectTimeout time.Duration `yaml:"connect_timeout" mapstructure:"connect_timeout" json:"connect_timeout,omitempty"`

	// EC2.
	BootDelay     time.Duration `yaml:"boot_delay" mapstructure:"boot_delay" json:"boot_delay,omitempty"`
	ShutdownDelay time.Duration `yaml:"shutdown_delay" mapstructure:"shutdown_delay" json:"shutdown_delay,omitempty"`
	// InstanceRebootTime is how long a RebootInstances keeps the app down
	// (the OS restart); the instance stays running throughout, as on EC2.
	InstanceRebootTime time.Duration `yaml:"instance_reboot_time" mapstructure:"instance_reboot_time" json:"instance_reboot_time,omitempty"`
	// StoppedHealthCheckDelay is how long the group's EC2 health check
	// takes to find a member that is stopping or stopped, mark it
	// Unhealthy and replace it. AWS documents that the check runs
	// periodically and treats any state but running as unhealthy, not how
	// soon it notices; the aws profile's 60 s is an estimate.
	StoppedHealthCheckDelay time.Duration `yaml:"stopped_health_check_delay" mapstructure:"stopped_health_check_delay" json:"stopped_health_check_delay,omitempty"`

	// RDS. A failover takes FailoverTime ± FailoverJitter (uniform, seeded).
	FailoverTime   time.Duration `yaml:"failover_time" mapstructure:"failover_time" json:"failover_time,omitempty"`
	FailoverJitter time.Duration `yaml:"failover_jitter" mapstructure:"failover_jitter" json:"failover_jitter,omitempty"`
	RebootTime     time.Duration `yaml:"reboot_time" mapstructure:"reboot_time" json:"reboot_time,omitempty"`
	// DBTimeout is the app's database driver timeout: a call to an
	// unreachable database fails after it.
	DBTimeout time.Duration `yaml:"db_timeout" mapstructure:"db_timeout" json:"db_timeout,omitempty"`

	// Auto Scaling.
	ASGCheckInterval time.Duration `yaml:"asg_check_interval" mapstructure:"asg_check_interval" json:"asg_check_interval,omitempty"`
	GracePeriod      time.Duration `yaml:"grace_period" mapstructure:"grace_period" json:"grace_period,omitempty"`
	ScaleWarmup      time.Duration `yaml:"scale_warmup" mapstructure:"scale_warmup" json:"scale_warmup,omitempty"`
	ScaleCooldown    time.Duration `yaml:"scale_cooldown" mapstructure:"scale_cooldown" json:"scale_cooldown,omitempty"`

	// NodeDNSDelay is how long a load balancer node whose subnet's network
	// ACL blocks clients stays in the DNS answer. On AWS the ALB's DNS
	// records follow the ALB's own health checks of its nodes, not the ACL
	// change, so clients keep resolving a blackholed node for a while (AWS
	// does not publish the figure; the aws profile's 60 s is an estimate of
	// a few failed node checks plus propagation). 0 in a profile-filled
	// field means the profile's value.
	NodeDNSDelay time.Duration `yaml:"node_dns_delay" mapstructure:"node_dns_delay" json:"node_dns_delay,omitempty"`
	// DNSTTL is the TTL the sandbox DNS server should put on its answers.
	DNSTTL time.Duration `yaml:"dns_ttl" mapstructure:"dns_ttl" json:"dns_ttl,omitempty"`
	// MetricMinute is how long one CloudWatch minute lasts on the sandbox's
	// CloudWatch clock: alarm periods, policy warm-ups and cooldowns given
	// in seconds through the API run that much faster than real time
	// (fast: 1s, so Period 60 × EvaluationPeriods 3 is 3 s; aws: 60s, real
	// time). Between 600ms and 60s.
	MetricMinute time.Duration `yaml:"metric_minute" mapstructure:"metric_minute" json:"metric_minute,omitempty"`
	// TerminatedRetention is how long terminated instances stay visible.
	TerminatedRetention time.Duration `yaml:"terminated_retention" mapstructure:"terminated_retention" json:"terminated_retention,omitempty"`
}

// DefaultTimings returns the timings of a profile: "fast" (the default, for
// demos and tests: a lost instance is replaced in about 10 s) or "aws"
// (AWS-like: 30 s health checks, 60–120 s failovers).
func DefaultTimings(profile string) (Timings, error) {
	switch profile {
	case "", "fast":
		return Timings{
			HealthCheckInterval: time.Second,
			HealthCheckTimeout:  500 * time.Millisecond,
			HealthyThreshold:    2,
			UnhealthyThreshold:  2,
			DeregistrationDelay: 2 * time.Second,
			TargetTimeout:       3 * time.Second,
			ConnectTimeout:      time.Second,
			BootDelay:           3 * time.Second,
			ShutdownDelay:       time.Second,
			FailoverTime:        4 * time.Second,
			RebootTime:          2 * time.Second,
			DBTimeout:           time.Second,
			ASGCheckInterval:    time.Second,
			GracePeriod:         5 * time.Second,
			ScaleWarmup:         10 * time.Second,
			ScaleCooldown:       30 * time.Second,
			NodeDNSDelay:        time.Second,
			DNSTTL:              time.Second,
			MetricMinute:        time.Second,
			TerminatedRetention: time.Hour,

			InstanceRebootTime: 3 * time.Second,
			// Longer than experiments/stop-instance.yaml holds its stop, so
			// that the stopped instance is started again, not replaced.
			StoppedHealthCheckDelay: 20 * time.Second,
		}, nil
	case "aws":
		return Timings{
			HealthCheckInterval: 30 * time.Second,
			HealthCheckTimeout:  5 * time.Second,
			HealthyThreshold:    5,
			UnhealthyThreshold:  2,
			DeregistrationDelay: 300 * time.Second,
			TargetTimeout:       60 * time.Second,
			ConnectTimeout:      10 * time.Second,
			BootDelay:           60 * time.Second,
			ShutdownDelay:       30 * time.Second,
			FailoverTime:        90 * time.Second,
			FailoverJitter:      30 * time.Second,
			RebootTime:          60 * time.Second,
			DBTimeout:           10 * time.Second,
			ASGCheckInterval:    10 * time.Second,
			GracePeriod:         300 * time.Second,
			ScaleWarmup:         300 * time.Second,
			ScaleCooldown:       300 * time.Second,
			NodeDNSDelay:        60 * time.Second,
			DNSTTL:              60 * time.Second,
			MetricMinute:        time.Minute,
			TerminatedRetention: time.Hour,

			InstanceRebootTime:      60 * time.Second,
			StoppedHealthCheckDelay: 60 * time.Second,
		}, nil
	}
	return Timings{}, fmt.Errorf("unknown timing profile %q (fast, aws)", profile)
}

// fill sets every zero field of t from d.
func (t *Timings) fill(d Timings) {
	fd := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	fi := func(v *int32, def int32) {
		if *v == 0 {
			*v = def
		}
	}
	fd(&t.HealthCheckInterval, d.HealthCheckInterval)
	fd(&t.HealthCheckTimeout, d.HealthCheckTimeout)
	fi(&t.HealthyThreshold, d.HealthyThreshold)
	fi(&t.UnhealthyThreshold, d.UnhealthyThreshold)
	fd(&t.DeregistrationDelay, d.DeregistrationDelay)
	fd(&t.TargetTimeout, d.TargetTimeout)
	fd(&t.ConnectTimeout, d.ConnectTimeout)
	fd(&t.BootDelay, d.BootDelay)
	fd(&t.ShutdownDelay, d.ShutdownDelay)
	fd(&t.InstanceRebootTime, d.InstanceRebootTime)
	fd(&t.StoppedHealthCheckDelay, d.StoppedHealthCheckDelay)
	fd(&t.FailoverTime, d.FailoverTime)
	fd(&t.FailoverJitter, d.FailoverJitter)
	fd(&t.RebootTime, d.RebootTime)
	fd(&t.DBTimeout, d.DBTimeout)
	fd(&t.ASGCheckInterval, d.ASGCheckInterval)
	fd(&t.GracePeriod, d.GracePeriod)
	fd(&t.ScaleWarmup, d.ScaleWarmup)
	fd(&t.ScaleCooldown, d.ScaleCooldown)
	fd(&t.NodeDNSDelay, d.NodeDNSDelay)
	fd(&t.DNSTTL, d.DNSTTL)
	fd(&t.TerminatedRetention, d.TerminatedRetention)
	fd(&t.MetricMinute, d.MetricMinute)
}

func (t Timings) validate() []string {
	var errs []string
	pos := func(name string, v time.Duration) {
		if v <= 0 {
			errs = append(errs, fmt.Sprintf("timings.%s must be > 0, got %s", name, v))
		}
	}
	pos("health_check_interval", t.HealthCheckInterval)
	pos("health_check_timeout", t.HealthCheckTimeout)
	pos("target_timeout", t.TargetTimeout)
	pos("connect_timeout", t.ConnectTimeout)
	pos("asg_check_interval", t.ASGCheckInterval)
	pos("db_timeout", t.DBTimeout)
	if t.HealthCheckTimeout >= t.HealthCheckInterval {
		errs = append(errs, fmt.Sprintf("timings.health_check_timeout (%s) must be less than health_check_interval (%s)", t.HealthCheckTimeout, t.HealthCheckInterval))
	}
	if t.HealthyThreshold < 2 || t.HealthyThreshold > 10 {
		errs = append(errs, fmt.Sprintf("timings.healthy_threshold must be 2..10, got %d", t.HealthyThreshold))
	}
	if t.UnhealthyThreshold < 2 || t.UnhealthyThreshold > 10 {
		errs = append(errs, fmt.Sprintf("timings.unhealthy_threshold must be 2..10, got %d", t.UnhealthyThreshold))
	}
	for name, v := range map[string]time.Duration{
		"deregistration_delay": t.DeregistrationDelay, "boot_delay": t.BootDelay, "shutdown_delay": t.ShutdownDelay,
		"failover_time": t.FailoverTime, "failover_jitter": t.FailoverJitter, "reboot_time": t.RebootTime,
		"grace_period": t.GracePeriod, "scale_warmup": t.ScaleWarmup, "scale_cooldown": t.ScaleCooldown,
		"dns_ttl": t.DNSTTL, "terminated_retention": t.TerminatedRetention, "node_dns_delay": t.NodeDNSDelay,
		"instance_reboot_time": t.InstanceRebootTime, "stopped_health_check_delay": t.StoppedHealthCheckDelay,
	} {
		if v < 0 {
			errs = append(errs, fmt.Sprintf("timings.%s must not be negative, got %s", name, v))
		}
	}
	if t.MetricMinute < 600*time.Millisecond || t.MetricMinute > time.Minute {
		errs = append(errs, fmt.Sprintf("timings.metric_minute must be between 600ms and 1m, got %s", t.MetricMinute))
	}
	if t.FailoverJitter > t.FailoverTime {
		errs = append(errs, "timings.failover_jitter must not exceed failover_time")
	}
	return errs
}

// GroupConfig sizes the Auto Scaling group.
type GroupConfig struct {
	Name            string `yaml:"name" mapstructure:"name" json:"name,omitempty"` // default "gameday-web"
	Min             int32  `yaml:"min" mapstructure:"min" json:"min,omitempty"`
	Desired         int32  `yaml:"desired" mapstructure:"desired" json:"desired,omitempty"`
	Max             int32  `yaml:"max" mapstructure:"max" json:"max,omitempty"`
	HealthCheckType string `yaml:"health_check_type" mapstructure:"health_check_type" json:"health_check_type,omitempty"` // EC2 | ELB (default)
	// TargetRequestsPerTarget turns on a target-tracking policy on the
	// average number of requests per second per in-service instance
	// (ALBRequestCountPerTarget, per second rather than per minute). 0: off.
	TargetRequestsPerTarget float64 `yaml:"target_requests_per_target" mapstructure:"target_requests_per_target" json:"target_requests_per_target,omitempty"`
}

// InstanceConfig is the capacity of each instance's web app.
type InstanceConfig struct {
	InstanceType string        `yaml:"instance_type" mapstructure:"instance_type" json:"instance_type,omitempty"` // default t3.micro
	ImageID      string        `yaml:"image_id" mapstructure:"image_id" json:"image_id,omitempty"`
	Concurrency  int           `yaml:"concurrency" mapstructure:"concurrency" json:"concurrency,omitempty"`    // requests served at once; default 64
	QueueSize    int           `yaml:"queue_size" mapstructure:"queue_size" json:"queue_size,omitempty"`       // requests waiting beyond that before 503; default 256
	ServiceTime  time.Duration `yaml:"service_time" mapstructure:"service_time" json:"service_time,omitempty"` // work per request; default 2ms
	// DeepHealthCheck makes /health also check the database.
	DeepHealthCheck bool `yaml:"deep_health_check" mapstructure:"deep_health_check" json:"deep_health_check,omitempty"`
}

// DBConfig shapes the database.
type DBConfig struct {
	Kind       string `yaml:"kind" mapstructure:"kind" json:"kind,omitempty"`                   // "instance" (Multi-AZ DB instance, default) | "cluster" (Aurora-style)
	Identifier string `yaml:"identifier" mapstructure:"identifier" json:"identifier,omitempty"` // default "gameday-db"
	Engine     string `yaml:"engine" mapstructure:"engine" json:"engine,omitempty"`             // default postgres / aurora-postgresql
	// Latency is the time one query takes when the database is reachable.
	Latency time.Duration `yaml:"latency" mapstructure:"latency" json:"latency,omitempty"`
}

// Config configures a Region. The zero Config is the fast default region.
type Config struct {
	Region   string         `yaml:"region" mapstructure:"region" json:"region,omitempty"`    // default "local-1"
	AZs      []string       `yaml:"azs" mapstructure:"azs" json:"azs,omitempty"`             // default <region>a, b, c
	Profile  string         `yaml:"profile" mapstructure:"profile" json:"profile,omitempty"` // fast (default) | aws
	Timings  Timings        `yaml:"timings" mapstructure:"timings" json:"timings,omitempty"`
	Group    GroupConfig    `yaml:"group" mapstructure:"group" json:"group,omitempty"`
	Instance InstanceConfig `yaml:"instance" mapstructure:"instance" json:"instance,omitempty"`
	DB       DBConfig       `yaml:"db" mapstructure:"db" json:"db,omitempty"`
	// App is how the web app of a new release behaves (refresh.go).
	App AppConfig `yaml:"app" mapstructure:"app" json:"app,omitempty"`
	// ListenIP is the base address of the load balancer nodes: the node of
	// the i-th AZ listens on ListenIP+i (default 127.0.0.10, so nodes on
	// 127.0.0.11, .12, .13). It must be in 127.0.0.0/8.
	ListenIP string `yaml:"listen_ip" mapstructure:"listen_ip" json:"listen_ip,omitempty"`
	// ListenPort is the port every node listens on; 0 picks a free one.
	ListenPort int `yaml:"listen_port" mapstructure:"listen_port" json:"listen_port,omitempty"`
	// LoadBalancerName names the ALB (default "gameday-alb").
	LoadBalancerName string `yaml:"load_balancer_name" mapstructure:"load_balancer_name" json:"load_balancer_name,omitempty"`
	// AccountID is the simulated account (default 000000000000).
	AccountID string `yaml:"account_id" mapstructure:"account_id" json:"account_id,omitempty"`
	// ClientIP is the simulated internet address client traffic comes from
	// (for ACL rules); default 203.0.113.10.
	ClientIP string `yaml:"client_ip" mapstructure:"client_ip" json:"client_ip,omitempty"`
	// EventLog, if set, is a file the ground-truth events are appended to as
	// JSON lines.
	EventLog string `yaml:"event_log" mapstructure:"event_log" json:"event_log,omitempty"`
	// Seed seeds ids and jitter; 0 picks one from the clock.
	Seed uint64 `yaml:"seed" mapstructure:"seed" json:"seed,omitempty"`
	// ScalingPolicies and Alarms are created at start-up, as the API
	// would (policyconfig.go): the stack's scaling configuration.
	ScalingPolicies []PolicyConfig `yaml:"scaling_policies" mapstructure:"scaling_policies" json:"scaling_policies,omitempty"`
	Alarms          []AlarmConfig  `yaml:"alarms" mapstructure:"alarms" json:"alarms,omitempty"`
}

// withDefaults returns c with every default applied, or every problem.
func (c Config) withDefaults() (Config, error) {
	var errs []string
	if c.Region == "" {
		c.Region = "local-1"
	}
	if len(c.AZs) == 0 {
		c.AZs = []string{c.Region + "a", c.Region + "b", c.Region + "c"}
	}
	if len(c.AZs) > 6 {
		errs = append(errs, fmt.Sprintf("azs: at most 6 Availability Zones, got %d", len(c.AZs)))
	}
	seen := map[string]bool{}
	for i, az := range c.AZs {
		if az == "" || seen[az] {
			errs = append(errs, fmt.Sprintf("azs[%d]: empty or duplicate name %q", i, az))
		}
		seen[az] = true
	}
	if c.Profile == "" {
		c.Profile = "fast"
	}
	def, err := DefaultTimings(c.Profile)
	if err != nil {
		errs = append(errs, "profile: "+err.Error())
	} else {
		c.Timings.fill(def)
		errs = append(errs, c.Timings.validate()...)
	}
	g := &c.Group
	if g.Name == "" {
		g.Name = "gameday-web"
	}
	if g.Min == 0 && g.Desired == 0 && g.Max == 0 {
		n := int32(len(c.AZs))
		g.Min, g.Desired, g.Max = n, n, 2*n
	}
	if g.Max == 0 {
		g.Max = max(g.Desired, g.Min)
	}
	if g.Desired == 0 {
		g.Desired = g.Min
	}
	if g.Min < 0 || g.Min > g.Desired || g.Desired > g.Max || g.Max > 50 {
		errs = append(errs, fmt.Sprintf("group: need 0 <= min <= desired <= max <= 50, got min %d desired %d max %d", g.Min, g.Desired, g.Max))
	}
	switch g.HealthCheckType {
	case "":
		g.HealthCheckType = "ELB"
	case "EC2", "ELB":
	default:
		errs = append(errs, fmt.Sprintf("group.health_check_type: %q is not EC2 or ELB", g.HealthCheckType))
	}
	if g.TargetRequestsPerTarget < 0 {
		errs = append(errs, "group.target_requests_per_target must not be negative")
	}
	in := &c.Instance
	if in.InstanceType == "" {
		in.InstanceType = "t3.micro"
	}
	if in.ImageID == "" {
		in.ImageID = "ami-0a0b0c0d0e0f01234"
	}
	if in.Concurrency == 0 {
		in.Concurrency = 64
	}
	if in.QueueSize == 0 {
		in.QueueSize = 256
	}
	if in.ServiceTime == 0 {
		in.ServiceTime = 2 * time.Millisecond
	}
	if in.Concurrency < 0 || in.QueueSize < 0 || in.ServiceTime < 0 {
		errs = append(errs, "instance: concurrency, queue_size and service_time must not be negative")
	}
	d := &c.DB
	switch d.Kind {
	case "":
		d.Kind = "instance"
	case "instance", "cluster":
	default:
		errs = append(errs, fmt.Sprintf("db.kind: %q is not instance or cluster", d.Kind))
	}
	if d.Identifier == "" {
		d.Identifier = "gameday-db"
	}
	if d.Engine == "" {
		d.Engine = "postgres"
		if d.Kind == "cluster" {
			d.Engine = "aurora-postgresql"
		}
	}
	if d.Latency < 0 {
		errs = append(errs, "db.latency must not be negative")
	}
	errs = append(errs, c.App.validate()...)
	if len(c.AZs) < 2 {
		errs = append(errs, "azs: a Multi-AZ database needs at least 2 Availability Zones")
	}
	if c.ListenIP == "" {
		c.ListenIP = "127.0.0.10"
	}
	if ip, err := netip.ParseAddr(c.ListenIP); err != nil || !ip.Is4() || ip.As4()[0] != 127 || int(ip.As4()[3])+len(c.AZs) > 254 {
		errs = append(errs, fmt.Sprintf("listen_ip: %q is not an IPv4 loopback address leaving room for %d nodes", c.ListenIP, len(c.AZs)))
	}
	if c.ListenPort < 0 || c.ListenPort > 65535 {
		errs = append(errs, fmt.Sprintf("listen_port: %d out of range", c.ListenPort))
	}
	if c.LoadBalancerName == "" {
		c.LoadBalancerName = "gameday-alb"
	}
	if c.AccountID == "" {
		c.AccountID = "000000000000"
	}
	if c.ClientIP == "" {
		c.ClientIP = "203.0.113.10"
	}
	if _, err := netip.ParseAddr(c.ClientIP); err != nil {
		errs = append(errs, fmt.Sprintf("client_ip: %v", err))
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("sandbox config: %s", strings.Join(errs, "; "))
	}
	return c, nil
}
