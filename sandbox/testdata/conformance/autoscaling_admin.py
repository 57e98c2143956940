"""Auto Scaling administration through boto3: update, instances (paged),
standby, instance health, detach, lifecycle hooks, tags. Leaves the group
at the size it found it."""
from common import SUMMARY, check, client, collect, error_of, wait_for

asg = client("autoscaling")
ec2 = client("ec2")
name = SUMMARY["auto_scaling_group"]


def group():
    return asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]


def members(state):
    return [i["InstanceId"] for i in group()["Instances"] if i["LifecycleState"] == state]


def in_service(n):
    return lambda: group()["DesiredCapacity"] == n and len(members("InService")) == n


g = group()
start, lo, hi, hc = g["DesiredCapacity"], g["MinSize"], g["MaxSize"], g["HealthCheckType"]
asg.update_auto_scaling_group(AutoScalingGroupName=name, MinSize=1, MaxSize=hi + 2, HealthCheckType="EC2")
g = group()
check(g["MinSize"] == 1 and g["MaxSize"] == hi + 2 and g["HealthCheckType"] == "EC2", "update_auto_scaling_group sizes and health-check type")
code, status, _ = error_of(asg.update_auto_scaling_group, AutoScalingGroupName=name, MinSize=3, MaxSize=2)
check(code == "ValidationError" and status == 400, "min above max is refused: %s" % code)
code, _, _ = error_of(asg.update_auto_scaling_group, AutoScalingGroupName=name, DesiredCapacity=hi + 3)
check(code == "ValidationError", "desired above max is refused: %s" % code)
asg.update_auto_scaling_group(AutoScalingGroupName=name, DesiredCapacity=start + 1)
wait_for("the group grows to %d in service" % (start + 1), in_service(start + 1))

insts, pages = collect(asg.get_paginator("describe_auto_scaling_instances"), "AutoScalingInstances", PaginationConfig={"PageSize": 1})
check(sorted(i["InstanceId"] for i in insts) == sorted(i["InstanceId"] for i in group()["Instances"]) and pages == len(insts),
      "describe_auto_scaling_instances paginator by 1: %d instances in %d pages" % (len(insts), pages))
check(all(i["AutoScalingGroupName"] == name and i["HealthStatus"] in ("HEALTHY", "UNHEALTHY") for i in insts), "instances name their group and health")

# Standby without decrement: replaced; exit standby: desired grows.
a = members("InService")[0]
acts = asg.enter_standby(AutoScalingGroupName=name, InstanceIds=[a], ShouldDecrementDesiredCapacity=False)["Activities"]
check(acts[0]["Description"] == "Moving EC2 instance to Standby: " + a, "enter_standby activity: %s" % acts[0]["Description"])
check(members("Standby") == [a], "the member is in Standby")
wait_for("a replacement is in service", in_service(start + 1))
asg.exit_standby(AutoScalingGroupName=name, InstanceIds=[a])
wait_for("exit_standby: %s back in service, desired %d" % (a, start + 2), lambda: in_service(start + 2)() and a in members("InService"))
code, _, _ = error_of(asg.exit_standby, AutoScalingGroupName=name, InstanceIds=[a])
check(code == "ValidationError", "exit_standby of an InService member: %s" % code)

# Unhealthy: the group replaces the member.
b = members("InService")[0]
asg.set_instance_health(InstanceId=b, HealthStatus="Unhealthy", ShouldRespectGracePeriod=False)
wait_for("set_instance_health Unhealthy: %s replaced" % b,
         lambda: b not in [i["InstanceId"] for i in group()["Instances"]] and in_service(start + 2)())

# Detach with decrement: the instance keeps running outside the group.
c = members("InService")[0]
asg.detach_instances(AutoScalingGroupName=name, InstanceIds=[c], ShouldDecrementDesiredCapacity=True)
wait_for("detach_instances: desired %d" % (start + 1), in_service(start + 1))
state = ec2.describe_instances(InstanceIds=[c])["Reservations"][0]["Instances"][0]["State"]["Name"]
check(state == "running" and c not in [i["InstanceId"] for i in group()["Instances"]], "the detached instance runs outside the group")
ec2.terminate_instances(InstanceIds=[c])

check(asg.describe_lifecycle_hooks(AutoScalingGroupName=name)["LifecycleHooks"] == [], "describe_lifecycle_hooks: none")
tags = asg.describe_tags(Filters=[{"Name": "auto-scaling-group", "Values": [name]}])["Tags"]
check(any(t["Key"] == "Name" and t["ResourceType"] == "auto-scaling-group" for t in tags), "describe_tags of the group")

asg.update_auto_scaling_group(AutoScalingGroupName=name, MinSize=lo, MaxSize=hi, DesiredCapacity=start, HealthCheckType=hc)
wait_for("the group is back to %d in service" % start, in_service(start))
