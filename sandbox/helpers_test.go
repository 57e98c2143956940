package sandbox

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/gameday-dev/gameday/sandbox/sim"
)

// testTimings make the region react in well under a second.
func testTimings() sim.Timings {
	return sim.Timings{
		HealthCheckInterval: 200 * time.Millisecond,
		HealthCheckTimeout:  100 * time.Millisecond,
		HealthyThreshold:    2,
		UnhealthyThreshold:  2,
		DeregistrationDelay: 200 * time.Millisecond,
		TargetTimeout:       800 * time.Millisecond,
		ConnectTimeout:      300 * time.Millisecond,
		BootDelay:           300 * time.Millisecond,
		ShutdownDelay:       200 * time.Millisecond,
		FailoverTime:        500 * time.Millisecond,
		RebootTime:          300 * time.Millisecond,
		DBTimeout:           300 * time.Millisecond,
		ASGCheckInterval:    100 * time.Millisecond,
		GracePeriod:         500 * time.Millisecond,
		ScaleWarmup:         time.Second,
		ScaleCooldown:       10 * time.Second,
		DNSTTL:              time.Second,
	}
}

func testConfig() Config {
	return Config{Region: sim.Config{Timings: testTimings(), Seed: 7, Instance: sim.InstanceConfig{ServiceTime: time.Millisecond}}}
}

func startSandbox(t *testing.T, cfg Config) (*Sandbox, aws.Config) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, s.AWSConfig(ctx)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// wantAPIError checks that err is a smithy API error with code and HTTP status.
func wantAPIError(t *testing.T, err error, code string, status int) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s error, got nil", code)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want smithy.APIError %s, got %T: %v", code, err, err)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("error code %q (%v), want %q", ae.ErrorCode(), err, code)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("no HTTP response error in %v", err)
	}
	if re.HTTPStatusCode() != status {
		t.Fatalf("HTTP status %d, want %d (%v)", re.HTTPStatusCode(), status, err)
	}
}

// eventually polls cond every 25ms until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}
