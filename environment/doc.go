// Package environment is where a run happens: the AWS API its clients call,
// where its load goes and how it resolves names, where its faults are
// recorded for the journal, and the optional ground-truth feed. One
// Environment serves the in-process sandbox, an attached sandbox and AWS
// alike (package sandboxenv opens the sandbox ones); the runner never asks
// which one it has.
package environment
