package probes

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gameday-dev/gameday/experiments"
)

// Series names. Per-AZ target counts are SeriesHealthyTargets + "." + AZ.
const (
	SeriesHealthyTargets   = "healthy_targets"
	SeriesUnhealthyTargets = "unhealthy_targets"
	SeriesInService        = "in_service"
	SeriesDesired          = "desired"
	SeriesDBAvailable      = "db_available"
	SeriesDBWriterAZIndex  = "db_writer_az_index"
	SeriesHTTPOK           = "http_ok"
	SeriesHTTPLatencyMS    = "http_latency_ms"
)

// Defaults.
const (
	// DefaultInterval is Run's interval when none is given.
	DefaultInterval = time.Second
	// DefaultHTTPTimeout bounds one GET of an http probe.
	DefaultHTTPTimeout = 2 * time.Second
	// DefaultAPITimeout bounds one observation of an AWS API probe.
	DefaultAPITimeout = 5 * time.Second
)

// Sample is one value of one series, e.g. {"healthy_targets.local-1a", 1}.
type Sample struct {
	Series string
	Value  float64
}

// Probe takes observations of one aspect of the stack.
type Probe interface {
	// Name is the probe's name (the spec's name, or its kind).
	Name() string
	// Sample takes one observation. An error means the probe could not
	// observe (an API call failed, ctx ended); a failing HTTP GET is an
	// observation (http_ok 0), not an error. Sample does not panic and is
	// safe for concurrent use.
	Sample(ctx context.Context) ([]Sample, error)
	// Healthy reports whether the probe's latest samples (by series)
	// show the infrastructure recovered, given the samples of the
	// fault-free baseline. A series it needs that is missing from last
	// means not healthy.
	Healthy(last, baseline map[string]float64) bool
}

// New builds the probe spec describes, by its registered kind. It fails if
// the kind is unknown, the spec is wrong for the kind, or the topology
// lacks what the kind needs: a target group (target-health), an Auto
// Scaling group (asg-capacity), a DB instance or cluster (db-writer), or,
// for http, an absolute URL in spec.URL (env.LoadURL when empty). env.HTTPClient is used by http probes;
// nil means http.DefaultClient.
func New(env Env, spec experiments.Probe) (Probe, error) {
	name := spec.Name
	if name == "" {
		name = spec.Kind
	}
	if spec.Timeout < 0 {
		return nil, fmt.Errorf("probe %q: timeout must not be negative", name)
	}
	k, ok := Lookup(spec.Kind)
	if !ok {
		return nil, fmt.Errorf("probe %q: unknown kind %q (%s)", name, spec.Kind, strings.Join(KindNames(), ", "))
	}
	if k.Defaults != nil {
		k.Defaults(&spec, env)
	}
	if k.Validate != nil {
		if errs := k.Validate(spec); len(errs) > 0 {
			return nil, fmt.Errorf("probe %q: %w", name, errs[0])
		}
	}
	b := base{name: name, timeout: spec.Timeout}
	if b.timeout == 0 {
		b.timeout = cmp.Or(k.DefaultTimeout, DefaultAPITimeout)
	}
	return k.New(env, b, spec)
}

type base struct {
	name    string
	timeout time.Duration
}

func (b *base) Name() string { return b.name }

// Run samples p at once and then every interval (DefaultInterval if <= 0)
// until ctx is done, calling out from its own goroutine with the time the
// observation started and its result. A sample cut short because ctx ended
// is not reported. Run returns when ctx is done; a panicking probe is
// reported as an error.
func Run(ctx context.Context, p Probe, interval time.Duration, out func(t time.Time, s []Sample, err error)) {
	if interval <= 0 {
		interval = DefaultInterval
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if ctx.Err() != nil {
			return
		}
		t := time.Now()
		s, err := safeSample(ctx, p)
		if ctx.Err() != nil {
			return
		}
		out(t, s, err)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func safeSample(ctx context.Context, p Probe) (s []Sample, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("probe %s panicked: %v", p.Name(), r)
		}
	}()
	return p.Sample(ctx)
}

// Healthy reports whether the latest samples of a probe of the given kind
// show the infrastructure recovered (see each kind's Healthy method); an
// unknown kind is never healthy. It dispatches through the registry, for
// callers that hold a kind name rather than a probe.
func Healthy(kind string, last map[string]float64, baseline map[string]float64) bool {
	k, ok := Lookup(kind)
	if !ok {
		return false
	}
	return k.Healthy(last, baseline)
}

// Last folds samples into a map of the latest value of each series, adding
// to (and returning) into if it is not nil.
func Last(into map[string]float64, s []Sample) map[string]float64 {
	if into == nil {
		into = make(map[string]float64, len(s))
	}
	for _, x := range s {
		into[x.Series] = x.Value
	}
	return into
}

// ctxErr prefers the caller's context error over a wrapped one, so a run
// that ends is not mistaken for a failing API.
func ctxErr(parent context.Context, name string, err error) error {
	if perr := parent.Err(); perr != nil {
		return perr
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("probe %s: timed out: %w", name, err)
	}
	return fmt.Errorf("probe %s: %w", name, err)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
