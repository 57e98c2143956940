package sandbox

import (
	"net"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/gameday-dev/gameday/internal/testutil"
)

// TestDBEndpointFollowsFailover: "dig the endpoint during failover": the
// Multi-AZ instance's endpoint resolves, through the sandbox DNS server, to
// its writer's address, and to the new writer's once the failover
// completes.
func TestDBEndpointFollowsFailover(t *testing.T) {
	s, cfg := startSandbox(t, testConfig())
	ctx := ctxT(t)
	c := rds.NewFromConfig(cfg)
	dbs, err := c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{})
	if err != nil || len(dbs.DBInstances) != 1 {
		t.Fatalf("db instances: %v", err)
	}
	db := dbs.DBInstances[0]
	name := aws.ToString(db.Endpoint.Address)
	resolve := func(n string) []string {
		ips, err := s.Resolver().LookupHost(ctx, n)
		if err != nil {
			t.Fatalf("lookup %s: %v", n, err)
		}
		slices.Sort(ips)
		return ips
	}
	if got := s.Summary().DBEndpoint; got != name {
		t.Errorf("summary's DB endpoint %q, want %q", got, name)
	}
	before := resolve(name)
	if len(before) != 1 || net.ParseIP(before[0]) == nil {
		t.Fatalf("%s resolves to %v", name, before)
	}
	if _, err := c.RebootDBInstance(ctx, &rds.RebootDBInstanceInput{DBInstanceIdentifier: db.DBInstanceIdentifier, ForceFailover: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "endpoint moves to the new writer", func() bool {
		now := resolve(name)
		return len(now) == 1 && now[0] != before[0]
	})
	after, err := c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(after.DBInstances[0].AvailabilityZone) == aws.ToString(db.AvailabilityZone) {
		t.Errorf("writer AZ still %s after the endpoint moved", aws.ToString(db.AvailabilityZone))
	}
}

// TestDBClusterEndpointsFollowFailover: the cluster (writer) endpoint
// resolves to the writer and moves on FailoverDBCluster; the reader
// endpoint to a reader.
func TestDBClusterEndpointsFollowFailover(t *testing.T) {
	tc := testConfig()
	tc.Region.DB.Kind = "cluster"
	s, cfg := startSandbox(t, tc)
	ctx := ctxT(t)
	c := rds.NewFromConfig(cfg)
	cl, err := c.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{})
	if err != nil || len(cl.DBClusters) != 1 {
		t.Fatalf("clusters: %v", err)
	}
	resolve := func(n string) string {
		ips, err := s.Resolver().LookupHost(ctx, n)
		if err != nil || len(ips) != 1 {
			t.Fatalf("lookup %s: %v %v", n, ips, err)
		}
		return ips[0]
	}
	writer, reader := resolve(aws.ToString(cl.DBClusters[0].Endpoint)), resolve(aws.ToString(cl.DBClusters[0].ReaderEndpoint))
	if writer == reader {
		t.Fatalf("writer and reader endpoints both resolve to %s", writer)
	}
	if _, err := c.FailoverDBCluster(ctx, &rds.FailoverDBClusterInput{DBClusterIdentifier: cl.DBClusters[0].DBClusterIdentifier}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "cluster endpoint moves to the promoted reader", func() bool {
		return resolve(aws.ToString(cl.DBClusters[0].Endpoint)) == reader && resolve(aws.ToString(cl.DBClusters[0].ReaderEndpoint)) == writer
	})
}
