package runner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"
)

// unreachable turns a failed first call to the AWS endpoint into a clear
// input error naming the field that points there: a wrong endpoint_url, a
// region that does not exist, or a sandbox that is not running. Other
// errors (credentials, throttling) are returned as they are.
func (p *Prepared) unreachable(err error) error {
	var ne net.Error
	var oe *net.OpError
	var de *net.DNSError
	if !errors.As(err, &ne) && !errors.As(err, &oe) && !errors.As(err, &de) {
		return err
	}
	field, where := p.Env.Endpoint()
	return &InputError{Err: fmt.Errorf("%s: %s: %s: the AWS API is not reachable: %w", p.Experiment.File, field, where, err)}
}

// preflight checks, before anything is changed, that every host the load
// will be sent to resolves and accepts a TCP connection (through the
// configured resolver). It sends no request.
func (p *Prepared) preflight(ctx context.Context) error {
	resolver := net.DefaultResolver
	if addr := p.Attack.Resolver; addr != "" {
		resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}}
	}
	seen := map[string]bool{}
	for _, t := range p.Attack.Requests {
		u, err := url.Parse(t.URL)
		if err != nil {
			return &InputError{Err: fmt.Errorf("%s: load.url: %w", p.Experiment.File, err)}
		}
		port := u.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		hp := net.JoinHostPort(u.Hostname(), port)
		if seen[hp] {
			continue
		}
		seen[hp] = true
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		d := net.Dialer{Resolver: resolver}
		conn, err := d.DialContext(cctx, "tcp", hp)
		cancel()
		if err != nil {
			return &InputError{Err: fmt.Errorf("%s: load.url: %s is not reachable (nothing was injected): %w", p.Experiment.File, hp, err)}
		}
		conn.Close()
	}
	return nil
}
