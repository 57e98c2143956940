package experiments_test

// Fault kinds register themselves from package faults (which imports this
// package); linking it here makes them known to this package's tests too.
import _ "github.com/gameday-dev/gameday/faults"
