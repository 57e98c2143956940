package probes

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/targets"
)

// Probe kinds, as experiments name them.
const (
	KindHTTP         = "http"
	KindTargetHealth = "target-health"
	KindASGCapacity  = "asg-capacity"
	KindDBWriter     = "db-writer"
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
}

// New builds the probe spec describes. It fails if the kind is unknown or
// the topology lacks what the kind needs: a target group (target-health),
// an Auto Scaling group (asg-capacity), a DB instance or cluster
// (db-writer), or, for http, an absolute URL in spec.URL. httpClient is used
// by http probes; nil means http.DefaultClient.
func New(c *awsclients.Clients, topo *targets.Topology, spec experiments.Probe, httpClient *http.Client) (Probe, error) {
	name := spec.Name
	if name == "" {
		name = spec.Kind
	}
	if spec.Timeout < 0 {
		return nil, fmt.Errorf("probe %q: timeout must not be negative", name)
	}
	b := base{name: name, timeout: spec.Timeout}
	if spec.Kind == KindHTTP {
		if spec.URL == "" {
			return nil, fmt.Errorf("probe %q: kind http: url is required", name)
		}
		u, err := url.Parse(spec.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("probe %q: kind http: url %q is not an absolute http(s) URL", name, spec.URL)
		}
		if b.timeout == 0 {
			b.timeout = DefaultHTTPTimeout
		}
		if httpClient == nil {
			httpClient = http.DefaultClient
		}
		return &httpProbe{base: b, url: u.String(), client: httpClient}, nil
	}
	if b.timeout == 0 {
		b.timeout = DefaultAPITimeout
	}
	need := func(what string, ok bool) error {
		if !ok {
			return fmt.Errorf("probe %q: kind %s needs %s in the target", name, spec.Kind, what)
		}
		return nil
	}
	switch spec.Kind {
	case KindTargetHealth, KindASGCapacity, KindDBWriter:
	default:
		return nil, fmt.Errorf("probe %q: unknown kind %q (http, target-health, asg-capacity, db-writer)", name, spec.Kind)
	}
	if err := need("AWS clients", c != nil && c.ELB != nil && c.ASG != nil && c.RDS != nil && c.EC2 != nil); err != nil {
		return nil, err
	}
	if err := need("a resolved topology", topo != nil); err != nil {
		return nil, err
	}
	azs := slices.Clone(topo.AZs)
	slices.Sort(azs)
	switch spec.Kind {
	case KindTargetHealth:
		if err := need("a target group", topo.TargetGroupARN != ""); err != nil {
			return nil, err
		}
		return &targetHealthProbe{base: b, c: c, arn: topo.TargetGroupARN, azs: azs, instAZ: map[string]string{}}, nil
	case KindASGCapacity:
		if err := need("an Auto Scaling group", topo.GroupName != ""); err != nil {
			return nil, err
		}
		return &asgProbe{base: b, c: c, group: topo.GroupName}, nil
	default: // KindDBWriter
		if err := need("a DB instance or DB cluster", topo.DBInstanceID != "" || topo.DBClusterID != ""); err != nil {
			return nil, err
		}
		return &dbProbe{base: b, c: c, instance: topo.DBInstanceID, cluster: topo.DBClusterID, azs: azs, instAZ: map[string]string{}}, nil
	}
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

// Healthy reports whether a probe's latest samples (by series) show the
// infrastructure recovered, given the samples of the fault-free baseline:
//
//   - target-health: healthy_targets >= its baseline, and every
//     healthy_targets.<az> of the baseline is matched (a missing AZ counts 0);
//   - asg-capacity: in_service >= desired;
//   - db-writer: db_available == 1;
//   - http: http_ok == 1.
//
// A series the predicate needs that is missing from last means not healthy;
// an unknown kind is never healthy.
func Healthy(kind string, last map[string]float64, baseline map[string]float64) bool {
	switch kind {
	case KindTargetHealth:
		total, ok := last[SeriesHealthyTargets]
		if !ok || total < baseline[SeriesHealthyTargets] {
			return false
		}
		for k, v := range baseline {
			if strings.HasPrefix(k, SeriesHealthyTargets+".") && last[k] < v {
				return false
			}
		}
		return true
	case KindASGCapacity:
		in, ok1 := last[SeriesInService]
		want, ok2 := last[SeriesDesired]
		return ok1 && ok2 && in >= want
	case KindDBWriter:
		v, ok := last[SeriesDBAvailable]
		return ok && v == 1
	case KindHTTP:
		v, ok := last[SeriesHTTPOK]
		return ok && v == 1
	}
	return false
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
