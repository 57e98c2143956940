package awsapi

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/gameday-dev/gameday/sandbox/sim"
)

// The EC2 calls runbooks and Terraform's AWS provider make beyond the ones
// gameday itself needs (issue 14). Shapes follow botocore's ec2 2016-11-15
// model (/usr/lib/python3/dist-packages/botocore/data/ec2/2016-11-15/
// service-2.json): ec2query, lowerCamel locationNames, lists of <item>.
// The region has no security group, route table, volume or Elastic IP
// objects of its own: they are derived, deterministically, from its VPC,
// subnets and instances, so every call answers the same ids.

func init() {
	for name, def := range map[string]actionDef{
		"DescribeVpcAttribute":   {fn: (*handler).ec2DescribeVpcAttribute},
		"DescribeRegions":        {fn: (*handler).ec2DescribeRegions},
		"DescribeInstanceStatus": {fn: (*handler).ec2DescribeInstanceStatus},
		"DescribeTags":           {fn: (*handler).ec2DescribeTags},
		"DeleteNetworkAclEntry":  {fn: (*handler).ec2DeleteNetworkAclEntry, mutating: true},
		"ReplaceNetworkAclEntry": {fn: (*handler).ec2ReplaceNetworkAclEntry, mutating: true},
		"DescribeSecurityGroups": {fn: (*handler).ec2DescribeSecurityGroups},
		"DescribeRouteTables":    {fn: (*handler).ec2DescribeRouteTables},
		"DescribeAddresses":      {fn: (*handler).ec2DescribeAddresses},
		"DescribeVolumes":        {fn: (*handler).ec2DescribeVolumes},
		"DescribeInstanceTypes":  {fn: (*handler).ec2DescribeInstanceTypes},
	} {
		ec2Actions[name] = def
	}
	for name, spec := range map[string]pageSpec{
		// MaxResults ranges from botocore's ec2 model.
		"DescribeInstanceStatus": pageEC2,
		"DescribeTags":           pageEC2,
		"DescribeSecurityGroups": pageEC2,
		"DescribeRouteTables":    pageEC2,
		"DescribeVolumes":        {size: "MaxResults", token: "NextToken", min: 5, max: 500},
		"DescribeInstanceTypes":  {size: "MaxResults", token: "NextToken", min: 5, max: 100},
	} {
		paged[ServiceEC2][name] = spec
	}
	for name, note := range map[string]string{
		"DescribeVpcAttribute":   "enableDnsSupport and enableDnsHostnames true, enableNetworkAddressUsageMetrics false (what Terraform's aws_vpc reads).",
		"DescribeRegions":        "The sandbox's one region (RegionNames/region-name, endpoint, opt-in-status filters); another name is InvalidParameterValue.",
		"DescribeInstanceStatus": "Running instances (IncludeAllInstances: every state, not-applicable checks); status checks are ok once running (no initializing phase, no scheduled events), so `aws ec2 wait instance-status-ok` works.",
		"DescribeTags":           "Tags of instances, the VPC, subnets and ACLs; filters key, value, resource-id, resource-type.",
		"DeleteNetworkAclEntry":  "Removes an ingress or egress rule; the data plane stops applying it at once. InvalidNetworkAclEntry.NotFound for a rule that does not exist.",
		"ReplaceNetworkAclEntry": "Replaces a rule in place, validated as CreateNetworkAclEntry; takes effect on the data plane at once.",
		"DescribeSecurityGroups": "Derived, read only: the VPC's default group, the load balancer's (tcp/80 from anywhere), the instances' (tcp/80 from the load balancer's) and the database's (its port from the instances'). Groups do not filter traffic (ACLs do).",
		"DescribeRouteTables":    "Derived, read only: the main table (local route) and the public subnets' table (0.0.0.0/0 to an internet gateway).",
		"DescribeAddresses":      "No Elastic IPs exist: an empty list; a named PublicIp or AllocationId is not found.",
		"DescribeVolumes":        "One 8 GiB gp3 root volume per instance, attached as /dev/xvda, deleted with the instance.",
		"DescribeInstanceTypes":  "A fixed table of common t3/m5/c5 types (vCPUs, memory, network), not AWS's full catalogue.",
	} {
		actionNotes[ServiceEC2][name] = note
	}
}

type ec2AttrBool struct {
	Value bool `xml:"value"`
}

// ec2DescribeVpcAttribute: one attribute per call (Attribute is required,
// as in botocore's model); the sandbox's VPC resolves names and hostnames.
func (h *handler) ec2DescribeVpcAttribute(r *request) (any, error) {
	id, attr := r.p.get("VpcId"), r.p.get("Attribute")
	if id == "" {
		return nil, errMissing(r.service, "VpcId")
	}
	if attr == "" {
		return nil, errMissing(r.service, "Attribute")
	}
	found := false
	for _, v := range h.b.VPCs() {
		found = found || v.ID == id
	}
	if !found {
		return nil, ec2NotFound("InvalidVpcID.NotFound", "vpc", []string{id})
	}
	type out struct {
		VpcID                   string       `xml:"vpcId"`
		EnableDNSHostnames      *ec2AttrBool `xml:"enableDnsHostnames,omitempty"`
		EnableDNSSupport        *ec2AttrBool `xml:"enableDnsSupport,omitempty"`
		EnableNetworkAddrMetric *ec2AttrBool `xml:"enableNetworkAddressUsageMetrics,omitempty"`
	}
	o := out{VpcID: id}
	switch attr {
	case "enableDnsSupport":
		o.EnableDNSSupport = &ec2AttrBool{true}
	case "enableDnsHostnames":
		o.EnableDNSHostnames = &ec2AttrBool{true}
	case "enableNetworkAddressUsageMetrics":
		o.EnableNetworkAddrMetric = &ec2AttrBool{false}
	default:
		return nil, &sim.APIError{Code: "InvalidParameterValue", Message: fmt.Sprintf("Value (%s) for parameter attribute is invalid. Unknown attribute.", attr), Status: http.StatusBadRequest}
	}
	return o, nil
}

func (h *handler) ec2DescribeRegions(r *request) (any, error) {
	region := h.b.RegionName()
	endpoint := "ec2." + region + ".amazonaws.com"
	for _, n := range r.p.list("RegionName") {
		if n != region {
			return nil, &sim.APIError{Code: "InvalidParameterValue", Message: fmt.Sprintf("Invalid region: %s (gameday sandbox serves only %s)", n, region), Status: http.StatusBadRequest}
		}
	}
	fields := fieldSet[string]{
		"region-name":   func(string) []string { return one(region) },
		"endpoint":      func(string) []string { return one(endpoint) },
		"opt-in-status": func(string) []string { return one("opt-in-not-required") },
	}
	regions, err := applyFilters(r.service, []string{region}, r.p.filters("Filter", "Value"), fields, nil)
	if err != nil {
		return nil, err
	}
	type item struct {
		RegionName     string `xml:"regionName"`
		RegionEndpoint string `xml:"regionEndpoint"`
		OptInStatus    string `xml:"optInStatus"`
	}
	type out struct {
		Regions []item `xml:"regionInfo>item"`
	}
	var o out
	for range regions {
		o.Regions = append(o.Regions, item{region, endpoint, "opt-in-not-required"})
	}
	return o, nil
}

type ec2StatusDetail struct {
	Name   string `xml:"name"`
	Status string `xml:"status"`
}

type ec2StatusSummary struct {
	Status  string            `xml:"status"`
	Details []ec2StatusDetail `xml:"details>item,omitempty"`
}

type ec2InstanceStatus struct {
	InstanceID       string           `xml:"instanceId"`
	AvailabilityZone string           `xml:"availabilityZone"`
	InstanceState    ec2State         `xml:"instanceState"`
	SystemStatus     ec2StatusSummary `xml:"systemStatus"`
	InstanceStatus   ec2StatusSummary `xml:"instanceStatus"`
}

// statusChecks: a running instance passes its checks (the sandbox has no
// impaired hardware); any other state has none ("not-applicable").
func statusChecks(i sim.Instance) ec2StatusSummary {
	if i.State != sim.StateRunning {
		return ec2StatusSummary{Status: "not-applicable"}
	}
	return ec2StatusSummary{Status: "ok", Details: []ec2StatusDetail{{"reachability", "passed"}}}
}

func (h *handler) ec2DescribeInstanceStatus(r *request) (any, error) {
	ids := r.p.list("InstanceId")
	if err := checkInstanceIDs(ids); err != nil {
		return nil, err
	}
	if len(ids) > 0 && r.p.has("MaxResults") {
		// DescribeInstanceStatus API reference, MaxResults: "You cannot
		// specify this parameter and the instance IDs parameter in the same
		// request."
		return nil, &sim.APIError{Code: "InvalidParameterCombination", Message: "The parameter instancesSet cannot be used with the parameter maxResults", Status: http.StatusBadRequest}
	}
	all, _ := r.p.boolean("IncludeAllInstances")
	insts := h.b.Instances()
	sort.Slice(insts, func(i, j int) bool { return insts[i].ID < insts[j].ID })
	insts, missing := selectByID(insts, ids, func(i sim.Instance) string { return i.ID })
	if len(missing) > 0 {
		return nil, ec2NotFound("InvalidInstanceID.NotFound", "instance", missing)
	}
	if !all {
		kept := insts[:0]
		for _, i := range insts {
			if i.State == sim.StateRunning {
				kept = append(kept, i)
			}
		}
		insts = kept
	}
	check := func(f func(ec2StatusSummary) string) func(sim.Instance) []string {
		return func(i sim.Instance) []string { return one(f(statusChecks(i))) }
	}
	reach := func(s ec2StatusSummary) string {
		if len(s.Details) == 0 {
			return ""
		}
		return s.Details[0].Status
	}
	status := func(s ec2StatusSummary) string { return s.Status }
	fields := fieldSet[sim.Instance]{
		"availability-zone":            func(i sim.Instance) []string { return one(i.AZ) },
		"instance-state-name":          func(i sim.Instance) []string { return one(i.State) },
		"instance-state-code":          func(i sim.Instance) []string { return one(strconv.Itoa(int(sim.StateCodes[i.State]))) },
		"instance-status.status":       check(status),
		"instance-status.reachability": check(reach),
		"system-status.status":         check(status),
		"system-status.reachability":   check(reach),
	}
	insts, err := applyFilters(r.service, insts, r.p.filters("Filter", "Value"), fields, nil)
	if err != nil {
		return nil, err
	}
	insts, next, err := pageOf(r, insts)
	if err != nil {
		return nil, err
	}
	type out struct {
		Statuses  []ec2InstanceStatus `xml:"instanceStatusSet>item"`
		NextToken string              `xml:"nextToken,omitempty"`
	}
	o := out{NextToken: next}
	for _, i := range insts {
		s := statusChecks(i)
		o.Statuses = append(o.Statuses, ec2InstanceStatus{InstanceID: i.ID, AvailabilityZone: i.AZ, InstanceState: stateOf(i.State), SystemStatus: s, InstanceStatus: s})
	}
	return o, nil
}

type ec2TagDesc struct {
	ResourceID   string `xml:"resourceId"`
	ResourceType string `xml:"resourceType"`
	Key          string `xml:"key"`
	Value        string `xml:"value"`
}

func (h *handler) ec2DescribeTags(r *request) (any, error) {
	var all []ec2TagDesc
	add := func(id, typ string, tags []sim.Tag) {
		for _, t := range sortTags(tags) {
			all = append(all, ec2TagDesc{id, typ, t.Key, t.Value})
		}
	}
	for _, i := range h.b.Instances() {
		add(i.ID, "instance", i.Tags)
	}
	for _, v := range h.b.VPCs() {
		add(v.ID, "vpc", v.Tags)
	}
	for _, s := range h.b.Subnets() {
		add(s.ID, "subnet", s.Tags)
	}
	for _, a := range h.b.NetworkACLs() {
		add(a.ID, "network-acl", a.Tags)
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].ResourceID != all[j].ResourceID {
			return all[i].ResourceID < all[j].ResourceID
		}
		return all[i].Key < all[j].Key
	})
	fields := fieldSet[ec2TagDesc]{
		"key":           func(t ec2TagDesc) []string { return one(t.Key) },
		"value":         func(t ec2TagDesc) []string { return one(t.Value) },
		"resource-id":   func(t ec2TagDesc) []string { return one(t.ResourceID) },
		"resource-type": func(t ec2TagDesc) []string { return one(t.ResourceType) },
	}
	all, err := applyFilters(r.service, all, r.p.filters("Filter", "Value"), fields, nil)
	if err != nil {
		return nil, err
	}
	all, next, err := pageOf(r, all)
	if err != nil {
		return nil, err
	}
	type out struct {
		Tags      []ec2TagDesc `xml:"tagSet>item"`
		NextToken string       `xml:"nextToken,omitempty"`
	}
	return out{all, next}, nil
}

// aclEntryParams reads the NetworkAclId, RuleNumber and Egress that both
// DeleteNetworkAclEntry and ReplaceNetworkAclEntry require.
func aclEntryParams(r *request) (string, int32, bool, error) {
	for _, k := range []string{"NetworkAclId", "RuleNumber", "Egress"} {
		if r.p.get(k) == "" {
			return "", 0, false, errMissing(r.service, k)
		}
	}
	num, _, err := r.p.int32("RuleNumber")
	if err != nil || num < 1 || num > 32766 {
		return "", 0, false, errInvalid(r.service, "RuleNumber", r.p.get("RuleNumber"), "must be between 1 and 32766")
	}
	egress, ok := r.p.boolean("Egress")
	if !ok {
		return "", 0, false, errInvalid(r.service, "Egress", r.p.get("Egress"), "must be true or false")
	}
	return r.p.get("NetworkAclId"), num, egress, nil
}

func (h *handler) ec2DeleteNetworkAclEntry(r *request) (any, error) {
	id, num, egress, err := aclEntryParams(r)
	if err != nil {
		return nil, err
	}
	if err := h.b.DeleteNetworkACLEntry(id, num, egress); err != nil {
		return nil, err
	}
	return ec2Return{true}, nil
}

func (h *handler) ec2ReplaceNetworkAclEntry(r *request) (any, error) {
	id, num, egress, err := aclEntryParams(r)
	if err != nil {
		return nil, err
	}
	for _, k := range []string{"Protocol", "RuleAction"} {
		if r.p.get(k) == "" {
			return nil, errMissing(r.service, k)
		}
	}
	proto, ok := protocolNumber(r.p.get("Protocol"))
	if !ok {
		return nil, errInvalid(r.service, "Protocol", r.p.get("Protocol"), "unknown protocol")
	}
	action := strings.ToLower(r.p.get("RuleAction"))
	if action != "allow" && action != "deny" {
		return nil, errInvalid(r.service, "RuleAction", r.p.get("RuleAction"), "must be allow or deny")
	}
	cidr := r.p.get("CidrBlock")
	if cidr == "" {
		return nil, errMissing(r.service, "CidrBlock")
	}
	from, _, err1 := r.p.int32("PortRange.From")
	to, _, err2 := r.p.int32("PortRange.To")
	if err1 != nil || err2 != nil {
		return nil, errInvalid(r.service, "PortRange", r.p.get("PortRange.From")+"-"+r.p.get("PortRange.To"), "ports must be integers")
	}
	if (proto == "6" || proto == "17") && !r.p.has("PortRange.From") {
		return nil, &sim.APIError{Code: "InvalidParameterValue", Message: "TCP and UDP rules must specify a port range", Status: http.StatusBadRequest}
	}
	e := sim.ACLEntry{RuleNumber: num, Protocol: proto, RuleAction: action, Egress: egress, CIDR: cidr, PortFrom: from, PortTo: to}
	if err := h.b.ReplaceNetworkACLEntry(id, e); err != nil {
		return nil, err
	}
	return ec2Return{true}, nil
}

// ---- derived security groups ----

type ec2GroupPair struct {
	GroupID string `xml:"groupId"`
	UserID  string `xml:"userId"`
}

type ec2IPRange struct {
	CidrIP string `xml:"cidrIp"`
}

type ec2IPPermission struct {
	IPProtocol string         `xml:"ipProtocol"`
	FromPort   *int32         `xml:"fromPort,omitempty"`
	ToPort     *int32         `xml:"toPort,omitempty"`
	Groups     []ec2GroupPair `xml:"groups>item"`
	IPRanges   []ec2IPRange   `xml:"ipRanges>item"`
}

type ec2SecurityGroup struct {
	OwnerID          string            `xml:"ownerId"`
	GroupName        string            `xml:"groupName"`
	GroupID          string            `xml:"groupId"`
	GroupDescription string            `xml:"groupDescription"`
	IPPermissions    []ec2IPPermission `xml:"ipPermissions>item"`
	IPPermissionsEg  []ec2IPPermission `xml:"ipPermissionsEgress>item"`
	VpcID            string            `xml:"vpcId"`
	SecurityGroupArn string            `xml:"securityGroupArn"`
	Tags             []ec2Tag          `xml:"tagSet>item"`
}

type ec2GroupRef struct {
	GroupID   string `xml:"groupId"`
	GroupName string `xml:"groupName"`
}

// sgID is the derived id of the VPC's security group role.
func sgID(vpcID, role string) string { return "sg-" + shortHash(vpcID+"/sg/"+role, 17) }

// instanceGroup is the security group every web instance is in.
func instanceGroup(vpcID string) ec2GroupRef {
	return ec2GroupRef{GroupID: sgID(vpcID, "web"), GroupName: "gameday-web"}
}

func (h *handler) securityGroups() []ec2SecurityGroup {
	acct := h.b.AccountID()
	port := func(p int32) *int32 { return &p }
	allOut := []ec2IPPermission{{IPProtocol: "-1", IPRanges: []ec2IPRange{{"0.0.0.0/0"}}}}
	var out []ec2SecurityGroup
	for _, v := range h.b.VPCs() {
		mk := func(role, name, desc string, in []ec2IPPermission) ec2SecurityGroup {
			id := sgID(v.ID, role)
			return ec2SecurityGroup{OwnerID: acct, GroupName: name, GroupID: id, GroupDescription: desc, IPPermissions: in, IPPermissionsEg: allOut, VpcID: v.ID,
				SecurityGroupArn: fmt.Sprintf("arn:aws:ec2:%s:%s:security-group/%s", h.b.RegionName(), acct, id)}
		}
		out = append(out,
			mk("default", "default", "default VPC security group", []ec2IPPermission{{IPProtocol: "-1", Groups: []ec2GroupPair{{sgID(v.ID, "default"), acct}}}}),
			mk("alb", "gameday-alb", "gameday load balancer", []ec2IPPermission{{IPProtocol: "tcp", FromPort: port(80), ToPort: port(80), IPRanges: []ec2IPRange{{"0.0.0.0/0"}}}}),
			mk("web", "gameday-web", "gameday web instances", []ec2IPPermission{{IPProtocol: "tcp", FromPort: port(80), ToPort: port(80), Groups: []ec2GroupPair{{sgID(v.ID, "alb"), acct}}}}),
		)
		for _, d := range h.b.DBInstances() {
			out = append(out, mk("db", "gameday-db", "gameday database", []ec2IPPermission{{IPProtocol: "tcp", FromPort: port(d.Port), ToPort: port(d.Port), Groups: []ec2GroupPair{{sgID(v.ID, "web"), acct}}}}))
			break
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GroupID < out[j].GroupID })
	return out
}

func (h *handler) ec2DescribeSecurityGroups(r *request) (any, error) {
	groups := h.securityGroups()
	groups, missing := selectByID(groups, r.p.list("GroupId"), func(g ec2SecurityGroup) string { return g.GroupID })
	if len(missing) > 0 {
		return nil, &sim.APIError{Code: "InvalidGroup.NotFound", Message: fmt.Sprintf("The security group '%s' does not exist", missing[0]), Status: http.StatusBadRequest}
	}
	groups, missing = selectByID(groups, r.p.list("GroupName"), func(g ec2SecurityGroup) string { return g.GroupName })
	if len(missing) > 0 {
		return nil, &sim.APIError{Code: "InvalidGroup.NotFound", Message: fmt.Sprintf("The security group '%s' does not exist in default VPC", missing[0]), Status: http.StatusBadRequest}
	}
	fields := fieldSet[ec2SecurityGroup]{
		"group-id":    func(g ec2SecurityGroup) []string { return one(g.GroupID) },
		"group-name":  func(g ec2SecurityGroup) []string { return one(g.GroupName) },
		"description": func(g ec2SecurityGroup) []string { return one(g.GroupDescription) },
		"vpc-id":      func(g ec2SecurityGroup) []string { return one(g.VpcID) },
		"owner-id":    func(g ec2SecurityGroup) []string { return one(g.OwnerID) },
	}
	groups, err := applyFilters(r.service, groups, r.p.filters("Filter", "Value"), fields, func(ec2SecurityGroup) []sim.Tag { return nil })
	if err != nil {
		return nil, err
	}
	groups, next, err := pageOf(r, groups)
	if err != nil {
		return nil, err
	}
	type out struct {
		Groups    []ec2SecurityGroup `xml:"securityGroupInfo>item"`
		NextToken string             `xml:"nextToken,omitempty"`
	}
	return out{groups, next}, nil
}

// ---- derived route tables ----

type ec2Route struct {
	DestinationCidrBlock string `xml:"destinationCidrBlock"`
	GatewayID            string `xml:"gatewayId"`
	State                string `xml:"state"`
	Origin               string `xml:"origin"`
}

type ec2AssocState struct {
	State string `xml:"state"`
}

type ec2RouteTableAssoc struct {
	Main                    bool          `xml:"main"`
	RouteTableAssociationID string        `xml:"routeTableAssociationId"`
	RouteTableID            string        `xml:"routeTableId"`
	SubnetID                string        `xml:"subnetId,omitempty"`
	AssociationState        ec2AssocState `xml:"associationState"`
}

type ec2RouteTable struct {
	RouteTableID string               `xml:"routeTableId"`
	VpcID        string               `xml:"vpcId"`
	OwnerID      string               `xml:"ownerId"`
	Routes       []ec2Route           `xml:"routeSet>item"`
	Associations []ec2RouteTableAssoc `xml:"associationSet>item"`
	Tags         []ec2Tag             `xml:"tagSet>item"`
}

func (h *handler) routeTables() []ec2RouteTable {
	var out []ec2RouteTable
	subnets := h.b.Subnets()
	sort.Slice(subnets, func(i, j int) bool { return subnets[i].ID < subnets[j].ID })
	for _, v := range h.b.VPCs() {
		local := ec2Route{DestinationCidrBlock: v.CIDR, GatewayID: "local", State: "active", Origin: "CreateRouteTable"}
		mainID := "rtb-" + shortHash(v.ID+"/rtb/main", 17)
		pubID := "rtb-" + shortHash(v.ID+"/rtb/public", 17)
		igw := "igw-" + shortHash(v.ID+"/igw", 17)
		main := ec2RouteTable{RouteTableID: mainID, VpcID: v.ID, OwnerID: h.b.AccountID(), Routes: []ec2Route{local},
			Associations: []ec2RouteTableAssoc{{Main: true, RouteTableAssociationID: "rtbassoc-" + shortHash(mainID+"/main", 17), RouteTableID: mainID, AssociationState: ec2AssocState{"associated"}}},
			Tags:         []ec2Tag{{"Name", "gameday-main"}}}
		pub := ec2RouteTable{RouteTableID: pubID, VpcID: v.ID, OwnerID: h.b.AccountID(),
			Routes: []ec2Route{local, {DestinationCidrBlock: "0.0.0.0/0", GatewayID: igw, State: "active", Origin: "CreateRoute"}},
			Tags:   []ec2Tag{{"Name", "gameday-public"}}}
		for _, s := range subnets {
			if s.VPCID == v.ID && s.Public {
				pub.Associations = append(pub.Associations, ec2RouteTableAssoc{RouteTableAssociationID: "rtbassoc-" + shortHash(pubID+"/"+s.ID, 17), RouteTableID: pubID, SubnetID: s.ID, AssociationState: ec2AssocState{"associated"}})
			}
		}
		out = append(out, main, pub)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RouteTableID < out[j].RouteTableID })
	return out
}

func rtAssocField(f func(ec2RouteTableAssoc) string) func(ec2RouteTable) []string {
	return func(t ec2RouteTable) []string {
		var out []string
		for _, a := range t.Associations {
			out = append(out, f(a))
		}
		return out
	}
}

func rtRouteField(f func(ec2Route) string) func(ec2RouteTable) []string {
	return func(t ec2RouteTable) []string {
		var out []string
		for _, a := range t.Routes {
			out = append(out, f(a))
		}
		return out
	}
}

func (h *handler) ec2DescribeRouteTables(r *request) (any, error) {
	tables, missing := selectByID(h.routeTables(), r.p.list("RouteTableId"), func(t ec2RouteTable) string { return t.RouteTableID })
	if len(missing) > 0 {
		return nil, ec2NotFound("InvalidRouteTableID.NotFound", "route table", missing)
	}
	fields := fieldSet[ec2RouteTable]{
		"route-table-id":                         func(t ec2RouteTable) []string { return one(t.RouteTableID) },
		"vpc-id":                                 func(t ec2RouteTable) []string { return one(t.VpcID) },
		"owner-id":                               func(t ec2RouteTable) []string { return one(t.OwnerID) },
		"association.subnet-id":                  rtAssocField(func(a ec2RouteTableAssoc) string { return a.SubnetID }),
		"association.route-table-association-id": rtAssocField(func(a ec2RouteTableAssoc) string { return a.RouteTableAssociationID }),
		"association.route-table-id":             rtAssocField(func(a ec2RouteTableAssoc) string { return a.RouteTableID }),
		"association.main":                       rtAssocField(func(a ec2RouteTableAssoc) string { return strconv.FormatBool(a.Main) }),
		"route.destination-cidr-block":           rtRouteField(func(x ec2Route) string { return x.DestinationCidrBlock }),
		"route.gateway-id":                       rtRouteField(func(x ec2Route) string { return x.GatewayID }),
		"route.state":                            rtRouteField(func(x ec2Route) string { return x.State }),
	}
	tables, err := applyFilters(r.service, tables, r.p.filters("Filter", "Value"), fields, func(t ec2RouteTable) []sim.Tag {
		var out []sim.Tag
		for _, x := range t.Tags {
			out = append(out, sim.Tag{Key: x.Key, Value: x.Value})
		}
		return out
	})
	if err != nil {
		return nil, err
	}
	tables, next, err := pageOf(r, tables)
	if err != nil {
		return nil, err
	}
	type out struct {
		Tables    []ec2RouteTable `xml:"routeTableSet>item"`
		NextToken string          `xml:"nextToken,omitempty"`
	}
	return out{tables, next}, nil
}

// ec2DescribeAddresses: the sandbox allocates no Elastic IPs.
func (h *handler) ec2DescribeAddresses(r *request) (any, error) {
	if ips := r.p.list("PublicIp"); len(ips) > 0 {
		return nil, &sim.APIError{Code: "InvalidAddress.NotFound", Message: fmt.Sprintf("Address '%s' not found.", ips[0]), Status: http.StatusBadRequest}
	}
	if ids := r.p.list("AllocationId"); len(ids) > 0 {
		return nil, &sim.APIError{Code: "InvalidAllocationID.NotFound", Message: fmt.Sprintf("The allocation ID '%s' does not exist", ids[0]), Status: http.StatusBadRequest}
	}
	fields := fieldSet[struct{}]{}
	for _, n := range []string{"allocation-id", "association-id", "domain", "instance-id", "network-interface-id", "private-ip-address", "public-ip", "network-border-group"} {
		fields[n] = func(struct{}) []string { return nil }
	}
	if _, err := applyFilters(r.service, nil, r.p.filters("Filter", "Value"), fields, func(struct{}) []sim.Tag { return nil }); err != nil {
		return nil, err
	}
	type out struct {
		Addresses emptyList `xml:"addressesSet"`
	}
	return out{}, nil
}

// ---- derived root volumes ----

type ec2VolumeAttachment struct {
	VolumeID            string `xml:"volumeId"`
	InstanceID          string `xml:"instanceId"`
	Device              string `xml:"device"`
	Status              string `xml:"status"`
	AttachTime          string `xml:"attachTime"`
	DeleteOnTermination bool   `xml:"deleteOnTermination"`
}

type ec2Volume struct {
	VolumeID           string                `xml:"volumeId"`
	Size               int32                 `xml:"size"`
	SnapshotID         string                `xml:"snapshotId"`
	AvailabilityZone   string                `xml:"availabilityZone"`
	Status             string                `xml:"status"`
	CreateTime         string                `xml:"createTime"`
	Attachments        []ec2VolumeAttachment `xml:"attachmentSet>item"`
	VolumeType         string                `xml:"volumeType"`
	Iops               int32                 `xml:"iops"`
	Throughput         int32                 `xml:"throughput"`
	Encrypted          bool                  `xml:"encrypted"`
	MultiAttachEnabled bool                  `xml:"multiAttachEnabled"`
}

func rootVolumeID(instanceID string) string { return "vol-" + shortHash(instanceID+"/root", 17) }

func (h *handler) volumes() []ec2Volume {
	var out []ec2Volume
	for _, i := range h.b.Instances() {
		if i.State == sim.StateTerminated {
			continue // DeleteOnTermination
		}
		id := rootVolumeID(i.ID)
		out = append(out, ec2Volume{VolumeID: id, Size: 8, SnapshotID: "snap-" + shortHash(i.ImageID, 17), AvailabilityZone: i.AZ, Status: "in-use", CreateTime: iso(i.LaunchTime),
			Attachments: []ec2VolumeAttachment{{VolumeID: id, InstanceID: i.ID, Device: "/dev/xvda", Status: "attached", AttachTime: iso(i.LaunchTime), DeleteOnTermination: true}},
			VolumeType:  "gp3", Iops: 3000, Throughput: 125})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].VolumeID < out[j].VolumeID })
	return out
}

func (h *handler) ec2DescribeVolumes(r *request) (any, error) {
	vols, missing := selectByID(h.volumes(), r.p.list("VolumeId"), func(v ec2Volume) string { return v.VolumeID })
	if len(missing) > 0 {
		return nil, ec2NotFound("InvalidVolume.NotFound", "volume", missing)
	}
	att := func(f func(ec2VolumeAttachment) string) func(ec2Volume) []string {
		return func(v ec2Volume) []string {
			var out []string
			for _, a := range v.Attachments {
				out = append(out, f(a))
			}
			return out
		}
	}
	fields := fieldSet[ec2Volume]{
		"volume-id":                        func(v ec2Volume) []string { return one(v.VolumeID) },
		"availability-zone":                func(v ec2Volume) []string { return one(v.AvailabilityZone) },
		"status":                           func(v ec2Volume) []string { return one(v.Status) },
		"volume-type":                      func(v ec2Volume) []string { return one(v.VolumeType) },
		"size":                             func(v ec2Volume) []string { return one(strconv.Itoa(int(v.Size))) },
		"encrypted":                        func(v ec2Volume) []string { return boolStr(v.Encrypted) },
		"attachment.instance-id":           att(func(a ec2VolumeAttachment) string { return a.InstanceID }),
		"attachment.device":                att(func(a ec2VolumeAttachment) string { return a.Device }),
		"attachment.status":                att(func(a ec2VolumeAttachment) string { return a.Status }),
		"attachment.delete-on-termination": att(func(a ec2VolumeAttachment) string { return strconv.FormatBool(a.DeleteOnTermination) }),
	}
	vols, err := applyFilters(r.service, vols, r.p.filters("Filter", "Value"), fields, func(ec2Volume) []sim.Tag { return nil })
	if err != nil {
		return nil, err
	}
	vols, next, err := pageOf(r, vols)
	if err != nil {
		return nil, err
	}
	type out struct {
		Volumes   []ec2Volume `xml:"volumeSet>item"`
		NextToken string      `xml:"nextToken,omitempty"`
	}
	return out{vols, next}, nil
}

// ---- instance types ----

type ec2InstanceType struct {
	InstanceType                 string   `xml:"instanceType"`
	CurrentGeneration            bool     `xml:"currentGeneration"`
	FreeTierEligible             bool     `xml:"freeTierEligible"`
	SupportedUsageClasses        []string `xml:"supportedUsageClasses>item"`
	SupportedRootDeviceTypes     []string `xml:"supportedRootDeviceTypes>item"`
	SupportedVirtualizationTypes []string `xml:"supportedVirtualizationTypes>item"`
	BareMetal                    bool     `xml:"bareMetal"`
	Hypervisor                   string   `xml:"hypervisor"`
	ProcessorInfo                struct {
		SupportedArchitectures []string `xml:"supportedArchitectures>item"`
	} `xml:"processorInfo"`
	VCPUInfo struct {
		DefaultVCpus          int32 `xml:"defaultVCpus"`
		DefaultCores          int32 `xml:"defaultCores"`
		DefaultThreadsPerCore int32 `xml:"defaultThreadsPerCore"`
	} `xml:"vCpuInfo"`
	MemoryInfo struct {
		SizeInMiB int64 `xml:"sizeInMiB"`
	} `xml:"memoryInfo"`
	InstanceStorageSupported bool `xml:"instanceStorageSupported"`
	EbsInfo                  struct {
		EbsOptimizedSupport string `xml:"ebsOptimizedSupport"`
		EncryptionSupport   string `xml:"encryptionSupport"`
		NvmeSupport         string `xml:"nvmeSupport"`
	} `xml:"ebsInfo"`
	NetworkInfo struct {
		NetworkPerformance       string `xml:"networkPerformance"`
		MaximumNetworkInterfaces int32  `xml:"maximumNetworkInterfaces"`
		Ipv4AddressesPerIface    int32  `xml:"ipv4AddressesPerInterface"`
		EnaSupport               string `xml:"enaSupport"`
	} `xml:"networkInfo"`
}

// instanceTypeTable: vCPUs, memory (MiB), network performance, ENIs, IPs per
// ENI, from the EC2 instance type pages for these families.
var instanceTypeTable = []struct {
	name         string
	vcpu         int32
	mem          int64
	net          string
	enis, ips    int32
	burst, freeT bool
}{
	{"c5.large", 2, 4096, "Up to 10 Gigabit", 3, 10, false, false},
	{"m5.large", 2, 8192, "Up to 10 Gigabit", 3, 10, false, false},
	{"m5.xlarge", 4, 16384, "Up to 10 Gigabit", 4, 15, false, false},
	{"t3.large", 2, 8192, "Up to 5 Gigabit", 3, 12, true, false},
	{"t3.medium", 2, 4096, "Up to 5 Gigabit", 3, 6, true, false},
	{"t3.micro", 2, 1024, "Up to 5 Gigabit", 2, 2, true, true},
	{"t3.nano", 2, 512, "Up to 5 Gigabit", 2, 2, true, false},
	{"t3.small", 2, 2048, "Up to 5 Gigabit", 3, 4, true, false},
}

func instanceTypes() []ec2InstanceType {
	var out []ec2InstanceType
	for _, t := range instanceTypeTable {
		var x ec2InstanceType
		x.InstanceType, x.CurrentGeneration, x.FreeTierEligible = t.name, true, t.freeT
		x.SupportedUsageClasses = []string{"on-demand", "spot"}
		x.SupportedRootDeviceTypes = []string{"ebs"}
		x.SupportedVirtualizationTypes = []string{"hvm"}
		x.Hypervisor = "nitro"
		x.ProcessorInfo.SupportedArchitectures = []string{"x86_64"}
		x.VCPUInfo.DefaultVCpus, x.VCPUInfo.DefaultCores, x.VCPUInfo.DefaultThreadsPerCore = t.vcpu, t.vcpu/2, 2
		x.MemoryInfo.SizeInMiB = t.mem
		x.EbsInfo.EbsOptimizedSupport, x.EbsInfo.EncryptionSupport, x.EbsInfo.NvmeSupport = "default", "supported", "required"
		x.NetworkInfo.NetworkPerformance, x.NetworkInfo.MaximumNetworkInterfaces, x.NetworkInfo.Ipv4AddressesPerIface, x.NetworkInfo.EnaSupport = t.net, t.enis, t.ips, "required"
		out = append(out, x)
	}
	return out
}

func (h *handler) ec2DescribeInstanceTypes(r *request) (any, error) {
	types, missing := selectByID(instanceTypes(), r.p.list("InstanceType"), func(t ec2InstanceType) string { return t.InstanceType })
	if len(missing) > 0 {
		// The message EC2 sends for an unknown type.
		return nil, &sim.APIError{Code: "InvalidInstanceType", Message: fmt.Sprintf("The following supplied instance types do not exist: [%s]", strings.Join(missing, ", ")), Status: http.StatusBadRequest}
	}
	fields := fieldSet[ec2InstanceType]{
		"instance-type":                         func(t ec2InstanceType) []string { return one(t.InstanceType) },
		"current-generation":                    func(t ec2InstanceType) []string { return boolStr(t.CurrentGeneration) },
		"free-tier-eligible":                    func(t ec2InstanceType) []string { return boolStr(t.FreeTierEligible) },
		"vcpu-info.default-vcpus":               func(t ec2InstanceType) []string { return one(strconv.Itoa(int(t.VCPUInfo.DefaultVCpus))) },
		"memory-info.size-in-mib":               func(t ec2InstanceType) []string { return one(strconv.FormatInt(t.MemoryInfo.SizeInMiB, 10)) },
		"processor-info.supported-architecture": func(t ec2InstanceType) []string { return t.ProcessorInfo.SupportedArchitectures },
	}
	types, err := applyFilters(r.service, types, r.p.filters("Filter", "Value"), fields, nil)
	if err != nil {
		return nil, err
	}
	types, next, err := pageOf(r, types)
	if err != nil {
		return nil, err
	}
	type out struct {
		Types     []ec2InstanceType `xml:"instanceTypeSet>item"`
		NextToken string            `xml:"nextToken,omitempty"`
	}
	return out{types, next}, nil
}
