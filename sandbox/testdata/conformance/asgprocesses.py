"""Auto Scaling processes through boto3: suspend, describe, resume; and the
launch failures as DescribeScalingActivities shows them."""
import json
import time
import urllib.request

from common import ENDPOINT, SUMMARY, check, client, error_of

asg = client("autoscaling")
group = SUMMARY["auto_scaling_group"]


def suspended():
    g = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"][0]
    return {p["ProcessName"]: p["SuspensionReason"] for p in g["SuspendedProcesses"]}


types = [p["ProcessName"] for p in asg.describe_scaling_process_types()["Processes"]]
check(types == sorted(types) and len(types) == 9 and "AZRebalance" in types and "InstanceRefresh" in types,
      "describe_scaling_process_types lists the nine processes: %s" % types)
check(suspended() == {}, "SuspendedProcesses is an empty list, not missing")
asg.suspend_processes(AutoScalingGroupName=group, ScalingProcesses=["Launch", "ReplaceUnhealthy"])
s = suspended()
check(sorted(s) == ["Launch", "ReplaceUnhealthy"] and all(r.startswith("User suspended at ") for r in s.values()),
      "suspend_processes: %s" % s)
code, status, _ = error_of(asg.suspend_processes, AutoScalingGroupName=group, ScalingProcesses=["Reboot"])
check(code == "ValidationError" and status == 400, "an unknown process is a ValidationError (got %s %s)" % (code, status))
asg.resume_processes(AutoScalingGroupName=group)
check(suspended() == {}, "resume_processes without names resumes all")

# Launch failures in the AZ of the member we terminate: the replacement is
# refused there, and the activity says so in EC2's words.
g = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"][0]
victim = next(i for i in g["Instances"] if i["LifecycleState"] == "InService")
az = victim["AvailabilityZone"]
req = urllib.request.Request(ENDPOINT + "/_sandbox/launch-failures", method="POST",
                             data=json.dumps({"group": group, "azs": [az], "duration": "1m"}).encode(),
                             headers={"Content-Type": "application/json"})
with urllib.request.urlopen(req, timeout=5) as resp:
    armed = json.load(resp)
asg.terminate_instance_in_auto_scaling_group(InstanceId=victim["InstanceId"], ShouldDecrementDesiredCapacity=False)
failed = []
for _ in range(100):
    acts = asg.describe_scaling_activities(AutoScalingGroupName=group)["Activities"]
    failed = [a for a in acts if a["StatusCode"] == "Failed"]
    if failed:
        break
    time.sleep(0.1)
check(failed and "We currently do not have sufficient" in failed[0]["StatusMessage"]
      and "(%s)" % az in failed[0]["StatusMessage"]
      and failed[0]["Description"].startswith("Launching a new EC2 instance.  Status Reason: "),
      "a refused launch is a Failed activity with EC2's message: %s" % (failed[0] if failed else None))
req = urllib.request.Request(ENDPOINT + "/_sandbox/launch-failures?id=" + armed["id"], method="DELETE")
urllib.request.urlopen(req, timeout=5).close()
