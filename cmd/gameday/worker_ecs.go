package main

import (
	"context"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/gameday-dev/gameday/environment/sandboxenv"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/faults"
	"github.com/gameday-dev/gameday/generators"
	"github.com/gameday-dev/gameday/runner"
)

// ecsJoinTimeout is load.generators.join_timeout's default for engine ecs
// on AWS: Fargate takes 30-90 s to pull an image and start a task.
const ecsJoinTimeout = 3 * time.Minute

// newECSEngine is engine ecs for x's load.generators.ecs, through the run's
// own ECS client (the sandbox's ECS API, or the AWS account's).
func newECSEngine(x *experiments.Experiment, p *runner.Prepared, logs io.Writer) *generators.ECS {
	e := x.Load.Generators.ECS
	eng := &generators.ECS{
		Client: p.Clients.ECS, Location: p.Location, Cluster: e.Cluster, LaunchType: e.LaunchType,
		TaskDefinition: e.TaskDefinition, Container: e.Container,
		Subnets: e.Subnets, SecurityGroups: e.SecurityGroups, AssignPublicIP: e.AssignPublicIP,
		PlatformVersion: e.PlatformVersion, Tags: e.Tags,
		Coordinator: generators.CoordinatorTag(time.Now()), Log: logs,
	}
	if e.Image != "" {
		eng.Register = &generators.ECSTaskDef{Family: e.Family, Image: e.Image, CPU: e.CPU, Memory: e.Memory,
			ExecutionRoleARN: e.ExecutionRoleARN, TaskRoleARN: e.TaskRoleARN,
			LogGroup: e.LogGroup, LogStreamPrefix: e.LogStreamPrefix, LogRegion: p.Region}
	}
	if x.Target.Kind == "sandbox" && len(eng.Subnets) == 0 && p.Topology != nil {
		// The sandbox's subnet ids are random: the stack's public ones.
		for _, s := range p.Topology.Subnets {
			if s.Public {
				eng.Subnets = append(eng.Subnets, s.ID)
			}
		}
	}
	if x.Target.Kind == "sandbox" {
		// The sandbox's tasks are processes on this machine: watch them
		// closely; they stop in well under a second.
		eng.Poll, eng.StopWait = 250*time.Millisecond, 30*time.Second
	}
	return eng
}

// connectECS builds an ECS client for a journaled location, for `gameday
// rollback`.
func connectECS(ctx context.Context, loc faults.Location) (*ecs.Client, error) {
	c, err := sandboxenv.Connect(ctx, loc)
	if err != nil {
		return nil, err
	}
	return c.ECS, nil
}
