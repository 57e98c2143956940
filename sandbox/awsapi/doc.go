// Package awsapi is the sandbox's AWS control plane: one http.Handler that
// speaks the real wire protocols of the EC2 (ec2query), Auto Scaling, ELBv2,
// RDS and STS (awsquery XML) APIs for the actions gameday calls, and serves
// them from a Backend (the region model, *sim.Region).
//
// Requests are dispatched on the form fields Version and Action, as AWS
// does; SigV4 signatures are accepted without verification. Responses are
// deterministic (lists sorted by id) so the real aws-sdk-go-v2 clients and
// the AWS CLI can be pointed at the handler with an endpoint override.
// A FaultInjector can make chosen actions fail (throttling, 503) to
// exercise client retries.
package awsapi
