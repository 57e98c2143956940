package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/topology"
)

// Kind is one fault kind as it registers itself (in its own file, at init):
// everything gameday knows of the kind comes from here, so adding a kind
// is adding a file. See docs/extending.md.
type Kind struct {
	Name string
	// Doc is the kind's entry in docs/fault-kinds.md (Markdown: what it
	// does, what rollback undoes, its own keys).
	Doc string
	// Fields are the kind's own top-level YAML keys beyond the envelope's
	// (they arrive in experiments.Fault.Params; decode them with
	// DecodeParams, which refuses unknown keys).
	Fields []string
	// Validate checks the spec's kind-specific settings for `gameday
	// validate` (field paths relative to the fault). Guards checks it
	// against the experiment's blast-radius guards.
	Validate func(x *experiments.Experiment, f *experiments.Fault, add func(field, msg string))
	Guards   func(g experiments.Guards, f *experiments.Fault, add func(field, msg string))
	// New resolves the spec's targets (plan time) and changes nothing.
	New func(ctx context.Context, c *awsclients.Clients, topo *topology.Topology, spec experiments.Fault) (Fault, error)
	// Restore rebuilds a possibly applied fault from its journaled undo
	// record; dec decodes the record into the kind's state.
	Restore func(c *awsclients.Clients, name string, dec func(any) error) (Fault, error)
	// Truth gives the ground-truth rules of a fault of the kind with these
	// resolved targets and spec (nil: none); see truth.go.
	Truth func(targets []string, spec experiments.Fault) Truth
}

var registry struct {
	sync.RWMutex
	kinds map[string]Kind
}

// Register makes a fault kind known to New, Restore, validation and the
// docs. Registering a name twice panics.
func Register(k Kind) {
	if k.Name == "" || k.New == nil || k.Restore == nil {
		panic(fmt.Sprintf("faults: kind %q registered without a name, New or Restore", k.Name))
	}
	registry.Lock()
	if _, dup := registry.kinds[k.Name]; dup {
		registry.Unlock()
		panic(fmt.Sprintf("faults: kind %q registered twice", k.Name))
	}
	if registry.kinds == nil {
		registry.kinds = map[string]Kind{}
	}
	registry.kinds[k.Name] = k
	registry.Unlock()
	experiments.RegisterFaultKind(experiments.FaultKind{Name: k.Name, Fields: k.Fields, Validate: k.Validate, Guards: k.Guards})
}

// Lookup returns the registered kind called name.
func Lookup(name string) (Kind, bool) {
	registry.RLock()
	defer registry.RUnlock()
	k, ok := registry.kinds[name]
	return k, ok
}

// Kinds lists the registered fault kinds, sorted.
func Kinds() []string {
	registry.RLock()
	defer registry.RUnlock()
	names := make([]string, 0, len(registry.kinds))
	for n := range registry.kinds {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// DecodeParams decodes a fault's kind-specific keys into the kind's typed
// spec (experiments.DecodeFaultParams), refusing keys the spec does not
// have. The error is a *SpecError naming the first bad field.
func DecodeParams(spec experiments.Fault, out any) error {
	if ps := experiments.DecodeFaultParams(spec.Params, out); len(ps) > 0 {
		return &SpecError{Fault: spec.Name, Field: ps[0].Path, Msg: ps[0].Message}
	}
	return nil
}

// validateParams is the usual start of a kind's Validate: decode its own
// keys, reporting each problem at its field.
func validateParams(f *experiments.Fault, out any, add func(field, msg string)) bool {
	ps := experiments.DecodeFaultParams(f.Params, out)
	for _, p := range ps {
		add(p.Path, p.Message)
	}
	return len(ps) == 0
}

// restoreState is the usual Restore: decode the undo record into st and
// mark it applying (a journaled fault may have been applied).
func restoreState(dec func(any) error, st any, applying *bool) error {
	if err := dec(st); err != nil {
		return err
	}
	*applying = true
	return nil
}

// beginApply is the prelude every Apply shares: under mu, refuse a second
// Apply, mark the state applying (so a journal written from now on says
// so) and return a copy of the state to work from.
func beginApply[S any](mu *sync.Mutex, name string, st *S, applying *bool) (S, error) {
	mu.Lock()
	defer mu.Unlock()
	if *applying {
		var zero S
		return zero, fmt.Errorf("fault %q: %w", name, errAlreadyApplied)
	}
	*applying = true
	return *st, nil
}

// KindsMarkdown is docs/fault-kinds.md, built from the registry.
func KindsMarkdown() string {
	var b strings.Builder
	b.WriteString("# Fault kinds\n\n<!-- Generated from the fault registry (faults.KindsMarkdown); `go test ./faults/ -run TestKindsDoc -update` rewrites it. -->\n\n")
	b.WriteString("Every fault has `name`, `kind`, `at` (or `after: recovered` and `delay`), `duration` where the kind holds it, and `targets` (`group`, `az`, `tags`, `instance_ids`, `count`, `percent`, `seed`, as the kind uses them).\n")
	for _, n := range Kinds() {
		k, _ := Lookup(n)
		fmt.Fprintf(&b, "\n## `%s`\n\n%s\n", n, strings.TrimSpace(k.Doc))
		if len(k.Fields) > 0 {
			fmt.Fprintf(&b, "\nOwn keys: `%s`.\n", strings.Join(k.Fields, "`, `"))
		}
	}
	return b.String()
}

// snapshot is the prelude every Rollback shares: a copy of the state taken
// under mu; clone, when given, deep-copies what the copy must not share.
func snapshot[S any](mu *sync.Mutex, st *S, clone func(*S)) S {
	mu.Lock()
	defer mu.Unlock()
	c := *st
	if clone != nil {
		clone(&c)
	}
	return c
}

func decodeUndo(e Entry) func(any) error {
	return func(v any) error {
		if len(e.Undo) == 0 {
			return fmt.Errorf("journal entry %s: no undo record", e.ID)
		}
		if err := json.Unmarshal(e.Undo, v); err != nil {
			return fmt.Errorf("journal entry %s: undo record: %w", e.ID, err)
		}
		return nil
	}
}
