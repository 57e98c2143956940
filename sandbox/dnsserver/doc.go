// Package dnsserver is the sandbox's tiny authoritative DNS server: it
// answers A queries on 127.0.0.1 (UDP and TCP) for the names a callback
// knows — the load balancer's DNS name, answered with its current node
// IPs — with a short TTL, so clients re-resolve and follow node changes as
// they would with an ALB's DNS. Unknown names get NXDOMAIN; other opcodes
// NOTIMP; other classes REFUSED.
package dnsserver
