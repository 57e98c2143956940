package timeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
)

// Class is the outcome class of one request.
type Class string

// The outcome classes. Every request falls in exactly one.
const (
	// ClassOK: a 1xx/2xx/3xx answer (vegeta's definition of success).
	ClassOK Class = "ok"
	// ClassConnectTimeout: no connection could be established in time (SYN
	// unanswered, e.g. a blackholed subnet), or the request timed out before
	// it ever got a connection.
	ClassConnectTimeout Class = "connect_timeout"
	// ClassConnRefused: the node answered the SYN with RST (nothing listening).
	ClassConnRefused Class = "conn_refused"
	// ClassConnReset: the connection was reset, or closed by the peer, before
	// the response was complete.
	ClassConnReset Class = "conn_reset"
	// ClassELB5xx: 502, 503 or 504 produced by the load balancer itself,
	// i.e. signed "Server: awselb/2.0".
	ClassELB5xx Class = "elb_5xx"
	// ClassTarget5xx: any other 5xx, and every 502/503/504 that does not
	// carry the load balancer's signature (it came from a target).
	ClassTarget5xx Class = "target_5xx"
	// ClassClientTimeout: connected, but no complete answer within the
	// request timeout.
	ClassClientTimeout Class = "client_timeout"
	// ClassHTTP4xx: a 4xx answer.
	ClassHTTP4xx Class = "http_4xx"
	// ClassOther: anything else (DNS failure, TLS error, malformed response…).
	ClassOther Class = "other"
	// ClassNotSent: the rate plan asked for the hit but the load generator
	// could not start it within the request timeout of its due time (every
	// worker was busy). A real user would have been kept waiting as long and
	// given up, so it counts as a failed request in the window it was due.
	ClassNotSent Class = "not_sent"
	// ClassAborted: the harness itself cancelled the request because the run
	// was stopped. It says nothing about the system under test: Timeline
	// counts it apart and never as a request.
	ClassAborted Class = "aborted"
)

// Classes lists every class in a stable order (the order reports use).
var Classes = []Class{
	ClassOK, ClassConnectTimeout, ClassConnRefused, ClassConnReset, ClassELB5xx,
	ClassTarget5xx, ClassClientTimeout, ClassHTTP4xx, ClassOther, ClassNotSent, ClassAborted,
}

const numClasses = 11

func (c Class) index() int {
	switch c {
	case ClassOK:
		return 0
	case ClassConnectTimeout:
		return 1
	case ClassConnRefused:
		return 2
	case ClassConnReset:
		return 3
	case ClassELB5xx:
		return 4
	case ClassTarget5xx:
		return 5
	case ClassClientTimeout:
		return 6
	case ClassHTTP4xx:
		return 7
	case ClassNotSent:
		return 9
	case ClassAborted:
		return 10
	default:
		return 8 // ClassOther and anything unknown
	}
}

// Valid reports whether c is one of the defined classes.
func (c Class) Valid() bool { return c.index() != 8 || c == ClassOther }

// Success reports whether c counts as a successful request.
func (c Class) Success() bool { return c == ClassOK }

// Source says who produced an HTTP response, when that is known.
type Source uint8

const (
	// SourceUnknown: no response, or nothing to tell.
	SourceUnknown Source = iota
	// SourceLB: the load balancer answered itself (Server: awselb/2.0).
	SourceLB
	// SourceTarget: the response came from the application.
	SourceTarget
)

// LBServerPrefix is how the load balancer signs its own responses, in the
// Server header.
const LBServerPrefix = "awselb"

// SourceOf tells who produced a response from its Server header. A real ALB
// signs every response it generates itself (its 502/503/504 and other error
// pages) with "Server: awselb/2.0", and passes a target's own Server header
// through untouched; so a response without that signature came from a
// target, whatever else it says. The body is not consulted: an application
// may well mention awselb in it. The second parameter is kept for callers
// that pass one.
func SourceOf(server string, _ []byte) Source {
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(server)), LBServerPrefix) {
		return SourceLB
	}
	return SourceTarget
}

// ConnectError marks an error that happened before the request obtained a
// connection (dialling, or waiting for one). Classify reads a timeout wrapped
// in it as ClassConnectTimeout rather than ClassClientTimeout.
type ConnectError struct{ Err error }

func (e *ConnectError) Error() string { return e.Err.Error() }
func (e *ConnectError) Unwrap() error { return e.Err }

// Classify returns the class of one request from its status code (0 when no
// response arrived), the error it ended with (nil if none), and who produced
// the response if known. Errors are inspected by type (syscall errnos,
// net.Error timeouts, context deadlines), not by text; see ClassifyMessage for
// results that only kept the error text. A request that got a response but
// failed while reading the body is classified by the error.
func Classify(code int, err error, src Source) Class {
	if err != nil {
		return classifyErr(err)
	}
	return classifyCode(code, src)
}

func classifyCode(code int, src Source) Class {
	switch {
	case code >= 100 && code < 400:
		return ClassOK
	case code >= 400 && code < 500:
		return ClassHTTP4xx
	case code == 502 || code == 503 || code == 504:
		if src == SourceLB {
			return ClassELB5xx
		}
		return ClassTarget5xx
	case code >= 500 && code < 600:
		return ClassTarget5xx
	}
	return ClassOther
}

func classifyErr(err error) Class {
	var ce *ConnectError
	connecting := errors.As(err, &ce)
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		connecting = true
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return ClassConnRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ClassConnReset
	case isTimeout(err):
		if connecting {
			return ClassConnectTimeout
		}
		return ClassClientTimeout
	}
	return ClassOther
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// ClassifyMessage classifies from an error's text, for results that only kept
// it (vegeta result files). It is a fallback: prefer Classify. A timeout is
// read as a connect timeout only when the text shows it happened while
// dialling.
func ClassifyMessage(code int, msg string, src Source) Class {
	if msg == "" || (code != 0 && !strings.Contains(msg, " ")) {
		// vegeta stores the status line ("502 Bad Gateway") as the error of
		// non-2xx/3xx responses: the code decides.
		return classifyCode(code, src)
	}
	if code != 0 && strings.HasPrefix(msg, fmt.Sprint(code)+" ") {
		return classifyCode(code, src)
	}
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "connection refused"):
		return ClassConnRefused
	case strings.Contains(m, "connection reset"), strings.Contains(m, "broken pipe"),
		strings.HasSuffix(m, ": eof"), m == "eof", strings.Contains(m, "unexpected eof"):
		return ClassConnReset
	case strings.Contains(m, "timeout") || strings.Contains(m, "deadline exceeded"):
		if strings.Contains(m, "dial tcp") || strings.Contains(m, "connect:") {
			return ClassConnectTimeout
		}
		return ClassClientTimeout
	}
	return ClassOther
}

// ClassCounts holds one counter per class.
type ClassCounts [numClasses]uint64

// Get returns the count of class c.
func (cc *ClassCounts) Get(c Class) uint64 { return cc[c.index()] }

// Add adds n to class c.
func (cc *ClassCounts) Add(c Class, n uint64) { cc[c.index()] += n }

// Merge adds every counter of o.
func (cc *ClassCounts) Merge(o *ClassCounts) {
	for i := range cc {
		cc[i] += o[i]
	}
}

// Errors is the number of requests in a class other than ok and aborted.
func (cc *ClassCounts) Errors() uint64 {
	var n uint64
	for i, v := range cc {
		if Classes[i] != ClassOK && Classes[i] != ClassAborted {
			n += v
		}
	}
	return n
}

// Map returns the non-zero counters by class.
func (cc *ClassCounts) Map() map[Class]uint64 {
	m := make(map[Class]uint64)
	for i, v := range cc {
		if v != 0 {
			m[Classes[i]] = v
		}
	}
	return m
}

// MarshalJSON writes the non-zero counters as an object keyed by class.
func (cc ClassCounts) MarshalJSON() ([]byte, error) { return json.Marshal(cc.Map()) }

// UnmarshalJSON reads what MarshalJSON wrote; unknown classes are an error.
func (cc *ClassCounts) UnmarshalJSON(b []byte) error {
	var m map[Class]uint64
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*cc = ClassCounts{}
	for c, v := range m {
		if !c.Valid() {
			return fmt.Errorf("unknown class %q", c)
		}
		cc.Add(c, v)
	}
	return nil
}
