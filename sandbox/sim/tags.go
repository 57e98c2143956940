package sim

import "strings"

// TagMatch names a tag to delete: Key, and Value only when HasValue (EC2
// DeleteTags deletes a key whatever its value unless a value is given).
type TagMatch struct {
	Key      string
	Value    string
	HasValue bool
}

// DeleteTags removes tags from instances, the VPC, subnets and ACLs, as EC2
// DeleteTags does (botocore ec2 2016-11-15 DeleteTagsRequest): a key alone
// deletes that key whatever its value; a key with a value deletes it only
// if the value matches; keys that are absent are not an error. Every id is
// checked before anything changes.
func (r *Region) DeleteTags(resourceIDs []string, tags []TagMatch) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(resourceIDs) == 0 {
		return apiErr(400, "MissingParameter", "The request must contain the parameter resourceIdSet")
	}
	for _, t := range tags {
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return apiErr(400, "InvalidParameterValue", "Tag keys starting with 'aws:' are reserved for internal use")
		}
	}
	var targets []*[]Tag
	for _, id := range resourceIDs {
		p, err := r.tagsOfLocked(id)
		if err != nil {
			return err
		}
		targets = append(targets, p)
	}
	for _, p := range targets {
		*p = deleteTags(*p, tags)
	}
	return nil
}

func deleteTags(have []Tag, del []TagMatch) []Tag {
	out := have[:0:0]
	for _, t := range have {
		drop := false
		for _, d := range del {
			if d.Key == t.Key && (!d.HasValue || d.Value == t.Value) && !strings.HasPrefix(t.Key, "aws:") {
				drop = true
			}
		}
		if len(del) == 0 && !strings.HasPrefix(t.Key, "aws:") {
			drop = true // no tags given: every user tag goes
		}
		if !drop {
			out = append(out, t)
		}
	}
	return out
}

// tagsOfLocked returns the tag list of an EC2 resource, or the error EC2
// gives for an unknown id.
func (r *Region) tagsOfLocked(id string) (*[]Tag, error) {
	switch {
	case strings.HasPrefix(id, "i-"):
		if !instanceIDRE.MatchString(id) {
			return nil, apiErr(400, "InvalidID", "The ID '%s' is not valid", id)
		}
		in := r.findInstance(id)
		if in == nil {
			return nil, apiErr(400, "InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id)
		}
		return &in.m.Tags, nil
	case strings.HasPrefix(id, "vpc-"):
		if id != r.vpc.ID {
			return nil, apiErr(400, "InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", id)
		}
		return &r.vpc.Tags, nil
	case strings.HasPrefix(id, "subnet-"):
		for _, x := range r.subnets {
			if x.m.ID == id {
				return &x.m.Tags, nil
			}
		}
		return nil, apiErr(400, "InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", id)
	case strings.HasPrefix(id, "acl-"):
		a := r.findACL(id)
		if a == nil {
			return nil, apiErr(400, "InvalidNetworkAclID.NotFound", "The network ACL ID '%s' does not exist", id)
		}
		return &a.m.Tags, nil
	}
	return nil, apiErr(400, "InvalidID", "The ID '%s' is not valid", id)
}

// maxGroupTags is Auto Scaling's quota of tags per group.
const maxGroupTags = 50

// CreateOrUpdateGroupTags adds or overwrites tags on an Auto Scaling group
// (autoscaling CreateOrUpdateTags, botocore autoscaling 2011-01-01): the
// only resource type is auto-scaling-group; an unknown group is a
// ValidationError; more than 50 tags is LimitExceeded.
func (r *Region) CreateOrUpdateGroupTags(group string, tags []Tag) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.group
	if g == nil || group != g.m.Name {
		return apiErr(400, "ValidationError", "AutoScalingGroup name not found - AutoScalingGroup '%s' not found", group)
	}
	for _, t := range tags {
		if t.Key == "" || len(t.Key) > 128 || len(t.Value) > 256 {
			return apiErr(400, "ValidationError", "Tag key must be 1 to 128 characters and value at most 256")
		}
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return apiErr(400, "ValidationError", "Tag keys starting with 'aws:' are reserved for internal use")
		}
	}
	next := setTags(copyTags(g.m.Tags), tags)
	if len(next) > maxGroupTags {
		return apiErr(400, "LimitExceeded", "The number of tags for AutoScalingGroup %s exceeds the limit of %d", group, maxGroupTags)
	}
	g.m.Tags = next
	return nil
}

// DeleteGroupTags removes tags by key from an Auto Scaling group
// (autoscaling DeleteTags); absent keys are not an error.
func (r *Region) DeleteGroupTags(group string, keys []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.group
	if g == nil || group != g.m.Name {
		return apiErr(400, "ValidationError", "AutoScalingGroup name not found - AutoScalingGroup '%s' not found", group)
	}
	var del []TagMatch
	for _, k := range keys {
		del = append(del, TagMatch{Key: k})
	}
	g.m.Tags = deleteTags(g.m.Tags, del)
	return nil
}

// AddTagsToDBResource adds or overwrites tags on a DB instance or cluster
// named by its ARN (rds AddTagsToResource, API version 2014-10-31: the
// ResourceName is an ARN; an unknown one is DBInstanceNotFound or
// DBClusterNotFoundFault, 404).
func (r *Region) AddTagsToDBResource(arn string, tags []Tag) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, err := r.dbTagsLocked(arn)
	if err != nil {
		return err
	}
	for _, t := range tags {
		if t.Key == "" || len(t.Key) > 128 || len(t.Value) > 256 {
			return apiErr(400, "InvalidParameterValue", "Tag key must be 1 to 128 characters and value at most 256")
		}
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") || strings.HasPrefix(strings.ToLower(t.Key), "rds:") {
			return apiErr(400, "InvalidParameterValue", "Tag keys starting with 'aws:' or 'rds:' are reserved")
		}
	}
	*p = setTags(copyTags(*p), tags)
	return nil
}

// RemoveTagsFromDBResource removes tags by key (rds RemoveTagsFromResource);
// absent keys are not an error.
func (r *Region) RemoveTagsFromDBResource(arn string, keys []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, err := r.dbTagsLocked(arn)
	if err != nil {
		return err
	}
	var del []TagMatch
	for _, k := range keys {
		del = append(del, TagMatch{Key: k})
	}
	if len(del) > 0 {
		*p = deleteTags(*p, del)
	}
	return nil
}

func (r *Region) dbTagsLocked(arn string) (*[]Tag, error) {
	if db := r.db; db != nil {
		if db.cluster != nil && db.cluster.ARN == arn {
			return &db.cluster.Tags, nil
		}
		for _, m := range db.members {
			if m.m.ARN == arn {
				return &m.m.Tags, nil
			}
		}
	}
	if strings.Contains(arn, ":cluster:") {
		return nil, apiErr(404, "DBClusterNotFoundFault", "DBCluster %s not found.", arn)
	}
	return nil, apiErr(404, "DBInstanceNotFound", "DBInstance %s not found.", arn)
}
