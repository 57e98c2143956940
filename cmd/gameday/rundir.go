package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// newRunDir creates a run folder of its own under parent and returns it;
// its base name is the run id: NAME-TIME-RANDOM. The folder is created
// exclusively (os.Mkdir fails if it exists), so two runs started in the
// same second, in one process or two, never share a folder, a journal or
// a run.json.
func newRunDir(parent, name string, now time.Time) (string, error) {
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", err
	}
	stamp := now.UTC().Format("20060102T150405Z")
	for range 10 {
		var b [3]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		dir := filepath.Join(parent, fmt.Sprintf("%s-%s-%s", safeName(name), stamp, hex.EncodeToString(b[:])))
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", err
		}
	}
	return "", fmt.Errorf("no free run folder under %s", parent)
}
