package sandbox

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/smithy-go"
)

// A client configured for another region is refused as a regional AWS
// endpoint refuses a signature scoped to another region (403
// SignatureDoesNotMatch), in the service's own protocol, and the call
// changes nothing.
func TestWrongRegionRefused(t *testing.T) {
	s, cfg := startSandbox(t, testConfig())
	ctx := ctxT(t)
	other := cfg.Copy()
	other.Region = "us-west-2"
	other.RetryMaxAttempts = 1

	c := ec2.NewFromConfig(other)
	_, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	wantAPIError(t, err, "SignatureDoesNotMatch", 403)
	if !strings.Contains(err.Error(), "Credential should be scoped to a valid region, not 'us-west-2'") {
		t.Fatalf("message: %v", err)
	}
	running, err := ec2.NewFromConfig(cfg).DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	id := instanceIDs(running)[0]
	_, err = c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
	wantAPIError(t, err, "SignatureDoesNotMatch", 403)
	for _, i := range s.region.Instances() {
		if i.ID == id && i.State != "running" {
			t.Fatalf("refused terminate changed %s to %s", id, i.State)
		}
	}

	// A query-protocol service answers the same code in its own shape.
	_, err = rds.NewFromConfig(other).DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{})
	wantAPIError(t, err, "SignatureDoesNotMatch", 403)

	// The sandbox's own region is served.
	if _, err := rds.NewFromConfig(cfg).DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{}); err != nil {
		t.Fatal(err)
	}
}

// A service the sandbox does not model answers a parseable error in that
// service's protocol naming what is missing; an action it does not
// implement answers InvalidAction.
func TestNotImplementedAnswers(t *testing.T) {
	_, cfg := startSandbox(t, testConfig())
	ctx := ctxT(t)
	cfg.RetryMaxAttempts = 1

	// CloudWatch: the Go SDK speaks Smithy RPC v2 CBOR to it.
	_, err := cloudwatch.NewFromConfig(cfg).DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "UnknownOperationException" || !strings.Contains(ae.ErrorMessage(), "gameday sandbox does not implement cloudwatch:DescribeAlarms") {
		t.Fatalf("cloudwatch DescribeAlarms: %v", err)
	}

	_, err = ec2.NewFromConfig(cfg).RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-1"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	wantAPIError(t, err, "InvalidAction", 400)
	if !strings.Contains(err.Error(), "gameday sandbox does not implement ec2:RunInstances") {
		t.Fatalf("message: %v", err)
	}
}
