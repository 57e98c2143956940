// Package simtest holds what tests of the packages built on the sandbox
// share: timings that make the simulated region react in well under a second.
package simtest
