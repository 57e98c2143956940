package runner

// Errors from Prepare that are the input's fault end the process with exit
// code 2 (internal/exitcode reads ExitCode; InputError carries its own, in
// package environment).

// ExitCode is ExitBadInput: a guard refused the experiment's targets.
func (e *GuardError) ExitCode() int { return ExitBadInput }
