package reports_test

// Fault and probe kinds register themselves from packages faults and
// probes; linking them lets this package's tests load experiments back
// (TestSpecIsShownAsLoadableYAML).
import (
	_ "github.com/gameday-dev/gameday/faults"
	_ "github.com/gameday-dev/gameday/probes"
)
