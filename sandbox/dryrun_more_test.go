package sandbox

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Dry-run cases of the EC2 actions added for runbooks and Terraform.
func init() {
	for name, call := range map[string]dryRunCall{
		"DescribeVpcAttribute": func(ctx context.Context, c *ec2.Client, w dryRunWorld, dry *bool) error {
			_, err := c.DescribeVpcAttribute(ctx, &ec2.DescribeVpcAttributeInput{VpcId: aws.String(w.vpc), Attribute: ec2types.VpcAttributeNameEnableDnsSupport, DryRun: dry})
			return err
		},
		"DescribeRegions": func(ctx context.Context, c *ec2.Client, w dryRunWorld, dry *bool) error {
			_, err := c.DescribeRegions(ctx, &ec2.DescribeRegionsInput{DryRun: dry})
			return err
		},
		"DescribeInstanceStatus": func(ctx context.Context, c *ec2.Client, w dryRunWorld, dry *bool) error {
			_, err := c.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{DryRun: dry})
			return err
		},
		"DescribeTags": func(ctx context.Context, c *ec2.Client, w dryRunWorld, dry *bool) error {
			_, err := c.DescribeTags(ctx, &ec2.DescribeTagsInput{DryRun: dry})
			return err
		},
		"DescribeSecurityGroups": func(ctx context.Context, c *ec2.Client, w dryRunWorld, dry *bool) error {
			_, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{DryRun: dry})
			return err
		},
		"DescribeRouteTables": func(ctx context.Context, c *ec2.Client, w dryRunWorld, dry *bool) error {
			_, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{DryRun: dry})
			return err
		},
		"DescribeAddresses": func(ctx context.Context, c *ec2.Client, w dryRunWorld, dry *bool) error {
			_, err := c.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{DryRun: dry})
			return err
		},
		"DescribeVolumes": func(ctx context.Context, c *ec2.Client, w dryRunWorld, dry *bool) error {
			_, err := c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{DryRun: dry})
			return err
		},
		"DescribeInstanceTypes": func(ctx context.Context, c *ec2.Client, w dryRunWorld, dry *bool) error {
			_, err := c.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{DryRun: dry})
			return err
		},
		"DeleteNetworkAclEntry": func(ctx context.Context, c *ec2.Client, w dryRunWorld, dry *bool) error {
			_, err := c.DeleteNetworkAclEntry(ctx, &ec2.DeleteNetworkAclEntryInput{NetworkAclId: aws.String(w.defaultACL), RuleNumber: aws.Int32(100), Egress: aws.Bool(false), DryRun: dry})
			return err
		},
		"ReplaceNetworkAclEntry": func(ctx context.Context, c *ec2.Client, w dryRunWorld, dry *bool) error {
			_, err := c.ReplaceNetworkAclEntry(ctx, &ec2.ReplaceNetworkAclEntryInput{NetworkAclId: aws.String(w.defaultACL), RuleNumber: aws.Int32(100), Protocol: aws.String("-1"), RuleAction: ec2types.RuleActionDeny, Egress: aws.Bool(false), CidrBlock: aws.String("0.0.0.0/0"), DryRun: dry})
			return err
		},
	} {
		dryRunCases[name] = call
	}
}
