package sim

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
)

// Simulated ports, for ACL rules (the real loopback ports differ).
const (
	lbPort     = 80
	appPort    = 80
	dbPort     = 5432
	returnPort = 50000 // an ephemeral port, for the return half of a flow
)

type subnet struct {
	idx     int
	m       Subnet
	prefix  netip.Prefix
	assocID string
	aclID   string
	nextIP  int // last host octet handed out
}

type acl struct {
	m NetworkACL // Associations left empty; computed from subnets
}

// endpoint is a simulated network address: a subnet (-1 for the internet)
// and a 10.0.x.x label.
type endpoint struct {
	subnet int
	ip     netip.Addr
}

type rule struct {
	num      int32
	allow    bool
	proto    int // -1 all, else an IP protocol number
	prefix   netip.Prefix
	from, to int32
}

type aclRules struct{ in, out []rule }

// netSnap is an immutable view of the ACLs per subnet, for the data plane.
type netSnap struct{ bySubnet []*aclRules }

// eval returns the action of the first matching rule, lowest number first.
func eval(rules []rule, peer netip.Addr, port int32) bool {
	for i := range rules {
		ru := &rules[i]
		if !ru.prefix.Contains(peer) {
			continue
		}
		if ru.proto != -1 && ru.proto != 6 {
			continue // only TCP flows exist here
		}
		if ru.proto == 6 && !(ru.from == 0 && ru.to == 0) && (port < ru.from || port > ru.to) {
			continue
		}
		return ru.allow
	}
	return false
}

// path reports whether a TCP flow from src to dst:port gets through every
// ACL on the way, both directions (ACLs are stateless, so the replies need
// their own rules). Traffic inside one subnet is never filtered.
func (s *netSnap) path(src, dst endpoint, port int32) bool {
	if src.subnet == dst.subnet && src.subnet >= 0 {
		return true
	}
	if src.subnet >= 0 {
		a := s.bySubnet[src.subnet]
		if !eval(a.out, dst.ip, port) || !eval(a.in, dst.ip, returnPort) {
			return false
		}
	}
	if dst.subnet >= 0 {
		a := s.bySubnet[dst.subnet]
		if !eval(a.in, src.ip, port) || !eval(a.out, src.ip, returnPort) {
			return false
		}
	}
	return true
}

func compileACL(a *acl) *aclRules {
	var out aclRules
	for _, e := range a.m.Entries {
		p, err := netip.ParsePrefix(e.CIDR)
		if err != nil {
			continue // validated on entry; defensive
		}
		ru := rule{num: e.RuleNumber, allow: e.RuleAction == "allow", proto: protoNumber(e.Protocol), prefix: p.Masked(), from: e.PortFrom, to: e.PortTo}
		if e.Egress {
			out.out = append(out.out, ru)
		} else {
			out.in = append(out.in, ru)
		}
	}
	byNum := func(a, b rule) int { return int(a.num - b.num) }
	slices.SortFunc(out.in, byNum)
	slices.SortFunc(out.out, byNum)
	return &out
}

func protoNumber(p string) int {
	switch strings.ToLower(p) {
	case "-1", "all":
		return -1
	case "6", "tcp":
		return 6
	case "17", "udp":
		return 17
	case "1", "icmp":
		return 1
	}
	return -2
}

// refreshNetLocked rebuilds the data plane's ACL view and everything that
// depends on it.
func (r *Region) refreshNetLocked() {
	byID := make(map[string]*aclRules, len(r.acls))
	for _, a := range r.acls {
		byID[a.m.ID] = compileACL(a)
	}
	snap := &netSnap{bySubnet: make([]*aclRules, len(r.subnets))}
	for i, s := range r.subnets {
		snap.bySubnet[i] = byID[s.aclID]
	}
	r.net.Store(snap)
	r.refreshNodesLocked(snap)
	r.refreshDNSLocked()
}

func defaultEntries() []ACLEntry {
	return []ACLEntry{
		{RuleNumber: 100, Protocol: "-1", RuleAction: "allow", CIDR: "0.0.0.0/0"},
		{RuleNumber: 32767, Protocol: "-1", RuleAction: "deny", CIDR: "0.0.0.0/0"},
		{RuleNumber: 100, Protocol: "-1", RuleAction: "allow", Egress: true, CIDR: "0.0.0.0/0"},
		{RuleNumber: 32767, Protocol: "-1", RuleAction: "deny", Egress: true, CIDR: "0.0.0.0/0"},
	}
}

func implicitEntries() []ACLEntry {
	return []ACLEntry{
		{RuleNumber: 32767, Protocol: "-1", RuleAction: "deny", CIDR: "0.0.0.0/0"},
		{RuleNumber: 32767, Protocol: "-1", RuleAction: "deny", Egress: true, CIDR: "0.0.0.0/0"},
	}
}

func (r *Region) buildNetwork() {
	prefix := azIDPrefix(r.cfg.Region)
	for i, name := range r.cfg.AZs {
		r.azs = append(r.azs, AZ{Name: name, ID: fmt.Sprintf("%s-az%d", prefix, i+1)})
	}
	r.vpc = VPC{ID: r.hexID("vpc-", 17), CIDR: "10.0.0.0/16", Tags: []Tag{{"Name", "gameday-vpc"}}}
	def := &acl{m: NetworkACL{ID: r.hexID("acl-", 17), VPCID: r.vpc.ID, IsDefault: true, Entries: defaultEntries()}}
	r.acls = []*acl{def}
	for pass, public := range []bool{true, false} {
		for i, az := range r.cfg.AZs {
			n := i + 1
			tier, cidr := "public", fmt.Sprintf("10.0.%d.0/24", n)
			if !public {
				tier, cidr = "private", fmt.Sprintf("10.0.%d.0/24", 100+n)
			}
			s := &subnet{
				idx: pass*len(r.cfg.AZs) + i,
				m: Subnet{
					ID: r.hexID("subnet-", 17), VPCID: r.vpc.ID, AZ: az, CIDR: cidr, Public: public,
					Tags: []Tag{{"Name", fmt.Sprintf("gameday-%s-%s", tier, az)}, {"gameday:tier", tier}, OptInTag},
				},
				prefix:  netip.MustParsePrefix(cidr),
				assocID: r.hexID("aclassoc-", 17),
				aclID:   def.m.ID,
				nextIP:  9,
			}
			r.subnets = append(r.subnets, s)
		}
	}
	r.refreshNetLocked()
}

func (r *Region) publicSubnet(azIdx int) *subnet  { return r.subnets[azIdx] }
func (r *Region) privateSubnet(azIdx int) *subnet { return r.subnets[len(r.azs)+azIdx] }

// allocIP hands out the next free label address of a subnet.
func (s *subnet) allocIP() netip.Addr {
	s.nextIP++
	if s.nextIP > 199 {
		s.nextIP = 10
	}
	a := s.prefix.Addr().As4()
	a[3] = byte(s.nextIP)
	return netip.AddrFrom4(a)
}

func (s *subnet) hostIP(host byte) netip.Addr {
	a := s.prefix.Addr().As4()
	a[3] = host
	return netip.AddrFrom4(a)
}

// AvailabilityZones lists the region's AZs.
func (r *Region) AvailabilityZones() []AZ {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]AZ(nil), r.azs...)
}

// VPCs lists the one VPC.
func (r *Region) VPCs() []VPC {
	r.mu.Lock()
	defer r.mu.Unlock()
	v := r.vpc
	v.Tags = copyTags(v.Tags)
	return []VPC{v}
}

// Subnets lists the public and private subnets.
func (r *Region) Subnets() []Subnet {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Subnet, 0, len(r.subnets))
	for _, s := range r.subnets {
		m := s.m
		m.Tags = copyTags(m.Tags)
		out = append(out, m)
	}
	return out
}

func (r *Region) aclCopyLocked(a *acl) NetworkACL {
	m := a.m
	m.Entries = append([]ACLEntry(nil), m.Entries...)
	m.Tags = copyTags(m.Tags)
	m.Associations = nil
	for _, s := range r.subnets {
		if s.aclID == a.m.ID {
			m.Associations = append(m.Associations, ACLAssociation{ID: s.assocID, ACLID: a.m.ID, SubnetID: s.m.ID})
		}
	}
	return m
}

// NetworkACLs lists the network ACLs with their entries and associations.
func (r *Region) NetworkACLs() []NetworkACL {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]NetworkACL, 0, len(r.acls))
	for _, a := range r.acls {
		out = append(out, r.aclCopyLocked(a))
	}
	return out
}

func (r *Region) findACL(id string) *acl {
	for _, a := range r.acls {
		if a.m.ID == id {
			return a
		}
	}
	return nil
}

// CreateNetworkACL creates an ACL that, as on AWS, denies everything (only
// the implicit rule 32767 entries) and is associated with no subnet.
func (r *Region) CreateNetworkACL(vpcID string, tags []Tag) (NetworkACL, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if vpcID != r.vpc.ID {
		return NetworkACL{}, apiErr(400, "InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", vpcID)
	}
	a := &acl{m: NetworkACL{ID: r.hexID("acl-", 17), VPCID: vpcID, Entries: implicitEntries(), Tags: setTags(nil, tags)}}
	r.acls = append(r.acls, a)
	r.emit("acl", a.m.ID, "", "", "created", "")
	return r.aclCopyLocked(a), nil
}

var cidrRE = regexp.MustCompile(`^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}/\d{1,2}$`)

// CreateNetworkACLEntry adds a rule to an ACL; it takes effect at once.
func (r *Region) CreateNetworkACLEntry(aclID string, e ACLEntry) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.findACL(aclID)
	if a == nil {
		return apiErr(400, "InvalidNetworkAclID.NotFound", "The network ACL ID '%s' does not exist", aclID)
	}
	if e.RuleNumber < 1 || e.RuleNumber > 32766 {
		return apiErr(400, "InvalidParameterValue", "Invalid value '%d' for ruleNumber. It must be between 1 and 32766", e.RuleNumber)
	}
	if e.RuleAction != "allow" && e.RuleAction != "deny" {
		return apiErr(400, "InvalidParameterValue", "Invalid value '%s' for ruleAction. It must be allow or deny", e.RuleAction)
	}
	if protoNumber(e.Protocol) == -2 {
		return apiErr(400, "InvalidParameterValue", "Invalid value '%s' for protocol", e.Protocol)
	}
	if p, err := netip.ParsePrefix(e.CIDR); err != nil || !cidrRE.MatchString(e.CIDR) || !p.Addr().Is4() {
		return apiErr(400, "InvalidParameterValue", "Value (%s) for parameter cidrBlock is invalid. This is not a valid CIDR block.", e.CIDR)
	}
	if e.PortFrom < 0 || e.PortTo > 65535 || e.PortFrom > e.PortTo {
		return apiErr(400, "InvalidParameterValue", "Invalid port range %d-%d", e.PortFrom, e.PortTo)
	}
	for _, x := range a.m.Entries {
		if x.RuleNumber == e.RuleNumber && x.Egress == e.Egress {
			return apiErr(400, "NetworkAclEntryAlreadyExists", "The network acl entry identified by %d already exists.", e.RuleNumber)
		}
	}
	if p := protoNumber(e.Protocol); p == -1 {
		e.Protocol = "-1"
		e.PortFrom, e.PortTo = 0, 0
	} else {
		e.Protocol = fmt.Sprint(p)
	}
	a.m.Entries = append(a.m.Entries, e)
	slices.SortStableFunc(a.m.Entries, func(x, y ACLEntry) int {
		if x.Egress != y.Egress {
			if !x.Egress {
				return -1
			}
			return 1
		}
		return int(x.RuleNumber - y.RuleNumber)
	})
	dir := "ingress"
	if e.Egress {
		dir = "egress"
	}
	r.emit("acl", aclID, "", "", "entry-added", fmt.Sprintf("%s rule %d %s proto %s %s ports %d-%d", dir, e.RuleNumber, e.RuleAction, e.Protocol, e.CIDR, e.PortFrom, e.PortTo))
	r.refreshNetLocked()
	return nil
}

// DeleteNetworkACL deletes a non-default ACL that no subnet uses.
func (r *Region) DeleteNetworkACL(aclID string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.findACL(aclID)
	if a == nil {
		return apiErr(400, "InvalidNetworkAclID.NotFound", "The network ACL ID '%s' does not exist", aclID)
	}
	if a.m.IsDefault {
		return apiErr(400, "InvalidParameterValue", "Cannot delete default network ACL %s", aclID)
	}
	for _, s := range r.subnets {
		if s.aclID == aclID {
			return apiErr(400, "DependencyViolation", "The network ACL '%s' has dependencies and cannot be deleted.", aclID)
		}
	}
	r.acls = slices.DeleteFunc(r.acls, func(x *acl) bool { return x == a })
	r.emit("acl", aclID, "", "", "deleted", "")
	r.refreshNetLocked()
	return nil
}

// ReplaceNetworkACLAssociation moves the subnet of association assocID to
// aclID, effective at once, and returns the new association id.
func (r *Region) ReplaceNetworkACLAssociation(assocID, aclID string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s *subnet
	for _, x := range r.subnets {
		if x.assocID == assocID {
			s = x
		}
	}
	if s == nil {
		return "", apiErr(400, "InvalidAssociationID.NotFound", "The association ID '%s' does not exist", assocID)
	}
	if r.findACL(aclID) == nil {
		return "", apiErr(400, "InvalidNetworkAclID.NotFound", "The network ACL ID '%s' does not exist", aclID)
	}
	from := s.aclID
	s.aclID = aclID
	s.assocID = r.hexID("aclassoc-", 17)
	r.emit("acl-association", s.m.ID, s.m.AZ, from, aclID, "association "+s.assocID)
	r.refreshNetLocked()
	return s.assocID, nil
}

var (
	instanceIDRE = regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`)
)

// CreateTags adds or overwrites tags on instances, the VPC, subnets and ACLs.
func (r *Region) CreateTags(resourceIDs []string, tags []Tag) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(resourceIDs) == 0 {
		return apiErr(400, "MissingParameter", "The request must contain the parameter resourceIdSet")
	}
	for _, t := range tags {
		if t.Key == "" || len(t.Key) > 128 || len(t.Value) > 256 {
			return apiErr(400, "InvalidParameterValue", "Tag key must be 1 to 128 characters and value at most 256")
		}
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return apiErr(400, "InvalidParameterValue", "Tag keys starting with 'aws:' are reserved for internal use")
		}
	}
	apply := make([]func(), 0, len(resourceIDs))
	for _, id := range resourceIDs {
		switch {
		case strings.HasPrefix(id, "i-"):
			if !instanceIDRE.MatchString(id) {
				return apiErr(400, "InvalidID", "The ID '%s' is not valid", id)
			}
			in := r.findInstance(id)
			if in == nil {
				return apiErr(400, "InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id)
			}
			apply = append(apply, func() { in.m.Tags = setTags(in.m.Tags, tags) })
		case strings.HasPrefix(id, "vpc-"):
			if id != r.vpc.ID {
				return apiErr(400, "InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", id)
			}
			apply = append(apply, func() { r.vpc.Tags = setTags(r.vpc.Tags, tags) })
		case strings.HasPrefix(id, "subnet-"):
			var s *subnet
			for _, x := range r.subnets {
				if x.m.ID == id {
					s = x
				}
			}
			if s == nil {
				return apiErr(400, "InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", id)
			}
			apply = append(apply, func() { s.m.Tags = setTags(s.m.Tags, tags) })
		case strings.HasPrefix(id, "acl-"):
			a := r.findACL(id)
			if a == nil {
				return apiErr(400, "InvalidNetworkAclID.NotFound", "The network ACL ID '%s' does not exist", id)
			}
			apply = append(apply, func() { a.m.Tags = setTags(a.m.Tags, tags) })
		default:
			return apiErr(400, "InvalidID", "The ID '%s' is not valid", id)
		}
	}
	for _, f := range apply {
		f()
	}
	return nil
}
