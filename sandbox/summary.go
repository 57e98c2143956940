package sandbox

import (
	"fmt"
	"sort"
	"strings"
)

// Summary lists what the sandbox created, for `gameday sandbox` to print
// and for target profiles to refer to.
type Summary struct {
	Region    string   `json:"region"`
	AccountID string   `json:"account_id"`
	Profile   string   `json:"profile"`
	Endpoint  string   `json:"endpoint"`
	DNSAddr   string   `json:"dns_addr"`
	EventsURL string   `json:"events_url"`
	HealthURL string   `json:"health_url"`
	VPCID     string   `json:"vpc_id"`
	AZs       []string `json:"azs"`

	LoadBalancerName string        `json:"load_balancer_name"`
	LoadBalancerARN  string        `json:"load_balancer_arn"`
	LoadBalancerDNS  string        `json:"load_balancer_dns"`
	LoadBalancerURL  string        `json:"load_balancer_url"`
	Nodes            []NodeSummary `json:"nodes"`
	TargetGroupARN   string        `json:"target_group_arn"`
	TargetGroupName  string        `json:"target_group_name"`

	AutoScalingGroup string   `json:"auto_scaling_group"`
	Instances        []string `json:"instances"`

	DBKind       string   `json:"db_kind"` // "instance" | "cluster"
	DBIdentifier string   `json:"db_identifier"`
	DBEngine     string   `json:"db_engine"`
	DBInstances  []string `json:"db_instances,omitempty"`
	// DBEndpoint is the writer endpoint's name (the cluster's, or the
	// instance's), which the DNS server answers with the current writer.
	DBEndpoint string `json:"db_endpoint,omitempty"`

	Subnets []SubnetSummary `json:"subnets"`

	// ClientIP is the simulated internet address the client's traffic
	// comes from, as network ACL rules see it (Config.Region.ClientIP).
	ClientIP string `json:"client_ip"`
	// ListenerPort is the load balancer listener's port as the API reports
	// it and ACL rules match it (80); the nodes really listen on the
	// loopback port in Nodes[].Addr.
	ListenerPort int32 `json:"listener_port"`
	// ECSCluster is the name of the cluster the sandbox's ECS starts with
	// (Config.ECS.Cluster, default "gameday"); ECSExecutable the program
	// its tasks' containers run.
	ECSCluster    string `json:"ecs_cluster"`
	ECSExecutable string `json:"ecs_executable"`
}

// NodeSummary is one load balancer node.
type NodeSummary struct {
	AZ       string `json:"az"`
	SubnetID string `json:"subnet_id"`
	IP       string `json:"ip"`
	Addr     string `json:"addr"`
}

// SubnetSummary is one subnet.
type SubnetSummary struct {
	AZ     string `json:"az"`
	ID     string `json:"id"`
	CIDR   string `json:"cidr"`
	Public bool   `json:"public"`
}

// Summary describes the resources of the running sandbox.
func (s *Sandbox) Summary() Summary {
	r := s.region
	cfg := r.Config()
	sum := Summary{
		Region:     r.RegionName(),
		AccountID:  r.AccountID(),
		Profile:    cfg.Profile,
		Endpoint:   s.endpoint,
		DNSAddr:    s.DNSAddr(),
		EventsURL:  s.endpoint + "/_sandbox/events",
		HealthURL:  s.endpoint + "/_sandbox/health",
		DBKind:     cfg.DB.Kind,
		ClientIP:   cfg.ClientIP,
		ECSCluster: s.ecs.Config().Cluster, ECSExecutable: s.ecs.Executable(),
	}
	for _, az := range r.AvailabilityZones() {
		sum.AZs = append(sum.AZs, az.Name)
	}
	if vpcs := r.VPCs(); len(vpcs) > 0 {
		sum.VPCID = vpcs[0].ID
	}
	if lbs := r.LoadBalancers(); len(lbs) > 0 {
		lb := lbs[0]
		sum.LoadBalancerName, sum.LoadBalancerARN, sum.LoadBalancerDNS = lb.Name, lb.ARN, lb.DNSName
		sum.LoadBalancerURL = r.URL()
		if len(lb.Listeners) > 0 {
			sum.ListenerPort = lb.Listeners[0].Port
		}
		for _, n := range lb.AZs {
			sum.Nodes = append(sum.Nodes, NodeSummary{AZ: n.AZ, SubnetID: n.SubnetID, IP: n.IP, Addr: n.Addr})
		}
		sort.Slice(sum.Nodes, func(i, j int) bool { return sum.Nodes[i].AZ < sum.Nodes[j].AZ })
	}
	if tgs := r.TargetGroups(); len(tgs) > 0 {
		sum.TargetGroupARN, sum.TargetGroupName = tgs[0].ARN, tgs[0].Name
	}
	if gs := r.AutoScalingGroups(); len(gs) > 0 {
		sum.AutoScalingGroup = gs[0].Name
		for _, i := range gs[0].Instances {
			sum.Instances = append(sum.Instances, i.InstanceID)
		}
		sort.Strings(sum.Instances)
	}
	if cs := r.DBClusters(); len(cs) > 0 {
		sum.DBIdentifier, sum.DBEngine, sum.DBEndpoint = cs[0].ID, cs[0].Engine, cs[0].Endpoint
	}
	for _, d := range r.DBInstances() {
		sum.DBInstances = append(sum.DBInstances, d.ID)
		if sum.DBIdentifier == "" {
			sum.DBIdentifier, sum.DBEngine, sum.DBEndpoint = d.ID, d.Engine, d.Endpoint
		}
	}
	sort.Strings(sum.DBInstances)
	for _, sn := range r.Subnets() {
		sum.Subnets = append(sum.Subnets, SubnetSummary{AZ: sn.AZ, ID: sn.ID, CIDR: sn.CIDR, Public: sn.Public})
	}
	sort.Slice(sum.Subnets, func(i, j int) bool {
		a, b := sum.Subnets[i], sum.Subnets[j]
		if a.AZ != b.AZ {
			return a.AZ < b.AZ
		}
		return a.Public && !b.Public
	})
	return sum
}

// String renders the summary for a terminal.
func (sum Summary) String() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("region          %s (account %s, %s profile)", sum.Region, sum.AccountID, sum.Profile)
	p("AWS endpoint    %s", sum.Endpoint)
	p("DNS server      %s (udp, tcp)", sum.DNSAddr)
	p("ground truth    %s", sum.EventsURL)
	p("load balancer   %s", sum.LoadBalancerName)
	p("  ARN           %s", sum.LoadBalancerARN)
	p("  DNS name      %s", sum.LoadBalancerDNS)
	p("  URL           %s", sum.LoadBalancerURL)
	if sum.ListenerPort != 0 {
		p("  listener      HTTP :%d (what the API reports and ACL rules match; the nodes listen on the loopback port below)", sum.ListenerPort)
	}
	for _, n := range sum.Nodes {
		p("  node          %-12s %-21s %s", n.AZ, n.Addr, n.SubnetID)
	}
	if sum.ClientIP != "" {
		p("client address  %s (where your traffic comes from, for network ACL rules; region.client_ip)", sum.ClientIP)
	}
	p("target group    %s", sum.TargetGroupARN)
	p("auto scaling    %s (%d instances: %s)", sum.AutoScalingGroup, len(sum.Instances), strings.Join(sum.Instances, ", "))
	p("database        %s %s (%s)", sum.DBKind, sum.DBIdentifier, sum.DBEngine)
	if sum.DBKind == "cluster" {
		p("  members       %s", strings.Join(sum.DBInstances, ", "))
	}
	if sum.DBEndpoint != "" {
		p("  endpoint      %s (the DNS server answers the writer's address; it moves on failover)", sum.DBEndpoint)
	}
	p("vpc             %s", sum.VPCID)
	for _, sn := range sum.Subnets {
		tier := "private"
		if sn.Public {
			tier = "public"
		}
		p("  subnet        %-12s %-7s %-26s %s", sn.AZ, tier, sn.ID, sn.CIDR)
	}
	return b.String()
}
