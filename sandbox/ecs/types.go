package ecs

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
)

// The shapes below follow the ECS API reference (API version 2014-11-13)
// and botocore's model (botocore/data/ecs/2014-11-13/service-2.json),
// member names and types as they are on the wire. Only the members the
// sandbox models are here; others are accepted on input and ignored.

// Time is a timestamp, on the wire as epoch seconds (awsJson's default
// timestamp format), with millisecond precision.
type Time struct{ time.Time }

// MarshalJSON writes epoch seconds.
func (t Time) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)), nil
}

// UnmarshalJSON reads epoch seconds.
func (t *Time) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	sec, frac := math.Modf(f)
	t.Time = time.Unix(int64(sec), int64(frac*1e9)).UTC()
	return nil
}

func at(t time.Time) *Time {
	if t.IsZero() {
		return nil
	}
	return &Time{t}
}

// KeyValuePair is a container environment variable (name, value).
type KeyValuePair struct {
	Name  *string `json:"name,omitempty"`
	Value *string `json:"value,omitempty"`
}

// Tag is a resource tag.
type Tag struct {
	Key   *string `json:"key,omitempty"`
	Value *string `json:"value,omitempty"`
}

// ContainerDefinition is one container of a task definition.
type ContainerDefinition struct {
	Name        string         `json:"name,omitempty"`
	Image       string         `json:"image,omitempty"`
	Cpu         int32          `json:"cpu"`
	Memory      *int32         `json:"memory,omitempty"`
	Essential   *bool          `json:"essential,omitempty"`
	EntryPoint  []string       `json:"entryPoint,omitempty"`
	Command     []string       `json:"command,omitempty"`
	Environment []KeyValuePair `json:"environment"`
	// StopTimeout is the seconds between SIGTERM and SIGKILL (ECS: 2–120 on
	// Fargate; unset: the sandbox's default, 30 s in the aws profile).
	StopTimeout *int32 `json:"stopTimeout,omitempty"`
	// PortMappings etc. are not modelled.
}

// TaskDefinition is a registered revision.
type TaskDefinition struct {
	TaskDefinitionArn       string                `json:"taskDefinitionArn"`
	ContainerDefinitions    []ContainerDefinition `json:"containerDefinitions"`
	Family                  string                `json:"family"`
	TaskRoleArn             string                `json:"taskRoleArn,omitempty"`
	ExecutionRoleArn        string                `json:"executionRoleArn,omitempty"`
	NetworkMode             string                `json:"networkMode,omitempty"`
	Revision                int32                 `json:"revision"`
	Status                  string                `json:"status"`
	Compatibilities         []string              `json:"compatibilities"`
	RequiresCompatibilities []string              `json:"requiresCompatibilities,omitempty"`
	Cpu                     string                `json:"cpu,omitempty"`
	Memory                  string                `json:"memory,omitempty"`
	RegisteredAt            *Time                 `json:"registeredAt,omitempty"`
	DeregisteredAt          *Time                 `json:"deregisteredAt,omitempty"`
	RegisteredBy            string                `json:"registeredBy,omitempty"`
}

// RegisterTaskDefinitionInput is RegisterTaskDefinition's request.
type RegisterTaskDefinitionInput struct {
	Family                  string                `json:"family"`
	TaskRoleArn             string                `json:"taskRoleArn,omitempty"`
	ExecutionRoleArn        string                `json:"executionRoleArn,omitempty"`
	NetworkMode             string                `json:"networkMode,omitempty"`
	ContainerDefinitions    []ContainerDefinition `json:"containerDefinitions"`
	RequiresCompatibilities []string              `json:"requiresCompatibilities,omitempty"`
	Cpu                     string                `json:"cpu,omitempty"`
	Memory                  string                `json:"memory,omitempty"`
	Tags                    []Tag                 `json:"tags,omitempty"`
}

// ContainerOverride overrides one container's command and environment.
type ContainerOverride struct {
	Name        *string        `json:"name,omitempty"`
	Command     []string       `json:"command,omitempty"`
	Environment []KeyValuePair `json:"environment,omitempty"`
	Cpu         *int32         `json:"cpu,omitempty"`
	Memory      *int32         `json:"memory,omitempty"`
}

// TaskOverride is RunTask's overrides, echoed in the task.
type TaskOverride struct {
	ContainerOverrides []ContainerOverride `json:"containerOverrides"`
	Cpu                *string             `json:"cpu,omitempty"`
	Memory             *string             `json:"memory,omitempty"`
	TaskRoleArn        *string             `json:"taskRoleArn,omitempty"`
	ExecutionRoleArn   *string             `json:"executionRoleArn,omitempty"`
}

// AwsVpcConfiguration is the awsvpc network configuration of a task.
type AwsVpcConfiguration struct {
	Subnets        []string `json:"subnets"`
	SecurityGroups []string `json:"securityGroups,omitempty"`
	AssignPublicIp string   `json:"assignPublicIp,omitempty"`
}

// NetworkConfiguration wraps AwsVpcConfiguration.
type NetworkConfiguration struct {
	AwsvpcConfiguration *AwsVpcConfiguration `json:"awsvpcConfiguration,omitempty"`
}

// RunTaskInput is RunTask's request.
type RunTaskInput struct {
	Cluster                  string                `json:"cluster,omitempty"`
	TaskDefinition           string                `json:"taskDefinition"`
	Count                    *int32                `json:"count,omitempty"`
	Group                    string                `json:"group,omitempty"`
	LaunchType               string                `json:"launchType,omitempty"`
	NetworkConfiguration     *NetworkConfiguration `json:"networkConfiguration,omitempty"`
	Overrides                *TaskOverride         `json:"overrides,omitempty"`
	PlatformVersion          string                `json:"platformVersion,omitempty"`
	StartedBy                string                `json:"startedBy,omitempty"`
	Tags                     []Tag                 `json:"tags,omitempty"`
	ClientToken              string                `json:"clientToken,omitempty"`
	CapacityProviderStrategy []json.RawMessage     `json:"capacityProviderStrategy,omitempty"`
}

// NetworkInterface is a container's interface in an awsvpc task.
type NetworkInterface struct {
	AttachmentId       string `json:"attachmentId,omitempty"`
	PrivateIpv4Address string `json:"privateIpv4Address,omitempty"`
}

// Container is one container of a task.
type Container struct {
	ContainerArn      string             `json:"containerArn"`
	TaskArn           string             `json:"taskArn"`
	Name              string             `json:"name"`
	Image             string             `json:"image,omitempty"`
	RuntimeId         string             `json:"runtimeId,omitempty"`
	LastStatus        string             `json:"lastStatus"`
	ExitCode          *int32             `json:"exitCode,omitempty"`
	Reason            string             `json:"reason,omitempty"`
	NetworkInterfaces []NetworkInterface `json:"networkInterfaces"`
	HealthStatus      string             `json:"healthStatus,omitempty"`
	Cpu               string             `json:"cpu,omitempty"`
	Memory            string             `json:"memory,omitempty"`
}

// AttachmentDetail is a name/value pair of an attachment.
type AttachmentDetail = KeyValuePair

// Attachment is a task's elastic network interface (awsvpc).
type Attachment struct {
	Id      string         `json:"id"`
	Type    string         `json:"type"`
	Status  string         `json:"status"`
	Details []KeyValuePair `json:"details"`
}

// Task is a task as DescribeTasks shows it.
type Task struct {
	Attachments          []Attachment  `json:"attachments"`
	AvailabilityZone     string        `json:"availabilityZone,omitempty"`
	ClusterArn           string        `json:"clusterArn"`
	Connectivity         string        `json:"connectivity,omitempty"`
	ConnectivityAt       *Time         `json:"connectivityAt,omitempty"`
	Containers           []Container   `json:"containers"`
	Cpu                  string        `json:"cpu,omitempty"`
	CreatedAt            *Time         `json:"createdAt,omitempty"`
	DesiredStatus        string        `json:"desiredStatus"`
	EnableExecuteCommand bool          `json:"enableExecuteCommand"`
	ExecutionStoppedAt   *Time         `json:"executionStoppedAt,omitempty"`
	Group                string        `json:"group,omitempty"`
	HealthStatus         string        `json:"healthStatus,omitempty"`
	LastStatus           string        `json:"lastStatus"`
	LaunchType           string        `json:"launchType,omitempty"`
	Memory               string        `json:"memory,omitempty"`
	Overrides            *TaskOverride `json:"overrides,omitempty"`
	PlatformVersion      string        `json:"platformVersion,omitempty"`
	PlatformFamily       string        `json:"platformFamily,omitempty"`
	PullStartedAt        *Time         `json:"pullStartedAt,omitempty"`
	PullStoppedAt        *Time         `json:"pullStoppedAt,omitempty"`
	StartedAt            *Time         `json:"startedAt,omitempty"`
	StartedBy            string        `json:"startedBy,omitempty"`
	StopCode             string        `json:"stopCode,omitempty"`
	StoppedAt            *Time         `json:"stoppedAt,omitempty"`
	StoppedReason        string        `json:"stoppedReason,omitempty"`
	StoppingAt           *Time         `json:"stoppingAt,omitempty"`
	Tags                 []Tag         `json:"tags,omitempty"`
	TaskArn              string        `json:"taskArn"`
	TaskDefinitionArn    string        `json:"taskDefinitionArn"`
	Version              int64         `json:"version"`
}

// Failure is one entry of a response's failures list.
type Failure struct {
	Arn    string `json:"arn,omitempty"`
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Cluster is a cluster as DescribeClusters shows it.
type Cluster struct {
	ClusterArn                        string   `json:"clusterArn"`
	ClusterName                       string   `json:"clusterName"`
	Status                            string   `json:"status"`
	RegisteredContainerInstancesCount int32    `json:"registeredContainerInstancesCount"`
	RunningTasksCount                 int32    `json:"runningTasksCount"`
	PendingTasksCount                 int32    `json:"pendingTasksCount"`
	ActiveServicesCount               int32    `json:"activeServicesCount"`
	Tags                              []Tag    `json:"tags,omitempty"`
	CapacityProviders                 []string `json:"capacityProviders"`
}
