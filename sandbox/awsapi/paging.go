package awsapi

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/gameday-dev/gameday/sandbox/sim"
)

// Paging, as each API reference documents it (limits checked against
// botocore's service models and paginators-1.json):
//
//	EC2 Describe{Instances,Subnets,Vpcs,NetworkAcls,NetworkInterfaces}:
//	  MaxResults 5-1000 / NextToken; without MaxResults every item comes
//	  back at once. DescribeInstances refuses MaxResults with InstanceIds.
//	Auto Scaling DescribeAutoScalingGroups (default 50) and
//	  DescribeScalingActivities (default 100): MaxRecords ≤ 100 / NextToken.
//	  DescribeInstanceRefreshes: as DescribeAutoScalingGroups (default 50).
//	RDS Describe{DBInstances,DBClusters,Events}: MaxRecords 20-100
//	  (default 100) / Marker.
//	ELBv2 Describe{LoadBalancers,TargetGroups,Listeners}: PageSize 1-400 /
//	  Marker in, NextMarker out.
//
// A token is opaque: the offset of the next item, sealed with an HMAC over
// the action and the request's other parameters under a key drawn when the
// process starts. A token that was not issued for this very query (junk,
// edited, another action's, other filters) is refused with the service's
// error; it never silently restarts the listing.

// pageSpec is the paging of one action.
type pageSpec struct {
	size, token string // request parameters: MaxResults/MaxRecords/PageSize, NextToken/Marker
	min, max    int
	def         int // page size without the size parameter; 0 = all items
}

var (
	pageEC2     = pageSpec{size: "MaxResults", token: "NextToken", min: 5, max: 1000}
	pageASG     = pageSpec{size: "MaxRecords", token: "NextToken", min: 1, max: 100, def: 50}
	pageASGActs = pageSpec{size: "MaxRecords", token: "NextToken", min: 1, max: 100, def: 100}
	pageRDS     = pageSpec{size: "MaxRecords", token: "Marker", min: 20, max: 100, def: 100}
	pageELB     = pageSpec{size: "PageSize", token: "Marker", min: 1, max: 400, def: 400}
)

// paged lists the actions that page, with how: the one place the handlers
// (through pageOf) and docs/sandbox.md read it from.
var paged = map[string]map[string]pageSpec{
	ServiceEC2: {
		"DescribeInstances":         pageEC2,
		"DescribeSubnets":           pageEC2,
		"DescribeVpcs":              pageEC2,
		"DescribeNetworkAcls":       pageEC2,
		"DescribeNetworkInterfaces": pageEC2,
	},
	ServiceAutoScaling: {
		"DescribeAutoScalingGroups": pageASG,
		"DescribeScalingActivities": pageASGActs,
		"DescribeInstanceRefreshes": pageASG,
	},
	ServiceRDS: {
		"DescribeDBInstances": pageRDS,
		"DescribeDBClusters":  pageRDS,
		"DescribeEvents":      pageRDS,
	},
	ServiceELBv2: {
		"DescribeLoadBalancers": pageELB,
		"DescribeTargetGroups":  pageELB,
		"DescribeListeners":     pageELB,
	},
}

// spec returns the paging of the request's action.
func (r *request) spec() (pageSpec, error) {
	s, ok := paged[r.service][r.action]
	if !ok {
		return pageSpec{}, fmt.Errorf("gameday sandbox: %s:%s pages but is not in the paged table", r.service, r.action)
	}
	return s, nil
}

var tokenKey = func() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}()

// queryDigest covers every parameter of the request but the paging ones,
// so a token only continues the query it came from.
func (r *request) queryDigest(spec pageSpec) []byte {
	keys := make([]string, 0, len(r.p.v))
	for k := range r.p.v {
		switch {
		case k == spec.size, k == spec.token, k == "DryRun", k == "Version", strings.HasPrefix(k, "X-Amz-"):
			continue // paging, or a presigned request's signature
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	m := hmac.New(sha256.New, tokenKey)
	fmt.Fprintf(m, "%s\x00%s\x00", r.service, r.action)
	for _, k := range keys {
		fmt.Fprintf(m, "%s\x00%s\x00", k, strings.Join(r.p.v[k], "\x01"))
	}
	return m.Sum(nil)
}

func makeToken(r *request, spec pageSpec, offset int) string {
	b := binary.BigEndian.AppendUint32(nil, uint32(offset))
	m := hmac.New(sha256.New, tokenKey)
	m.Write(r.queryDigest(spec))
	m.Write(b)
	return base64.RawURLEncoding.EncodeToString(append(b, m.Sum(nil)[:16]...))
}

func readToken(r *request, spec pageSpec, tok string) (int, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) != 4+16 {
		return 0, false
	}
	m := hmac.New(sha256.New, tokenKey)
	m.Write(r.queryDigest(spec))
	m.Write(raw[:4])
	if !hmac.Equal(m.Sum(nil)[:16], raw[4:]) {
		return 0, false
	}
	return int(binary.BigEndian.Uint32(raw[:4])), true
}

// errPageSize is the service's answer to a page size out of range.
func errPageSize(service string, spec pageSpec, v string) error {
	switch service {
	case ServiceEC2:
		return &sim.APIError{Code: "InvalidParameterValue", Message: fmt.Sprintf("Value ( %s ) for parameter maxResults is invalid. Expecting a value between %d and %d.", v, spec.min, spec.max), Status: http.StatusBadRequest}
	case ServiceECS:
		return &sim.APIError{Code: "InvalidParameterException", Message: fmt.Sprintf("maxResults must be between %d and %d.", spec.min, spec.max), Status: http.StatusBadRequest}
	case ServiceRDS:
		return &sim.APIError{Code: "InvalidParameterValue", Message: fmt.Sprintf("Invalid value %s for MaxRecords. Must be between %d and %d", v, spec.min, spec.max), Status: http.StatusBadRequest}
	default:
		return &sim.APIError{Code: "ValidationError", Message: fmt.Sprintf("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must have value between %d and %d", v, lowerFirst(spec.size), spec.min, spec.max), Status: http.StatusBadRequest}
	}
}

// errBadToken is the service's answer to a token it did not issue.
func errBadToken(service, tok string) error {
	switch service {
	case ServiceEC2:
		// EC2 API reference, "Error codes": InvalidPaginationToken.
		return &sim.APIError{Code: "InvalidPaginationToken", Message: fmt.Sprintf("Invalid pagination token '%s': the token is not valid or is expired.", tok), Status: http.StatusBadRequest}
	case ServiceAutoScaling:
		// The model's fault for the paged describes: InvalidNextToken.
		return &sim.APIError{Code: "InvalidNextToken", Message: "The token '" + tok + "' is invalid.", Status: http.StatusBadRequest}
	case ServiceRDS:
		return &sim.APIError{Code: "InvalidParameterValue", Message: "The marker '" + tok + "' is not valid.", Status: http.StatusBadRequest}
	case ServiceECS:
		return &sim.APIError{Code: "InvalidParameterException", Message: "Invalid nextToken: " + tok, Status: http.StatusBadRequest}
	case ServiceCloudWatch:
		return &sim.APIError{Code: "InvalidNextToken", Message: "The service returned an invalid token: " + tok, Status: http.StatusBadRequest}
	default:
		return &sim.APIError{Code: "ValidationError", Message: "Invalid marker '" + tok + "'", Status: http.StatusBadRequest}
	}
}

// pageSize reads and checks the page size (0: all, per spec.def).
func (r *request) pageSize(spec pageSpec) (int, error) {
	v, ok, err := r.p.int32(spec.size)
	if err != nil || (ok && (int(v) < spec.min || int(v) > spec.max)) {
		return 0, errPageSize(r.service, spec, r.p.get(spec.size))
	}
	if !ok {
		return spec.def, nil
	}
	return int(v), nil
}

// page returns the slice bounds [lo, hi) of n items to answer and the
// token for the rest ("" on the last page).
func (r *request) page(spec pageSpec, n int) (lo, hi int, next string, err error) {
	size, err := r.pageSize(spec)
	if err != nil {
		return 0, 0, "", err
	}
	if tok := r.p.get(spec.token); tok != "" {
		off, ok := readToken(r, spec, tok)
		if !ok || off > n {
			return 0, 0, "", errBadToken(r.service, tok)
		}
		lo = off
	}
	hi = n
	if size > 0 && lo+size < n {
		hi = lo + size
		next = makeToken(r, spec, hi)
	}
	return lo, hi, next, nil
}

// pageOf pages items as the request's action does (the paged table).
func pageOf[T any](r *request, items []T) ([]T, string, error) {
	spec, err := r.spec()
	if err != nil {
		return nil, "", err
	}
	lo, hi, next, err := r.page(spec, len(items))
	if err != nil {
		return nil, "", err
	}
	return items[lo:hi], next, nil
}
