package sandbox

import (
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/gameday-dev/gameday/internal/testutil"
)

// TestPagingAsAWS: the SDK's paginators, with small pages, collect every
// item the unpaged call returns, in the same order; the documented limits,
// conflicts and foreign tokens answer AWS's errors.
func TestPagingAsAWS(t *testing.T) {
	cfg := testConfig()
	cfg.Region.Timings.RebootTime = 10 * time.Millisecond
	s, awsCfg := startSandbox(t, cfg)
	ctx := ctxT(t)
	sum := s.Summary()
	ec2c, asc, rdsc := ec2.NewFromConfig(awsCfg), autoscaling.NewFromConfig(awsCfg), rds.NewFromConfig(awsCfg)
	start := time.Now().Add(-time.Minute)
	makeHistory(t, s, awsCfg)

	// Auto Scaling activities, 2 a page.
	all, err := asc.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String(sum.AutoScalingGroup)})
	if err != nil {
		t.Fatal(err)
	}
	var want, got []string
	for _, a := range all.Activities {
		want = append(want, aws.ToString(a.ActivityId))
	}
	if len(want) < 5 || all.NextToken != nil {
		t.Fatalf("unpaged activities: %d, token %v", len(want), all.NextToken)
	}
	pages := 0
	ap := autoscaling.NewDescribeScalingActivitiesPaginator(asc, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String(sum.AutoScalingGroup), MaxRecords: aws.Int32(2)})
	for ap.HasMorePages() {
		out, err := ap.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, a := range out.Activities {
			got = append(got, aws.ToString(a.ActivityId))
		}
	}
	if !slices.Equal(got, want) || pages != (len(want)+1)/2 {
		t.Fatalf("activities by 2 (%d pages): %v, want %v", pages, got, want)
	}
	_, err = asc.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{NextToken: aws.String("junk")})
	wantAPIError(t, err, "InvalidNextToken", 400)
	_, err = asc.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{MaxRecords: aws.Int32(101)})
	wantAPIError(t, err, "ValidationError", 400)

	// RDS events, 20 a page (the minimum), oldest first: the newest is
	// on the last page, not lost.
	allEv, err := rdsc.DescribeEvents(ctx, &rds.DescribeEventsInput{StartTime: aws.Time(start)})
	if err != nil {
		t.Fatal(err)
	}
	var wantEv, gotEv []string
	for _, e := range allEv.Events {
		wantEv = append(wantEv, aws.ToTime(e.Date).String()+aws.ToString(e.Message))
	}
	if !slices.IsSortedFunc(allEv.Events, func(a, b rdstypes.Event) int { return aws.ToTime(a.Date).Compare(aws.ToTime(b.Date)) }) {
		t.Fatal("events not oldest first")
	}
	rp := rds.NewDescribeEventsPaginator(rdsc, &rds.DescribeEventsInput{StartTime: aws.Time(start), MaxRecords: aws.Int32(20)})
	pages = 0
	for rp.HasMorePages() {
		out, err := rp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, e := range out.Events {
			gotEv = append(gotEv, aws.ToTime(e.Date).String()+aws.ToString(e.Message))
		}
	}
	if !slices.Equal(gotEv, wantEv) || pages < 2 {
		t.Fatalf("events by 20 (%d pages): %d events, want %d", pages, len(gotEv), len(wantEv))
	}
	_, err = rdsc.DescribeEvents(ctx, &rds.DescribeEventsInput{MaxRecords: aws.Int32(19)})
	wantAPIError(t, err, "InvalidParameterValue", 400)
	_, err = rdsc.DescribeEvents(ctx, &rds.DescribeEventsInput{Marker: aws.String("junk")})
	wantAPIError(t, err, "InvalidParameterValue", 400)

	// EC2 instances, 5 a page (the minimum).
	allIn, err := ec2c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	wantIn := instanceIDs(allIn)
	if len(wantIn) < 6 || allIn.NextToken != nil {
		t.Fatalf("unpaged instances: %v, token %v", wantIn, allIn.NextToken)
	}
	var gotIn []string
	ip := ec2.NewDescribeInstancesPaginator(ec2c, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
	var firstToken string
	for ip.HasMorePages() {
		out, err := ip.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if firstToken == "" {
			firstToken = aws.ToString(out.NextToken)
		}
		gotIn = append(gotIn, instanceIDs(out)...)
	}
	if !slices.Equal(gotIn, wantIn) {
		t.Fatalf("instances by 5: %v, want %v", gotIn, wantIn)
	}
	_, err = ec2c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(4)})
	wantAPIError(t, err, "InvalidParameterValue", 400)
	_, err = ec2c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(1001)})
	wantAPIError(t, err, "InvalidParameterValue", 400)
	_, err = ec2c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5), InstanceIds: wantIn[:1]})
	wantAPIError(t, err, "InvalidParameterCombination", 400)
	_, err = ec2c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{NextToken: aws.String("junk")})
	wantAPIError(t, err, "InvalidPaginationToken", 400)
	// A token continues only the query it came from.
	_, err = ec2c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5), NextToken: aws.String(firstToken), Filters: []ec2types.Filter{f("instance-state-name", "running")}})
	wantAPIError(t, err, "InvalidPaginationToken", 400)
	_, err = ec2c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{NextToken: aws.String(firstToken)})
	wantAPIError(t, err, "InvalidPaginationToken", 400)

	// Subnets (6) by 5: two pages.
	var subnets int
	sp := ec2.NewDescribeSubnetsPaginator(ec2c, &ec2.DescribeSubnetsInput{MaxResults: aws.Int32(5)})
	for pages = 0; sp.HasMorePages(); pages++ {
		out, err := sp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		subnets += len(out.Subnets)
	}
	if subnets != len(sum.Subnets) || pages != 2 {
		t.Fatalf("subnets by 5: %d in %d pages, want %d", subnets, pages, len(sum.Subnets))
	}

	// ELBv2: PageSize 1-400.
	elb := elasticloadbalancingv2.NewFromConfig(awsCfg)
	_, err = elb.DescribeLoadBalancers(ctx, &elasticloadbalancingv2.DescribeLoadBalancersInput{PageSize: aws.Int32(401)})
	wantAPIError(t, err, "ValidationError", 400)
	lbs, err := elb.DescribeLoadBalancers(ctx, &elasticloadbalancingv2.DescribeLoadBalancersInput{PageSize: aws.Int32(1)})
	if err != nil || len(lbs.LoadBalancers) != 1 || lbs.NextMarker != nil {
		t.Fatalf("one load balancer, no marker: %v %v", lbs, err)
	}
	_, err = elb.DescribeTargetGroups(ctx, &elasticloadbalancingv2.DescribeTargetGroupsInput{Marker: aws.String("junk")})
	wantAPIError(t, err, "ValidationError", 400)
}

// makeHistory gives the sandbox something to page through: three
// instances replaced by the group (scaling activities, more instances) and
// twelve reboots of the database (over 20 RDS events; the region should
// reboot quickly), then waits until all has settled.
func makeHistory(t *testing.T, s *Sandbox, awsCfg aws.Config) {
	t.Helper()
	ctx := ctxT(t)
	sum := s.Summary()
	asc, rdsc := autoscaling.NewFromConfig(awsCfg), rds.NewFromConfig(awsCfg)
	start := time.Now().Add(-time.Minute)

	// Make history: replaced instances (scaling activities, more
	// instances) and reboots (RDS events, two each).
	for _, id := range sum.Instances[:3] {
		if _, err := asc.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{InstanceId: aws.String(id), ShouldDecrementDesiredCapacity: aws.Bool(false)}); err != nil {
			t.Fatal(err)
		}
	}
	dbAvailable := func() {
		testutil.Eventually(t, 5*time.Second, "db available", func() bool {
			out, err := rdsc.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(sum.DBIdentifier)})
			return err == nil && aws.ToString(out.DBInstances[0].DBInstanceStatus) == "available"
		})
	}
	for i := range 12 {
		dbAvailable()
		if _, err := rdsc.RebootDBInstance(ctx, &rds.RebootDBInstanceInput{DBInstanceIdentifier: aws.String(sum.DBIdentifier)}); err != nil {
			t.Fatalf("reboot %d: %v", i, err)
		}
	}
	dbAvailable()
	testutil.Eventually(t, 5*time.Second, "more than 20 events", func() bool {
		out, err := rdsc.DescribeEvents(ctx, &rds.DescribeEventsInput{StartTime: aws.Time(start)})
		return err == nil && len(out.Events) > 20
	})

	testutil.Eventually(t, 10*time.Second, "the group replaced its instances", func() bool {
		out, err := asc.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
		if err != nil || len(out.AutoScalingGroups) != 1 {
			return false
		}
		g := out.AutoScalingGroups[0]
		n := 0
		for _, i := range g.Instances {
			if i.LifecycleState == "InService" {
				n++
			}
		}
		acts, err := asc.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{})
		if err != nil {
			return false
		}
		for _, a := range acts.Activities {
			if a.StatusCode == "InProgress" {
				return false
			}
		}
		return n == int(aws.ToInt32(g.DesiredCapacity)) && len(g.Instances) == n
	})

}
