// Package sim is the sandbox's region model and its data plane: a small AWS
// region (one VPC over three Availability Zones, network ACLs, EC2 instances
// running a web app, an Auto Scaling group, an Application Load Balancer with
// health checks, and a Multi-AZ database) that runs on loopback inside the
// process.
//
// Everything that carries traffic is real: every instance is an HTTP server on
// its own 127.0.0.1 port, every load balancer node is a reverse proxy on its
// own loopback IP (127.0.0.11, .12, .13 …) sharing one port, and health checks
// are HTTP requests. Network ACLs act on the simulated 10.0.x.x addresses,
// which are labels only and never dialled: denied packets are dropped, so the
// connections they belong to hang until a timeout, as on AWS.
//
// CloudWatch runs on the same model (metrics.go, cloudwatch.go): metrics
// sampled from the data plane (an instance's CPU is its workers' busy time),
// alarms evaluated as CloudWatch does on a clock scaled by
// Timings.MetricMinute, and Auto Scaling policies (policies.go) that the
// alarms run.
//
// *Region implements awsapi.Backend (the control plane reads and mutates the
// model through it) and records every state change as a ground-truth Event.
// Region owns all its goroutines: Start starts them, Close stops and waits
// for every one of them.
package sim
