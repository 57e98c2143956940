// Package ecs is the sandbox's Amazon ECS: one account's clusters, task
// definitions and tasks, whose tasks are real processes on this machine.
//
// RunTask starts, for each container of the task definition, a process of
// the sandbox's worker executable (the gameday binary by default) with the
// container's command, after overrides, as its arguments and the
// definition's and overrides' environment as its environment. The image is
// only a label: the sandbox always runs its own executable. A task walks
// ECS's lifecycle (PROVISIONING, PENDING, RUNNING, STOPPING,
// DEPROVISIONING, STOPPED) with the stop codes ECS uses; StopTask and
// Close send SIGTERM to each container's process group, then SIGKILL after
// the container's stopTimeout. Every process gets a process group of its
// own and dies with the sandbox (internal/childproc).
//
// The types are the ECS API's shapes, tagged for its JSON protocol
// (awsJson1_1); sandbox/awsapi serves them on the wire. Errors are
// *sim.APIError with ECS's exception names as codes.
package ecs
