package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/faults"
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
the original was deleted meanwhile) and deletes the deny-all clone, restores
an Auto Scaling group's desired capacity after a decrementing terminate, and
waits for a failed-over database to be available. It retries throttling and
5xx with backoff, and is idempotent: a second run finds nothing to do.

With no --journal it reads ` + defaultJournals + `. It refuses to undo
the faults of a run whose process is still alive (use --force).

--sweep then looks on the AWS side for anything tagged as gameday's (deny-all
ACL clones) that no journal accounts for, and removes it.

Exit codes: 0 everything rolled back (or nothing to do), 2 bad input,
4 something could not be rolled back (the journal keeps it for another try).`,
		Example: `  gameday rollback                                  # every journal under gameday-runs/
  gameday rollback --journal gameday-runs/full-gameday-20261123T101500Z/journal.jsonl
  gameday rollback --sweep --target configs/aws-example.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			explicit := len(journals) > 0
			if !explicit {
				journals, _ = filepath.Glob(defaultJournals)
			}
			var extra []faults.Target
			if target != "" {
				x, _, err := lo.load(target)
				if err != nil {
					return err
				}
				extra = append(extra, runner.TargetOf(x))
			}
			if sweep && len(extra) == 0 && len(journals) == 0 {
				return &codeError{exitBadInput, errors.New("--sweep needs a target: give --target EXPERIMENT.yaml or a --journal")}
			}
			rb := &rollbacker{out: stdout, force: force, timeout: timeout, clients: map[faults.Target]*awsclients.Clients{}}
			for _, j := range journals {
				if err := rb.journal(ctx, j, explicit); err != nil {
					return err
				}
			}
			if sweep {
				rb.sweep(ctx, extra)
			}
			if rb.pending == 0 && rb.failed == 0 && rb.done == 0 && !sweep {
				fmt.Fprintln(stdout, "nothing to roll back")
			}
			if rb.failed > 0 || rb.skipped > 0 {
				return &codeError{exitRollback, fmt.Errorf("rollback incomplete: %d failed, %d skipped; the journal keeps them for another try", rb.failed, rb.skipped)}
			}
			return nil
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

type rollbacker struct {
	out     io.Writer
	force   bool
	timeout time.Duration
	clients map[faults.Target]*awsclients.Clients
	targets []faults.Target // seen in journals, for the sweep
	keep    []string        // tokens of blackholes still pending (the sweep leaves them)

	pending, done, failed, skipped int
}

func (rb *rollbacker) connect(ctx context.Context, t faults.Target) (*awsclients.Clients, error) {
	if c, ok := rb.clients[t]; ok {
		return c, nil
	}
	c, err := runner.Connect(ctx, t)
	if err != nil {
		return nil, err
	}
	rb.clients[t] = c
	return c, nil
}

// journal finishes one journal's pending entries, last applied first.
func (rb *rollbacker) journal(ctx context.Context, path string, explicit bool) error {
	if explicit {
		if err := checkJournalFile(path, false); err != nil { // regular, bounded (inputs.go)
			return &codeError{exitBadInput, fmt.Errorf("--journal %s: %w", path, err)}
		}
	}
	pending, err := faults.ReadPending(path)
	if err != nil {
		return &codeError{exitBadInput, err}
	}
	if len(pending) == 0 {
		if explicit {
			fmt.Fprintf(rb.out, "%s: nothing pending\n", path)
		}
		return nil
	}
	jr, err := faults.OpenJournal(path)
	if err != nil {
		return &codeError{exitBadInput, err}
	}
	defer jr.Close()
	fmt.Fprintf(rb.out, "%s: %d fault(s) not rolled back\n", path, len(pending))
	rb.pending += len(pending)
	for _, e := range slices.Backward(pending) {
		label := fmt.Sprintf("  %s %s (%s)", e.Kind, e.Fault, strings.Join(e.Targets, ", "))
		if e.Target == nil {
			rb.failed++
			fmt.Fprintf(rb.out, "%s: FAILED: the journal does not say which account it was applied in\n", label)
			continue
		}
		if !rb.force && e.PID != 0 && processAlive(e.PID, e.Host) {
			rb.skipped++
			rb.keep = append(rb.keep, undoToken(e))
			fmt.Fprintf(rb.out, "%s: SKIPPED: the run that applied it (pid %d) is still alive; stop it or use --force\n", label, e.PID)
			continue
		}
		if !slices.Contains(rb.targets, *e.Target) {
			rb.targets = append(rb.targets, *e.Target)
		}
		c, err := rb.connect(ctx, *e.Target)
		if errors.Is(err, runner.ErrInProcess) {
			rb.done++
			fmt.Fprintf(rb.out, "%s: nothing to do: %v\n", label, err)
			if err := jr.DoneNote(e.ID, "gameday rollback: "+err.Error()); err != nil {
				return &codeError{exitRollback, err}
			}
			continue
		}
		if err != nil {
			rb.failed++
			rb.keep = append(rb.keep, undoToken(e))
			fmt.Fprintf(rb.out, "%s: FAILED: %v\n", label, err)
			continue
		}
		f, err := faults.Restore(c, e)
		if err != nil {
			rb.failed++
			fmt.Fprintf(rb.out, "%s: FAILED: %v\n", label, err)
			continue
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rb.timeout)
		attempts, err := faults.RollbackPatiently(fctx, f)
		cancel()
		if err != nil {
			rb.failed++
			rb.keep = append(rb.keep, undoToken(e))
			fmt.Fprintf(rb.out, "%s: FAILED after %d attempt(s): %v\n", label, attempts, err)
			continue
		}
		rb.done++
		note := "rolled back"
		if attempts > 1 {
			note += fmt.Sprintf(" (after %d attempts)", attempts)
		}
		fmt.Fprintf(rb.out, "%s: %s\n", label, note)
		if n, ok := f.(faults.Noter); ok {
			for _, s := range n.Notes() {
				fmt.Fprintf(rb.out, "    note: %s\n", s)
			}
		}
		if err := jr.DoneNote(e.ID, "gameday rollback: "+note); err != nil {
			return &codeError{exitRollback, fmt.Errorf("rolled back %s but could not mark it done in %s: %w", e.Fault, path, err)}
		}
	}
	return nil
}

// sweep removes tagged leftovers in every target seen, except those a
// still-pending journal entry accounts for.
func (rb *rollbacker) sweep(ctx context.Context, extra []faults.Target) {
	targets := rb.targets
	for _, t := range extra {
		if !slices.ContainsFunc(targets, func(u faults.Target) bool { return sameTarget(t, u) }) {
			targets = append(targets, t)
		}
	}
	for _, t := range targets {
		name := t.Kind + " " + strings.TrimSpace(t.Region+" "+t.EndpointURL)
		c, err := rb.connect(ctx, t)
		if errors.Is(err, runner.ErrInProcess) {
			fmt.Fprintf(rb.out, "sweep %s: %v\n", name, err)
			continue
		}
		if err != nil {
			rb.failed++
			fmt.Fprintf(rb.out, "sweep %s: FAILED: %v\n", name, err)
			continue
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rb.timeout)
		found, err := faults.Sweep(sctx, c, func(tok string) bool { return slices.Contains(rb.keep, tok) })
		cancel()
		if err != nil {
			rb.failed++
			fmt.Fprintf(rb.out, "sweep %s: FAILED: %v\n", name, err)
			continue
		}
		if len(found) == 0 {
			fmt.Fprintf(rb.out, "sweep %s: no gameday leftovers\n", name)
		}
		for _, s := range found {
			if s.Err != nil {
				rb.failed++
				fmt.Fprintf(rb.out, "sweep %s: %s (run %s): FAILED: %v\n", name, s.Resource, s.Run, s.Err)
				continue
			}
			rb.done++
			fmt.Fprintf(rb.out, "sweep %s: removed %s (run %s); subnets restored: %s\n", name, s.Resource, s.Run, strings.Join(s.Subnets, ", "))
			for _, n := range s.Notes {
				fmt.Fprintf(rb.out, "    note: %s\n", n)
			}
		}
	}
}

// sameTarget compares targets ignoring the account (an experiment file
// does not name it).
func sameTarget(a, b faults.Target) bool {
	a.Account, b.Account = "", ""
	return a == b
}

func undoToken(e faults.Entry) string {
	var u struct {
		Token string `json:"token"`
	}
	_ = json.Unmarshal(e.Undo, &u)
	return u.Token
}

// processAlive reports whether pid on host looks like a live gameday
// process. A journal from another host, or this very process, counts as
// not alive.
func processAlive(pid int, host string) bool {
	if h, _ := os.Hostname(); host != "" && host != h {
		return false
	}
	if pid == os.Getpid() || pid <= 0 {
		return false
	}
	if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline"); err == nil {
		return strings.Contains(string(b), "gameday")
	} else if !errors.Is(err, os.ErrNotExist) {
		return syscall.Kill(pid, 0) == nil
	}
	return false
}
