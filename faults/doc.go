// Package faults holds gameday's fault actions: a registry of fault kinds
// (each kind in its own file, registered at init), resolving a fault spec
// to concrete targets at plan time, applying it, rolling it back, and the
// on-disk rollback journal.
//
// A kind registers a Kind (registry.go): its name, its own YAML keys and
// validation (handed to package experiments), New, Restore, its ground
// truth rules and its Doc. docs/fault-kinds.md is built from the registry;
// docs/extending.md shows how to add a kind, and contract_test.go is the
// suite every registered kind passes.
//
// New resolves a spec (experiments.Fault) through the AWS APIs and changes
// nothing; the returned Fault names its exact targets and the resources it
// touches, and describes itself in one line for `gameday plan`.
//
// Apply records what it did as it goes, so after an error mid-way Rollback
// undoes exactly that. Rollback is idempotent and safe when Apply failed
// part-way or never ran. Undo returns a JSON-able record of what is needed
// to undo; the Journal writes it to disk (fsynced) before Apply, and
// Restore rebuilds a fault from a journal entry so a later `gameday
// rollback` can finish after a crash.
package faults
