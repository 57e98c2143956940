package probes

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/experiments"
)

// KindDBWriter reports whether the database accepts writes and in which AZ.
const KindDBWriter = "db-writer"

func init() {
	Register(Kind{
		Name:    KindDBWriter,
		Order:   4,
		Doc:     "whether the DB instance or cluster writer is available, and the index of its AZ (" + SeriesDBAvailable + ", " + SeriesDBWriterAZIndex + "); healthy when available",
		Healthy: (*dbProbe)(nil).Healthy,
		New: func(env Env, b base, _ experiments.Probe) (Probe, error) {
			if err := env.needAWS(b.name, KindDBWriter); err != nil {
				return nil, err
			}
			topo := env.Topology
			if err := need(b.name, KindDBWriter, "a DB instance or DB cluster", topo.DBInstanceID != "" || topo.DBClusterID != ""); err != nil {
				return nil, err
			}
			return &dbProbe{base: b, c: env.Clients, instance: topo.DBInstanceID, cluster: topo.DBClusterID, azs: env.sortedAZs(), instAZ: map[string]string{}}, nil
		},
	})
}

// Healthy: db_available == 1.
func (*dbProbe) Healthy(last, _ map[string]float64) bool {
	v, ok := last[SeriesDBAvailable]
	return ok && v == 1
}

// dbProbe reports whether the database accepts writes and where its writer is.
type dbProbe struct {
	base
	c        *awsclients.Clients
	instance string
	cluster  string
	azs      []string // sorted

	instAZ map[string]string // cluster member → AZ; members never move (Sample runs on one goroutine)
}

func (p *dbProbe) Sample(ctx context.Context) ([]Sample, error) {
	cctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	var available bool
	var az string
	if p.cluster != "" {
		out, err := p.c.RDS.DescribeDBClusters(cctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(p.cluster)})
		if err != nil {
			return nil, ctxErr(ctx, p.name, fmt.Errorf("describe db clusters: %w", err))
		}
		if len(out.DBClusters) == 0 {
			return nil, fmt.Errorf("probe %s: db cluster %s not found", p.name, p.cluster)
		}
		cl := out.DBClusters[0]
		available = aws.ToString(cl.Status) == "available"
		writer := ""
		for _, m := range cl.DBClusterMembers {
			if aws.ToBool(m.IsClusterWriter) {
				writer = aws.ToString(m.DBInstanceIdentifier)
			}
		}
		if writer == "" {
			available = false
		} else {
			// The writer instance's own status matters too (a rebooting
			// writer takes no writes), and gives its AZ.
			in, err := p.c.RDS.DescribeDBInstances(cctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(writer)})
			if err != nil {
				return nil, ctxErr(ctx, p.name, fmt.Errorf("describe db instance %s: %w", writer, err))
			}
			if len(in.DBInstances) == 0 {
				available = false
			} else {
				d := in.DBInstances[0]
				available = available && aws.ToString(d.DBInstanceStatus) == "available"
				az = aws.ToString(d.AvailabilityZone)
			}
		}
	} else {
		out, err := p.c.RDS.DescribeDBInstances(cctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(p.instance)})
		if err != nil {
			return nil, ctxErr(ctx, p.name, fmt.Errorf("describe db instances: %w", err))
		}
		if len(out.DBInstances) == 0 {
			return nil, fmt.Errorf("probe %s: db instance %s not found", p.name, p.instance)
		}
		d := out.DBInstances[0]
		available = aws.ToString(d.DBInstanceStatus) == "available"
		az = aws.ToString(d.AvailabilityZone)
	}
	s := []Sample{{SeriesDBAvailable, b2f(available)}}
	if i := slices.Index(p.azs, az); az != "" && i >= 0 {
		s = append(s, Sample{SeriesDBWriterAZIndex, float64(i)})
	}
	return s, nil
}
