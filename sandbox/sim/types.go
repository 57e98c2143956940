package sim

import (
	"time"

	"github.com/gameday-dev/gameday/sandbox/truth"
)

// This file is the contract between the region model (this package) and the
// control plane (package awsapi). Every query method on *Region returns copies
// of these value types, so callers never hold a pointer into live state.

// Instance states, as EC2 names them.
const (
	StatePending      = "pending"
	StateRunning      = "running"
	StateShuttingDown = "shutting-down"
	StateTerminated   = "terminated"
	StateStopping     = "stopping"
	StateStopped      = "stopped"
)

// EC2 instance state codes (the low byte of InstanceState.Code).
var StateCodes = map[string]int32{
	StatePending: 0, StateRunning: 16, StateShuttingDown: 32,
	StateTerminated: 48, StateStopping: 64, StateStopped: 80,
}

// Target health states and reason codes, as ELBv2 names them.
const (
	TargetInitial     = "initial"
	TargetHealthy     = truth.TargetHealthy
	TargetUnhealthy   = "unhealthy"
	TargetUnused      = "unused"
	TargetDraining    = "draining"
	TargetUnavailable = "unavailable"

	ReasonInitialHealthChecking  = "Elb.InitialHealthChecking"
	ReasonRegistrationInProgress = "Elb.RegistrationInProgress"
	ReasonTimeout                = "Target.Timeout"
	ReasonFailedHealthChecks     = "Target.FailedHealthChecks"
	ReasonResponseCodeMismatch   = "Target.ResponseCodeMismatch"
	ReasonNotRegistered          = "Target.NotRegistered"
	ReasonNotInUse               = "Target.NotInUse"
	ReasonDeregistration         = "Target.DeregistrationInProgress"
	ReasonInvalidState           = "Target.InvalidState"
)

// DB statuses, as RDS names them.
const (
	DBAvailable   = truth.DBAvailable
	DBRebooting   = "rebooting"
	DBFailingOver = "failing-over"
)

// Tag is an AWS resource tag.
type Tag struct {
	Key   string
	Value string
}

// OptInTag is carried by every resource the sandbox creates that a fault
// can target (instances, subnets, databases), so that experiments can
// demonstrate target.require_tag the way AWS FIS uses resource tags.
var OptInTag = Tag{"gameday:opt-in", "true"}

// AZ is an Availability Zone of the region.
type AZ struct {
	Name string // e.g. "local-1a"
	ID   string // e.g. "lcl1-az1"
}

// VPC is the one virtual network of the region.
type VPC struct {
	ID        string
	CIDR      string // "10.0.0.0/16"
	IsDefault bool
	Tags      []Tag
}

// Subnet is a public or private subnet in one AZ.
type Subnet struct {
	ID     string
	VPCID  string
	AZ     string
	CIDR   string // a simulated label, never dialled
	Public bool
	Tags   []Tag // includes Name and gameday:tier = public|private
}

// ACLEntry is one rule of a network ACL.
type ACLEntry struct {
	RuleNumber int32
	Protocol   string // "-1" for all, "6" for TCP
	RuleAction string // "allow" | "deny"
	Egress     bool
	CIDR       string
	PortFrom   int32 // 0 with PortTo 0 means all ports
	PortTo     int32
}

// ACLAssociation ties one subnet to one network ACL.
type ACLAssociation struct {
	ID       string // "aclassoc-..."; a new id on every replace, as on AWS
	ACLID    string
	SubnetID string
}

// NetworkACL is a network ACL of the VPC.
type NetworkACL struct {
	ID           string
	VPCID        string
	IsDefault    bool
	Entries      []ACLEntry // including the implicit rule 32767 deny-all, ingress and egress
	Associations []ACLAssociation
	Tags         []Tag
}

// Instance is an EC2 instance running the sandbox web app.
type Instance struct {
	ID           string
	ImageID      string
	InstanceType string
	State        string
	StateReason  string // e.g. "Client.UserInitiatedShutdown"
	AZ           string
	SubnetID     string
	VPCID        string
	PrivateIP    string // simulated 10.0.x.x label, never dialled
	LaunchTime   time.Time
	Tags         []Tag // includes aws:autoscaling:groupName for group members
	// Addr is the real loopback address ("127.0.0.1:PORT") of the app's
	// listener while it runs; empty otherwise. Not part of any AWS API.
	Addr string
}

// StateChange is one instance's transition, as TerminateInstances returns.
type StateChange struct {
	InstanceID string
	Previous   string
	Current    string
}

// GroupInstance is one member of an Auto Scaling group.
type GroupInstance struct {
	InstanceID     string
	AZ             string
	LifecycleState string // "Pending", "InService", "Terminating", "Terminated"
	HealthStatus   string // "Healthy" | "Unhealthy"
	LaunchTemplate string
	// LaunchTemplateVersion is the version it was launched from ("1" for
	// the group's first instances; see InstanceRefresh).
	LaunchTemplateVersion string
}

// AutoScalingGroup is the sandbox's Auto Scaling group. LaunchTemplate and
// LaunchTemplateVersion are what it launches new instances from; the version
// changes when an instance refresh with a desired configuration succeeds.
type AutoScalingGroup struct {
	Name                   string
	ARN                    string
	Min, Desired, Max      int32
	AZs                    []string
	SubnetIDs              []string // VPCZoneIdentifier
	HealthCheckType        string   // "EC2" | "ELB"
	HealthCheckGracePeriod time.Duration
	DefaultCooldown        time.Duration
	LaunchTemplate         string
	LaunchTemplateVersion  string
	TargetGroupARNs        []string
	Instances              []GroupInstance
	Tags                   []Tag
	CreatedTime            time.Time
	SuspendedProcesses     []SuspendedProcess // by name
}

// Activity is one scaling activity of a group.
type Activity struct {
	ID          string
	GroupName   string
	Description string // e.g. "Launching a new EC2 instance: i-..."
	Cause       string
	StartTime   time.Time
	EndTime     time.Time // zero while in progress
	StatusCode  string    // "InProgress", "Successful", "Failed"
	Progress    int32
	// StatusMessage says why a Failed activity failed (e.g. a launch
	// refused with InsufficientInstanceCapacity).
	StatusMessage string
}

// LoadBalancer is the sandbox's Application Load Balancer.
type LoadBalancer struct {
	ARN         string
	Name        string
	DNSName     string // answered by the sandbox DNS server
	Scheme      string // "internet-facing"
	State       string // "active"
	VPCID       string
	AZs         []LBNode
	Listeners   []Listener
	CreatedTime time.Time
}

// LBNode is the load balancer's node in one AZ.
type LBNode struct {
	AZ       string
	SubnetID string
	Addr     string // real loopback "127.0.0.x:PORT" the node listens on
	IP       string // the loopback IP alone, as DNS answers it
}

// Listener is a load balancer listener.
type Listener struct {
	ARN            string
	Port           int32
	Protocol       string
	TargetGroupARN string
}

// TargetGroup is the load balancer's target group.
type TargetGroup struct {
	ARN                 string
	Name                string
	Protocol            string
	Port                int32
	VPCID               string
	HealthCheckPath     string
	HealthCheckInterval time.Duration
	HealthCheckTimeout  time.Duration
	HealthyThreshold    int32
	UnhealthyThreshold  int32
	Matcher             string // "200"
	DeregistrationDelay time.Duration
	LoadBalancerARNs    []string
	TargetType          string // "instance"
}

// TargetHealth is one registered target's health, as DescribeTargetHealth returns.
type TargetHealth struct {
	InstanceID  string
	Port        int32
	AZ          string
	State       string // Target* constants
	Reason      string // Reason* constants; empty when healthy
	Description string // AWS's human text for the reason
}

// DBInstance is an RDS DB instance (Multi-AZ, or an Aurora cluster member).
type DBInstance struct {
	ID          string
	ARN         string
	Engine      string
	Class       string
	Status      string
	MultiAZ     bool
	AZ          string // the AZ the instance (writer, for Multi-AZ) is in
	SecondaryAZ string // standby's AZ for a Multi-AZ instance
	Endpoint    string // DNS-like label, e.g. "app-db.abc.local-1.rds.sandbox"
	Port        int32
	ClusterID   string // set for cluster members
	CreatedTime time.Time
	Tags        []Tag
}

// DBClusterMember is one instance of an Aurora-style cluster.
type DBClusterMember struct {
	InstanceID string
	IsWriter   bool
}

// DBCluster is an Aurora-style cluster with one writer.
type DBCluster struct {
	ID             string
	ARN            string
	Engine         string
	Status         string
	Endpoint       string
	ReaderEndpoint string
	Port           int32
	MultiAZ        bool
	AZs            []string
	Members        []DBClusterMember
	CreatedTime    time.Time
	Tags           []Tag
}

// DBEvent is an RDS event, as DescribeEvents returns.
type DBEvent struct {
	SourceID   string
	SourceType string // "db-instance" | "db-cluster"
	SourceARN  string
	Message    string
	Categories []string
	Date       time.Time
	EventID    string // "RDS-EVENT-0049" etc.
}

// Event is one ground-truth state change in the region (truth.Event).
type Event = truth.Event

// APIError is an error the control plane returns to a client with the AWS
// code, message and HTTP status it names.
type APIError struct {
	Code    string // e.g. "InvalidInstanceID.NotFound"
	Message string
	Status  int // HTTP status; 400 for client errors
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }
