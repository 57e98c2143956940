package awsapi

// actionNotes says, per action the handler serves, what the sandbox models
// and what it leaves out. docs/sandbox.md is generated from it, the action
// table and the paged table (TestActionTableDoc; go test ./sandbox/awsapi
// -run TestActionTableDoc -update rewrites it): an action without a note
// fails that test.
var actionNotes = map[string]map[string]string{
	ServiceEC2: {
		"DescribeInstances":            "Filters instance-id, instance-state-name/-code, availability-zone, subnet-id, vpc-id, instance-type, image-id, private-ip-address, reservation-id, tag:KEY, tag-key; terminated instances stay listed for a while. No network interfaces, security groups or block devices in the shape.",
		"TerminateInstances":           "shutting-down, then terminated; listeners close and open connections reset; group members are replaced.",
		"StopInstances":                "stopping, then stopped after the shutdown delay; a clean stop lets the app finish the requests it is serving, Force resets them at once (also on a stopping instance). The target keeps its state while stopping (requests routed to it fail) and is unused (Target.InvalidState) once stopped; a group member is replaced once the group's EC2 health check finds it stopped (timings.stopped_health_check_delay). IncorrectInstanceState from shutting-down/terminated; Hibernate answers UnsupportedHibernationConfiguration.",
		"StartInstances":               "pending, then running after the boot delay; the target checks the new listener from initial. IncorrectInstanceState from stopping/shutting-down/terminated.",
		"RebootInstances":              "The instance stays running; the app drains, is down for timings.instance_reboot_time and listens again; its target goes unhealthy, then healthy. Terminated instances are ignored; stopped/stopping/pending ones get IncorrectInstanceState. A group with ELB health checks may replace a rebooting member (as on AWS).",
		"DescribeSubnets":              "The VPC's public and private subnets, one of each per AZ; filters by id, vpc, AZ, CIDR, tags.",
		"DescribeAvailabilityZones":    "The region's AZs (local-1a…); ZoneName/ZoneId and filters. Not paged (as AWS).",
		"DescribeVpcs":                 "The one VPC.",
		"DescribeNetworkAcls":          "Entries and associations as the data plane applies them; association.*, entry.*, default, tag filters.",
		"CreateNetworkAcl":             "An empty ACL (only the deny-all rules) with TagSpecification tags. ClientToken: a retry with the same token and parameters returns the same ACL; other parameters are IdempotentParameterMismatch.",
		"CreateNetworkAclEntry":        "Takes effect on the data plane at once; protocols -1/tcp/udp/icmp; rules match the listener's port (80) and the client address (region.client_ip).",
		"DeleteNetworkAcl":             "DependencyViolation while a subnet uses it; the default ACL cannot be deleted.",
		"ReplaceNetworkAclAssociation": "Moves a subnet to another ACL at once and returns a new association id.",
		"CreateTags":                   "Instances, the VPC, subnets and ACLs; aws: keys refused.",
		"DeleteTags":                   "Same resources as CreateTags; a key alone deletes whatever its value (gameday's leases use it).",
		"DescribeNetworkInterfaces":    "Only the load balancer nodes' interfaces (requester amazon-elb), with the node's loopback IP as the public IP.",
	},
	ServiceAutoScaling: {
		"DescribeAutoScalingGroups":           "The one group: members with lifecycle and health, target groups, tags. Unknown names are not an error (as AWS).",
		"TerminateInstanceInAutoScalingGroup": "Terminates through the group, which replaces the instance unless ShouldDecrementDesiredCapacity.",
		"SetDesiredCapacity":                  "Launches or terminates to the new size within min/max; HonorCooldown.",
		"DescribeScalingActivities":           "Newest first, with AWS's descriptions and causes.",
		"CreateOrUpdateTags":                  "Tags on the group (PropagateAtLaunch is accepted but always reported true).",
		"DeleteTags":                          "Removes the group's tags by key.",
		"StartInstanceRefresh":                "Replaces the group's instances batch by batch (MinHealthyPercentage, MaxHealthyPercentage, InstanceWarmup, SkipMatching, CheckpointPercentages/Delay, AutoRollback, BakeTime); DesiredConfiguration takes a launch template version number only; new versions run the release set by `app.release`.",
		"DescribeInstanceRefreshes":           "Newest first: Status, StatusReason, PercentageComplete, InstancesToUpdate, Preferences, DesiredConfiguration, RollbackDetails.",
		"CancelInstanceRefresh":               "Cancels without waiting for in-flight replacements (as WaitForTransitioningInstances=false); replacements made stay.",
		"RollbackInstanceRefresh":             "Replaces every instance not on the version the group had; IrreversibleInstanceRefresh without a desired configuration.",
	},
	ServiceELBv2: {
		"DescribeLoadBalancers": "The one application load balancer, its nodes' AZs and subnets.",
		"DescribeTargetGroups":  "The one target group with its health-check settings (read only).",
		"DescribeTargetHealth":  "initial/healthy/unhealthy/draining/unused with AWS's reason codes and descriptions. Not paged (as AWS).",
		"DescribeListeners":     "One HTTP listener on port 80 (the nodes' loopback port is an implementation detail: see the summary).",
	},
	ServiceRDS: {
		"DescribeDBInstances":    "The Multi-AZ instance, or the cluster's members; filters db-instance-id, db-cluster-id, engine, dbi-resource-id.",
		"RebootDBInstance":       "Reboot, or ForceFailover to the standby (Multi-AZ), with RDS's events.",
		"DescribeDBClusters":     "The Aurora-style cluster, if the sandbox has one.",
		"FailoverDBCluster":      "Moves the writer to another member, with RDS's events.",
		"DescribeEvents":         "Oldest first; SourceIdentifier/SourceType, StartTime/EndTime/Duration. No EventCategories filter.",
		"AddTagsToResource":      "Tags on the DB instance or cluster, by ARN.",
		"RemoveTagsFromResource": "Removes DB instance or cluster tags by key.",
	},
	ServiceSTS: {
		"GetCallerIdentity": "The sandbox account and a fixed user ARN.",
	},
}
