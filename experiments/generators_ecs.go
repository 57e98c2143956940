package experiments

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// ECSGenerators is load.generators.ecs: where and how the ecs engine runs
// its workers as ECS tasks (one RunTask per worker).
type ECSGenerators struct {
	// Cluster is the cluster's name or ARN (required).
	Cluster string `mapstructure:"cluster" json:"cluster"`
	// LaunchType is FARGATE (default) or EC2.
	LaunchType string `mapstructure:"launch_type" json:"launch_type,omitempty"`
	// TaskDefinition is an existing task definition (ARN, family:revision
	// or family) whose container runs the gameday image. Either it or
	// Image is set.
	TaskDefinition string `mapstructure:"task_definition" json:"task_definition,omitempty"`
	// Image, with CPU and Memory (and the optional roles and log
	// settings), makes the coordinator register a task definition of
	// Family (default gameday-worker) before it starts the workers.
	Image            string `mapstructure:"image" json:"image,omitempty"`
	CPU              int    `mapstructure:"cpu" json:"cpu,omitempty"`       // CPU units (1024 = one vCPU)
	Memory           int    `mapstructure:"memory" json:"memory,omitempty"` // MiB
	Family           string `mapstructure:"family" json:"family,omitempty"`
	ExecutionRoleARN string `mapstructure:"execution_role_arn" json:"execution_role_arn,omitempty"`
	TaskRoleARN      string `mapstructure:"task_role_arn" json:"task_role_arn,omitempty"`
	// LogGroup, when set, sends the workers' output to CloudWatch Logs
	// (awslogs driver) under LogStreamPrefix (default gameday).
	LogGroup        string `mapstructure:"log_group" json:"log_group,omitempty"`
	LogStreamPrefix string `mapstructure:"log_stream_prefix" json:"log_stream_prefix,omitempty"`
	// Container is the container the command and token go to (default:
	// gameday for a registered definition; the definition's only
	// container for a given one).
	Container string `mapstructure:"container" json:"container,omitempty"`
	// Subnets and SecurityGroups are the tasks' awsvpc network
	// configuration (required on AWS for FARGATE and for a registered
	// definition; on the sandbox the stack's public subnets by default);
	// AssignPublicIP gives each task a public IP (FARGATE
	// only; needed in a public subnet without a NAT gateway).
	Subnets        []string `mapstructure:"subnets" json:"subnets,omitempty"`
	SecurityGroups []string `mapstructure:"security_groups" json:"security_groups,omitempty"`
	AssignPublicIP bool     `mapstructure:"assign_public_ip" json:"assign_public_ip,omitempty"`
	// PlatformVersion is the Fargate platform version (default LATEST).
	PlatformVersion string `mapstructure:"platform_version" json:"platform_version,omitempty"`
	// Tags are added to every task (and a registered definition), besides
	// gameday's own (gameday:experiment, gameday:worker, gameday:managed).
	Tags map[string]string `mapstructure:"tags" json:"tags,omitempty"`
}

// Bounds of load.generators.ecs.
const (
	maxECSSubnets        = 16
	maxECSSecurityGroups = 5
	maxECSTags           = 40   // AWS allows 50 per resource; gameday puts 3
	maxECSImage          = 1024 // the API's own limit is 255 for an image name; URIs with digests run longer
)

var (
	ecsNameRE       = boundedRE{regexp.MustCompile(`^([A-Za-z0-9_-]+)$`), 255}
	ecsClusterARNRE = boundedRE{regexp.MustCompile(`^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:cluster/([A-Za-z0-9_-]+)$`), 255}
	ecsTaskDefRE    = boundedRE{regexp.MustCompile(`^(?:arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task-definition/)?([A-Za-z0-9_-]+)(?::[1-9]\d{0,8})?$`), 255}
	iamRoleARNRE    = boundedRE{regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/([\w+=,.@/-]+)$`), 512}
	subnetIDRE      = regexp.MustCompile(`^subnet-[0-9a-f]{8,17}$`)
	sgIDRE          = regexp.MustCompile(`^sg-[0-9a-f]{8,17}$`)
	platformRE      = regexp.MustCompile(`^(LATEST|\d+\.\d+\.\d+)$`)
	logGroupRE      = boundedRE{regexp.MustCompile(`^([\w#/.-]+)$`), 512}
)

// boundedRE matches re, whose first group must be at most max characters
// long. It stands in for a bounded repetition such as [a-z]{1,255}:
// Go's regexp compiles that into one instruction per repetition (and a
// one-pass copy of them all), and five such patterns cost every gameday
// command, whatever it did, 1.4 MB of heap and about 20 ms at start-up.
type boundedRE struct {
	re  *regexp.Regexp
	max int
}

// MatchString reports whether s matches and its group is short enough.
func (b boundedRE) MatchString(s string) bool {
	m := b.re.FindStringSubmatchIndex(s)
	return m != nil && m[2] >= 0 && m[3]-m[2] <= b.max
}

// ECSEngineTagPrefix is the tag key prefix gameday reserves on its tasks.
const ECSEngineTagPrefix = "gameday:"

// validateECSGenerators checks load.generators.ecs for engine ecs.
func (x *Experiment) validateECSGenerators(v *validator) {
	g := x.Load.Generators
	const p = "load.generators.ecs"
	e := g.ECS
	if g.Engine != "ecs" {
		if e != nil {
			v.add(p, fmt.Sprintf("is for engine ecs; engine is %q", g.Engine))
		}
		return
	}
	// The workers must reach the coordinator: on AWS it listens on a fixed
	// port they can reach and advertises a URL they can dial. The sandbox
	// runs its tasks on loopback, where the defaults do.
	if x.Target.Kind == "aws" {
		if g.Listen == "" {
			v.add("load.generators.listen", "is required for engine ecs on AWS: the address the coordinator listens on for its workers, such as 0.0.0.0:7070")
		} else if _, port, err := net.SplitHostPort(g.Listen); err == nil && (port == "0" || port == "") {
			v.add("load.generators.listen", fmt.Sprintf("%q: engine ecs needs a fixed port (the workers are told it before they start)", g.Listen))
		}
		if g.Advertise == "" {
			v.add("load.generators.advertise", "is required for engine ecs on AWS: the URL the tasks dial to reach the coordinator, such as http://10.0.1.5:7070 (its private IP in the tasks' VPC)")
		}
	}
	if g.Advertise != "" {
		if u, err := url.Parse(g.Advertise); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Port() == "" || len(g.Advertise) > 2048 {
			v.add("load.generators.advertise", fmt.Sprintf("%q: want an http URL with a host and port, such as http://10.0.1.5:7070", truncate(g.Advertise, 80)))
		}
	}
	if e == nil {
		v.add(p, "is required for engine ecs: at least cluster, subnets and task_definition or image, cpu and memory")
		return
	}
	switch {
	case e.Cluster == "":
		v.add(p+".cluster", "is required: the cluster's name or ARN")
	case !ecsNameRE.MatchString(e.Cluster) && !ecsClusterARNRE.MatchString(e.Cluster):
		v.add(p+".cluster", fmt.Sprintf("%q is not a cluster name (letters, digits, - and _, at most 255) or cluster ARN", truncate(e.Cluster, 80)))
	}
	fargate := true
	switch e.LaunchType {
	case "", "FARGATE":
	case "EC2":
		fargate = false
	default:
		v.add(p+".launch_type", fmt.Sprintf("%q: want FARGATE or EC2", truncate(e.LaunchType, 40)))
	}
	register := e.Image != ""
	switch {
	case e.TaskDefinition != "" && register:
		v.add(p+".task_definition", "and image are exclusive: give an existing task definition, or an image (with cpu and memory) to register one")
	case e.TaskDefinition == "" && !register:
		v.add(p+".task_definition", "or image is required: an existing task definition (ARN or family:revision), or an image with cpu and memory to register one")
	case e.TaskDefinition != "" && !ecsTaskDefRE.MatchString(e.TaskDefinition):
		v.add(p+".task_definition", fmt.Sprintf("%q is not a task definition ARN or family[:revision]", truncate(e.TaskDefinition, 80)))
	}
	if register {
		if len(e.Image) > maxECSImage || strings.ContainsAny(e.Image, " \t\n") {
			v.add(p+".image", fmt.Sprintf("%q: want an image reference without spaces, at most %d characters", truncate(e.Image, 80), maxECSImage))
		}
		// Fargate's task sizes: 256 CPU units (0.25 vCPU) to 16384 (16 vCPU);
		// 512 MiB to 120 GiB. The service checks the exact pairing.
		if e.CPU < 128 || e.CPU > 16384 {
			v.add(p+".cpu", fmt.Sprintf("must be 128 to 16384 CPU units (1024 = one vCPU), got %d", e.CPU))
		}
		if e.Memory < 512 || e.Memory > 122880 {
			v.add(p+".memory", fmt.Sprintf("must be 512 to 122880 MiB, got %d", e.Memory))
		}
		if e.Family != "" && !ecsNameRE.MatchString(e.Family) {
			v.add(p+".family", fmt.Sprintf("%q: want letters, digits, - and _, at most 255", truncate(e.Family, 80)))
		}
		for _, r := range []struct{ name, v string }{{"execution_role_arn", e.ExecutionRoleARN}, {"task_role_arn", e.TaskRoleARN}} {
			if r.v != "" && !iamRoleARNRE.MatchString(r.v) {
				v.add(p+"."+r.name, fmt.Sprintf("%q is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)", truncate(r.v, 80)))
			}
		}
		if e.LogGroup != "" && !logGroupRE.MatchString(e.LogGroup) {
			v.add(p+".log_group", fmt.Sprintf("%q is not a log group name", truncate(e.LogGroup, 80)))
		}
		if e.LogGroup != "" && e.ExecutionRoleARN == "" && fargate && x.Target.Kind == "aws" {
			v.add(p+".execution_role_arn", "is required with log_group on FARGATE: the awslogs driver writes with the task execution role")
		}
		if e.LogStreamPrefix != "" && (e.LogGroup == "" || !ecsNameRE.MatchString(e.LogStreamPrefix)) {
			v.add(p+".log_stream_prefix", fmt.Sprintf("%q: needs log_group, and letters, digits, - and _", truncate(e.LogStreamPrefix, 80)))
		}
	} else {
		for _, f := range []struct{ name, v string }{
			{"family", e.Family}, {"execution_role_arn", e.ExecutionRoleARN}, {"task_role_arn", e.TaskRoleARN},
			{"log_group", e.LogGroup}, {"log_stream_prefix", e.LogStreamPrefix},
		} {
			if f.v != "" {
				v.add(p+"."+f.name, "only applies with image (a task definition gameday registers); the given task_definition has its own")
			}
		}
		if e.CPU != 0 || e.Memory != 0 {
			v.add(p+".cpu", "cpu and memory only apply with image (a task definition gameday registers)")
		}
	}
	if e.Container != "" && !ecsNameRE.MatchString(e.Container) {
		v.add(p+".container", fmt.Sprintf("%q: want letters, digits, - and _, at most 255", truncate(e.Container, 80)))
	}
	// awsvpc is the only network mode on Fargate, and the one a registered
	// definition uses: both need subnets.
	// The sandbox's own subnets are random ids: there it defaults to the
	// stack's public subnets.
	if len(e.Subnets) == 0 && (fargate || register) && x.Target.Kind == "aws" {
		v.add(p+".subnets", "is required (awsvpc network mode): the subnets the tasks run in, which must reach the coordinator and the target")
	}
	if len(e.Subnets) > maxECSSubnets {
		v.add(p+".subnets", fmt.Sprintf("%d subnets, at most %d", len(e.Subnets), maxECSSubnets))
	}
	for i, s := range e.Subnets {
		if !subnetIDRE.MatchString(s) && i < maxECSSubnets {
			v.add(p+".subnets["+strconv.Itoa(i)+"]", fmt.Sprintf("%q is not a subnet id (subnet-…)", truncate(s, 40)))
		}
	}
	if len(e.SecurityGroups) > maxECSSecurityGroups {
		v.add(p+".security_groups", fmt.Sprintf("%d security groups, at most %d", len(e.SecurityGroups), maxECSSecurityGroups))
	}
	for i, s := range e.SecurityGroups {
		if !sgIDRE.MatchString(s) && i < maxECSSecurityGroups {
			v.add(p+".security_groups["+strconv.Itoa(i)+"]", fmt.Sprintf("%q is not a security group id (sg-…)", truncate(s, 40)))
		}
	}
	if len(e.SecurityGroups) > 0 && len(e.Subnets) == 0 {
		v.add(p+".security_groups", "needs subnets (awsvpc network configuration)")
	}
	if e.AssignPublicIP && !fargate {
		v.add(p+".assign_public_ip", "is for FARGATE only: tasks on EC2 instances get no public IP of their own")
	}
	if e.PlatformVersion != "" {
		if !fargate {
			v.add(p+".platform_version", "is for FARGATE only")
		} else if !platformRE.MatchString(e.PlatformVersion) {
			v.add(p+".platform_version", fmt.Sprintf("%q: want LATEST or a version such as 1.4.0", truncate(e.PlatformVersion, 40)))
		}
	}
	if len(e.Tags) > maxECSTags {
		v.add(p+".tags", fmt.Sprintf("%d tags, at most %d (AWS allows 50 per task; gameday adds 3)", len(e.Tags), maxECSTags))
	} else {
		keys := make([]string, 0, len(e.Tags))
		for k := range e.Tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			val := e.Tags[k]
			switch {
			case k == "" || len(k) > 128:
				v.add(p+".tags", fmt.Sprintf("key %q: want 1 to 128 characters", truncate(k, 40)))
			case strings.HasPrefix(strings.ToLower(k), "aws:"):
				v.add(p+".tags."+k, "keys starting with aws: are reserved by AWS")
			case strings.HasPrefix(k, ECSEngineTagPrefix):
				v.add(p+".tags."+k, "keys starting with gameday: are gameday's own")
			case len(val) > 256:
				v.add(p+".tags."+k, "value longer than 256 characters")
			}
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Describe is the ECS engine's line in the plan.
func (e *ECSGenerators) Describe(g *Generators) string {
	lt := e.LaunchType
	if lt == "" {
		lt = "FARGATE"
	}
	s := fmt.Sprintf("on ECS cluster %s (%s), one RunTask per worker", e.Cluster, lt)
	if e.TaskDefinition != "" {
		s += ", task definition " + e.TaskDefinition
	} else {
		fam := e.Family
		if fam == "" {
			fam = "gameday-worker"
		}
		s += fmt.Sprintf(", registering %s from %s (%d CPU units, %d MiB)", fam, e.Image, e.CPU, e.Memory)
	}
	if len(e.Subnets) > 0 {
		ip := "off"
		if e.AssignPublicIP {
			ip = "on"
		}
		s += fmt.Sprintf("; subnets %s, security groups [%s], public IP %s", strings.Join(e.Subnets, ", "), strings.Join(e.SecurityGroups, ", "), ip)
	}
	if g.Advertise != "" {
		s += "; workers dial " + g.Advertise
	}
	return s
}
