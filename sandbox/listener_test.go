package sandbox

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/gameday-dev/gameday/internal/testutil"
)

// TestListenerPortIsTheACLPort: an ACL written from what DescribeListeners
// says (allow the listener's port from the client, the VPC's return
// traffic, deny the rest) keeps the load balancer reachable: the API and
// the ACL model agree on the port (80, as on AWS), not the node's loopback
// port.
func TestListenerPortIsTheACLPort(t *testing.T) {
	s, cfg := startSandbox(t, testConfig())
	ctx := ctxT(t)
	sum := s.Summary()
	ls, err := elasticloadbalancingv2.NewFromConfig(cfg).DescribeListeners(ctx, &elasticloadbalancingv2.DescribeListenersInput{LoadBalancerArn: aws.String(sum.LoadBalancerARN)})
	if err != nil || len(ls.Listeners) != 1 {
		t.Fatalf("listeners: %v", err)
	}
	port := aws.ToInt32(ls.Listeners[0].Port)
	if port != 80 {
		t.Errorf("listener port %d, want 80 (the HTTP listener's port, as AWS reports it)", port)
	}
	if sum.ClientIP != "203.0.113.10" {
		t.Errorf("summary client IP %q, want the default 203.0.113.10", sum.ClientIP)
	}

	c := ec2.NewFromConfig(cfg)
	acl, err := c.CreateNetworkAcl(ctx, &ec2.CreateNetworkAclInput{VpcId: aws.String(sum.VPCID)})
	if err != nil {
		t.Fatal(err)
	}
	id := acl.NetworkAcl.NetworkAclId
	entry := func(num int32, egress bool, proto, cidr string, from, to int32) {
		in := &ec2.CreateNetworkAclEntryInput{NetworkAclId: id, RuleNumber: aws.Int32(num), Protocol: aws.String(proto), RuleAction: ec2types.RuleActionAllow, Egress: aws.Bool(egress), CidrBlock: aws.String(cidr)}
		if proto == "6" {
			in.PortRange = &ec2types.PortRange{From: aws.Int32(from), To: aws.Int32(to)}
		}
		if _, err := c.CreateNetworkAclEntry(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	entry(100, false, "6", sum.ClientIP+"/32", port, port) // the client, to the listener port
	entry(110, false, "6", "10.0.0.0/16", 1024, 65535)     // targets' replies
	entry(100, true, "-1", "0.0.0.0/0", 0, 0)
	// Put every public subnet (the nodes') on it.
	all, err := c.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{})
	if err != nil {
		t.Fatal(err)
	}
	public := map[string]bool{}
	for _, n := range sum.Nodes {
		public[n.SubnetID] = true
	}
	for _, a := range all.NetworkAcls {
		for _, as := range a.Associations {
			if public[aws.ToString(as.SubnetId)] {
				if _, err := c.ReplaceNetworkAclAssociation(ctx, &ec2.ReplaceNetworkAclAssociationInput{AssociationId: as.NetworkAclAssociationId, NetworkAclId: id}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	client := &http.Client{Timeout: 3 * time.Second}
	for _, n := range sum.Nodes {
		if !strings.HasPrefix(n.Addr, n.IP+":") {
			t.Fatalf("node %s address %q: the loopback port is still visible to the harness", n.AZ, n.Addr)
		}
		testutil.Eventually(t, 5*time.Second, "node "+n.AZ+" answers through the ACL", func() bool {
			resp, err := client.Get("http://" + n.Addr + "/")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		})
	}
}
