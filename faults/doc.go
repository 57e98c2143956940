// Package faults holds gameday's fault actions: resolving a fault spec to
// concrete targets at plan time, applying it, rolling it back, and the
// on-disk rollback journal.
//
// New resolves a spec (experiments.Fault) through the AWS APIs and changes
// nothing; the returned Fault names its exact targets and describes itself
// in one line for `gameday plan`. The kinds are:
//
//   - terminate-instances: picks Count (default 1) or Percent (rounded up)
//     of the Auto Scaling group's InService instances, filtered by AZ, tags
//     and instance ids, with a shuffle seeded by Seed (default: derived from
//     the fault name, so plans are reproducible). Apply terminates them via
//     EC2 or via Auto Scaling (optionally decrementing the desired
//     capacity); Rollback restores a decremented desired capacity. The
//     terminations themselves are not undone: the group replaces them.
//   - db-failover: FailoverDBCluster for a cluster, else RebootDBInstance
//     with ForceFailover. Nothing is undone server-side; Rollback waits,
//     bounded, for the database to be available.
//   - az-blackhole: moves the AZ's subnets (all, private or public) to a
//     new deny-all network ACL, tagged so it can be found again; Rollback
//     moves every subnet still on it back to its original ACL (the VPC's
//     default ACL if the original is gone) and deletes it.
//
// Apply records what it did as it goes, so after an error mid-way Rollback
// undoes exactly that. Rollback is idempotent and safe when Apply failed
// part-way or never ran. Undo returns a JSON-able record of what is needed
// to undo; the Journal writes it to disk (fsynced) before Apply, and
// Restore rebuilds a fault from a journal entry so a later `gameday
// rollback` can finish after a crash.
package faults
