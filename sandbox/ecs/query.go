package ecs

import (
	"net/http"
	"strings"

	"github.com/gameday-dev/gameday/sandbox/sim"
)

// taskOf resolves a task id or ARN within cluster c; s.mu is held.
func (s *Service) taskOf(c *cluster, ref string) (*task, bool) {
	arn := ref
	if !strings.HasPrefix(ref, "arn:") {
		arn = s.arn("task/" + c.name + "/" + ref)
	}
	t, ok := s.tasks[arn]
	if !ok || t.clusterArn != c.arn {
		return nil, false
	}
	return t, true
}

// DescribeTasks describes up to 100 tasks of a cluster by id or ARN;
// unknown ones are failures with reason MISSING (ECS API reference,
// DescribeTasks). Tags come back only when include has "TAGS", as on ECS.
func (s *Service) DescribeTasks(cluster string, refs []string, include []string) ([]Task, []Failure, error) {
	if len(refs) == 0 {
		return nil, nil, errInvalid("Tasks cannot be empty.")
	}
	if len(refs) > 100 {
		return nil, nil, errInvalid("Tasks cannot have more than 100 elements")
	}
	for _, inc := range include {
		if inc != "TAGS" {
			return nil, nil, errInvalid("Invalid include value %q: TAGS.", inc)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.clusterOf(cluster)
	if err != nil {
		return nil, nil, err
	}
	s.pruneLocked()
	out, fails := []Task{}, []Failure{}
	for _, r := range refs {
		t, ok := s.taskOf(c, r)
		if !ok {
			arn := r
			if !strings.HasPrefix(r, "arn:") {
				arn = s.arn("task/" + c.name + "/" + r)
			}
			fails = append(fails, Failure{Arn: arn, Reason: "MISSING"})
			continue
		}
		out = append(out, s.taskView(t, contains(include, "TAGS")))
	}
	return out, fails, nil
}

// StopTask asks a task to stop: desiredStatus STOPPED, stopCode
// UserInitiated, SIGTERM to its containers, SIGKILL after their
// stopTimeout. A task already stopping keeps its first stop code.
func (s *Service) StopTask(cluster, ref, reason string) (Task, error) {
	if ref == "" {
		return Task{}, errInvalid("Task can not be blank.")
	}
	if len(reason) > 255 {
		return Task{}, errInvalid("reason must be at most 255 characters.")
	}
	s.mu.Lock()
	c, err := s.clusterOf(cluster)
	if err != nil {
		s.mu.Unlock()
		return Task{}, err
	}
	t, ok := s.taskOf(c, ref)
	s.mu.Unlock()
	if !ok {
		return Task{}, errInvalid("The referenced task was not found.")
	}
	if reason == "" {
		reason = "Task stopped by user"
	}
	s.requestStop(t, StopUserInitiated, reason)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.taskView(t, true), nil
}

// ListTasksInput filters ListTasks.
type ListTasksInput struct {
	Cluster, Family, StartedBy, DesiredStatus, LaunchType, ServiceName, ContainerInstance string
}

// ListTasks lists task ARNs, oldest first, filtered as ECS does: by default
// those whose desiredStatus is RUNNING (ECS API reference, ListTasks).
func (s *Service) ListTasks(in ListTasksInput) ([]string, error) {
	switch in.DesiredStatus {
	case "":
		in.DesiredStatus = "RUNNING"
	case "RUNNING", "PENDING", "STOPPED":
	default:
		return nil, errInvalid("Invalid desiredStatus %q: RUNNING, PENDING or STOPPED.", in.DesiredStatus)
	}
	switch in.LaunchType {
	case "", "EC2", "FARGATE", "EXTERNAL":
	default:
		return nil, errInvalid("Invalid launchType %q: EC2, FARGATE or EXTERNAL.", in.LaunchType)
	}
	if in.Family != "" && in.ServiceName != "" {
		return nil, errInvalid("Family and serviceName cannot be specified together.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.clusterOf(in.Cluster)
	if err != nil {
		return nil, err
	}
	if in.ServiceName != "" {
		return nil, &sim.APIError{Code: "ServiceNotFoundException", Message: "Service not found.", Status: http.StatusBadRequest}
	}
	s.pruneLocked()
	out := []string{}
	if in.ContainerInstance != "" {
		return out, nil // no container instances in the sandbox
	}
	for _, a := range s.order {
		t := s.tasks[a]
		switch {
		case t.clusterArn != c.arn,
			in.Family != "" && t.family != in.Family,
			in.StartedBy != "" && t.view.StartedBy != in.StartedBy,
			in.LaunchType != "" && t.view.LaunchType != in.LaunchType:
			continue
		}
		// PENDING lists tasks not yet running whose desired status is RUNNING.
		want := in.DesiredStatus
		switch {
		case want == "PENDING" && (t.view.DesiredStatus != "RUNNING" || t.view.LastStatus == StatusRunning):
			continue
		case want != "PENDING" && t.view.DesiredStatus != want:
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

// Live counts the tasks not yet STOPPED, across clusters.
func (s *Service) Live() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.tasks {
		if t.view.LastStatus != StatusStopped {
			n++
		}
	}
	return n
}

// --- tags ---

// TagResource adds or replaces tags on a cluster, task or task definition.
func (s *Service) TagResource(arn string, tags []Tag) error {
	if len(tags) == 0 {
		return errInvalid("Tags cannot be empty.")
	}
	if err := checkTags(tags); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.tagsOf(arn)
	if err != nil {
		return err
	}
	merged := mergeTags(*p, tags)
	if len(merged) > 50 {
		return errInvalid("Tags cannot be more than 50.")
	}
	*p = merged
	return nil
}

// UntagResource removes tags by key.
func (s *Service) UntagResource(arn string, keys []string) error {
	if len(keys) == 0 {
		return errInvalid("TagKeys cannot be empty.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.tagsOf(arn)
	if err != nil {
		return err
	}
	var out []Tag
	for _, t := range *p {
		if !contains(keys, *t.Key) {
			out = append(out, t)
		}
	}
	*p = copyTags(out)
	return nil
}

// ListTagsForResource returns a resource's tags.
func (s *Service) ListTagsForResource(arn string) ([]Tag, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.tagsOf(arn)
	if err != nil {
		return nil, err
	}
	return copyTags(*p), nil
}

// tagsOf finds a resource's tag list; s.mu is held. Unknown ARNs are
// InvalidParameterException (ECS answers "The specified … is not valid"),
// an unknown cluster ClusterNotFoundException.
func (s *Service) tagsOf(arn string) (*[]Tag, error) {
	switch {
	case strings.HasPrefix(arn, s.arn("cluster/")):
		c, ok := s.clusters[strings.TrimPrefix(arn, s.arn("cluster/"))]
		if !ok {
			return nil, errClusterNotFound()
		}
		return &c.tags, nil
	case strings.HasPrefix(arn, s.arn("task/")):
		t, ok := s.tasks[arn]
		if !ok {
			return nil, errInvalid("The specified task is stopped or does not exist.")
		}
		return &t.view.Tags, nil
	case strings.HasPrefix(arn, s.arn("task-definition/")):
		td, ok := s.taskDefOf(arn)
		if !ok {
			return nil, errInvalid("The specified task definition does not exist.")
		}
		return s.tdTags[td.TaskDefinitionArn], nil
	}
	return nil, errInvalid("The ARN %s is not a valid Amazon ECS resource ARN in this account and region.", arn)
}
