package awsapi

import (
	"github.com/gameday-dev/gameday/sandbox/sim"
)

// Auto Scaling processes: SuspendProcesses, ResumeProcesses and
// DescribeScalingProcessTypes (botocore autoscaling 2011-01-01:
// ScalingProcessQuery in, ProcessesType out; Auto Scaling API reference).

// ProcessBackend is the part of Backend that suspends and resumes a
// group's processes (*sim.Region implements it).
type ProcessBackend interface {
	// SuspendProcesses suspends names (every process when empty).
	SuspendProcesses(group string, names []string) error
	// ResumeProcesses resumes names (every suspended one when empty).
	ResumeProcesses(group string, names []string) error
}

func init() {
	autoscalingActions["SuspendProcesses"] = actionDef{fn: (*handler).asSuspendProcesses, mutating: true}
	autoscalingActions["ResumeProcesses"] = actionDef{fn: (*handler).asResumeProcesses, mutating: true}
	autoscalingActions["DescribeScalingProcessTypes"] = actionDef{fn: (*handler).asDescribeScalingProcessTypes}
	notes := actionNotes[ServiceAutoScaling]
	notes["SuspendProcesses"] = "The nine processes of the API reference (none named: all), reason \"User suspended at …\"; the group honours Launch, Terminate, HealthCheck, ReplaceUnhealthy, AddToLoadBalancer, AlarmNotification, AZRebalance and InstanceRefresh (a refresh starts no batch); the sandbox has no scheduled actions. Unknown names are a ValidationError."
	notes["ResumeProcesses"] = "Resumes the named (or all) processes; the group catches up at once (launches what Launch held back, replaces members marked unhealthy)."
	notes["DescribeScalingProcessTypes"] = "The nine process names, sorted as AWS lists them."
}

// asgSuspendedList is SuspendedProcesses: always sent, empty or not (as
// AWS does; boto3 then shows an empty list rather than no key).
type asgSuspendedList struct {
	Members []asgSuspended `xml:"member"`
}

type asgSuspended struct {
	ProcessName      string `xml:"ProcessName"`
	SuspensionReason string `xml:"SuspensionReason"`
}

func suspendedXML(ps []sim.SuspendedProcess) asgSuspendedList {
	var out asgSuspendedList
	for _, p := range ps {
		out.Members = append(out.Members, asgSuspended{ProcessName: p.Name, SuspensionReason: p.Reason})
	}
	return out
}

// processQuery reads ScalingProcessQuery: AutoScalingGroupName (required)
// and ScalingProcesses.member.N (omitted: every process).
func processQuery(r *request) (string, []string, error) {
	name := r.p.get("AutoScalingGroupName")
	if name == "" {
		return "", nil, errMissing(r.service, "AutoScalingGroupName")
	}
	return name, r.p.list("ScalingProcesses.member"), nil
}

func (h *handler) asSuspendProcesses(r *request) (any, error) {
	name, procs, err := processQuery(r)
	if err != nil {
		return nil, err
	}
	return nil, h.b.SuspendProcesses(name, procs)
}

func (h *handler) asResumeProcesses(r *request) (any, error) {
	name, procs, err := processQuery(r)
	if err != nil {
		return nil, err
	}
	return nil, h.b.ResumeProcesses(name, procs)
}

func (h *handler) asDescribeScalingProcessTypes(*request) (any, error) {
	type proc struct {
		ProcessName string `xml:"ProcessName"`
	}
	type out struct {
		Processes []proc `xml:"Processes>member"`
	}
	var o out
	for _, n := range sim.ScalingProcessTypes() {
		o.Processes = append(o.Processes, proc{n})
	}
	return o, nil
}

func (d dryBackend) SuspendProcesses(string, []string) error { return errNotDryRunnable }
func (d dryBackend) ResumeProcesses(string, []string) error  { return errNotDryRunnable }
