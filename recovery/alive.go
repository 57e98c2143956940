package recovery

import (
	"os"
	"time"

	"github.com/gameday-dev/gameday/internal/procalive"
)

// ProcessAlive reports whether the process that wrote a journal entry still
// runs, so its faults are not undone under it (procalive.Local). A journal
// from another host counts as not alive: its process cannot be seen from
// here, and the journal was brought here to be rolled back.
func ProcessAlive(pid int, host string, began time.Time) bool {
	if h, _ := os.Hostname(); host != "" && host != h {
		return false
	}
	return procalive.Local(pid, began)
}
