package sandbox

import (
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/gameday-dev/gameday/internal/testutil"
)

func f(name string, values ...string) ec2types.Filter {
	return ec2types.Filter{Name: aws.String(name), Values: values}
}

func instanceIDs(out *ec2.DescribeInstancesOutput) []string {
	var ids []string
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			ids = append(ids, aws.ToString(i.InstanceId))
		}
	}
	return ids
}

func TestEC2Describe(t *testing.T) {
	s, cfg := startSandbox(t, testConfig())
	ctx := ctxT(t)
	c := ec2.NewFromConfig(cfg)
	sum := s.Summary()

	azs, err := c.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{})
	if err != nil {
		t.Fatal(err)
	}
	var zoneNames []string
	for _, z := range azs.AvailabilityZones {
		zoneNames = append(zoneNames, aws.ToString(z.ZoneName))
		if aws.ToString(z.RegionName) != "local-1" || z.State != ec2types.AvailabilityZoneStateAvailable || aws.ToString(z.ZoneId) == "" {
			t.Errorf("zone %+v", z)
		}
	}
	if !slices.Equal(zoneNames, []string{"local-1a", "local-1b", "local-1c"}) {
		t.Fatalf("zones %v", zoneNames)
	}

	vpcs, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	if err != nil || len(vpcs.Vpcs) != 1 || aws.ToString(vpcs.Vpcs[0].VpcId) != sum.VPCID || aws.ToString(vpcs.Vpcs[0].CidrBlock) == "" {
		t.Fatalf("vpcs %+v %v", vpcs, err)
	}

	subs, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{f("vpc-id", sum.VPCID)}})
	if err != nil || len(subs.Subnets) != 6 {
		t.Fatalf("subnets: %v %v", len(subs.Subnets), err)
	}
	pub, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{f("tag:gameday:tier", "public"), f("availability-zone", "local-1b")}})
	if err != nil || len(pub.Subnets) != 1 || !aws.ToBool(pub.Subnets[0].MapPublicIpOnLaunch) || aws.ToString(pub.Subnets[0].AvailabilityZone) != "local-1b" {
		t.Fatalf("public subnet in b: %+v %v", pub.Subnets, err)
	}
	one, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{aws.ToString(pub.Subnets[0].SubnetId)}})
	if err != nil || len(one.Subnets) != 1 {
		t.Fatalf("by id: %v", err)
	}
	_, err = c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{"subnet-0000000000"}})
	wantAPIError(t, err, "InvalidSubnetID.NotFound", 400)

	all, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	ids := instanceIDs(all)
	if len(ids) != 3 || !sort.StringsAreSorted(ids) {
		t.Fatalf("instances %v", ids)
	}
	for _, r := range all.Reservations {
		if len(r.Instances) != 1 || aws.ToString(r.ReservationId) == "" || aws.ToString(r.OwnerId) != "000000000000" {
			t.Fatalf("reservation %+v", r)
		}
		in := r.Instances[0]
		if in.State.Name != ec2types.InstanceStateNameRunning || aws.ToInt32(in.State.Code) != 16 ||
			in.LaunchTime == nil || time.Since(*in.LaunchTime) > time.Minute ||
			!strings.HasPrefix(aws.ToString(in.Placement.AvailabilityZone), "local-1") ||
			aws.ToString(in.SubnetId) == "" || aws.ToString(in.VpcId) != sum.VPCID || in.InstanceType != ec2types.InstanceTypeT3Micro {
			t.Fatalf("instance %+v", in)
		}
	}

	for _, tc := range []struct {
		name    string
		filters []ec2types.Filter
		ids     []string
		want    int
	}{
		{"group tag", []ec2types.Filter{f("tag:aws:autoscaling:groupName", sum.AutoScalingGroup)}, nil, 3},
		{"tag-key", []ec2types.Filter{f("tag-key", "aws:autoscaling:groupName")}, nil, 3},
		{"wildcard tag", []ec2types.Filter{f("tag:aws:autoscaling:groupName", "gameday-*")}, nil, 3},
		{"state", []ec2types.Filter{f("instance-state-name", "running")}, nil, 3},
		{"no stopped", []ec2types.Filter{f("instance-state-name", "stopped")}, nil, 0},
		{"az", []ec2types.Filter{f("availability-zone", "local-1a")}, nil, 1},
		{"two azs", []ec2types.Filter{f("availability-zone", "local-1a", "local-1c")}, nil, 2},
		{"instance-id", []ec2types.Filter{f("instance-id", ids[1])}, nil, 1},
		{"vpc", []ec2types.Filter{f("vpc-id", sum.VPCID)}, nil, 3},
		{"ids", nil, ids[:2], 2},
		{"ids and az", []ec2types.Filter{f("availability-zone", "nowhere")}, ids[:2], 0},
	} {
		out, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: tc.filters, InstanceIds: tc.ids})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := len(instanceIDs(out)); got != tc.want {
			t.Errorf("%s: %d instances, want %d", tc.name, got, tc.want)
		}
	}
	// subnet-id filter agrees with the instance's subnet
	in0 := all.Reservations[0].Instances[0]
	out, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{f("subnet-id", aws.ToString(in0.SubnetId))}})
	if err != nil || !slices.Contains(instanceIDs(out), aws.ToString(in0.InstanceId)) {
		t.Fatalf("subnet filter: %v %v", instanceIDs(out), err)
	}

	_, err = c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}})
	wantAPIError(t, err, "InvalidInstanceID.NotFound", 400)
	_, err = c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"bogus"}})
	wantAPIError(t, err, "InvalidInstanceID.Malformed", 400)
	_, err = c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{f("no-such-filter", "x")}})
	wantAPIError(t, err, "InvalidParameterValue", 400)
}

func TestEC2TerminateStopStart(t *testing.T) {
	s, cfg := startSandbox(t, testConfig())
	ctx := ctxT(t)
	c := ec2.NewFromConfig(cfg)
	ids := s.Summary().Instances

	out, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{ids[0]}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.TerminatingInstances) != 1 {
		t.Fatalf("%+v", out)
	}
	ch := out.TerminatingInstances[0]
	if aws.ToString(ch.InstanceId) != ids[0] || ch.PreviousState.Name != ec2types.InstanceStateNameRunning || ch.CurrentState.Name != ec2types.InstanceStateNameShuttingDown || aws.ToInt32(ch.CurrentState.Code) != 32 {
		t.Fatalf("state change %+v -> %+v", ch.PreviousState, ch.CurrentState)
	}
	state := func() ec2types.InstanceStateName {
		d, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{ids[0]}})
		if err != nil {
			t.Fatal(err)
		}
		return d.Reservations[0].Instances[0].State.Name
	}
	if st := state(); st != ec2types.InstanceStateNameShuttingDown && st != ec2types.InstanceStateNameTerminated {
		t.Fatalf("after terminate: %s", st)
	}
	testutil.Eventually(t, 5*time.Second, "terminated", func() bool { return state() == ec2types.InstanceStateNameTerminated })
	d, _ := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{ids[0]}})
	if sr := d.Reservations[0].Instances[0].StateReason; sr == nil || aws.ToString(sr.Code) == "" {
		t.Errorf("terminated instance has no state reason")
	}
	term, _ := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{f("instance-state-name", "terminated")}})
	if !slices.Equal(instanceIDs(term), []string{ids[0]}) {
		t.Fatalf("terminated filter: %v", instanceIDs(term))
	}

	// A terminated instance cannot be started; the error is EC2's.
	_, err = c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{ids[0]}})
	wantAPIError(t, err, "IncorrectInstanceState", 400)
	_, err = c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{"i-00000000000000000"}})
	wantAPIError(t, err, "InvalidInstanceID.NotFound", 400)

	stop, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{ids[1]}})
	if err != nil {
		t.Fatal(err)
	}
	if st := stop.StoppingInstances[0]; st.PreviousState.Name != ec2types.InstanceStateNameRunning || st.CurrentState.Name != ec2types.InstanceStateNameStopping {
		t.Fatalf("stop: %+v -> %+v", st.PreviousState, st.CurrentState)
	}

	// CreateTags round-trips.
	if _, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{ids[2]}, Tags: []ec2types.Tag{{Key: aws.String("team"), Value: aws.String("sre")}}}); err != nil {
		t.Fatal(err)
	}
	tagged, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{f("tag:team", "sre")}})
	if err != nil || !slices.Equal(instanceIDs(tagged), []string{ids[2]}) {
		t.Fatalf("tag filter after CreateTags: %v %v", instanceIDs(tagged), err)
	}
	_, err = c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{ids[2]}, Tags: []ec2types.Tag{{Key: aws.String("aws:x"), Value: aws.String("y")}}})
	wantAPIError(t, err, "InvalidParameterValue", 400)
}

func TestNetworkACLs(t *testing.T) {
	s, cfg := startSandbox(t, testConfig())
	ctx := ctxT(t)
	c := ec2.NewFromConfig(cfg)
	sum := s.Summary()
	var subnetA string
	for _, sn := range sum.Subnets {
		if sn.AZ == "local-1a" && !sn.Public {
			subnetA = sn.ID
		}
	}

	acls, err := c.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{})
	if err != nil || len(acls.NetworkAcls) != 1 {
		t.Fatalf("acls %v %v", acls, err)
	}
	def := acls.NetworkAcls[0]
	if !aws.ToBool(def.IsDefault) || len(def.Associations) != 6 || aws.ToString(def.VpcId) != sum.VPCID {
		t.Fatalf("default acl %+v", def)
	}
	var sawDenyAll bool
	for _, e := range def.Entries {
		if aws.ToInt32(e.RuleNumber) == 32767 && e.RuleAction == ec2types.RuleActionDeny {
			sawDenyAll = true
		}
	}
	if !sawDenyAll {
		t.Errorf("default acl lacks rule 32767: %+v", def.Entries)
	}
	bySubnet, err := c.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{Filters: []ec2types.Filter{f("association.subnet-id", subnetA)}})
	if err != nil || len(bySubnet.NetworkAcls) != 1 {
		t.Fatalf("by subnet: %v", err)
	}
	var assocID string
	for _, a := range bySubnet.NetworkAcls[0].Associations {
		if aws.ToString(a.SubnetId) == subnetA {
			assocID = aws.ToString(a.NetworkAclAssociationId)
		}
	}
	if assocID == "" {
		t.Fatal("no association for subnet")
	}

	created, err := c.CreateNetworkAcl(ctx, &ec2.CreateNetworkAclInput{
		VpcId: aws.String(sum.VPCID),
		TagSpecifications: []ec2types.TagSpecification{{
			ResourceType: ec2types.ResourceTypeNetworkAcl,
			Tags:         []ec2types.Tag{{Key: aws.String("gameday:fault"), Value: aws.String("az-blackhole")}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	aclID := aws.ToString(created.NetworkAcl.NetworkAclId)
	if !strings.HasPrefix(aclID, "acl-") || aws.ToBool(created.NetworkAcl.IsDefault) || len(created.NetworkAcl.Tags) != 1 {
		t.Fatalf("created %+v", created.NetworkAcl)
	}
	for _, egress := range []bool{false, true} {
		_, err := c.CreateNetworkAclEntry(ctx, &ec2.CreateNetworkAclEntryInput{
			NetworkAclId: aws.String(aclID), RuleNumber: aws.Int32(100), Protocol: aws.String("-1"),
			RuleAction: ec2types.RuleActionDeny, Egress: aws.Bool(egress), CidrBlock: aws.String("0.0.0.0/0"),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.CreateNetworkAclEntry(ctx, &ec2.CreateNetworkAclEntryInput{
		NetworkAclId: aws.String(aclID), RuleNumber: aws.Int32(110), Protocol: aws.String("6"),
		RuleAction: ec2types.RuleActionAllow, Egress: aws.Bool(false), CidrBlock: aws.String("10.0.0.0/16"),
		PortRange: &ec2types.PortRange{From: aws.Int32(8080), To: aws.Int32(8090)},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateNetworkAclEntry(ctx, &ec2.CreateNetworkAclEntryInput{
		NetworkAclId: aws.String(aclID), RuleNumber: aws.Int32(100), Protocol: aws.String("-1"),
		RuleAction: ec2types.RuleActionDeny, Egress: aws.Bool(false), CidrBlock: aws.String("0.0.0.0/0"),
	})
	wantAPIError(t, err, "NetworkAclEntryAlreadyExists", 400)

	tagged, err := c.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{Filters: []ec2types.Filter{f("tag:gameday:fault", "az-blackhole")}})
	if err != nil || len(tagged.NetworkAcls) != 1 {
		t.Fatalf("tag filter: %v", err)
	}
	var sawPorts bool
	for _, e := range tagged.NetworkAcls[0].Entries {
		if aws.ToInt32(e.RuleNumber) == 110 {
			sawPorts = e.PortRange != nil && aws.ToInt32(e.PortRange.From) == 8080 && aws.ToInt32(e.PortRange.To) == 8090 && aws.ToString(e.Protocol) == "6"
		}
	}
	if !sawPorts {
		t.Errorf("rule 110 port range lost: %+v", tagged.NetworkAcls[0].Entries)
	}

	rep, err := c.ReplaceNetworkAclAssociation(ctx, &ec2.ReplaceNetworkAclAssociationInput{AssociationId: aws.String(assocID), NetworkAclId: aws.String(aclID)})
	if err != nil {
		t.Fatal(err)
	}
	newAssoc := aws.ToString(rep.NewAssociationId)
	if !strings.HasPrefix(newAssoc, "aclassoc-") || newAssoc == assocID {
		t.Fatalf("new association id %q (old %q)", newAssoc, assocID)
	}
	now, err := c.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{Filters: []ec2types.Filter{f("association.subnet-id", subnetA)}})
	if err != nil || len(now.NetworkAcls) != 1 || aws.ToString(now.NetworkAcls[0].NetworkAclId) != aclID {
		t.Fatalf("subnet not on new acl: %v", err)
	}
	// The old association id is gone.
	_, err = c.ReplaceNetworkAclAssociation(ctx, &ec2.ReplaceNetworkAclAssociationInput{AssociationId: aws.String(assocID), NetworkAclId: aws.String(aws.ToString(def.NetworkAclId))})
	wantAPIError(t, err, "InvalidAssociationID.NotFound", 400)
	// An ACL in use cannot be deleted; move back, then delete.
	_, err = c.DeleteNetworkAcl(ctx, &ec2.DeleteNetworkAclInput{NetworkAclId: aws.String(aclID)})
	wantAPIError(t, err, "DependencyViolation", 400)
	back, err := c.ReplaceNetworkAclAssociation(ctx, &ec2.ReplaceNetworkAclAssociationInput{AssociationId: aws.String(newAssoc), NetworkAclId: def.NetworkAclId})
	if err != nil || aws.ToString(back.NewAssociationId) == newAssoc {
		t.Fatalf("replace back: %v", err)
	}
	if _, err := c.DeleteNetworkAcl(ctx, &ec2.DeleteNetworkAclInput{NetworkAclId: aws.String(aclID)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{NetworkAclIds: []string{aclID}})
	wantAPIError(t, err, "InvalidNetworkAclID.NotFound", 400)
	_, err = c.DeleteNetworkAcl(ctx, &ec2.DeleteNetworkAclInput{NetworkAclId: def.NetworkAclId})
	wantAPIError(t, err, "InvalidParameterValue", 400)
	dflt, err := c.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{Filters: []ec2types.Filter{f("default", "true")}})
	if err != nil || len(dflt.NetworkAcls) != 1 || len(dflt.NetworkAcls[0].Associations) != 6 {
		t.Fatalf("default after cleanup: %v", err)
	}
}

func TestNetworkInterfacesMapNodeIPsToAZs(t *testing.T) {
	s, cfg := startSandbox(t, testConfig())
	ctx := ctxT(t)
	c := ec2.NewFromConfig(cfg)
	sum := s.Summary()
	arn := sum.LoadBalancerARN
	desc := "ELB " + arn[strings.Index(arn, ":loadbalancer/")+len(":loadbalancer/"):]
	if !strings.HasPrefix(desc, "ELB app/"+sum.LoadBalancerName+"/") {
		t.Fatalf("description %q from ARN %q", desc, arn)
	}
	out, err := c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: []ec2types.Filter{f("description", desc), f("requester-id", "amazon-elb")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.NetworkInterfaces) != len(sum.Nodes) {
		t.Fatalf("%d interfaces for %d nodes", len(out.NetworkInterfaces), len(sum.Nodes))
	}
	for _, n := range sum.Nodes {
		got, err := c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: []ec2types.Filter{f("association.public-ip", n.IP)}})
		if err != nil || len(got.NetworkInterfaces) != 1 {
			t.Fatalf("node %s: %v", n.IP, err)
		}
		eni := got.NetworkInterfaces[0]
		if aws.ToString(eni.AvailabilityZone) != n.AZ || aws.ToString(eni.SubnetId) != n.SubnetID || aws.ToString(eni.Description) != desc ||
			aws.ToString(eni.Association.PublicIp) != n.IP || !aws.ToBool(eni.RequesterManaged) || eni.InterfaceType != ec2types.NetworkInterfaceTypeInterface {
			t.Fatalf("eni %+v for node %+v", eni, n)
		}
	}
	none, err := c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: []ec2types.Filter{f("description", "ELB app/other/0")}})
	if err != nil || len(none.NetworkInterfaces) != 0 {
		t.Fatalf("other LB: %v", err)
	}
	// Wildcards work as on AWS.
	wild, err := c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: []ec2types.Filter{f("description", "ELB app/"+sum.LoadBalancerName+"/*")}})
	if err != nil || len(wild.NetworkInterfaces) != len(sum.Nodes) {
		t.Fatalf("wildcard: %v", err)
	}
}
