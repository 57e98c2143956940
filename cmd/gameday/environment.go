package main

import (
	"context"

	"github.com/gameday-dev/gameday/environment/sandboxenv"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/runner"
)

// prepare opens x's environment (starting the in-process sandbox, with its
// event log at events if set) and prepares x in it.
func prepare(ctx context.Context, x *experiments.Experiment, c *experiments.Compiled, events string) (*runner.Prepared, error) {
	env, err := sandboxenv.Open(ctx, x, sandboxConfig(events))
	if err != nil {
		return nil, err
	}
	return runner.Prepare(ctx, x, c, env)
}
