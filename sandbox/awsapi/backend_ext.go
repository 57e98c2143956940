package awsapi

import (
	"strconv"
	"time"

	"github.com/gameday-dev/gameday/sandbox/sim"
)

// rehearsalBackend is what the runbook actions beyond gameday's own (issue
// 14: ACL entry edits, Auto Scaling administration) need from the region
// model; Backend embeds it. *sim.Region implements it.
type rehearsalBackend interface {
	// DeleteNetworkACLEntry removes rule ruleNumber (ingress or egress).
	DeleteNetworkACLEntry(aclID string, ruleNumber int32, egress bool) error
	// ReplaceNetworkACLEntry replaces the rule of e's number and direction.
	ReplaceNetworkACLEntry(aclID string, e sim.ACLEntry) error

	// Auto Scaling administration (sim/asgadmin.go).
	UpdateAutoScalingGroup(name string, u sim.GroupUpdate) error
	SetGroupInstanceHealth(instanceID, status string, respectGracePeriod bool) error
	EnterStandby(group string, ids []string, decrementDesired bool) ([]sim.Activity, error)
	ExitStandby(group string, ids []string) ([]sim.Activity, error)
	DetachInstances(group string, ids []string, decrementDesired bool) ([]sim.Activity, error)

	// Target group administration (sim/tgadmin.go).
	ModifyTargetGroup(arn string, u sim.TargetGroupUpdate) (sim.TargetGroup, error)
	SetDeregistrationDelay(arn string, d time.Duration) error
	RegisterTargets(arn string, ids []string) error
	DeregisterTargets(arn string, ids []string) error
}

// ELBv2 has no DryRun either.
func (d dryBackend) ModifyTargetGroup(string, sim.TargetGroupUpdate) (sim.TargetGroup, error) {
	return sim.TargetGroup{}, errNotDryRunnable
}
func (d dryBackend) SetDeregistrationDelay(string, time.Duration) error { return errNotDryRunnable }
func (d dryBackend) RegisterTargets(string, []string) error             { return errNotDryRunnable }
func (d dryBackend) DeregisterTargets(string, []string) error           { return errNotDryRunnable }

// Auto Scaling has no DryRun: these cannot be reached through a dry run.
func (d dryBackend) UpdateAutoScalingGroup(string, sim.GroupUpdate) error { return errNotDryRunnable }
func (d dryBackend) SetGroupInstanceHealth(string, string, bool) error    { return errNotDryRunnable }
func (d dryBackend) EnterStandby(string, []string, bool) ([]sim.Activity, error) {
	return nil, errNotDryRunnable
}
func (d dryBackend) ExitStandby(string, []string) ([]sim.Activity, error) {
	return nil, errNotDryRunnable
}
func (d dryBackend) DetachInstances(string, []string, bool) ([]sim.Activity, error) {
	return nil, errNotDryRunnable
}

func (d dryBackend) aclEntry(aclID string, ruleNumber int32, egress bool) error {
	a, ok := d.acl(aclID)
	if !ok {
		return notFound("InvalidNetworkAclID.NotFound", "network ACL", aclID)
	}
	if ruleNumber < 1 || ruleNumber > 32766 {
		return errInvalid(ServiceEC2, "RuleNumber", strconv.Itoa(int(ruleNumber)), "must be between 1 and 32766")
	}
	for _, x := range a.Entries {
		if x.RuleNumber == ruleNumber && x.Egress == egress {
			return nil
		}
	}
	return &sim.APIError{Code: "InvalidNetworkAclEntry.NotFound", Message: "The network acl entry identified by " + strconv.Itoa(int(ruleNumber)) + " does not exist in " + aclID + ".", Status: 400}
}

func (d dryBackend) DeleteNetworkACLEntry(aclID string, ruleNumber int32, egress bool) error {
	if err := d.aclEntry(aclID, ruleNumber, egress); err != nil {
		return err
	}
	return errDryRun
}

func (d dryBackend) ReplaceNetworkACLEntry(aclID string, e sim.ACLEntry) error {
	if err := d.aclEntry(aclID, e.RuleNumber, e.Egress); err != nil {
		return err
	}
	if err := sim.ValidateACLEntry(e); err != nil {
		return err
	}
	return errDryRun
}
