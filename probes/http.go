package probes

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/gameday-dev/gameday/experiments"
)

// KindHTTP GETs a URL.
const KindHTTP = "http"

func init() {
	Register(Kind{
		Name:   KindHTTP,
		Fields: []string{"url"},
		Defaults: func(spec *experiments.Probe, env Env) {
			if spec.URL == "" {
				spec.URL = env.LoadURL
			}
		},
		Check: func(pr *experiments.Probe, add func(field, msg string)) {
			if u, err := url.Parse(pr.URL); pr.URL != "" && (err != nil || u.Host == "") {
				add("url", fmt.Sprintf("%q is not an absolute URL", pr.URL))
			}
		},
		Order:          1,
		Doc:            "a GET of url: whether it answered 2xx within the timeout and how long it took (" + SeriesHTTPOK + ", " + SeriesHTTPLatencyMS + "); healthy when the last GET succeeded",
		DefaultTimeout: DefaultHTTPTimeout,
		Healthy:        (*httpProbe)(nil).Healthy,
		Validate: func(spec experiments.Probe) []error {
			if spec.URL == "" {
				return []error{fmt.Errorf("kind http: url is required")}
			}
			u, err := url.Parse(spec.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return []error{fmt.Errorf("kind http: url %q is not an absolute http(s) URL", spec.URL)}
			}
			return nil
		},
		New: func(env Env, b base, spec experiments.Probe) (Probe, error) {
			u, _ := url.Parse(spec.URL) // Validate parsed it
			c := env.HTTPClient
			if c == nil {
				c = http.DefaultClient
			}
			return &httpProbe{base: b, url: u.String(), client: c}, nil
		},
	})
}

// Healthy: http_ok == 1.
func (*httpProbe) Healthy(last, _ map[string]float64) bool {
	v, ok := last[SeriesHTTPOK]
	return ok && v == 1
}

// httpProbe GETs a URL: http_ok is 1 for a 2xx answer within the timeout,
// http_latency_ms the time to the end of the body (or to the failure).
type httpProbe struct {
	base
	url    string
	client *http.Client
}

// maxBody is how much of a response body the probe reads.
const maxBody = 1 << 20

func (p *httpProbe) Sample(ctx context.Context) ([]Sample, error) {
	cctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	start := time.Now()
	ok := false
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, p.url, nil)
	if err != nil {
		return nil, ctxErr(ctx, p.name, err)
	}
	req.Header.Set("User-Agent", "gameday-probe")
	resp, err := p.client.Do(req)
	if err == nil {
		_, rerr := io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
		ok = rerr == nil && resp.StatusCode >= 200 && resp.StatusCode < 300
	}
	elapsed := time.Since(start)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return []Sample{
		{SeriesHTTPOK, b2f(ok)},
		{SeriesHTTPLatencyMS, float64(elapsed.Microseconds()) / 1000},
	}, nil
}
