package sim

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNewBuildsTheRegion(t *testing.T) {
	r, err := New(Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := r.RegionName(); got != "local-1" {
		t.Errorf("region %q", got)
	}
	azs := r.AvailabilityZones()
	if len(azs) != 3 || azs[0].Name != "local-1a" || azs[2].ID != "lcl1-az3" {
		t.Errorf("AZs %+v", azs)
	}
	subnets := r.Subnets()
	if len(subnets) != 6 {
		t.Fatalf("%d subnets", len(subnets))
	}
	if subnets[0].CIDR != "10.0.1.0/24" || !subnets[0].Public || subnets[3].CIDR != "10.0.101.0/24" || subnets[3].Public {
		t.Errorf("subnets %+v", subnets)
	}
	acls := r.NetworkACLs()
	if len(acls) != 1 || !acls[0].IsDefault || len(acls[0].Associations) != 6 || len(acls[0].Entries) != 4 {
		t.Errorf("default ACL %+v", acls)
	}
	ins := r.Instances()
	if len(ins) != 3 {
		t.Fatalf("%d instances", len(ins))
	}
	seen := map[string]bool{}
	for _, in := range ins {
		if in.State != StateRunning || !strings.HasPrefix(in.PrivateIP, "10.0.10") || in.Addr != "" {
			t.Errorf("instance %+v", in)
		}
		seen[in.AZ] = true
	}
	if len(seen) != 3 {
		t.Errorf("instances not spread over AZs: %v", seen)
	}
	g := r.AutoScalingGroups()[0]
	if g.Min != 3 || g.Desired != 3 || g.Max != 6 || g.HealthCheckType != "ELB" || len(g.Instances) != 3 {
		t.Errorf("group %+v", g)
	}
	ths, err := r.TargetHealth(r.TargetGroups()[0].ARN)
	if err != nil || len(ths) != 3 || ths[0].State != TargetHealthy {
		t.Errorf("targets %+v %v", ths, err)
	}
	db := r.DBInstances()
	if len(db) != 1 || !db[0].MultiAZ || db[0].AZ != "local-1a" || db[0].SecondaryAZ != "local-1c" || db[0].Status != DBAvailable {
		t.Errorf("db %+v", db)
	}
	if len(r.DBClusters()) != 0 {
		t.Error("a cluster for kind instance")
	}
	lb := r.LoadBalancers()[0]
	if lb.DNSName != r.DNSName() || len(lb.AZs) != 3 || lb.AZs[1].IP != "127.0.0.12" {
		t.Errorf("lb %+v", lb)
	}
	if ips := r.HealthyNodeIPs(); strings.Join(ips, ",") != "127.0.0.11,127.0.0.12,127.0.0.13" {
		t.Errorf("DNS set %v", ips)
	}
	if len(r.ScalingActivities(g.Name)) != 3 {
		t.Errorf("activities %+v", r.ScalingActivities(g.Name))
	}
}

func TestConfigValidation(t *testing.T) {
	for name, cfg := range map[string]Config{
		"profile":        {Profile: "slow"},
		"timeout":        {Timings: Timings{HealthCheckInterval: time.Second, HealthCheckTimeout: time.Second}},
		"group":          {Group: GroupConfig{Min: 4, Desired: 2, Max: 6}},
		"health type":    {Group: GroupConfig{HealthCheckType: "ALB"}},
		"db kind":        {DB: DBConfig{Kind: "sharded"}},
		"listen ip":      {ListenIP: "10.0.0.1"},
		"one az":         {AZs: []string{"x-1a"}},
		"threshold":      {Timings: Timings{HealthyThreshold: 1}},
		"duplicate azs":  {AZs: []string{"a", "a"}},
		"negative delay": {Timings: Timings{BootDelay: -time.Second}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := New(cfg); err == nil {
				t.Errorf("New(%+v) accepted a bad config", cfg)
			}
		})
	}
	aws, err := DefaultTimings("aws")
	if err != nil || aws.HealthCheckInterval != 30*time.Second || aws.HealthyThreshold != 5 || aws.DeregistrationDelay != 300*time.Second {
		t.Errorf("aws timings %+v %v", aws, err)
	}
	r, err := New(Config{Profile: "aws", Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for range 20 {
		if d := r.failoverDuration(); d < 60*time.Second || d > 120*time.Second {
			t.Fatalf("aws failover %s outside 60–120 s", d)
		}
	}
}

func TestAPIErrors(t *testing.T) {
	r, err := New(Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	acl := r.NetworkACLs()[0]
	tests := []struct {
		name   string
		call   func() error
		code   string
		status int
	}{
		{"terminate malformed", func() error { _, err := r.TerminateInstances([]string{"i-xyz"}); return err }, "InvalidInstanceID.Malformed", 400},
		{"terminate unknown", func() error { _, err := r.TerminateInstances([]string{"i-0123456789abcdef0"}); return err }, "InvalidInstanceID.NotFound", 400},
		{"stop unknown", func() error { _, err := r.StopInstances([]string{"i-01234567"}, false); return err }, "InvalidInstanceID.NotFound", 400},
		{"tags unknown subnet", func() error { return r.CreateTags([]string{"subnet-0000"}, []Tag{{"a", "b"}}) }, "InvalidSubnetID.NotFound", 400},
		{"acl unknown vpc", func() error { _, err := r.CreateNetworkACL("vpc-nope", nil); return err }, "InvalidVpcID.NotFound", 400},
		{"entry unknown acl", func() error { return r.CreateNetworkACLEntry("acl-nope", ACLEntry{RuleNumber: 1}) }, "InvalidNetworkAclID.NotFound", 400},
		{"entry duplicate", func() error {
			return r.CreateNetworkACLEntry(acl.ID, ACLEntry{RuleNumber: 100, Protocol: "-1", RuleAction: "deny", CIDR: "0.0.0.0/0"})
		}, "NetworkAclEntryAlreadyExists", 400},
		{"entry bad cidr", func() error {
			return r.CreateNetworkACLEntry(acl.ID, ACLEntry{RuleNumber: 5, Protocol: "-1", RuleAction: "deny", CIDR: "10.0.0.0"})
		}, "InvalidParameterValue", 400},
		{"delete unknown acl", func() error { return r.DeleteNetworkACL("acl-nope") }, "InvalidNetworkAclID.NotFound", 400},
		{"delete default acl", func() error { return r.DeleteNetworkACL(acl.ID) }, "InvalidParameterValue", 400},
		{"replace unknown assoc", func() error { _, err := r.ReplaceNetworkACLAssociation("aclassoc-nope", acl.ID); return err }, "InvalidAssociationID.NotFound", 400},
		{"replace unknown acl", func() error {
			_, err := r.ReplaceNetworkACLAssociation(acl.Associations[0].ID, "acl-nope")
			return err
		}, "InvalidNetworkAclID.NotFound", 400},
		{"asg unknown instance", func() error {
			_, err := r.TerminateInstanceInAutoScalingGroup("i-0123456789abcdef0", false)
			return err
		}, "ValidationError", 400},
		{"asg below min", func() error {
			_, err := r.TerminateInstanceInAutoScalingGroup(r.Instances()[0].ID, true)
			return err
		}, "ValidationError", 400},
		{"desired above max", func() error { return r.SetDesiredCapacity("gameday-web", 7, false) }, "ValidationError", 400},
		{"desired unknown group", func() error { return r.SetDesiredCapacity("nope", 3, false) }, "ValidationError", 400},
		{"tg unknown", func() error { _, err := r.TargetHealth("arn:nope"); return err }, "TargetGroupNotFound", 400},
		{"db unknown", func() error { _, err := r.RebootDBInstance("nope", false); return err }, "DBInstanceNotFound", 404},
		{"cluster unknown", func() error { _, err := r.FailoverDBCluster("nope", ""); return err }, "DBClusterNotFoundFault", 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if got := apiCode(err); got != tc.code {
				t.Fatalf("code %q, want %q (err %v)", got, tc.code, err)
			}
			if s := err.(*APIError).Status; s != tc.status {
				t.Errorf("status %d, want %d", s, tc.status)
			}
		})
	}
}

func TestNetworkACLLifecycle(t *testing.T) {
	r, err := New(Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	vpc := r.VPCs()[0].ID
	a, err := r.CreateNetworkACL(vpc, []Tag{{"Name", "blackhole"}})
	if err != nil {
		t.Fatal(err)
	}
	if a.IsDefault || len(a.Entries) != 2 || a.Entries[0].RuleNumber != 32767 || a.Entries[0].RuleAction != "deny" {
		t.Errorf("new ACL %+v", a)
	}
	def := r.NetworkACLs()[0]
	assoc := def.Associations[3]
	id1, err := r.ReplaceNetworkACLAssociation(assoc.ID, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if id1 == assoc.ID {
		t.Error("replace kept the association id")
	}
	if err := r.DeleteNetworkACL(a.ID); apiCode(err) != "DependencyViolation" {
		t.Errorf("delete in use: %v", err)
	}
	id2, err := r.ReplaceNetworkACLAssociation(id1, def.ID)
	if err != nil || id2 == id1 || id2 == assoc.ID {
		t.Errorf("restore: %q %v", id2, err)
	}
	if _, err := r.ReplaceNetworkACLAssociation(id1, def.ID); apiCode(err) != "InvalidAssociationID.NotFound" {
		t.Errorf("old id still valid: %v", err)
	}
	if err := r.CreateNetworkACLEntry(a.ID, ACLEntry{RuleNumber: 100, Protocol: "tcp", RuleAction: "allow", CIDR: "0.0.0.0/0", PortFrom: 80, PortTo: 80}); err != nil {
		t.Fatal(err)
	}
	if err := r.CreateTags([]string{a.ID, vpc}, []Tag{{"team", "sre"}}); err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteNetworkACL(a.ID); err != nil {
		t.Fatal(err)
	}
	if len(r.NetworkACLs()) != 1 {
		t.Error("ACL not deleted")
	}
	if !hasEvent(r, "acl-association", a.ID) {
		t.Error("no acl-association event")
	}
}

func TestACLEvaluation(t *testing.T) {
	mk := func(entries ...ACLEntry) *aclRules { return compileACL(&acl{m: NetworkACL{Entries: entries}}) }
	ip := func(s string) endpoint { return endpoint{subnet: -1, ip: mustAddr(s)} }
	allowWeb := mk(
		ACLEntry{RuleNumber: 100, Protocol: "6", RuleAction: "allow", CIDR: "0.0.0.0/0", PortFrom: 80, PortTo: 80},
		ACLEntry{RuleNumber: 50, Protocol: "-1", RuleAction: "deny", CIDR: "198.51.100.0/24"},
		ACLEntry{RuleNumber: 100, Protocol: "-1", RuleAction: "allow", Egress: true, CIDR: "0.0.0.0/0"},
		ACLEntry{RuleNumber: 200, Protocol: "6", RuleAction: "allow", CIDR: "0.0.0.0/0", PortFrom: 1024, PortTo: 65535},
	)
	snap := &netSnap{bySubnet: []*aclRules{allowWeb}}
	dst := endpoint{subnet: 0, ip: mustAddr("10.0.1.5")}
	if !snap.path(ip("203.0.113.10"), dst, 80) {
		t.Error("port 80 from the internet denied")
	}
	if snap.path(ip("203.0.113.10"), dst, 22) {
		t.Error("port 22 allowed")
	}
	if snap.path(ip("198.51.100.7"), dst, 80) {
		t.Error("lower-numbered deny did not win")
	}
	deny := &netSnap{bySubnet: []*aclRules{mk(implicitEntries()...), allowWeb}}
	if !deny.path(endpoint{subnet: 0, ip: mustAddr("10.0.1.5")}, endpoint{subnet: 0, ip: mustAddr("10.0.1.6")}, 80) {
		t.Error("traffic inside one subnet was filtered")
	}
	if deny.path(endpoint{subnet: 1, ip: mustAddr("10.0.2.5")}, endpoint{subnet: 0, ip: mustAddr("10.0.1.6")}, 80) {
		t.Error("implicit deny let traffic in")
	}
}

func TestEventLogFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.jsonl")
	cfg := testConfig()
	cfg.EventLog = path
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.RecordAPICall("ec2", "DescribeInstances", false)
	if _, err := r.TerminateInstances([]string{r.Instances()[0].ID}); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, kinds := 0, map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		kinds[e.Kind] = true
		n++
	}
	if n != len(r.Events()) || !kinds["api-call"] || !kinds["instance-state"] || !kinds["target-health"] {
		t.Errorf("%d lines for %d events, kinds %v", n, len(r.Events()), kinds)
	}
}
