"""EC2 through boto3: DryRun, paging, throttling retried as AWS's is."""
from common import SUMMARY, api_faults, check, client, collect, error_of

ec2 = client("ec2")
running = ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["running"]}])
inst = running["Reservations"][0]["Instances"][0]["InstanceId"]


def state(i):
    r = ec2.describe_instances(InstanceIds=[i])
    return r["Reservations"][0]["Instances"][0]["State"]["Name"]


# DryRun: 412 DryRunOperation, nothing changes.
for name, call, kw in [
    ("terminate_instances", ec2.terminate_instances, {"InstanceIds": [inst]}),
    ("stop_instances", ec2.stop_instances, {"InstanceIds": [inst]}),
    ("create_tags", ec2.create_tags, {"Resources": [inst], "Tags": [{"Key": "dry", "Value": "run"}]}),
    ("create_network_acl", ec2.create_network_acl, {"VpcId": SUMMARY["vpc_id"]}),
]:
    acls = len(ec2.describe_network_acls()["NetworkAcls"])
    code, status, _ = error_of(call, DryRun=True, **kw)
    check(code == "DryRunOperation" and status == 412, "%s DryRun answers 412 DryRunOperation (got %s %s)" % (name, status, code))
    check(state(inst) == "running", "%s DryRun left the instance running" % name)
    tags = ec2.describe_instances(InstanceIds=[inst])["Reservations"][0]["Instances"][0].get("Tags", [])
    check(all(t["Key"] != "dry" for t in tags), "%s DryRun added no tag" % name)
    check(len(ec2.describe_network_acls()["NetworkAcls"]) == acls, "%s DryRun created no ACL" % name)

code, status, _ = error_of(ec2.terminate_instances, InstanceIds=["i-00000000000000000"], DryRun=True)
check(code == "InvalidInstanceID.NotFound" and status == 400, "a DryRun that would fail answers the real error (got %s)" % code)

# Paging: the paginator, 5 a page, collects what one call returns.
everything = [i["InstanceId"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
paged, pages = collect(ec2.get_paginator("describe_instances"), "Reservations", PaginationConfig={"PageSize": 5})
paged = [i["InstanceId"] for r in paged for i in r["Instances"]]
check(paged == everything and pages == (len(everything) + 4) // 5 and pages > 1,
      "describe_instances paginator by 5: %d instances in %d pages" % (len(paged), pages))
code, _, _ = error_of(ec2.describe_instances, NextToken="junk")
check(code == "InvalidPaginationToken", "a junk NextToken is refused (got %s)" % code)
code, _, _ = error_of(ec2.describe_instances, MaxResults=4)
check(code == "InvalidParameterValue", "MaxResults below 5 is refused (got %s)" % code)
code, _, _ = error_of(ec2.describe_instances, MaxResults=5, InstanceIds=[inst])
check(code == "InvalidParameterCombination", "MaxResults with InstanceIds is refused (got %s)" % code)

# Throttling: RequestLimitExceeded with 503, which botocore's legacy mode
# retries (its _retry.json); Config's max_attempts counts the retries.
# Two throttles, two retries allowed: success.
api_faults("DELETE")
api_faults("POST", {"service": "ec2", "action": "DescribeVpcs", "count": 2})
r = client("ec2", mode="legacy", max_attempts=2).describe_vpcs()
check(r["ResponseMetadata"]["RetryAttempts"] == 2 and len(r["Vpcs"]) == 1,
      "describe_vpcs succeeds after 2 throttles (%d retries)" % r["ResponseMetadata"]["RetryAttempts"])
# A persistent throttle, one retry allowed: the caller sees it.
api_faults("POST", {"service": "ec2", "action": "DescribeVpcs"})
code, status, attempts = error_of(client("ec2", mode="legacy", max_attempts=1).describe_vpcs)
check(code == "RequestLimitExceeded" and status == 503 and attempts == 1,
      "a persistent throttle exhausts the retries: %s %s after %d retries" % (status, code, attempts))
api_faults("DELETE")

# Stop and start as EC2 does: boto3's instance_stopped waiter (success when
# every instance is "stopped", failure on "terminated" or "pending") and
# instance_running waiter work; a forced stop and a reboot are accepted.
r = ec2.stop_instances(InstanceIds=[inst], Force=True)
check(r["StoppingInstances"][0]["CurrentState"]["Name"] == "stopping", "stop_instances(Force) answers stopping")
ec2.get_waiter("instance_stopped").wait(InstanceIds=[inst], WaiterConfig={"Delay": 1, "MaxAttempts": 30})
check(state(inst) == "stopped", "the instance_stopped waiter sees stopped")
code, status, _ = error_of(ec2.reboot_instances, InstanceIds=[inst])
check(code == "IncorrectInstanceState" and status == 400, "reboot_instances of a stopped instance is refused (got %s %s)" % (status, code))
r = ec2.start_instances(InstanceIds=[inst])
check(r["StartingInstances"][0]["PreviousState"]["Name"] == "stopped" and r["StartingInstances"][0]["CurrentState"]["Name"] == "pending",
      "start_instances answers stopped -> pending")
ec2.get_waiter("instance_running").wait(InstanceIds=[inst], WaiterConfig={"Delay": 1, "MaxAttempts": 30})
check(state(inst) == "running", "the instance_running waiter sees running")
r = ec2.reboot_instances(InstanceIds=[inst])
check(r["ResponseMetadata"]["HTTPStatusCode"] == 200 and state(inst) == "running", "reboot_instances succeeds; the instance stays running")
code, status, _ = error_of(ec2.stop_instances, InstanceIds=[inst], Hibernate=True)
check(code == "UnsupportedHibernationConfiguration" and status == 400, "stop_instances(Hibernate) is refused (got %s %s)" % (status, code))
