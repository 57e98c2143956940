// Package exitcode carries a process exit code inside an error, so the
// code that knows why a command failed says how the process ends and main
// reads it in one place (as k6's errext does).
package exitcode
