package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/gameday-dev/gameday/sandbox/sim"
)

// Remote is a sandbox running in another process (`gameday sandbox`),
// attached to through its control-plane endpoint.
type Remote struct {
	Health Health
}

// Attach connects to a running sandbox at endpoint (a loopback URL such as
// http://127.0.0.1:4566) and reads where its load balancer and DNS server
// are.
func Attach(ctx context.Context, endpoint string) (*Remote, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("sandbox endpoint %q: want http://127.0.0.1:PORT", endpoint)
	}
	if err := checkLoopbackHost(u.Hostname()); err != nil {
		return nil, fmt.Errorf("sandbox endpoint %q: %w", endpoint, err)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, u.JoinPath("/_sandbox/health").String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := loopbackClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("sandbox endpoint %s is not answering (is `gameday sandbox` running?): %w", endpoint, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("sandbox endpoint %s: health: %s", endpoint, resp.Status)
	}
	var h Health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil || h.Status != "ok" {
		return nil, fmt.Errorf("sandbox endpoint %s: not a gameday sandbox (health: %v)", endpoint, err)
	}
	h.Endpoint = endpoint
	return &Remote{Health: h}, nil
}

// AWSConfig is the aws.Config for a sandbox endpoint: static dummy
// credentials, the region's name and a loopback-only HTTP client.
func AWSConfig(endpoint, region string) aws.Config {
	client := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.Proxy = nil
		tr.DialContext = loopbackDial
	})
	return aws.Config{
		Region:       region,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		HTTPClient:   client,
	}
}

// AWSConfig returns the aws.Config for the attached sandbox.
func (r *Remote) AWSConfig() aws.Config { return AWSConfig(r.Health.Endpoint, r.Health.Region) }

func loopbackClient() *http.Client {
	return &http.Client{Transport: &http.Transport{Proxy: nil, DialContext: loopbackDial}}
}

func checkLoopbackHost(host string) error {
	if host == "localhost" {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return fmt.Errorf("only loopback addresses are allowed, not %q", host)
	}
	return nil
}

func loopbackDial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if err := checkLoopbackHost(host); err != nil {
		return nil, fmt.Errorf("sandbox: refusing to dial %s: %w", addr, err)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// Failures reads the attached sandbox's failure record from since on
// (GET /_sandbox/failures).
func (r *Remote) Failures(ctx context.Context, since time.Time) ([]sim.FailureBucket, error) {
	u, err := url.Parse(r.Health.Endpoint)
	if err != nil {
		return nil, err
	}
	u = u.JoinPath("/_sandbox/failures")
	if !since.IsZero() {
		u.RawQuery = url.Values{"since": {since.UTC().Format(time.RFC3339Nano)}}.Encode()
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := loopbackClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("sandbox failures: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("sandbox failures: %s", resp.Status)
	}
	var out []sim.FailureBucket
	dec := json.NewDecoder(resp.Body)
	for {
		var b sim.FailureBucket
		if err := dec.Decode(&b); err == io.EOF {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("sandbox failures: %w", err)
		}
		out = append(out, b)
	}
}
