package faults

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Journal states.
const (
	StateApplying   = "applying"    // written before Apply is called
	StateApplied    = "applied"     // Apply returned (ok or not); carries the fuller undo record
	StateRolledBack = "rolled-back" // Rollback succeeded; the entry is done
)

// Entry is one line of the journal (JSON lines, append-only). Lines with
// the same ID describe one fault; the last undo record wins.
type Entry struct {
	ID      string          `json:"id"`
	Run     string          `json:"run"`
	Time    time.Time       `json:"time"`
	Fault   string          `json:"fault"`
	Kind    string          `json:"kind"`
	Targets []string        `json:"targets,omitempty"`
	Undo    json.RawMessage `json:"undo,omitempty"`
	State   string          `json:"state"`
	Error   string          `json:"error,omitempty"`
	// Target says how to reach the account again (on Begin lines).
	Target *Location `json:"target,omitempty"`
	// PID and Host identify the process that applied the fault, so that
	// `gameday rollback` does not undo the fault of a run still going.
	PID  int    `json:"pid,omitempty"`
	Host string `json:"host,omitempty"`
	Note string `json:"note,omitempty"`
	// Lease is the id of the run's lease on the fault's resources (on
	// Begin lines), so `gameday rollback` can release it.
	Lease string `json:"lease,omitempty"`
	// Began is when the entry's Begin line was written (not stored: the
	// Begin line's Time); rollback across journals goes by it.
	Began time.Time `json:"-"`
}

// Location is where a journal's faults were applied: enough to build AWS
// clients again after a crash. Credentials are never written.
type Location struct {
	Kind        string `json:"kind"` // aws | sandbox
	Region      string `json:"region,omitempty"`
	Profile     string `json:"profile,omitempty"`
	EndpointURL string `json:"endpoint_url,omitempty"`
	Account     string `json:"account,omitempty"`
	// InProcess: the sandbox ran inside the gameday process, so its state
	// ended with that process and there is nothing left to undo.
	InProcess bool `json:"in_process,omitempty"`
}

// Journal is an append-only file of fault entries, synced to disk after
// every line, so that a crashed run's faults can be rolled back later.
type Journal struct {
	mu     sync.Mutex
	path   string
	f      *os.File
	seq    int
	pid    string
	target *Location
	lease  string
}

// SetLease records the run's lease id; every later Begin line carries it.
func (j *Journal) SetLease(id string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.lease = id
}

// SetLocation records where faults are applied; every later Begin line
// carries it.
func (j *Journal) SetLocation(t Location) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.target = &t
}

// OpenJournal opens (creating if needed) the journal at path for appending.
func OpenJournal(path string) (*Journal, error) {
	if path == "" {
		return nil, errors.New("journal: empty path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if statErr == nil {
		// A crash may have left a torn last line: end it, so new lines
		// start clean (ReadPending skips the torn one).
		if err := endTornLine(path, f); err != nil {
			f.Close()
			return nil, err
		}
	}
	if errors.Is(statErr, os.ErrNotExist) {
		// Make the new file's directory entry durable too.
		if d, err := os.Open(filepath.Dir(path)); err == nil {
			_ = d.Sync()
			d.Close()
		}
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return &Journal{path: path, f: f, pid: hex.EncodeToString(b[:])}, nil
}

func endTornLine(path string, f *os.File) error {
	r, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer r.Close()
	st, err := r.Stat()
	if err != nil || st.Size() == 0 {
		return err
	}
	b := make([]byte, 1)
	if _, err := r.ReadAt(b, st.Size()-1); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if b[0] == '\n' {
		return nil
	}
	if _, err := f.Write([]byte{'\n'}); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return f.Sync()
}

// Path is the journal's file.
func (j *Journal) Path() string { return j.path }

// Begin records, durably, that f is about to be applied in run runID. Call
// it BEFORE Apply; it returns the entry's id for Applied and Done.
func (j *Journal) Begin(runID string, f Fault) (string, error) {
	j.mu.Lock()
	j.seq++
	id := fmt.Sprintf("%s-%s-%03d", runID, j.pid, j.seq)
	j.mu.Unlock()
	e, err := entryOf(id, runID, f, StateApplying)
	if err != nil {
		return "", err
	}
	j.mu.Lock()
	e.Target, e.Lease = j.target, j.lease
	j.mu.Unlock()
	e.PID = os.Getpid()
	e.Host, _ = os.Hostname()
	return id, j.append(e)
}

// Applied records f's undo record after Apply returned (applyErr is its
// result), so a later rollback knows exactly what was applied.
func (j *Journal) Applied(entryID, runID string, f Fault, applyErr error) error {
	e, err := entryOf(entryID, runID, f, StateApplied)
	if err != nil {
		return err
	}
	if applyErr != nil {
		e.Error = applyErr.Error()
	}
	return j.append(e)
}

// Done records that the entry's fault was rolled back.
func (j *Journal) Done(entryID string) error {
	return j.DoneNote(entryID, "")
}

// DoneNote records that the entry is finished, with a note saying how
// (e.g. "finished by gameday rollback").
func (j *Journal) DoneNote(entryID, note string) error {
	return j.append(Entry{ID: entryID, Time: time.Now().UTC(), State: StateRolledBack, Note: note})
}

// Close closes the file.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}

func entryOf(id, runID string, f Fault, state string) (Entry, error) {
	undo, err := json.Marshal(f.Undo())
	if err != nil {
		return Entry{}, fmt.Errorf("journal: undo record of %q: %w", f.Name(), err)
	}
	return Entry{ID: id, Run: runID, Time: time.Now().UTC(), Fault: f.Name(), Kind: f.Kind(), Targets: f.Resources(), Undo: undo, State: state}, nil
}

func (j *Journal) append(e Entry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	line = append(line, '\n')
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return errors.New("journal: closed")
	}
	if _, err := j.f.Write(line); err != nil {
		return fmt.Errorf("journal: write %s: %w", j.path, err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("journal: sync %s: %w", j.path, err)
	}
	return nil
}

// MaxJournalBytes bounds what ReadPending reads: a journal holds a few
// lines per fault, so anything near this size is not a journal.
const MaxJournalBytes = 64 << 20

// CorruptError says a journal line is neither a journal entry nor a torn
// write: the journal cannot be trusted to say what is pending.
type CorruptError struct {
	Path string
	Line int
	Msg  string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("journal %s: line %d: %s; refusing to guess what is pending (repair or move the file, then run again)", e.Path, e.Line, e.Msg)
}

// Contents is what a journal says: the entries not yet rolled back (in
// the order they were begun), and every target any entry names.
type Contents struct {
	Pending []Entry
	Targets []Location
	Entries int // distinct entries, done ones included
}

// ReadPending returns the journal's entries not yet rolled back, in the
// order they were begun, each with its latest undo record and state. A
// missing file has no pending entries.
func ReadPending(path string) ([]Entry, error) {
	c, err := ReadJournal(path)
	return c.Pending, err
}

// ReadJournal reads a journal. Only a regular file of at most
// MaxJournalBytes is read. A torn line (a crash while writing: a prefix of
// an entry, which OpenJournal then ends with a newline) is skipped; any
// other line that is not an entry is a *CorruptError naming it.
func ReadJournal(path string) (Contents, error) {
	// Stat first, and open without blocking: opening a FIFO for reading
	// would wait for a writer forever.
	if st, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return Contents{}, nil
	} else if err != nil {
		return Contents{}, fmt.Errorf("journal: %w", err)
	} else if !st.Mode().IsRegular() {
		return Contents{}, fmt.Errorf("journal %s: not a regular file (%s)", path, st.Mode().Type())
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return Contents{}, fmt.Errorf("journal: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Contents{}, fmt.Errorf("journal: %w", err)
	}
	if !st.Mode().IsRegular() {
		return Contents{}, fmt.Errorf("journal %s: not a regular file (%s)", path, st.Mode().Type())
	}
	if st.Size() > MaxJournalBytes {
		return Contents{}, fmt.Errorf("journal %s: %d bytes, over the %d-byte limit for a journal", path, st.Size(), MaxJournalBytes)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxJournalBytes+1))
	if err != nil {
		return Contents{}, fmt.Errorf("journal: %w", err)
	}
	if len(data) > MaxJournalBytes {
		return Contents{}, fmt.Errorf("journal %s: over the %d-byte limit for a journal", path, MaxJournalBytes)
	}
	byID := map[string]*Entry{}
	var order []string
	done := map[string]bool{}
	var out Contents
	r := bufio.NewReader(bytes.NewReader(data))
lines:
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		last := err == io.EOF
		if len(bytes.TrimSpace(line)) > 0 {
			var e Entry
			jerr := json.Unmarshal(line, &e)
			switch {
			case jerr != nil && torn(line, jerr):
				if last {
					break lines
				}
				continue
			case jerr != nil:
				return Contents{}, &CorruptError{Path: path, Line: n, Msg: "not a journal entry: " + jerr.Error()}
			case e.ID == "" || e.State == "":
				return Contents{}, &CorruptError{Path: path, Line: n, Msg: "not a journal entry (no id or state)"}
			}
			if e.Target != nil && !slices.Contains(out.Targets, *e.Target) {
				out.Targets = append(out.Targets, *e.Target)
			}
			switch {
			case e.State == StateRolledBack:
				done[e.ID] = true
			case byID[e.ID] == nil:
				cp := e
				cp.Began = e.Time
				byID[e.ID] = &cp
				order = append(order, e.ID)
			default:
				cur := byID[e.ID]
				cur.State, cur.Time, cur.Error = e.State, e.Time, e.Error
				if len(e.Undo) > 0 {
					cur.Undo = e.Undo
				}
				if len(e.Targets) > 0 {
					cur.Targets = e.Targets
				}
				if e.Target != nil {
					cur.Target = e.Target
				}
				if e.Lease != "" {
					cur.Lease = e.Lease
				}
			}
		}
		if last {
			break
		}
	}
	out.Entries = len(order)
	for _, id := range order {
		if !done[id] {
			out.Pending = append(out.Pending, *byID[id])
		}
	}
	return out, nil
}

// torn reports whether a line that failed to decode is a write cut short:
// it starts as an entry does and the decoder ran out of input.
func torn(line []byte, err error) bool {
	line = bytes.TrimSpace(line)
	if !bytes.HasPrefix(line, []byte(`{"id":"`)) {
		return false
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return se.Offset >= int64(len(line)) || strings.HasPrefix(se.Error(), "unexpected end")
	}
	return errors.Is(err, io.ErrUnexpectedEOF)
}
