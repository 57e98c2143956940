package inputfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// TooLargeError says a file is larger than the limit for its kind.
type TooLargeError struct {
	Path  string
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s: larger than the %s limit for this kind of file", e.Path, Size(e.Limit))
}

// NotRegularError says a path names a FIFO, a device, a directory or a socket.
type NotRegularError struct {
	Path string
	Mode os.FileMode
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s: not a regular file (%s); give a file", e.Path, kind(e.Mode))
}

// Open opens path for reading if it is a regular file. The open itself
// cannot block: a FIFO is opened non-blocking and refused by the check on
// the open descriptor, so a path swapped between a stat and the open is
// caught too. The returned reader fails with a *TooLargeError once more
// than limit bytes have been read (limit <= 0: no limit).
func Open(path string, limit int64) (io.ReadCloser, error) {
	if st, err := os.Stat(path); err != nil {
		return nil, err
	} else if !st.Mode().IsRegular() {
		return nil, &NotRegularError{Path: path, Mode: st.Mode()}
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, &NotRegularError{Path: path, Mode: st.Mode()}
	}
	if limit > 0 && st.Size() > limit {
		f.Close()
		return nil, &TooLargeError{Path: path, Limit: limit}
	}
	return &limited{f: f, path: path, left: limit, limit: limit}, nil
}

// Read returns the contents of the regular file at path, refusing anything
// larger than limit bytes (the file may grow while it is read; the limit
// holds anyway).
func Read(path string, limit int64) ([]byte, error) {
	r, err := Open(path, limit)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

type limited struct {
	f     *os.File
	path  string
	left  int64
	limit int64
}

func (l *limited) Read(p []byte) (int, error) {
	if l.limit <= 0 {
		return l.f.Read(p)
	}
	if l.left <= 0 {
		// One byte more tells a file of exactly limit bytes from a larger one.
		var one [1]byte
		if n, err := l.f.Read(one[:]); n == 0 && errors.Is(err, io.EOF) {
			return 0, io.EOF
		}
		return 0, &TooLargeError{Path: l.path, Limit: l.limit}
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.f.Read(p)
	l.left -= int64(n)
	return n, err
}

func (l *limited) Close() error { return l.f.Close() }

// Size renders a byte count the way limits are written in the README.
func Size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

func kind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return m.Type().String()
}
