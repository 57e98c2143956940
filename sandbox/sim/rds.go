package sim

import (
	"context"
	"fmt"
	"time"
)

type dbMember struct {
	m     DBInstance
	azIdx int // current AZ (the writer's, for a Multi-AZ instance)
	stby  int // standby AZ of a Multi-AZ instance, -1 otherwise
	ep    endpoint
	epoch int
}

type database struct {
	kind    string
	members []*dbMember // one for "instance"; writer and reader for "cluster"
	cluster *DBCluster
	writer  int // index in members of the writer (cluster)
	epoch   int // cluster failovers
}

// dbState is what the app's database driver sees.
type dbState struct {
	writerUp bool
	writerEP endpoint
	readerUp bool
	readerEP endpoint
	// The member each endpoint leads to, for the failure record.
	writerID, writerAZ string
	readerID, readerAZ string
}

func (r *Region) buildDatabase() {
	c := r.cfg.DB
	now := time.Now().UTC().Truncate(time.Second)
	suffix := r.hexID("c", 11)
	host := func(id string) string { return fmt.Sprintf("%s.%s.%s.rds.gameday.internal", id, suffix, r.cfg.Region) }
	last := len(r.azs) - 1
	mk := func(id string, az, stby int) *dbMember {
		s := r.privateSubnet(az)
		d := &dbMember{
			m: DBInstance{
				ID: id, ARN: r.arn("rds", "db:"+id), Engine: c.Engine, Class: "db.t3.medium", Status: DBAvailable,
				AZ: r.azs[az].Name, Endpoint: host(id), Port: dbPort, CreatedTime: now,
				Tags: []Tag{{"Name", id}, OptInTag},
			},
			azIdx: az, stby: stby,
			ep: endpoint{subnet: s.idx, ip: s.hostIP(200)},
		}
		if stby >= 0 {
			d.m.MultiAZ = true
			d.m.SecondaryAZ = r.azs[stby].Name
		}
		return d
	}
	db := &database{kind: c.Kind}
	if c.Kind == "cluster" {
		w, rd := mk(c.Identifier+"-instance-1", 0, -1), mk(c.Identifier+"-instance-2", last, -1)
		rd.ep.ip = r.privateSubnet(last).hostIP(201)
		w.m.ClusterID, rd.m.ClusterID = c.Identifier, c.Identifier
		db.members = []*dbMember{w, rd}
		db.cluster = &DBCluster{
			ID: c.Identifier, ARN: r.arn("rds", "cluster:"+c.Identifier), Engine: c.Engine, Status: DBAvailable,
			Endpoint:       fmt.Sprintf("%s.cluster-%s.%s.rds.gameday.internal", c.Identifier, suffix, r.cfg.Region),
			ReaderEndpoint: fmt.Sprintf("%s.cluster-ro-%s.%s.rds.gameday.internal", c.Identifier, suffix, r.cfg.Region),
			Port:           dbPort, MultiAZ: true, AZs: []string{r.azs[0].Name, r.azs[last].Name}, CreatedTime: now,
			Tags: []Tag{{"Name", c.Identifier}, OptInTag},
		}
	} else {
		db.members = []*dbMember{mk(c.Identifier, 0, last)}
	}
	r.db = db
	r.refreshDBLocked()
}

func (r *Region) refreshDBLocked() {
	db := r.db
	w := db.members[db.writer]
	s := &dbState{writerUp: w.m.Status == DBAvailable, writerEP: w.ep, writerID: w.m.ID, writerAZ: w.m.AZ}
	if db.cluster != nil && db.cluster.Status != DBAvailable {
		s.writerUp = false
	}
	s.readerUp, s.readerEP, s.readerID, s.readerAZ = s.writerUp, s.writerEP, s.writerID, s.writerAZ
	if db.cluster != nil && db.cluster.Status == DBAvailable {
		for i, m := range db.members {
			if i != db.writer && m.m.Status == DBAvailable {
				s.readerUp, s.readerEP, s.readerID, s.readerAZ = true, m.ep, m.m.ID, m.m.AZ
				break
			}
		}
	}
	r.dbSnap.Store(s)
}

// dbCall is the app's database driver: a query succeeds if the endpoint is
// up and the network path is open, and otherwise fails after the driver
// timeout (or succeeds if the database comes back within it).
func (r *Region) dbCall(ctx context.Context, from endpoint, write bool) error {
	ok := func() bool { return r.dbReady(from, write) }
	if !ok() && !waitUntil(ctx, r.done, r.t.DBTimeout, ok) {
		if err := ctx.Err(); err != nil {
			return err
		}
		return errDBUnreachable
	}
	if d := r.cfg.DB.Latency; d > 0 {
		sleepCtx(ctx, r.done, d)
	}
	return nil
}

// dbReady reports whether a query from an instance would get through now.
func (r *Region) dbReady(from endpoint, write bool) bool {
	s := r.dbSnap.Load()
	if write {
		return s.writerUp && r.net.Load().path(from, s.writerEP, dbPort)
	}
	return s.readerUp && r.net.Load().path(from, s.readerEP, dbPort)
}

// dbTarget names the database member a write (or read) goes to now, and
// its AZ.
func (r *Region) dbTarget(write bool) (id, az string) {
	s := r.dbSnap.Load()
	if write {
		return s.writerID, s.writerAZ
	}
	return s.readerID, s.readerAZ
}

func (r *Region) dbEventLocked(sourceID, sourceType, arn, id, msg string, cats ...string) {
	r.dbEvts = append(r.dbEvts, DBEvent{SourceID: sourceID, SourceType: sourceType, SourceARN: arn, Message: msg, Categories: cats, Date: time.Now(), EventID: id})
	r.emit("db-event", sourceID, "", "", id, msg)
}

func (r *Region) setDBStatusLocked(d *dbMember, status string) {
	if d.m.Status == status {
		return
	}
	r.emit("db-status", d.m.ID, d.m.AZ, d.m.Status, status, "")
	d.m.Status = status
	r.refreshDBLocked()
}

func (r *Region) failoverDuration() time.Duration {
	d := r.t.FailoverTime
	if j := r.t.FailoverJitter; j > 0 {
		d += time.Duration(r.rng.Int64N(int64(2*j)+1)) - j
	}
	return d
}

func (r *Region) findDB(id string) *dbMember {
	for _, m := range r.db.members {
		if m.m.ID == id {
			return m
		}
	}
	return nil
}

// DBInstances describes the DB instances.
func (r *Region) DBInstances() []DBInstance {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]DBInstance, 0, len(r.db.members))
	for _, m := range r.db.members {
		out = append(out, m.m)
	}
	return out
}

// RebootDBInstance reboots a DB instance. With forceFailover (Multi-AZ
// instances only) the endpoint is unreachable for the failover time, then
// the standby's AZ becomes the primary's; without it the instance is down
// for the reboot time and stays in its AZ.
func (r *Region) RebootDBInstance(id string, forceFailover bool) (DBInstance, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := r.findDB(id)
	if d == nil {
		return DBInstance{}, apiErr(404, "DBInstanceNotFound", "DBInstance %s not found.", id)
	}
	if d.m.Status != DBAvailable || (r.db.cluster != nil && r.db.cluster.Status != DBAvailable) {
		return DBInstance{}, apiErr(400, "InvalidDBInstanceState", "Instance %s is not in available state.", id)
	}
	if forceFailover && !d.m.MultiAZ {
		if d.m.ClusterID != "" {
			return DBInstance{}, apiErr(400, "InvalidParameterCombination", "ForceFailover is not supported for DB instances in a DB cluster; use FailoverDBCluster.")
		}
		return DBInstance{}, apiErr(400, "InvalidParameterCombination", "Cannot force a failover of a DB instance that is not Multi-AZ.")
	}
	r.setDBStatusLocked(d, DBRebooting)
	d.epoch++
	epoch := d.epoch
	if forceFailover {
		r.dbEventLocked(d.m.ID, "db-instance", d.m.ARN, "RDS-EVENT-0013", "Multi-AZ instance failover started.", "failover")
		r.sched.after(r.failoverDuration(), func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			if d.epoch != epoch || r.closed {
				return
			}
			from := d.m.AZ
			d.azIdx, d.stby = d.stby, d.azIdx
			d.m.AZ, d.m.SecondaryAZ = r.azs[d.azIdx].Name, r.azs[d.stby].Name
			s := r.privateSubnet(d.azIdx)
			d.ep = endpoint{subnet: s.idx, ip: s.hostIP(200)}
			r.emit("db-writer", d.m.ID, d.m.AZ, from, d.m.AZ, "failover")
			r.dbEventLocked(d.m.ID, "db-instance", d.m.ARN, "RDS-EVENT-0049", "Multi-AZ instance failover completed.", "failover")
			r.dbEventLocked(d.m.ID, "db-instance", d.m.ARN, "RDS-EVENT-0006", "DB instance restarted.", "availability")
			r.setDBStatusLocked(d, DBAvailable)
		})
	} else {
		r.dbEventLocked(d.m.ID, "db-instance", d.m.ARN, "RDS-EVENT-0004", "DB instance shutdown.", "availability")
		r.sched.after(r.t.RebootTime, func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			if d.epoch != epoch || r.closed {
				return
			}
			r.dbEventLocked(d.m.ID, "db-instance", d.m.ARN, "RDS-EVENT-0006", "DB instance restarted.", "availability")
			r.setDBStatusLocked(d, DBAvailable)
		})
	}
	return d.m, nil
}

func (r *Region) clusterCopyLocked() DBCluster {
	c := *r.db.cluster
	c.AZs = append([]string(nil), c.AZs...)
	c.Members = nil
	for i, m := range r.db.members {
		c.Members = append(c.Members, DBClusterMember{InstanceID: m.m.ID, IsWriter: i == r.db.writer})
	}
	return c
}

// DBClusters describes the Aurora-style cluster (none for kind "instance").
func (r *Region) DBClusters() []DBCluster {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.db.cluster == nil {
		return nil
	}
	return []DBCluster{r.clusterCopyLocked()}
}

// FailoverDBCluster moves the cluster's writer to targetInstanceID (or the
// first reader if empty): the writer endpoint is unreachable for the
// failover time.
func (r *Region) FailoverDBCluster(clusterID, targetInstanceID string) (DBCluster, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.db.cluster
	if c == nil || c.ID != clusterID {
		return DBCluster{}, apiErr(404, "DBClusterNotFoundFault", "DBCluster %s not found.", clusterID)
	}
	if c.Status != DBAvailable {
		return DBCluster{}, apiErr(400, "InvalidDBClusterStateFault", "DB cluster %s is not in the available state.", clusterID)
	}
	to := -1
	for i, m := range r.db.members {
		if (targetInstanceID == "" && i != r.db.writer) || m.m.ID == targetInstanceID {
			to = i
			break
		}
	}
	if to < 0 {
		return DBCluster{}, apiErr(400, "InvalidParameterValue", "Target instance %s is not a member of DB cluster %s.", targetInstanceID, clusterID)
	}
	if to == r.db.writer {
		return DBCluster{}, apiErr(400, "InvalidParameterValue", "Target instance %s is already the writer of DB cluster %s.", targetInstanceID, clusterID)
	}
	target := r.db.members[to]
	r.emit("db-status", c.ID, "", c.Status, DBFailingOver, "")
	c.Status = DBFailingOver
	r.refreshDBLocked()
	r.dbEventLocked(c.ID, "db-cluster", c.ARN, "RDS-EVENT-0072", "Started cross AZ failover to DB instance: "+target.m.ID, "failover")
	r.db.epoch++
	epoch := r.db.epoch
	r.sched.after(r.failoverDuration(), func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.db.epoch != epoch || r.closed {
			return
		}
		from := r.db.members[r.db.writer]
		r.db.writer = to
		r.emit("db-writer", c.ID, target.m.AZ, from.m.AZ, target.m.AZ, "writer "+target.m.ID)
		r.dbEventLocked(c.ID, "db-cluster", c.ARN, "RDS-EVENT-0071", "A failover for the DB cluster has completed.", "failover")
		r.emit("db-status", c.ID, "", c.Status, DBAvailable, "")
		c.Status = DBAvailable
		r.refreshDBLocked()
	})
	return r.clusterCopyLocked(), nil
}

// DBEvents lists RDS events, oldest first, filtered by source id and type
// ("" for any) and by time (zero for unbounded).
func (r *Region) DBEvents(sourceID, sourceType string, start, end time.Time) []DBEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []DBEvent
	for _, e := range r.dbEvts {
		if (sourceID != "" && e.SourceID != sourceID) || (sourceType != "" && e.SourceType != sourceType) {
			continue
		}
		if (!start.IsZero() && e.Date.Before(start)) || (!end.IsZero() && e.Date.After(end)) {
			continue
		}
		e.Categories = append([]string(nil), e.Categories...)
		out = append(out, e)
	}
	return out
}

// WriterAZ is the AZ the database currently writes in.
func (r *Region) WriterAZ() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.db.members[r.db.writer].m.AZ
}
