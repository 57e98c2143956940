package recovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/environment"
	"github.com/gameday-dev/gameday/environment/sandboxenv"
	"github.com/gameday-dev/gameday/faults"
	"github.com/gameday-dev/gameday/internal/exitcode"
	"github.com/gameday-dev/gameday/internal/inputfile"
)

// MaxJournalBytes bounds a journal named on the command line; a journal
// holds a few lines per fault.
const MaxJournalBytes = 64 << 20

// CheckJournalFile refuses a journal that is not a regular file (a FIFO
// would block, /dev/zero would be read forever) or is larger than
// MaxJournalBytes. With missingOK a journal that does not exist yet (a run
// creates it) passes.
func CheckJournalFile(path string, missingOK bool) error {
	r, err := inputfile.Open(path, MaxJournalBytes)
	if err != nil {
		if missingOK && errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	return r.Close()
}

// Options configure Run.
type Options struct {
	// Out receives the progress, one line per fault and per swept resource.
	Out io.Writer
	// Journals to finish. Explicit says the user named them: each must be
	// a regular, bounded file (else exit 2), and one with nothing pending
	// says so.
	Journals []string
	Explicit bool
	// Force undoes faults whose run still seems alive.
	Force bool
	// Timeout bounds one fault's rollback (and one sweep, and one lease
	// release). It must be positive.
	Timeout time.Duration
	// Sweep also removes gameday-tagged leftovers no journal accounts for,
	// in every account the journals name and in Extra.
	Sweep bool
	Extra []faults.Location
}

// Run finishes every pending rollback in o.Journals and, with o.Sweep,
// sweeps. Every journal is read first: a corrupt one stops everything
// before anything is undone (exit 4, naming the line). The error carries
// the exit code: 2 bad input, 4 something could not be rolled back (the
// journal keeps it for another try).
func Run(ctx context.Context, o Options) error {
	if o.Sweep && len(o.Extra) == 0 && len(o.Journals) == 0 {
		return exitcode.With(exitcode.BadInput, errors.New("--sweep needs a target: give --target EXPERIMENT.yaml or a --journal"))
	}
	if o.Timeout <= 0 {
		return exitcode.With(exitcode.BadInput, fmt.Errorf("--timeout %s: must be positive", o.Timeout))
	}
	rb := &rollbacker{out: o.Out, force: o.Force, timeout: o.Timeout, clients: map[faults.Location]*awsclients.Clients{}}
	var all []pendingEntry
	for _, j := range o.Journals {
		p, err := rb.read(j, o.Explicit)
		if err != nil {
			return err
		}
		all = append(all, p...)
	}
	// Newest apply first, across journals.
	slices.SortStableFunc(all, func(a, b pendingEntry) int { return b.e.Began.Compare(a.e.Began) })
	if err := rb.rollback(ctx, all); err != nil {
		return err
	}
	if o.Sweep {
		if len(rb.targets) == 0 && len(o.Extra) == 0 {
			return exitcode.With(exitcode.BadInput, errors.New("--sweep: the journals name no account to sweep; give --target EXPERIMENT.yaml"))
		}
		rb.sweep(ctx, o.Extra)
	}
	if rb.pending == 0 && rb.failed == 0 && rb.done == 0 && !o.Sweep {
		fmt.Fprintln(o.Out, "nothing to roll back")
	}
	if rb.failed > 0 || rb.skipped > 0 {
		return exitcode.With(exitcode.Rollback, fmt.Errorf("rollback incomplete: %d failed, %d skipped; the journal keeps them for another try", rb.failed, rb.skipped))
	}
	return nil
}

type rollbacker struct {
	out     io.Writer
	force   bool
	timeout time.Duration
	clients map[faults.Location]*awsclients.Clients
	targets []faults.Location // seen in journals, for the sweep
	keep    []string          // tokens of blackholes still pending (the sweep leaves them)

	pending, done, failed, skipped int
}

func (rb *rollbacker) connect(ctx context.Context, t faults.Location) (*awsclients.Clients, error) {
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
		if err := CheckJournalFile(path, false); err != nil { // regular, bounded
			return nil, exitcode.With(exitcode.BadInput, fmt.Errorf("--journal %s: %w", path, err))
		}
	}
	jc, err := faults.ReadJournal(path)
	var ce *faults.CorruptError
	if errors.As(err, &ce) {
		return nil, exitcode.With(exitcode.Rollback, err)
	}
	if err != nil {
		return nil, exitcode.With(exitcode.BadInput, err)
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
		t  faults.Location
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
				return exitcode.With(exitcode.BadInput, err)
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
	if !rb.force && e.PID != 0 && ProcessAlive(e.PID, e.Host, e.Began) {
		rb.skipped++
		rb.keep = append(rb.keep, undoToken(e))
		fmt.Fprintf(rb.out, "%s: SKIPPED: the run that applied it (pid %d) is still alive; stop it or use --force\n", label, e.PID)
		return nil
	}
	c, err := rb.connect(ctx, *e.Target)
	if errors.Is(err, environment.ErrInProcess) {
		rb.done++
		fmt.Fprintf(rb.out, "%s: nothing to do: %v\n", label, err)
		if err := jr.DoneNote(e.ID, "gameday rollback: "+err.Error()); err != nil {
			return &entryResult{err: exitcode.With(exitcode.Rollback, err)}
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
		return &entryResult{err: exitcode.With(exitcode.Rollback, fmt.Errorf("rolled back %s but could not mark it done in %s: %w", e.Fault, path, err))}
	}
	return &entryResult{f: f}
}

// sweep removes tagged leftovers in every target seen, except those a
// still-pending journal entry accounts for.
func (rb *rollbacker) sweep(ctx context.Context, extra []faults.Location) {
	targets := rb.targets
	for _, t := range extra {
		if !slices.ContainsFunc(targets, func(u faults.Location) bool { return sameTarget(t, u) }) {
			targets = append(targets, t)
		}
	}
	for _, t := range targets {
		name := t.Kind + " " + strings.TrimSpace(t.Region+" "+t.EndpointURL)
		c, err := rb.connect(ctx, t)
		if errors.Is(err, environment.ErrInProcess) {
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
func sameTarget(a, b faults.Location) bool {
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
