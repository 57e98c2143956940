// Package topology resolves an experiment's target references (names, ARNs,
// tags) into the concrete resources of one stack through the AWS APIs: the
// load balancer and its per-AZ nodes, the target group, the Auto Scaling
// group, the database and the subnets per Availability Zone.
package topology
