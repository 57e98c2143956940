package sandbox

import (
	"os"
	"strings"
	"testing"
)

// TestConformanceCLIRunbook drives the calls added for runbooks and
// Terraform with the AWS CLI: the waiter, Terraform's reads, paging, a
// wrong region and a service the sandbox does not model.
func TestConformanceCLIRunbook(t *testing.T) {
	if testing.Short() {
		t.Skip("conformance suite: not in -short")
	}
	if _, err := os.Stat(debianAWS); err != nil {
		t.Skipf("conformance suite: %s absent (scripts/test-deps.sh installs awscli)", debianAWS)
	}
	s, env := conformanceSandbox(t)
	sum := s.Summary()
	aws1 := func(args ...string) (string, string, error) {
		return run(t, env, t.TempDir(), debianAWS, append([]string{"--endpoint-url", s.Endpoint(), "--output", "text"}, args...)...)
	}
	ok := func(want string, args ...string) {
		t.Helper()
		out, errOut, err := aws1(args...)
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, errOut)
		}
		if !strings.Contains(out, want) {
			t.Errorf("aws %s: %q, want %q in it", strings.Join(args, " "), out, want)
		}
	}
	fails := func(want string, args ...string) {
		t.Helper()
		_, errOut, err := aws1(args...)
		if err == nil || !strings.Contains(errOut, want) {
			t.Errorf("aws %s: err %v, stderr %q; want %q", strings.Join(args, " "), err, errOut, want)
		}
	}
	ok("", append([]string{"ec2", "wait", "instance-status-ok", "--instance-ids"}, sum.Instances...)...)
	ok("True", "ec2", "describe-vpc-attribute", "--vpc-id", sum.VPCID, "--attribute", "enableDnsHostnames", "--query", "EnableDnsHostnames.Value")
	ok(sum.TargetGroupARN, "elbv2", "describe-tags", "--resource-arns", sum.LoadBalancerARN, sum.TargetGroupARN, "--query", "TagDescriptions[].ResourceArn")
	ok("false", "elbv2", "describe-load-balancer-attributes", "--load-balancer-arn", sum.LoadBalancerARN, "--query", "Attributes[?Key=='deletion_protection.enabled'].Value")
	ok(sum.AutoScalingGroup, "autoscaling", "describe-auto-scaling-instances", "--page-size", "1", "--query", "AutoScalingInstances[0].AutoScalingGroupName")
	ok("gameday:opt-in", "rds", "list-tags-for-resource", "--resource-name", "arn:aws:rds:"+sum.Region+":"+sum.AccountID+":db:"+sum.DBIdentifier, "--query", "TagList[].Key")
	fails("(SignatureDoesNotMatch)", "--region", "us-west-2", "ec2", "describe-instances")
	fails("gameday sandbox does not implement cloudwatch:DescribeAlarms", "cloudwatch", "describe-alarms")
	fails("(InvalidNetworkAclEntry.NotFound)", "ec2", "delete-network-acl-entry", "--network-acl-id", s.Region().NetworkACLs()[0].ID, "--rule-number", "4242", "--ingress")
}
