package awsapi

import (
	"bytes"
	"net/http"
	"sync"

	"github.com/gameday-dev/gameday/sandbox/sim"
)

// ClientToken idempotency, as EC2 documents it ("Ensuring idempotency of
// mutating API requests", EC2 API reference): a create call retried with the
// same ClientToken and the same parameters returns the first call's result
// and creates nothing more; the same token with other parameters is
// IdempotentParameterMismatch; a token is at most 64 ASCII characters.

const maxClientToken = 64

type idemEntry struct {
	digest []byte
	body   any
}

type idempotency struct {
	mu   sync.Mutex
	seen map[string]idemEntry // action + "\x00" + token
}

// withClientToken runs create once per ClientToken of r: a repeat with the
// same parameters gets the first result back. Dry runs neither read nor
// record tokens beyond the check (EC2 answers a dry run without creating).
func (h *handler) withClientToken(r *request, create func() (any, error)) (any, error) {
	tok := r.p.get("ClientToken")
	if tok == "" {
		return create()
	}
	if len(tok) > maxClientToken {
		return nil, &sim.APIError{Code: "InvalidParameterValue", Message: "Value for parameter clientToken is invalid. Client tokens must be at most 64 characters.", Status: http.StatusBadRequest}
	}
	if _, dry := h.b.(dryBackend); dry {
		return create()
	}
	digest := r.queryDigest(pageSpec{size: "ClientToken"})
	key := r.action + "\x00" + tok
	h.idem.mu.Lock()
	defer h.idem.mu.Unlock()
	if prev, ok := h.idem.seen[key]; ok {
		if !bytes.Equal(prev.digest, digest) {
			return nil, &sim.APIError{Code: "IdempotentParameterMismatch", Message: "The client token you have provided is associated with a resource that is already created with different parameters.", Status: http.StatusBadRequest}
		}
		return prev.body, nil
	}
	body, err := create()
	if err != nil {
		return nil, err
	}
	if h.idem.seen == nil {
		h.idem.seen = map[string]idemEntry{}
	}
	if len(h.idem.seen) >= 10000 {
		clear(h.idem.seen) // bound memory; tokens expire on AWS too
	}
	h.idem.seen[key] = idemEntry{digest, body}
	return body, nil
}
