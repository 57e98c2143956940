// Package sandboxenv opens a run's Environment: the in-process sandbox,
// a sandbox attached at target.sandbox.endpoint, or AWS. It links the
// sandbox, so the runner does not have to.
package sandboxenv
