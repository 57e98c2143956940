package sandbox

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/gameday-dev/gameday/internal/testutil"
)

// TestACLEntryEditsTakeEffect: DeleteNetworkAclEntry and
// ReplaceNetworkAclEntry change what the data plane lets through, at once,
// in both directions (real HTTP to the load balancer's nodes on loopback).
func TestACLEntryEditsTakeEffect(t *testing.T) {
	s, cfg := startSandbox(t, testConfig())
	ctx := ctxT(t)
	sum := s.Summary()
	c := ec2.NewFromConfig(cfg)
	acl, err := c.CreateNetworkAcl(ctx, &ec2.CreateNetworkAclInput{VpcId: aws.String(sum.VPCID)})
	if err != nil {
		t.Fatal(err)
	}
	id := acl.NetworkAcl.NetworkAclId
	allowAll := func(num int32, egress bool) {
		if _, err := c.CreateNetworkAclEntry(ctx, &ec2.CreateNetworkAclEntryInput{NetworkAclId: id, RuleNumber: aws.Int32(num), Protocol: aws.String("-1"), RuleAction: ec2types.RuleActionAllow, Egress: aws.Bool(egress), CidrBlock: aws.String("0.0.0.0/0")}); err != nil {
			t.Fatal(err)
		}
	}
	allowAll(100, false)
	allowAll(100, true)
	all, err := c.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{})
	if err != nil {
		t.Fatal(err)
	}
	node := sum.Nodes[0]
	for _, a := range all.NetworkAcls {
		for _, as := range a.Associations {
			if aws.ToString(as.SubnetId) == node.SubnetID {
				if _, err := c.ReplaceNetworkAclAssociation(ctx, &ec2.ReplaceNetworkAclAssociationInput{AssociationId: as.NetworkAclAssociationId, NetworkAclId: id}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	client := &http.Client{Timeout: 500 * time.Millisecond}
	answers := func() bool {
		resp, err := client.Get("http://" + node.Addr + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	testutil.Eventually(t, 5*time.Second, "node answers through the new ACL", answers)

	// Replace the ingress rule with a deny: the node is cut off.
	if _, err := c.ReplaceNetworkAclEntry(ctx, &ec2.ReplaceNetworkAclEntryInput{NetworkAclId: id, RuleNumber: aws.Int32(100), Protocol: aws.String("tcp"), PortRange: &ec2types.PortRange{From: aws.Int32(80), To: aws.Int32(80)}, RuleAction: ec2types.RuleActionDeny, Egress: aws.Bool(false), CidrBlock: aws.String(sum.ClientIP + "/32")}); err != nil {
		t.Fatal(err)
	}
	got, err := c.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{NetworkAclIds: []string{aws.ToString(id)}})
	if err != nil {
		t.Fatal(err)
	}
	var replaced bool
	for _, e := range got.NetworkAcls[0].Entries {
		if aws.ToInt32(e.RuleNumber) == 100 && !aws.ToBool(e.Egress) {
			replaced = e.RuleAction == ec2types.RuleActionDeny && aws.ToString(e.Protocol) == "6" && aws.ToString(e.CidrBlock) == sum.ClientIP+"/32" && e.PortRange != nil && aws.ToInt32(e.PortRange.From) == 80
		}
	}
	if !replaced {
		t.Fatalf("rule 100 not replaced: %+v", got.NetworkAcls[0].Entries)
	}
	testutil.Eventually(t, 5*time.Second, "node cut off by the replaced rule", func() bool { return !answers() })

	// Replace it back with an allow: the node answers again.
	if _, err := c.ReplaceNetworkAclEntry(ctx, &ec2.ReplaceNetworkAclEntryInput{NetworkAclId: id, RuleNumber: aws.Int32(100), Protocol: aws.String("-1"), RuleAction: ec2types.RuleActionAllow, Egress: aws.Bool(false), CidrBlock: aws.String("0.0.0.0/0")}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "node answers after the rule is allowed again", answers)

	// Delete the egress allow: only the implicit deny is left for replies.
	if _, err := c.DeleteNetworkAclEntry(ctx, &ec2.DeleteNetworkAclEntryInput{NetworkAclId: id, RuleNumber: aws.Int32(100), Egress: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "node cut off once its egress rule is deleted", func() bool { return !answers() })
	allowAll(100, true)
	testutil.Eventually(t, 5*time.Second, "node answers once the egress rule is back", answers)

	// AWS's errors.
	_, err = c.DeleteNetworkAclEntry(ctx, &ec2.DeleteNetworkAclEntryInput{NetworkAclId: id, RuleNumber: aws.Int32(200), Egress: aws.Bool(false)})
	wantAPIError(t, err, "InvalidNetworkAclEntry.NotFound", 400)
	_, err = c.ReplaceNetworkAclEntry(ctx, &ec2.ReplaceNetworkAclEntryInput{NetworkAclId: id, RuleNumber: aws.Int32(200), Protocol: aws.String("-1"), RuleAction: ec2types.RuleActionAllow, Egress: aws.Bool(false), CidrBlock: aws.String("0.0.0.0/0")})
	wantAPIError(t, err, "InvalidNetworkAclEntry.NotFound", 400)
	_, err = c.DeleteNetworkAclEntry(ctx, &ec2.DeleteNetworkAclEntryInput{NetworkAclId: aws.String("acl-00000000000000000"), RuleNumber: aws.Int32(100), Egress: aws.Bool(false)})
	wantAPIError(t, err, "InvalidNetworkAclID.NotFound", 400)
	_, err = c.DeleteNetworkAclEntry(ctx, &ec2.DeleteNetworkAclEntryInput{NetworkAclId: id, RuleNumber: aws.Int32(32767), Egress: aws.Bool(false)})
	wantAPIError(t, err, "InvalidParameterValue", 400)
	_, err = c.ReplaceNetworkAclEntry(ctx, &ec2.ReplaceNetworkAclEntryInput{NetworkAclId: id, RuleNumber: aws.Int32(100), Protocol: aws.String("-1"), RuleAction: ec2types.RuleActionAllow, Egress: aws.Bool(false), CidrBlock: aws.String("300.0.0.0/0")})
	wantAPIError(t, err, "InvalidParameterValue", 400)
}

// TestEC2RunbookDescribes: the read calls runbooks and Terraform make
// answer AWS's shapes, consistent with each other and with the instances.
func TestEC2RunbookDescribes(t *testing.T) {
	s, cfg := startSandbox(t, testConfig())
	ctx := ctxT(t)
	sum := s.Summary()
	c := ec2.NewFromConfig(cfg)

	for attr, want := range map[ec2types.VpcAttributeName]bool{ec2types.VpcAttributeNameEnableDnsSupport: true, ec2types.VpcAttributeNameEnableDnsHostnames: true, ec2types.VpcAttributeNameEnableNetworkAddressUsageMetrics: false} {
		out, err := c.DescribeVpcAttribute(ctx, &ec2.DescribeVpcAttributeInput{VpcId: aws.String(sum.VPCID), Attribute: attr})
		if err != nil {
			t.Fatalf("%s: %v", attr, err)
		}
		var got *ec2types.AttributeBooleanValue
		switch attr {
		case ec2types.VpcAttributeNameEnableDnsSupport:
			got = out.EnableDnsSupport
		case ec2types.VpcAttributeNameEnableDnsHostnames:
			got = out.EnableDnsHostnames
		default:
			got = out.EnableNetworkAddressUsageMetrics
		}
		if got == nil || aws.ToBool(got.Value) != want || aws.ToString(out.VpcId) != sum.VPCID {
			t.Errorf("%s: %+v, want %v", attr, got, want)
		}
	}
	_, err := c.DescribeVpcAttribute(ctx, &ec2.DescribeVpcAttributeInput{VpcId: aws.String("vpc-00000000"), Attribute: ec2types.VpcAttributeNameEnableDnsSupport})
	wantAPIError(t, err, "InvalidVpcID.NotFound", 400)
	_, err = c.DescribeVpcAttribute(ctx, &ec2.DescribeVpcAttributeInput{VpcId: aws.String(sum.VPCID), Attribute: "nope"})
	wantAPIError(t, err, "InvalidParameterValue", 400)

	regions, err := c.DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
	if err != nil || len(regions.Regions) != 1 || aws.ToString(regions.Regions[0].RegionName) != sum.Region {
		t.Fatalf("regions: %+v %v", regions, err)
	}
	_, err = c.DescribeRegions(ctx, &ec2.DescribeRegionsInput{RegionNames: []string{"us-east-1"}})
	wantAPIError(t, err, "InvalidParameterValue", 400)

	// Instances carry their interface, group and root volume, and the
	// describes of those objects agree.
	insts, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: sum.Instances[:1]})
	if err != nil {
		t.Fatal(err)
	}
	in := insts.Reservations[0].Instances[0]
	if len(in.NetworkInterfaces) != 1 || len(in.SecurityGroups) != 1 || len(in.BlockDeviceMappings) != 1 {
		t.Fatalf("instance shape: %d ENIs, %d groups, %d block devices", len(in.NetworkInterfaces), len(in.SecurityGroups), len(in.BlockDeviceMappings))
	}
	eni := in.NetworkInterfaces[0]
	if aws.ToString(eni.PrivateIpAddress) != aws.ToString(in.PrivateIpAddress) || aws.ToString(eni.SubnetId) != aws.ToString(in.SubnetId) || aws.ToInt32(eni.Attachment.DeviceIndex) != 0 || len(eni.Groups) != 1 {
		t.Errorf("network interface %+v", eni)
	}
	nis, err := c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{aws.ToString(eni.NetworkInterfaceId)}})
	if err != nil || len(nis.NetworkInterfaces) != 1 || aws.ToString(nis.NetworkInterfaces[0].Attachment.InstanceId) != aws.ToString(in.InstanceId) ||
		aws.ToString(nis.NetworkInterfaces[0].PrivateIpAddress) != aws.ToString(in.PrivateIpAddress) {
		t.Fatalf("the instance's interface by id: %+v %v", nis, err)
	}
	byInst, err := c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: []ec2types.Filter{f("attachment.instance-id", aws.ToString(in.InstanceId))}})
	if err != nil || len(byInst.NetworkInterfaces) != 1 {
		t.Fatalf("interfaces of %s: %v", aws.ToString(in.InstanceId), err)
	}
	group := aws.ToString(in.SecurityGroups[0].GroupId)
	groups, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{group}})
	if err != nil || len(groups.SecurityGroups) != 1 || aws.ToString(groups.SecurityGroups[0].VpcId) != sum.VPCID {
		t.Fatalf("security group %s: %+v %v", group, groups, err)
	}
	if p := groups.SecurityGroups[0].IpPermissions; len(p) != 1 || aws.ToInt32(p[0].FromPort) != 80 || len(p[0].UserIdGroupPairs) != 1 {
		t.Errorf("web group permissions %+v", p)
	}
	_, err = c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{"sg-00000000"}})
	wantAPIError(t, err, "InvalidGroup.NotFound", 400)
	byGroup, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{f("instance.group-id", group), f("instance-state-name", "running")}})
	if err != nil || len(instanceIDs(byGroup)) != len(sum.Instances) {
		t.Errorf("instances in %s: %v (want %d) %v", group, instanceIDs(byGroup), len(sum.Instances), err)
	}
	vol := aws.ToString(in.BlockDeviceMappings[0].Ebs.VolumeId)
	vols, err := c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{vol}})
	if err != nil || len(vols.Volumes) != 1 || aws.ToString(vols.Volumes[0].Attachments[0].InstanceId) != aws.ToString(in.InstanceId) {
		t.Fatalf("volume %s: %+v %v", vol, vols, err)
	}
	_, err = c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{"vol-00000000"}})
	wantAPIError(t, err, "InvalidVolume.NotFound", 400)

	// Route tables: the public subnets route to an internet gateway.
	rts, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{f("association.subnet-id", sum.Nodes[0].SubnetID)}})
	if err != nil || len(rts.RouteTables) != 1 {
		t.Fatalf("route table of %s: %+v %v", sum.Nodes[0].SubnetID, rts, err)
	}
	var igw bool
	for _, r := range rts.RouteTables[0].Routes {
		igw = igw || (aws.ToString(r.DestinationCidrBlock) == "0.0.0.0/0" && strings.HasPrefix(aws.ToString(r.GatewayId), "igw-"))
	}
	if !igw {
		t.Errorf("public route table routes %+v", rts.RouteTables[0].Routes)
	}
	main, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{f("association.main", "true")}})
	if err != nil || len(main.RouteTables) != 1 {
		t.Fatalf("main route table: %v", err)
	}

	addrs, err := c.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{})
	if err != nil || len(addrs.Addresses) != 0 {
		t.Fatalf("addresses: %+v %v", addrs, err)
	}
	_, err = c.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{PublicIps: []string{"198.51.100.1"}})
	wantAPIError(t, err, "InvalidAddress.NotFound", 400)

	types, err := c.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{InstanceTypes: []ec2types.InstanceType{in.InstanceType}})
	if err != nil || len(types.InstanceTypes) != 1 || aws.ToInt32(types.InstanceTypes[0].VCpuInfo.DefaultVCpus) == 0 {
		t.Fatalf("instance type %s: %+v %v", in.InstanceType, types, err)
	}
	_, err = c.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{InstanceTypes: []ec2types.InstanceType{"x9.huge"}})
	wantAPIError(t, err, "InvalidInstanceType", 400)

	// DescribeTags: the opt-in tag of the first instance, by resource.
	tags, err := c.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []ec2types.Filter{f("resource-id", sum.Instances[0]), f("key", "gameday:opt-in")}})
	if err != nil || len(tags.Tags) != 1 || tags.Tags[0].ResourceType != ec2types.ResourceTypeInstance || aws.ToString(tags.Tags[0].Value) != "true" {
		t.Fatalf("tags: %+v %v", tags, err)
	}
	// Paged: every tag comes back across pages of 5.
	whole, err := c.DescribeTags(ctx, &ec2.DescribeTagsInput{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for p := ec2.NewDescribeTagsPaginator(c, &ec2.DescribeTagsInput{MaxResults: aws.Int32(5)}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Tags) > 5 {
			t.Fatalf("page of %d tags", len(page.Tags))
		}
		n += len(page.Tags)
	}
	if n != len(whole.Tags) || n <= 5 {
		t.Errorf("paged %d tags, whole %d", n, len(whole.Tags))
	}
}

// TestInstanceStatus: running instances pass their status checks; others
// appear only with IncludeAllInstances; the SDK's instance-status-ok
// waiter returns.
func TestInstanceStatus(t *testing.T) {
	s, cfg := startSandbox(t, testConfig())
	ctx := ctxT(t)
	sum := s.Summary()
	c := ec2.NewFromConfig(cfg)
	st, err := c.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{})
	if err != nil || len(st.InstanceStatuses) != len(sum.Instances) {
		t.Fatalf("statuses %d (want %d): %v", len(st.InstanceStatuses), len(sum.Instances), err)
	}
	for _, x := range st.InstanceStatuses {
		if x.InstanceStatus.Status != ec2types.SummaryStatusOk || x.SystemStatus.Status != ec2types.SummaryStatusOk || x.InstanceState.Name != ec2types.InstanceStateNameRunning {
			t.Errorf("%s: %+v", aws.ToString(x.InstanceId), x)
		}
	}
	if err := ec2.NewInstanceStatusOkWaiter(c, func(o *ec2.InstanceStatusOkWaiterOptions) {
		o.MinDelay = 10 * time.Millisecond
		o.MaxDelay = 50 * time.Millisecond
	}).Wait(ctx, &ec2.DescribeInstanceStatusInput{InstanceIds: sum.Instances}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	victim := sum.Instances[0]
	if _, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{victim}}); err != nil {
		t.Fatal(err)
	}
	st, err = c.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{InstanceIds: []string{victim}})
	if err != nil || len(st.InstanceStatuses) != 0 {
		t.Fatalf("stopping instance listed without IncludeAllInstances: %+v %v", st, err)
	}
	st, err = c.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{InstanceIds: []string{victim}, IncludeAllInstances: aws.Bool(true)})
	if err != nil || len(st.InstanceStatuses) != 1 || st.InstanceStatuses[0].InstanceStatus.Status != ec2types.SummaryStatusNotApplicable {
		t.Fatalf("IncludeAllInstances: %+v %v", st, err)
	}
	_, err = c.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{InstanceIds: []string{victim}, MaxResults: aws.Int32(5)})
	wantAPIError(t, err, "InvalidParameterCombination", 400)
	_, err = c.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{InstanceIds: []string{"i-00000000000000000"}})
	wantAPIError(t, err, "InvalidInstanceID.NotFound", 400)
}

// TestStateReasonSplit: after a stop and a terminate, StateReason.Code is
// the code alone and Message repeats it with the text, as EC2 sends them.
func TestStateReasonSplit(t *testing.T) {
	s, cfg := startSandbox(t, testConfig())
	ctx := ctxT(t)
	sum := s.Summary()
	c := ec2.NewFromConfig(cfg)
	if _, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: sum.Instances[:1]}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: sum.Instances[1:2]}); err != nil {
		t.Fatal(err)
	}
	d, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: sum.Instances[:2]})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range d.Reservations {
		in := r.Instances[0]
		sr := in.StateReason
		if sr == nil {
			t.Errorf("%s (%s): no state reason", aws.ToString(in.InstanceId), in.State.Name)
			continue
		}
		if aws.ToString(sr.Code) != "Client.UserInitiatedShutdown" || aws.ToString(sr.Message) != "Client.UserInitiatedShutdown: User initiated shutdown" {
			t.Errorf("%s (%s): state reason code %q message %q", aws.ToString(in.InstanceId), in.State.Name, aws.ToString(sr.Code), aws.ToString(sr.Message))
		}
	}
}

// TestClientTokenIdempotency: CreateNetworkAcl retried with its ClientToken
// creates one ACL; the token with other parameters is refused.
func TestClientTokenIdempotency(t *testing.T) {
	s, cfg := startSandbox(t, testConfig())
	ctx := ctxT(t)
	sum := s.Summary()
	c := ec2.NewFromConfig(cfg)
	before, err := c.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{})
	if err != nil {
		t.Fatal(err)
	}
	in := &ec2.CreateNetworkAclInput{VpcId: aws.String(sum.VPCID), ClientToken: aws.String("runbook-step-3")}
	a, err := c.CreateNetworkAcl(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.CreateNetworkAcl(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(a.NetworkAcl.NetworkAclId) != aws.ToString(b.NetworkAcl.NetworkAclId) || aws.ToString(b.ClientToken) != "runbook-step-3" {
		t.Fatalf("retry created %s, first %s", aws.ToString(b.NetworkAcl.NetworkAclId), aws.ToString(a.NetworkAcl.NetworkAclId))
	}
	after, err := c.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{})
	if err != nil || len(after.NetworkAcls) != len(before.NetworkAcls)+1 {
		t.Fatalf("%d ACLs after two calls with one token, %d before", len(after.NetworkAcls), len(before.NetworkAcls))
	}
	_, err = c.CreateNetworkAcl(ctx, &ec2.CreateNetworkAclInput{VpcId: aws.String(sum.VPCID), ClientToken: aws.String("runbook-step-3"),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeNetworkAcl, Tags: []ec2types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}}})
	wantAPIError(t, err, "IdempotentParameterMismatch", 400)
	_, err = c.CreateNetworkAcl(ctx, &ec2.CreateNetworkAclInput{VpcId: aws.String(sum.VPCID), ClientToken: aws.String(strings.Repeat("x", 65))})
	wantAPIError(t, err, "InvalidParameterValue", 400)
	// Without a token every call creates.
	if _, err := c.CreateNetworkAcl(ctx, &ec2.CreateNetworkAclInput{VpcId: aws.String(sum.VPCID)}); err != nil {
		t.Fatal(err)
	}
	last, _ := c.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{})
	if len(last.NetworkAcls) != len(before.NetworkAcls)+2 {
		t.Fatalf("%d ACLs, want %d", len(last.NetworkAcls), len(before.NetworkAcls)+2)
	}
}
