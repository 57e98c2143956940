package faults

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/topology"
)

// Kinds of fault.
const (
	KindTerminateInstances = "terminate-instances"
	KindDBFailover         = "db-failover"
	KindAZBlackhole        = "az-blackhole"
)

// Fault is one fault, resolved to concrete targets at plan time.
type Fault interface {
	Name() string
	Kind() string
	// Resources are the exact resources resolved at plan time (instance ids,
	// db id, subnet ids).
	Resources() []string
	// Touches are the AWS resources the fault changes, by type (for
	// require_tag).
	Touches() []Touched
	// Describe is one line for `gameday plan`.
	Describe() string
	// Apply injects the fault. On an error mid-way, what was applied stays
	// recorded so Rollback undoes exactly that. A fault applies once.
	Apply(ctx context.Context) error
	// Rollback undoes what Apply did. It is idempotent, and safe after a
	// partial or failed Apply and when Apply never ran.
	Rollback(ctx context.Context) error
	// Undo is a JSON-able record of what is needed to undo the fault, for
	// the journal; Restore rebuilds a fault from it.
	Undo() any
}

// RunTagger is implemented by faults that tag what they create with the
// run's id (so `gameday rollback --sweep` can find it from the AWS side).
type RunTagger interface {
	SetRun(id string)
}

// Noter is implemented by faults whose rollback can leave notes (e.g. an
// original network ACL was gone and the VPC's default ACL was used).
type Noter interface {
	Notes() []string
}

// SpecError says a fault's spec cannot be resolved into targets; nothing
// was changed. Field is the spec field at fault, e.g. "targets.az".
type SpecError struct {
	Fault string
	Field string
	Msg   string
}

func (e *SpecError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("fault %q: %s", e.Fault, e.Msg)
	}
	return fmt.Sprintf("fault %q: %s: %s", e.Fault, e.Field, e.Msg)
}

func specErr(spec experiments.Fault, field, format string, args ...any) error {
	return &SpecError{Fault: spec.Name, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// New resolves the spec's targets now (plan time) through the AWS APIs and
// returns the fault. It only reads; it changes nothing.
func New(ctx context.Context, c *awsclients.Clients, topo *topology.Topology, spec experiments.Fault) (Fault, error) {
	if c == nil {
		return nil, errors.New("faults: nil AWS clients")
	}
	if topo == nil {
		topo = &topology.Topology{}
	}
	if spec.Name == "" {
		return nil, specErr(spec, "name", "must not be empty")
	}
	k, ok := Lookup(spec.Kind)
	if !ok {
		return nil, specErr(spec, "kind", "unknown fault kind %q (want one of %s)", spec.Kind, strings.Join(Kinds(), ", "))
	}
	return k.New(ctx, c, topo, spec)
}

// Restore rebuilds a fault from a journal entry, so that a later
// `gameday rollback` can finish what a crashed run left behind. The fault
// is treated as possibly applied: Rollback looks the current state up.
func Restore(c *awsclients.Clients, e Entry) (Fault, error) {
	if c == nil {
		return nil, errors.New("faults: nil AWS clients")
	}
	k, ok := Lookup(e.Kind)
	if !ok {
		return nil, fmt.Errorf("journal entry %s: unknown fault kind %q", e.ID, e.Kind)
	}
	return k.Restore(c, e.Fault, decodeUndo(e))
}

// errCode returns the AWS error code of err, or "".
func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

var errAlreadyApplied = errors.New("already applied (a fault applies once)")
