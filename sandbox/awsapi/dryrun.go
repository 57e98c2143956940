package awsapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"github.com/gameday-dev/gameday/sandbox/sim"
)

// DryRun, as EC2 does it (EC2 API reference, "Common query parameters" and
// "Error codes: DryRunOperation"; botocore's ec2 model has a DryRun member
// on the input of every such action): the request is checked — parameters,
// and that the resources exist and are in a state that allows the call —
// and, had it succeeded, answered with the error DryRunOperation and HTTP
// 412, changing nothing. A dry run that would fail answers the real error.
//
// The handler runs the action against dryBackend: the queries read the real
// backend, the mutations check what the real backend would check and return
// errDryRun instead of changing anything. dryBackend implements Backend
// explicitly (no embedding), so a mutating method added to Backend does not
// compile until its dry-run check is written here.

// errDryRun is what a dry run that would have succeeded answers.
var errDryRun = &sim.APIError{Code: "DryRunOperation", Message: "Request would have succeeded, but DryRun flag is set.", Status: http.StatusPreconditionFailed}

// isDryRun reports whether an EC2 request asks for a dry run.
func isDryRun(service string, p params) bool {
	if service != ServiceEC2 {
		return false
	}
	v, ok := p.boolean("DryRun")
	return ok && v
}

// serveDryRun runs def against a backend that changes nothing and turns
// success into DryRunOperation.
func (h *handler) serveDryRun(def actionDef, r *request) error {
	dry := *h
	dry.b = dryBackend{b: h.b}
	if _, err := def.fn(&dry, r); err != nil {
		return err
	}
	return errDryRun
}

// errNotDryRunnable is returned by a mutation of a service without DryRun;
// it cannot be reached (only EC2 calls run dry).
var errNotDryRunnable = errors.New("gameday sandbox: this action has no dry run")

type dryBackend struct{ b Backend }

func (d dryBackend) AccountID() string                 { return d.b.AccountID() }
func (d dryBackend) RegionName() string                { return d.b.RegionName() }
func (d dryBackend) AvailabilityZones() []sim.AZ       { return d.b.AvailabilityZones() }
func (d dryBackend) VPCs() []sim.VPC                   { return d.b.VPCs() }
func (d dryBackend) Subnets() []sim.Subnet             { return d.b.Subnets() }
func (d dryBackend) Instances() []sim.Instance         { return d.b.Instances() }
func (d dryBackend) NetworkACLs() []sim.NetworkACL     { return d.b.NetworkACLs() }
func (d dryBackend) LoadBalancers() []sim.LoadBalancer { return d.b.LoadBalancers() }
func (d dryBackend) TargetGroups() []sim.TargetGroup   { return d.b.TargetGroups() }
func (d dryBackend) TargetHealth(arn string) ([]sim.TargetHealth, error) {
	return d.b.TargetHealth(arn)
}
func (d dryBackend) AutoScalingGroups() []sim.AutoScalingGroup { return d.b.AutoScalingGroups() }
func (d dryBackend) ScalingActivities(group string) []sim.Activity {
	return d.b.ScalingActivities(group)
}
func (d dryBackend) InstanceRefreshes(group string, ids []string) ([]sim.InstanceRefresh, error) {
	return d.b.InstanceRefreshes(group, ids)
}
func (d dryBackend) DBInstances() []sim.DBInstance { return d.b.DBInstances() }
func (d dryBackend) DBClusters() []sim.DBCluster   { return d.b.DBClusters() }
func (d dryBackend) DBEvents(id, typ string, start, end time.Time) []sim.DBEvent {
	return d.b.DBEvents(id, typ, start, end)
}

// RecordAPICall: the handler has recorded the call already.
func (d dryBackend) RecordAPICall(string, string, bool) {}

// ---- EC2 mutations: check, then errDryRun ----

var dryInstanceIDRE = regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`)

// instances finds ids as sim's validateInstanceIDs does (same codes).
func (d dryBackend) instances(ids []string) ([]sim.Instance, error) {
	if len(ids) == 0 {
		return nil, errMissing(ServiceEC2, "InstanceId")
	}
	byID := map[string]sim.Instance{}
	for _, i := range d.b.Instances() {
		byID[i.ID] = i
	}
	var out []sim.Instance
	var missing []string
	for _, id := range ids {
		if !dryInstanceIDRE.MatchString(id) {
			return nil, &sim.APIError{Code: "InvalidInstanceID.Malformed", Message: fmt.Sprintf("Invalid id: %q (expecting \"i-...\")", id), Status: http.StatusBadRequest}
		}
		i, ok := byID[id]
		if !ok {
			missing = append(missing, id)
			continue
		}
		out = append(out, i)
	}
	if len(missing) > 0 {
		return nil, ec2NotFound("InvalidInstanceID.NotFound", "instance", missing)
	}
	return out, nil
}

func (d dryBackend) TerminateInstances(ids []string) ([]sim.StateChange, error) {
	if _, err := d.instances(ids); err != nil {
		return nil, err
	}
	return nil, errDryRun
}

func (d dryBackend) StopInstances(ids []string, _ bool) ([]sim.StateChange, error) {
	ins, err := d.instances(ids)
	if err != nil {
		return nil, err
	}
	for _, i := range ins {
		if i.State == sim.StateShuttingDown || i.State == sim.StateTerminated {
			return nil, &sim.APIError{Code: "IncorrectInstanceState", Message: fmt.Sprintf("The instance '%s' is not in a state from which it can be stopped.", i.ID), Status: http.StatusBadRequest}
		}
	}
	return nil, errDryRun
}

// RebootInstances: as sim's (terminated ones are ignored, stopped,
// stopping and pending ones refused).
func (d dryBackend) RebootInstances(ids []string) error {
	ins, err := d.instances(ids)
	if err != nil {
		return err
	}
	for _, i := range ins {
		if i.State == sim.StateStopping || i.State == sim.StateStopped || i.State == sim.StatePending {
			return &sim.APIError{Code: "IncorrectInstanceState", Message: fmt.Sprintf("The instance '%s' is not in a state from which it can be rebooted.", i.ID), Status: http.StatusBadRequest}
		}
	}
	return errDryRun
}

func (d dryBackend) StartInstances(ids []string) ([]sim.StateChange, error) {
	ins, err := d.instances(ids)
	if err != nil {
		return nil, err
	}
	for _, i := range ins {
		if i.State == sim.StateStopping || i.State == sim.StateShuttingDown || i.State == sim.StateTerminated {
			return nil, &sim.APIError{Code: "IncorrectInstanceState", Message: fmt.Sprintf("The instance '%s' is not in a state from which it can be started.", i.ID), Status: http.StatusBadRequest}
		}
	}
	return nil, errDryRun
}

func notFound(code, noun, id string) error {
	return &sim.APIError{Code: code, Message: fmt.Sprintf("The %s ID '%s' does not exist", noun, id), Status: http.StatusBadRequest}
}

func (d dryBackend) acl(id string) (sim.NetworkACL, bool) {
	for _, a := range d.b.NetworkACLs() {
		if a.ID == id {
			return a, true
		}
	}
	return sim.NetworkACL{}, false
}

func (d dryBackend) CreateTags(ids []string, tags []sim.Tag) error {
	if len(ids) == 0 {
		return errMissing(ServiceEC2, "ResourceId")
	}
	for _, t := range tags {
		if t.Key == "" || len(t.Key) > 128 || len(t.Value) > 256 {
			return &sim.APIError{Code: "InvalidParameterValue", Message: "Tag key must be 1 to 128 characters and value at most 256", Status: http.StatusBadRequest}
		}
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return &sim.APIError{Code: "InvalidParameterValue", Message: "Tag keys starting with 'aws:' are reserved for internal use", Status: http.StatusBadRequest}
		}
	}
	return d.taggable(ids)
}

// DeleteTags is checked as CreateTags is: reserved keys, and every resource
// must exist.
func (d dryBackend) DeleteTags(ids []string, tags []sim.TagMatch) error {
	if len(ids) == 0 {
		return errMissing(ServiceEC2, "ResourceId")
	}
	for _, t := range tags {
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return &sim.APIError{Code: "InvalidParameterValue", Message: "Tag keys starting with 'aws:' are reserved for internal use", Status: http.StatusBadRequest}
		}
	}
	return d.taggable(ids)
}

// taggable checks that every id names a resource that exists, with EC2's
// error code for its kind, and answers errDryRun if they all do.
func (d dryBackend) taggable(ids []string) error {
	exists := map[string]bool{}
	for _, i := range d.b.Instances() {
		exists[i.ID] = true
	}
	for _, v := range d.b.VPCs() {
		exists[v.ID] = true
	}
	for _, s := range d.b.Subnets() {
		exists[s.ID] = true
	}
	for _, a := range d.b.NetworkACLs() {
		exists[a.ID] = true
	}
	for _, id := range ids {
		var code, noun string
		switch {
		case strings.HasPrefix(id, "i-"):
			if !dryInstanceIDRE.MatchString(id) {
				return &sim.APIError{Code: "InvalidID", Message: fmt.Sprintf("The ID '%s' is not valid", id), Status: http.StatusBadRequest}
			}
			code, noun = "InvalidInstanceID.NotFound", "instance"
		case strings.HasPrefix(id, "vpc-"):
			code, noun = "InvalidVpcID.NotFound", "vpc"
		case strings.HasPrefix(id, "subnet-"):
			code, noun = "InvalidSubnetID.NotFound", "subnet"
		case strings.HasPrefix(id, "acl-"):
			code, noun = "InvalidNetworkAclID.NotFound", "network ACL"
		default:
			return &sim.APIError{Code: "InvalidID", Message: fmt.Sprintf("The ID '%s' is not valid", id), Status: http.StatusBadRequest}
		}
		if !exists[id] {
			return notFound(code, noun, id)
		}
	}
	return errDryRun
}

func (d dryBackend) CreateNetworkACL(vpcID string, _ []sim.Tag) (sim.NetworkACL, error) {
	for _, v := range d.b.VPCs() {
		if v.ID == vpcID {
			return sim.NetworkACL{}, errDryRun
		}
	}
	return sim.NetworkACL{}, notFound("InvalidVpcID.NotFound", "vpc", vpcID)
}

var dryCIDRRE = regexp.MustCompile(`^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}/\d{1,2}$`)

func (d dryBackend) CreateNetworkACLEntry(aclID string, e sim.ACLEntry) error {
	a, ok := d.acl(aclID)
	if !ok {
		return notFound("InvalidNetworkAclID.NotFound", "network ACL", aclID)
	}
	if p, err := netip.ParsePrefix(e.CIDR); err != nil || !dryCIDRRE.MatchString(e.CIDR) || !p.Addr().Is4() {
		return &sim.APIError{Code: "InvalidParameterValue", Message: fmt.Sprintf("Value (%s) for parameter cidrBlock is invalid. This is not a valid CIDR block.", e.CIDR), Status: http.StatusBadRequest}
	}
	if e.PortFrom < 0 || e.PortTo > 65535 || e.PortFrom > e.PortTo {
		return &sim.APIError{Code: "InvalidParameterValue", Message: fmt.Sprintf("Invalid port range %d-%d", e.PortFrom, e.PortTo), Status: http.StatusBadRequest}
	}
	for _, x := range a.Entries {
		if x.RuleNumber == e.RuleNumber && x.Egress == e.Egress {
			return &sim.APIError{Code: "NetworkAclEntryAlreadyExists", Message: fmt.Sprintf("The network acl entry identified by %d already exists.", e.RuleNumber), Status: http.StatusBadRequest}
		}
	}
	return errDryRun
}

func (d dryBackend) DeleteNetworkACL(aclID string) error {
	a, ok := d.acl(aclID)
	if !ok {
		return notFound("InvalidNetworkAclID.NotFound", "network ACL", aclID)
	}
	if a.IsDefault {
		return &sim.APIError{Code: "InvalidParameterValue", Message: fmt.Sprintf("Cannot delete default network ACL %s", aclID), Status: http.StatusBadRequest}
	}
	if len(a.Associations) > 0 {
		return &sim.APIError{Code: "DependencyViolation", Message: fmt.Sprintf("The network ACL '%s' has dependencies and cannot be deleted.", aclID), Status: http.StatusBadRequest}
	}
	return errDryRun
}

func (d dryBackend) ReplaceNetworkACLAssociation(assocID, aclID string) (string, error) {
	found := false
	for _, a := range d.b.NetworkACLs() {
		for _, as := range a.Associations {
			found = found || as.ID == assocID
		}
	}
	if !found {
		return "", notFound("InvalidAssociationID.NotFound", "association", assocID)
	}
	if _, ok := d.acl(aclID); !ok {
		return "", notFound("InvalidNetworkAclID.NotFound", "network ACL", aclID)
	}
	return "", errDryRun
}

// ---- other services have no DryRun ----

func (d dryBackend) TerminateInstanceInAutoScalingGroup(string, bool) (sim.Activity, error) {
	return sim.Activity{}, errNotDryRunnable
}
func (d dryBackend) SetDesiredCapacity(string, int32, bool) error { return errNotDryRunnable }
func (d dryBackend) StartInstanceRefresh(string, string, string, sim.RefreshPreferences) (string, error) {
	return "", errNotDryRunnable
}
func (d dryBackend) CancelInstanceRefresh(string) (string, error)    { return "", errNotDryRunnable }
func (d dryBackend) RollbackInstanceRefresh(string) (string, error)  { return "", errNotDryRunnable }
func (d dryBackend) CreateOrUpdateGroupTags(string, []sim.Tag) error { return errNotDryRunnable }
func (d dryBackend) DeleteGroupTags(string, []string) error          { return errNotDryRunnable }
func (d dryBackend) AddTagsToDBResource(string, []sim.Tag) error     { return errNotDryRunnable }
func (d dryBackend) RemoveTagsFromDBResource(string, []string) error { return errNotDryRunnable }
func (d dryBackend) RebootDBInstance(string, bool) (sim.DBInstance, error) {
	return sim.DBInstance{}, errNotDryRunnable
}
func (d dryBackend) FailoverDBCluster(string, string) (sim.DBCluster, error) {
	return sim.DBCluster{}, errNotDryRunnable
}

var _ Backend = dryBackend{}
