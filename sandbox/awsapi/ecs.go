package awsapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gameday-dev/gameday/sandbox/ecs"
	"github.com/gameday-dev/gameday/sandbox/sim"
)

// Amazon ECS (API 2014-11-13) over awsJson1_1, the protocol of its model
// (botocore ecs/2014-11-13/service-2.json: "protocol": "json",
// "jsonVersion": "1.1", "targetPrefix": "AmazonEC2ContainerServiceV20141113"):
// POST / with X-Amz-Target PREFIX.Action and a JSON object body, answered
// with a JSON object (Content-Type application/x-amz-json-1.1); errors are
// HTTP 400 (500 for ServerException) with {"__type": CODE, "message": …},
// as the awsJson1_1 protocol spec of Smithy gives them. The model lives in
// sandbox/ecs (real processes); this file is the wire.

// ServiceECS is ECS's SigV4 signing name; ecsTarget its X-Amz-Target prefix.
const (
	ServiceECS = "ecs"
	VersionECS = "2014-11-13"
	ecsTarget  = "AmazonEC2ContainerServiceV20141113."
)

// ECSBackend is the sandbox's ECS; *ecs.Service implements it.
type ECSBackend interface {
	RegisterTaskDefinition(in ecs.RegisterTaskDefinitionInput) (ecs.TaskDefinition, []ecs.Tag, error)
	DescribeTaskDefinition(ref string) (ecs.TaskDefinition, []ecs.Tag, error)
	DeregisterTaskDefinition(ref string) (ecs.TaskDefinition, error)
	RunTask(in ecs.RunTaskInput) ([]ecs.Task, []ecs.Failure, error)
	DescribeTasks(cluster string, refs, include []string) ([]ecs.Task, []ecs.Failure, error)
	StopTask(cluster, ref, reason string) (ecs.Task, error)
	ListTasks(in ecs.ListTasksInput) ([]string, error)
	CreateCluster(name string, tags []ecs.Tag) (ecs.Cluster, error)
	DescribeClusters(refs []string) ([]ecs.Cluster, []ecs.Failure, error)
	ClusterArns() []string
	TagResource(arn string, tags []ecs.Tag) error
	UntagResource(arn string, keys []string) error
	ListTagsForResource(arn string) ([]ecs.Tag, error)
}

// WithECS serves ECS from e (without it, ECS calls are UnknownOperation).
func WithECS(e ECSBackend) Option { return func(h *handler) { h.ecs = e } }

var ecsActions = map[string]actionDef{
	"RegisterTaskDefinition":   {fn: (*handler).ecsRegisterTaskDefinition, mutating: true},
	"DescribeTaskDefinition":   {fn: (*handler).ecsDescribeTaskDefinition},
	"DeregisterTaskDefinition": {fn: (*handler).ecsDeregisterTaskDefinition, mutating: true},
	"RunTask":                  {fn: (*handler).ecsRunTask, mutating: true},
	"DescribeTasks":            {fn: (*handler).ecsDescribeTasks},
	"StopTask":                 {fn: (*handler).ecsStopTask, mutating: true},
	"ListTasks":                {fn: (*handler).ecsListTasks},
	"CreateCluster":            {fn: (*handler).ecsCreateCluster, mutating: true},
	"DescribeClusters":         {fn: (*handler).ecsDescribeClusters},
	"ListClusters":             {fn: (*handler).ecsListClusters},
	"TagResource":              {fn: (*handler).ecsTagResource, mutating: true},
	"UntagResource":            {fn: (*handler).ecsUntagResource, mutating: true},
	"ListTagsForResource":      {fn: (*handler).ecsListTagsForResource},
}

// ListTasks and ListClusters: maxResults 1–100, 100 without it, nextToken
// (ECS API reference).
var pageECS = pageSpec{size: "maxResults", token: "nextToken", min: 1, max: 100, def: 100}

func init() {
	serviceVersion[ServiceECS] = VersionECS
	actions[ServiceECS] = ecsActions
	paged[ServiceECS] = map[string]pageSpec{"ListTasks": pageECS, "ListClusters": pageECS}
	actionNotes[ServiceECS] = map[string]string{
		"RegisterTaskDefinition":   "Revisions per family; up to 10 containers (name, image as a label, entryPoint, command, environment, essential, stopTimeout 0–120 s, cpu/memory); networkMode, requiresCompatibilities, task cpu/memory (\"1024\" or \"1 vCPU\"). FARGATE needs awsvpc and a valid Fargate cpu/memory pair (ClientException otherwise); compatibilities says where it can run. Volumes, port mappings, secrets, logging are not modelled. At most 1000 revisions per family and 10000 in all (ClientException).",
		"DescribeTaskDefinition":   "By family (latest ACTIVE), family:revision or ARN; INACTIVE revisions by revision; tags with include TAGS. ClientException for an unknown one.",
		"DeregisterTaskDefinition": "family:revision or ARN; the revision turns INACTIVE (running tasks go on, RunTask refuses it).",
		"RunTask":                  "Real processes: each container runs the sandbox's worker executable (the gameday binary; the image is only a label) with its command (after containerOverrides) as arguments and the definition's and overrides' environment, plus AWS_REGION, AWS_DEFAULT_REGION, AWS_EXECUTION_ENV and this host's PATH/HOME/TMPDIR; in its own process group, killed with the sandbox. Lifecycle PROVISIONING → PENDING → RUNNING → STOPPING → DEPROVISIONING → STOPPED (ecs.step_delay per step); an essential container's exit stops the task (EssentialContainerExited, exit code as Docker: 128+signal), a process that cannot start is TaskFailedToStart. launchType FARGATE or EC2 (default EC2; the cluster always has room), count 1–10, awsvpc subnets must exist in the sandbox EC2 (InvalidParameterException), the ENI address is a 10.0.x.x label in that subnet, never dialled. clientToken idempotent per cluster (ConflictException on other parameters). At most ecs.max_tasks (64) tasks not STOPPED: ThrottlingException beyond. The processes are not network-isolated: they reach what this host reaches.",
		"DescribeTasks":            "Up to 100 ids or ARNs of one cluster; unknown ones are failures (MISSING). Stopped tasks stay describable for ecs.stopped_retention (1 h; at most ecs.max_stopped). Tags with include TAGS only, as ECS.",
		"StopTask":                 "desiredStatus STOPPED, stopCode UserInitiated, reason (default \"Task stopped by user\"); SIGTERM to each container's process group, SIGKILL after its stopTimeout (ecs.stop_timeout: fast 2 s, aws 30 s). A task already stopping keeps its first stop code.",
		"ListTasks":                "Task ARNs oldest first; desiredStatus RUNNING by default (PENDING: not yet running, STOPPED: stopped), family, startedBy, launchType filters; serviceName is ServiceNotFoundException (no services), containerInstance lists nothing.",
		"CreateCluster":            "Creates a cluster (idempotent by name) with tags; capacity providers FARGATE/FARGATE_SPOT are reported but not modelled. The sandbox starts with one cluster, ecs.cluster (\"gameday\").",
		"DescribeClusters":         "By name or ARN (none: \"default\"), with running and pending task counts; unknown ones are failures (MISSING); tags with include TAGS.",
		"ListClusters":             "The active clusters' ARNs.",
		"TagResource":              "Clusters, tasks (not yet forgotten) and task definitions; at most 50 tags, aws: keys refused.",
		"UntagResource":            "Removes tags by key from the same resources.",
		"ListTagsForResource":      "The tags of a cluster, task or task definition.",
	}
}

// isJSONTarget reports whether a request is an ECS awsJson call.
func isJSONTarget(hr *http.Request) bool {
	return strings.HasPrefix(hr.Header.Get("X-Amz-Target"), ecsTarget)
}

// serveJSON serves an awsJson1_1 call (ECS).
func (h *handler) serveJSON(w http.ResponseWriter, hr *http.Request, reqID string) {
	service := ServiceECS
	target := hr.Header.Get("X-Amz-Target")
	action := strings.TrimPrefix(target, ecsTarget)
	fail := func(err error) { writeJSONAPIError(w, reqID, err) }
	if !isJSONTarget(hr) {
		h.b.RecordAPICall(service, target, false)
		fail(&sim.APIError{Code: "UnknownOperationException", Message: "ECS calls carry X-Amz-Target: " + ecsTarget + "<Action>", Status: http.StatusBadRequest})
		return
	}
	if hr.Method != http.MethodPost {
		h.b.RecordAPICall(service, action, false)
		fail(&sim.APIError{Code: "UnknownOperationException", Message: "awsJson calls are POST", Status: http.StatusBadRequest})
		return
	}
	def, known := actions[service][action]
	h.b.RecordAPICall(service, action, known && def.mutating)
	if !known || h.ecs == nil {
		fail(&sim.APIError{Code: "UnknownOperationException", Message: "gameday sandbox does not implement ecs:" + action, Status: http.StatusBadRequest})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, hr.Body, maxBody))
	if err != nil {
		fail(&sim.APIError{Code: "SerializationException", Message: err.Error(), Status: http.StatusBadRequest})
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		fail(&sim.APIError{Code: "SerializationException", Message: "the request body is not a JSON object: " + err.Error(), Status: http.StatusBadRequest})
		return
	}
	// The top-level scalars also go into params, so paging (nextToken
	// sealed over the other parameters) works as for the query services.
	form := url.Values{}
	for k, v := range top {
		var sv any
		if json.Unmarshal(v, &sv) != nil {
			continue
		}
		switch x := sv.(type) {
		case string:
			form.Set(k, x)
		case float64:
			form.Set(k, strconv.FormatFloat(x, 'f', -1, 64))
		case bool:
			form.Set(k, strconv.FormatBool(x))
		case nil:
		default:
			form.Set(k, string(v)) // lists and objects, as JSON, for the digest
		}
	}
	if err := h.faults.check(service, action); err != nil {
		fail(err)
		return
	}
	out, err := def.fn(h, &request{service: service, action: action, p: params{form}, id: reqID, accessKey: accessKeyOf(hr), body: body})
	if err != nil {
		fail(err)
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		fail(err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/x-amz-json-1.1")
	hd.Set("x-amzn-RequestId", reqID)
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// writeJSONAPIError writes an awsJson1_1 error: {"__type", "message"} and
// the status (the SDKs read the code from __type; botocore also reads
// x-amzn-ErrorType, which is set too).
func writeJSONAPIError(w http.ResponseWriter, reqID string, err error) {
	ae := apiError(ServiceECS, err)
	if ae.Code == "InternalFailure" {
		ae.Code = "ServerException"
	}
	w.Header().Set("x-amzn-ErrorType", ae.Code)
	writeJSONError(w, ae.Status, "application/x-amz-json-1.1", reqID, ae.Code, ae.Message)
}

// decode reads the request's JSON body into v; a shape mismatch is
// ECS's SerializationException.
func (r *request) decode(v any) error {
	if err := json.Unmarshal(r.body, v); err != nil {
		return &sim.APIError{Code: "SerializationException", Message: fmt.Sprintf("cannot read the %s request: %v", r.action, err), Status: http.StatusBadRequest}
	}
	return nil
}

func (h *handler) ecsRegisterTaskDefinition(r *request) (any, error) {
	var in ecs.RegisterTaskDefinitionInput
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	td, tags, err := h.ecs.RegisterTaskDefinition(in)
	if err != nil {
		return nil, err
	}
	return struct {
		TaskDefinition ecs.TaskDefinition `json:"taskDefinition"`
		Tags           []ecs.Tag          `json:"tags"`
	}{td, tags}, nil
}

func (h *handler) ecsDescribeTaskDefinition(r *request) (any, error) {
	var in struct {
		TaskDefinition string   `json:"taskDefinition"`
		Include        []string `json:"include"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if in.TaskDefinition == "" {
		return nil, &sim.APIError{Code: "ClientException", Message: "TaskDefinition can not be blank.", Status: http.StatusBadRequest}
	}
	td, tags, err := h.ecs.DescribeTaskDefinition(in.TaskDefinition)
	if err != nil {
		return nil, err
	}
	out := struct {
		TaskDefinition ecs.TaskDefinition `json:"taskDefinition"`
		Tags           []ecs.Tag          `json:"tags,omitempty"`
	}{TaskDefinition: td}
	for _, i := range in.Include {
		if i == "TAGS" {
			out.Tags = tags
		}
	}
	return out, nil
}

func (h *handler) ecsDeregisterTaskDefinition(r *request) (any, error) {
	var in struct {
		TaskDefinition string `json:"taskDefinition"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	td, err := h.ecs.DeregisterTaskDefinition(in.TaskDefinition)
	if err != nil {
		return nil, err
	}
	return struct {
		TaskDefinition ecs.TaskDefinition `json:"taskDefinition"`
	}{td}, nil
}

func (h *handler) ecsRunTask(r *request) (any, error) {
	var in ecs.RunTaskInput
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	tasks, fails, err := h.ecs.RunTask(in)
	if err != nil {
		return nil, err
	}
	return struct {
		Tasks    []ecs.Task    `json:"tasks"`
		Failures []ecs.Failure `json:"failures"`
	}{tasks, fails}, nil
}

func (h *handler) ecsDescribeTasks(r *request) (any, error) {
	var in struct {
		Cluster string   `json:"cluster"`
		Tasks   []string `json:"tasks"`
		Include []string `json:"include"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	tasks, fails, err := h.ecs.DescribeTasks(in.Cluster, in.Tasks, in.Include)
	if err != nil {
		return nil, err
	}
	return struct {
		Tasks    []ecs.Task    `json:"tasks"`
		Failures []ecs.Failure `json:"failures"`
	}{tasks, fails}, nil
}

func (h *handler) ecsStopTask(r *request) (any, error) {
	var in struct {
		Cluster string `json:"cluster"`
		Task    string `json:"task"`
		Reason  string `json:"reason"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	t, err := h.ecs.StopTask(in.Cluster, in.Task, in.Reason)
	if err != nil {
		return nil, err
	}
	return struct {
		Task ecs.Task `json:"task"`
	}{t}, nil
}

func (h *handler) ecsListTasks(r *request) (any, error) {
	var in struct {
		Cluster           string `json:"cluster"`
		ContainerInstance string `json:"containerInstance"`
		Family            string `json:"family"`
		StartedBy         string `json:"startedBy"`
		ServiceName       string `json:"serviceName"`
		DesiredStatus     string `json:"desiredStatus"`
		LaunchType        string `json:"launchType"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	arns, err := h.ecs.ListTasks(ecs.ListTasksInput{Cluster: in.Cluster, Family: in.Family, StartedBy: in.StartedBy,
		DesiredStatus: in.DesiredStatus, LaunchType: in.LaunchType, ServiceName: in.ServiceName, ContainerInstance: in.ContainerInstance})
	if err != nil {
		return nil, err
	}
	page, next, err := pageOf(r, arns)
	if err != nil {
		return nil, err
	}
	return struct {
		TaskArns  []string `json:"taskArns"`
		NextToken string   `json:"nextToken,omitempty"`
	}{page, next}, nil
}

func (h *handler) ecsCreateCluster(r *request) (any, error) {
	var in struct {
		ClusterName string    `json:"clusterName"`
		Tags        []ecs.Tag `json:"tags"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	c, err := h.ecs.CreateCluster(in.ClusterName, in.Tags)
	if err != nil {
		return nil, err
	}
	return struct {
		Cluster ecs.Cluster `json:"cluster"`
	}{c}, nil
}

func (h *handler) ecsDescribeClusters(r *request) (any, error) {
	var in struct {
		Clusters []string `json:"clusters"`
		Include  []string `json:"include"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	cs, fails, err := h.ecs.DescribeClusters(in.Clusters)
	if err != nil {
		return nil, err
	}
	withTags := false
	for _, i := range in.Include {
		withTags = withTags || i == "TAGS"
	}
	if !withTags {
		for i := range cs {
			cs[i].Tags = nil
		}
	}
	return struct {
		Clusters []ecs.Cluster `json:"clusters"`
		Failures []ecs.Failure `json:"failures"`
	}{cs, fails}, nil
}

func (h *handler) ecsListClusters(r *request) (any, error) {
	if err := r.decode(&struct{}{}); err != nil {
		return nil, err
	}
	page, next, err := pageOf(r, h.ecs.ClusterArns())
	if err != nil {
		return nil, err
	}
	if page == nil {
		page = []string{}
	}
	return struct {
		ClusterArns []string `json:"clusterArns"`
		NextToken   string   `json:"nextToken,omitempty"`
	}{page, next}, nil
}

func (h *handler) ecsTagResource(r *request) (any, error) {
	var in struct {
		ResourceArn string    `json:"resourceArn"`
		Tags        []ecs.Tag `json:"tags"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	return struct{}{}, h.ecs.TagResource(in.ResourceArn, in.Tags)
}

func (h *handler) ecsUntagResource(r *request) (any, error) {
	var in struct {
		ResourceArn string   `json:"resourceArn"`
		TagKeys     []string `json:"tagKeys"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	return struct{}{}, h.ecs.UntagResource(in.ResourceArn, in.TagKeys)
}

func (h *handler) ecsListTagsForResource(r *request) (any, error) {
	var in struct {
		ResourceArn string `json:"resourceArn"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	tags, err := h.ecs.ListTagsForResource(in.ResourceArn)
	if err != nil {
		return nil, err
	}
	return struct {
		Tags []ecs.Tag `json:"tags"`
	}{tags}, nil
}
