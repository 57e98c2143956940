package main

import (
	"errors"
	"io/fs"

	"github.com/gameday-dev/gameday/internal/inputfile"
)

// maxJournalBytes bounds a rollback journal given with --journal; a journal
// holds a few lines per fault.
const maxJournalBytes = 64 << 20

// checkJournalFile refuses a --journal that is not a regular file (a FIFO
// would block, /dev/zero would be read forever) or is larger than
// maxJournalBytes. With missingOK a journal that does not exist yet (run
// creates it) passes.
func checkJournalFile(path string, missingOK bool) error {
	r, err := inputfile.Open(path, maxJournalBytes)
	if err != nil {
		if missingOK && errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	return r.Close()
}
