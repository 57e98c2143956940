package main

import (
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/gameday-dev/gameday/faults"
	"github.com/gameday-dev/gameday/generators"
	"github.com/gameday-dev/gameday/internal/exitcode"
	"github.com/gameday-dev/gameday/recovery"
	"github.com/gameday-dev/gameday/runner"
)

// defaultJournals is where `gameday run` leaves journals by default.
const defaultJournals = "gameday-runs/*/journal.jsonl"

func newRollbackCmd(stdout io.Writer) *cobra.Command {
	var (
		journals []string
		sweep    bool
		target   string
		force    bool
		timeout  time.Duration
		lo       loadOpts
	)
	c := &cobra.Command{
		Use:   "rollback [--journal FILE]... [--sweep [--target EXPERIMENT.yaml]]",
		Short: "Finish every unfinished rollback a crashed or twice-interrupted run left behind",
		Long: `rollback reads rollback journals and undoes every fault that is not marked
rolled back: it moves blackholed subnets back to their original network ACLs
(looked up by subnet, since association ids change; the VPC's default ACL if
the original was deleted meanwhile) and deletes the deny-all clone, gives back
the capacity a decrementing terminate took (relative to the desired capacity
now, within max), and waits for a failed-over database to be available. It retries throttling and
5xx with backoff, and is idempotent: a second run finds nothing to do.

With no --journal it reads ` + defaultJournals + `. It refuses to undo
the faults of a run whose process is still alive (use --force).

--sweep then looks on the AWS side for anything tagged as gameday's (deny-all
ACL clones, decrement tags on Auto Scaling groups) that no journal accounts
for, and undoes it; what a live run leases is left alone. With --target and
load.generators engine ecs it also stops the running tasks tagged
gameday:managed=true in the experiment's cluster (but those of a live
coordinator on this host). Journals are
undone newest apply first across all of them; a corrupt journal stops
everything (exit 4, naming the line).

Exit codes: 0 everything rolled back (or nothing to do), 2 bad input,
4 something could not be rolled back (the journal keeps it for another try).`,
		Example: `  gameday rollback                                  # every journal under gameday-runs/
  gameday rollback --journal gameday-runs/full-gameday-20261123T101500Z/journal.jsonl
  gameday rollback --sweep --target configs/aws-example.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			explicit := len(journals) > 0
			if !explicit {
				journals, _ = filepath.Glob(defaultJournals)
			}
			// Load generators first: a worker left running is a fault left
			// behind, and the load should stop before faults are undone.
			var wj []string
			for _, j := range journals {
				wj = append(wj, filepath.Join(filepath.Dir(j), workersJournal))
			}
			if !explicit {
				more, _ := filepath.Glob(filepath.Join(filepath.Dir(filepath.Dir(defaultJournals)), "*", workersJournal))
				wj = append(wj, more...)
			}
			if err := generators.StopLeftoversWith(cmd.Context(), dedupe(wj), stdout, generators.Leftovers{ConnectECS: connectECS, Force: force}); err != nil {
				return exitcode.With(exitcode.Rollback, fmt.Errorf("load generators: %w", err))
			}
			var extra []faults.Location
			if target != "" {
				x, _, err := lo.load(target)
				if err != nil {
					return err
				}
				extra = append(extra, runner.TargetOf(x))
				if sweep { // rollback_ecs.go
					if err := sweepECSWorkers(cmd.Context(), x, stdout); err != nil {
						return exitcode.With(exitcode.Rollback, fmt.Errorf("load generators: %w", err))
					}
				}
			}
			return recovery.Run(cmd.Context(), recovery.Options{
				Out: stdout, Journals: journals, Explicit: explicit,
				Force: force, Timeout: timeout, Sweep: sweep, Extra: extra,
			})
		},
	}
	c.Flags().StringArrayVar(&journals, "journal", nil, "journal file to finish (repeatable; default "+defaultJournals+")")
	c.Flags().BoolVar(&sweep, "sweep", false, "also remove gameday-tagged leftovers no journal accounts for")
	c.Flags().StringVar(&target, "target", "", "experiment file whose target to sweep (its target section is used; nothing else)")
	c.Flags().BoolVar(&force, "force", false, "roll back even if the run that applied a fault still seems alive")
	c.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "give up on one fault's rollback after this long")
	lo.addFlags(c)
	return c
}

func dedupe(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
