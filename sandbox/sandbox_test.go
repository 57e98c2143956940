package sandbox

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/gameday-dev/gameday/sandbox/awsapi"
	"github.com/gameday-dev/gameday/sandbox/sim"
)

func apiCalls(s *Sandbox, action string) int {
	n := 0
	for _, e := range s.Region().Events() {
		if e.Kind == "api-call" && e.Detail == action {
			n++
		}
	}
	return n
}

// fastRetryer is the SDK's standard retryer (3 attempts, its own
// retryable-error rules) without the backoff sleeps.
func fastRetryer(maxAttempts int) func() aws.Retryer {
	return func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
			if maxAttempts > 0 {
				o.MaxAttempts = maxAttempts
			}
		})
	}
}

func TestThrottlingIsRetriedBySDK(t *testing.T) {
	s, cfg := startSandbox(t, testConfig())
	ctx := ctxT(t)
	cfg.Retryer = fastRetryer(0)

	// EC2: RequestLimitExceeded twice, then served; the standard retryer
	// (3 attempts) gets through.
	// The SDK's client side sometimes closes the connection under the last
	// attempt's 200 ("use of closed network connection", aws-sdk-go-v2
	// #1825/#2737; about once in 40 runs here), which spends that attempt:
	// such a try says nothing about the sandbox and is made again.
	for try := 1; ; try++ {
		served, injected := apiCalls(s, "DescribeInstances"), s.APIErrors().Injected(awsapi.ServiceEC2, "DescribeInstances")
		s.APIErrors().Add(awsapi.Throttle(awsapi.ServiceEC2, "DescribeInstances", 2))
		_, err := ec2.NewFromConfig(cfg).DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
		if errors.Is(err, net.ErrClosed) && try < 3 {
			t.Logf("try %d: the SDK client closed its own connection (%v); again", try, err)
			continue
		}
		if err != nil {
			t.Fatalf("DescribeInstances after 2 throttles: %v", err)
		}
		if got := apiCalls(s, "DescribeInstances") - served; got != 3 {
			t.Fatalf("DescribeInstances served %d times, want 3", got)
		}
		if got := s.APIErrors().Injected(awsapi.ServiceEC2, "DescribeInstances") - injected; got != 2 {
			t.Fatalf("injected %d", got)
		}
		break
	}

	// RDS: 503 ServiceUnavailable once, retried.
	s.APIErrors().Add(awsapi.Unavailable(awsapi.ServiceRDS, "DescribeDBInstances", 1))
	if _, err := rds.NewFromConfig(cfg).DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{}); err != nil {
		t.Fatalf("DescribeDBInstances after a 503: %v", err)
	}
	if got := apiCalls(s, "DescribeDBInstances"); got != 2 {
		t.Fatalf("DescribeDBInstances served %d times, want 2", got)
	}

	// A persistent throttle exhausts the retries: the caller sees Throttling.
	s.APIErrors().Add(awsapi.ErrorRule{Service: awsapi.ServiceAutoScaling, Action: "DescribeAutoScalingGroups"})
	cfg2 := cfg
	cfg2.Retryer = fastRetryer(2)
	_, err := autoscaling.NewFromConfig(cfg2).
		DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
	wantAPIError(t, err, "Throttling", 400)
	if got := apiCalls(s, "DescribeAutoScalingGroups"); got != 2 {
		t.Fatalf("DescribeAutoScalingGroups served %d times, want 2", got)
	}
	// Other actions are untouched; Clear removes the rest.
	if _, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	s.APIErrors().Clear()
	if _, err := autoscaling.NewFromConfig(cfg).DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{}); err != nil {
		t.Fatal(err)
	}
}

func TestConfiguredFaultsAndProbability(t *testing.T) {
	cfg := testConfig()
	cfg.APIFaults = []awsapi.ErrorRule{{Service: "sts", Action: "GetCallerIdentity", Code: "InternalFailure", Probability: 0.5}}
	cfg.FaultSeed = 1
	s, awsCfg := startSandbox(t, cfg)
	c := sts.NewFromConfig(awsCfg, func(o *sts.Options) { o.RetryMaxAttempts = 1 })
	failed := 0
	for range 40 {
		if _, err := c.GetCallerIdentity(ctxT(t), &sts.GetCallerIdentityInput{}); err != nil {
			wantAPIError(t, err, "InternalFailure", 500)
			failed++
		}
	}
	if failed < 8 || failed > 32 {
		t.Fatalf("%d of 40 failed with p=0.5", failed)
	}
	if s.APIErrors().Injected("sts", "") != failed {
		t.Fatalf("injected %d, failed %d", s.APIErrors().Injected("sts", ""), failed)
	}
}

func TestEventsAndHealthEndpoints(t *testing.T) {
	s, cfg := startSandbox(t, testConfig())
	ctx := ctxT(t)
	mid := time.Now()
	time.Sleep(2 * time.Millisecond)
	if _, err := ec2.NewFromConfig(cfg).TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: s.Summary().Instances[:1]}); err != nil {
		t.Fatal(err)
	}

	get := func(url string) []sim.Event {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
			t.Fatalf("%s: %s %s", url, resp.Status, resp.Header.Get("Content-Type"))
		}
		var evs []sim.Event
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			var e sim.Event
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatalf("line %q: %v", sc.Text(), err)
			}
			evs = append(evs, e)
		}
		return evs
	}
	all := get(s.Endpoint() + "/_sandbox/events")
	since := get(s.Endpoint() + "/_sandbox/events?since=" + mid.UTC().Format(time.RFC3339Nano))
	if len(since) == 0 || len(since) >= len(all) {
		t.Fatalf("since: %d of %d", len(since), len(all))
	}
	var sawCall, sawState bool
	for _, e := range since {
		if !e.Time.After(mid) {
			t.Fatalf("event before since: %+v", e)
		}
		if e.Kind == "api-call" && e.Resource == "ec2" && e.Detail == "TerminateInstances" && e.Mutating {
			sawCall = true
		}
		if e.Kind == "instance-state" {
			sawState = true
		}
	}
	if !sawCall || !sawState {
		t.Fatalf("missing api-call or instance-state events: %+v", since)
	}
	calls := get(s.Endpoint() + "/_sandbox/events?kind=api-call")
	for _, e := range calls {
		if e.Kind != "api-call" {
			t.Fatalf("kind filter let through %+v", e)
		}
	}
	if resp, err := http.Get(s.Endpoint() + "/_sandbox/events?since=yesterday"); err != nil || resp.StatusCode != 400 {
		t.Fatalf("bad since: %v %v", resp, err)
	}

	resp, err := http.Get(s.Endpoint() + "/_sandbox/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h Health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	if h.Status != "ok" || h.Region != "local-1" || h.Endpoint != s.Endpoint() || h.LoadBalancerDNS == "" || len(h.DNSAnswer) == 0 || h.DBStatus != "available" {
		t.Fatalf("health %+v", h)
	}
}

func TestDNSAnswersLoadBalancerNodes(t *testing.T) {
	s, _ := startSandbox(t, testConfig())
	ctx := ctxT(t)
	sum := s.Summary()
	ips, err := s.Resolver().LookupHost(ctx, sum.LoadBalancerDNS)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ips)
	if want := s.Region().HealthyNodeIPs(); !slices.Equal(ips, want) || len(ips) != 3 {
		t.Fatalf("DNS %v, region says %v", ips, want)
	}
	for _, ip := range ips {
		if !net.ParseIP(ip).IsLoopback() {
			t.Fatalf("non-loopback answer %s", ip)
		}
	}
	_, err = s.Resolver().LookupHost(ctx, "other."+sum.LoadBalancerDNS)
	var de *net.DNSError
	if !errors.As(err, &de) || !de.IsNotFound {
		t.Fatalf("unknown name: %v", err)
	}
	// The LB URL works through the sandbox resolver.
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DialContext: (&net.Dialer{Resolver: s.Resolver()}).DialContext}}
	resp, err := client.Get(sum.LoadBalancerURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", sum.LoadBalancerURL, resp.Status)
	}
}

func TestSummaryAndClose(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := Start(ctx, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	sum := s.Summary()
	if sum.Region != "local-1" || sum.LoadBalancerARN == "" || sum.TargetGroupARN == "" || sum.AutoScalingGroup == "" || sum.DBIdentifier == "" ||
		len(sum.Subnets) != 6 || len(sum.Nodes) != 3 || len(sum.Instances) != 3 || !strings.HasPrefix(sum.Endpoint, "http://127.0.0.1:") || !strings.HasPrefix(sum.DNSAddr, "127.0.0.1:") {
		t.Fatalf("summary %+v", sum)
	}
	if !strings.Contains(sum.String(), sum.LoadBalancerDNS) {
		t.Fatalf("String() lacks the DNS name:\n%s", sum)
	}
	cfg := s.AWSConfig(ctx)
	if cfg.Region != "local-1" || aws.ToString(cfg.BaseEndpoint) != s.Endpoint() {
		t.Fatalf("aws config %+v", cfg)
	}
	// The config's HTTP client refuses non-loopback destinations.
	if _, err := loopbackDial(ctx, "tcp", "192.0.2.1:80"); err == nil {
		t.Fatal("loopbackDial dialled a non-loopback address")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if _, err := http.Get(s.Endpoint() + "/_sandbox/health"); err == nil {
		t.Fatal("control plane still serving after Close")
	}
	// The ports are free again.
	ln, err := net.Listen("tcp", strings.TrimPrefix(s.Endpoint(), "http://"))
	if err != nil {
		t.Fatalf("API port not released: %v", err)
	}
	ln.Close()

	// A fixed API port is honoured.
	c2 := testConfig()
	c2.APIPort = ln.Addr().(*net.TCPAddr).Port
	s2, err := Start(ctx, c2)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if s2.Endpoint() != s.Endpoint() {
		t.Fatalf("endpoint %s, want %s", s2.Endpoint(), s.Endpoint())
	}
	// Bad region config is an error, and nothing is left running.
	bad := testConfig()
	bad.Region.Profile = "slow"
	if _, err := Start(ctx, bad); err == nil {
		t.Fatal("bad profile accepted")
	}
}
