package awsapi

import (
	"math/rand/v2"
	"net/http"
	"sync"

	"github.com/gameday-dev/gameday/sandbox/sim"
)

// ErrorRule makes matching API calls fail before they reach the backend. It is
// a control-plane fault (throttling, an unavailable endpoint), used to test
// that clients retry and that the harness copes with AWS API trouble.
type ErrorRule struct {
	// Service is the SigV4 service name ("ec2", "autoscaling",
	// "elasticloadbalancing", "rds", "sts"); empty matches every service.
	Service string `yaml:"service" json:"service,omitempty"`
	// Action is the API action ("DescribeInstances"); empty matches all.
	Action string `yaml:"action" json:"action,omitempty"`
	// Code is the AWS error code returned. Empty means the service's
	// throttling code: RequestLimitExceeded for EC2, Throttling otherwise.
	Code string `yaml:"code" json:"code,omitempty"`
	// Message is the error message; a default is used when empty.
	Message string `yaml:"message" json:"message,omitempty"`
	// Status is the HTTP status; 0 means the status the service sends with
	// that code (see defaultStatus): 503 for EC2's RequestLimitExceeded and
	// for ServiceUnavailable/Unavailable, 500 for InternalError/
	// InternalFailure, 400 for Throttling and the rest.
	Status int `yaml:"status" json:"status,omitempty"`
	// After lets the first After matching calls through before the fault
	// starts failing calls: a fault API that fails halfway (e.g. the second
	// ReplaceNetworkAclAssociation of an AZ blackhole).
	After int `yaml:"after" json:"after,omitempty"`
	// Count, when positive, limits the fault to the next Count matching
	// calls that it fails; 0 means no limit.
	Count int `yaml:"count" json:"count,omitempty"`
	// Probability, when in (0,1), fails each matching call with that
	// probability; 0 (or ≥1) fails every matching call.
	Probability float64 `yaml:"probability" json:"probability,omitempty"`
}

// Throttle returns a fault that throttles the next n calls of action
// (n = 0: every call).
func Throttle(service, action string, n int) ErrorRule {
	return ErrorRule{Service: service, Action: action, Count: n}
}

// Unavailable returns a fault that answers the next n calls of action with
// 503 ServiceUnavailable (n = 0: every call).
func Unavailable(service, action string, n int) ErrorRule {
	return ErrorRule{Service: service, Action: action, Code: "ServiceUnavailable", Count: n}
}

type errorRule struct {
	ErrorRule
	remaining int // for Count > 0
	passed    int // matching calls let through (for After)
}

// ErrorInjector holds the active faults. It is safe for concurrent use; a
// nil *ErrorInjector injects nothing.
type ErrorInjector struct {
	mu       sync.Mutex
	rules    []*errorRule
	rng      *rand.Rand
	injected map[string]int // "service/action" → calls failed
}

// NewErrorInjector returns an empty injector whose probabilistic faults
// draw from a generator seeded with seed (for reproducible runs).
func NewErrorInjector(seed uint64) *ErrorInjector {
	return &ErrorInjector{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), injected: map[string]int{}}
}

// Add activates a fault. Faults are consulted in the order they were added;
// the first that fires decides the error.
func (f *ErrorInjector) Add(faults ...ErrorRule) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ft := range faults {
		f.rules = append(f.rules, &errorRule{ErrorRule: ft, remaining: ft.Count})
	}
}

// Active lists the faults still armed.
func (f *ErrorInjector) Active() []ErrorRule {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []ErrorRule{}
	for _, r := range f.rules {
		ft := r.ErrorRule
		if ft.Count > 0 {
			ft.Count = r.remaining
		}
		ft.After -= r.passed
		out = append(out, ft)
	}
	return out
}

// Clear removes every fault (the counts of injected failures are kept).
func (f *ErrorInjector) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = nil
}

// Injected returns how many calls of service/action were failed so far;
// empty service or action sum over all.
func (f *ErrorInjector) Injected(service, action string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for k, v := range f.injected {
		s, a, _ := cutSlash(k)
		if (service == "" || s == service) && (action == "" || a == action) {
			n += v
		}
	}
	return n
}

func cutSlash(k string) (string, string, bool) {
	for i := 0; i < len(k); i++ {
		if k[i] == '/' {
			return k[:i], k[i+1:], true
		}
	}
	return k, "", false
}

// check returns the error to answer with, or nil to serve the call.
func (f *ErrorInjector) check(service, action string) error {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, r := range f.rules {
		if (r.Service != "" && r.Service != service) || (r.Action != "" && r.Action != action) {
			continue
		}
		if r.Count > 0 && r.remaining <= 0 {
			continue
		}
		if r.passed < r.After {
			r.passed++
			continue
		}
		if r.Probability > 0 && r.Probability < 1 && f.rng.Float64() >= r.Probability {
			continue
		}
		if r.Count > 0 {
			r.remaining--
			if r.remaining == 0 {
				f.rules = append(f.rules[:i:i], f.rules[i+1:]...)
			}
		}
		f.injected[service+"/"+action]++
		return r.err(service)
	}
	return nil
}

func (r *errorRule) err(service string) *sim.APIError {
	code := r.Code
	if code == "" {
		code = "Throttling"
		if service == ServiceEC2 {
			code = "RequestLimitExceeded"
		}
		if service == ServiceECS {
			code = "ThrottlingException" // awsJson services' code
		}
	}
	status := r.Status
	if status == 0 {
		status = defaultStatus(service, code)
	}
	msg := r.Message
	if msg == "" {
		switch {
		case code == "RequestLimitExceeded":
			msg = "Request limit exceeded."
		case code == "Throttling", code == "ThrottlingException":
			msg = "Rate exceeded"
		case status == http.StatusServiceUnavailable:
			msg = "Service is unavailable. Please try again shortly."
		default:
			msg = "Injected fault"
		}
	}
	return &sim.APIError{Code: code, Message: msg, Status: status}
}

// errorStatus is the HTTP status AWS sends with an error code, per service
// ("" = every service). The throttling rows are those of botocore's retry
// table (botocore/data/_retry.json, which the AWS CLI v1 and boto3's legacy
// mode use, and which only retries a code when the status matches too):
// EC2 sends RequestLimitExceeded and EC2ThrottledException with 503 (the
// "ec2" section); Throttling, ThrottlingException, ThrottledException and
// RequestThrottledException are 400 (the "definitions"), which is what
// Auto Scaling, ELBv2, RDS and STS send ("Rate exceeded"). Server errors
// follow the services' API references (InternalError/InternalFailure 500,
// ServiceUnavailable/Unavailable 503).
var errorStatus = map[string]map[string]int{
	ServiceEC2: {
		"RequestLimitExceeded":  http.StatusServiceUnavailable,
		"EC2ThrottledException": http.StatusServiceUnavailable,
	},
	"": {
		"Throttling":                http.StatusBadRequest,
		"ThrottlingException":       http.StatusBadRequest,
		"ThrottledException":        http.StatusBadRequest,
		"RequestThrottledException": http.StatusBadRequest,
		"ServiceUnavailable":        http.StatusServiceUnavailable,
		"Unavailable":               http.StatusServiceUnavailable,
		"InternalError":             http.StatusInternalServerError,
		"InternalFailure":           http.StatusInternalServerError,
	},
}

// defaultStatus returns the status service sends with code; 400 (a client
// error) for codes not in the table.
func defaultStatus(service, code string) int {
	if s, ok := errorStatus[service][code]; ok {
		return s
	}
	if s, ok := errorStatus[""][code]; ok {
		return s
	}
	return http.StatusBadRequest
}
