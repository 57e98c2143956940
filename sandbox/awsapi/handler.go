package awsapi

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gameday-dev/gameday/sandbox/sim"
)

// Service names passed to Backend.RecordAPICall (the SigV4 signing names).
const (
	ServiceEC2         = "ec2"
	ServiceAutoScaling = "autoscaling"
	ServiceELBv2       = "elasticloadbalancing"
	ServiceRDS         = "rds"
	ServiceSTS         = "sts"
)

// API versions the handler dispatches on.
const (
	VersionEC2         = "2016-11-15"
	VersionAutoScaling = "2011-01-01"
	VersionELBv2       = "2015-12-01"
	VersionRDS         = "2014-10-31"
	VersionSTS         = "2011-06-15"
)

var versionService = map[string]string{
	VersionEC2:         ServiceEC2,
	VersionAutoScaling: ServiceAutoScaling,
	VersionELBv2:       ServiceELBv2,
	VersionRDS:         ServiceRDS,
	VersionSTS:         ServiceSTS,
}

var serviceVersion = map[string]string{
	ServiceEC2:         VersionEC2,
	ServiceAutoScaling: VersionAutoScaling,
	ServiceELBv2:       VersionELBv2,
	ServiceRDS:         VersionRDS,
	ServiceSTS:         VersionSTS,
}

// xmlns of each service's responses.
var serviceNS = map[string]string{
	ServiceEC2:         "http://ec2.amazonaws.com/doc/2016-11-15/",
	ServiceAutoScaling: "http://autoscaling.amazonaws.com/doc/2011-01-01/",
	ServiceELBv2:       "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/",
	ServiceRDS:         "http://rds.amazonaws.com/doc/2014-10-31/",
	ServiceSTS:         "https://sts.amazonaws.com/doc/2011-06-15/",
}

// maxBody bounds the size of a request body.
const maxBody = 1 << 20

// Option configures the handler.
type Option func(*handler)

// WithErrorInjector makes the handler consult f before serving each action.
func WithErrorInjector(f *ErrorInjector) Option { return func(h *handler) { h.faults = f } }

// WithClock overrides the clock used for request timestamps (tests).
func WithClock(now func() time.Time) Option { return func(h *handler) { h.now = now } }

type handler struct {
	b      Backend
	faults *ErrorInjector
	now    func() time.Time
	idem   *idempotency // ClientToken results (idempotency.go)
	roles  *stsSessions // AssumeRole sessions (ststemp.go)
	ecs    ECSBackend   // Amazon ECS (ecs.go); nil: not served
}

// NewHandler returns the control plane's http.Handler: POST form-encoded (or
// GET query-string) AWS query API calls for EC2, Auto Scaling, ELBv2, RDS,
// STS and CloudWatch, and CloudWatch's Smithy RPC v2 CBOR calls, served
// from b.
func NewHandler(b Backend, opts ...Option) http.Handler {
	h := &handler{b: b, now: time.Now, idem: &idempotency{}, roles: &stsSessions{}}
	for _, o := range opts {
		o(h)
	}
	return h
}

// request is one decoded API call.
type request struct {
	service   string
	action    string
	p         params
	id        string // request id
	accessKey string // of the SigV4 credential scope; "" when unsigned
	body      []byte // the JSON body of an awsJson call (ecs.go)
}

// actionFunc serves one action and returns the response body (a struct
// whose fields are the children of the Result/Response element) or an error.
type actionFunc func(h *handler, r *request) (any, error)

type actionDef struct {
	fn       actionFunc
	mutating bool
}

func (h *handler) ServeHTTP(w http.ResponseWriter, hr *http.Request) {
	reqID := newRequestID()
	region, scoped := credentialScope(hr)
	if scoped != "" && serviceVersion[scoped] == "" {
		h.notImplemented(w, hr, scoped, reqID)
		return
	}
	if scoped == "" && hr.Header.Get("X-Amz-Target") != "" {
		h.notImplemented(w, hr, "unknown", reqID)
		return
	}
	if region != "" && region != h.b.RegionName() {
		hr.Body = http.MaxBytesReader(w, hr.Body, maxBody)
		_ = hr.ParseForm() // only to record which action was refused
		h.b.RecordAPICall(scoped, hr.Form.Get("Action"), false)
		if scoped == ServiceECS {
			writeJSONAPIError(w, reqID, errWrongRegion(region))
			return
		}
		writeError(w, scoped, reqID, errWrongRegion(region))
		return
	}
	if scoped == ServiceECS {
		h.serveJSON(w, hr, reqID) // ECS's awsJson1_1 (ecs.go)
		return
	}
	if isRPCv2(hr) {
		h.serveRPCv2(w, hr, reqID) // CloudWatch's Smithy RPC v2 CBOR (rpcv2.go)
		return
	}
	if hr.Method != http.MethodPost && hr.Method != http.MethodGet {
		w.Header().Set("Allow", "GET, POST")
		writeQueryError(w, ServiceSTS, reqID, &sim.APIError{Code: "InvalidHttpRequest", Message: "The requested HTTP method is not supported", Status: http.StatusMethodNotAllowed})
		return
	}
	hr.Body = http.MaxBytesReader(w, hr.Body, maxBody)
	if err := hr.ParseForm(); err != nil {
		writeQueryError(w, scopeService(hr), reqID, &sim.APIError{Code: "MalformedQueryString", Message: err.Error(), Status: http.StatusBadRequest})
		return
	}
	form := hr.Form
	version := form.Get("Version")
	service, ok := versionService[version]
	if !ok {
		scope := scopeService(hr)
		switch {
		case scope == ServiceEC2:
			// EC2 accepts every historic API version; serve the current one.
			service = ServiceEC2
		case version == "" && scope != "":
			writeError(w, scope, reqID, &sim.APIError{Code: "MissingParameter", Message: "The request must contain the parameter Version", Status: http.StatusBadRequest})
			h.b.RecordAPICall(scope, form.Get("Action"), false)
			return
		default:
			if scope == "" {
				scope = ServiceSTS
			}
			msg := fmt.Sprintf("Could not find operation %s for version %s", form.Get("Action"), version)
			if version == "" {
				msg = "The request must contain the parameter Version"
			}
			code := "NoSuchVersion"
			if version == "" {
				code = "MissingParameter"
			}
			h.b.RecordAPICall(scopeService(hr), form.Get("Action"), false)
			writeError(w, scope, reqID, &sim.APIError{Code: code, Message: msg, Status: http.StatusBadRequest})
			return
		}
	}
	action := form.Get("Action")
	if action == "" {
		h.b.RecordAPICall(service, "", false)
		writeError(w, service, reqID, &sim.APIError{Code: "MissingAction", Message: "The request must contain the parameter Action", Status: http.StatusBadRequest})
		return
	}
	def, known := actions[service][action]
	dryRun := isDryRun(service, params{form})
	h.b.RecordAPICall(service, action, known && def.mutating && !dryRun)
	if !known {
		writeError(w, service, reqID, errUnknownAction(service, action))
		return
	}
	if err := h.faults.check(service, action); err != nil {
		writeError(w, service, reqID, err)
		return
	}
	req := &request{service: service, action: action, p: params{form}, id: reqID, accessKey: accessKeyOf(hr)}
	if dryRun {
		writeError(w, service, reqID, h.serveDryRun(def, req))
		return
	}
	body, err := def.fn(h, req)
	if err != nil {
		writeError(w, service, reqID, err)
		return
	}
	if service == ServiceEC2 {
		writeEC2(w, action, reqID, body)
	} else {
		writeQuery(w, service, action, reqID, body)
	}
}

// scopeService reads the service from the SigV4 credential scope of the
// Authorization header (…/DATE/REGION/SERVICE/aws4_request) or of a
// presigned query (X-Amz-Credential). It returns "" when absent.
func scopeService(r *http.Request) string {
	cred := ""
	if a := r.Header.Get("Authorization"); a != "" {
		if i := strings.Index(a, "Credential="); i >= 0 {
			cred = a[i+len("Credential="):]
			if j := strings.IndexAny(cred, ", "); j >= 0 {
				cred = cred[:j]
			}
		}
	}
	if cred == "" {
		cred = r.URL.Query().Get("X-Amz-Credential")
	}
	parts := strings.Split(cred, "/")
	if len(parts) < 5 {
		return ""
	}
	s := parts[len(parts)-2]
	if _, ok := serviceVersion[s]; ok {
		return s
	}
	return ""
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// innerXML encodes v's fields without v's own element.
func innerXML(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	var buf bytes.Buffer
	enc := xml.NewEncoder(&buf)
	if err := enc.EncodeElement(v, xml.StartElement{Name: xml.Name{Local: "x"}}); err != nil {
		return nil, err
	}
	if err := enc.Flush(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	b = bytes.TrimPrefix(b, []byte("<x>"))
	b = bytes.TrimSuffix(b, []byte("</x>"))
	if bytes.Equal(b, []byte("<x/>")) {
		return nil, nil
	}
	return b, nil
}

func writeXML(w http.ResponseWriter, status int, reqID string, b []byte) {
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Header().Set("x-amzn-RequestId", reqID)
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeEC2 writes an ec2query response:
// <ActionResponse xmlns=…><requestId>…</requestId>…</ActionResponse>.
func writeEC2(w http.ResponseWriter, action, reqID string, body any) {
	inner, err := innerXML(body)
	if err != nil {
		writeError(w, ServiceEC2, reqID, err)
		return
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	fmt.Fprintf(&buf, "<%sResponse xmlns=\"%s\"><requestId>%s</requestId>", action, serviceNS[ServiceEC2], reqID)
	buf.Write(inner)
	fmt.Fprintf(&buf, "</%sResponse>", action)
	writeXML(w, http.StatusOK, reqID, buf.Bytes())
}

// writeQuery writes an awsquery response:
// <ActionResponse xmlns=…><ActionResult>…</ActionResult><ResponseMetadata>….
func writeQuery(w http.ResponseWriter, service, action, reqID string, body any) {
	inner, err := innerXML(body)
	if err != nil {
		writeError(w, service, reqID, err)
		return
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	fmt.Fprintf(&buf, "<%sResponse xmlns=\"%s\">", action, serviceNS[service])
	if body != nil {
		fmt.Fprintf(&buf, "<%sResult>", action)
		buf.Write(inner)
		fmt.Fprintf(&buf, "</%sResult>", action)
	}
	fmt.Fprintf(&buf, "<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>", reqID, action)
	writeXML(w, http.StatusOK, reqID, buf.Bytes())
}

// apiError converts any error into the code, message and status to send.
func apiError(service string, err error) *sim.APIError {
	var ae *sim.APIError
	if errors.As(err, &ae) {
		out := *ae
		if out.Status == 0 {
			out.Status = http.StatusBadRequest
		}
		return &out
	}
	code := "InternalFailure"
	if service == ServiceEC2 {
		code = "InternalError"
	}
	return &sim.APIError{Code: code, Message: err.Error(), Status: http.StatusInternalServerError}
}

func writeError(w http.ResponseWriter, service, reqID string, err error) {
	if service == ServiceEC2 {
		writeEC2Error(w, reqID, err)
		return
	}
	writeQueryError(w, service, reqID, err)
}

// writeEC2Error writes EC2's error shape:
// <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>.
func writeEC2Error(w http.ResponseWriter, reqID string, err error) {
	ae := apiError(ServiceEC2, err)
	type errT struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	v := struct {
		XMLName   xml.Name `xml:"Response"`
		Errors    []errT   `xml:"Errors>Error"`
		RequestID string   `xml:"RequestID"`
	}{Errors: []errT{{ae.Code, ae.Message}}, RequestID: reqID}
	b, _ := xml.Marshal(v)
	writeXML(w, ae.Status, reqID, append([]byte(xml.Header), b...))
}

// writeQueryError writes the awsquery error shape:
// <ErrorResponse xmlns=…><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>.
func writeQueryError(w http.ResponseWriter, service, reqID string, err error) {
	ae := apiError(service, err)
	typ := "Sender"
	if ae.Status >= 500 {
		typ = "Receiver"
	}
	type errT struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	v := struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		Xmlns     string   `xml:"xmlns,attr"`
		Error     errT     `xml:"Error"`
		RequestID string   `xml:"RequestId"`
	}{Xmlns: serviceNS[service], Error: errT{typ, ae.Code, ae.Message}, RequestID: reqID}
	b, _ := xml.Marshal(v)
	writeXML(w, ae.Status, reqID, append([]byte(xml.Header), b...))
}

// Errors the handler itself produces.

func errMissing(service, name string) error {
	code := "MissingParameter"
	msg := fmt.Sprintf("The request must contain the parameter %s", name)
	if service == ServiceAutoScaling || service == ServiceELBv2 || service == ServiceSTS {
		code = "ValidationError"
		msg = fmt.Sprintf("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", lowerFirst(name))
	}
	return &sim.APIError{Code: code, Message: msg, Status: http.StatusBadRequest}
}

func errInvalid(service, name, value, why string) error {
	code := "InvalidParameterValue"
	if service == ServiceAutoScaling || service == ServiceELBv2 || service == ServiceSTS {
		code = "ValidationError"
	}
	return &sim.APIError{Code: code, Message: fmt.Sprintf("Invalid value '%s' for %s: %s", value, name, why), Status: http.StatusBadRequest}
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// iso formats a timestamp as AWS does (ISO 8601, UTC, milliseconds).
func iso(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}
