package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/gameday-dev/gameday/analysis"
	"github.com/gameday-dev/gameday/attack"
	"github.com/gameday-dev/gameday/compare"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/faults"
	"github.com/gameday-dev/gameday/internal/exitcode"
	"github.com/gameday-dev/gameday/record"
	"github.com/gameday-dev/gameday/recovery"
	"github.com/gameday-dev/gameday/reports"
	"github.com/gameday-dev/gameday/runner"
	"github.com/gameday-dev/gameday/sandbox"
)

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "dev"

// Main runs the CLI in-process and returns the exit code; tests call it
// directly. ctx is cancelled on SIGINT/SIGTERM.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return new(session).main(ctx, args, stdout, stderr)
}

// session is what one invocation shares between the command and the signal
// handler in main: the subcommand running and the journal of the run in
// progress.
type session struct {
	command atomic.Value // string
	journal atomic.Value // string
}

func (s *session) noteCommand(cmd *cobra.Command, _ []string) { s.command.Store(cmd.Name()) }

// commandName is the subcommand running ("" before cobra chose one).
func (s *session) commandName() string { n, _ := s.command.Load().(string); return n }

// activeJournal is the journal of the run in progress ("" if none).
func (s *session) activeJournal() string { j, _ := s.journal.Load().(string); return j }

func (s *session) main(ctx context.Context, args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		// A bug that panics outside a run's own guards (a renderer, say)
		// still gets a documented exit code and a pointer to the journal:
		// 4 if a fault may be left, 5 otherwise.
		if v := recover(); v != nil {
			code = exitcode.Error
			fmt.Fprintf(stderr, "gameday: internal error: %v\n", v)
			if j := s.activeJournal(); j != "" {
				if pending, err := faults.ReadPending(j); err != nil || len(pending) > 0 {
					code = exitcode.Rollback
					fmt.Fprintf(stderr, "gameday: faults may be left behind; run `gameday rollback --journal %s`\n", j)
				}
			}
		}
	}()
	root := s.newRoot(stdout, stderr)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	code, ok := exitcode.Of(err)
	if !ok {
		// Cobra's own errors (unknown flag, wrong arguments) are bad input.
		fmt.Fprintln(stderr, "gameday:", err)
		return exitcode.BadInput
	}
	if err.Error() != "" {
		fmt.Fprintln(stderr, "gameday:", err)
	}
	return code
}

func (s *session) newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "gameday",
		Short:         "Resilience experiments for AWS web stacks: load, faults, recovery, evidence",
		SilenceUsage:  true,
		SilenceErrors: true,
		// The signal handler in main says and does what fits the command.
		PersistentPreRun: s.noteCommand,
		Long: `gameday sends open-model HTTP load at a load balancer while it injects faults
(terminate instances, fail a database over, blackhole an Availability Zone),
measures how long users were hurt, rolls every fault back, and reports.

Exit codes: 0 pass, 1 gate failed, 2 bad input, 3 aborted by a stop condition,
4 rollback incomplete, 5 runtime/AWS error, 130 interrupted.`,
	}
	root.AddCommand(s.newRunCmd(stdout, stderr), newPlanCmd(stdout), newValidateCmd(stdout),
		newSandboxCmd(stdout), newReportCmd(stdout), newCompareCmd(stdout), newVersionCmd(stdout), newRollbackCmd(stdout), newWorkerCmd(stderr))
	return root
}

type loadOpts struct{ set []string }

func (o *loadOpts) addFlags(c *cobra.Command) {
	c.Flags().StringArrayVar(&o.set, "set", nil, "override a field, KEY=VALUE (e.g. --set load.rate=50); repeatable")
}

func (o *loadOpts) load(path string) (*experiments.Experiment, *experiments.Compiled, error) {
	over := map[string]string{}
	for _, kv := range o.set {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, nil, exitcode.With(exitcode.BadInput, fmt.Errorf("--set %q: want KEY=VALUE", kv))
		}
		over[k] = v
	}
	x, c, err := experiments.LoadFile(path, over)
	if err != nil {
		return nil, nil, exitcode.With(exitcode.BadInput, err)
	}
	return x, c, nil
}

// prepareErr gives a Prepare error without its own exit code (bad input
// errors carry 2) the runtime error's, 5.
func prepareErr(err error) error {
	if _, ok := exitcode.Of(err); ok {
		return err
	}
	return exitcode.With(exitcode.Error, err)
}

func (s *session) newRunCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		lo      loadOpts
		out     string
		raw     bool
		quiet   bool
		yes     bool
		journal string
		events  string
		formats []string
		prev    string
	)
	c := &cobra.Command{
		Use:   "run EXPERIMENT.yaml",
		Short: "Run an experiment: baseline, faults, rollback, verification, report",
		Example: `  gameday run experiments/gameday.yaml              # full game day on the embedded sandbox
  gameday run experiments/instance-loss.yaml --out out/il --raw
  GAMEDAY_LOAD_RATE=50 gameday run configs/aws-example.yaml
  gameday run experiments/db-failover.yaml --set load.duration=60s`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			x, comp, err := lo.load(args[0])
			if err != nil {
				return err
			}
			if journal != "" {
				if err := recovery.CheckJournalFile(journal, true); err != nil {
					return exitcode.With(exitcode.BadInput, fmt.Errorf("--journal: %w", err))
				}
			}
			fs, table, rawWanted, err := runFormats(formats, x)
			if err != nil {
				return exitcode.With(exitcode.BadInput, fmt.Errorf("--format: %w", err))
			}
			raw = raw || rawWanted
			var base *record.Run
			if prev != "" {
				if base, err = record.Read(prev); err != nil {
					return exitcode.With(exitcode.BadInput, fmt.Errorf("--baseline: %w", err))
				}
			}
			runID := ""
			if out == "" {
				if out, err = newRunDir("gameday-runs", x.Name, time.Now()); err != nil {
					return exitcode.With(exitcode.Error, fmt.Errorf("create output folder: %w", err))
				}
				runID = filepath.Base(out)
			} else if err := os.MkdirAll(out, 0o755); err != nil {
				return exitcode.With(exitcode.Error, fmt.Errorf("create output folder: %w", err))
			}
			ctx := cmd.Context()
			p, err := prepare(ctx, x, comp, events)
			if err != nil {
				return prepareErr(err)
			}
			defer p.Close()
			if !quiet {
				fmt.Fprint(stderr, p.PlanText())
			}
			if err := confirm(p, yes, !quiet, stderr); err != nil {
				return err
			}
			opts := runner.Options{JournalPath: journal, TTY: isTerminal(stderr), RunID: runID}
			if opts.JournalPath == "" {
				opts.JournalPath = filepath.Join(out, "journal.jsonl")
			}
			s.journal.Store(opts.JournalPath)
			if !quiet {
				opts.Progress = stderr
			}
			var rawFile *os.File
			if raw {
				rawFile, err = os.Create(filepath.Join(out, "results.gob"))
				if err != nil {
					return exitcode.With(exitcode.Error, err)
				}
				defer rawFile.Close()
				w, err := attack.NewRawWriter(rawFile, "gob")
				if err != nil {
					return exitcode.With(exitcode.Error, err)
				}
				opts.Raw = w
			}
			opts.Baseline, opts.BaselineFile = base, prev
			if x.Load.Generators != nil { // cmd/gameday/worker.go
				if opts.RunID == "" {
					opts.RunID = runner.NewRunID(x.Name, time.Now())
				}
				var logs io.Writer = stderr
				if quiet {
					logs = io.Discard
				}
				coord, err := newCoordinator(x, p, out, opts.RunID, raw, logs)
				if err != nil {
					return exitcode.With(exitcode.Error, fmt.Errorf("load generators: %w", err))
				}
				defer coord.Close()
				opts.Remote = coord
			}
			rec := p.Run(ctx, opts)
			var regressions []analysis.Verdict
			for _, g := range rec.Gates {
				if compare.IsRegression(g) {
					regressions = append(regressions, g)
				}
			}
			paths, err := reports.WriteFiles(out, rec, fs)
			if err != nil {
				fmt.Fprintln(stderr, "gameday: write report:", err)
			}
			if table {
				if err := reports.Table(stdout, rec); err != nil {
					fmt.Fprintln(stderr, "gameday: render table:", err)
				}
				if base != nil {
					fmt.Fprintf(stdout, "\nCompared with the baseline %s\n", prev)
					if err := compare.Runs(base, rec).Table(stdout, regressions); err != nil {
						fmt.Fprintln(stderr, "gameday: render comparison:", err)
					}
				}
			}
			fmt.Fprintln(stdout)
			for _, p := range paths {
				fmt.Fprintf(stdout, "report: %s\n", p)
			}
			if rawFile != nil {
				fmt.Fprintf(stdout, "report: %s\n", rawFile.Name())
			}
			if rec.ExitCode != 0 {
				return exitcode.With(rec.ExitCode, errors.New(string(rec.Status)+": "+rec.Message))
			}
			return nil
		},
	}
	lo.addFlags(c)
	c.Flags().StringVar(&out, "out", "", "folder for the report files (default gameday-runs/NAME-TIME)")
	c.Flags().BoolVar(&raw, "raw", false, "also write every result in vegeta's gob encoding (results.gob; `vegeta report` reads it)")
	c.Flags().StringSliceVarP(&formats, "format", "f", nil, "reports to write, comma-separated: "+strings.Join(experiments.ReportFormats, ", ")+
		" (default: the experiment's report.formats, else all; run.json is always written, table goes to stdout)")
	c.Flags().StringVar(&prev, "baseline", "", "a previous run's run.json: judge the experiment's regression gates against it and show the change")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "no plan or progress on stderr")
	c.Flags().BoolVarP(&yes, "yes", "y", false, "AWS targets: inject without asking (check `gameday plan` first)")
	c.Flags().StringVar(&journal, "journal", "", "rollback journal file (default OUT/journal.jsonl)")
	c.Flags().StringVar(&events, "sandbox-events", "", "sandbox targets: append the region's ground-truth events (every state change and API call) to this file")
	return c
}

func newPlanCmd(stdout io.Writer) *cobra.Command {
	var lo loadOpts
	var asJSON bool
	var events string
	c := &cobra.Command{
		Use:   "plan EXPERIMENT.yaml",
		Short: "Dry run: validate, resolve targets, print what would happen; changes nothing",
		Example: `  gameday plan experiments/gameday.yaml
  gameday plan configs/aws-example.yaml --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			x, comp, err := lo.load(args[0])
			if err != nil {
				return err
			}
			p, err := prepare(cmd.Context(), x, comp, events)
			if err != nil {
				return prepareErr(err)
			}
			defer p.Close()
			if asJSON {
				type fault struct {
					Name, Kind, Plan string
					Targets          []string
				}
				var fs []fault
				for _, pf := range p.Faults {
					f := pf.Fault
					fs = append(fs, fault{f.Name(), f.Kind(), f.Describe(), f.Resources()})
				}
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"experiment": x.Name, "topology": p.Topology, "faults": fs,
					"load": map[string]any{"stages": comp.Stages, "peak_rps": experiments.PeakRate(comp.Stages), "duration": x.Load.Duration.String()}})
			}
			fmt.Fprint(stdout, p.PlanText())
			return nil
		},
	}
	lo.addFlags(c)
	c.Flags().BoolVar(&asJSON, "json", false, "print the resolved plan as JSON")
	c.Flags().StringVar(&events, "sandbox-events", "", "sandbox targets: append the region's ground-truth events to this file (shows plan makes no mutating call)")
	return c
}

func newValidateCmd(stdout io.Writer) *cobra.Command {
	var lo loadOpts
	c := &cobra.Command{
		Use:     "validate EXPERIMENT.yaml...",
		Short:   "Check experiment files; every problem is named by file and field path",
		Example: "  gameday validate experiments/*.yaml\n  gameday validate experiments/gameday.yaml --set load.rate=500",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var bad []string
			for _, f := range args {
				x, c, err := lo.load(f)
				if err != nil {
					bad = append(bad, err.Error())
					continue
				}
				fmt.Fprintf(stdout, "%s: ok\n", f)
				for _, w := range experiments.WindowWarnings(x, c) {
					fmt.Fprintf(stdout, "%s: warning: %s\n", f, w)
				}
			}
			if len(bad) > 0 {
				return exitcode.With(exitcode.BadInput, errors.New(strings.Join(bad, "\n")))
			}
			return nil
		},
	}
	lo.addFlags(c)
	return c
}

func newSandboxCmd(stdout io.Writer) *cobra.Command {
	var (
		profile, config, events, dbKind string
		apiPort, dnsPort                int
	)
	c := &cobra.Command{
		Use:   "sandbox",
		Short: "Start the embedded local AWS region on loopback and keep it running",
		Example: `  gameday sandbox
  gameday sandbox --api-port 4566 --profile aws
  AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x aws --region local-1 \
      --endpoint-url http://127.0.0.1:4566 ec2 describe-instances`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var cfg sandbox.Config
			if config != "" {
				var err error
				if cfg, err = sandbox.LoadConfig(config); err != nil {
					return exitcode.With(exitcode.BadInput, err)
				}
			}
			if profile != "" {
				cfg.Region.Profile = profile
			}
			if dbKind != "" {
				cfg.Region.DB.Kind = dbKind
			}
			if events != "" {
				cfg.Region.EventLog = events
			}
			if apiPort != 0 {
				cfg.APIPort = apiPort
			}
			if dnsPort != 0 {
				cfg.DNSPort = dnsPort
			}
			sb, err := sandbox.Start(cmd.Context(), cfg)
			if err != nil {
				return exitcode.With(exitcode.BadInput, err)
			}
			defer sb.Close()
			fmt.Fprint(stdout, sb.Summary().String())
			fmt.Fprintf(stdout, "\ntry:  AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x aws --region %s --endpoint-url %s ec2 describe-instances\n", sb.Summary().Region, sb.Endpoint())
			fmt.Fprintln(stdout, "running; press Ctrl-C to stop")
			<-cmd.Context().Done()
			return nil
		},
	}
	c.Flags().StringVar(&profile, "profile", "", "timing profile: fast (default) or aws")
	c.Flags().StringVar(&config, "config", "", "sandbox config file (YAML: region timings, group size, ports)")
	c.Flags().StringVar(&events, "events", "", "append ground-truth events to this file as JSON lines")
	c.Flags().StringVar(&dbKind, "db", "", "database shape: instance (Multi-AZ) or cluster (Aurora-style)")
	c.Flags().IntVar(&apiPort, "api-port", 0, "AWS API port on 127.0.0.1 (default: a free port)")
	c.Flags().IntVar(&dnsPort, "dns-port", 0, "DNS port on 127.0.0.1 (default: a free port)")
	return c
}

func newVersionCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version",
		Example: "  gameday version",
		Args:    cobra.NoArgs,
		Run:     func(*cobra.Command, []string) { fmt.Fprintln(stdout, "gameday", Version) },
	}
}

func sandboxConfig(events string) *sandbox.Config {
	cfg := &sandbox.Config{}
	cfg.Region.EventLog = events
	return cfg
}

var unsafe = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func safeName(s string) string { return strings.Trim(unsafe.ReplaceAllString(s, "-"), "-") }

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
