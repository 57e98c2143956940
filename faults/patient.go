package faults

import (
	"context"
	"fmt"
	"time"

	"github.com/gameday-dev/gameday/awsclients"
)

// RollbackPatiently calls f.Rollback until it succeeds, retrying with
// exponential backoff (from 500ms, doubling, at most 15s apart) while the
// error is one AWS says to retry: throttling, 5xx, timeouts, connection
// trouble. The SDK clients already retry each call a few times; this
// outer loop keeps an undo going through a longer storm, until ctx ends.
// Rollback is idempotent, so retrying the whole of it is safe. attempts
// is how many calls were made.
func RollbackPatiently(ctx context.Context, f Fault) (attempts int, err error) {
	backoff := 500 * time.Millisecond
	for {
		attempts++
		err = f.Rollback(ctx)
		if err == nil || !Retryable(err) {
			return attempts, err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return attempts, fmt.Errorf("%w (gave up after %d attempts: %v)", err, attempts, ctx.Err())
		case <-t.C:
		}
		backoff = min(2*backoff, 15*time.Second)
	}
}

// Retryable reports whether err (possibly joined from several) is only
// made of errors worth retrying: AWS throttling and server-side errors,
// timeouts, connection failures, and the SDK giving up its own retries.
func Retryable(err error) bool { return awsclients.Retryable(err) }
