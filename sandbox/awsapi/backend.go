package awsapi

import (
	"time"

	"github.com/gameday-dev/gameday/sandbox/sim"
)

// Backend is what the control plane needs from the region model. *sim.Region
// implements it. Errors that should reach the client with a particular AWS
// code are *sim.APIError; any other error becomes a 500 InternalError.
//
// Query methods return copies. Mutating methods validate every id before
// changing anything (all-or-nothing, as AWS does for most batch calls).
type Backend interface {
	rehearsalBackend // backend_ext.go

	AccountID() string
	RegionName() string

	// EC2
	AvailabilityZones() []sim.AZ
	VPCs() []sim.VPC
	Subnets() []sim.Subnet
	Instances() []sim.Instance // every instance, terminated ones included for a while (as AWS)
	TerminateInstances(ids []string) ([]sim.StateChange, error)
	StopInstances(ids []string, force bool) ([]sim.StateChange, error)
	StartInstances(ids []string) ([]sim.StateChange, error)
	RebootInstances(ids []string) error
	CreateTags(resourceIDs []string, tags []sim.Tag) error
	DeleteTags(resourceIDs []string, tags []sim.TagMatch) error
	NetworkACLs() []sim.NetworkACL
	CreateNetworkACL(vpcID string, tags []sim.Tag) (sim.NetworkACL, error)
	CreateNetworkACLEntry(aclID string, e sim.ACLEntry) error
	DeleteNetworkACL(aclID string) error
	// ReplaceNetworkACLAssociation moves the subnet of association assocID
	// to aclID and returns the new association id.
	ReplaceNetworkACLAssociation(assocID, aclID string) (string, error)

	// Auto Scaling
	AutoScalingGroups() []sim.AutoScalingGroup
	TerminateInstanceInAutoScalingGroup(instanceID string, decrementDesired bool) (sim.Activity, error)
	SetDesiredCapacity(group string, desired int32, honorCooldown bool) error
	RefreshBackend // instancerefresh.go
	CreateOrUpdateGroupTags(group string, tags []sim.Tag) error
	DeleteGroupTags(group string, keys []string) error
	ScalingActivities(group string) []sim.Activity // newest first
	ProcessBackend                                 // asgprocesses.go

	// ELBv2
	LoadBalancers() []sim.LoadBalancer
	TargetGroups() []sim.TargetGroup
	TargetHealth(targetGroupARN string) ([]sim.TargetHealth, error)

	// RDS
	DBInstances() []sim.DBInstance
	RebootDBInstance(id string, forceFailover bool) (sim.DBInstance, error)
	DBClusters() []sim.DBCluster
	FailoverDBCluster(clusterID, targetInstanceID string) (sim.DBCluster, error)
	DBEvents(sourceID, sourceType string, start, end time.Time) []sim.DBEvent
	AddTagsToDBResource(arn string, tags []sim.Tag) error
	RemoveTagsFromDBResource(arn string, keys []string) error

	// Ground truth: RecordAPICall appends an api-call event (the control
	// plane calls it for every request it serves, mutating or not).
	RecordAPICall(service, action string, mutating bool)
}
