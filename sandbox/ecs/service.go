package ecs

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gameday-dev/gameday/sandbox/sim"
)

// Config configures the sandbox's ECS. A zero field takes its default.
type Config struct {
	// Cluster is the cluster the sandbox starts with (default "gameday").
	// ECS's own default cluster, the one a call without a cluster names,
	// is "default": it exists only if Cluster is "default" or someone
	// creates it.
	Cluster string `yaml:"cluster" mapstructure:"cluster" json:"cluster,omitempty"`
	// StepDelay is how long each lifecycle step takes: PROVISIONING to
	// PENDING, PENDING to RUNNING, DEPROVISIONING to STOPPED (fast profile
	// 100ms; aws profile 5s).
	StepDelay time.Duration `yaml:"step_delay" mapstructure:"step_delay" json:"step_delay,omitempty"`
	// StopTimeout is a container's time between SIGTERM and SIGKILL when
	// its definition sets no stopTimeout (fast profile 2s; aws profile 30s,
	// ECS's default).
	StopTimeout time.Duration `yaml:"stop_timeout" mapstructure:"stop_timeout" json:"stop_timeout,omitempty"`
	// MaxTasks caps the tasks not yet STOPPED, across clusters (default
	// 64): beyond it RunTask fails as ECS does at its concurrent task quota.
	MaxTasks int `yaml:"max_tasks" mapstructure:"max_tasks" json:"max_tasks,omitempty"`
	// StoppedRetention is how long a STOPPED task stays describable (AWS: at
	// least an hour; default 1h), and at most MaxStopped of them (default
	// 1000) are kept.
	StoppedRetention time.Duration `yaml:"stopped_retention" mapstructure:"stopped_retention" json:"stopped_retention,omitempty"`
	MaxStopped       int           `yaml:"max_stopped" mapstructure:"max_stopped" json:"max_stopped,omitempty"`

	// Executable is the program every container runs, with the container's
	// command as its arguments. "" means os.Executable(): the gameday
	// binary the sandbox runs in. Tests set a built binary. Go only.
	Executable string `yaml:"-" mapstructure:"-" json:"-"`
	// Output receives the containers' stdout and stderr (nil: discarded).
	// Go only.
	Output io.Writer `yaml:"-" mapstructure:"-" json:"-"`
}

// Defaults returns the defaults of a timing profile ("fast" or "aws").
func Defaults(profile string) Config {
	c := Config{Cluster: "gameday", StepDelay: 100 * time.Millisecond, StopTimeout: 2 * time.Second,
		MaxTasks: 64, StoppedRetention: time.Hour, MaxStopped: 1000}
	if profile == "aws" {
		c.StepDelay, c.StopTimeout = 5*time.Second, 30*time.Second
	}
	return c
}

func (c *Config) fill(d Config) {
	if c.Cluster == "" {
		c.Cluster = d.Cluster
	}
	if c.StepDelay == 0 {
		c.StepDelay = d.StepDelay
	}
	if c.StopTimeout == 0 {
		c.StopTimeout = d.StopTimeout
	}
	if c.MaxTasks == 0 {
		c.MaxTasks = d.MaxTasks
	}
	if c.StoppedRetention == 0 {
		c.StoppedRetention = d.StoppedRetention
	}
	if c.MaxStopped == 0 {
		c.MaxStopped = d.MaxStopped
	}
}

// Validate checks the configuration's bounds.
func (c Config) Validate() error {
	var errs []string
	if c.Cluster != "" && !validName(c.Cluster) {
		errs = append(errs, fmt.Sprintf("ecs.cluster %q: up to 255 letters, numbers, hyphens and underscores", c.Cluster))
	}
	if c.StepDelay < 0 || c.StepDelay > time.Minute {
		errs = append(errs, fmt.Sprintf("ecs.step_delay must be 0..1m, got %s", c.StepDelay))
	}
	if c.StopTimeout < 0 || c.StopTimeout > 2*time.Minute {
		errs = append(errs, fmt.Sprintf("ecs.stop_timeout must be 0..2m (ECS's stopTimeout range), got %s", c.StopTimeout))
	}
	if c.MaxTasks < 0 || c.MaxTasks > 1000 {
		errs = append(errs, fmt.Sprintf("ecs.max_tasks must be 0..1000, got %d", c.MaxTasks))
	}
	if c.MaxStopped < 0 || c.MaxStopped > 100000 {
		errs = append(errs, fmt.Sprintf("ecs.max_stopped must be 0..100000, got %d", c.MaxStopped))
	}
	if c.StoppedRetention < 0 {
		errs = append(errs, "ecs.stopped_retention must be >= 0")
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// Region is what ECS needs from the rest of the sandbox: the account, the
// region, EC2's subnets (for awsvpc tasks) and the ground-truth event log.
// *sim.Region implements it.
type Region interface {
	AccountID() string
	RegionName() string
	Subnets() []sim.Subnet
	RecordEvent(kind, resource, az, from, to, detail string)
}

// Service is one account's ECS in one region.
type Service struct {
	cfg    Config
	region Region
	exe    string
	exeErr error // why exe must not run (a test binary), or nil

	mu       sync.Mutex
	closed   bool
	clusters map[string]*cluster // by name
	families map[string][]*TaskDefinition
	tdTags   map[string]*[]Tag // by task definition ARN
	tasks    map[string]*task  // by ARN
	order    []string          // task ARNs, oldest first
	tokens   map[string]tokenEntry
	nextIP   uint32
	wg       sync.WaitGroup
	closing  chan struct{}
	now      func() time.Time
}

type cluster struct {
	arn, name string
	status    string
	tags      []Tag
	created   time.Time
}

// New returns the service with its starting cluster.
func New(cfg Config, profile string, region Region) (*Service, error) {
	cfg.fill(Defaults(profile))
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	exe := cfg.Executable
	var exeErr error
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("ecs: the worker executable: %w", err)
		}
		// Inside a Go test binary, os.Executable() is the test binary: a
		// container running it would run the package's tests again, each
		// maybe starting tasks. Tasks fail to start instead, saying why.
		if b := filepath.Base(exe); strings.HasSuffix(b, ".test") || strings.HasSuffix(b, ".test.exe") {
			exeErr = fmt.Errorf("%s is a Go test binary: set the sandbox's Config.ECS.Executable to a built gameday binary", exe)
		}
	}
	s := &Service{cfg: cfg, region: region, exe: exe, exeErr: exeErr, clusters: map[string]*cluster{}, families: map[string][]*TaskDefinition{},
		tdTags: map[string]*[]Tag{}, tasks: map[string]*task{}, tokens: map[string]tokenEntry{}, closing: make(chan struct{}), now: time.Now}
	s.clusters[cfg.Cluster] = &cluster{arn: s.arn("cluster/" + cfg.Cluster), name: cfg.Cluster, status: "ACTIVE", created: s.now()}
	return s, nil
}

// Config returns the effective configuration.
func (s *Service) Config() Config { return s.cfg }

// Executable is the program the containers run.
func (s *Service) Executable() string { return s.exe }

func (s *Service) arn(resource string) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:%s", s.region.RegionName(), s.region.AccountID(), resource)
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func newUUID() string {
	h := newID()
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// Errors, with the exception names of the ECS model (botocore
// ecs/2014-11-13 service-2.json: ClientException, InvalidParameterException,
// ClusterNotFoundException, ResourceNotFoundException, ConflictException,
// all HTTP 400; ServerException 500).

func errClient(format string, a ...any) error {
	return &sim.APIError{Code: "ClientException", Message: fmt.Sprintf(format, a...), Status: http.StatusBadRequest}
}

func errInvalid(format string, a ...any) error {
	return &sim.APIError{Code: "InvalidParameterException", Message: fmt.Sprintf(format, a...), Status: http.StatusBadRequest}
}

func errClusterNotFound() error {
	return &sim.APIError{Code: "ClusterNotFoundException", Message: "Cluster not found.", Status: http.StatusBadRequest}
}

func validName(n string) bool {
	if n == "" || len(n) > 255 {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// clusterOf resolves a cluster name or ARN ("" is "default", as ECS);
// s.mu is held.
func (s *Service) clusterOf(ref string) (*cluster, error) {
	if ref == "" {
		ref = "default"
	}
	name := ref
	if strings.HasPrefix(ref, "arn:") {
		i := strings.Index(ref, ":cluster/")
		if i < 0 {
			return nil, errInvalid("Invalid identifier: Unexpected ARN resource type in %s", ref)
		}
		if ref != s.arn("cluster/"+ref[i+len(":cluster/"):]) {
			return nil, errClusterNotFound()
		}
		name = ref[i+len(":cluster/"):]
	}
	c, ok := s.clusters[name]
	if !ok || c.status != "ACTIVE" {
		return nil, errClusterNotFound()
	}
	return c, nil
}

// checkTags validates tags as ECS does (at most 50; key 1–128, value ≤ 256;
// the aws: prefix is reserved).
func checkTags(tags []Tag) error {
	if len(tags) > 50 {
		return errInvalid("Tags cannot be more than 50.")
	}
	for _, t := range tags {
		if t.Key == nil || len(*t.Key) == 0 || len(*t.Key) > 128 {
			return errInvalid("Tag keys must be between 1 and 128 characters.")
		}
		if t.Value != nil && len(*t.Value) > 256 {
			return errInvalid("Tag values must be at most 256 characters.")
		}
		if strings.HasPrefix(strings.ToLower(*t.Key), "aws:") {
			return errInvalid("Tag keys cannot start with the reserved prefix 'aws:'.")
		}
	}
	return nil
}

func mergeTags(old, add []Tag) []Tag {
	out := append([]Tag(nil), old...)
	for _, t := range add {
		found := false
		for i := range out {
			if *out[i].Key == *t.Key {
				out[i].Value = t.Value
				found = true
			}
		}
		if !found {
			out = append(out, t)
		}
	}
	return out
}

func copyTags(t []Tag) []Tag {
	if t == nil {
		return []Tag{}
	}
	return append([]Tag{}, t...)
}

// --- clusters ---

// CreateCluster creates a cluster, or returns the one of that name (as ECS:
// the call is idempotent by name).
func (s *Service) CreateCluster(name string, tags []Tag) (Cluster, error) {
	if name == "" {
		name = "default"
	}
	if !validName(name) {
		return Cluster{}, errInvalid("Cluster name can only contain letters, numbers, hyphens and underscores, up to 255 characters.")
	}
	if err := checkTags(tags); err != nil {
		return Cluster{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clusters[name]
	if !ok || c.status != "ACTIVE" {
		if len(s.clusters) >= 100 {
			return Cluster{}, errClient("You have reached the limit on the number of clusters in this sandbox (100).")
		}
		c = &cluster{arn: s.arn("cluster/" + name), name: name, status: "ACTIVE", created: s.now()}
		s.clusters[name] = c
	}
	c.tags = mergeTags(c.tags, tags)
	return s.clusterView(c), nil
}

// clusterView: s.mu is held.
func (s *Service) clusterView(c *cluster) Cluster {
	out := Cluster{ClusterArn: c.arn, ClusterName: c.name, Status: c.status, Tags: copyTags(c.tags), CapacityProviders: []string{"FARGATE", "FARGATE_SPOT"}}
	for _, t := range s.tasks {
		if t.clusterArn != c.arn {
			continue
		}
		switch t.view.LastStatus {
		case "RUNNING":
			out.RunningTasksCount++
		case "PROVISIONING", "PENDING", "ACTIVATING":
			out.PendingTasksCount++
		}
	}
	return out
}

// DescribeClusters describes clusters by name or ARN (none: "default");
// unknown ones are failures with reason MISSING, as ECS.
func (s *Service) DescribeClusters(refs []string) ([]Cluster, []Failure, error) {
	if len(refs) > 100 {
		return nil, nil, errInvalid("Clusters cannot have more than 100 elements")
	}
	if len(refs) == 0 {
		refs = []string{"default"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out, fails := []Cluster{}, []Failure{}
	for _, r := range refs {
		c, err := s.clusterOf(r)
		if err != nil {
			arn := r
			if !strings.HasPrefix(r, "arn:") {
				arn = s.arn("cluster/" + r)
			}
			fails = append(fails, Failure{Arn: arn, Reason: "MISSING"})
			continue
		}
		out = append(out, s.clusterView(c))
	}
	return out, fails, nil
}

// ClusterArns lists the active clusters' ARNs, sorted.
func (s *Service) ClusterArns() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, c := range s.clusters {
		if c.status == "ACTIVE" {
			out = append(out, c.arn)
		}
	}
	sort.Strings(out)
	return out
}
