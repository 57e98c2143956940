package ecs

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gameday-dev/gameday/internal/childproc"
	"github.com/gameday-dev/gameday/sandbox/sim"
)

// Lifecycle states (ECS developer guide, "Task lifecycle"): the sandbox
// walks PROVISIONING → PENDING → RUNNING → STOPPING → DEPROVISIONING →
// STOPPED, or from PROVISIONING/PENDING straight to DEPROVISIONING when the
// task is stopped or fails before it runs.
const (
	StatusProvisioning   = "PROVISIONING"
	StatusPending        = "PENDING"
	StatusRunning        = "RUNNING"
	StatusStopping       = "STOPPING"
	StatusDeprovisioning = "DEPROVISIONING"
	StatusStopped        = "STOPPED"
)

// Stop codes (the TaskStopCode enum of the ECS model).
const (
	StopTaskFailedToStart        = "TaskFailedToStart"
	StopEssentialContainerExited = "EssentialContainerExited"
	StopUserInitiated            = "UserInitiated"
)

type task struct {
	view       Task // guarded by Service.mu
	clusterArn string
	family     string
	runs       []containerRun
	stopCh     chan struct{}
	stopOnce   sync.Once
	stoppedAt  time.Time
}

type containerRun struct {
	argv        []string
	env         []string
	essential   bool
	stopTimeout time.Duration
}

type tokenEntry struct {
	digest string
	arns   []string
	at     time.Time
}

// RunTask starts count tasks of a task definition (ECS API reference,
// RunTask). Validation errors change nothing.
func (s *Service) RunTask(in RunTaskInput) ([]Task, []Failure, error) {
	count := int32(1)
	if in.Count != nil {
		count = *in.Count
	}
	if count < 1 || count > 10 {
		return nil, nil, errInvalid("count must be between 1 and 10.")
	}
	if in.TaskDefinition == "" {
		return nil, nil, errInvalid("TaskDefinition can not be blank.")
	}
	if len(in.StartedBy) > 128 {
		return nil, nil, errInvalid("startedBy must be at most 128 characters.")
	}
	if len(in.Group) > 255 {
		return nil, nil, errInvalid("group must be at most 255 characters.")
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, nil, err
	}
	if len(in.ClientToken) > 64 || strings.IndexFunc(in.ClientToken, func(r rune) bool { return r < 33 || r > 126 }) >= 0 {
		return nil, nil, errInvalid("clientToken must be up to 64 ASCII characters in the range 33-126.")
	}
	if len(in.CapacityProviderStrategy) > 0 {
		return nil, nil, errInvalid("The gameday sandbox does not model capacity provider strategies: give launchType FARGATE or EC2.")
	}
	launch := in.LaunchType
	switch launch {
	case "":
		launch = "EC2" // ECS's default without a capacity provider strategy
	case "EC2", "FARGATE":
	case "EXTERNAL":
		return nil, nil, errInvalid("The gameday sandbox has no external instances: launchType EXTERNAL is not supported.")
	default:
		return nil, nil, errInvalid("Invalid launchType %q: EC2, FARGATE or EXTERNAL.", in.LaunchType)
	}
	digest := inputDigest(in)

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, nil, &sim.APIError{Code: "ServerException", Message: "the sandbox is closing", Status: http.StatusInternalServerError}
	}
	c, err := s.clusterOf(in.Cluster)
	if err != nil {
		return nil, nil, err
	}
	s.pruneLocked()
	if in.ClientToken != "" {
		key := c.arn + "\x00" + in.ClientToken
		if e, ok := s.tokens[key]; ok {
			if e.digest != digest {
				return nil, nil, &sim.APIError{Code: "ConflictException", Message: "The client token " + in.ClientToken + " was already used with different parameters.", Status: http.StatusBadRequest}
			}
			var out []Task
			for _, a := range e.arns {
				if t, ok := s.tasks[a]; ok {
					out = append(out, s.taskView(t, true))
				}
			}
			return out, []Failure{}, nil
		}
	}
	td, ok := s.taskDefOf(in.TaskDefinition)
	if !ok {
		return nil, nil, errClient("TaskDefinition not found.")
	}
	if td.Status != "ACTIVE" {
		return nil, nil, errClient("TaskDefinition is inactive")
	}
	if launch == "FARGATE" && !contains(td.Compatibilities, "FARGATE") {
		return nil, nil, errInvalid("Task definition does not support launch_type FARGATE.")
	}
	if launch == "EC2" && len(td.RequiresCompatibilities) > 0 && !contains(td.RequiresCompatibilities, "EC2") {
		return nil, nil, errInvalid("Task definition does not support launch_type EC2.")
	}
	var subnets []sim.Subnet
	var assignPublic string
	if td.NetworkMode == "awsvpc" {
		if in.NetworkConfiguration == nil || in.NetworkConfiguration.AwsvpcConfiguration == nil {
			return nil, nil, errInvalid("Network Configuration must be provided when networkMode 'awsvpc' is specified.")
		}
		vpc := in.NetworkConfiguration.AwsvpcConfiguration
		if len(vpc.Subnets) == 0 || len(vpc.Subnets) > 16 {
			return nil, nil, errInvalid("subnets can not be empty and can have at most 16 items.")
		}
		if len(vpc.SecurityGroups) > 5 {
			return nil, nil, errInvalid("securityGroups can have at most 5 items.")
		}
		byID := map[string]sim.Subnet{}
		for _, sn := range s.region.Subnets() {
			byID[sn.ID] = sn
		}
		for _, id := range vpc.Subnets {
			sn, ok := byID[id]
			if !ok {
				// The message ECS relays from EC2 for an unknown subnet.
				return nil, nil, errInvalid("Error retrieving subnet information for [%s]: The subnet ID '%s' does not exist (Service: AmazonEC2; Status Code: 400; Error Code: InvalidSubnetID.NotFound)", id, id)
			}
			subnets = append(subnets, sn)
		}
		switch vpc.AssignPublicIp {
		case "", "DISABLED":
			assignPublic = "DISABLED"
		case "ENABLED":
			if launch != "FARGATE" {
				return nil, nil, errInvalid("Assign public IP is not supported for this launch type.")
			}
			assignPublic = "ENABLED"
		default:
			return nil, nil, errInvalid("Invalid assignPublicIp %q: ENABLED or DISABLED.", vpc.AssignPublicIp)
		}
	} else if in.NetworkConfiguration != nil && in.NetworkConfiguration.AwsvpcConfiguration != nil {
		return nil, nil, errInvalid("Network Configuration is not valid for the given networkMode of this task definition.")
	}
	_ = assignPublic
	cpu, mem := td.Cpu, td.Memory
	var overrides *TaskOverride
	byName := map[string]*ContainerOverride{}
	if in.Overrides != nil {
		o := *in.Overrides
		if len(o.ContainerOverrides) > 10 {
			return nil, nil, errInvalid("containerOverrides can have at most 10 items.")
		}
		for i := range o.ContainerOverrides {
			co := &o.ContainerOverrides[i]
			if co.Name == nil || !hasContainer(td, *co.Name) {
				n := ""
				if co.Name != nil {
					n = *co.Name
				}
				return nil, nil, errInvalid("Override for container named %s is not a container in the TaskDefinition.", n)
			}
			if err := checkArgs(*co.Name, nil, co.Command, co.Environment); err != nil {
				return nil, nil, errInvalid("%s", err.(*sim.APIError).Message)
			}
			byName[*co.Name] = co
		}
		if o.Cpu != nil {
			cpu = *o.Cpu
		}
		if o.Memory != nil {
			mem = *o.Memory
		}
		if o.ContainerOverrides == nil {
			o.ContainerOverrides = []ContainerOverride{}
		}
		overrides = &o
	} else {
		overrides = &TaskOverride{ContainerOverrides: []ContainerOverride{}}
	}
	if launch == "FARGATE" {
		cu, ok1 := cpuUnits(cpu)
		mm, ok2 := memMiB(mem)
		if !ok1 || !ok2 || !fargateMemoryOK(cu, mm) {
			return nil, nil, errInvalid("No Fargate configuration exists for given values: %s CPU, %s memory.", cpu, mem)
		}
		cpu, mem = strconv.Itoa(cu), strconv.Itoa(mm)
	}
	live := 0
	for _, t := range s.tasks {
		if t.view.LastStatus != StatusStopped {
			live++
		}
	}
	if live+int(count) > s.cfg.MaxTasks {
		// ECS's answer at its concurrent task/vCPU quota (service quotas;
		// reported as ThrottlingException "You've reached the limit on the
		// number of tasks you can run concurrently").
		return nil, nil, &sim.APIError{Code: "ThrottlingException", Message: fmt.Sprintf("You've reached the limit on the number of tasks you can run concurrently (gameday sandbox: ecs.max_tasks = %d, %d running).", s.cfg.MaxTasks, live), Status: http.StatusBadRequest}
	}

	now := s.now()
	var out []Task
	var arns []string
	for i := 0; i < int(count); i++ {
		id := newID()
		arn := s.arn("task/" + c.name + "/" + id)
		t := &task{clusterArn: c.arn, family: td.Family, stopCh: make(chan struct{})}
		t.view = Task{
			Attachments: []Attachment{}, ClusterArn: c.arn, Containers: []Container{},
			Cpu: cpu, Memory: mem, CreatedAt: at(now), DesiredStatus: "RUNNING", LastStatus: StatusProvisioning,
			Group: in.Group, LaunchType: launch, Overrides: overrides, StartedBy: in.StartedBy,
			Tags: copyTags(in.Tags), TaskArn: arn, TaskDefinitionArn: td.TaskDefinitionArn, Version: 1,
		}
		if t.view.Group == "" {
			t.view.Group = "family:" + td.Family
		}
		if launch == "FARGATE" {
			t.view.PlatformVersion, t.view.PlatformFamily = "1.4.0", "Linux"
			if in.PlatformVersion != "" && in.PlatformVersion != "LATEST" {
				t.view.PlatformVersion = in.PlatformVersion
			}
		}
		var ip string
		if len(subnets) > 0 {
			sn := subnets[(int(s.nextIP))%len(subnets)]
			ip = s.labelIP(sn.CIDR)
			t.view.AvailabilityZone = sn.AZ
			eni := "eni-" + newID()[:17]
			t.view.Attachments = []Attachment{{Id: newUUID(), Type: "ElasticNetworkInterface", Status: "PRECREATED", Details: []KeyValuePair{
				kv("subnetId", sn.ID), kv("networkInterfaceId", eni), kv("macAddress", macOf(eni)),
				kv("privateDnsName", "ip-"+strings.ReplaceAll(ip, ".", "-")+"."+s.region.RegionName()+".compute.internal"),
				kv("privateIPv4Address", ip),
			}}}
		} else if azs := s.region.Subnets(); len(azs) > 0 {
			t.view.AvailabilityZone = azs[int(s.nextIP)%len(azs)].AZ
			s.nextIP++
		}
		for _, cd := range td.ContainerDefinitions {
			co := byName[cd.Name]
			cmd := cd.Command
			env := envMap(cd.Environment)
			if co != nil {
				if co.Command != nil {
					cmd = co.Command
				}
				env = append(env, envMap(co.Environment)...)
			}
			ctr := Container{ContainerArn: s.arn("container/" + c.name + "/" + id + "/" + newUUID()), TaskArn: arn,
				Name: cd.Name, Image: cd.Image, LastStatus: StatusPending, NetworkInterfaces: []NetworkInterface{},
				Cpu: strconv.Itoa(int(cd.Cpu)), HealthStatus: "UNKNOWN"}
			if cd.Memory != nil {
				ctr.Memory = strconv.Itoa(int(*cd.Memory))
			}
			if ip != "" {
				ctr.NetworkInterfaces = []NetworkInterface{{AttachmentId: t.view.Attachments[0].Id, PrivateIpv4Address: ip}}
			}
			t.view.Containers = append(t.view.Containers, ctr)
			stop := s.cfg.StopTimeout
			if cd.StopTimeout != nil {
				stop = time.Duration(*cd.StopTimeout) * time.Second
			}
			argv := append(append([]string{s.exe}, cd.EntryPoint...), cmd...)
			t.runs = append(t.runs, containerRun{argv: argv, env: s.environ(launch, env), essential: cd.Essential == nil || *cd.Essential, stopTimeout: stop})
		}
		s.tasks[arn] = t
		s.order = append(s.order, arn)
		arns = append(arns, arn)
		out = append(out, s.taskView(t, true))
		s.wg.Add(1)
		az, by := t.view.AvailabilityZone, in.StartedBy
		go func() {
			s.region.RecordEvent("ecs-task", arn, az, "", StatusProvisioning, "startedBy "+by)
			s.lifecycle(t)
		}()
	}
	if in.ClientToken != "" {
		s.tokens[c.arn+"\x00"+in.ClientToken] = tokenEntry{digest: digest, arns: arns, at: now}
	}
	return out, []Failure{}, nil
}

func kv(k, v string) KeyValuePair { return KeyValuePair{Name: &k, Value: &v} }

func macOf(eni string) string {
	h := sha256.Sum256([]byte(eni))
	return fmt.Sprintf("02:%02x:%02x:%02x:%02x:%02x", h[0], h[1], h[2], h[3], h[4])
}

func contains(l []string, v string) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}

func hasContainer(td *TaskDefinition, name string) bool {
	for _, c := range td.ContainerDefinitions {
		if c.Name == name {
			return true
		}
	}
	return false
}

// envMap turns key/value pairs into NAME=value strings.
func envMap(kvs []KeyValuePair) []string {
	var out []string
	for _, e := range kvs {
		if e.Name == nil {
			continue
		}
		v := ""
		if e.Value != nil {
			v = *e.Value
		}
		out = append(out, *e.Name+"="+v)
	}
	return out
}

// environ is a container's environment: what ECS itself sets (AWS_REGION,
// AWS_DEFAULT_REGION, AWS_EXECUTION_ENV), PATH, HOME and TMPDIR of this
// host so the program runs, then the definition's and the overrides'
// variables (later ones win, as ECS overrides do). Nothing else of the
// sandbox's environment leaks in (a container does not see its host's).
func (s *Service) environ(launch string, env []string) []string {
	out := []string{"AWS_REGION=" + s.region.RegionName(), "AWS_DEFAULT_REGION=" + s.region.RegionName(), "AWS_EXECUTION_ENV=AWS_ECS_" + launch}
	for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			out = append(out, k+"="+v)
		}
	}
	return dedupEnv(append(out, env...))
}

func dedupEnv(env []string) []string {
	idx := map[string]int{}
	var out []string
	for _, e := range env {
		k, _, _ := strings.Cut(e, "=")
		if i, ok := idx[k]; ok {
			out[i] = e
			continue
		}
		idx[k] = len(out)
		out = append(out, e)
	}
	return out
}

// labelIP picks the next label address in a subnet's CIDR (never dialled).
func (s *Service) labelIP(cidr string) string {
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() {
		return "10.0.0.10"
	}
	host := uint32(1) << (32 - p.Bits())
	if host < 8 {
		return p.Addr().String()
	}
	b := p.Masked().Addr().As4()
	base := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n := base + 4 + s.nextIP%(host-5) // AWS reserves the first four and the last address
	s.nextIP++
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}).String()
}

func inputDigest(in RunTaskInput) string {
	in.ClientToken = ""
	b, _ := json.Marshal(in)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// taskView copies a task for a response; s.mu is held.
func (s *Service) taskView(t *task, withTags bool) Task {
	b, _ := json.Marshal(t.view)
	var out Task
	_ = json.Unmarshal(b, &out)
	if !withTags {
		out.Tags = nil
	}
	return out
}

// pruneLocked forgets STOPPED tasks past the retention, the oldest beyond
// MaxStopped, and client tokens older than 24 hours (ECS's token TTL).
func (s *Service) pruneLocked() {
	now := s.now()
	stopped := 0
	for _, a := range s.order {
		if t := s.tasks[a]; t != nil && t.view.LastStatus == StatusStopped {
			stopped++
		}
	}
	keep := s.order[:0]
	for _, a := range s.order {
		t := s.tasks[a]
		if t.view.LastStatus == StatusStopped && (now.Sub(t.stoppedAt) > s.cfg.StoppedRetention || stopped > s.cfg.MaxStopped) {
			delete(s.tasks, a)
			stopped--
			continue
		}
		keep = append(keep, a)
	}
	s.order = keep
	for k, e := range s.tokens {
		if now.Sub(e.at) > 24*time.Hour || len(s.tokens) > 10000 {
			delete(s.tokens, k)
		}
	}
}

// --- the lifecycle: real processes ---

type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	code int
}

// lifecycle runs one task from PROVISIONING to STOPPED.
func (s *Service) lifecycle(t *task) {
	defer s.wg.Done()
	step := s.cfg.StepDelay
	procs := make([]*proc, len(t.runs))
	if s.wait(t, step) {
		s.update(t, func(v *Task) { v.LastStatus = StatusPending; v.PullStartedAt = at(s.now()); v.Version++ })
		if s.wait(t, step) {
			s.update(t, func(v *Task) { v.PullStoppedAt = at(s.now()) })
			var startErr error
			for i, r := range t.runs {
				p, err := s.start(r)
				if err != nil {
					startErr = fmt.Errorf("CannotStartContainerError: %s: %w", t.view.Containers[i].Name, err)
					break
				}
				procs[i] = p
			}
			if startErr != nil {
				s.requestStop(t, StopTaskFailedToStart, startErr.Error())
			} else {
				s.update(t, func(v *Task) {
					now := at(s.now())
					v.LastStatus, v.StartedAt, v.Connectivity, v.ConnectivityAt = StatusRunning, now, "CONNECTED", now
					for i := range v.Attachments {
						v.Attachments[i].Status = "ATTACHED"
					}
					for i := range v.Containers {
						v.Containers[i].LastStatus = StatusRunning
						v.Containers[i].RuntimeId = fmt.Sprintf("%s-%d", v.TaskArn[strings.LastIndex(v.TaskArn, "/")+1:], procs[i].cmd.Process.Pid)
					}
					v.Version++
				})
				s.watch(t, procs)
			}
		}
	}
	// Stopping: SIGTERM, then SIGKILL after each container's stopTimeout.
	s.update(t, func(v *Task) {
		if v.StoppingAt == nil {
			v.StoppingAt = at(s.now())
		}
		v.DesiredStatus = "STOPPED"
		if v.LastStatus == StatusRunning {
			v.LastStatus = StatusStopping
		}
		v.Version++
	})
	var wg sync.WaitGroup
	for i, p := range procs {
		if p == nil {
			continue
		}
		wg.Add(1)
		go func(p *proc, grace time.Duration) {
			defer wg.Done()
			stopProc(p, grace)
		}(p, t.runs[i].stopTimeout)
	}
	wg.Wait()
	s.update(t, func(v *Task) {
		v.ExecutionStoppedAt = at(s.now())
		v.LastStatus = StatusDeprovisioning
		for i := range v.Containers {
			if p := procs[i]; p != nil {
				c := int32(p.code)
				v.Containers[i].ExitCode = &c
			} else if v.StopCode == StopTaskFailedToStart && v.Containers[i].Reason == "" {
				v.Containers[i].Reason = v.StoppedReason
			}
			v.Containers[i].LastStatus = StatusStopped
		}
		for i := range v.Attachments {
			v.Attachments[i].Status = "DELETED"
		}
		v.Version++
	})
	select {
	case <-time.After(step):
	case <-s.closing:
	}
	s.update(t, func(v *Task) {
		now := s.now()
		v.LastStatus, v.StoppedAt = StatusStopped, at(now)
		v.Connectivity = ""
		v.Version++
		t.stoppedAt = now
	})
}

// wait sleeps d unless the task is asked to stop or the sandbox closes
// (false then).
func (s *Service) wait(t *task, d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-t.stopCh:
		return false
	case <-s.closing:
		s.requestStop(t, StopUserInitiated, "gameday sandbox closed")
		return false
	}
}

// watch waits until an essential container exits, a stop is requested or
// the sandbox closes.
func (s *Service) watch(t *task, procs []*proc) {
	exited := make(chan int, len(procs))
	for i, p := range procs {
		go func(i int, p *proc) {
			<-p.done
			exited <- i
		}(i, p)
	}
	for {
		select {
		case i := <-exited:
			code := int32(procs[i].code)
			s.update(t, func(v *Task) {
				v.Containers[i].LastStatus = StatusStopped
				v.Containers[i].ExitCode = &code
				v.Version++
			})
			if t.runs[i].essential {
				s.requestStop(t, StopEssentialContainerExited, "Essential container in task exited")
				return
			}
		case <-t.stopCh:
			return
		case <-s.closing:
			s.requestStop(t, StopUserInitiated, "gameday sandbox closed")
			return
		}
	}
}

// requestStop records why the task stops (the first reason wins) and wakes
// its lifecycle.
func (s *Service) requestStop(t *task, code, reason string) {
	s.update(t, func(v *Task) {
		if v.StopCode == "" {
			v.StopCode, v.StoppedReason = code, reason
			v.DesiredStatus = "STOPPED"
			v.StoppingAt = at(s.now())
			v.Version++
		}
	})
	t.stopOnce.Do(func() { close(t.stopCh) })
}

// update changes a task under the lock and records each lastStatus change
// as a ground-truth event (kind ecs-task).
func (s *Service) update(t *task, f func(v *Task)) {
	s.mu.Lock()
	from := t.view.LastStatus
	f(&t.view)
	v := &t.view
	to, arn, az := v.LastStatus, v.TaskArn, v.AvailabilityZone
	detail := ""
	if to == StatusStopped || to == StatusStopping || to == StatusDeprovisioning {
		detail = v.StopCode + ": " + v.StoppedReason
		for _, c := range v.Containers {
			if c.ExitCode != nil {
				detail += fmt.Sprintf("; %s exit %d", c.Name, *c.ExitCode)
			}
		}
	}
	s.mu.Unlock()
	if to != from {
		s.region.RecordEvent("ecs-task", arn, az, from, to, detail)
	}
}

// start starts one container's process.
func (s *Service) start(r containerRun) (*proc, error) {
	if s.exeErr != nil {
		return nil, s.exeErr
	}
	cmd := exec.Command(r.argv[0], r.argv[1:]...)
	cmd.Env = r.env
	cmd.Stdout, cmd.Stderr = s.cfg.Output, s.cfg.Output
	cmd.SysProcAttr = childproc.SysProcAttr()
	// A child the container left behind may hold its output pipe open:
	// the container's exit counts once its own process exits (then the
	// stop kills its whole group).
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		p.code = exitCode(cmd, err)
		close(p.done)
	}()
	return p, nil
}

// exitCode is the container's exit code as Docker reports it: the
// process's status, or 128+signal when a signal ended it (also when Wait
// gave up on a pipe a leftover child held: the process itself ended).
func exitCode(cmd *exec.Cmd, _ error) int {
	if cmd.ProcessState == nil {
		return -1
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return cmd.ProcessState.ExitCode()
}

// stopProc sends SIGTERM to the container's process and its process
// group, then SIGKILL after grace. The process itself is signalled through
// os.Process (never a reaped, maybe reused, pid); its group by id.
func stopProc(p *proc, grace time.Duration) {
	pid := p.cmd.Process.Pid
	select {
	case <-p.done:
		childproc.TerminateGroup(pid, true) // what it left in its group
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	childproc.TerminateGroup(pid, false)
	tm := time.NewTimer(grace)
	defer tm.Stop()
	select {
	case <-p.done:
	case <-tm.C:
		childproc.TerminateGroup(pid, true)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	childproc.TerminateGroup(pid, true)
}

// Close stops every task (SIGTERM, SIGKILL after its stopTimeout) and waits
// for every process to be gone. It is idempotent.
func (s *Service) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closed = true
	close(s.closing)
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}
