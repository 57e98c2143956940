package awsapi

import (
	"net/http"
	"sort"
	"strconv"

	"github.com/gameday-dev/gameday/sandbox/sim"
)

// ---- ELBv2 wire shapes (awsquery, lists of <member>) ----

type elbAZ struct {
	ZoneName string `xml:"ZoneName"`
	SubnetID string `xml:"SubnetId"`
}

type elbState struct {
	Code string `xml:"Code"`
}

type elbLoadBalancer struct {
	LoadBalancerArn       string   `xml:"LoadBalancerArn"`
	DNSName               string   `xml:"DNSName"`
	CanonicalHostedZoneID string   `xml:"CanonicalHostedZoneId"`
	CreatedTime           string   `xml:"CreatedTime"`
	LoadBalancerName      string   `xml:"LoadBalancerName"`
	Scheme                string   `xml:"Scheme"`
	VpcID                 string   `xml:"VpcId"`
	State                 elbState `xml:"State"`
	Type                  string   `xml:"Type"`
	AvailabilityZones     []elbAZ  `xml:"AvailabilityZones>member"`
	SecurityGroups        []string `xml:"SecurityGroups>member"`
	IPAddressType         string   `xml:"IpAddressType"`
}

type elbMatcher struct {
	HTTPCode string `xml:"HttpCode"`
}

type elbTargetGroup struct {
	TargetGroupArn             string     `xml:"TargetGroupArn"`
	TargetGroupName            string     `xml:"TargetGroupName"`
	Protocol                   string     `xml:"Protocol"`
	Port                       int32      `xml:"Port"`
	VpcID                      string     `xml:"VpcId"`
	HealthCheckProtocol        string     `xml:"HealthCheckProtocol"`
	HealthCheckPort            string     `xml:"HealthCheckPort"`
	HealthCheckEnabled         bool       `xml:"HealthCheckEnabled"`
	HealthCheckIntervalSeconds int32      `xml:"HealthCheckIntervalSeconds"`
	HealthCheckTimeoutSeconds  int32      `xml:"HealthCheckTimeoutSeconds"`
	HealthyThresholdCount      int32      `xml:"HealthyThresholdCount"`
	UnhealthyThresholdCount    int32      `xml:"UnhealthyThresholdCount"`
	HealthCheckPath            string     `xml:"HealthCheckPath"`
	Matcher                    elbMatcher `xml:"Matcher"`
	LoadBalancerArns           []string   `xml:"LoadBalancerArns>member"`
	TargetType                 string     `xml:"TargetType"`
	ProtocolVersion            string     `xml:"ProtocolVersion"`
	IPAddressType              string     `xml:"IpAddressType"`
}

type elbTarget struct {
	ID               string `xml:"Id"`
	Port             int32  `xml:"Port,omitempty"`
	AvailabilityZone string `xml:"AvailabilityZone,omitempty"`
}

type elbTargetHealth struct {
	State       string `xml:"State"`
	Reason      string `xml:"Reason,omitempty"`
	Description string `xml:"Description,omitempty"`
}

type elbTargetHealthDescription struct {
	Target          elbTarget       `xml:"Target"`
	HealthCheckPort string          `xml:"HealthCheckPort,omitempty"`
	TargetHealth    elbTargetHealth `xml:"TargetHealth"`
}

type elbAction struct {
	Type           string `xml:"Type"`
	TargetGroupArn string `xml:"TargetGroupArn"`
	Order          int32  `xml:"Order"`
}

type elbListener struct {
	ListenerArn     string      `xml:"ListenerArn"`
	LoadBalancerArn string      `xml:"LoadBalancerArn"`
	Port            int32       `xml:"Port"`
	Protocol        string      `xml:"Protocol"`
	DefaultActions  []elbAction `xml:"DefaultActions>member"`
}

var elbv2Actions = map[string]actionDef{
	"DescribeLoadBalancers": {fn: (*handler).elbDescribeLoadBalancers},
	"DescribeTargetGroups":  {fn: (*handler).elbDescribeTargetGroups},
	"DescribeTargetHealth":  {fn: (*handler).elbDescribeTargetHealth},
	"DescribeListeners":     {fn: (*handler).elbDescribeListeners},
}

func errLBNotFound() error {
	return &sim.APIError{Code: "LoadBalancerNotFound", Message: "One or more load balancers not found", Status: http.StatusBadRequest}
}

func errTGNotFound() error {
	return &sim.APIError{Code: "TargetGroupNotFound", Message: "One or more target groups not found", Status: http.StatusBadRequest}
}

// emptyList is sent for an empty awsquery list so the element is present.
type emptyList struct{}

func (h *handler) elbDescribeLoadBalancers(r *request) (any, error) {
	lbs := h.b.LoadBalancers()
	sort.Slice(lbs, func(i, j int) bool { return lbs[i].ARN < lbs[j].ARN })
	names, arns := r.p.list("Names.member"), r.p.list("LoadBalancerArns.member")
	if len(names) > 0 && len(arns) > 0 {
		return nil, &sim.APIError{Code: "ValidationError", Message: "Load balancer names and load balancer ARNs cannot be specified at the same time", Status: http.StatusBadRequest}
	}
	var missing []string
	lbs, missing = selectByID(lbs, names, func(l sim.LoadBalancer) string { return l.Name })
	if len(missing) > 0 {
		return nil, errLBNotFound()
	}
	lbs, missing = selectByID(lbs, arns, func(l sim.LoadBalancer) string { return l.ARN })
	if len(missing) > 0 {
		return nil, errLBNotFound()
	}
	lbs, next, err := pageOf(r, lbs)
	if err != nil {
		return nil, err
	}
	type out struct {
		LBs        []elbLoadBalancer `xml:"LoadBalancers>member"`
		NextMarker string            `xml:"NextMarker,omitempty"`
	}
	o := out{NextMarker: next}
	for _, l := range lbs {
		x := elbLoadBalancer{
			LoadBalancerArn:       l.ARN,
			DNSName:               l.DNSName,
			CanonicalHostedZoneID: "Z" + upperHash(l.ARN, 13),
			CreatedTime:           iso(l.CreatedTime),
			LoadBalancerName:      l.Name,
			Scheme:                l.Scheme,
			VpcID:                 l.VPCID,
			State:                 elbState{Code: l.State},
			Type:                  "application",
			SecurityGroups:        []string{"sg-" + shortHash(l.ARN, 17)},
			IPAddressType:         "ipv4",
		}
		nodes := append([]sim.LBNode(nil), l.AZs...)
		sort.Slice(nodes, func(i, j int) bool { return nodes[i].AZ < nodes[j].AZ })
		for _, n := range nodes {
			x.AvailabilityZones = append(x.AvailabilityZones, elbAZ{ZoneName: n.AZ, SubnetID: n.SubnetID})
		}
		o.LBs = append(o.LBs, x)
	}
	if len(o.LBs) == 0 {
		return struct {
			L emptyList `xml:"LoadBalancers"`
		}{}, nil
	}
	return o, nil
}

func (h *handler) elbDescribeTargetGroups(r *request) (any, error) {
	tgs := h.b.TargetGroups()
	sort.Slice(tgs, func(i, j int) bool { return tgs[i].ARN < tgs[j].ARN })
	names, arns, lbARN := r.p.list("Names.member"), r.p.list("TargetGroupArns.member"), r.p.get("LoadBalancerArn")
	var missing []string
	tgs, missing = selectByID(tgs, names, func(t sim.TargetGroup) string { return t.Name })
	if len(missing) > 0 {
		return nil, errTGNotFound()
	}
	tgs, missing = selectByID(tgs, arns, func(t sim.TargetGroup) string { return t.ARN })
	if len(missing) > 0 {
		return nil, errTGNotFound()
	}
	if lbARN != "" {
		found := false
		for _, l := range h.b.LoadBalancers() {
			found = found || l.ARN == lbARN
		}
		if !found {
			return nil, errLBNotFound()
		}
		var keep []sim.TargetGroup
		for _, t := range tgs {
			for _, a := range t.LoadBalancerARNs {
				if a == lbARN {
					keep = append(keep, t)
					break
				}
			}
		}
		tgs = keep
	}
	tgs, next, err := pageOf(r, tgs)
	if err != nil {
		return nil, err
	}
	type out struct {
		TGs        []elbTargetGroup `xml:"TargetGroups>member"`
		NextMarker string           `xml:"NextMarker,omitempty"`
	}
	o := out{NextMarker: next}
	for _, t := range tgs {
		matcher := t.Matcher
		if matcher == "" {
			matcher = "200"
		}
		x := elbTargetGroup{
			TargetGroupArn:             t.ARN,
			TargetGroupName:            t.Name,
			Protocol:                   t.Protocol,
			Port:                       t.Port,
			VpcID:                      t.VPCID,
			HealthCheckProtocol:        t.Protocol,
			HealthCheckPort:            "traffic-port",
			HealthCheckEnabled:         true,
			HealthCheckIntervalSeconds: seconds(t.HealthCheckInterval),
			HealthCheckTimeoutSeconds:  seconds(t.HealthCheckTimeout),
			HealthyThresholdCount:      t.HealthyThreshold,
			UnhealthyThresholdCount:    t.UnhealthyThreshold,
			HealthCheckPath:            t.HealthCheckPath,
			Matcher:                    elbMatcher{HTTPCode: matcher},
			LoadBalancerArns:           append([]string(nil), t.LoadBalancerARNs...),
			TargetType:                 t.TargetType,
			ProtocolVersion:            "HTTP1",
			IPAddressType:              "ipv4",
		}
		sort.Strings(x.LoadBalancerArns)
		o.TGs = append(o.TGs, x)
	}
	if len(o.TGs) == 0 {
		return struct {
			L emptyList `xml:"TargetGroups"`
		}{}, nil
	}
	return o, nil
}

func (h *handler) elbDescribeTargetHealth(r *request) (any, error) {
	arn := r.p.get("TargetGroupArn")
	if arn == "" {
		return nil, errMissing(r.service, "TargetGroupArn")
	}
	ths, err := h.b.TargetHealth(arn)
	if err != nil {
		return nil, err
	}
	sort.Slice(ths, func(i, j int) bool {
		if ths[i].InstanceID != ths[j].InstanceID {
			return ths[i].InstanceID < ths[j].InstanceID
		}
		return ths[i].Port < ths[j].Port
	})
	// Targets.member.N.Id limits the answer; unknown targets are reported
	// as unused / Target.NotRegistered, as AWS does.
	if ts := r.p.indexes("Targets.member"); len(ts) > 0 {
		var keep []sim.TargetHealth
		for _, t := range ts {
			id := r.p.get(t + ".Id")
			port, _, _ := r.p.int32(t + ".Port")
			found := false
			for _, th := range ths {
				if th.InstanceID == id && (port == 0 || port == th.Port) {
					keep = append(keep, th)
					found = true
				}
			}
			if !found {
				keep = append(keep, sim.TargetHealth{InstanceID: id, Port: port, State: sim.TargetUnused, Reason: sim.ReasonNotRegistered, Description: "Target is not registered to the target group"})
			}
		}
		ths = keep
	}
	type out struct {
		THs []elbTargetHealthDescription `xml:"TargetHealthDescriptions>member"`
	}
	var o out
	for _, th := range ths {
		d := elbTargetHealthDescription{
			Target:       elbTarget{ID: th.InstanceID, Port: th.Port, AvailabilityZone: th.AZ},
			TargetHealth: elbTargetHealth{State: th.State, Reason: th.Reason, Description: th.Description},
		}
		if th.Port != 0 {
			d.HealthCheckPort = strconv.Itoa(int(th.Port))
		}
		o.THs = append(o.THs, d)
	}
	if len(o.THs) == 0 {
		return struct {
			L emptyList `xml:"TargetHealthDescriptions"`
		}{}, nil
	}
	return o, nil
}

func (h *handler) elbDescribeListeners(r *request) (any, error) {
	lbARN, arns := r.p.get("LoadBalancerArn"), r.p.list("ListenerArns.member")
	if lbARN == "" && len(arns) == 0 {
		return nil, &sim.APIError{Code: "ValidationError", Message: "You must specify either listener ARNs or a load balancer ARN", Status: http.StatusBadRequest}
	}
	var ls []elbListener
	foundLB := false
	for _, l := range h.b.LoadBalancers() {
		if lbARN != "" && l.ARN != lbARN {
			continue
		}
		foundLB = true
		for _, li := range l.Listeners {
			x := elbListener{ListenerArn: li.ARN, LoadBalancerArn: l.ARN, Port: li.Port, Protocol: li.Protocol}
			if li.TargetGroupARN != "" {
				x.DefaultActions = []elbAction{{Type: "forward", TargetGroupArn: li.TargetGroupARN, Order: 1}}
			}
			ls = append(ls, x)
		}
	}
	if lbARN != "" && !foundLB {
		return nil, errLBNotFound()
	}
	sort.Slice(ls, func(i, j int) bool { return ls[i].ListenerArn < ls[j].ListenerArn })
	ls, missing := selectByID(ls, arns, func(l elbListener) string { return l.ListenerArn })
	if len(missing) > 0 {
		return nil, &sim.APIError{Code: "ListenerNotFound", Message: "One or more listeners not found", Status: http.StatusBadRequest}
	}
	ls, next, err := pageOf(r, ls)
	if err != nil {
		return nil, err
	}
	type out struct {
		Ls         []elbListener `xml:"Listeners>member"`
		NextMarker string        `xml:"NextMarker,omitempty"`
	}
	if len(ls) == 0 {
		return struct {
			L emptyList `xml:"Listeners"`
		}{}, nil
	}
	return out{ls, next}, nil
}
