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
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/environment/sandboxenv"
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
the original was deleted meanwhile) and deletes the deny-all clone, gives back
the capacity a decrementing terminate took (relative to the desired capacity
now, within max), and waits for a failed-over database to be available. It retries throttling and
5xx with backoff, and is idempotent: a second run finds nothing to do.

With no --journal it reads ` + defaultJournals + `. It refuses to undo
the faults of a run whose process is still alive (use --force).

--sweep then looks on the AWS side for anything tagged as gameday's (deny-all
ACL clones, decrement tags on Auto Scaling groups) that no journal accounts
for, and undoes it; what a live run leases is left alone. Journals are
undone newest apply first across all of them; a corrupt journal stops
everything (exit 4, naming the line).

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
			if timeout <= 0 {
				return &codeError{exitBadInput, fmt.Errorf("--timeout %s: must be positive", timeout)}
			}
			rb := &rollbacker{out: stdout, force: force, timeout: timeout, clients: map[faults.Target]*awsclients.Clients{}}
			// Read every journal first: a corrupt one stops everything
			// before anything is undone, and the undo order across
			// journals is by apply time, newest first.
			var all []pendingEntry
			for _, j := range journals {
				p, err := rb.read(j, explicit)
				if err != nil {
					return err
				}
				all = append(all, p...)
			}
			slices.SortStableFunc(all, func(a, b pendingEntry) int { return b.e.Began.Compare(a.e.Began) })
			if err := rb.rollback(ctx, all); err != nil {
				return err
			}
			if sweep {
				if len(rb.targets) == 0 && len(extra) == 0 {
					return &codeError{exitBadInput, errors.New("--sweep: the journals name no account to sweep; give --target EXPERIMENT.yaml")}
				}
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
	c, err := sandboxenv.Connect(ctx, t)
	if err != nil {
		return nil, err
	}
	rb.clients[t] = c
	return c, nil
}

// pendingEntry is a journal entry not yet rolled back, with its journal.
type pendingEntry struct {
	path string
	e    faults.Entry
}

// read reads one journal: its pending entries, and the targets of all its
// entries (for the sweep). A corrupt journal is exit 4, naming the line;
// a file that cannot be a journal (not regular, too big) is exit 2.
func (rb *rollbacker) read(path string, explicit bool) ([]pendingEntry, error) {
	if explicit {
		if err := checkJournalFile(path, false); err != nil { // regular, bounded (inputs.go)
			return nil, &codeError{exitBadInput, fmt.Errorf("--journal %s: %w", path, err)}
		}
	}
	jc, err := faults.ReadJournal(path)
	var ce *faults.CorruptError
	if errors.As(err, &ce) {
		return nil, &codeError{exitRollback, err}
	}
	if err != nil {
		return nil, &codeError{exitBadInput, err}
	}
	for _, t := range jc.Targets {
		if !slices.Contains(rb.targets, t) {
			rb.targets = append(rb.targets, t)
		}
	}
	if len(jc.Pending) == 0 {
		if explicit {
			fmt.Fprintf(rb.out, "%s: nothing pending\n", path)
		}
		return nil, nil
	}
	fmt.Fprintf(rb.out, "%s: %d fault(s) not rolled back\n", path, len(jc.Pending))
	rb.pending += len(jc.Pending)
	out := make([]pendingEntry, len(jc.Pending))
	for i, e := range jc.Pending {
		out[i] = pendingEntry{path, e}
	}
	return out, nil
}

// rollback finishes the pending entries in the order given (newest apply
// first, across journals), marks each done in its journal, and releases
// the leases of every run whose entries are all done.
func (rb *rollbacker) rollback(ctx context.Context, all []pendingEntry) error {
	jrs := map[string]*faults.Journal{}
	defer func() {
		for _, j := range jrs {
			j.Close()
		}
	}()
	type leaseKey struct {
		t  faults.Target
		id string
	}
	leased := map[leaseKey][]faults.Resource{}
	unfinished := map[string]bool{} // lease ids with an entry not done
	for _, pe := range all {
		e, path := pe.e, pe.path
		jr := jrs[path]
		if jr == nil {
			var err error
			if jr, err = faults.OpenJournal(path); err != nil {
				return &codeError{exitBadInput, err}
			}
			jrs[path] = jr
		}
		finished := rb.entry(ctx, jr, path, e)
		if finished == nil {
			unfinished[e.Lease] = true
			continue
		}
		if finished.err != nil {
			return finished.err
		}
		if e.Lease != "" && e.Target != nil && finished.f != nil {
			if l, ok := finished.f.(faults.Leaser); ok {
				k := leaseKey{*e.Target, e.Lease}
				leased[k] = append(leased[k], l.Leases()...)
			}
		}
	}
	for k, rs := range leased {
		if unfinished[k.id] {
			continue
		}
		c, err := rb.connect(ctx, k.t)
		if err != nil {
			continue
		}
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rb.timeout)
		if err := faults.Release(lctx, c, rs, k.id); err != nil {
			fmt.Fprintf(rb.out, "  note: could not release lease %s: %v (it expires by itself)\n", k.id, err)
		}
		cancel()
	}
	return nil
}

type entryResult struct {
	f   faults.Fault
	err error // fatal: stop everything
}

// entry finishes one pending entry; nil means it is not done (failed or
// skipped, counted and said).
func (rb *rollbacker) entry(ctx context.Context, jr *faults.Journal, path string, e faults.Entry) *entryResult {
	label := fmt.Sprintf("  %s %s (%s)", e.Kind, e.Fault, strings.Join(e.Targets, ", "))
	if e.Target == nil {
		rb.failed++
		fmt.Fprintf(rb.out, "%s: FAILED: the journal does not say which account it was applied in\n", label)
		return nil
	}
	if !rb.force && e.PID != 0 && journalProcessAlive(e.PID, e.Host, e.Began) {
		rb.skipped++
		rb.keep = append(rb.keep, undoToken(e))
		fmt.Fprintf(rb.out, "%s: SKIPPED: the run that applied it (pid %d) is still alive; stop it or use --force\n", label, e.PID)
		return nil
	}
	c, err := rb.connect(ctx, *e.Target)
	if errors.Is(err, runner.ErrInProcess) {
		rb.done++
		fmt.Fprintf(rb.out, "%s: nothing to do: %v\n", label, err)
		if err := jr.DoneNote(e.ID, "gameday rollback: "+err.Error()); err != nil {
			return &entryResult{err: &codeError{exitRollback, err}}
		}
		return &entryResult{}
	}
	if err != nil {
		rb.failed++
		rb.keep = append(rb.keep, undoToken(e))
		fmt.Fprintf(rb.out, "%s: FAILED: %v\n", label, err)
		return nil
	}
	f, err := faults.Restore(c, e)
	if err != nil {
		rb.failed++
		fmt.Fprintf(rb.out, "%s: FAILED: %v\n", label, err)
		return nil
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rb.timeout)
	attempts, err := faults.RollbackPatiently(fctx, f)
	cancel()
	if err != nil {
		rb.failed++
		rb.keep = append(rb.keep, undoToken(e))
		fmt.Fprintf(rb.out, "%s: FAILED after %d attempt(s): %v\n", label, attempts, err)
		return nil
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
		return &entryResult{err: &codeError{exitRollback, fmt.Errorf("rolled back %s but could not mark it done in %s: %w", e.Fault, path, err)}}
	}
	return &entryResult{f: f}
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
		keep := func(tok string) bool { return slices.Contains(rb.keep, tok) }
		found, err := faults.Sweep(sctx, c, keep)
		if err == nil {
			var dec []faults.Swept
			dec, err = faults.SweepDecrements(sctx, c, keep)
			found = append(found, dec...)
		}
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
			if s.Skipped != "" {
				fmt.Fprintf(rb.out, "sweep %s: left %s (run %s) alone: it belongs to a live run: %s\n", name, s.Resource, s.Run, s.Skipped)
				continue
			}
			if s.Err != nil {
				rb.failed++
				fmt.Fprintf(rb.out, "sweep %s: %s (run %s): FAILED: %v\n", name, s.Resource, s.Run, s.Err)
				continue
			}
			rb.done++
			if len(s.Subnets) == 0 && strings.HasPrefix(s.Resource, "group ") {
				fmt.Fprintf(rb.out, "sweep %s: finished the decrement on %s (run %s)\n", name, s.Resource, s.Run)
			} else {
				fmt.Fprintf(rb.out, "sweep %s: removed %s (run %s); subnets restored: %s\n", name, s.Resource, s.Run, strings.Join(s.Subnets, ", "))
			}
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

// journalProcessAlive reports whether the process that wrote a journal
// entry still runs: a gameday program (by argv[0], not a substring of the
// command line) with that pid, started before the entry was begun (a
// reused pid is not it). A journal from another host counts as not alive.
func journalProcessAlive(pid int, host string, began time.Time) bool {
	if h, _ := os.Hostname(); host != "" && host != h {
		return false
	}
	return faults.ProcessAlive(pid, host, began)
}
