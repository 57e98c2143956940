package awsapi

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"

	"github.com/gameday-dev/gameday/sandbox/sim"
)

// What the sandbox answers to a request it does not serve: one signed for
// another region, one for a service it does not model, or an action it does
// not implement. Each answer is an error in the protocol of the service the
// client called, so the AWS CLI, boto3 and the SDKs print it as they print
// any AWS error (never another service's XML, which they cannot parse).

// credentialScope returns the region and the signing name of the SigV4
// credential scope (…/DATE/REGION/SERVICE/aws4_request) of the Authorization
// header or of a presigned query (X-Amz-Credential); both are "" when the
// request is unsigned.
func credentialScope(r *http.Request) (region, service string) {
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
	if len(parts) < 5 || parts[len(parts)-1] != "aws4_request" {
		return "", ""
	}
	return parts[len(parts)-3], parts[len(parts)-2]
}

// errWrongRegion is AWS's answer to a request whose signature is scoped to
// a region other than the endpoint's: HTTP 403 SignatureDoesNotMatch,
// "Credential should be scoped to a valid region, not 'REGION'." (the text
// the regional endpoints send, as reported against the SDKs, e.g.
// aws/aws-sdk-ruby#508 and aws/aws-sdk-java#1097; SignatureDoesNotMatch is
// in the common error codes of the EC2 and query API references). The SDKs
// and the CLI do not retry it, so a client pointed at the sandbox with the
// wrong region stops at once instead of being served another region's
// resources.
func errWrongRegion(region string) error {
	return &sim.APIError{Code: "SignatureDoesNotMatch", Message: fmt.Sprintf("Credential should be scoped to a valid region, not '%s'. (gameday sandbox serves only its own region)", region), Status: http.StatusForbidden}
}

// iamPrefix maps the SigV4 signing names that differ from the IAM action
// prefix people know a service by.
var iamPrefix = map[string]string{
	"monitoring": "cloudwatch",
	"email":      "ses",
}

// restXMLServices are the signing names of services whose protocol is
// rest-xml (botocore's models: s3, route53, cloudfront); other REST
// services speak rest-json.
var restXMLServices = map[string]bool{"s3": true, "route53": true, "cloudfront": true}

// notImplemented answers a request for a service the sandbox does not serve
// (signing name svc), in that service's protocol:
//   - awsJson (an X-Amz-Target header): {"__type":"UnknownOperationException",…}
//   - awsquery (a form with Action): <ErrorResponse> with InvalidAction
//   - rest-xml (S3, Route 53, CloudFront): <Error> with NotImplemented, 501
//   - rest-json (every other REST service): x-amzn-ErrorType NotImplemented, 501
func (h *handler) notImplemented(w http.ResponseWriter, hr *http.Request, svc, reqID string) {
	name := svc
	if p, ok := iamPrefix[svc]; ok {
		name = p
	}
	if hr.Header.Get("Smithy-Protocol") == "rpc-v2-cbor" {
		// Smithy RPC v2 CBOR (the current Go SDK's CloudWatch): POST
		// /service/NAME/operation/OP; errors carry __type in a CBOR map.
		op := hr.URL.Path[strings.LastIndex(hr.URL.Path, "/")+1:]
		h.b.RecordAPICall(svc, op, false)
		w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
		w.Header().Set("Content-Type", "application/cbor")
		w.Header().Set("x-amzn-RequestId", reqID)
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(cborTextMap("__type", "UnknownOperationException", "message", fmt.Sprintf("gameday sandbox does not implement %s:%s", name, op)))
		return
	}
	if target := hr.Header.Get("X-Amz-Target"); target != "" {
		op := target
		if i := strings.LastIndex(target, "."); i >= 0 {
			op = target[i+1:]
		}
		h.b.RecordAPICall(svc, op, false)
		ct := hr.Header.Get("Content-Type")
		if !strings.HasPrefix(ct, "application/x-amz-json") {
			ct = "application/x-amz-json-1.1"
		}
		writeJSONError(w, http.StatusBadRequest, ct, reqID, "UnknownOperationException", fmt.Sprintf("gameday sandbox does not implement %s:%s", name, op))
		return
	}
	hr.Body = http.MaxBytesReader(w, hr.Body, maxBody)
	_ = hr.ParseForm()
	if action := hr.Form.Get("Action"); action != "" {
		h.b.RecordAPICall(svc, action, false)
		v := queryErrorBody{Xmlns: fmt.Sprintf("https://%s.amazonaws.com/doc/%s/", svc, hr.Form.Get("Version")), RequestID: reqID,
			Error: queryErrorT{Type: "Sender", Code: "InvalidAction", Message: fmt.Sprintf("gameday sandbox does not implement %s:%s", name, action)}}
		b, _ := xml.Marshal(v)
		writeXML(w, http.StatusBadRequest, reqID, append([]byte(xml.Header), b...))
		return
	}
	op := hr.Method + " " + hr.URL.Path
	h.b.RecordAPICall(svc, op, false)
	msg := fmt.Sprintf("gameday sandbox does not implement %s (%s)", name, op)
	if restXMLServices[svc] {
		// S3's error document (S3 API reference, "Error responses"):
		// <Error><Code/><Message/><RequestId/></Error>.
		v := struct {
			XMLName   xml.Name `xml:"Error"`
			Code      string   `xml:"Code"`
			Message   string   `xml:"Message"`
			RequestID string   `xml:"RequestId"`
		}{Code: "NotImplemented", Message: msg, RequestID: reqID}
		b, _ := xml.Marshal(v)
		w.Header().Set("Content-Type", "application/xml")
		w.Header().Set("x-amz-request-id", reqID)
		w.WriteHeader(http.StatusNotImplemented)
		_, _ = w.Write(append([]byte(xml.Header), b...))
		return
	}
	// rest-json: botocore and the SDKs read the code from x-amzn-ErrorType.
	w.Header().Set("x-amzn-ErrorType", "NotImplemented")
	writeJSONError(w, http.StatusNotImplemented, "application/json", reqID, "NotImplemented", msg)
}

func writeJSONError(w http.ResponseWriter, status int, contentType, reqID, code, msg string) {
	b, _ := json.Marshal(map[string]string{"__type": code, "message": msg})
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("x-amzn-RequestId", reqID)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

type queryErrorT struct {
	Type    string `xml:"Type"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

type queryErrorBody struct {
	XMLName   xml.Name    `xml:"ErrorResponse"`
	Xmlns     string      `xml:"xmlns,attr"`
	Error     queryErrorT `xml:"Error"`
	RequestID string      `xml:"RequestId"`
}

// errUnknownAction answers an action the sandbox does not implement for a
// service it serves: InvalidAction (HTTP 400), the code AWS sends for an
// action a service does not have, naming the action as IAM does.
func errUnknownAction(service, action string) error {
	return &sim.APIError{Code: "InvalidAction", Message: fmt.Sprintf("gameday sandbox does not implement %s:%s", service, action), Status: http.StatusBadRequest}
}

// cborTextMap encodes pairs of strings as a CBOR map of text strings
// (RFC 8949: major type 5 map, major type 3 text).
func cborTextMap(kv ...string) []byte {
	var b []byte
	head := func(major byte, n int) {
		switch {
		case n < 24:
			b = append(b, major<<5|byte(n))
		case n < 256:
			b = append(b, major<<5|24, byte(n))
		default:
			n = min(n, 0xffff)
			b = append(b, major<<5|25, byte(n>>8), byte(n))
		}
	}
	head(5, len(kv)/2)
	for _, s := range kv[:len(kv)/2*2] {
		if len(s) > 0xffff {
			s = s[:0xffff]
		}
		head(3, len(s))
		b = append(b, s...)
	}
	return b
}
