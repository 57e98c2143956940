package awsapi

import (
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gameday-dev/gameday/sandbox/sim"
)

// newServer serves a real (not started) region: the model answers every
// control-plane call; nothing listens but the test server on loopback.
func newServer(t *testing.T, opts ...Option) (*httptest.Server, *sim.Region) {
	t.Helper()
	r, err := sim.New(sim.Config{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	srv := httptest.NewServer(NewHandler(r, opts...))
	t.Cleanup(srv.Close)
	return srv, r
}

func post(t *testing.T, srv *httptest.Server, form url.Values, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

type ec2ErrorDoc struct {
	XMLName xml.Name `xml:"Response"`
	Code    string   `xml:"Errors>Error>Code"`
	Message string   `xml:"Errors>Error>Message"`
	ReqID   string   `xml:"RequestID"`
}

type queryErrorDoc struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Type    string   `xml:"Error>Type"`
	Code    string   `xml:"Error>Code"`
	Message string   `xml:"Error>Message"`
	ReqID   string   `xml:"RequestId"`
}

func TestEC2ResponseShapeAndGET(t *testing.T) {
	srv, _ := newServer(t)
	status, body := post(t, srv, form("Action", "DescribeInstances", "Version", VersionEC2))
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	if !strings.Contains(body, `<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>`) ||
		!strings.Contains(body, "<reservationSet><item>") || !strings.Contains(body, "<instanceState><code>16</code><name>running</name></instanceState>") {
		t.Fatalf("body %s", body)
	}
	if !regexp.MustCompile(`<launchTime>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z</launchTime>`).MatchString(body) {
		t.Fatalf("launchTime not ISO 8601 UTC: %s", body)
	}
	// Deterministic: the same state gives the same body, request id aside.
	_, body2 := post(t, srv, form("Action", "DescribeInstances", "Version", VersionEC2))
	strip := regexp.MustCompile(`<requestId>[^<]*</requestId>`)
	if strip.ReplaceAllString(body, "") != strip.ReplaceAllString(body2, "") {
		t.Fatal("responses differ between identical calls")
	}
	// GET with a query string works as well.
	resp, err := srv.Client().Get(srv.URL + "/?Action=DescribeAvailabilityZones&Version=" + VersionEC2)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "<zoneName>local-1a</zoneName>") {
		t.Fatalf("GET: %d %s", resp.StatusCode, b)
	}
}

func TestQueryResponseShape(t *testing.T) {
	srv, _ := newServer(t)
	status, body := post(t, srv, form("Action", "DescribeAutoScalingGroups", "Version", VersionAutoScaling))
	if status != 200 || !strings.HasPrefix(strings.TrimSpace(body[strings.Index(body, "?>")+2:]), `<DescribeAutoScalingGroupsResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><DescribeAutoScalingGroupsResult><AutoScalingGroups><member>`) ||
		!strings.Contains(body, "<ResponseMetadata><RequestId>") {
		t.Fatalf("%d %s", status, body)
	}
	// An action without output still has ResponseMetadata.
	status, body = post(t, srv, form("Action", "SetDesiredCapacity", "Version", VersionAutoScaling, "AutoScalingGroupName", "gameday-web", "DesiredCapacity", "3"))
	if status != 200 || !strings.Contains(body, "<SetDesiredCapacityResponse") || !strings.Contains(body, "<RequestId>") {
		t.Fatalf("%d %s", status, body)
	}
}

func TestErrors(t *testing.T) {
	srv, r := newServer(t)
	for _, tc := range []struct {
		name   string
		form   url.Values
		header []string
		status int
		code   string
		ec2    bool
	}{
		{"ec2 unknown action", form("Action", "RunInstances", "Version", VersionEC2), nil, 400, "InvalidAction", true},
		{"ec2 missing ids", form("Action", "TerminateInstances", "Version", VersionEC2), nil, 400, "MissingParameter", true},
		{"ec2 not found", form("Action", "DescribeInstances", "Version", VersionEC2, "InstanceId.1", "i-0abc"), nil, 400, "InvalidInstanceID.NotFound", true},
		{"ec2 bad rule number", form("Action", "CreateNetworkAclEntry", "Version", VersionEC2, "NetworkAclId", "acl-1", "RuleNumber", "x", "Protocol", "-1", "RuleAction", "deny", "Egress", "false", "CidrBlock", "0.0.0.0/0"), nil, 400, "InvalidParameterValue", true},
		{"asg unknown action", form("Action", "CreateAutoScalingGroup", "Version", VersionAutoScaling), nil, 400, "InvalidAction", false},
		{"asg missing desired", form("Action", "SetDesiredCapacity", "Version", VersionAutoScaling, "AutoScalingGroupName", "gameday-web"), nil, 400, "ValidationError", false},
		{"elb missing tg", form("Action", "DescribeTargetHealth", "Version", VersionELBv2), nil, 400, "ValidationError", false},
		{"rds missing id", form("Action", "RebootDBInstance", "Version", VersionRDS), nil, 400, "MissingParameter", false},
		{"rds not found", form("Action", "DescribeDBInstances", "Version", VersionRDS, "DBInstanceIdentifier", "nope"), nil, 404, "DBInstanceNotFound", false},
		{"unknown version", form("Action", "DescribeDBInstances", "Version", "1999-01-01"), nil, 400, "NoSuchVersion", false},
		{"no version", form("Action", "DescribeDBInstances"), nil, 400, "MissingParameter", false},
		{"no action", form("Version", VersionSTS), nil, 400, "MissingAction", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(t, srv, tc.form, tc.header...)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if tc.ec2 {
				var d ec2ErrorDoc
				if err := xml.Unmarshal([]byte(body), &d); err != nil || d.Code != tc.code || d.ReqID == "" || d.Message == "" {
					t.Fatalf("ec2 error %+v (%v): %s", d, err, body)
				}
				return
			}
			var d queryErrorDoc
			if err := xml.Unmarshal([]byte(body), &d); err != nil || d.Code != tc.code || d.ReqID == "" || d.Type != "Sender" {
				t.Fatalf("query error %+v (%v): %s", d, err, body)
			}
		})
	}
	// Without Version, the SigV4 credential scope names the service: EC2
	// serves it (EC2 accepts any API version).
	status, body := post(t, srv, form("Action", "DescribeVpcs"), "Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20250101/local-1/ec2/aws4_request, SignedHeaders=host, Signature=00")
	if status != 200 || !strings.Contains(body, "<vpcSet>") {
		t.Fatalf("scope routing: %d %s", status, body)
	}
	// Every served call was recorded, unknown actions included.
	var unknown bool
	for _, e := range r.Events() {
		if e.Kind == "api-call" && e.Resource == ServiceEC2 && e.Detail == "RunInstances" && !e.Mutating {
			unknown = true
		}
	}
	if !unknown {
		t.Fatal("unknown action not recorded")
	}
}

func TestAPIErrorMapping(t *testing.T) {
	ae := apiError(ServiceEC2, errors.New("boom"))
	if ae.Code != "InternalError" || ae.Status != 500 {
		t.Fatalf("%+v", ae)
	}
	ae = apiError(ServiceRDS, errors.New("boom"))
	if ae.Code != "InternalFailure" || ae.Status != 500 {
		t.Fatalf("%+v", ae)
	}
	ae = apiError(ServiceRDS, &sim.APIError{Code: "X", Message: "m"})
	if ae.Status != 400 {
		t.Fatalf("default status %d", ae.Status)
	}
	rec := httptest.NewRecorder()
	writeQueryError(rec, ServiceSTS, "rid", errors.New("boom"))
	var d queryErrorDoc
	if err := xml.Unmarshal(rec.Body.Bytes(), &d); err != nil || rec.Code != 500 || d.Type != "Receiver" || d.Code != "InternalFailure" {
		t.Fatalf("%d %+v %v", rec.Code, d, err)
	}
}

func TestParams(t *testing.T) {
	p := params{form(
		"Filter.2.Name", "b", "Filter.2.Value.1", "y",
		"Filter.1.Name", "a", "Filter.1.Value.2", "x2", "Filter.1.Value.1", "x1",
		"Filter.10.Name", "c", "Filter.10.Value.1", "z",
		"InstanceId.1", "i-1", "InstanceId.3", "i-3",
	)}
	fs := p.filters("Filter", "Value")
	if len(fs) != 3 || fs[0].Name != "a" || fs[1].Name != "b" || fs[2].Name != "c" || strings.Join(fs[0].Values, ",") != "x1,x2" {
		t.Fatalf("%+v", fs)
	}
	if got := p.list("InstanceId"); strings.Join(got, ",") != "i-1,i-3" {
		t.Fatalf("%v", got)
	}
	for _, tc := range []struct {
		p, s string
		ok   bool
	}{{"ELB app/*", "ELB app/x/1", true}, {"a?c", "abc", true}, {"a?c", "ac", false}, {"*", "", true}, {"x", "xy", false}} {
		if wildcard(tc.p, tc.s) != tc.ok {
			t.Errorf("wildcard(%q,%q) != %v", tc.p, tc.s, tc.ok)
		}
	}
}

func TestFaultInjector(t *testing.T) {
	var nilF *ErrorInjector
	if nilF.check("ec2", "X") != nil {
		t.Fatal("nil injector injected")
	}
	f := NewErrorInjector(1)
	f.Add(Throttle(ServiceEC2, "DescribeInstances", 2), Unavailable("", "DescribeDBInstances", 0))
	for i, want := range []string{"RequestLimitExceeded", "RequestLimitExceeded", ""} {
		err := f.check(ServiceEC2, "DescribeInstances")
		got := ""
		if err != nil {
			got = err.(*sim.APIError).Code
			// EC2 throttles with 503 (botocore's _retry.json "ec2").
			if st := err.(*sim.APIError).Status; st != 503 {
				t.Fatalf("call %d: EC2 throttling status %d, want 503", i, st)
			}
		}
		if got != want {
			t.Fatalf("call %d: %q, want %q", i, got, want)
		}
	}
	for range 3 {
		err := f.check(ServiceRDS, "DescribeDBInstances")
		var ae *sim.APIError
		if !errors.As(err, &ae) || ae.Status != 503 || ae.Code != "ServiceUnavailable" {
			t.Fatalf("%v", err)
		}
	}
	if f.check(ServiceRDS, "DescribeEvents") != nil {
		t.Fatal("other action failed")
	}
	if f.Injected(ServiceEC2, "") != 2 || f.Injected("", "DescribeDBInstances") != 3 || f.Injected("", "") != 5 {
		t.Fatalf("injected counts %d %d", f.Injected(ServiceEC2, ""), f.Injected("", ""))
	}
	f.Clear()
	if f.check(ServiceRDS, "DescribeDBInstances") != nil {
		t.Fatal("fault survived Clear")
	}
	// Throttling in the other services uses their code.
	f.Add(Throttle(ServiceAutoScaling, "", 1))
	if err := f.check(ServiceAutoScaling, "SetDesiredCapacity"); err == nil || err.(*sim.APIError).Code != "Throttling" || err.(*sim.APIError).Status != 400 {
		t.Fatalf("%v", err)
	}
}
