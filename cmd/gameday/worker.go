package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/generators"
	"github.com/gameday-dev/gameday/internal/exitcode"
	"github.com/gameday-dev/gameday/runner"
)

func newWorkerCmd(stderr io.Writer) *cobra.Command {
	var (
		o     generators.WorkOptions
		run   string
		index int
	)
	c := &cobra.Command{
		Use:   "worker --coordinator URL (--id ID | --run RUN [--index I]) [--raw FILE]",
		Short: "Send one slice of a run's load for a coordinating `gameday run` (load.generators)",
		Long: `worker is started by ` + "`gameday run`" + ` when the experiment sets load.generators
(engine local: a process on the same machine; engine ecs: an ECS task whose
container command is this; engine kubernetes: a pod of an Indexed Job, which
names itself --run RUN and takes its slice from its completion index,
` + generators.IndexEnv + `; a second worker for one index is refused). It asks
the coordinator for its slice of the rate plan, measures its clock against the
coordinator's, waits at the barrier, sends its slice from the agreed instant,
streams what it measured window by window, and exits. It reads the run's token
from ` + generators.TokenEnv + `. A worker never outlives an unreachable
coordinator by more than --give-up.

Exit codes: 0 slice sent and reported, 2 bad input, 5 anything else.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Token = os.Getenv(generators.TokenEnv)
			id, err := generators.WorkerIDFrom(o.Worker, run, index, os.Getenv)
			if err != nil {
				return exitcode.With(exitcode.BadInput, err)
			}
			o.Worker = id
			if o.Coordinator == "" || o.Token == "" {
				return exitcode.With(exitcode.BadInput, errors.New("--coordinator and "+generators.TokenEnv+" are required"))
			}
			o.Log = stderr
			if err := generators.Work(cmd.Context(), o); err != nil {
				return exitcode.With(exitcode.Error, fmt.Errorf("worker %s: %w", o.Worker, err))
			}
			return nil
		},
	}
	c.Flags().StringVar(&o.Coordinator, "coordinator", "", "the coordinator's base URL")
	c.Flags().StringVar(&o.Worker, "id", "", "this worker's id, as the coordinator named it")
	c.Flags().StringVar(&run, "run", "", "the run's ID: with --index or "+generators.IndexEnv+" instead of --id, the worker is RUN-wINDEX")
	c.Flags().IntVar(&index, "index", -1, "this worker's slice index (default: "+generators.IndexEnv+")")
	c.Flags().StringVar(&o.Raw, "raw", "", "write raw results to this file (vegeta gob encoding)")
	c.Flags().DurationVar(&o.GiveUp, "give-up", 10*time.Second, "stop when the coordinator has been unreachable this long")
	return c
}

var _ runner.RemoteLoad = (*generators.Coordinator)(nil)

// workersJournal is the worker journal of a run folder.
const workersJournal = "workers.jsonl"

// newCoordinator builds the coordinator for x's load.generators, journaling
// workers in out; raw asks the workers for raw results files in out.
func newCoordinator(x *experiments.Experiment, p *runner.Prepared, out, runID string, raw bool, logs io.Writer) (*generators.Coordinator, error) {
	g := x.Load.Generators
	var eng generators.Engine
	switch g.Engine {
	case "local":
		eng = &generators.Local{Output: logs}
	case "ecs": // worker_ecs.go
		eng = newECSEngine(x, p, logs)
	case "kubernetes":
		eng = kubernetesEngine(x, p, logs)
	default: // validation refuses the others
		return nil, fmt.Errorf("load.generators.engine %q is not available", g.Engine)
	}
	jr, err := generators.OpenJournal(filepath.Join(out, workersJournal))
	if err != nil {
		return nil, err
	}
	cfg := generators.Config{Engine: eng, Count: g.Count, OnLoss: g.OnWorkerLoss, JoinTimeout: g.JoinTimeout,
		Silence: g.SilenceTimeout, Listen: g.Listen, Advertise: g.Advertise, Journal: jr, RunID: runID, Log: logs}
	if p.Topology != nil {
		cfg.NodeAZ = p.Topology.NodeAZ
	}
	if g.Engine == "ecs" && cfg.JoinTimeout == 0 && x.Target.Kind == "aws" {
		cfg.JoinTimeout = ecsJoinTimeout // worker_ecs.go
	}
	// Raw results go to a file on the worker's machine: this one for local
	// workers and the sandbox's tasks; an ECS task on AWS keeps none.
	if raw && (g.Engine == "local" || x.Target.Kind == "sandbox") {
		cfg.RawDir, _ = filepath.Abs(out)
	}
	c, err := generators.New(cfg)
	if err != nil {
		_ = jr.Close()
		return nil, err
	}
	return c, nil
}

// kubernetesEngine is engine kubernetes for x: the cluster ends the Job by
// itself (activeDeadlineSeconds) once the plan, the join and a margin are
// past, should the coordinator and every rollback fail to.
func kubernetesEngine(x *experiments.Experiment, p *runner.Prepared, logs io.Writer) *generators.Kubernetes {
	g, k := x.Load.Generators, x.Load.Generators.Kubernetes
	var plan time.Duration
	for _, s := range p.Attack.Stages {
		plan += s.Duration
	}
	join := g.JoinTimeout
	if join <= 0 {
		join = time.Minute
	}
	return &generators.Kubernetes{Kubectl: k.Kubectl, Kubeconfig: k.Kubeconfig, Context: k.Context, Namespace: k.Namespace,
		Image: k.Image, CPU: k.CPU, Memory: k.Memory, ServiceAccount: k.ServiceAccount, TTL: k.TTLAfterFinished,
		Deadline: plan + join + p.Attack.Timeout + 5*time.Minute, Output: logs}
}
