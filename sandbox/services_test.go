package sandbox

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/gameday-dev/gameday/internal/testutil"
)

func TestAutoScaling(t *testing.T) {
	s, cfg := startSandbox(t, testConfig())
	ctx := ctxT(t)
	c := autoscaling.NewFromConfig(cfg)
	sum := s.Summary()

	out, err := c.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{sum.AutoScalingGroup}})
	if err != nil || len(out.AutoScalingGroups) != 1 {
		t.Fatalf("describe: %v", err)
	}
	g := out.AutoScalingGroups[0]
	if aws.ToString(g.AutoScalingGroupName) != sum.AutoScalingGroup || !strings.HasPrefix(aws.ToString(g.AutoScalingGroupARN), "arn:aws:autoscaling:local-1:") ||
		aws.ToInt32(g.MinSize) != 3 || aws.ToInt32(g.DesiredCapacity) != 3 || aws.ToInt32(g.MaxSize) != 6 ||
		len(g.Instances) != 3 || !slices.Equal(g.AvailabilityZones, []string{"local-1a", "local-1b", "local-1c"}) ||
		!slices.Equal(g.TargetGroupARNs, []string{sum.TargetGroupARN}) || aws.ToString(g.HealthCheckType) != "ELB" ||
		g.CreatedTime == nil || len(strings.Split(aws.ToString(g.VPCZoneIdentifier), ",")) != 3 {
		t.Fatalf("group %+v", g)
	}
	for _, in := range g.Instances {
		if in.LifecycleState != astypes.LifecycleStateInService || aws.ToString(in.HealthStatus) != "Healthy" || aws.ToString(in.AvailabilityZone) == "" {
			t.Fatalf("member %+v", in)
		}
	}
	none, err := c.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"no-such-group"}})
	if err != nil || len(none.AutoScalingGroups) != 0 {
		t.Fatalf("unknown name: %v %v", none, err)
	}
	all, err := c.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
	if err != nil || len(all.AutoScalingGroups) != 1 {
		t.Fatalf("all: %v", err)
	}
	_, err = c.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{Filters: []astypes.Filter{{Name: aws.String("bogus"), Values: []string{"x"}}}})
	wantAPIError(t, err, "ValidationError", 400)

	// Scale out, then see it in describe and in the activities.
	if _, err := c.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String(sum.AutoScalingGroup), DesiredCapacity: aws.Int32(4)}); err != nil {
		t.Fatal(err)
	}
	out, _ = c.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{sum.AutoScalingGroup}})
	if aws.ToInt32(out.AutoScalingGroups[0].DesiredCapacity) != 4 {
		t.Fatalf("desired %d", aws.ToInt32(out.AutoScalingGroups[0].DesiredCapacity))
	}
	testutil.Eventually(t, 5*time.Second, "a launch activity", func() bool {
		acts, err := c.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String(sum.AutoScalingGroup)})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range acts.Activities {
			if strings.Contains(aws.ToString(a.Description), "Launching") {
				return a.StartTime != nil && aws.ToString(a.ActivityId) != ""
			}
		}
		return false
	})
	_, err = c.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String(sum.AutoScalingGroup), DesiredCapacity: aws.Int32(99)})
	wantAPIError(t, err, "ValidationError", 400)
	_, err = c.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("nope"), DesiredCapacity: aws.Int32(1)})
	wantAPIError(t, err, "ValidationError", 400)

	victim := aws.ToString(g.Instances[0].InstanceId)
	term, err := c.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{InstanceId: aws.String(victim), ShouldDecrementDesiredCapacity: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if a := term.Activity; a == nil || !strings.Contains(aws.ToString(a.Description), victim) || aws.ToString(a.AutoScalingGroupName) != sum.AutoScalingGroup {
		t.Fatalf("activity %+v", term.Activity)
	}
	out, _ = c.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{sum.AutoScalingGroup}})
	if aws.ToInt32(out.AutoScalingGroups[0].DesiredCapacity) != 3 {
		t.Fatalf("desired after decrement %d", aws.ToInt32(out.AutoScalingGroups[0].DesiredCapacity))
	}
	_, err = c.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{InstanceId: aws.String("i-00000000000000000"), ShouldDecrementDesiredCapacity: aws.Bool(false)})
	wantAPIError(t, err, "ValidationError", 400)

	acts, err := c.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String(sum.AutoScalingGroup), MaxRecords: aws.Int32(1)})
	if err != nil || len(acts.Activities) != 1 {
		t.Fatalf("MaxRecords 1: %v", err)
	}
}

func TestELBv2(t *testing.T) {
	s, cfg := startSandbox(t, testConfig())
	ctx := ctxT(t)
	c := elb.NewFromConfig(cfg)
	sum := s.Summary()

	lbs, err := c.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{Names: []string{sum.LoadBalancerName}})
	if err != nil || len(lbs.LoadBalancers) != 1 {
		t.Fatalf("by name: %v", err)
	}
	lb := lbs.LoadBalancers[0]
	if aws.ToString(lb.LoadBalancerArn) != sum.LoadBalancerARN || aws.ToString(lb.DNSName) != sum.LoadBalancerDNS ||
		lb.Type != elbtypes.LoadBalancerTypeEnumApplication || lb.State == nil || lb.State.Code != elbtypes.LoadBalancerStateEnumActive ||
		len(lb.AvailabilityZones) != 3 || aws.ToString(lb.VpcId) != sum.VPCID || lb.CreatedTime == nil {
		t.Fatalf("lb %+v", lb)
	}
	if byARN, err := c.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{sum.LoadBalancerARN}}); err != nil || len(byARN.LoadBalancers) != 1 {
		t.Fatalf("by arn: %v", err)
	}
	_, err = c.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{Names: []string{"missing"}})
	wantAPIError(t, err, "LoadBalancerNotFound", 400)

	tgs, err := c.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{LoadBalancerArn: aws.String(sum.LoadBalancerARN)})
	if err != nil || len(tgs.TargetGroups) != 1 {
		t.Fatalf("tgs: %v", err)
	}
	tg := tgs.TargetGroups[0]
	if aws.ToString(tg.TargetGroupArn) != sum.TargetGroupARN || aws.ToString(tg.HealthCheckPath) == "" || aws.ToInt32(tg.HealthyThresholdCount) != 2 ||
		tg.TargetType != elbtypes.TargetTypeEnumInstance || !slices.Equal(tg.LoadBalancerArns, []string{sum.LoadBalancerARN}) || tg.Matcher == nil {
		t.Fatalf("tg %+v", tg)
	}
	if byName, err := c.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{Names: []string{aws.ToString(tg.TargetGroupName)}}); err != nil || len(byName.TargetGroups) != 1 {
		t.Fatalf("tg by name: %v", err)
	}
	_, err = c.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{sum.TargetGroupARN + "x"}})
	wantAPIError(t, err, "TargetGroupNotFound", 400)

	var th *elb.DescribeTargetHealthOutput
	testutil.Eventually(t, 5*time.Second, "3 healthy targets", func() bool {
		th, err = c.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(sum.TargetGroupARN)})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, d := range th.TargetHealthDescriptions {
			if d.TargetHealth.State == elbtypes.TargetHealthStateEnumHealthy {
				n++
			}
		}
		return n == 3
	})
	ids := map[string]bool{}
	for _, d := range th.TargetHealthDescriptions {
		ids[aws.ToString(d.Target.Id)] = true
		if aws.ToInt32(d.Target.Port) == 0 || !strings.HasPrefix(aws.ToString(d.Target.AvailabilityZone), "local-1") || aws.ToString(d.HealthCheckPort) == "" {
			t.Fatalf("target %+v", d.Target)
		}
	}
	for _, id := range sum.Instances {
		if !ids[id] {
			t.Fatalf("instance %s not a target: %v", id, ids)
		}
	}
	// Asking about an unregistered target answers unused / Target.NotRegistered.
	one, err := c.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(sum.TargetGroupARN), Targets: []elbtypes.TargetDescription{{Id: aws.String("i-00000000000000000")}}})
	if err != nil || len(one.TargetHealthDescriptions) != 1 || one.TargetHealthDescriptions[0].TargetHealth.Reason != elbtypes.TargetHealthReasonEnumNotRegistered {
		t.Fatalf("unregistered: %+v %v", one, err)
	}
	_, err = c.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String("arn:aws:elasticloadbalancing:local-1:000000000000:targetgroup/x/1")})
	wantAPIError(t, err, "TargetGroupNotFound", 400)

	ls, err := c.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: aws.String(sum.LoadBalancerARN)})
	if err != nil || len(ls.Listeners) == 0 || len(ls.Listeners[0].DefaultActions) != 1 || aws.ToString(ls.Listeners[0].DefaultActions[0].TargetGroupArn) != sum.TargetGroupARN {
		t.Fatalf("listeners %+v %v", ls, err)
	}
}

func TestRDSInstance(t *testing.T) {
	s, cfg := startSandbox(t, testConfig())
	ctx := ctxT(t)
	c := rds.NewFromConfig(cfg)
	sum := s.Summary()
	start := time.Now().Add(-time.Second)

	out, err := c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(sum.DBIdentifier)})
	if err != nil || len(out.DBInstances) != 1 {
		t.Fatalf("describe: %v", err)
	}
	db := out.DBInstances[0]
	if aws.ToString(db.DBInstanceStatus) != "available" || !aws.ToBool(db.MultiAZ) || aws.ToString(db.AvailabilityZone) == "" ||
		aws.ToString(db.SecondaryAvailabilityZone) == "" || aws.ToString(db.SecondaryAvailabilityZone) == aws.ToString(db.AvailabilityZone) ||
		db.Endpoint == nil || aws.ToString(db.Endpoint.Address) == "" || aws.ToString(db.Engine) != "postgres" || !strings.HasPrefix(aws.ToString(db.DBInstanceArn), "arn:aws:rds:local-1:") {
		t.Fatalf("db %+v", db)
	}
	writer := aws.ToString(db.AvailabilityZone)
	filtered, err := c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{Filters: []rdstypes.Filter{{Name: aws.String("engine"), Values: []string{"postgres"}}}})
	if err != nil || len(filtered.DBInstances) != 1 {
		t.Fatalf("filter: %v", err)
	}
	_, err = c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("missing-db")})
	wantAPIError(t, err, "DBInstanceNotFound", 404)
	_, err = c.RebootDBInstance(ctx, &rds.RebootDBInstanceInput{DBInstanceIdentifier: aws.String("missing-db")})
	wantAPIError(t, err, "DBInstanceNotFound", 404)

	rb, err := c.RebootDBInstance(ctx, &rds.RebootDBInstanceInput{DBInstanceIdentifier: aws.String(sum.DBIdentifier), ForceFailover: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if st := aws.ToString(rb.DBInstance.DBInstanceStatus); st != "rebooting" {
		t.Fatalf("status after reboot %q", st)
	}
	testutil.Eventually(t, 5*time.Second, "failover to the standby", func() bool {
		out, err := c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(sum.DBIdentifier)})
		if err != nil {
			t.Fatal(err)
		}
		d := out.DBInstances[0]
		return aws.ToString(d.DBInstanceStatus) == "available" && aws.ToString(d.AvailabilityZone) != writer
	})
	evs, err := c.DescribeEvents(ctx, &rds.DescribeEventsInput{SourceIdentifier: aws.String(sum.DBIdentifier), SourceType: rdstypes.SourceTypeDbInstance, StartTime: aws.Time(start)})
	if err != nil || len(evs.Events) == 0 {
		t.Fatalf("events: %v %v", evs, err)
	}
	for _, e := range evs.Events {
		if aws.ToString(e.SourceIdentifier) != sum.DBIdentifier || e.Date == nil || e.Date.Before(start) || aws.ToString(e.Message) == "" {
			t.Fatalf("event %+v", e)
		}
	}
	// Duration (minutes) works too; an empty window is an empty list.
	if d, err := c.DescribeEvents(ctx, &rds.DescribeEventsInput{Duration: aws.Int32(60)}); err != nil || len(d.Events) == 0 {
		t.Fatalf("duration: %v", err)
	}
	if d, err := c.DescribeEvents(ctx, &rds.DescribeEventsInput{StartTime: aws.Time(time.Now().Add(time.Hour)), EndTime: aws.Time(time.Now().Add(2 * time.Hour))}); err != nil || len(d.Events) != 0 {
		t.Fatalf("future window: %v", err)
	}
	_, err = c.DescribeEvents(ctx, &rds.DescribeEventsInput{SourceIdentifier: aws.String(sum.DBIdentifier)})
	wantAPIError(t, err, "InvalidParameterCombination", 400)

	cl, err := c.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{})
	if err != nil || len(cl.DBClusters) != 0 {
		t.Fatalf("no clusters expected: %v", err)
	}
}

func TestRDSCluster(t *testing.T) {
	cfg := testConfig()
	cfg.Region.DB.Kind = "cluster"
	s, awsCfg := startSandbox(t, cfg)
	ctx := ctxT(t)
	c := rds.NewFromConfig(awsCfg)
	sum := s.Summary()

	out, err := c.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(sum.DBIdentifier)})
	if err != nil || len(out.DBClusters) != 1 {
		t.Fatalf("describe: %v", err)
	}
	cl := out.DBClusters[0]
	var writer, reader string
	for _, m := range cl.DBClusterMembers {
		if aws.ToBool(m.IsClusterWriter) {
			writer = aws.ToString(m.DBInstanceIdentifier)
		} else {
			reader = aws.ToString(m.DBInstanceIdentifier)
		}
	}
	if aws.ToString(cl.Status) != "available" || writer == "" || reader == "" || aws.ToString(cl.Endpoint) == "" || aws.ToString(cl.ReaderEndpoint) == "" || len(cl.AvailabilityZones) == 0 || aws.ToString(cl.Engine) != "aurora-postgresql" {
		t.Fatalf("cluster %+v", cl)
	}
	members, err := c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{Filters: []rdstypes.Filter{{Name: aws.String("db-cluster-id"), Values: []string{sum.DBIdentifier}}}})
	if err != nil || len(members.DBInstances) != len(cl.DBClusterMembers) {
		t.Fatalf("members: %v", err)
	}
	_, err = c.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String("nope")})
	wantAPIError(t, err, "DBClusterNotFoundFault", 404)

	fo, err := c.FailoverDBCluster(ctx, &rds.FailoverDBClusterInput{DBClusterIdentifier: aws.String(sum.DBIdentifier), TargetDBInstanceIdentifier: aws.String(reader)})
	if err != nil || fo.DBCluster == nil {
		t.Fatalf("failover: %v", err)
	}
	testutil.Eventually(t, 5*time.Second, "new writer", func() bool {
		out, err := c.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(sum.DBIdentifier)})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.DBClusters[0].DBClusterMembers {
			if aws.ToBool(m.IsClusterWriter) {
				return aws.ToString(m.DBInstanceIdentifier) == reader && aws.ToString(out.DBClusters[0].Status) == "available"
			}
		}
		return false
	})
	evs, err := c.DescribeEvents(ctx, &rds.DescribeEventsInput{SourceIdentifier: aws.String(sum.DBIdentifier), SourceType: rdstypes.SourceTypeDbCluster})
	if err != nil || len(evs.Events) == 0 {
		t.Fatalf("cluster events: %v", err)
	}
}

func TestSTSGetCallerIdentity(t *testing.T) {
	_, cfg := startSandbox(t, testConfig())
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctxT(t), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Account) != "000000000000" || aws.ToString(out.Arn) != "arn:aws:iam::000000000000:user/gameday-sandbox" || !strings.HasPrefix(aws.ToString(out.UserId), "AIDA") {
		t.Fatalf("%+v", out)
	}
}
