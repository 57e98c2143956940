package experiments

import (
	"strings"
	"testing"
)

func TestECSGeneratorsValidation(t *testing.T) {
	const aws = "name: x\ntarget: {kind: aws, aws: {region: eu-west-1}, load_balancer: {name: alb}}\nsteady_state: {thresholds: [\"success_ratio >= 0.99\"]}\nload: {rate: 10, duration: 60s, generators: "
	const sandbox = "name: x\nsteady_state: {thresholds: [\"success_ratio >= 0.99\"]}\nload: {rate: 10, duration: 60s, generators: "
	const net = "listen: 0.0.0.0:7070, advertise: http://10.0.1.5:7070"
	const td = "cluster: load, task_definition: gameday-worker:3, subnets: [subnet-0123456789abcdef0]"
	noEnv := func(string) (string, bool) { return "", false }
	for _, tc := range []struct{ base, gen, want string }{
		{aws, `{engine: ecs, count: 2, ecs: {` + td + `}}`, "load.generators.listen: is required for engine ecs on AWS"},
		{aws, `{engine: ecs, count: 2, ecs: {` + td + `}}`, "load.generators.advertise: is required for engine ecs on AWS"},
		{aws, `{engine: ecs, count: 2, listen: "0.0.0.0:0", advertise: "http://10.0.1.5:7070", ecs: {` + td + `}}`, `load.generators.listen: "0.0.0.0:0": engine ecs needs a fixed port`},
		{aws, `{engine: ecs, count: 2, ` + net + `0x, ecs: {` + td + `}}`, `load.generators.advertise: "http://10.0.1.5:70700x": want an http URL`},
		{aws, `{engine: ecs, count: 2, listen: "0.0.0.0:7070", advertise: "10.0.1.5:7070", ecs: {` + td + `}}`, `load.generators.advertise: "10.0.1.5:7070": want an http URL`},
		{aws, `{engine: ecs, count: 2, ` + net + `}`, "load.generators.ecs: is required for engine ecs"},
		{aws, `{engine: ecs, count: 2, ` + net + `, ecs: {task_definition: td:1, subnets: [subnet-0123456789abcdef0]}}`, "load.generators.ecs.cluster: is required"},
		{aws, `{engine: ecs, count: 2, ` + net + `, ecs: {cluster: "my cluster", task_definition: td:1, subnets: [subnet-0123456789abcdef0]}}`, `load.generators.ecs.cluster: "my cluster" is not a cluster name`},
		{aws, `{engine: ecs, count: 2, ` + net + `, ecs: {cluster: c, subnets: [subnet-0123456789abcdef0]}}`, "load.generators.ecs.task_definition: or image is required"},
		{aws, `{engine: ecs, count: 2, ` + net + `, ecs: {cluster: c, task_definition: "td:0", subnets: [subnet-0123456789abcdef0]}}`, `load.generators.ecs.task_definition: "td:0" is not a task definition`},
		{aws, `{engine: ecs, count: 2, ` + net + `, ecs: {cluster: c, task_definition: td, image: gameday, cpu: 256, memory: 512, subnets: [subnet-0123456789abcdef0]}}`, "load.generators.ecs.task_definition: and image are exclusive"},
		{aws, `{engine: ecs, count: 2, ` + net + `, ecs: {cluster: c, image: gameday, subnets: [subnet-0123456789abcdef0]}}`, "load.generators.ecs.cpu: must be 128 to 16384"},
		{aws, `{engine: ecs, count: 2, ` + net + `, ecs: {cluster: c, image: gameday, cpu: 256, memory: 100, subnets: [subnet-0123456789abcdef0]}}`, "load.generators.ecs.memory: must be 512 to 122880 MiB, got 100"},
		{aws, `{engine: ecs, count: 2, ` + net + `, ecs: {cluster: c, image: gameday, cpu: 256, memory: 512, task_role_arn: role, subnets: [subnet-0123456789abcdef0]}}`, `load.generators.ecs.task_role_arn: "role" is not an IAM role ARN`},
		{aws, `{engine: ecs, count: 2, ` + net + `, ecs: {cluster: c, image: gameday, cpu: 256, memory: 512, log_group: /gameday, subnets: [subnet-0123456789abcdef0]}}`, "load.generators.ecs.execution_role_arn: is required with log_group on FARGATE"},
		{aws, `{engine: ecs, count: 2, ` + net + `, ecs: {` + td + `, family: f}}`, "load.generators.ecs.family: only applies with image"},
		{aws, `{engine: ecs, count: 2, ` + net + `, ecs: {cluster: c, task_definition: td:1}}`, "load.generators.ecs.subnets: is required (awsvpc network mode)"},
		{sandbox, `{engine: ecs, count: 2, ecs: {cluster: c, launch_type: EC2, task_definition: td:1, assign_public_ip: true}}`, "load.generators.ecs.assign_public_ip: is for FARGATE only"},
		{aws, `{engine: ecs, count: 2, ` + net + `, ecs: {cluster: c, task_definition: td:1, subnets: [subnet-1]}}`, `load.generators.ecs.subnets[0]: "subnet-1" is not a subnet id`},
		{aws, `{engine: ecs, count: 2, ` + net + `, ecs: {` + td + `, security_groups: [default]}}`, `load.generators.ecs.security_groups[0]: "default" is not a security group id`},
		{aws, `{engine: ecs, count: 2, ` + net + `, ecs: {` + td + `, launch_type: SPOT}}`, `load.generators.ecs.launch_type: "SPOT": want FARGATE or EC2`},
		{aws, `{engine: ecs, count: 2, ` + net + `, ecs: {` + td + `, launch_type: EC2, assign_public_ip: true}}`, "load.generators.ecs.assign_public_ip: is for FARGATE only"},
		{aws, `{engine: ecs, count: 2, ` + net + `, ecs: {` + td + `, launch_type: EC2, platform_version: "1.4.0"}}`, "load.generators.ecs.platform_version: is for FARGATE only"},
		{aws, `{engine: ecs, count: 2, ` + net + `, ecs: {` + td + `, platform_version: newest}}`, `load.generators.ecs.platform_version: "newest": want LATEST`},
		{aws, `{engine: ecs, count: 2, ` + net + `, ecs: {` + td + `, tags: {"gameday:run": x}}}`, "load.generators.ecs.tags.gameday:run: keys starting with gameday: are gameday's own"},
		{aws, `{engine: ecs, count: 2, ` + net + `, ecs: {` + td + `, tags: {"aws:x": y}}}`, "load.generators.ecs.tags.aws:x: keys starting with aws: are reserved"},
		{aws, `{engine: ecs, count: 2, ` + net + `, ecs: {` + td + `, colour: red}}`, "colour"},
		{sandbox, `{engine: local, count: 2, ecs: {` + td + `}}`, `load.generators.ecs: is for engine ecs; engine is "local"`},
	} {
		t.Run(tc.want, func(t *testing.T) {
			_, _, err := Parse("x.yaml", []byte(tc.base+tc.gen+"}\n"), nil, noEnv)
			mustFail(t, err, tc.want)
		})
	}
	// Bounded: too many subnets is one problem, not one per subnet.
	many := "[" + strings.Repeat("subnet-0123456789abcdef0, ", 40) + "x]"
	_, _, err := Parse("x.yaml", []byte(aws+`{engine: ecs, count: 2, `+net+`, ecs: {cluster: c, task_definition: td:1, subnets: `+many+`}}}`+"\n"), nil, noEnv)
	if xe := mustFail(t, err, "load.generators.ecs.subnets: 41 subnets, at most 16"); len(xe.Problems) != 1 {
		t.Errorf("%d problems for one field: %v", len(xe.Problems), xe)
	}

	for _, ok := range []struct{ base, gen string }{
		{aws, `{engine: ecs, count: 3, ` + net + `, ecs: {` + td + `, security_groups: [sg-0123456789abcdef0], assign_public_ip: true, platform_version: "1.4.0", tags: {team: sre}}}`},
		{aws, `{engine: ecs, count: 3, ` + net + `, ecs: {cluster: "arn:aws:ecs:eu-west-1:123456789012:cluster/load", task_definition: "arn:aws:ecs:eu-west-1:123456789012:task-definition/gameday-worker:12", subnets: [subnet-0123456789abcdef0]}}`},
		{aws, `{engine: ecs, count: 3, ` + net + `, ecs: {cluster: c, launch_type: EC2, task_definition: bridge-worker}}`},
		{aws, `{engine: ecs, count: 3, ` + net + `, ecs: {cluster: c, image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/gameday:v1", cpu: 1024, memory: 2048, execution_role_arn: "arn:aws:iam::123456789012:role/ecsTaskExecutionRole", log_group: /gameday/workers, log_stream_prefix: w, subnets: [subnet-0123456789abcdef0]}}`},
		// The sandbox runs its tasks on loopback: the default listen and advertise do.
		{sandbox, `{engine: ecs, count: 3, ecs: {cluster: load, image: gameday, cpu: 256, memory: 512, subnets: [subnet-0123456789abcdef0]}}`},
		{sandbox, `{engine: ecs, count: 3, ecs: {cluster: gameday, image: gameday, cpu: 256, memory: 512}}`}, // subnets: the stack's
	} {
		if _, _, err := Parse("x.yaml", []byte(ok.base+ok.gen+"}\n"), nil, noEnv); err != nil {
			t.Errorf("%s: %v", ok.gen, err)
		}
	}
	x, _, err := Parse("x.yaml", []byte(aws+`{engine: ecs, count: 3, `+net+`, ecs: {`+td+`, tags: {team: sre}}}}`+"\n"), nil, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if e := x.Load.Generators.ECS; e == nil || e.Cluster != "load" || e.TaskDefinition != "gameday-worker:3" || len(e.Subnets) != 1 || e.Tags["team"] != "sre" {
		t.Fatalf("ecs %+v", e)
	}
}

// TestECSNamePatternBounds pins the length limits the bounded patterns
// enforce (a name of the limit is accepted, one character more is not),
// and that the shape rules did not change with them.
func TestECSNamePatternBounds(t *testing.T) {
	name := func(n int) string { return strings.Repeat("a", n) }
	const arn = "arn:aws:ecs:eu-west-1:123456789012:"
	const role = "arn:aws:iam::123456789012:role/"
	for _, tc := range []struct {
		what string
		re   boundedRE
		s    string
		want bool
	}{
		{"name 255", ecsNameRE, name(255), true},
		{"name 256", ecsNameRE, name(256), false},
		{"name empty", ecsNameRE, "", false},
		{"name space", ecsNameRE, "a b", false},
		{"cluster ARN 255", ecsClusterARNRE, arn + "cluster/" + name(255), true},
		{"cluster ARN 256", ecsClusterARNRE, arn + "cluster/" + name(256), false},
		{"cluster ARN no name", ecsClusterARNRE, arn + "cluster/", false},
		{"task def family 255", ecsTaskDefRE, name(255), true},
		{"task def family 256", ecsTaskDefRE, name(256), false},
		{"task def family 255:rev", ecsTaskDefRE, name(255) + ":12", true},
		{"task def family 256:rev", ecsTaskDefRE, name(256) + ":12", false},
		{"task def ARN 255:rev", ecsTaskDefRE, arn + "task-definition/" + name(255) + ":3", true},
		{"task def ARN 256:rev", ecsTaskDefRE, arn + "task-definition/" + name(256) + ":3", false},
		{"task def revision 0", ecsTaskDefRE, "td:0", false},
		{"task def bad ARN", ecsTaskDefRE, "arn:aws:ecs:eu-west-1:1234:task-definition/td:1", false},
		{"role 512", iamRoleARNRE, role + name(512), true},
		{"role 513", iamRoleARNRE, role + name(513), false},
		{"role with path", iamRoleARNRE, role + "service-role/ecs", true},
		{"log group 512", logGroupRE, name(512), true},
		{"log group 513", logGroupRE, name(513), false},
		{"log group bad char", logGroupRE, "/a b", false},
	} {
		if got := tc.re.MatchString(tc.s); got != tc.want {
			t.Errorf("%s: MatchString = %v, want %v", tc.what, got, tc.want)
		}
	}
}
