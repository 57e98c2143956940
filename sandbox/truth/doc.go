// Package truth holds the sandbox's ground-truth types (its failure record
// and its state-change events) and their names, without the simulation, so
// that the harness can read them without linking the sandbox.
package truth
