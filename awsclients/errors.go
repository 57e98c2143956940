package awsclients

import (
	"context"
	"errors"
	"net"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// The AWS error taxonomy, in one place: whether AWS rejected a request as
// the caller's mistake (Rejected: bad input, exit code 2) or the failure is
// worth retrying (Retryable: throttling, server errors, timeouts,
// connection trouble). Error codes follow the SDK's own lists
// (aws/retry.DefaultThrottleErrorCodes and DefaultRetryableErrorCodes).

// throttled are the SDK's throttle codes: a client fault by the HTTP status
// but never the caller's mistake.
func throttled(code string) bool {
	_, ok := retry.DefaultThrottleErrorCodes[code]
	return ok || code == "RequestLimitExceeded"
}

// transient are the codes worth retrying besides throttling: the service
// said it is busy or broken (some services send these with a 4xx status).
var transient = map[string]bool{
	"ServiceUnavailable": true, "Unavailable": true, "InternalError": true, "InternalFailure": true,
	"RequestTimeout": true, "RequestTimeoutException": true,
}

// Rejected reports whether AWS rejected a request as the caller's mistake
// (an unknown id, an invalid parameter): a client fault that is not
// throttling.
func Rejected(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorFault() == smithy.FaultServer {
		return false
	}
	return !throttled(ae.ErrorCode())
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
		return throttled(ae.ErrorCode()) || transient[ae.ErrorCode()] || ae.ErrorFault() == smithy.FaultServer
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
