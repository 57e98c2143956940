//go:build unix

package recovery

import (
	"os"
	"testing"
	"time"
)

func TestProcessAliveOtherHost(t *testing.T) {
	if ProcessAlive(os.Getppid(), "some-other-host.invalid", time.Now()) {
		t.Error("a journal from another host counts as alive")
	}
}
