package generators

import (
	"os"
	"syscall"
)

// terminate ends a worker process (Windows has no SIGTERM: always hard).
func terminate(pid int, _ bool) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}

func sysProcAttr() *syscall.SysProcAttr { return nil }
