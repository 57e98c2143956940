package probes

import (
	"context"
	"io"
	"net/http"
	"time"
)

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
