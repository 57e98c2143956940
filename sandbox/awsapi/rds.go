package awsapi

import (
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/gameday-dev/gameday/sandbox/sim"
)

// ---- RDS wire shapes (awsquery, lists named after their element type) ----

type rdsEndpoint struct {
	Address      string `xml:"Address"`
	Port         int32  `xml:"Port"`
	HostedZoneID string `xml:"HostedZoneId"`
}

type rdsInstance struct {
	DBInstanceIdentifier      string       `xml:"DBInstanceIdentifier"`
	DBInstanceClass           string       `xml:"DBInstanceClass"`
	Engine                    string       `xml:"Engine"`
	DBInstanceStatus          string       `xml:"DBInstanceStatus"`
	MasterUsername            string       `xml:"MasterUsername"`
	Endpoint                  *rdsEndpoint `xml:"Endpoint,omitempty"`
	AllocatedStorage          int32        `xml:"AllocatedStorage"`
	InstanceCreateTime        string       `xml:"InstanceCreateTime"`
	AvailabilityZone          string       `xml:"AvailabilityZone"`
	MultiAZ                   bool         `xml:"MultiAZ"`
	SecondaryAvailabilityZone string       `xml:"SecondaryAvailabilityZone,omitempty"`
	DBClusterIdentifier       string       `xml:"DBClusterIdentifier,omitempty"`
	PubliclyAccessible        bool         `xml:"PubliclyAccessible"`
	StorageType               string       `xml:"StorageType"`
	DbInstancePort            int32        `xml:"DbInstancePort"`
	DBInstanceArn             string       `xml:"DBInstanceArn"`
	DbiResourceID             string       `xml:"DbiResourceId"`
	BackupRetentionPeriod     int32        `xml:"BackupRetentionPeriod"`
	DeletionProtection        bool         `xml:"DeletionProtection"`
	TagList                   []rdsTag     `xml:"TagList>Tag"`
	// rdsmore.go: the subnet group and security group the instance is in.
	DBSubnetGroup     *rdsSubnetGroup  `xml:"DBSubnetGroup,omitempty"`
	VpcSecurityGroups []rdsVpcSGMember `xml:"VpcSecurityGroups>VpcSecurityGroupMembership"`
}

type rdsTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

func rdsTags(ts []sim.Tag) []rdsTag {
	out := make([]rdsTag, 0, len(ts))
	for _, t := range ts {
		out = append(out, rdsTag{t.Key, t.Value})
	}
	return out
}

type rdsClusterMember struct {
	DBInstanceIdentifier string `xml:"DBInstanceIdentifier"`
	IsClusterWriter      bool   `xml:"IsClusterWriter"`
	PromotionTier        int32  `xml:"PromotionTier"`
}

type rdsCluster struct {
	DBClusterIdentifier string             `xml:"DBClusterIdentifier"`
	DBClusterArn        string             `xml:"DBClusterArn"`
	Engine              string             `xml:"Engine"`
	EngineMode          string             `xml:"EngineMode"`
	Status              string             `xml:"Status"`
	Endpoint            string             `xml:"Endpoint"`
	ReaderEndpoint      string             `xml:"ReaderEndpoint"`
	Port                int32              `xml:"Port"`
	MultiAZ             bool               `xml:"MultiAZ"`
	AvailabilityZones   []string           `xml:"AvailabilityZones>AvailabilityZone"`
	DBClusterMembers    []rdsClusterMember `xml:"DBClusterMembers>DBClusterMember"`
	ClusterCreateTime   string             `xml:"ClusterCreateTime"`
	DbClusterResourceID string             `xml:"DbClusterResourceId"`
	DeletionProtection  bool               `xml:"DeletionProtection"`
	TagList             []rdsTag           `xml:"TagList>Tag"`
}

type rdsEvent struct {
	SourceIdentifier string   `xml:"SourceIdentifier"`
	SourceType       string   `xml:"SourceType"`
	Message          string   `xml:"Message"`
	EventCategories  []string `xml:"EventCategories>EventCategory"`
	Date             string   `xml:"Date"`
	SourceArn        string   `xml:"SourceArn"`
}

var rdsActions = map[string]actionDef{
	"DescribeDBInstances": {fn: (*handler).rdsDescribeDBInstances},
	"RebootDBInstance":    {fn: (*handler).rdsRebootDBInstance, mutating: true},
	"DescribeDBClusters":  {fn: (*handler).rdsDescribeDBClusters},
	"FailoverDBCluster":   {fn: (*handler).rdsFailoverDBCluster, mutating: true},
	"DescribeEvents":      {fn: (*handler).rdsDescribeEvents},
	// Tag calls, shaped as aws-sdk-go-v2/service/rds serializes them
	// (API 2014-10-31): Tags.Tag.N.{Key,Value} and TagKeys.member.N, with
	// ResourceName an ARN; both answer an empty result.
	"AddTagsToResource":      {fn: (*handler).rdsAddTagsToResource, mutating: true},
	"RemoveTagsFromResource": {fn: (*handler).rdsRemoveTagsFromResource, mutating: true},
}

func (h *handler) rdsAddTagsToResource(r *request) (any, error) {
	arn := r.p.get("ResourceName")
	if arn == "" {
		return nil, errMissing(r.service, "ResourceName")
	}
	var tags []sim.Tag
	for _, t := range r.p.tags("Tags.Tag") {
		tags = append(tags, sim.Tag{Key: t.Key, Value: t.Value})
	}
	if len(tags) == 0 {
		return nil, errMissing(r.service, "Tags")
	}
	return nil, h.b.AddTagsToDBResource(arn, tags)
}

func (h *handler) rdsRemoveTagsFromResource(r *request) (any, error) {
	arn := r.p.get("ResourceName")
	if arn == "" {
		return nil, errMissing(r.service, "ResourceName")
	}
	keys := r.p.list("TagKeys.member")
	if len(keys) == 0 {
		return nil, errMissing(r.service, "TagKeys")
	}
	return nil, h.b.RemoveTagsFromDBResource(arn, keys)
}

func errDBInstanceNotFound(id string) error {
	return &sim.APIError{Code: "DBInstanceNotFound", Message: fmt.Sprintf("DBInstance %s not found.", id), Status: http.StatusNotFound}
}

func errDBClusterNotFound(id string) error {
	return &sim.APIError{Code: "DBClusterNotFoundFault", Message: fmt.Sprintf("DBCluster %s not found.", id), Status: http.StatusNotFound}
}

func (h *handler) dbInstanceXML(d sim.DBInstance) rdsInstance {
	x := rdsInstance{
		DBInstanceIdentifier:  d.ID,
		DBInstanceClass:       d.Class,
		Engine:                d.Engine,
		DBInstanceStatus:      d.Status,
		MasterUsername:        "gameday",
		AllocatedStorage:      20,
		InstanceCreateTime:    iso(d.CreatedTime),
		AvailabilityZone:      d.AZ,
		MultiAZ:               d.MultiAZ,
		DBClusterIdentifier:   d.ClusterID,
		StorageType:           "gp3",
		DbInstancePort:        0,
		DBInstanceArn:         d.ARN,
		DbiResourceID:         "db-" + upperHash(d.ARN, 26),
		BackupRetentionPeriod: 1,
		TagList:               rdsTags(d.Tags),
	}
	if d.MultiAZ {
		x.SecondaryAvailabilityZone = d.SecondaryAZ
	}
	if d.Endpoint != "" {
		x.Endpoint = &rdsEndpoint{Address: d.Endpoint, Port: d.Port, HostedZoneID: "Z" + upperHash(h.b.RegionName()+"/rds", 13)}
	}
	h.addDBPlacement(&x)
	return x
}

func (h *handler) rdsDescribeDBInstances(r *request) (any, error) {
	dbs := h.b.DBInstances()
	sort.Slice(dbs, func(i, j int) bool { return dbs[i].ID < dbs[j].ID })
	if id := r.p.get("DBInstanceIdentifier"); id != "" {
		var missing []string
		dbs, missing = selectByID(dbs, []string{id}, func(d sim.DBInstance) string { return d.ID })
		if len(missing) > 0 {
			return nil, errDBInstanceNotFound(id)
		}
	}
	fields := fieldSet[sim.DBInstance]{
		"db-instance-id": func(d sim.DBInstance) []string { return []string{d.ID, d.ARN} },
		"db-cluster-id":  func(d sim.DBInstance) []string { return one(d.ClusterID) },
		"engine":         func(d sim.DBInstance) []string { return one(d.Engine) },
		"dbi-resource-id": func(d sim.DBInstance) []string {
			return one("db-" + upperHash(d.ARN, 26))
		},
	}
	dbs, err := applyFilters(r.service, dbs, r.p.filters("Filters.Filter", "Values.Value"), fields, nil)
	if err != nil {
		return nil, err
	}
	dbs, next, err := pageOf(r, dbs)
	if err != nil {
		return nil, err
	}
	type out struct {
		DBs    []rdsInstance `xml:"DBInstances>DBInstance"`
		Marker string        `xml:"Marker,omitempty"`
	}
	o := out{Marker: next}
	for _, d := range dbs {
		o.DBs = append(o.DBs, h.dbInstanceXML(d))
	}
	if len(o.DBs) == 0 {
		return struct {
			L emptyList `xml:"DBInstances"`
		}{}, nil
	}
	return o, nil
}

func (h *handler) rdsRebootDBInstance(r *request) (any, error) {
	id := r.p.get("DBInstanceIdentifier")
	if id == "" {
		return nil, errMissing(r.service, "DBInstanceIdentifier")
	}
	force, _ := r.p.boolean("ForceFailover")
	d, err := h.b.RebootDBInstance(id, force)
	if err != nil {
		return nil, err
	}
	type out struct {
		DB rdsInstance `xml:"DBInstance"`
	}
	return out{h.dbInstanceXML(d)}, nil
}

func clusterXML(c sim.DBCluster) rdsCluster {
	x := rdsCluster{
		DBClusterIdentifier: c.ID,
		DBClusterArn:        c.ARN,
		Engine:              c.Engine,
		EngineMode:          "provisioned",
		Status:              c.Status,
		Endpoint:            c.Endpoint,
		ReaderEndpoint:      c.ReaderEndpoint,
		Port:                c.Port,
		MultiAZ:             c.MultiAZ,
		AvailabilityZones:   append([]string(nil), c.AZs...),
		ClusterCreateTime:   iso(c.CreatedTime),
		DbClusterResourceID: "cluster-" + upperHash(c.ARN, 26),
		TagList:             rdsTags(c.Tags),
	}
	sort.Strings(x.AvailabilityZones)
	members := append([]sim.DBClusterMember(nil), c.Members...)
	sort.Slice(members, func(i, j int) bool { return members[i].InstanceID < members[j].InstanceID })
	for _, m := range members {
		x.DBClusterMembers = append(x.DBClusterMembers, rdsClusterMember{DBInstanceIdentifier: m.InstanceID, IsClusterWriter: m.IsWriter, PromotionTier: 1})
	}
	return x
}

func (h *handler) rdsDescribeDBClusters(r *request) (any, error) {
	cs := h.b.DBClusters()
	sort.Slice(cs, func(i, j int) bool { return cs[i].ID < cs[j].ID })
	if id := r.p.get("DBClusterIdentifier"); id != "" {
		var missing []string
		cs, missing = selectByID(cs, []string{id}, func(c sim.DBCluster) string { return c.ID })
		if len(missing) > 0 {
			return nil, errDBClusterNotFound(id)
		}
	}
	fields := fieldSet[sim.DBCluster]{
		"db-cluster-id": func(c sim.DBCluster) []string { return []string{c.ID, c.ARN} },
		"engine":        func(c sim.DBCluster) []string { return one(c.Engine) },
	}
	cs, err := applyFilters(r.service, cs, r.p.filters("Filters.Filter", "Values.Value"), fields, nil)
	if err != nil {
		return nil, err
	}
	cs, next, err := pageOf(r, cs)
	if err != nil {
		return nil, err
	}
	type out struct {
		Cs     []rdsCluster `xml:"DBClusters>DBCluster"`
		Marker string       `xml:"Marker,omitempty"`
	}
	o := out{Marker: next}
	for _, c := range cs {
		o.Cs = append(o.Cs, clusterXML(c))
	}
	if len(o.Cs) == 0 {
		return struct {
			L emptyList `xml:"DBClusters"`
		}{}, nil
	}
	return o, nil
}

func (h *handler) rdsFailoverDBCluster(r *request) (any, error) {
	id := r.p.get("DBClusterIdentifier")
	if id == "" {
		return nil, errMissing(r.service, "DBClusterIdentifier")
	}
	c, err := h.b.FailoverDBCluster(id, r.p.get("TargetDBInstanceIdentifier"))
	if err != nil {
		return nil, err
	}
	type out struct {
		C rdsCluster `xml:"DBCluster"`
	}
	return out{clusterXML(c)}, nil
}

var rdsSourceTypes = map[string]bool{
	"db-instance": true, "db-parameter-group": true, "db-security-group": true,
	"db-snapshot": true, "db-cluster": true, "db-cluster-snapshot": true,
	"custom-engine-version": true, "db-proxy": true, "blue-green-deployment": true,
	"db-shard-group": true, "zero-etl": true,
}

func (h *handler) rdsDescribeEvents(r *request) (any, error) {
	srcID, srcType := r.p.get("SourceIdentifier"), r.p.get("SourceType")
	if srcType != "" && !rdsSourceTypes[srcType] {
		return nil, errInvalid(r.service, "SourceType", srcType, "unknown source type")
	}
	if srcID != "" && srcType == "" {
		return nil, &sim.APIError{Code: "InvalidParameterCombination", Message: "Cannot specify source identifier without source type", Status: http.StatusBadRequest}
	}
	now := h.now()
	start, hasStart, err := r.p.time("StartTime")
	if err != nil {
		return nil, errInvalid(r.service, "StartTime", r.p.get("StartTime"), "not an ISO 8601 timestamp")
	}
	end, hasEnd, err := r.p.time("EndTime")
	if err != nil {
		return nil, errInvalid(r.service, "EndTime", r.p.get("EndTime"), "not an ISO 8601 timestamp")
	}
	if !hasEnd {
		end = now
	}
	dur, hasDur, err := r.p.int32("Duration")
	if err != nil || (hasDur && dur < 0) {
		return nil, errInvalid(r.service, "Duration", r.p.get("Duration"), "must be a non-negative integer")
	}
	if !hasStart {
		if !hasDur {
			dur = 60
		}
		start = end.Add(-time.Duration(dur) * time.Minute)
	}
	evs := h.b.DBEvents(srcID, srcType, start, end)
	// Oldest first, as RDS lists them (the API reference's and the CLI's
	// examples); the newest events are on the last page, reached by Marker.
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].Date.Before(evs[j].Date) })
	evs, next, err := pageOf(r, evs)
	if err != nil {
		return nil, err
	}
	type out struct {
		Marker string     `xml:"Marker,omitempty"`
		Events []rdsEvent `xml:"Events>Event"`
	}
	o := out{Marker: next}
	for _, e := range evs {
		o.Events = append(o.Events, rdsEvent{SourceIdentifier: e.SourceID, SourceType: e.SourceType, Message: e.Message, EventCategories: append([]string(nil), e.Categories...), Date: iso(e.Date), SourceArn: e.SourceARN})
	}
	if len(o.Events) == 0 {
		return struct {
			L emptyList `xml:"Events"`
		}{}, nil
	}
	return o, nil
}
