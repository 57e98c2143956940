"""Instance refresh through boto3: botocore's autoscaling model (Debian's
boto3 1.26) parses what the sandbox answers, and the refresh's progress is
what the harness sees. Run by TestConformanceInstanceRefresh on a sandbox of
its own (the refresh replaces every instance of the group)."""
import time

from common import SUMMARY, check, client, error_of

asg = client("autoscaling")
group = SUMMARY["auto_scaling_group"]

code, status, _ = error_of(asg.cancel_instance_refresh, AutoScalingGroupName=group)
check(code == "ActiveInstanceRefreshNotFound" and status == 400, "cancel with no refresh running: %s %s" % (code, status))

rid = asg.start_instance_refresh(
    AutoScalingGroupName=group, Strategy="Rolling",
    DesiredConfiguration={"LaunchTemplate": {"LaunchTemplateName": group + "-lt", "Version": "2"}},
    Preferences={"MinHealthyPercentage": 66, "InstanceWarmup": 0, "SkipMatching": False},
)["InstanceRefreshId"]
check(len(rid) == 36, "start_instance_refresh answers an id (%s)" % rid)
code, status, _ = error_of(asg.start_instance_refresh, AutoScalingGroupName=group)
check(code == "InstanceRefreshInProgress" and status == 400, "a second refresh is refused: %s %s" % (code, status))

seen = []
deadline = time.time() + 60
while True:
    x = asg.describe_instance_refreshes(AutoScalingGroupName=group, InstanceRefreshIds=[rid])["InstanceRefreshes"][0]
    step = (x["Status"], x["PercentageComplete"], x["InstancesToUpdate"])
    if not seen or seen[-1] != step:
        seen.append(step)
    if x["Status"] in ("Successful", "Failed", "Cancelled") or time.time() > deadline:
        break
    time.sleep(0.1)
check(x["Status"] == "Successful" and x["PercentageComplete"] == 100 and x["InstancesToUpdate"] == 0 and "EndTime" in x,
      "the refresh succeeds: %s" % seen)
check([p for s, p, _ in seen if s == "InProgress"] == sorted(p for s, p, _ in seen if s == "InProgress")
      and any(s == "InProgress" and 0 < p < 100 for s, p, _ in seen),
      "describe_instance_refreshes shows progress batch by batch")
check(x["DesiredConfiguration"]["LaunchTemplate"]["Version"] == "2" and x["Preferences"]["MinHealthyPercentage"] == 66,
      "desired configuration and preferences come back")
g = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"][0]
check(g["LaunchTemplate"]["Version"] == "2"
      and all(i["LaunchTemplate"]["Version"] == "2" for i in g["Instances"] if i["LifecycleState"] == "InService"),
      "the group launches from version 2 and runs it")
