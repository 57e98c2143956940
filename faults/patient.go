package faults

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
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

var throttleCodes = map[string]bool{}

func init() {
	for _, c := range []string{"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
		"TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
		"RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
		"SlowDown", "PriorRequestNotComplete", "EC2ThrottledException",
		"ServiceUnavailable", "Unavailable", "InternalError", "InternalFailure", "RequestTimeout", "RequestTimeoutException"} {
		throttleCodes[c] = true
	}
}

// Retryable reports whether err (possibly joined from several) is only
// made of errors worth retrying: AWS throttling and server-side errors,
// timeouts, connection failures, and the SDK giving up its own retries.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if !Retryable(e) {
				return false
			}
		}
		return len(j.Unwrap()) > 0
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if throttleCodes[ae.ErrorCode()] {
			return true
		}
		if ae.ErrorFault() == smithy.FaultServer {
			return true
		}
		return false
	}
	var maxA *retry.MaxAttemptsError
	var ne net.Error
	var oe *net.OpError
	if errors.As(err, &maxA) || errors.As(err, &ne) || errors.As(err, &oe) {
		return true
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	// Wrapped in our own fmt.Errorf chains: look one level down.
	if u := errors.Unwrap(err); u != nil && u != err {
		return Retryable(u)
	}
	return false
}
