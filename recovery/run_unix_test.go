//go:build unix

package recovery

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gameday-dev/gameday/internal/exitcode"
)

// Run's errors carry the CLI's exit codes; what it refuses, it refuses
// before touching anything.
func TestRunExitCodes(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.jsonl")
	if err := os.WriteFile(corrupt, []byte("{not json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.jsonl")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		o    Options
		code int
		msg  string
	}{
		{"sweep without target", Options{Sweep: true, Timeout: time.Minute}, exitcode.BadInput, "--sweep needs a target"},
		{"zero timeout", Options{}, exitcode.BadInput, "--timeout 0s: must be positive"},
		{"corrupt journal", Options{Journals: []string{empty, corrupt}, Explicit: true, Timeout: time.Minute}, exitcode.Rollback, "corrupt.jsonl"},
		{"not a regular file", Options{Journals: []string{fifo}, Explicit: true, Timeout: time.Minute}, exitcode.BadInput, "--journal " + fifo},
		{"sweep with no account", Options{Journals: []string{empty}, Sweep: true, Timeout: time.Minute}, exitcode.BadInput, "the journals name no account"},
	} {
		var out bytes.Buffer
		tc.o.Out = &out
		err := Run(context.Background(), tc.o)
		code, ok := exitcode.Of(err)
		if !ok || code != tc.code || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: Run = %v (code %d, %v); want code %d saying %q", tc.name, err, code, ok, tc.code, tc.msg)
		}
	}
	var out bytes.Buffer
	if err := Run(context.Background(), Options{Out: &out, Journals: []string{empty}, Explicit: true, Timeout: time.Minute}); err != nil {
		t.Fatalf("empty journal: %v", err)
	}
	if got := out.String(); got != empty+": nothing pending\nnothing to roll back\n" {
		t.Errorf("empty journal said %q", got)
	}
}
