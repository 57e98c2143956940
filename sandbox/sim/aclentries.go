package sim

import (
	"fmt"
	"net/netip"
	"slices"
)

// DeleteNetworkACLEntry removes the ingress or egress rule ruleNumber of an
// ACL; the data plane stops applying it at once. As EC2 does, the implicit
// rule 32767 cannot be deleted (rule numbers are 1-32766) and a rule that
// does not exist is InvalidNetworkAclEntry.NotFound.
func (r *Region) DeleteNetworkACLEntry(aclID string, ruleNumber int32, egress bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.findACL(aclID)
	if a == nil {
		return apiErr(400, "InvalidNetworkAclID.NotFound", "The network ACL ID '%s' does not exist", aclID)
	}
	if ruleNumber < 1 || ruleNumber > 32766 {
		return apiErr(400, "InvalidParameterValue", "Invalid value '%d' for ruleNumber. It must be between 1 and 32766", ruleNumber)
	}
	i := slices.IndexFunc(a.m.Entries, func(x ACLEntry) bool { return x.RuleNumber == ruleNumber && x.Egress == egress })
	if i < 0 {
		return errNoACLEntry(aclID, ruleNumber, egress)
	}
	a.m.Entries = slices.Delete(a.m.Entries, i, i+1)
	r.emit("acl", aclID, "", "", "entry-deleted", fmt.Sprintf("%s rule %d", direction(egress), ruleNumber))
	r.refreshNetLocked()
	return nil
}

// ReplaceNetworkACLEntry replaces the rule of the same number and direction
// with e, validated as CreateNetworkACLEntry validates; effective at once.
func (r *Region) ReplaceNetworkACLEntry(aclID string, e ACLEntry) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.findACL(aclID)
	if a == nil {
		return apiErr(400, "InvalidNetworkAclID.NotFound", "The network ACL ID '%s' does not exist", aclID)
	}
	if err := validateACLEntry(e); err != nil {
		return err
	}
	i := slices.IndexFunc(a.m.Entries, func(x ACLEntry) bool { return x.RuleNumber == e.RuleNumber && x.Egress == e.Egress })
	if i < 0 {
		return errNoACLEntry(aclID, e.RuleNumber, e.Egress)
	}
	if p := protoNumber(e.Protocol); p == -1 {
		e.Protocol = "-1"
		e.PortFrom, e.PortTo = 0, 0
	} else {
		e.Protocol = fmt.Sprint(p)
	}
	a.m.Entries[i] = e
	r.emit("acl", aclID, "", "", "entry-replaced", fmt.Sprintf("%s rule %d %s proto %s %s ports %d-%d", direction(e.Egress), e.RuleNumber, e.RuleAction, e.Protocol, e.CIDR, e.PortFrom, e.PortTo))
	r.refreshNetLocked()
	return nil
}

// errNoACLEntry follows EC2's error code list (InvalidNetworkAclEntry.NotFound).
func errNoACLEntry(aclID string, ruleNumber int32, egress bool) error {
	return apiErr(400, "InvalidNetworkAclEntry.NotFound", "The %s network acl entry identified by %d does not exist in %s.", direction(egress), ruleNumber, aclID)
}

func direction(egress bool) string {
	if egress {
		return "egress"
	}
	return "ingress"
}

func validateACLEntry(e ACLEntry) error {
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
	return nil
}

// ValidateACLEntry checks e as CreateNetworkAclEntry and
// ReplaceNetworkAclEntry do (the control plane's dry runs use it).
func ValidateACLEntry(e ACLEntry) error { return validateACLEntry(e) }
