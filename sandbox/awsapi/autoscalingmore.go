package awsapi

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/gameday-dev/gameday/sandbox/sim"
)

// Auto Scaling administration runbooks perform (issue 14). Shapes from
// botocore's autoscaling 2011-01-01 model (awsquery, lists of <member>).

func init() {
	for name, def := range map[string]actionDef{
		"UpdateAutoScalingGroup":       {fn: (*handler).asUpdateAutoScalingGroup, mutating: true},
		"DescribeAutoScalingInstances": {fn: (*handler).asDescribeAutoScalingInstances},
		"SetInstanceHealth":            {fn: (*handler).asSetInstanceHealth, mutating: true},
		"EnterStandby":                 {fn: (*handler).asEnterStandby, mutating: true},
		"ExitStandby":                  {fn: (*handler).asExitStandby, mutating: true},
		"DetachInstances":              {fn: (*handler).asDetachInstances, mutating: true},
		"DescribeLifecycleHooks":       {fn: (*handler).asDescribeLifecycleHooks},
		"DescribeTags":                 {fn: (*handler).asDescribeTags},
	} {
		autoscalingActions[name] = def
	}
	// DescribeAutoScalingInstances: MaxRecords up to 50 (default 50);
	// DescribeTags: MaxRecords up to 100 (default 100), from botocore's model.
	paged[ServiceAutoScaling]["DescribeAutoScalingInstances"] = pageSpec{size: "MaxRecords", token: "NextToken", min: 1, max: 50, def: 50}
	paged[ServiceAutoScaling]["DescribeTags"] = pageSpec{size: "MaxRecords", token: "NextToken", min: 1, max: 100, def: 100}
	for name, note := range map[string]string{
		"UpdateAutoScalingGroup":       "MinSize, MaxSize, DesiredCapacity (the group launches or terminates to match), HealthCheckType, HealthCheckGracePeriod, DefaultCooldown; AWS's validation, and a new min/max pulls desired along. Other parameters (launch template, subnets, policies…) are refused, not ignored.",
		"DescribeAutoScalingInstances": "The group's members with lifecycle, health and launch template; InstanceIds (at most 50), paged.",
		"SetInstanceHealth":            "Unhealthy takes the member out of service and the group replaces it; ShouldRespectGracePeriod ignores the call during the grace period.",
		"EnterStandby":                 "InService members go to Standby: their targets drain, they leave the capacity; ShouldDecrementDesiredCapacity shrinks desired, otherwise the group launches replacements.",
		"ExitStandby":                  "Standby members return (desired grows, not above max): Pending, registered with the target group, InService.",
		"DetachInstances":              "Members leave the group and keep running; their targets drain; ShouldDecrementDesiredCapacity or a replacement.",
		"DescribeLifecycleHooks":       "The group has no lifecycle hooks: an empty list.",
		"DescribeTags":                 "The group's tags; filters auto-scaling-group, key, value, propagate-at-launch; paged.",
	} {
		actionNotes[ServiceAutoScaling][name] = note
	}
}

func (h *handler) asUpdateAutoScalingGroup(r *request) (any, error) {
	name := r.p.get("AutoScalingGroupName")
	if name == "" {
		return nil, errMissing(r.service, "AutoScalingGroupName")
	}
	for _, k := range []string{"LaunchConfigurationName", "LaunchTemplate.LaunchTemplateName", "LaunchTemplate.LaunchTemplateId", "LaunchTemplate.Version", "MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.LaunchTemplateName",
		"AvailabilityZones.member.1", "VPCZoneIdentifier", "PlacementGroup", "TerminationPolicies.member.1", "NewInstancesProtectedFromScaleIn", "ServiceLinkedRoleARN", "MaxInstanceLifetime", "CapacityRebalance", "Context", "DesiredCapacityType", "DefaultInstanceWarmup"} {
		if r.p.has(k) {
			return nil, &sim.APIError{Code: "ValidationError", Message: fmt.Sprintf("gameday sandbox does not implement UpdateAutoScalingGroup %s (it models MinSize, MaxSize, DesiredCapacity, HealthCheckType, HealthCheckGracePeriod, DefaultCooldown)", k), Status: http.StatusBadRequest}
		}
	}
	var u sim.GroupUpdate
	intP := func(key string) (*int32, error) {
		if !r.p.has(key) {
			return nil, nil
		}
		v, _, err := r.p.int32(key)
		if err != nil {
			return nil, errInvalid(r.service, key, r.p.get(key), "must be an integer")
		}
		return &v, nil
	}
	var err error
	if u.Min, err = intP("MinSize"); err != nil {
		return nil, err
	}
	if u.Max, err = intP("MaxSize"); err != nil {
		return nil, err
	}
	if u.Desired, err = intP("DesiredCapacity"); err != nil {
		return nil, err
	}
	secs := func(key string) (*time.Duration, error) {
		v, err := intP(key)
		if v == nil || err != nil {
			return nil, err
		}
		d := time.Duration(*v) * time.Second
		return &d, nil
	}
	if u.HealthCheckGracePeriod, err = secs("HealthCheckGracePeriod"); err != nil {
		return nil, err
	}
	if u.DefaultCooldown, err = secs("DefaultCooldown"); err != nil {
		return nil, err
	}
	if r.p.has("HealthCheckType") {
		v := r.p.get("HealthCheckType")
		u.HealthCheckType = &v
	}
	return nil, h.b.UpdateAutoScalingGroup(name, u)
}

type asgInstanceDetails struct {
	InstanceID           string             `xml:"InstanceId"`
	InstanceType         string             `xml:"InstanceType,omitempty"`
	AutoScalingGroupName string             `xml:"AutoScalingGroupName"`
	AvailabilityZone     string             `xml:"AvailabilityZone"`
	LifecycleState       string             `xml:"LifecycleState"`
	HealthStatus         string             `xml:"HealthStatus"`
	LaunchTemplate       *asgLaunchTemplate `xml:"LaunchTemplate,omitempty"`
	ProtectedFromScaleIn bool               `xml:"ProtectedFromScaleIn"`
}

func (h *handler) asDescribeAutoScalingInstances(r *request) (any, error) {
	ids := r.p.list("InstanceIds.member")
	if len(ids) > 50 {
		return nil, &sim.APIError{Code: "ValidationError", Message: "The number of instance ids that may be passed in is limited to 50", Status: http.StatusBadRequest}
	}
	types := map[string]string{}
	for _, i := range h.b.Instances() {
		types[i.ID] = i.InstanceType
	}
	var all []asgInstanceDetails
	for _, g := range h.b.AutoScalingGroups() {
		for _, i := range g.Instances {
			x := asgInstanceDetails{InstanceID: i.InstanceID, InstanceType: types[i.InstanceID], AutoScalingGroupName: g.Name, AvailabilityZone: i.AZ, LifecycleState: i.LifecycleState, HealthStatus: healthWord(i.HealthStatus)}
			if i.LaunchTemplate != "" {
				x.LaunchTemplate = &asgLaunchTemplate{LaunchTemplateName: i.LaunchTemplate, Version: "$Default"}
			}
			all = append(all, x)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].InstanceID < all[j].InstanceID })
	if len(ids) > 0 {
		all, _ = selectByID(all, ids, func(x asgInstanceDetails) string { return x.InstanceID }) // unknown ids are skipped, as AWS does
	}
	all, next, err := pageOf(r, all)
	if err != nil {
		return nil, err
	}
	type out struct {
		Instances []asgInstanceDetails `xml:"AutoScalingInstances>member"`
		NextToken string               `xml:"NextToken,omitempty"`
	}
	if len(all) == 0 {
		return struct {
			L emptyList `xml:"AutoScalingInstances"`
		}{}, nil
	}
	return out{all, next}, nil
}

// healthWord: DescribeAutoScalingInstances reports HEALTHY/UNHEALTHY in
// capitals (API reference, AutoScalingInstanceDetails.HealthStatus).
func healthWord(s string) string {
	switch s {
	case "Healthy":
		return "HEALTHY"
	case "Unhealthy":
		return "UNHEALTHY"
	}
	return s
}

func (h *handler) asSetInstanceHealth(r *request) (any, error) {
	id, status := r.p.get("InstanceId"), r.p.get("HealthStatus")
	if id == "" {
		return nil, errMissing(r.service, "InstanceId")
	}
	if status == "" {
		return nil, errMissing(r.service, "HealthStatus")
	}
	respect := true // ShouldRespectGracePeriod defaults to true (API reference)
	if r.p.has("ShouldRespectGracePeriod") {
		v, ok := r.p.boolean("ShouldRespectGracePeriod")
		if !ok {
			return nil, errInvalid(r.service, "ShouldRespectGracePeriod", r.p.get("ShouldRespectGracePeriod"), "must be a boolean")
		}
		respect = v
	}
	return nil, h.b.SetGroupInstanceHealth(id, status, respect)
}

func standbyParams(r *request, needDecrement bool) (string, []string, bool, error) {
	name := r.p.get("AutoScalingGroupName")
	if name == "" {
		return "", nil, false, errMissing(r.service, "AutoScalingGroupName")
	}
	ids := r.p.list("InstanceIds.member")
	if len(ids) > 20 {
		return "", nil, false, &sim.APIError{Code: "ValidationError", Message: "The number of instance ids that may be passed in is limited to 20", Status: http.StatusBadRequest}
	}
	if !needDecrement {
		return name, ids, false, nil
	}
	if r.p.get("ShouldDecrementDesiredCapacity") == "" {
		return "", nil, false, errMissing(r.service, "ShouldDecrementDesiredCapacity")
	}
	dec, ok := r.p.boolean("ShouldDecrementDesiredCapacity")
	if !ok {
		return "", nil, false, errInvalid(r.service, "ShouldDecrementDesiredCapacity", r.p.get("ShouldDecrementDesiredCapacity"), "must be a boolean")
	}
	return name, ids, dec, nil
}

func (h *handler) activitiesOut(acts []sim.Activity) any {
	arns := h.groupARNs()
	type out struct {
		Activities []asgActivity `xml:"Activities>member"`
	}
	var o out
	for _, a := range acts {
		o.Activities = append(o.Activities, activityXML(a, arns))
	}
	if len(o.Activities) == 0 {
		return struct {
			L emptyList `xml:"Activities"`
		}{}
	}
	return o
}

func (h *handler) asEnterStandby(r *request) (any, error) {
	name, ids, dec, err := standbyParams(r, true)
	if err != nil {
		return nil, err
	}
	acts, err := h.b.EnterStandby(name, ids, dec)
	if err != nil {
		return nil, err
	}
	return h.activitiesOut(acts), nil
}

func (h *handler) asExitStandby(r *request) (any, error) {
	name, ids, _, err := standbyParams(r, false)
	if err != nil {
		return nil, err
	}
	acts, err := h.b.ExitStandby(name, ids)
	if err != nil {
		return nil, err
	}
	return h.activitiesOut(acts), nil
}

func (h *handler) asDetachInstances(r *request) (any, error) {
	name, ids, dec, err := standbyParams(r, true)
	if err != nil {
		return nil, err
	}
	acts, err := h.b.DetachInstances(name, ids, dec)
	if err != nil {
		return nil, err
	}
	return h.activitiesOut(acts), nil
}

func (h *handler) asDescribeLifecycleHooks(r *request) (any, error) {
	name := r.p.get("AutoScalingGroupName")
	if name == "" {
		return nil, errMissing(r.service, "AutoScalingGroupName")
	}
	found := false
	for _, g := range h.b.AutoScalingGroups() {
		found = found || g.Name == name
	}
	if !found {
		return nil, &sim.APIError{Code: "ValidationError", Message: fmt.Sprintf("Group %s not found", name), Status: http.StatusBadRequest}
	}
	if names := r.p.list("LifecycleHookNames.member"); len(names) > 0 {
		return nil, &sim.APIError{Code: "ValidationError", Message: fmt.Sprintf("No Lifecycle Hook found with name %s for AutoScalingGroup %s", names[0], name), Status: http.StatusBadRequest}
	}
	return struct {
		L emptyList `xml:"LifecycleHooks"`
	}{}, nil
}

func (h *handler) asDescribeTags(r *request) (any, error) {
	var all []asgTag
	for _, g := range h.b.AutoScalingGroups() {
		for _, t := range sortTags(g.Tags) {
			all = append(all, asgTag{ResourceID: g.Name, ResourceType: "auto-scaling-group", Key: t.Key, Value: t.Value, PropagateAtLaunch: true})
		}
	}
	fields := fieldSet[asgTag]{
		"auto-scaling-group":  func(t asgTag) []string { return one(t.ResourceID) },
		"key":                 func(t asgTag) []string { return one(t.Key) },
		"value":               func(t asgTag) []string { return one(t.Value) },
		"propagate-at-launch": func(t asgTag) []string { return one(strconv.FormatBool(t.PropagateAtLaunch)) },
	}
	// Filters.member.N.Name / .Values.member.M (botocore DescribeTagsType).
	all, err := applyFilters(r.service, all, r.p.filters("Filters.member", "Values.member"), fields, nil)
	if err != nil {
		return nil, err
	}
	all, next, err := pageOf(r, all)
	if err != nil {
		return nil, err
	}
	if len(all) == 0 {
		return struct {
			L emptyList `xml:"Tags"`
		}{}, nil
	}
	type out struct {
		Tags      []asgTag `xml:"Tags>member"`
		NextToken string   `xml:"NextToken,omitempty"`
	}
	return out{all, next}, nil
}
