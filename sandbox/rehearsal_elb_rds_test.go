package sandbox

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/rds"
)

// TestTerraformReads: the ELBv2 and RDS calls Terraform's AWS provider
// makes when it reads these resources answer AWS's shapes and errors.
func TestTerraformReads(t *testing.T) {
	s, cfg := startSandbox(t, testConfig())
	ctx := ctxT(t)
	sum := s.Summary()
	e := elb.NewFromConfig(cfg)
	tgs, err := e.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{})
	if err != nil || len(tgs.TargetGroups) != 1 {
		t.Fatalf("target groups: %v", err)
	}
	tg := aws.ToString(tgs.TargetGroups[0].TargetGroupArn)
	ls, err := e.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: aws.String(sum.LoadBalancerARN)})
	if err != nil || len(ls.Listeners) != 1 {
		t.Fatalf("listeners: %v", err)
	}
	listener := aws.ToString(ls.Listeners[0].ListenerArn)

	tags, err := e.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: []string{sum.LoadBalancerARN, tg, listener}})
	if err != nil || len(tags.TagDescriptions) != 3 || aws.ToString(tags.TagDescriptions[1].ResourceArn) != tg {
		t.Fatalf("DescribeTags: %+v %v", tags, err)
	}
	_, err = e.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: []string{sum.LoadBalancerARN + "0"}})
	wantAPIError(t, err, "LoadBalancerNotFound", 400)

	attrs, err := e.DescribeLoadBalancerAttributes(ctx, &elb.DescribeLoadBalancerAttributesInput{LoadBalancerArn: aws.String(sum.LoadBalancerARN)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, a := range attrs.Attributes {
		got[aws.ToString(a.Key)] = aws.ToString(a.Value)
	}
	if got["deletion_protection.enabled"] != "false" || got["idle_timeout.timeout_seconds"] != "60" {
		t.Errorf("load balancer attributes %v", got)
	}
	_, err = e.DescribeLoadBalancerAttributes(ctx, &elb.DescribeLoadBalancerAttributesInput{LoadBalancerArn: aws.String(sum.LoadBalancerARN + "0")})
	wantAPIError(t, err, "LoadBalancerNotFound", 400)

	rules, err := e.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: aws.String(listener)})
	if err != nil || len(rules.Rules) != 1 || !aws.ToBool(rules.Rules[0].IsDefault) || aws.ToString(rules.Rules[0].Actions[0].TargetGroupArn) != tg {
		t.Fatalf("rules: %+v %v", rules, err)
	}
	byARN, err := e.DescribeRules(ctx, &elb.DescribeRulesInput{RuleArns: []string{aws.ToString(rules.Rules[0].RuleArn)}})
	if err != nil || len(byARN.Rules) != 1 {
		t.Fatalf("rule by ARN: %v", err)
	}
	_, err = e.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: aws.String(listener + "0")})
	wantAPIError(t, err, "ListenerNotFound", 400)

	tga, err := e.DescribeTargetGroupAttributes(ctx, &elb.DescribeTargetGroupAttributesInput{TargetGroupArn: aws.String(tg)})
	if err != nil {
		t.Fatal(err)
	}
	var dereg string
	for _, a := range tga.Attributes {
		if aws.ToString(a.Key) == "deregistration_delay.timeout_seconds" {
			dereg = aws.ToString(a.Value)
		}
	}
	if dereg == "" {
		t.Errorf("no deregistration delay in %+v", tga.Attributes)
	}

	r := rds.NewFromConfig(cfg)
	dbs, err := r.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{})
	if err != nil || len(dbs.DBInstances) == 0 {
		t.Fatalf("db instances: %v", err)
	}
	arn := aws.ToString(dbs.DBInstances[0].DBInstanceArn)
	lt, err := r.ListTagsForResource(ctx, &rds.ListTagsForResourceInput{ResourceName: aws.String(arn)})
	if err != nil || len(lt.TagList) != len(dbs.DBInstances[0].TagList) || len(lt.TagList) == 0 {
		t.Fatalf("ListTagsForResource: %+v %v", lt, err)
	}
	_, err = r.ListTagsForResource(ctx, &rds.ListTagsForResourceInput{ResourceName: aws.String(arn + "x")})
	wantAPIError(t, err, "DBInstanceNotFound", 404)

	sgs, err := r.DescribeDBSubnetGroups(ctx, &rds.DescribeDBSubnetGroupsInput{})
	if err != nil || len(sgs.DBSubnetGroups) != 1 || len(sgs.DBSubnetGroups[0].Subnets) == 0 || aws.ToString(sgs.DBSubnetGroups[0].VpcId) != sum.VPCID {
		t.Fatalf("DescribeDBSubnetGroups: %+v %v", sgs, err)
	}
	_, err = r.DescribeDBSubnetGroups(ctx, &rds.DescribeDBSubnetGroupsInput{DBSubnetGroupName: aws.String("nope")})
	wantAPIError(t, err, "DBSubnetGroupNotFoundFault", 404)
}
