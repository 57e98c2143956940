package truth

import "time"

// Why the sandbox failed a request (FailureBucket.Reason).
const (
	// FailNoHealthyTarget: the load balancer had no target to route to (503).
	FailNoHealthyTarget = "no-healthy-target"
	// FailTargetGone: the target refused or reset the connection, e.g. its
	// instance was terminated (502).
	FailTargetGone = "target-gone"
	// FailTargetUnreachable: a network ACL cut the path between the node
	// and the target (504).
	FailTargetUnreachable = "target-unreachable"
	// FailTargetTimeout: the target did not answer within the node's
	// target timeout (504).
	FailTargetTimeout = "target-timeout"
	// FailDBUnreachable: the app could not reach the database writer or
	// reader (down, failing over, or cut off by an ACL) (500).
	FailDBUnreachable = "db-unreachable"
	// FailNodeBlackholed: a request arrived at a node whose subnet drops
	// the client's packets and was held unanswered; also counted for every
	// DNS answer that sent a client to such a node (its next connections
	// time out in connect, which the node never sees).
	FailNodeBlackholed = "node-blackholed"
	// FailOverloaded: the instance's queue was full (503 from the app).
	FailOverloaded = "overloaded"
	// FailDBDelayed: not a failure but a request held back by the fault:
	// the database was unreachable when it arrived, and it succeeded only
	// after waiting for it (up to the driver timeout). Users see it as a
	// slow request, which breaks a latency threshold as a failure breaks a
	// success-ratio one, so ground truth counts it.
	FailDBDelayed = "db-delayed"
	// FailTargetDelayed: likewise held back, not failed: the path from the
	// node to the target was cut when the request arrived and opened again
	// before the node's connect timeout.
	FailTargetDelayed = "target-delayed"
)

// FailureBucketWidth is the width of the failure record's time buckets.
const FailureBucketWidth = 50 * time.Millisecond

// FailureBucket counts the requests the sandbox failed for one reason, on
// one resource, in [Start, Start+FailureBucketWidth). A request is counted at
// the moment it ARRIVED at the part of the sandbox that failed it (the node,
// or the instance), not when the failure was sent: a request held by a
// blackholed node, or waiting out the database driver's timeout, was doomed
// from its arrival, and the harness places requests by their start time too.
type FailureBucket struct {
	Start    time.Time `json:"start"`
	Reason   string    `json:"reason"`
	Resource string    `json:"resource"`          // instance id, database id, node IP, target group name
	AZ       string    `json:"az,omitempty"`      // AZ of that resource
	PeerAZ   string    `json:"peer_az,omitempty"` // for a cut path: the AZ at the other end
	Count    uint64    `json:"count"`
}

// Event is one ground-truth state change in the region, recorded with the
// wall-clock time it happened. Tests and the harness compare measurements
// against these.
type Event struct {
	Time     time.Time `json:"time"`
	Kind     string    `json:"kind"`     // instance-state, target-health, asg-activity, asg-capacity, db-status, db-writer, acl-association, acl, dns, api-call; also asg-member, db-event, instance-health, load-balancer, alarm-state, alarm-action, scaling-policy, ecs-task (resource: task ARN; from/to: lastStatus)
	Resource string    `json:"resource"` // instance id, target group ARN/instance, group name, db id, subnet id
	AZ       string    `json:"az,omitempty"`
	From     string    `json:"from,omitempty"`
	To       string    `json:"to,omitempty"`
	Detail   string    `json:"detail,omitempty"`
	Mutating bool      `json:"mutating,omitempty"` // for api-call: whether the action changes state
}

// State names the harness matches in events (as sim names them).
const (
	TargetHealthy = "healthy"   // a target-health state, as ELBv2 names it
	DBAvailable   = "available" // a db-status, as RDS names it
)

// Event kinds the harness matches.
const (
	EventTargetHealth = "target-health"
	EventDBStatus     = "db-status"
	EventDNS          = "dns"
	EventAPICall      = "api-call"
	// EventInstanceRefresh is an instance refresh's status change (From →
	// To, Detail its status reason); EventRefreshBatch a batch starting or
	// done (To "started" | "updated"). Resource is the refresh id.
	EventInstanceRefresh = "instance-refresh"
	EventRefreshBatch    = "instance-refresh-batch"
)
