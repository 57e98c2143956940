package ecs

import (
	"encoding/json"
	"strconv"
	"strings"
)

// fargateSizes lists the task sizes Fargate accepts: CPU units → memory
// MiB (ECS developer guide, "Task CPU and memory"; the ranges step 1 GiB
// up to 4 vCPU, 4 GiB at 8 vCPU and 8 GiB at 16 vCPU).
func fargateMemoryOK(cpu, mem int) bool {
	in := func(lo, hi, step int) bool { return mem >= lo && mem <= hi && (mem-lo)%step == 0 }
	switch cpu {
	case 256:
		return mem == 512 || mem == 1024 || mem == 2048
	case 512:
		return in(1024, 4096, 1024)
	case 1024:
		return in(2048, 8192, 1024)
	case 2048:
		return in(4096, 16384, 1024)
	case 4096:
		return in(8192, 30720, 1024)
	case 8192:
		return in(16384, 61440, 4096)
	case 16384:
		return in(32768, 122880, 8192)
	}
	return false
}

// cpuUnits reads a task cpu ("1024" or "1 vCPU"); memMiB a task memory
// ("2048" or "2 GB"), as RegisterTaskDefinition accepts them.
func cpuUnits(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if v, ok := strings.CutSuffix(strings.ToLower(s), "vcpu"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return int(f * 1024), err == nil && f > 0 && f <= 192
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n > 0 && n <= 196608
}

func memMiB(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if v, ok := strings.CutSuffix(strings.ToLower(s), "gb"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return int(f * 1024), err == nil && f > 0 && f <= 1024
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n > 0 && n <= 1<<20
}

// RegisterTaskDefinition registers the next revision of a family. The
// checks and their messages follow the ECS API reference
// (RegisterTaskDefinition, ContainerDefinition) and the errors ECS answers.
func (s *Service) RegisterTaskDefinition(in RegisterTaskDefinitionInput) (TaskDefinition, []Tag, error) {
	if !validName(in.Family) {
		return TaskDefinition{}, nil, errClient("Family contains invalid characters: up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed.")
	}
	if len(in.ContainerDefinitions) == 0 {
		return TaskDefinition{}, nil, errClient("Container list cannot be empty.")
	}
	if len(in.ContainerDefinitions) > 10 {
		return TaskDefinition{}, nil, errClient("Too many containers: a task definition has at most 10.")
	}
	if err := checkTags(in.Tags); err != nil {
		return TaskDefinition{}, nil, err
	}
	names := map[string]bool{}
	essential := false
	for i, c := range in.ContainerDefinitions {
		if !validName(c.Name) {
			return TaskDefinition{}, nil, errClient("Container.name should not be null or empty and may contain up to 255 letters, numbers, hyphens and underscores (container %d).", i+1)
		}
		if names[c.Name] {
			return TaskDefinition{}, nil, errClient("Duplicate container name %s.", c.Name)
		}
		names[c.Name] = true
		if c.Image == "" || len(c.Image) > 4096 {
			return TaskDefinition{}, nil, errClient("Container.image should not be null or empty.")
		}
		if c.Essential == nil || *c.Essential {
			essential = true
		}
		if c.StopTimeout != nil && (*c.StopTimeout < 0 || *c.StopTimeout > 120) {
			return TaskDefinition{}, nil, errClient("Container %s: stopTimeout must be between 0 and 120 seconds.", c.Name)
		}
		if err := checkArgs(c.Name, c.EntryPoint, c.Command, c.Environment); err != nil {
			return TaskDefinition{}, nil, err
		}
	}
	if !essential {
		return TaskDefinition{}, nil, errClient("Task definition does not have any essential container.")
	}
	switch in.NetworkMode {
	case "", "bridge", "host", "awsvpc", "none":
	default:
		return TaskDefinition{}, nil, errInvalid("Invalid networkMode %q: bridge, host, awsvpc or none.", in.NetworkMode)
	}
	cpu, mem := 0, 0
	if in.Cpu != "" {
		var ok bool
		if cpu, ok = cpuUnits(in.Cpu); !ok {
			return TaskDefinition{}, nil, errClient("Invalid 'cpu' setting for task.")
		}
	}
	if in.Memory != "" {
		var ok bool
		if mem, ok = memMiB(in.Memory); !ok {
			return TaskDefinition{}, nil, errClient("Invalid 'memory' setting for task.")
		}
	}
	fargateOK := in.NetworkMode == "awsvpc" && cpu > 0 && mem > 0 && fargateMemoryOK(cpu, mem)
	for _, c := range in.RequiresCompatibilities {
		switch c {
		case "EC2", "EXTERNAL":
		case "FARGATE":
			if in.NetworkMode != "awsvpc" {
				return TaskDefinition{}, nil, errClient("Fargate only supports network mode 'awsvpc'.")
			}
			if cpu == 0 || mem == 0 {
				return TaskDefinition{}, nil, errClient("Fargate requires that 'cpu' and 'memory' be defined at the task level.")
			}
			if !fargateOK {
				return TaskDefinition{}, nil, errClient("No Fargate configuration exists for given values: %d CPU, %d memory. See the Amazon ECS documentation for the valid values.", cpu, mem)
			}
		default:
			return TaskDefinition{}, nil, errInvalid("Invalid requiresCompatibilities value %q: EC2, FARGATE or EXTERNAL.", c)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.families) >= 1000 && s.families[in.Family] == nil {
		return TaskDefinition{}, nil, errClient("Too many task definition families in this sandbox (1000).")
	}
	if len(s.tdTags) >= 10000 {
		return TaskDefinition{}, nil, errClient("Too many task definition revisions in this sandbox (10000).")
	}
	revs := s.families[in.Family]
	if len(revs) >= 1000 {
		return TaskDefinition{}, nil, errClient("Too many revisions of family %s in this sandbox (1000).", in.Family)
	}
	rev := int32(len(revs) + 1)
	td := &TaskDefinition{
		TaskDefinitionArn: s.arn("task-definition/" + in.Family + ":" + strconv.Itoa(int(rev))),
		Family:            in.Family, Revision: rev, Status: "ACTIVE",
		ContainerDefinitions: cloneContainers(in.ContainerDefinitions),
		TaskRoleArn:          in.TaskRoleArn, ExecutionRoleArn: in.ExecutionRoleArn,
		NetworkMode: in.NetworkMode, RequiresCompatibilities: in.RequiresCompatibilities,
		Cpu: in.Cpu, Memory: in.Memory, RegisteredAt: at(s.now()),
		RegisteredBy:    "arn:aws:iam::" + s.region.AccountID() + ":root",
		Compatibilities: []string{"EC2"},
	}
	if in.Cpu != "" {
		td.Cpu = strconv.Itoa(cpu)
	}
	if in.Memory != "" {
		td.Memory = strconv.Itoa(mem)
	}
	if td.NetworkMode == "" {
		td.NetworkMode = "bridge" // ECS's default on Linux
	}
	if fargateOK {
		td.Compatibilities = append(td.Compatibilities, "FARGATE")
	}
	for i := range td.ContainerDefinitions {
		if td.ContainerDefinitions[i].Environment == nil {
			td.ContainerDefinitions[i].Environment = []KeyValuePair{}
		}
		if td.ContainerDefinitions[i].Essential == nil {
			t := true
			td.ContainerDefinitions[i].Essential = &t
		}
	}
	s.families[in.Family] = append(revs, td)
	tags := copyTags(in.Tags)
	s.tdTags[td.TaskDefinitionArn] = &tags
	return cloneTD(td), copyTags(in.Tags), nil
}

// checkArgs bounds a container's command and environment.
func checkArgs(name string, entry, cmd []string, env []KeyValuePair) error {
	if len(entry)+len(cmd) > 1000 {
		return errClient("Container %s: too many command arguments.", name)
	}
	n := 0
	for _, a := range append(append([]string(nil), entry...), cmd...) {
		n += len(a)
	}
	if len(env) > 1000 {
		return errClient("Container %s: too many environment variables.", name)
	}
	for _, e := range env {
		if e.Name == nil || *e.Name == "" || strings.ContainsAny(*e.Name, "=\x00") {
			return errClient("Container %s: an environment variable has no valid name.", name)
		}
		n += len(*e.Name)
		if e.Value != nil {
			if strings.ContainsRune(*e.Value, 0) {
				return errClient("Container %s: environment variable %s holds a NUL.", name, *e.Name)
			}
			n += len(*e.Value)
		}
	}
	if n > 64<<10 {
		return errClient("Container %s: command and environment exceed 64 KiB.", name)
	}
	return nil
}

func cloneContainers(cs []ContainerDefinition) []ContainerDefinition {
	b, _ := json.Marshal(cs)
	var out []ContainerDefinition
	_ = json.Unmarshal(b, &out)
	return out
}

func cloneTD(td *TaskDefinition) TaskDefinition {
	out := *td
	out.ContainerDefinitions = cloneContainers(td.ContainerDefinitions)
	return out
}

// taskDefOf resolves "family", "family:revision" or an ARN; s.mu is held.
// A bare family is its latest ACTIVE revision.
func (s *Service) taskDefOf(ref string) (*TaskDefinition, bool) {
	if strings.HasPrefix(ref, "arn:") {
		i := strings.Index(ref, ":task-definition/")
		if i < 0 || !strings.HasPrefix(ref, s.arn("")) {
			return nil, false
		}
		ref = ref[i+len(":task-definition/"):]
	}
	fam, revS, hasRev := strings.Cut(ref, ":")
	revs := s.families[fam]
	if !hasRev {
		for i := len(revs) - 1; i >= 0; i-- {
			if revs[i].Status == "ACTIVE" {
				return revs[i], true
			}
		}
		return nil, false
	}
	rev, err := strconv.Atoi(revS)
	if err != nil || rev < 1 || rev > len(revs) {
		return nil, false
	}
	return revs[rev-1], true
}

// DescribeTaskDefinition describes a revision (INACTIVE ones too, by
// revision), with its tags.
func (s *Service) DescribeTaskDefinition(ref string) (TaskDefinition, []Tag, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	td, ok := s.taskDefOf(ref)
	if !ok {
		return TaskDefinition{}, nil, errClient("Unable to describe task definition.")
	}
	return cloneTD(td), copyTags(*s.tdTags[td.TaskDefinitionArn]), nil
}

// DeregisterTaskDefinition marks a revision INACTIVE: running tasks go on,
// and it can still be described, but not run (ECS API reference).
func (s *Service) DeregisterTaskDefinition(ref string) (TaskDefinition, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !strings.Contains(strings.TrimPrefix(ref, "arn:aws:ecs:"), ":") {
		return TaskDefinition{}, errInvalid("Invalid revision number. Number: %s", ref)
	}
	td, ok := s.taskDefOf(ref)
	if !ok {
		return TaskDefinition{}, errClient("The specified task definition does not exist.")
	}
	if td.Status == "ACTIVE" {
		td.Status = "INACTIVE"
		td.DeregisteredAt = at(s.now())
	}
	return cloneTD(td), nil
}
