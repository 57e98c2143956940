package reports_test

// Fault kinds register themselves from package faults; linking it lets
// this package's tests load experiments back (TestSpecIsShownAsLoadableYAML).
import _ "github.com/gameday-dev/gameday/faults"
