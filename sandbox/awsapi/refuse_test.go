package awsapi

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"
)

func sigv4(region, service string) string {
	return "AWS4-HMAC-SHA256 Credential=AKID/20250101/" + region + "/" + service + "/aws4_request, SignedHeaders=host, Signature=00"
}

// Each unserved request is answered in its own protocol, naming what the
// sandbox does not implement; another region is refused with 403.
func TestRefusalProtocols(t *testing.T) {
	srv, r := newServer(t)
	do := func(method, path, body string, hdr ...string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	// awsJson: CloudWatch Logs.
	resp, body := do("POST", "/", "{}", "Authorization", sigv4("local-1", "logs"), "X-Amz-Target", "Logs_20140328.DescribeLogGroups", "Content-Type", "application/x-amz-json-1.1")
	var j struct{ Type, Message string }
	_ = json.Unmarshal([]byte(strings.NewReplacer(`"__type"`, `"Type"`).Replace(body)), &j)
	if resp.StatusCode != 400 || j.Type != "UnknownOperationException" || j.Message != "gameday sandbox does not implement logs:DescribeLogGroups" || resp.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
		t.Errorf("json: %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	// awsquery: CloudWatch (signing name monitoring) answers as cloudwatch.
	resp, body = do("POST", "/", "Action=DescribeAlarms&Version=2010-08-01", "Authorization", sigv4("local-1", "monitoring"), "Content-Type", "application/x-www-form-urlencoded")
	var q queryErrorDoc
	if err := xml.Unmarshal([]byte(body), &q); err != nil || resp.StatusCode != 400 || q.Code != "InvalidAction" || !strings.Contains(body, "cloudwatch:DescribeAlarms") {
		t.Errorf("query: %d %q (%v)", resp.StatusCode, body, err)
	}
	// rest-xml: S3.
	resp, body = do("GET", "/bucket?list-type=2", "", "Authorization", sigv4("local-1", "s3"))
	if resp.StatusCode != 501 || !strings.Contains(body, "<Code>NotImplemented</Code>") || !strings.Contains(body, "<Error>") {
		t.Errorf("rest-xml: %d %q", resp.StatusCode, body)
	}
	// rest-json: Lambda.
	resp, body = do("GET", "/2015-03-31/functions/", "", "Authorization", sigv4("local-1", "lambda"))
	if resp.StatusCode != 501 || resp.Header.Get("X-Amzn-Errortype") != "NotImplemented" || !strings.Contains(body, "gameday sandbox does not implement lambda") {
		t.Errorf("rest-json: %d %v %q", resp.StatusCode, resp.Header, body)
	}
	// CBOR: a map of two text strings, __type first.
	resp, body = do("POST", "/service/GraniteServiceVersion20100801/operation/DescribeAlarms", "\xa0", "Authorization", sigv4("local-1", "monitoring"), "Smithy-Protocol", "rpc-v2-cbor")
	if resp.StatusCode != 400 || !strings.HasPrefix(body, "\xa2\x66__type\x78\x19UnknownOperationException") || !strings.Contains(body, "cloudwatch:DescribeAlarms") {
		t.Errorf("cbor: %d %q", resp.StatusCode, body)
	}
	// Another region: 403 in the service's shape, EC2's and query's.
	resp, body = do("POST", "/", "Action=DescribeVpcs&Version="+VersionEC2, "Authorization", sigv4("us-west-2", "ec2"), "Content-Type", "application/x-www-form-urlencoded")
	var e ec2ErrorDoc
	if err := xml.Unmarshal([]byte(body), &e); err != nil || resp.StatusCode != 403 || e.Code != "SignatureDoesNotMatch" {
		t.Errorf("ec2 other region: %d %q", resp.StatusCode, body)
	}
	resp, body = do("POST", "/", "Action=DescribeDBInstances&Version="+VersionRDS, "Authorization", sigv4("us-west-2", "rds"), "Content-Type", "application/x-www-form-urlencoded")
	q = queryErrorDoc{}
	if err := xml.Unmarshal([]byte(body), &q); err != nil || resp.StatusCode != 403 || q.Code != "SignatureDoesNotMatch" || q.Type != "Sender" {
		t.Errorf("rds other region: %d %q", resp.StatusCode, body)
	}
	// The refused calls are recorded, and none as mutating.
	n := 0
	for _, ev := range r.Events() {
		if ev.Kind == "api-call" && (ev.Detail == "DescribeLogGroups" || ev.Detail == "DescribeAlarms" || ev.Detail == "DescribeVpcs") {
			n++
			if ev.Mutating {
				t.Errorf("refused call recorded as mutating: %+v", ev)
			}
		}
	}
	if n < 4 {
		t.Errorf("%d refused calls recorded, want at least 4", n)
	}
}
