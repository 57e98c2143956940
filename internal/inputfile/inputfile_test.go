package inputfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRegularFileWithinLimit(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x")
	if err := os.WriteFile(p, []byte("12345"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int64{5, 6, 0} {
		b, err := Read(p, limit)
		if err != nil || string(b) != "12345" {
			t.Fatalf("limit %d: %q %v", limit, b, err)
		}
	}
	_, err := Read(p, 4)
	var tl *TooLargeError
	if !errors.As(err, &tl) || !strings.Contains(err.Error(), "4 bytes limit") {
		t.Fatalf("want too large, got %v", err)
	}
}

// /dev/zero is endless: reading it must be refused, not attempted.
func TestDeviceRefused(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	_, err := Read("/dev/zero", 1<<20)
	var nr *NotRegularError
	if !errors.As(err, &nr) || !strings.Contains(err.Error(), "character device") {
		t.Fatalf("want not-regular, got %v", err)
	}
}

// A FIFO with no writer would block open(2) forever; it is refused at once.
func TestFIFORefusedWithoutBlocking(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	done := make(chan error, 1)
	go func() { _, err := Read(p, 1<<20); done <- err }()
	select {
	case err := <-done:
		var nr *NotRegularError
		if !errors.As(err, &nr) || !strings.Contains(err.Error(), "FIFO") {
			t.Fatalf("want not-regular, got %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("reading a FIFO blocked")
	}
}

func TestDirectoryRefused(t *testing.T) {
	_, err := Open(t.TempDir(), 10)
	var nr *NotRegularError
	if !errors.As(err, &nr) {
		t.Fatalf("want not-regular, got %v", err)
	}
}

// A file that grows past the limit after the size check still stops at it.
func TestStreamingLimit(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x")
	if err := os.WriteFile(p, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Open(p, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := os.WriteFile(p, []byte("abcdefgh"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	var tl *TooLargeError
	if !errors.As(err, &tl) || len(b) > 3 {
		t.Fatalf("read %q, %v", b, err)
	}
}
