// Package probes observes the infrastructure of the stack under test while an
// experiment runs, independently of the user-visible load: how many targets
// the load balancer sees healthy (per Availability Zone), how many instances
// the Auto Scaling group has in service against its desired capacity, whether
// the database is available and in which AZ it writes, and whether a plain
// HTTP GET succeeds.
//
// A Probe takes one observation per Sample call, as a list of named series
// (see the Series* constants), and its Healthy method is the
// infrastructure-recovery predicate the analysis applies to its latest
// samples against its baseline. Each kind lives in its own file and
// registers itself (Register, Kind); New builds a probe from an experiment's
// probe spec and the resolved topology through the registry, Run samples it
// on a ticker until its context ends, and the package-level Healthy
// dispatches by kind name. docs/extending-probes.md shows how to add a kind.
//
// Probes only read (Describe* calls and GETs); they never change the stack.
package probes
