package sandbox

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/gameday-dev/gameday/sandbox/awsapi"
)

// hasDryRun reports whether the SDK's input of an EC2 action has a DryRun
// member; the SDK is generated from the same service model as botocore's
// ec2/2016-11-15/service-2.json.
func hasDryRun(t *testing.T, action string) bool {
	t.Helper()
	m, ok := reflect.TypeOf(&ec2.Client{}).MethodByName(action)
	if !ok {
		t.Fatalf("the EC2 SDK has no action %s", action)
	}
	in := m.Type.In(2).Elem()
	_, ok = in.FieldByName("DryRun")
	return ok
}

// botocoreEC2Model is Debian's python3-botocore copy of the EC2 service
// model (scripts/test-deps.sh installs it with python3-boto3).
const botocoreEC2Model = "/usr/lib/python3/dist-packages/botocore/data/ec2/2016-11-15/service-2.json"

// TestDryRunModelAgrees: where botocore's EC2 model is installed, the
// actions it gives DryRun are those the SDK's inputs have it on, for every
// action the sandbox serves (so hasDryRun follows the model).
func TestDryRunModelAgrees(t *testing.T) {
	raw, err := os.ReadFile(botocoreEC2Model)
	if err != nil {
		t.Skipf("botocore's EC2 model absent (%v); scripts/test-deps.sh installs python3-boto3", err)
	}
	var model struct {
		Operations map[string]struct {
			Input struct{ Shape string } `json:"input"`
		} `json:"operations"`
		Shapes map[string]struct {
			Members map[string]json.RawMessage `json:"members"`
		} `json:"shapes"`
	}
	if err := json.Unmarshal(raw, &model); err != nil {
		t.Fatal(err)
	}
	for action := range awsapi.Actions(awsapi.ServiceEC2) {
		op, ok := model.Operations[action]
		if !ok {
			t.Errorf("botocore's EC2 model has no action %s", action)
			continue
		}
		_, inModel := model.Shapes[op.Input.Shape].Members["DryRun"]
		if inModel != hasDryRun(t, action) {
			t.Errorf("%s: DryRun in botocore's model %v, in the SDK %v", action, inModel, !inModel)
		}
	}
}

// dryRunWorld is what a dry-run case needs: ids of things that exist.
type dryRunWorld struct {
	instances       []string
	vpc, defaultACL string
	spareACL        string // not default, no subnet
	assocID         string
}

type dryRunCall func(ctx context.Context, c *ec2.Client, w dryRunWorld, dry *bool) error

// dryRunCases: one call per EC2 action the sandbox serves that has DryRun,
// with parameters that would succeed.
var dryRunCases = map[string]dryRunCall{
	"DescribeInstances": func(ctx context.Context, c *ec2.Client, w dryRunWorld, dry *bool) error {
		_, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{DryRun: dry})
		return err
	},
	"DescribeSubnets": func(ctx context.Context, c *ec2.Client, w dryRunWorld, dry *bool) error {
		_, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{DryRun: dry})
		return err
	},
	"DescribeAvailabilityZones": func(ctx context.Context, c *ec2.Client, w dryRunWorld, dry *bool) error {
		_, err := c.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{DryRun: dry})
		return err
	},
	"DescribeVpcs": func(ctx context.Context, c *ec2.Client, w dryRunWorld, dry *bool) error {
		_, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{DryRun: dry})
		return err
	},
	"DescribeNetworkAcls": func(ctx context.Context, c *ec2.Client, w dryRunWorld, dry *bool) error {
		_, err := c.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{DryRun: dry})
		return err
	},
	"DescribeNetworkInterfaces": func(ctx context.Context, c *ec2.Client, w dryRunWorld, dry *bool) error {
		_, err := c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{DryRun: dry})
		return err
	},
	"TerminateInstances": func(ctx context.Context, c *ec2.Client, w dryRunWorld, dry *bool) error {
		_, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: w.instances[:2], DryRun: dry})
		return err
	},
	"StopInstances": func(ctx context.Context, c *ec2.Client, w dryRunWorld, dry *bool) error {
		_, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: w.instances[:1], DryRun: dry})
		return err
	},
	"RebootInstances": func(ctx context.Context, c *ec2.Client, w dryRunWorld, dry *bool) error {
		_, err := c.RebootInstances(ctx, &ec2.RebootInstancesInput{InstanceIds: w.instances[:1], DryRun: dry})
		return err
	},
	"StartInstances": func(ctx context.Context, c *ec2.Client, w dryRunWorld, dry *bool) error {
		_, err := c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: w.instances[:1], DryRun: dry})
		return err
	},
	"DeleteTags": func(ctx context.Context, c *ec2.Client, w dryRunWorld, dry *bool) error {
		// The opt-in tag every sandbox resource carries: a real delete would show.
		_, err := c.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{w.instances[0]}, Tags: []ec2types.Tag{{Key: aws.String("gameday:opt-in")}}, DryRun: dry})
		return err
	},
	"CreateTags": func(ctx context.Context, c *ec2.Client, w dryRunWorld, dry *bool) error {
		_, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{w.instances[0], w.vpc}, Tags: []ec2types.Tag{{Key: aws.String("team"), Value: aws.String("sre")}}, DryRun: dry})
		return err
	},
	"CreateNetworkAcl": func(ctx context.Context, c *ec2.Client, w dryRunWorld, dry *bool) error {
		_, err := c.CreateNetworkAcl(ctx, &ec2.CreateNetworkAclInput{VpcId: aws.String(w.vpc), DryRun: dry})
		return err
	},
	"CreateNetworkAclEntry": func(ctx context.Context, c *ec2.Client, w dryRunWorld, dry *bool) error {
		_, err := c.CreateNetworkAclEntry(ctx, &ec2.CreateNetworkAclEntryInput{NetworkAclId: aws.String(w.defaultACL), RuleNumber: aws.Int32(90), Protocol: aws.String("-1"), RuleAction: ec2types.RuleActionDeny, Egress: aws.Bool(false), CidrBlock: aws.String("0.0.0.0/0"), DryRun: dry})
		return err
	},
	"DeleteNetworkAcl": func(ctx context.Context, c *ec2.Client, w dryRunWorld, dry *bool) error {
		_, err := c.DeleteNetworkAcl(ctx, &ec2.DeleteNetworkAclInput{NetworkAclId: aws.String(w.spareACL), DryRun: dry})
		return err
	},
	"ReplaceNetworkAclAssociation": func(ctx context.Context, c *ec2.Client, w dryRunWorld, dry *bool) error {
		_, err := c.ReplaceNetworkAclAssociation(ctx, &ec2.ReplaceNetworkAclAssociationInput{AssociationId: aws.String(w.assocID), NetworkAclId: aws.String(w.spareACL), DryRun: dry})
		return err
	},
}

// TestDryRunHonouredByEveryAction walks the action table: every EC2 action
// whose model has DryRun answers 412 DryRunOperation to a dry run that
// would succeed, and changes nothing; the same call without DryRun then
// succeeds (so the case was a valid request).
func TestDryRunHonouredByEveryAction(t *testing.T) {
	s, cfg := startSandbox(t, testConfig())
	ctx := ctxT(t)
	c := ec2.NewFromConfig(cfg)
	sum := s.Summary()
	spare, err := c.CreateNetworkAcl(ctx, &ec2.CreateNetworkAclInput{VpcId: aws.String(sum.VPCID)})
	if err != nil {
		t.Fatal(err)
	}
	acls, err := c.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{Filters: []ec2types.Filter{f("default", "true")}})
	if err != nil || len(acls.NetworkAcls) != 1 {
		t.Fatalf("default acl: %v", err)
	}
	w := dryRunWorld{
		instances: sum.Instances, vpc: sum.VPCID,
		defaultACL: aws.ToString(acls.NetworkAcls[0].NetworkAclId),
		spareACL:   aws.ToString(spare.NetworkAcl.NetworkAclId),
		assocID:    aws.ToString(acls.NetworkAcls[0].Associations[0].NetworkAclAssociationId),
	}
	snapshot := func() string {
		r := s.Region()
		b, _ := json.Marshal([]any{r.Instances(), r.VPCs(), r.Subnets(), r.NetworkACLs()})
		return string(b)
	}

	var names []string
	for a := range awsapi.Actions(awsapi.ServiceEC2) {
		names = append(names, a)
	}
	sort.Strings(names)
	covered := 0
	for _, action := range names {
		if !hasDryRun(t, action) {
			continue
		}
		call, ok := dryRunCases[action]
		if !ok {
			t.Errorf("EC2 action %s has DryRun in its model but no dry-run case here: add one", action)
			continue
		}
		covered++
		before := snapshot()
		err := call(ctx, c, w, aws.Bool(true))
		wantAPIError(t, err, "DryRunOperation", 412)
		if after := snapshot(); after != before {
			t.Errorf("%s with DryRun changed the region:\nbefore %s\nafter  %s", action, before, after)
		}
	}
	if covered == 0 {
		t.Fatal("no EC2 action with DryRun found")
	}
	// Each case is a request that succeeds for real (run the destructive
	// ones last, in an order that keeps the others valid).
	for _, action := range []string{"DescribeInstances", "CreateTags", "CreateNetworkAclEntry", "ReplaceNetworkAclAssociation", "StopInstances", "TerminateInstances", "CreateNetworkAcl"} {
		if err := dryRunCases[action](ctx, c, w, nil); err != nil {
			t.Errorf("%s without DryRun: %v", action, err)
		}
	}
}

// TestDryRunThatWouldFailAnswersTheRealError: a dry run checks parameters
// and resources first.
func TestDryRunThatWouldFailAnswersTheRealError(t *testing.T) {
	s, cfg := startSandbox(t, testConfig())
	ctx := ctxT(t)
	c := ec2.NewFromConfig(cfg)
	sum := s.Summary()
	dry := aws.Bool(true)

	_, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{"i-00000000000000000"}, DryRun: dry})
	wantAPIError(t, err, "InvalidInstanceID.NotFound", 400)
	_, err = c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{"bogus"}, DryRun: dry})
	wantAPIError(t, err, "InvalidInstanceID.Malformed", 400)
	_, err = c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{"subnet-0000"}, Tags: []ec2types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}, DryRun: dry})
	wantAPIError(t, err, "InvalidSubnetID.NotFound", 400)
	_, err = c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{sum.Instances[0]}, Tags: []ec2types.Tag{{Key: aws.String("aws:x"), Value: aws.String("b")}}, DryRun: dry})
	wantAPIError(t, err, "InvalidParameterValue", 400)
	_, err = c.CreateNetworkAcl(ctx, &ec2.CreateNetworkAclInput{VpcId: aws.String("vpc-00000000"), DryRun: dry})
	wantAPIError(t, err, "InvalidVpcID.NotFound", 400)
	acls, err := c.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{})
	if err != nil {
		t.Fatal(err)
	}
	def := aws.ToString(acls.NetworkAcls[0].NetworkAclId)
	_, err = c.DeleteNetworkAcl(ctx, &ec2.DeleteNetworkAclInput{NetworkAclId: aws.String(def), DryRun: dry})
	wantAPIError(t, err, "InvalidParameterValue", 400)
	_, err = c.CreateNetworkAclEntry(ctx, &ec2.CreateNetworkAclEntryInput{NetworkAclId: aws.String(def), RuleNumber: aws.Int32(32767), Protocol: aws.String("-1"), RuleAction: ec2types.RuleActionDeny, Egress: aws.Bool(false), CidrBlock: aws.String("0.0.0.0/0"), DryRun: dry})
	wantAPIError(t, err, "InvalidParameterValue", 400)
	_, err = c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-00000000000000000"}, DryRun: dry})
	wantAPIError(t, err, "InvalidInstanceID.NotFound", 400)
	if _, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: sum.Instances[:1]}); err != nil {
		t.Fatal(err)
	}
	_, err = c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: sum.Instances[:1], DryRun: dry})
	wantAPIError(t, err, "IncorrectInstanceState", 400)
}
