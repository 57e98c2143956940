// Package compare sets two run records side by side — each fault's recovery
// (matched by fault name) and each phase's figures (matched by phase name),
// with the absolute and relative change — and judges regression gates
// (experiments.Regression) of a run against a baseline run. It reads only
// records, so any two saved runs can be compared.
package compare
