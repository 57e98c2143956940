package sim

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// DNSName is the load balancer's DNS name, which the sandbox DNS server
// answers with HealthyNodeIPs.
func (r *Region) DNSName() string { return r.lb.m.DNSName }

// URL is the base URL clients use through the sandbox DNS:
// "http://<DNSName>:<Port>/" (the port is 0 before Start).
func (r *Region) URL() string {
	return "http://" + r.lb.m.DNSName + ":" + strconv.Itoa(r.Port()) + "/"
}

// DNSTTL is the TTL to put on DNS answers.
func (r *Region) DNSTTL() time.Duration { return r.t.DNSTTL }

func (r *Region) albNodesLocked() []LBNode {
	out := make([]LBNode, 0, len(r.lb.nodes))
	for _, n := range r.lb.nodes {
		out = append(out, LBNode{AZ: n.az, SubnetID: n.sub.m.ID, Addr: n.addr, IP: n.ip})
	}
	return out
}

// ALBNodes lists the load balancer's nodes, one per AZ. Addr is empty
// before Start.
func (r *Region) ALBNodes() []LBNode {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.albNodesLocked()
}

// HealthyNodeIPs is the set of node IPs the DNS name should resolve to now,
// sorted. As the ALB's DNS does, it leaves out a node whose AZ has no healthy
// target, or whose public subnet's network ACL has blocked client traffic
// for at least Timings.NodeDNSDelay (on AWS the node's DNS record follows
// the ALB's own health checks of its nodes, not the ACL change itself); if
// that leaves none, it answers every node. It reads a snapshot: no lock.
func (r *Region) HealthyNodeIPs() []string {
	p := r.dnsIPs.Load()
	if p == nil {
		return nil
	}
	return slices.Clone(*p)
}

// refreshDNSLocked recomputes the DNS answer set and records a change.
func (r *Region) refreshDNSLocked() {
	if r.building || r.lb == nil || r.tg == nil || r.net.Load() == nil {
		return
	}
	ns := r.net.Load()
	healthyAZ := make([]bool, len(r.azs))
	for _, t := range r.tg.targets {
		if t.state == TargetHealthy {
			healthyAZ[t.in.azIdx] = true
		}
	}
	var set []string
	now := time.Now()
	for _, n := range r.lb.nodes {
		cut := !ns.path(r.clientEP, n.ep, lbPort) && (n.blockedSince.IsZero() || !now.Before(n.blockedSince.Add(r.t.NodeDNSDelay)))
		if healthyAZ[n.azIdx] && !cut {
			set = append(set, n.ip)
		}
	}
	if len(set) == 0 {
		for _, n := range r.lb.nodes {
			set = append(set, n.ip)
		}
	}
	slices.Sort(set)
	if slices.Equal(set, r.dnsSet) {
		return
	}
	from := strings.Join(r.dnsSet, ",")
	r.dnsSet = set
	r.dnsIPs.Store(&set)
	r.emit("dns", r.lb.m.DNSName, "", from, strings.Join(set, ","), "")
}
