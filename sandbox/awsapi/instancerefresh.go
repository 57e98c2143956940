package awsapi

import (
	"strconv"

	"github.com/gameday-dev/gameday/sandbox/sim"
)

// Instance refresh actions. Request and response shapes follow the Auto
// Scaling API reference and the service model of
// aws-sdk-go-v2/service/autoscaling v1.79.4 (StartInstanceRefreshType,
// RefreshPreferences, DesiredConfiguration, InstanceRefresh, RollbackDetails;
// errors InstanceRefreshInProgress, ActiveInstanceRefreshNotFound,
// IrreversibleInstanceRefresh: HTTP 400, sender faults). Debian's botocore
// 1.29 model has the older subset (no MaxHealthyPercentage, no rollback).

// RefreshBackend is the instance refresh part of Backend (sim/refresh.go):
// version "" is no desired configuration.
type RefreshBackend interface {
	StartInstanceRefresh(group, launchTemplate, version string, p sim.RefreshPreferences) (string, error)
	InstanceRefreshes(group string, ids []string) ([]sim.InstanceRefresh, error) // newest first
	CancelInstanceRefresh(group string) (string, error)
	RollbackInstanceRefresh(group string) (string, error)
}

func init() {
	autoscalingActions["StartInstanceRefresh"] = actionDef{fn: (*handler).asStartInstanceRefresh, mutating: true}
	autoscalingActions["DescribeInstanceRefreshes"] = actionDef{fn: (*handler).asDescribeInstanceRefreshes}
	autoscalingActions["CancelInstanceRefresh"] = actionDef{fn: (*handler).asCancelInstanceRefresh, mutating: true}
	autoscalingActions["RollbackInstanceRefresh"] = actionDef{fn: (*handler).asRollbackInstanceRefresh, mutating: true}
}

type asgRefreshPreferences struct {
	MinHealthyPercentage  *int32  `xml:"MinHealthyPercentage,omitempty"`
	MaxHealthyPercentage  *int32  `xml:"MaxHealthyPercentage,omitempty"`
	InstanceWarmup        *int32  `xml:"InstanceWarmup,omitempty"`
	CheckpointPercentages []int32 `xml:"CheckpointPercentages>member,omitempty"`
	CheckpointDelay       *int32  `xml:"CheckpointDelay,omitempty"`
	SkipMatching          *bool   `xml:"SkipMatching,omitempty"`
	AutoRollback          *bool   `xml:"AutoRollback,omitempty"`
	BakeTime              *int32  `xml:"BakeTime,omitempty"`
}

type asgDesiredConfiguration struct {
	LaunchTemplate *asgLaunchTemplate `xml:"LaunchTemplate,omitempty"`
}

type asgRefreshProgress struct {
	PercentageComplete int32 `xml:"PercentageComplete"`
	InstancesToUpdate  int32 `xml:"InstancesToUpdate"`
}

type asgRefreshProgressDetails struct {
	LivePoolProgress asgRefreshProgress `xml:"LivePoolProgress"`
}

type asgRollbackDetails struct {
	RollbackReason               string                    `xml:"RollbackReason,omitempty"`
	RollbackStartTime            string                    `xml:"RollbackStartTime,omitempty"`
	PercentageCompleteOnRollback int32                     `xml:"PercentageCompleteOnRollback"`
	InstancesToUpdateOnRollback  int32                     `xml:"InstancesToUpdateOnRollback"`
	ProgressDetailsOnRollback    asgRefreshProgressDetails `xml:"ProgressDetailsOnRollback"`
}

type asgInstanceRefresh struct {
	InstanceRefreshID    string                    `xml:"InstanceRefreshId"`
	AutoScalingGroupName string                    `xml:"AutoScalingGroupName"`
	Status               string                    `xml:"Status"`
	StatusReason         string                    `xml:"StatusReason,omitempty"`
	StartTime            string                    `xml:"StartTime,omitempty"`
	EndTime              string                    `xml:"EndTime,omitempty"`
	PercentageComplete   int32                     `xml:"PercentageComplete"`
	InstancesToUpdate    int32                     `xml:"InstancesToUpdate"`
	ProgressDetails      asgRefreshProgressDetails `xml:"ProgressDetails"`
	Preferences          asgRefreshPreferences     `xml:"Preferences"`
	DesiredConfiguration *asgDesiredConfiguration  `xml:"DesiredConfiguration,omitempty"`
	RollbackDetails      *asgRollbackDetails       `xml:"RollbackDetails,omitempty"`
	Strategy             string                    `xml:"Strategy"`
}

// refreshPreferences decodes Preferences.* (each a bounded number or a
// boolean; ranges are the backend's to check, as AWS's ValidationError).
func refreshPreferences(r *request) (sim.RefreshPreferences, error) {
	var p sim.RefreshPreferences
	num := func(name string, dst **int32) error {
		key := "Preferences." + name
		n, ok, err := r.p.int32(key)
		if err != nil {
			return errInvalid(r.service, key, r.p.get(key), "must be an integer")
		}
		if ok {
			*dst = &n
		}
		return nil
	}
	flag := func(name string, dst **bool) error {
		key := "Preferences." + name
		if r.p.get(key) == "" {
			return nil
		}
		v, ok := r.p.boolean(key)
		if !ok {
			return errInvalid(r.service, key, r.p.get(key), "must be a boolean")
		}
		*dst = &v
		return nil
	}
	for _, f := range []func() error{
		func() error { return num("MinHealthyPercentage", &p.MinHealthyPercentage) },
		func() error { return num("MaxHealthyPercentage", &p.MaxHealthyPercentage) },
		func() error { return num("InstanceWarmup", &p.InstanceWarmup) },
		func() error { return num("CheckpointDelay", &p.CheckpointDelay) },
		func() error { return num("BakeTime", &p.BakeTime) },
		func() error { return flag("SkipMatching", &p.SkipMatching) },
		func() error { return flag("AutoRollback", &p.AutoRollback) },
	} {
		if err := f(); err != nil {
			return p, err
		}
	}
	cps := r.p.list("Preferences.CheckpointPercentages.member")
	if len(cps) > 100 {
		return p, errInvalid(r.service, "Preferences.CheckpointPercentages", strconv.Itoa(len(cps))+" values", "at most 100")
	}
	for _, s := range cps {
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return p, errInvalid(r.service, "Preferences.CheckpointPercentages", s, "must be an integer")
		}
		p.CheckpointPercentages = append(p.CheckpointPercentages, int32(n))
	}
	return p, nil
}

func (h *handler) asStartInstanceRefresh(r *request) (any, error) {
	name := r.p.get("AutoScalingGroupName")
	if name == "" {
		return nil, errMissing(r.service, "AutoScalingGroupName")
	}
	if s := r.p.get("Strategy"); s != "" && s != "Rolling" {
		return nil, errInvalid(r.service, "Strategy", s, "the only supported value is Rolling")
	}
	prefs, err := refreshPreferences(r)
	if err != nil {
		return nil, err
	}
	if r.p.get("DesiredConfiguration.MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.LaunchTemplateName") != "" {
		return nil, errInvalid(r.service, "DesiredConfiguration.MixedInstancesPolicy", "", "the sandbox's group has no mixed instances policy")
	}
	lt := r.p.get("DesiredConfiguration.LaunchTemplate.LaunchTemplateName")
	if id := r.p.get("DesiredConfiguration.LaunchTemplate.LaunchTemplateId"); id != "" && lt == "" {
		return nil, errInvalid(r.service, "DesiredConfiguration.LaunchTemplate.LaunchTemplateId", id, "the sandbox names its launch template by LaunchTemplateName")
	}
	version := r.p.get("DesiredConfiguration.LaunchTemplate.Version")
	if lt != "" && version == "" {
		return nil, errMissing(r.service, "DesiredConfiguration.LaunchTemplate.Version")
	}
	id, err := h.b.StartInstanceRefresh(name, lt, version, prefs)
	if err != nil {
		return nil, err
	}
	type out struct {
		ID string `xml:"InstanceRefreshId"`
	}
	return out{id}, nil
}

func refreshXML(x sim.InstanceRefresh) asgInstanceRefresh {
	p := x.Preferences
	o := asgInstanceRefresh{
		InstanceRefreshID:    x.ID,
		AutoScalingGroupName: x.GroupName,
		Status:               x.Status,
		StatusReason:         x.StatusReason,
		StartTime:            iso(x.StartTime),
		EndTime:              iso(x.EndTime),
		PercentageComplete:   x.PercentageComplete,
		InstancesToUpdate:    x.InstancesToUpdate,
		ProgressDetails:      asgRefreshProgressDetails{asgRefreshProgress{x.PercentageComplete, x.InstancesToUpdate}},
		Preferences: asgRefreshPreferences{
			MinHealthyPercentage: p.MinHealthyPercentage, MaxHealthyPercentage: p.MaxHealthyPercentage,
			InstanceWarmup: p.InstanceWarmup, CheckpointPercentages: p.CheckpointPercentages,
			CheckpointDelay: p.CheckpointDelay, SkipMatching: p.SkipMatching,
			AutoRollback: p.AutoRollback, BakeTime: p.BakeTime,
		},
		Strategy: "Rolling",
	}
	// AWS reports the defaults it applied.
	if o.Preferences.MinHealthyPercentage == nil {
		v := int32(90)
		o.Preferences.MinHealthyPercentage = &v
	}
	if o.Preferences.SkipMatching == nil {
		v := false
		o.Preferences.SkipMatching = &v
	}
	if x.DesiredVersion != "" {
		o.DesiredConfiguration = &asgDesiredConfiguration{LaunchTemplate: &asgLaunchTemplate{LaunchTemplateName: x.DesiredLaunchTemplate, Version: x.DesiredVersion}}
	}
	if rb := x.Rollback; rb != nil {
		o.RollbackDetails = &asgRollbackDetails{
			RollbackReason: rb.Reason, RollbackStartTime: iso(rb.StartTime),
			PercentageCompleteOnRollback: rb.PercentageCompleteOnRollback,
			InstancesToUpdateOnRollback:  rb.InstancesToUpdateOnRollback,
			ProgressDetailsOnRollback:    asgRefreshProgressDetails{asgRefreshProgress{rb.PercentageCompleteOnRollback, rb.InstancesToUpdateOnRollback}},
		}
	}
	return o
}

func (h *handler) asDescribeInstanceRefreshes(r *request) (any, error) {
	name := r.p.get("AutoScalingGroupName")
	if name == "" {
		return nil, errMissing(r.service, "AutoScalingGroupName")
	}
	ids := r.p.list("InstanceRefreshIds.member")
	if len(ids) > 50 {
		return nil, errInvalid(r.service, "InstanceRefreshIds", strconv.Itoa(len(ids))+" ids", "at most 50")
	}
	all, err := h.b.InstanceRefreshes(name, ids)
	if err != nil {
		return nil, err
	}
	page, next, err := pageOf(r, all)
	if err != nil {
		return nil, err
	}
	type out struct {
		Refreshes []asgInstanceRefresh `xml:"InstanceRefreshes>member"`
		NextToken string               `xml:"NextToken,omitempty"`
	}
	o := out{NextToken: next}
	for _, x := range page {
		o.Refreshes = append(o.Refreshes, refreshXML(x))
	}
	if len(o.Refreshes) == 0 {
		return struct {
			Refreshes struct{} `xml:"InstanceRefreshes"`
		}{}, nil
	}
	return o, nil
}

func (h *handler) asCancelInstanceRefresh(r *request) (any, error) {
	name := r.p.get("AutoScalingGroupName")
	if name == "" {
		return nil, errMissing(r.service, "AutoScalingGroupName")
	}
	if s := r.p.get("WaitForTransitioningInstances"); s != "" {
		if _, ok := r.p.boolean("WaitForTransitioningInstances"); !ok {
			return nil, errInvalid(r.service, "WaitForTransitioningInstances", s, "must be a boolean")
		}
	}
	id, err := h.b.CancelInstanceRefresh(name)
	if err != nil {
		return nil, err
	}
	type out struct {
		ID string `xml:"InstanceRefreshId"`
	}
	return out{id}, nil
}

func (h *handler) asRollbackInstanceRefresh(r *request) (any, error) {
	name := r.p.get("AutoScalingGroupName")
	if name == "" {
		return nil, errMissing(r.service, "AutoScalingGroupName")
	}
	id, err := h.b.RollbackInstanceRefresh(name)
	if err != nil {
		return nil, err
	}
	type out struct {
		ID string `xml:"InstanceRefreshId"`
	}
	return out{id}, nil
}
