package awsapi

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/gameday-dev/gameday/sandbox/sim"
)

// ---- Auto Scaling wire shapes (awsquery: UpperCamel names, lists of <member>) ----

type asgLaunchTemplate struct {
	LaunchTemplateName string `xml:"LaunchTemplateName"`
	Version            string `xml:"Version"`
}

type asgInstance struct {
	InstanceID           string             `xml:"InstanceId"`
	InstanceType         string             `xml:"InstanceType,omitempty"`
	AvailabilityZone     string             `xml:"AvailabilityZone"`
	LifecycleState       string             `xml:"LifecycleState"`
	HealthStatus         string             `xml:"HealthStatus"`
	LaunchTemplate       *asgLaunchTemplate `xml:"LaunchTemplate,omitempty"`
	ProtectedFromScaleIn bool               `xml:"ProtectedFromScaleIn"`
}

type asgTag struct {
	ResourceID        string `xml:"ResourceId"`
	ResourceType      string `xml:"ResourceType"`
	Key               string `xml:"Key"`
	Value             string `xml:"Value"`
	PropagateAtLaunch bool   `xml:"PropagateAtLaunch"`
}

type asgGroup struct {
	AutoScalingGroupName             string             `xml:"AutoScalingGroupName"`
	AutoScalingGroupARN              string             `xml:"AutoScalingGroupARN"`
	LaunchTemplate                   *asgLaunchTemplate `xml:"LaunchTemplate,omitempty"`
	MinSize                          int32              `xml:"MinSize"`
	MaxSize                          int32              `xml:"MaxSize"`
	DesiredCapacity                  int32              `xml:"DesiredCapacity"`
	DefaultCooldown                  int32              `xml:"DefaultCooldown"`
	AvailabilityZones                []string           `xml:"AvailabilityZones>member"`
	LoadBalancerNames                struct{}           `xml:"LoadBalancerNames"`
	TargetGroupARNs                  []string           `xml:"TargetGroupARNs>member"`
	HealthCheckType                  string             `xml:"HealthCheckType"`
	HealthCheckGracePeriod           int32              `xml:"HealthCheckGracePeriod"`
	Instances                        []asgInstance      `xml:"Instances>member"`
	CreatedTime                      string             `xml:"CreatedTime"`
	SuspendedProcesses               asgSuspendedList   `xml:"SuspendedProcesses"`
	VPCZoneIdentifier                string             `xml:"VPCZoneIdentifier"`
	EnabledMetrics                   struct{}           `xml:"EnabledMetrics"`
	Tags                             []asgTag           `xml:"Tags>member"`
	TerminationPolicies              []string           `xml:"TerminationPolicies>member"`
	NewInstancesProtectedFromScaleIn bool               `xml:"NewInstancesProtectedFromScaleIn"`
	ServiceLinkedRoleARN             string             `xml:"ServiceLinkedRoleARN"`
	CapacityRebalance                bool               `xml:"CapacityRebalance"`
}

type asgActivity struct {
	ActivityID           string `xml:"ActivityId"`
	AutoScalingGroupName string `xml:"AutoScalingGroupName"`
	AutoScalingGroupARN  string `xml:"AutoScalingGroupARN,omitempty"`
	Description          string `xml:"Description"`
	Cause                string `xml:"Cause"`
	StartTime            string `xml:"StartTime"`
	EndTime              string `xml:"EndTime,omitempty"`
	StatusCode           string `xml:"StatusCode"`
	StatusMessage        string `xml:"StatusMessage,omitempty"`
	Progress             int32  `xml:"Progress"`
	Details              string `xml:"Details"`
}

var autoscalingActions = map[string]actionDef{
	"DescribeAutoScalingGroups":           {fn: (*handler).asDescribeAutoScalingGroups},
	"TerminateInstanceInAutoScalingGroup": {fn: (*handler).asTerminateInstanceInAutoScalingGroup, mutating: true},
	"SetDesiredCapacity":                  {fn: (*handler).asSetDesiredCapacity, mutating: true},
	"DescribeScalingActivities":           {fn: (*handler).asDescribeScalingActivities},
	"CreateOrUpdateTags":                  {fn: (*handler).asCreateOrUpdateTags, mutating: true},
	"DeleteTags":                          {fn: (*handler).asDeleteTags, mutating: true},
}

// seconds rounds a duration up to whole seconds (AWS reports seconds).
func seconds(d time.Duration) int32 {
	if d <= 0 {
		return 0
	}
	return int32(math.Ceil(d.Seconds()))
}

func (h *handler) groupXML(g sim.AutoScalingGroup, types map[string]string) asgGroup {
	out := asgGroup{
		AutoScalingGroupName:   g.Name,
		AutoScalingGroupARN:    g.ARN,
		MinSize:                g.Min,
		MaxSize:                g.Max,
		DesiredCapacity:        g.Desired,
		DefaultCooldown:        seconds(g.DefaultCooldown),
		AvailabilityZones:      append([]string(nil), g.AZs...),
		TargetGroupARNs:        append([]string(nil), g.TargetGroupARNs...),
		HealthCheckType:        g.HealthCheckType,
		HealthCheckGracePeriod: seconds(g.HealthCheckGracePeriod),
		CreatedTime:            iso(g.CreatedTime),
		VPCZoneIdentifier:      strings.Join(g.SubnetIDs, ","),
		TerminationPolicies:    []string{"Default"},
		ServiceLinkedRoleARN:   fmt.Sprintf("arn:aws:iam::%s:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling", h.b.AccountID()),
	}
	out.SuspendedProcesses = suspendedXML(g.SuspendedProcesses)
	sort.Strings(out.AvailabilityZones)
	sort.Strings(out.TargetGroupARNs)
	if g.LaunchTemplate != "" {
		// A numbered version, not $Default: RollbackInstanceRefresh needs one.
		out.LaunchTemplate = &asgLaunchTemplate{LaunchTemplateName: g.LaunchTemplate, Version: g.LaunchTemplateVersion}
	}
	insts := append([]sim.GroupInstance(nil), g.Instances...)
	sort.Slice(insts, func(i, j int) bool { return insts[i].InstanceID < insts[j].InstanceID })
	for _, i := range insts {
		x := asgInstance{InstanceID: i.InstanceID, InstanceType: types[i.InstanceID], AvailabilityZone: i.AZ, LifecycleState: i.LifecycleState, HealthStatus: i.HealthStatus}
		if i.LaunchTemplate != "" {
			x.LaunchTemplate = &asgLaunchTemplate{LaunchTemplateName: i.LaunchTemplate, Version: i.LaunchTemplateVersion}
		}
		out.Instances = append(out.Instances, x)
	}
	for _, t := range sortTags(g.Tags) {
		out.Tags = append(out.Tags, asgTag{ResourceID: g.Name, ResourceType: "auto-scaling-group", Key: t.Key, Value: t.Value, PropagateAtLaunch: true})
	}
	return out
}

func (h *handler) asDescribeAutoScalingGroups(r *request) (any, error) {
	groups := h.b.AutoScalingGroups()
	sort.Slice(groups, func(i, j int) bool { return groups[i].Name < groups[j].Name })
	// Unknown names are not an error: AWS returns the groups it found.
	if names := r.p.list("AutoScalingGroupNames.member"); len(names) > 0 {
		groups, _ = selectByID(groups, names, func(g sim.AutoScalingGroup) string { return g.Name })
	}
	groups, err := applyFilters(r.service, groups, r.p.filters("Filters.member", "Values.member"), fieldSet[sim.AutoScalingGroup]{}, func(g sim.AutoScalingGroup) []sim.Tag { return g.Tags })
	if err != nil {
		return nil, err
	}
	groups, next, err := pageOf(r, groups)
	if err != nil {
		return nil, err
	}
	types := map[string]string{}
	for _, i := range h.b.Instances() {
		types[i.ID] = i.InstanceType
	}
	type out struct {
		Groups    []asgGroup `xml:"AutoScalingGroups>member"`
		NextToken string     `xml:"NextToken,omitempty"`
	}
	o := out{Groups: []asgGroup{}, NextToken: next}
	for _, g := range groups {
		o.Groups = append(o.Groups, h.groupXML(g, types))
	}
	if len(o.Groups) == 0 {
		// An empty list is still sent as an empty element.
		return struct {
			Groups struct{} `xml:"AutoScalingGroups"`
		}{}, nil
	}
	return o, nil
}

func (h *handler) groupARNs() map[string]string {
	m := map[string]string{}
	for _, g := range h.b.AutoScalingGroups() {
		m[g.Name] = g.ARN
	}
	return m
}

func activityXML(a sim.Activity, arns map[string]string) asgActivity {
	return asgActivity{
		ActivityID:           a.ID,
		AutoScalingGroupName: a.GroupName,
		AutoScalingGroupARN:  arns[a.GroupName],
		Description:          a.Description,
		Cause:                a.Cause,
		StartTime:            iso(a.StartTime),
		EndTime:              iso(a.EndTime),
		StatusCode:           a.StatusCode,
		StatusMessage:        a.StatusMessage,
		Progress:             a.Progress,
		Details:              "{}",
	}
}

func (h *handler) asTerminateInstanceInAutoScalingGroup(r *request) (any, error) {
	id := r.p.get("InstanceId")
	if id == "" {
		return nil, errMissing(r.service, "InstanceId")
	}
	if r.p.get("ShouldDecrementDesiredCapacity") == "" {
		return nil, errMissing(r.service, "ShouldDecrementDesiredCapacity")
	}
	dec, ok := r.p.boolean("ShouldDecrementDesiredCapacity")
	if !ok {
		return nil, errInvalid(r.service, "ShouldDecrementDesiredCapacity", r.p.get("ShouldDecrementDesiredCapacity"), "must be a boolean")
	}
	act, err := h.b.TerminateInstanceInAutoScalingGroup(id, dec)
	if err != nil {
		return nil, err
	}
	type out struct {
		Activity asgActivity `xml:"Activity"`
	}
	return out{activityXML(act, h.groupARNs())}, nil
}

func (h *handler) asSetDesiredCapacity(r *request) (any, error) {
	name := r.p.get("AutoScalingGroupName")
	if name == "" {
		return nil, errMissing(r.service, "AutoScalingGroupName")
	}
	if r.p.get("DesiredCapacity") == "" {
		return nil, errMissing(r.service, "DesiredCapacity")
	}
	n, _, err := r.p.int32("DesiredCapacity")
	if err != nil {
		return nil, errInvalid(r.service, "DesiredCapacity", r.p.get("DesiredCapacity"), "must be an integer")
	}
	honor, _ := r.p.boolean("HonorCooldown")
	if err := h.b.SetDesiredCapacity(name, n, honor); err != nil {
		return nil, err
	}
	return nil, nil
}

func (h *handler) asDescribeScalingActivities(r *request) (any, error) {
	spec, err := r.spec()
	if err != nil {
		return nil, err
	}
	if _, err := r.pageSize(spec); err != nil {
		return nil, err
	}
	name := r.p.get("AutoScalingGroupName")
	var acts []sim.Activity
	if name != "" {
		acts = h.b.ScalingActivities(name)
	} else {
		for _, g := range h.b.AutoScalingGroups() {
			acts = append(acts, h.b.ScalingActivities(g.Name)...)
		}
	}
	// Newest first, ties by id, as AWS lists them.
	sort.SliceStable(acts, func(i, j int) bool {
		if !acts[i].StartTime.Equal(acts[j].StartTime) {
			return acts[i].StartTime.After(acts[j].StartTime)
		}
		return acts[i].ID < acts[j].ID
	})
	if ids := r.p.list("ActivityIds.member"); len(ids) > 0 {
		acts, _ = selectByID(acts, ids, func(a sim.Activity) string { return a.ID })
	}
	acts, next, err := pageOf(r, acts)
	if err != nil {
		return nil, err
	}
	arns := h.groupARNs()
	type out struct {
		Activities []asgActivity `xml:"Activities>member"`
		NextToken  string        `xml:"NextToken,omitempty"`
	}
	o := out{NextToken: next}
	for _, a := range acts {
		o.Activities = append(o.Activities, activityXML(a, arns))
	}
	if len(o.Activities) == 0 {
		return struct {
			Activities struct{} `xml:"Activities"`
		}{}, nil
	}
	return o, nil
}

// groupTags decodes Tags.member.N.{ResourceId,ResourceType,Key,Value,
// PropagateAtLaunch} (botocore autoscaling 2011-01-01 CreateOrUpdateTagsType
// and DeleteTagsType) into group name → tags. ResourceType must be
// auto-scaling-group, the only type AWS supports.
func groupTags(r *request) (map[string][]sim.Tag, []string, error) {
	idx := r.p.indexes("Tags.member")
	if len(idx) == 0 {
		return nil, nil, errMissing(r.service, "Tags")
	}
	by := map[string][]sim.Tag{}
	var order []string
	for _, t := range idx {
		id, typ, key := r.p.get(t+".ResourceId"), r.p.get(t+".ResourceType"), r.p.get(t+".Key")
		if key == "" {
			return nil, nil, errMissing(r.service, t+".Key")
		}
		if id == "" {
			return nil, nil, errMissing(r.service, t+".ResourceId")
		}
		if typ != "auto-scaling-group" {
			return nil, nil, errInvalid(r.service, t+".ResourceType", typ, "the only supported value is auto-scaling-group")
		}
		if _, ok := by[id]; !ok {
			order = append(order, id)
		}
		by[id] = append(by[id], sim.Tag{Key: key, Value: r.p.get(t + ".Value")})
	}
	return by, order, nil
}

func (h *handler) asCreateOrUpdateTags(r *request) (any, error) {
	by, order, err := groupTags(r)
	if err != nil {
		return nil, err
	}
	for _, g := range order {
		if err := h.b.CreateOrUpdateGroupTags(g, by[g]); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func (h *handler) asDeleteTags(r *request) (any, error) {
	by, order, err := groupTags(r)
	if err != nil {
		return nil, err
	}
	for _, g := range order {
		var keys []string
		for _, t := range by[g] {
			keys = append(keys, t.Key)
		}
		if err := h.b.DeleteGroupTags(g, keys); err != nil {
			return nil, err
		}
	}
	return nil, nil
}
