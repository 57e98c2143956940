package awsapi

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/gameday-dev/gameday/sandbox/sim"
)

// RDS calls Terraform's AWS provider and runbooks make (issue 14). Shapes
// from botocore's rds 2014-10-31 model (awsquery, lists named after their
// element type).

func init() {
	for name, def := range map[string]actionDef{
		"ListTagsForResource":    {fn: (*handler).rdsListTagsForResource},
		"DescribeDBSubnetGroups": {fn: (*handler).rdsDescribeDBSubnetGroups},
	} {
		rdsActions[name] = def
	}
	paged[ServiceRDS]["DescribeDBSubnetGroups"] = pageRDS
	for name, note := range map[string]string{
		"ListTagsForResource":    "Tags of the DB instance or cluster, by ARN; an unknown ARN is DBInstanceNotFound/DBClusterNotFoundFault. No Filters.",
		"DescribeDBSubnetGroups": "One derived group of the VPC's private subnets (the database's AZs), read only.",
	} {
		actionNotes[ServiceRDS][name] = note
	}
	actionNotes[ServiceRDS]["DescribeDBInstances"] += " Each instance names its DB subnet group and its (derived) VPC security group."
}

func (h *handler) rdsListTagsForResource(r *request) (any, error) {
	arn := r.p.get("ResourceName")
	if arn == "" {
		return nil, errMissing(r.service, "ResourceName")
	}
	var tags []sim.Tag
	found := false
	for _, d := range h.b.DBInstances() {
		if d.ARN == arn {
			tags, found = d.Tags, true
		}
	}
	for _, c := range h.b.DBClusters() {
		if c.ARN == arn {
			tags, found = c.Tags, true
		}
	}
	if !found {
		// ListTagsForResource API reference: DBInstanceNotFound /
		// DBClusterNotFoundFault for an ARN that names nothing.
		name := arn[strings.LastIndex(arn, ":")+1:]
		switch {
		case strings.Contains(arn, ":cluster:"):
			return nil, errDBClusterNotFound(name)
		case strings.Contains(arn, ":db:"):
			return nil, errDBInstanceNotFound(name)
		default:
			return nil, &sim.APIError{Code: "InvalidParameterValue", Message: fmt.Sprintf("Invalid resource name: %s", arn), Status: http.StatusBadRequest}
		}
	}
	type out struct {
		TagList []rdsTag `xml:"TagList>Tag"`
	}
	return out{rdsTags(sortTags(tags))}, nil
}

type rdsAZ struct {
	Name string `xml:"Name"`
}

type rdsSubnet struct {
	SubnetIdentifier       string `xml:"SubnetIdentifier"`
	SubnetAvailabilityZone rdsAZ  `xml:"SubnetAvailabilityZone"`
	SubnetStatus           string `xml:"SubnetStatus"`
}

type rdsSubnetGroup struct {
	DBSubnetGroupName        string      `xml:"DBSubnetGroupName"`
	DBSubnetGroupDescription string      `xml:"DBSubnetGroupDescription"`
	VpcID                    string      `xml:"VpcId"`
	SubnetGroupStatus        string      `xml:"SubnetGroupStatus"`
	Subnets                  []rdsSubnet `xml:"Subnets>Subnet"`
	DBSubnetGroupArn         string      `xml:"DBSubnetGroupArn"`
	SupportedNetworkTypes    []string    `xml:"SupportedNetworkTypes>member"`
}

// DBSubnetGroupName is the name of the sandbox's one DB subnet group.
const DBSubnetGroupName = "gameday-db-subnets"

func (h *handler) subnetGroups() []rdsSubnetGroup {
	if len(h.b.DBInstances()) == 0 {
		return nil
	}
	var out []rdsSubnetGroup
	for _, v := range h.b.VPCs() {
		g := rdsSubnetGroup{DBSubnetGroupName: DBSubnetGroupName, DBSubnetGroupDescription: "gameday database subnets", VpcID: v.ID, SubnetGroupStatus: "Complete",
			DBSubnetGroupArn:      fmt.Sprintf("arn:aws:rds:%s:%s:subgrp:%s", h.b.RegionName(), h.b.AccountID(), DBSubnetGroupName),
			SupportedNetworkTypes: []string{"IPV4"}}
		subnets := h.b.Subnets()
		sort.Slice(subnets, func(i, j int) bool { return subnets[i].ID < subnets[j].ID })
		for _, s := range subnets {
			if s.VPCID == v.ID && !s.Public {
				g.Subnets = append(g.Subnets, rdsSubnet{SubnetIdentifier: s.ID, SubnetAvailabilityZone: rdsAZ{s.AZ}, SubnetStatus: "Active"})
			}
		}
		out = append(out, g)
	}
	return out
}

func (h *handler) rdsDescribeDBSubnetGroups(r *request) (any, error) {
	groups := h.subnetGroups()
	if name := r.p.get("DBSubnetGroupName"); name != "" {
		groups, _ = selectByID(groups, []string{name}, func(g rdsSubnetGroup) string { return g.DBSubnetGroupName })
		if len(groups) == 0 {
			return nil, &sim.APIError{Code: "DBSubnetGroupNotFoundFault", Message: fmt.Sprintf("DBSubnetGroup %s not found.", name), Status: http.StatusNotFound}
		}
	}
	groups, next, err := pageOf(r, groups)
	if err != nil {
		return nil, err
	}
	type out struct {
		Groups []rdsSubnetGroup `xml:"DBSubnetGroups>DBSubnetGroup"`
		Marker string           `xml:"Marker,omitempty"`
	}
	return out{groups, next}, nil
}

type rdsVpcSGMember struct {
	VpcSecurityGroupID string `xml:"VpcSecurityGroupId"`
	Status             string `xml:"Status"`
}

// addDBPlacement fills in the DB instance's subnet group and security
// group (Terraform's aws_db_instance reads both), as DescribeDBSubnetGroups
// and EC2 DescribeSecurityGroups describe them.
func (h *handler) addDBPlacement(x *rdsInstance) {
	if gs := h.subnetGroups(); len(gs) > 0 {
		g := gs[0]
		x.DBSubnetGroup = &g
		x.VpcSecurityGroups = []rdsVpcSGMember{{VpcSecurityGroupID: sgID(g.VpcID, "db"), Status: "active"}}
	}
}
