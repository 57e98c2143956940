package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gameday-dev/gameday/environment"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/generators"
	"github.com/gameday-dev/gameday/runner"
)

// sweepECSWorkers stops gameday's worker tasks that no journal accounts for
// in the cluster x's load.generators.ecs names (`gameday rollback --sweep
// --target x`).
func sweepECSWorkers(ctx context.Context, x *experiments.Experiment, out io.Writer) error {
	g := x.Load.Generators
	if g == nil || g.Engine != "ecs" || g.ECS == nil {
		return nil
	}
	c, err := connectECS(ctx, runner.TargetOf(x))
	if errors.Is(err, environment.ErrInProcess) {
		fmt.Fprintf(out, "sweep ecs cluster %s: %v\n", g.ECS.Cluster, err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("sweep ecs cluster %s: %w", g.ECS.Cluster, err)
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	found, err := generators.SweepECS(sctx, c, g.ECS.Cluster)
	for _, s := range found {
		if s.Skipped != "" {
			fmt.Fprintf(out, "sweep ecs cluster %s: left task %s (worker %s) alone: %s\n", g.ECS.Cluster, s.Task, s.Worker, s.Skipped)
		} else {
			fmt.Fprintf(out, "sweep ecs cluster %s: stopped task %s (worker %s of run %s)\n", g.ECS.Cluster, s.Task, s.Worker, s.Run)
		}
	}
	if err != nil {
		return fmt.Errorf("sweep ecs cluster %s: %w", g.ECS.Cluster, err)
	}
	if len(found) == 0 {
		fmt.Fprintf(out, "sweep ecs cluster %s: no gameday workers running\n", g.ECS.Cluster)
	}
	return nil
}
