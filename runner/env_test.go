package runner

import (
	"context"

	"github.com/gameday-dev/gameday/environment/sandboxenv"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/sandbox"
)

// openPrepare opens x's environment (an in-process sandbox unless x says
// otherwise) and prepares x in it, as the CLI does.
func openPrepare(ctx context.Context, x *experiments.Experiment, c *experiments.Compiled) (*Prepared, error) {
	env, err := sandboxenv.Open(ctx, x, &sandbox.Config{})
	if err != nil {
		return nil, err
	}
	return Prepare(ctx, x, c, env)
}

// inProcess is p's in-process sandbox; nil for another environment.
func inProcess(p *Prepared) *sandbox.Sandbox {
	if e, ok := p.Env.(*sandboxenv.InProcess); ok {
		return e.Sandbox()
	}
	return nil
}

// attached reports whether p runs against an attached sandbox.
func attached(p *Prepared) bool {
	_, ok := p.Env.(*sandboxenv.Attached)
	return ok
}
