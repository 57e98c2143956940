// Package sandbox assembles gameday's local AWS region on loopback: the
// region model and data plane (package sim), the AWS-compatible control
// plane (package awsapi) on one HTTP endpoint, and a DNS server (package
// dnsserver) that resolves the load balancer's DNS name to its current
// nodes. The same HTTP server exposes ground truth outside the AWS API
// space: GET /_sandbox/events (JSON lines) and GET /_sandbox/health; and
// arms what no AWS API can: /_sandbox/api-faults (control-plane errors) and
// /_sandbox/launch-failures (the group's launches fail in chosen AZs).
//
// Everything binds 127.0.0.1. AWSConfig returns an aws.Config that points
// the real aws-sdk-go-v2 clients at the sandbox.
package sandbox
