package awsapi

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gameday-dev/gameday/sandbox/sim"
)

// ELBv2 calls Terraform's AWS provider and runbooks make (issue 14). Shapes
// from botocore's elbv2 2015-12-01 model (awsquery, lists of <member>).

func init() {
	for name, def := range map[string]actionDef{
		"DescribeTags":                   {fn: (*handler).elbDescribeTags},
		"DescribeLoadBalancerAttributes": {fn: (*handler).elbDescribeLoadBalancerAttributes},
		"DescribeRules":                  {fn: (*handler).elbDescribeRules},
		"DescribeTargetGroupAttributes":  {fn: (*handler).elbDescribeTargetGroupAttributes},
		"ModifyTargetGroupAttributes":    {fn: (*handler).elbModifyTargetGroupAttributes, mutating: true},
		"ModifyTargetGroup":              {fn: (*handler).elbModifyTargetGroup, mutating: true},
		"RegisterTargets":                {fn: (*handler).elbRegisterTargets, mutating: true},
		"DeregisterTargets":              {fn: (*handler).elbDeregisterTargets, mutating: true},
	} {
		elbv2Actions[name] = def
	}
	paged[ServiceELBv2]["DescribeRules"] = pageELB
	for name, note := range map[string]string{
		"DescribeTags":                   "Load balancer, target group and listener ARNs (at most 20); the sandbox's ELB resources carry no tags, so each answers an empty tag list. An unknown ARN is LoadBalancerNotFound/TargetGroupNotFound/ListenerNotFound.",
		"DescribeLoadBalancerAttributes": "AWS's defaults for an application load balancer (deletion protection off, idle timeout 60 s, HTTP/2 on, cross-zone on), read only.",
		"DescribeRules":                  "Each listener's default rule (forward to the target group); no other rules exist.",
		"ModifyTargetGroupAttributes":    "deregistration_delay.timeout_seconds (0-3600) takes effect for targets deregistered afterwards; the other attributes are refused (not modelled), never silently ignored.",
		"ModifyTargetGroup":              "HealthCheckIntervalSeconds (5-300), HealthCheckTimeoutSeconds (2-120, below the interval), Healthy/UnhealthyThresholdCount (2-10), HealthCheckPath, Matcher.HttpCode: the health checker uses them from its next round. Protocol/port changes are refused.",
		"RegisterTargets":                "Instances (running, pending or stopped) start in initial and are routed to once healthy; the target group's port only.",
		"DeregisterTargets":              "Targets drain for the deregistration delay, then are removed; an unregistered instance is left as it is.",
		"DescribeTargetGroupAttributes":  "deregistration_delay.timeout_seconds is the delay the model applies to draining targets; the others are AWS's defaults (no stickiness, round robin, no slow start).",
	} {
		actionNotes[ServiceELBv2][name] = note
	}
}

type elbTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type elbTagDescription struct {
	ResourceArn string   `xml:"ResourceArn"`
	Tags        []elbTag `xml:"Tags>member"`
}

func (h *handler) elbDescribeTags(r *request) (any, error) {
	arns := r.p.list("ResourceArns.member")
	if len(arns) == 0 {
		return nil, errMissing(r.service, "ResourceArns")
	}
	if len(arns) > 20 {
		return nil, &sim.APIError{Code: "ValidationError", Message: "1 validation error detected: Value at 'resourceArns' failed to satisfy constraint: Member must have length less than or equal to 20", Status: http.StatusBadRequest}
	}
	known := map[string]bool{}
	for _, lb := range h.b.LoadBalancers() {
		known[lb.ARN] = true
		for _, l := range lb.Listeners {
			known[l.ARN] = true
		}
	}
	for _, tg := range h.b.TargetGroups() {
		known[tg.ARN] = true
	}
	type out struct {
		Descs []elbTagDescription `xml:"TagDescriptions>member"`
	}
	var o out
	for _, a := range arns {
		if !known[a] {
			switch {
			case strings.Contains(a, ":targetgroup/"):
				return nil, errTGNotFound()
			case strings.Contains(a, ":listener/"):
				return nil, &sim.APIError{Code: "ListenerNotFound", Message: "One or more listeners not found", Status: http.StatusBadRequest}
			default:
				return nil, errLBNotFound()
			}
		}
		o.Descs = append(o.Descs, elbTagDescription{ResourceArn: a, Tags: []elbTag{}})
	}
	return o, nil
}

type elbAttribute struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

// albDefaultAttributes: an application load balancer's attributes as AWS
// creates it (ELBv2 API reference, LoadBalancerAttribute).
var albDefaultAttributes = []elbAttribute{
	{"access_logs.s3.bucket", ""},
	{"access_logs.s3.enabled", "false"},
	{"access_logs.s3.prefix", ""},
	{"client_keep_alive.seconds", "3600"},
	{"deletion_protection.enabled", "false"},
	{"idle_timeout.timeout_seconds", "60"},
	{"load_balancing.cross_zone.enabled", "true"},
	{"routing.http.desync_mitigation_mode", "defensive"},
	{"routing.http.drop_invalid_header_fields.enabled", "false"},
	{"routing.http.preserve_host_header.enabled", "false"},
	{"routing.http.x_amzn_tls_version_and_cipher_suite.enabled", "false"},
	{"routing.http.xff_client_port.enabled", "false"},
	{"routing.http.xff_header_processing.mode", "append"},
	{"routing.http2.enabled", "true"},
	{"waf.fail_open.enabled", "false"},
}

func (h *handler) elbDescribeLoadBalancerAttributes(r *request) (any, error) {
	arn := r.p.get("LoadBalancerArn")
	if arn == "" {
		return nil, errMissing(r.service, "LoadBalancerArn")
	}
	found := false
	for _, lb := range h.b.LoadBalancers() {
		found = found || lb.ARN == arn
	}
	if !found {
		return nil, errLBNotFound()
	}
	type out struct {
		Attributes []elbAttribute `xml:"Attributes>member"`
	}
	return out{albDefaultAttributes}, nil
}

type elbRule struct {
	RuleArn    string      `xml:"RuleArn"`
	Priority   string      `xml:"Priority"`
	Conditions emptyList   `xml:"Conditions"`
	Actions    []elbAction `xml:"Actions>member"`
	IsDefault  bool        `xml:"IsDefault"`
}

// ruleARN derives a listener's default rule ARN as AWS shapes it:
// …:listener-rule/app/NAME/LBID/LISTENERID/RULEID.
func ruleARN(listenerARN string) string {
	return strings.Replace(listenerARN, ":listener/", ":listener-rule/", 1) + "/" + shortHash(listenerARN+"/default", 16)
}

func (h *handler) elbDescribeRules(r *request) (any, error) {
	listener, arns := r.p.get("ListenerArn"), r.p.list("RuleArns.member")
	if listener == "" && len(arns) == 0 {
		return nil, &sim.APIError{Code: "ValidationError", Message: "One of listener ARN or rule ARNs must be specified", Status: http.StatusBadRequest}
	}
	var rules []elbRule
	found := false
	for _, lb := range h.b.LoadBalancers() {
		for _, l := range lb.Listeners {
			if listener != "" && l.ARN != listener {
				continue
			}
			found = true
			x := elbRule{RuleArn: ruleARN(l.ARN), Priority: "default", IsDefault: true}
			if l.TargetGroupARN != "" {
				x.Actions = []elbAction{{Type: "forward", TargetGroupArn: l.TargetGroupARN, Order: 1}}
			}
			rules = append(rules, x)
		}
	}
	if listener != "" && !found {
		return nil, &sim.APIError{Code: "ListenerNotFound", Message: "One or more listeners not found", Status: http.StatusBadRequest}
	}
	sort.Slice(rules, func(i, j int) bool { return rules[i].RuleArn < rules[j].RuleArn })
	rules, missing := selectByID(rules, arns, func(x elbRule) string { return x.RuleArn })
	if len(missing) > 0 {
		return nil, &sim.APIError{Code: "RuleNotFound", Message: "One or more rules not found", Status: http.StatusBadRequest}
	}
	rules, next, err := pageOf(r, rules)
	if err != nil {
		return nil, err
	}
	type out struct {
		Rules      []elbRule `xml:"Rules>member"`
		NextMarker string    `xml:"NextMarker,omitempty"`
	}
	return out{rules, next}, nil
}

// tgAttributes are a target group's attributes: the deregistration delay
// and the slow start the model applies, AWS's defaults for the rest.
func tgAttributes(tg sim.TargetGroup) []elbAttribute {
	return []elbAttribute{
		{"deregistration_delay.timeout_seconds", strconv.Itoa(int(tg.DeregistrationDelay.Seconds()))},
		{"load_balancing.algorithm.type", "round_robin"},
		{"load_balancing.cross_zone.enabled", "use_load_balancer_configuration"},
		{"slow_start.duration_seconds", "0"},
		{"stickiness.enabled", "false"},
		{"stickiness.lb_cookie.duration_seconds", "86400"},
		{"stickiness.type", "lb_cookie"},
		{"target_group_health.dns_failover.minimum_healthy_targets.count", "1"},
		{"target_group_health.unhealthy_state_routing.minimum_healthy_targets.count", "1"},
	}
}

func (h *handler) findTG(r *request) (sim.TargetGroup, error) {
	arn := r.p.get("TargetGroupArn")
	if arn == "" {
		return sim.TargetGroup{}, errMissing(r.service, "TargetGroupArn")
	}
	for _, tg := range h.b.TargetGroups() {
		if tg.ARN == arn {
			return tg, nil
		}
	}
	return sim.TargetGroup{}, errTGNotFound()
}

func (h *handler) elbDescribeTargetGroupAttributes(r *request) (any, error) {
	tg, err := h.findTG(r)
	if err != nil {
		return nil, err
	}
	type out struct {
		Attributes []elbAttribute `xml:"Attributes>member"`
	}
	return out{tgAttributes(tg)}, nil
}

// tgXML is a target group as DescribeTargetGroups shows it.
func tgXML(t sim.TargetGroup) elbTargetGroup {
	matcher := t.Matcher
	if matcher == "" {
		matcher = "200"
	}
	return elbTargetGroup{
		TargetGroupArn: t.ARN, TargetGroupName: t.Name, Protocol: t.Protocol, Port: t.Port, VpcID: t.VPCID,
		HealthCheckProtocol: t.Protocol, HealthCheckPort: "traffic-port", HealthCheckEnabled: true,
		HealthCheckIntervalSeconds: seconds(t.HealthCheckInterval), HealthCheckTimeoutSeconds: seconds(t.HealthCheckTimeout),
		HealthyThresholdCount: t.HealthyThreshold, UnhealthyThresholdCount: t.UnhealthyThreshold,
		HealthCheckPath: t.HealthCheckPath, Matcher: elbMatcher{HTTPCode: matcher},
		LoadBalancerArns: append([]string(nil), t.LoadBalancerARNs...), TargetType: t.TargetType,
		ProtocolVersion: "HTTP1", IPAddressType: "ipv4",
	}
}

func (h *handler) elbModifyTargetGroupAttributes(r *request) (any, error) {
	tg, err := h.findTG(r)
	if err != nil {
		return nil, err
	}
	idx := r.p.indexes("Attributes.member")
	if len(idx) == 0 {
		return nil, errMissing(r.service, "Attributes")
	}
	known := map[string]string{}
	for _, a := range tgAttributes(tg) {
		known[a.Key] = a.Value
	}
	var delay *time.Duration
	for _, m := range idx {
		k, v := r.p.get(m+".Key"), r.p.get(m+".Value")
		def, ok := known[k]
		switch {
		case k == "deregistration_delay.timeout_seconds":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 3600 {
				return nil, &sim.APIError{Code: "ValidationError", Message: fmt.Sprintf("'%s' is not a valid value for deregistration_delay.timeout_seconds: it must be an integer from 0 to 3600", v), Status: http.StatusBadRequest}
			}
			d := time.Duration(n) * time.Second
			delay = &d
		case !ok:
			return nil, &sim.APIError{Code: "ValidationError", Message: fmt.Sprintf("Target group attribute key '%s' is not recognized", k), Status: http.StatusBadRequest}
		case v != def:
			return nil, &sim.APIError{Code: "ValidationError", Message: fmt.Sprintf("gameday sandbox does not model target group attribute %s other than %q", k, def), Status: http.StatusBadRequest}
		}
	}
	if delay != nil {
		if err := h.b.SetDeregistrationDelay(tg.ARN, *delay); err != nil {
			return nil, err
		}
	}
	return h.elbDescribeTargetGroupAttributes(r)
}

func (h *handler) elbModifyTargetGroup(r *request) (any, error) {
	tg, err := h.findTG(r)
	if err != nil {
		return nil, err
	}
	for _, k := range []string{"HealthCheckProtocol", "HealthCheckPort", "Matcher.GrpcCode"} {
		if v := r.p.get(k); v != "" && !(k == "HealthCheckProtocol" && v == tg.Protocol) && !(k == "HealthCheckPort" && v == "traffic-port") {
			return nil, &sim.APIError{Code: "ValidationError", Message: fmt.Sprintf("gameday sandbox does not model %s %s (health checks use %s on the traffic port)", k, v, tg.Protocol), Status: http.StatusBadRequest}
		}
	}
	if v, ok := r.p.boolean("HealthCheckEnabled"); ok && !v {
		return nil, &sim.APIError{Code: "ValidationError", Message: "Health checks cannot be disabled for target groups with target type 'instance'", Status: http.StatusBadRequest}
	}
	var u sim.TargetGroupUpdate
	num := func(key string) (*int32, error) {
		if !r.p.has(key) {
			return nil, nil
		}
		v, _, err := r.p.int32(key)
		if err != nil {
			return nil, errInvalid(r.service, key, r.p.get(key), "must be an integer")
		}
		return &v, nil
	}
	secs := func(key string) (*time.Duration, error) {
		v, err := num(key)
		if v == nil || err != nil {
			return nil, err
		}
		d := time.Duration(*v) * time.Second
		return &d, nil
	}
	if u.Interval, err = secs("HealthCheckIntervalSeconds"); err != nil {
		return nil, err
	}
	if u.Timeout, err = secs("HealthCheckTimeoutSeconds"); err != nil {
		return nil, err
	}
	if u.HealthyThreshold, err = num("HealthyThresholdCount"); err != nil {
		return nil, err
	}
	if u.Unhealthy, err = num("UnhealthyThresholdCount"); err != nil {
		return nil, err
	}
	if r.p.has("HealthCheckPath") {
		v := r.p.get("HealthCheckPath")
		u.Path = &v
	}
	if r.p.has("Matcher.HttpCode") {
		v := r.p.get("Matcher.HttpCode")
		u.Matcher = &v
	}
	got, err := h.b.ModifyTargetGroup(tg.ARN, u)
	if err != nil {
		return nil, err
	}
	type out struct {
		TGs []elbTargetGroup `xml:"TargetGroups>member"`
	}
	return out{[]elbTargetGroup{tgXML(got)}}, nil
}

// targetIDs reads Targets.member.N.Id (and checks .Port is the group's).
func targetIDs(r *request, tg sim.TargetGroup) ([]string, error) {
	idx := r.p.indexes("Targets.member")
	if len(idx) == 0 {
		return nil, errMissing(r.service, "Targets")
	}
	var ids []string
	for _, m := range idx {
		id := r.p.get(m + ".Id")
		if id == "" {
			return nil, errMissing(r.service, m+".Id")
		}
		if p := r.p.get(m + ".Port"); p != "" && p != strconv.Itoa(int(tg.Port)) {
			return nil, &sim.APIError{Code: "ValidationError", Message: fmt.Sprintf("gameday sandbox registers targets on the target group's port %d only, not %s", tg.Port, p), Status: http.StatusBadRequest}
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func (h *handler) elbRegisterTargets(r *request) (any, error) {
	tg, err := h.findTG(r)
	if err != nil {
		return nil, err
	}
	ids, err := targetIDs(r, tg)
	if err != nil {
		return nil, err
	}
	// An empty RegisterTargetsResult element: the SDKs expect it.
	return struct{}{}, h.b.RegisterTargets(tg.ARN, ids)
}

func (h *handler) elbDeregisterTargets(r *request) (any, error) {
	tg, err := h.findTG(r)
	if err != nil {
		return nil, err
	}
	ids, err := targetIDs(r, tg)
	if err != nil {
		return nil, err
	}
	return struct{}{}, h.b.DeregisterTargets(tg.ARN, ids)
}
