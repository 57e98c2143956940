package awsapi

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/gameday-dev/gameday/sandbox/sim"
)

// ---- EC2 wire shapes (ec2query: lowerCamel names, lists of <item>) ----

type ec2Tag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

func ec2Tags(ts []sim.Tag) []ec2Tag {
	out := make([]ec2Tag, 0, len(ts))
	for _, t := range sortTags(ts) {
		out = append(out, ec2Tag{t.Key, t.Value})
	}
	return out
}

type ec2State struct {
	Code int32  `xml:"code"`
	Name string `xml:"name"`
}

func stateOf(name string) ec2State { return ec2State{Code: sim.StateCodes[name], Name: name} }

type ec2StateReason struct {
	Code    string `xml:"code"`
	Message string `xml:"message"`
}

type ec2Placement struct {
	AvailabilityZone   string `xml:"availabilityZone"`
	AvailabilityZoneID string `xml:"availabilityZoneId,omitempty"`
	GroupName          string `xml:"groupName"`
	Tenancy            string `xml:"tenancy"`
}

type ec2Monitoring struct {
	State string `xml:"state"`
}

type ec2Instance struct {
	InstanceID         string          `xml:"instanceId"`
	ImageID            string          `xml:"imageId"`
	InstanceState      ec2State        `xml:"instanceState"`
	PrivateDNSName     string          `xml:"privateDnsName"`
	DNSName            string          `xml:"dnsName"`
	Reason             string          `xml:"reason"`
	AmiLaunchIndex     int             `xml:"amiLaunchIndex"`
	InstanceType       string          `xml:"instanceType"`
	LaunchTime         string          `xml:"launchTime"`
	Placement          ec2Placement    `xml:"placement"`
	Monitoring         ec2Monitoring   `xml:"monitoring"`
	SubnetID           string          `xml:"subnetId,omitempty"`
	VpcID              string          `xml:"vpcId,omitempty"`
	PrivateIPAddress   string          `xml:"privateIpAddress,omitempty"`
	SourceDestCheck    bool            `xml:"sourceDestCheck"`
	StateReason        *ec2StateReason `xml:"stateReason,omitempty"`
	Architecture       string          `xml:"architecture"`
	RootDeviceType     string          `xml:"rootDeviceType"`
	RootDeviceName     string          `xml:"rootDeviceName"`
	VirtualizationType string          `xml:"virtualizationType"`
	Hypervisor         string          `xml:"hypervisor"`
	EbsOptimized       bool            `xml:"ebsOptimized"`
	Tags               []ec2Tag        `xml:"tagSet>item"`
	// ec2more_shapes.go: derived from the instance while it is not terminated.
	SecurityGroups      []ec2GroupRef    `xml:"groupSet>item"`
	NetworkInterfaces   []ec2InstanceENI `xml:"networkInterfaceSet>item"`
	BlockDeviceMappings []ec2InstanceBDM `xml:"blockDeviceMapping>item"`
}

type ec2Reservation struct {
	ReservationID string        `xml:"reservationId"`
	OwnerID       string        `xml:"ownerId"`
	RequesterID   string        `xml:"requesterId,omitempty"`
	Instances     []ec2Instance `xml:"instancesSet>item"`
}

type ec2StateChange struct {
	InstanceID    string   `xml:"instanceId"`
	CurrentState  ec2State `xml:"currentState"`
	PreviousState ec2State `xml:"previousState"`
}

type ec2Subnet struct {
	SubnetID                string   `xml:"subnetId"`
	SubnetArn               string   `xml:"subnetArn"`
	State                   string   `xml:"state"`
	OwnerID                 string   `xml:"ownerId"`
	VpcID                   string   `xml:"vpcId"`
	CidrBlock               string   `xml:"cidrBlock"`
	AvailableIPAddressCount int      `xml:"availableIpAddressCount"`
	AvailabilityZone        string   `xml:"availabilityZone"`
	AvailabilityZoneID      string   `xml:"availabilityZoneId,omitempty"`
	DefaultForAz            bool     `xml:"defaultForAz"`
	MapPublicIPOnLaunch     bool     `xml:"mapPublicIpOnLaunch"`
	Tags                    []ec2Tag `xml:"tagSet>item"`
}

type ec2AZ struct {
	ZoneName           string `xml:"zoneName"`
	ZoneState          string `xml:"zoneState"`
	RegionName         string `xml:"regionName"`
	ZoneID             string `xml:"zoneId"`
	GroupName          string `xml:"groupName"`
	NetworkBorderGroup string `xml:"networkBorderGroup"`
	OptInStatus        string `xml:"optInStatus"`
	ZoneType           string `xml:"zoneType"`
}

type ec2Vpc struct {
	VpcID           string   `xml:"vpcId"`
	OwnerID         string   `xml:"ownerId"`
	State           string   `xml:"state"`
	CidrBlock       string   `xml:"cidrBlock"`
	DhcpOptionsID   string   `xml:"dhcpOptionsId"`
	InstanceTenancy string   `xml:"instanceTenancy"`
	IsDefault       bool     `xml:"isDefault"`
	Tags            []ec2Tag `xml:"tagSet>item"`
}

type ec2PortRange struct {
	From int32 `xml:"from"`
	To   int32 `xml:"to"`
}

type ec2ACLEntry struct {
	RuleNumber int32         `xml:"ruleNumber"`
	Protocol   string        `xml:"protocol"`
	RuleAction string        `xml:"ruleAction"`
	Egress     bool          `xml:"egress"`
	CidrBlock  string        `xml:"cidrBlock"`
	PortRange  *ec2PortRange `xml:"portRange,omitempty"`
}

type ec2ACLAssoc struct {
	NetworkACLAssociationID string `xml:"networkAclAssociationId"`
	NetworkACLID            string `xml:"networkAclId"`
	SubnetID                string `xml:"subnetId"`
}

type ec2ACL struct {
	NetworkACLID string        `xml:"networkAclId"`
	VpcID        string        `xml:"vpcId"`
	Default      bool          `xml:"default"`
	Entries      []ec2ACLEntry `xml:"entrySet>item"`
	Associations []ec2ACLAssoc `xml:"associationSet>item"`
	Tags         []ec2Tag      `xml:"tagSet>item"`
	OwnerID      string        `xml:"ownerId"`
}

type ec2ENIAssociation struct {
	IPOwnerID     string `xml:"ipOwnerId"`
	PublicDNSName string `xml:"publicDnsName"`
	PublicIP      string `xml:"publicIp"`
}

type ec2ENI struct {
	NetworkInterfaceID string             `xml:"networkInterfaceId"`
	SubnetID           string             `xml:"subnetId"`
	VpcID              string             `xml:"vpcId"`
	AvailabilityZone   string             `xml:"availabilityZone"`
	AvailabilityZoneID string             `xml:"availabilityZoneId,omitempty"`
	Description        string             `xml:"description"`
	OwnerID            string             `xml:"ownerId"`
	RequesterID        string             `xml:"requesterId"`
	RequesterManaged   bool               `xml:"requesterManaged"`
	Status             string             `xml:"status"`
	PrivateIPAddress   string             `xml:"privateIpAddress,omitempty"`
	SourceDestCheck    bool               `xml:"sourceDestCheck"`
	InterfaceType      string             `xml:"interfaceType"`
	Association        *ec2ENIAssociation `xml:"association,omitempty"`
	Tags               []ec2Tag           `xml:"tagSet>item"`
	// Instances' interfaces (ec2more_shapes.go).
	MacAddress string            `xml:"macAddress,omitempty"`
	Groups     []ec2GroupRef     `xml:"groupSet>item"`
	Attachment *ec2ENIAttachInfo `xml:"attachment,omitempty"`
}

// ---- actions ----

var ec2Actions = map[string]actionDef{
	"DescribeInstances":            {fn: (*handler).ec2DescribeInstances},
	"TerminateInstances":           {fn: (*handler).ec2TerminateInstances, mutating: true},
	"StopInstances":                {fn: (*handler).ec2StopInstances, mutating: true},
	"StartInstances":               {fn: (*handler).ec2StartInstances, mutating: true},
	"RebootInstances":              {fn: (*handler).ec2RebootInstances, mutating: true},
	"DescribeSubnets":              {fn: (*handler).ec2DescribeSubnets},
	"DescribeAvailabilityZones":    {fn: (*handler).ec2DescribeAvailabilityZones},
	"DescribeVpcs":                 {fn: (*handler).ec2DescribeVpcs},
	"DescribeNetworkAcls":          {fn: (*handler).ec2DescribeNetworkAcls},
	"CreateNetworkAcl":             {fn: (*handler).ec2CreateNetworkAcl, mutating: true},
	"CreateNetworkAclEntry":        {fn: (*handler).ec2CreateNetworkAclEntry, mutating: true},
	"DeleteNetworkAcl":             {fn: (*handler).ec2DeleteNetworkAcl, mutating: true},
	"ReplaceNetworkAclAssociation": {fn: (*handler).ec2ReplaceNetworkAclAssociation, mutating: true},
	"CreateTags":                   {fn: (*handler).ec2CreateTags, mutating: true},
	"DeleteTags":                   {fn: (*handler).ec2DeleteTags, mutating: true},
	"DescribeNetworkInterfaces":    {fn: (*handler).ec2DescribeNetworkInterfaces},
}

type ec2Return struct {
	Return bool `xml:"return"`
}

func ec2NotFound(code, noun string, ids []string) error {
	msg := fmt.Sprintf("The %s ID %s does not exist", noun, quoteJoin(ids))
	if len(ids) > 1 {
		msg = fmt.Sprintf("The %s IDs %s do not exist", noun, quoteJoin(ids))
	}
	return &sim.APIError{Code: code, Message: msg, Status: http.StatusBadRequest}
}

func (h *handler) azIDs() map[string]string {
	m := map[string]string{}
	for _, az := range h.b.AvailabilityZones() {
		m[az.Name] = az.ID
	}
	return m
}

var instanceFields = fieldSet[sim.Instance]{
	"instance-id":         func(i sim.Instance) []string { return one(i.ID) },
	"instance-state-name": func(i sim.Instance) []string { return one(i.State) },
	"instance-state-code": func(i sim.Instance) []string {
		return one(strconv.Itoa(int(sim.StateCodes[i.State])))
	},
	"availability-zone":  func(i sim.Instance) []string { return one(i.AZ) },
	"subnet-id":          func(i sim.Instance) []string { return one(i.SubnetID) },
	"vpc-id":             func(i sim.Instance) []string { return one(i.VPCID) },
	"instance-type":      func(i sim.Instance) []string { return one(i.InstanceType) },
	"image-id":           func(i sim.Instance) []string { return one(i.ImageID) },
	"private-ip-address": func(i sim.Instance) []string { return one(i.PrivateIP) },
	"reservation-id":     func(i sim.Instance) []string { return one(reservationID(i.ID)) },
}

func reservationID(instanceID string) string {
	return "r-" + strings.TrimPrefix(instanceID, "i-")
}

func privateDNS(ip, region string) string {
	if ip == "" {
		return ""
	}
	return "ip-" + strings.ReplaceAll(ip, ".", "-") + "." + region + ".compute.internal"
}

var stateReasonMessages = map[string]string{
	"Client.UserInitiatedShutdown":        "Client.UserInitiatedShutdown: User initiated shutdown",
	"Server.ScheduledStop":                "Server.ScheduledStop: Stopped due to scheduled retirement",
	"Client.InstanceInitiatedShutdown":    "Client.InstanceInitiatedShutdown: Instance initiated shutdown",
	"Server.InternalError":                "Server.InternalError: Internal error on launch",
	"Client.UserInitiatedHibernate":       "Client.UserInitiatedHibernate: User initiated hibernate",
	"Server.SpotInstanceTermination":      "Server.SpotInstanceTermination: Spot instance termination",
	"Server.InsufficientInstanceCapacity": "Server.InsufficientInstanceCapacity: Insufficient capacity to satisfy launch request",
}

// splitStateReason returns StateReason's Code and Message as EC2 splits
// them: the code alone ("Client.UserInitiatedShutdown") and the message
// that repeats it ("Client.UserInitiatedShutdown: User initiated
// shutdown"; EC2 API reference, StateReason). The model may hold either.
func splitStateReason(reason string) (code, msg string) {
	code, _, _ = strings.Cut(reason, ": ")
	msg = stateReasonMessages[code]
	if msg == "" {
		msg = reason
	}
	return code, msg
}

func (h *handler) ec2InstanceXML(i sim.Instance, azIDs map[string]string) ec2Instance {
	out := ec2Instance{
		InstanceID:         i.ID,
		ImageID:            i.ImageID,
		InstanceState:      stateOf(i.State),
		PrivateDNSName:     privateDNS(i.PrivateIP, h.b.RegionName()),
		InstanceType:       i.InstanceType,
		LaunchTime:         iso(i.LaunchTime),
		Placement:          ec2Placement{AvailabilityZone: i.AZ, AvailabilityZoneID: azIDs[i.AZ], Tenancy: "default"},
		Monitoring:         ec2Monitoring{State: "disabled"},
		SubnetID:           i.SubnetID,
		VpcID:              i.VPCID,
		PrivateIPAddress:   i.PrivateIP,
		SourceDestCheck:    true,
		Architecture:       "x86_64",
		RootDeviceType:     "ebs",
		RootDeviceName:     "/dev/xvda",
		VirtualizationType: "hvm",
		Hypervisor:         "xen",
		Tags:               ec2Tags(i.Tags),
	}
	if i.State == sim.StateTerminated || i.State == sim.StateStopped {
		out.PrivateDNSName = ""
		if i.State == sim.StateTerminated {
			out.SubnetID, out.VpcID, out.PrivateIPAddress = "", "", ""
		}
	}
	if i.State != sim.StateTerminated {
		h.addInstanceAttachments(&out, i)
	}
	if i.StateReason != "" {
		code, msg := splitStateReason(i.StateReason)
		out.StateReason = &ec2StateReason{Code: code, Message: msg}
		if strings.Contains(i.StateReason, "UserInitiated") {
			out.Reason = "User initiated"
		}
	}
	return out
}

func checkInstanceIDs(ids []string) error {
	for _, id := range ids {
		if !strings.HasPrefix(id, "i-") || len(id) < 3 {
			return &sim.APIError{Code: "InvalidInstanceID.Malformed", Message: fmt.Sprintf("Invalid id: \"%s\"", id), Status: http.StatusBadRequest}
		}
	}
	return nil
}

func (h *handler) ec2DescribeInstances(r *request) (any, error) {
	ids := r.p.list("InstanceId")
	if err := checkInstanceIDs(ids); err != nil {
		return nil, err
	}
	if len(ids) > 0 && r.p.has("MaxResults") {
		// DescribeInstances API reference, MaxResults: "You cannot specify
		// this parameter and the instance IDs parameter in the same request."
		return nil, &sim.APIError{Code: "InvalidParameterCombination", Message: "The parameter instancesSet cannot be used with the parameter maxResults", Status: http.StatusBadRequest}
	}
	insts := h.b.Instances()
	sort.Slice(insts, func(i, j int) bool { return insts[i].ID < insts[j].ID })
	insts, missing := selectByID(insts, ids, func(i sim.Instance) string { return i.ID })
	if len(missing) > 0 {
		return nil, ec2NotFound("InvalidInstanceID.NotFound", "instance", missing)
	}
	insts, err := applyFilters(r.service, insts, r.p.filters("Filter", "Value"), instanceFields, func(i sim.Instance) []sim.Tag { return i.Tags })
	if err != nil {
		return nil, err
	}
	insts, next, err := pageOf(r, insts)
	if err != nil {
		return nil, err
	}
	azIDs := h.azIDs()
	type out struct {
		Reservations []ec2Reservation `xml:"reservationSet>item"`
		NextToken    string           `xml:"nextToken,omitempty"`
	}
	o := out{NextToken: next}
	o.Reservations = []ec2Reservation{}
	for _, i := range insts {
		res := ec2Reservation{ReservationID: reservationID(i.ID), OwnerID: h.b.AccountID(), Instances: []ec2Instance{h.ec2InstanceXML(i, azIDs)}}
		o.Reservations = append(o.Reservations, res)
	}
	return o, nil
}

type stateChangeFn func([]string) ([]sim.StateChange, error)

func (h *handler) ec2StateChange(r *request, fn stateChangeFn) (any, error) {
	ids := r.p.list("InstanceId")
	if len(ids) == 0 {
		return nil, errMissing(r.service, "InstanceId")
	}
	if err := checkInstanceIDs(ids); err != nil {
		return nil, err
	}
	changes, err := fn(ids)
	if err != nil {
		return nil, err
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].InstanceID < changes[j].InstanceID })
	type out struct {
		Instances []ec2StateChange `xml:"instancesSet>item"`
	}
	var o out
	for _, c := range changes {
		o.Instances = append(o.Instances, ec2StateChange{InstanceID: c.InstanceID, CurrentState: stateOf(c.Current), PreviousState: stateOf(c.Previous)})
	}
	return o, nil
}

func (h *handler) ec2TerminateInstances(r *request) (any, error) {
	return h.ec2StateChange(r, h.b.TerminateInstances)
}

func (h *handler) ec2StopInstances(r *request) (any, error) {
	force, _ := r.p.boolean("Force")
	if hib, _ := r.p.boolean("Hibernate"); hib {
		// The sandbox's instances are not configured for hibernation; EC2
		// refuses such a request with this code (EC2 API reference, error
		// codes: UnsupportedHibernationConfiguration).
		return nil, &sim.APIError{Code: "UnsupportedHibernationConfiguration", Message: "Hibernation is not configured for the instances of this sandbox.", Status: http.StatusBadRequest}
	}
	return h.ec2StateChange(r, func(ids []string) ([]sim.StateChange, error) { return h.b.StopInstances(ids, force) })
}

// ec2RebootInstances answers as EC2 does: <return>true</return> (botocore's
// ec2 model: RebootInstances has no output shape; the query protocol sends
// the generic return element).
func (h *handler) ec2RebootInstances(r *request) (any, error) {
	ids := r.p.list("InstanceId")
	if len(ids) == 0 {
		return nil, errMissing(r.service, "InstanceId")
	}
	if err := checkInstanceIDs(ids); err != nil {
		return nil, err
	}
	if err := h.b.RebootInstances(ids); err != nil {
		return nil, err
	}
	return struct {
		Return bool `xml:"return"`
	}{true}, nil
}

func (h *handler) ec2StartInstances(r *request) (any, error) {
	return h.ec2StateChange(r, h.b.StartInstances)
}

func (h *handler) ec2DescribeSubnets(r *request) (any, error) {
	azIDs := h.azIDs()
	subnets := h.b.Subnets()
	sort.Slice(subnets, func(i, j int) bool { return subnets[i].ID < subnets[j].ID })
	subnets, missing := selectByID(subnets, r.p.list("SubnetId"), func(s sim.Subnet) string { return s.ID })
	if len(missing) > 0 {
		return nil, ec2NotFound("InvalidSubnetID.NotFound", "subnet", missing)
	}
	fields := fieldSet[sim.Subnet]{
		"subnet-id":               func(s sim.Subnet) []string { return one(s.ID) },
		"vpc-id":                  func(s sim.Subnet) []string { return one(s.VPCID) },
		"availability-zone":       func(s sim.Subnet) []string { return one(s.AZ) },
		"availability-zone-id":    func(s sim.Subnet) []string { return one(azIDs[s.AZ]) },
		"cidr-block":              func(s sim.Subnet) []string { return one(s.CIDR) },
		"cidr":                    func(s sim.Subnet) []string { return one(s.CIDR) },
		"state":                   func(s sim.Subnet) []string { return one("available") },
		"default-for-az":          func(s sim.Subnet) []string { return boolStr(false) },
		"map-public-ip-on-launch": func(s sim.Subnet) []string { return boolStr(s.Public) },
		"owner-id":                func(s sim.Subnet) []string { return one(h.b.AccountID()) },
	}
	subnets, err := applyFilters(r.service, subnets, r.p.filters("Filter", "Value"), fields, func(s sim.Subnet) []sim.Tag { return s.Tags })
	if err != nil {
		return nil, err
	}
	subnets, next, err := pageOf(r, subnets)
	if err != nil {
		return nil, err
	}
	type out struct {
		Subnets   []ec2Subnet `xml:"subnetSet>item"`
		NextToken string      `xml:"nextToken,omitempty"`
	}
	o := out{NextToken: next}
	for _, s := range subnets {
		o.Subnets = append(o.Subnets, ec2Subnet{
			SubnetID:                s.ID,
			SubnetArn:               fmt.Sprintf("arn:aws:ec2:%s:%s:subnet/%s", h.b.RegionName(), h.b.AccountID(), s.ID),
			State:                   "available",
			OwnerID:                 h.b.AccountID(),
			VpcID:                   s.VPCID,
			CidrBlock:               s.CIDR,
			AvailableIPAddressCount: 251,
			AvailabilityZone:        s.AZ,
			AvailabilityZoneID:      azIDs[s.AZ],
			MapPublicIPOnLaunch:     s.Public,
			Tags:                    ec2Tags(s.Tags),
		})
	}
	return o, nil
}

func (h *handler) ec2DescribeAvailabilityZones(r *request) (any, error) {
	region := h.b.RegionName()
	azs := h.b.AvailabilityZones()
	sort.Slice(azs, func(i, j int) bool { return azs[i].Name < azs[j].Name })
	if names := r.p.list("ZoneName"); len(names) > 0 {
		var missing []string
		azs, missing = selectByID(azs, names, func(a sim.AZ) string { return a.Name })
		if len(missing) > 0 {
			return nil, &sim.APIError{Code: "InvalidParameterValue", Message: fmt.Sprintf("The zone '%s' does not exist.", missing[0]), Status: http.StatusBadRequest}
		}
	}
	if ids := r.p.list("ZoneId"); len(ids) > 0 {
		var missing []string
		azs, missing = selectByID(azs, ids, func(a sim.AZ) string { return a.ID })
		if len(missing) > 0 {
			return nil, &sim.APIError{Code: "InvalidParameterValue", Message: fmt.Sprintf("The zone ID '%s' does not exist.", missing[0]), Status: http.StatusBadRequest}
		}
	}
	fields := fieldSet[sim.AZ]{
		"zone-name":            func(a sim.AZ) []string { return one(a.Name) },
		"zone-id":              func(a sim.AZ) []string { return one(a.ID) },
		"region-name":          func(a sim.AZ) []string { return one(region) },
		"state":                func(a sim.AZ) []string { return one("available") },
		"zone-type":            func(a sim.AZ) []string { return one("availability-zone") },
		"group-name":           func(a sim.AZ) []string { return one(region) },
		"opt-in-status":        func(a sim.AZ) []string { return one("opt-in-not-required") },
		"network-border-group": func(a sim.AZ) []string { return one(region) },
	}
	azs, err := applyFilters(r.service, azs, r.p.filters("Filter", "Value"), fields, nil)
	if err != nil {
		return nil, err
	}
	type out struct {
		AZs []ec2AZ `xml:"availabilityZoneInfo>item"`
	}
	var o out
	for _, a := range azs {
		o.AZs = append(o.AZs, ec2AZ{ZoneName: a.Name, ZoneState: "available", RegionName: region, ZoneID: a.ID, GroupName: region, NetworkBorderGroup: region, OptInStatus: "opt-in-not-required", ZoneType: "availability-zone"})
	}
	return o, nil
}

func (h *handler) ec2DescribeVpcs(r *request) (any, error) {
	vpcs := h.b.VPCs()
	sort.Slice(vpcs, func(i, j int) bool { return vpcs[i].ID < vpcs[j].ID })
	vpcs, missing := selectByID(vpcs, r.p.list("VpcId"), func(v sim.VPC) string { return v.ID })
	if len(missing) > 0 {
		return nil, ec2NotFound("InvalidVpcID.NotFound", "vpc", missing)
	}
	fields := fieldSet[sim.VPC]{
		"vpc-id":     func(v sim.VPC) []string { return one(v.ID) },
		"cidr":       func(v sim.VPC) []string { return one(v.CIDR) },
		"cidr-block": func(v sim.VPC) []string { return one(v.CIDR) },
		"is-default": func(v sim.VPC) []string { return boolStr(v.IsDefault) },
		"state":      func(v sim.VPC) []string { return one("available") },
		"owner-id":   func(v sim.VPC) []string { return one(h.b.AccountID()) },
	}
	vpcs, err := applyFilters(r.service, vpcs, r.p.filters("Filter", "Value"), fields, func(v sim.VPC) []sim.Tag { return v.Tags })
	if err != nil {
		return nil, err
	}
	vpcs, next, err := pageOf(r, vpcs)
	if err != nil {
		return nil, err
	}
	type out struct {
		Vpcs      []ec2Vpc `xml:"vpcSet>item"`
		NextToken string   `xml:"nextToken,omitempty"`
	}
	o := out{NextToken: next}
	for _, v := range vpcs {
		o.Vpcs = append(o.Vpcs, ec2Vpc{VpcID: v.ID, OwnerID: h.b.AccountID(), State: "available", CidrBlock: v.CIDR, DhcpOptionsID: "dopt-" + shortHash(v.ID, 8), InstanceTenancy: "default", IsDefault: v.IsDefault, Tags: ec2Tags(v.Tags)})
	}
	return o, nil
}

func shortHash(s string, n int) string {
	sum := sha1.Sum([]byte(s))
	return hex.EncodeToString(sum[:])[:n]
}

func (h *handler) aclXML(a sim.NetworkACL) ec2ACL {
	out := ec2ACL{NetworkACLID: a.ID, VpcID: a.VPCID, Default: a.IsDefault, OwnerID: h.b.AccountID(), Tags: ec2Tags(a.Tags)}
	entries := append([]sim.ACLEntry(nil), a.Entries...)
	sort.SliceStable(entries, func(i, j int) bool {
		if entries[i].Egress != entries[j].Egress {
			return entries[i].Egress
		}
		return entries[i].RuleNumber < entries[j].RuleNumber
	})
	for _, e := range entries {
		x := ec2ACLEntry{RuleNumber: e.RuleNumber, Protocol: e.Protocol, RuleAction: e.RuleAction, Egress: e.Egress, CidrBlock: e.CIDR}
		if e.Protocol != "-1" && (e.PortFrom != 0 || e.PortTo != 0) {
			x.PortRange = &ec2PortRange{From: e.PortFrom, To: e.PortTo}
		}
		out.Entries = append(out.Entries, x)
	}
	assocs := append([]sim.ACLAssociation(nil), a.Associations...)
	sort.Slice(assocs, func(i, j int) bool { return assocs[i].SubnetID < assocs[j].SubnetID })
	for _, as := range assocs {
		out.Associations = append(out.Associations, ec2ACLAssoc{NetworkACLAssociationID: as.ID, NetworkACLID: a.ID, SubnetID: as.SubnetID})
	}
	return out
}

func assocField(f func(sim.ACLAssociation) string) func(sim.NetworkACL) []string {
	return func(a sim.NetworkACL) []string {
		var out []string
		for _, as := range a.Associations {
			out = append(out, f(as))
		}
		return out
	}
}

func entryField(f func(sim.ACLEntry) string) func(sim.NetworkACL) []string {
	return func(a sim.NetworkACL) []string {
		var out []string
		for _, e := range a.Entries {
			out = append(out, f(e))
		}
		return out
	}
}

var aclFields = fieldSet[sim.NetworkACL]{
	"network-acl-id":             func(a sim.NetworkACL) []string { return one(a.ID) },
	"vpc-id":                     func(a sim.NetworkACL) []string { return one(a.VPCID) },
	"default":                    func(a sim.NetworkACL) []string { return boolStr(a.IsDefault) },
	"association.subnet-id":      assocField(func(as sim.ACLAssociation) string { return as.SubnetID }),
	"association.association-id": assocField(func(as sim.ACLAssociation) string { return as.ID }),
	"association.network-acl-id": assocField(func(as sim.ACLAssociation) string { return as.ACLID }),
	"entry.cidr":                 entryField(func(e sim.ACLEntry) string { return e.CIDR }),
	"entry.egress":               entryField(func(e sim.ACLEntry) string { return strconv.FormatBool(e.Egress) }),
	"entry.protocol":             entryField(func(e sim.ACLEntry) string { return e.Protocol }),
	"entry.rule-action":          entryField(func(e sim.ACLEntry) string { return e.RuleAction }),
	"entry.rule-number":          entryField(func(e sim.ACLEntry) string { return strconv.Itoa(int(e.RuleNumber)) }),
}

func (h *handler) ec2DescribeNetworkAcls(r *request) (any, error) {
	acls := h.b.NetworkACLs()
	sort.Slice(acls, func(i, j int) bool { return acls[i].ID < acls[j].ID })
	acls, missing := selectByID(acls, r.p.list("NetworkAclId"), func(a sim.NetworkACL) string { return a.ID })
	if len(missing) > 0 {
		return nil, ec2NotFound("InvalidNetworkAclID.NotFound", "networkAcl", missing)
	}
	fields := fieldSet[sim.NetworkACL]{"owner-id": func(sim.NetworkACL) []string { return one(h.b.AccountID()) }}
	for k, v := range aclFields {
		fields[k] = v
	}
	acls, err := applyFilters(r.service, acls, r.p.filters("Filter", "Value"), fields, func(a sim.NetworkACL) []sim.Tag { return a.Tags })
	if err != nil {
		return nil, err
	}
	acls, next, err := pageOf(r, acls)
	if err != nil {
		return nil, err
	}
	type out struct {
		ACLs      []ec2ACL `xml:"networkAclSet>item"`
		NextToken string   `xml:"nextToken,omitempty"`
	}
	o := out{NextToken: next}
	for _, a := range acls {
		o.ACLs = append(o.ACLs, h.aclXML(a))
	}
	return o, nil
}

// tagSpecTags returns the tags of the TagSpecification entries whose
// resource type is resourceType (or unset).
func tagSpecTags(p params, resourceType string) []sim.Tag {
	var out []sim.Tag
	for _, spec := range p.indexes("TagSpecification") {
		if rt := p.get(spec + ".ResourceType"); rt != "" && rt != resourceType {
			continue
		}
		for _, t := range p.tags(spec + ".Tag") {
			out = append(out, sim.Tag{Key: t.Key, Value: t.Value})
		}
	}
	return out
}

func (h *handler) ec2CreateNetworkAcl(r *request) (any, error) {
	vpc := r.p.get("VpcId")
	if vpc == "" {
		return nil, errMissing(r.service, "VpcId")
	}
	return h.withClientToken(r, func() (any, error) {
		acl, err := h.b.CreateNetworkACL(vpc, tagSpecTags(r.p, "network-acl"))
		if err != nil {
			return nil, err
		}
		type out struct {
			ACL         ec2ACL `xml:"networkAcl"`
			ClientToken string `xml:"clientToken,omitempty"`
		}
		return out{ACL: h.aclXML(acl), ClientToken: r.p.get("ClientToken")}, nil
	})
}

// protocolNumber normalises a protocol name to the number AWS stores.
func protocolNumber(p string) (string, bool) {
	switch strings.ToLower(p) {
	case "-1", "all":
		return "-1", true
	case "tcp", "6":
		return "6", true
	case "udp", "17":
		return "17", true
	case "icmp", "1":
		return "1", true
	case "icmpv6", "58":
		return "58", true
	}
	if n, err := strconv.Atoi(p); err == nil && n >= 0 && n <= 255 {
		return p, true
	}
	return "", false
}

func (h *handler) ec2CreateNetworkAclEntry(r *request) (any, error) {
	for _, k := range []string{"NetworkAclId", "RuleNumber", "Protocol", "RuleAction", "Egress"} {
		if r.p.get(k) == "" {
			return nil, errMissing(r.service, k)
		}
	}
	num, _, err := r.p.int32("RuleNumber")
	if err != nil || num < 1 || num > 32766 {
		return nil, errInvalid(r.service, "RuleNumber", r.p.get("RuleNumber"), "must be between 1 and 32766")
	}
	proto, ok := protocolNumber(r.p.get("Protocol"))
	if !ok {
		return nil, errInvalid(r.service, "Protocol", r.p.get("Protocol"), "unknown protocol")
	}
	action := strings.ToLower(r.p.get("RuleAction"))
	if action != "allow" && action != "deny" {
		return nil, errInvalid(r.service, "RuleAction", r.p.get("RuleAction"), "must be allow or deny")
	}
	egress, ok := r.p.boolean("Egress")
	if !ok {
		return nil, errInvalid(r.service, "Egress", r.p.get("Egress"), "must be true or false")
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
	if err := h.b.CreateNetworkACLEntry(r.p.get("NetworkAclId"), e); err != nil {
		return nil, err
	}
	return ec2Return{true}, nil
}

func (h *handler) ec2DeleteNetworkAcl(r *request) (any, error) {
	id := r.p.get("NetworkAclId")
	if id == "" {
		return nil, errMissing(r.service, "NetworkAclId")
	}
	if err := h.b.DeleteNetworkACL(id); err != nil {
		return nil, err
	}
	return ec2Return{true}, nil
}

func (h *handler) ec2ReplaceNetworkAclAssociation(r *request) (any, error) {
	assoc, acl := r.p.get("AssociationId"), r.p.get("NetworkAclId")
	if assoc == "" {
		return nil, errMissing(r.service, "AssociationId")
	}
	if acl == "" {
		return nil, errMissing(r.service, "NetworkAclId")
	}
	id, err := h.b.ReplaceNetworkACLAssociation(assoc, acl)
	if err != nil {
		return nil, err
	}
	type out struct {
		NewAssociationID string `xml:"newAssociationId"`
	}
	return out{id}, nil
}

func (h *handler) ec2CreateTags(r *request) (any, error) {
	ids := r.p.list("ResourceId")
	if len(ids) == 0 {
		return nil, errMissing(r.service, "ResourceId")
	}
	var tags []sim.Tag
	for _, t := range r.p.tags("Tag") {
		if t.Key == "" {
			return nil, errInvalid(r.service, "Tag.Key", "", "tag keys must not be empty")
		}
		tags = append(tags, sim.Tag{Key: t.Key, Value: t.Value})
	}
	if len(tags) == 0 {
		return nil, errMissing(r.service, "Tag")
	}
	if err := h.b.CreateTags(ids, tags); err != nil {
		return nil, err
	}
	return ec2Return{true}, nil
}

// ec2DeleteTags follows botocore's ec2 2016-11-15 DeleteTagsRequest:
// ResourceId.N (required) and Tag.N.Key / Tag.N.Value, where a key without
// a Value deletes the key whatever its value, and no Tag list deletes every
// user tag. The response is <return>true</return>.
func (h *handler) ec2DeleteTags(r *request) (any, error) {
	ids := r.p.list("ResourceId")
	if len(ids) == 0 {
		return nil, errMissing(r.service, "ResourceId")
	}
	var tags []sim.TagMatch
	for _, t := range r.p.indexes("Tag") {
		k := r.p.get(t + ".Key")
		if k == "" {
			return nil, errInvalid(r.service, "Tag.Key", "", "tag keys must not be empty")
		}
		tags = append(tags, sim.TagMatch{Key: k, Value: r.p.get(t + ".Value"), HasValue: r.p.has(t + ".Value")})
	}
	if err := h.b.DeleteTags(ids, tags); err != nil {
		return nil, err
	}
	return ec2Return{true}, nil
}

// lbENIs derives the network interfaces of the load balancers' nodes: one
// per load balancer and AZ, described "ELB app/NAME/ID" and owned by
// amazon-elb, with the node's loopback IP as its public IP, as AWS shows
// them.
func (h *handler) lbENIs() []ec2ENI {
	azIDs := h.azIDs()
	var out []ec2ENI
	for _, lb := range h.b.LoadBalancers() {
		desc := "ELB " + lbResourceID(lb.ARN)
		for _, n := range lb.AZs {
			ip := n.IP
			if ip == "" {
				ip, _, _ = strings.Cut(n.Addr, ":")
			}
			eni := ec2ENI{
				NetworkInterfaceID: "eni-" + shortHash(lb.ARN+"/"+n.AZ, 17),
				SubnetID:           n.SubnetID,
				VpcID:              lb.VPCID,
				AvailabilityZone:   n.AZ,
				AvailabilityZoneID: azIDs[n.AZ],
				Description:        desc,
				OwnerID:            h.b.AccountID(),
				RequesterID:        "amazon-elb",
				RequesterManaged:   true,
				Status:             "in-use",
				SourceDestCheck:    true,
				InterfaceType:      "interface",
			}
			if ip != "" {
				eni.Association = &ec2ENIAssociation{IPOwnerID: "amazon", PublicIP: ip}
			}
			out = append(out, eni)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NetworkInterfaceID < out[j].NetworkInterfaceID })
	return out
}

// lbResourceID returns "app/NAME/ID" from a load balancer ARN.
func lbResourceID(arn string) string {
	if i := strings.Index(arn, ":loadbalancer/"); i >= 0 {
		return arn[i+len(":loadbalancer/"):]
	}
	return arn
}

var eniFields = fieldSet[ec2ENI]{
	"network-interface-id":  func(e ec2ENI) []string { return one(e.NetworkInterfaceID) },
	"description":           func(e ec2ENI) []string { return one(e.Description) },
	"requester-id":          func(e ec2ENI) []string { return one(e.RequesterID) },
	"requester-managed":     func(e ec2ENI) []string { return boolStr(e.RequesterManaged) },
	"availability-zone":     func(e ec2ENI) []string { return one(e.AvailabilityZone) },
	"subnet-id":             func(e ec2ENI) []string { return one(e.SubnetID) },
	"vpc-id":                func(e ec2ENI) []string { return one(e.VpcID) },
	"status":                func(e ec2ENI) []string { return one(e.Status) },
	"interface-type":        func(e ec2ENI) []string { return one(e.InterfaceType) },
	"owner-id":              func(e ec2ENI) []string { return one(e.OwnerID) },
	"association.public-ip": func(e ec2ENI) []string { return assocIP(e) },
	"addresses.association.public-ip": func(e ec2ENI) []string {
		return assocIP(e)
	},
	"association.ip-owner-id": func(e ec2ENI) []string {
		if e.Association == nil {
			return nil
		}
		return one(e.Association.IPOwnerID)
	},
}

func assocIP(e ec2ENI) []string {
	if e.Association == nil {
		return nil
	}
	return one(e.Association.PublicIP)
}

func (h *handler) ec2DescribeNetworkInterfaces(r *request) (any, error) {
	all := append(h.lbENIs(), h.instanceENIs()...)
	sort.Slice(all, func(i, j int) bool { return all[i].NetworkInterfaceID < all[j].NetworkInterfaceID })
	enis, missing := selectByID(all, r.p.list("NetworkInterfaceId"), func(e ec2ENI) string { return e.NetworkInterfaceID })
	if len(missing) > 0 {
		return nil, ec2NotFound("InvalidNetworkInterfaceID.NotFound", "network interface", missing)
	}
	// DescribeNetworkInterfaces accepts filters as Filter.N (the SDK).
	enis, err := applyFilters(r.service, enis, r.p.filters("Filter", "Value"), eniFields, func(ec2ENI) []sim.Tag { return nil })
	if err != nil {
		return nil, err
	}
	enis, next, err := pageOf(r, enis)
	if err != nil {
		return nil, err
	}
	type out struct {
		ENIs      []ec2ENI `xml:"networkInterfaceSet>item"`
		NextToken string   `xml:"nextToken,omitempty"`
	}
	return out{enis, next}, nil
}
