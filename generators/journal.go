package generators

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// Worker journal states.
const (
	WorkerStarting = "starting" // written before the engine starts it
	WorkerStarted  = "started"  // with the engine's reference to it
	WorkerStopped  = "stopped"
)

// JournalEntry is one line of a worker journal (JSON lines, append-only,
// synced per line): a worker left running is a fault left behind, so every
// worker is journaled before it starts, like a fault before it is applied.
type JournalEntry struct {
	Time   time.Time       `json:"time"`
	Run    string          `json:"run"`
	Engine string          `json:"engine,omitempty"`
	Worker string          `json:"worker"`
	State  string          `json:"state"`
	Ref    json.RawMessage `json:"ref,omitempty"`
	Note   string          `json:"note,omitempty"`
	// PID and Host are the coordinator's, so that `gameday rollback` leaves
	// a live run's workers alone (as it leaves its faults).
	PID  int    `json:"pid,omitempty"`
	Host string `json:"host,omitempty"`
}

// Journal is a worker journal file.
type Journal struct {
	mu   sync.Mutex
	path string
	f    *os.File
}

// OpenJournal opens (creating) the worker journal at path for appending.
func OpenJournal(path string) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("worker journal: %w", err)
	}
	return &Journal{path: path, f: f}, nil
}

// Path is the journal's file.
func (j *Journal) Path() string { return j.path }

func (j *Journal) append(e JournalEntry) error {
	e.Time = time.Now().UTC()
	e.PID = os.Getpid()
	e.Host, _ = os.Hostname()
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return errors.New("worker journal: closed")
	}
	if _, err := j.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("worker journal %s: %w", j.path, err)
	}
	return j.f.Sync()
}

// Starting records, durably, that a worker is about to be started.
func (j *Journal) Starting(run, engine, worker string) error {
	return j.append(JournalEntry{Run: run, Engine: engine, Worker: worker, State: WorkerStarting})
}

// StartingRef is Starting with the reference an engine can give before it
// starts the worker (Planner, or a BatchEngine's planned reference).
func (j *Journal) StartingRef(run, engine, worker string, ref json.RawMessage) error {
	return j.append(JournalEntry{Run: run, Engine: engine, Worker: worker, State: WorkerStarting, Ref: ref})
}

// StoppedNote records that a worker is gone, saying why.
func (j *Journal) StoppedNote(run, worker, note string) error {
	return j.append(JournalEntry{Run: run, Worker: worker, State: WorkerStopped, Note: note})
}

// Started records how to find a started worker again.
func (j *Journal) Started(run, engine, worker string, ref json.RawMessage) error {
	return j.append(JournalEntry{Run: run, Engine: engine, Worker: worker, State: WorkerStarted, Ref: ref})
}

// Stopped records that a worker is gone.
func (j *Journal) Stopped(run, worker string) error {
	return j.append(JournalEntry{Run: run, Worker: worker, State: WorkerStopped})
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

// maxJournalBytes bounds what Pending reads.
const maxJournalBytes = 16 << 20

// Pending returns, per worker, the last entry of every worker of the
// journal at path not marked stopped (the engine and reference from its
// started line).
func Pending(path string) ([]JournalEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	last := map[string]*JournalEntry{}
	var order []string
	sc := bufio.NewScanner(io.LimitReader(f, maxJournalBytes))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var e JournalEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		p := last[e.Worker]
		if p == nil {
			p = &JournalEntry{}
			last[e.Worker] = p
			order = append(order, e.Worker)
		}
		engine, ref := p.Engine, p.Ref
		*p = e
		if p.Engine == "" {
			p.Engine = engine
		}
		if len(p.Ref) == 0 {
			p.Ref = ref
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []JournalEntry
	for _, w := range order {
		if e := last[w]; e.State != WorkerStopped {
			out = append(out, *e)
		}
	}
	return out, nil
}

// StopLeftovers stops every worker the journals at paths record as not
// stopped (a coordinator killed mid-run leaves them so) and marks each
// stopped. It writes a line per worker to out. A worker of an engine this
// build cannot reach is an error; the journal keeps it for another try.
func StopLeftovers(paths []string, out io.Writer) error {
	return StopLeftoversWith(context.Background(), paths, out, Leftovers{})
}

// StopLeftoversWith is StopLeftovers with the means to reach the engines
// that run workers elsewhere (ECS).
func StopLeftoversWith(ctx context.Context, paths []string, out io.Writer, o Leftovers) error {
	clients := map[string]*ecs.Client{}
	var errs []error
	for _, p := range paths {
		pend, err := Pending(p)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		if len(pend) == 0 {
			continue
		}
		j, err := OpenJournal(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		kube := map[string]bool{}
		for _, e := range pend {
			if !o.Force && e.PID != 0 && coordinatorAlive(e) {
				fmt.Fprintf(out, "worker %s (%s): SKIPPED: the run that started it (pid %d on %s) is still alive; stop it or use --force\n", e.Worker, e.Engine, e.PID, e.Host)
				errs = append(errs, fmt.Errorf("%s: worker %s: its run is still alive", p, e.Worker))
				continue
			}
			switch e.Engine {
			case "kubernetes":
				var ref KubernetesRef
				if err := json.Unmarshal(e.Ref, &ref); err != nil {
					errs = append(errs, fmt.Errorf("%s: worker %s: %w", p, e.Worker, err))
					continue
				}
				what, err := stopKubernetes(ref, kube)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: worker %s: %w", p, e.Worker, err))
					continue
				}
				fmt.Fprintf(out, "worker %s (%s): %s\n", e.Worker, e.Engine, what)
			case "local":
				var ref LocalRef
				if len(e.Ref) > 0 {
					if err := json.Unmarshal(e.Ref, &ref); err != nil {
						errs = append(errs, fmt.Errorf("%s: worker %s: %w", p, e.Worker, err))
						continue
					}
				}
				stopped, err := stopLocal(ref, 5*time.Second)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: worker %s: %w", p, e.Worker, err))
					continue
				}
				what := "already gone"
				if stopped {
					what = fmt.Sprintf("stopped (pid %d)", ref.PID)
				}
				fmt.Fprintf(out, "worker %s (%s): %s\n", e.Worker, e.Engine, what)
			case "ecs":
				what, err := stopECSLeftover(ctx, o, clients, e.Ref)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: worker %s: %w", p, e.Worker, err))
					continue
				}
				fmt.Fprintf(out, "worker %s (%s): %s\n", e.Worker, e.Engine, what)
			default:
				errs = append(errs, fmt.Errorf("%s: worker %s: engine %q cannot be stopped by this build", p, e.Worker, e.Engine))
				continue
			}
			if err := j.append(JournalEntry{Run: e.Run, Worker: e.Worker, State: WorkerStopped, Note: "stopped by gameday rollback"}); err != nil {
				errs = append(errs, err)
			}
		}
		_ = j.Close()
	}
	return errors.Join(errs...)
}
