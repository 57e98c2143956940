package awsclients

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/smithy-go"
)

func TestErrorTaxonomy(t *testing.T) {
	api := func(code string, fault smithy.ErrorFault) error {
		return fmt.Errorf("call: %w", &smithy.GenericAPIError{Code: code, Fault: fault})
	}
	for _, c := range []struct {
		name                string
		err                 error
		rejected, retryable bool
	}{
		{"unknown id", api("InvalidInstanceID.NotFound", smithy.FaultClient), true, false},
		{"throttled", api("Throttling", smithy.FaultClient), false, true},
		{"ec2 throttled", api("RequestLimitExceeded", smithy.FaultClient), false, true},
		{"server", api("InternalError", smithy.FaultServer), false, true},
		{"unavailable as a client fault", api("ServiceUnavailable", smithy.FaultClient), true, true},
		{"deadline", context.DeadlineExceeded, false, true},
		{"plain", errors.New("boom"), false, false},
		{"joined retryable", errors.Join(api("Throttling", smithy.FaultClient), context.DeadlineExceeded), false, true},
		{"joined mixed", errors.Join(api("Throttling", smithy.FaultClient), errors.New("boom")), false, false},
		{"nil", nil, false, false},
	} {
		if got := Rejected(c.err); got != c.rejected {
			t.Errorf("%s: Rejected = %v, want %v", c.name, got, c.rejected)
		}
		if got := Retryable(c.err); got != c.retryable {
			t.Errorf("%s: Retryable = %v, want %v", c.name, got, c.retryable)
		}
	}
}
