"""Auto Scaling through boto3: scaling activities page with NextToken."""
from common import SUMMARY, check, client, collect, error_of

asg = client("autoscaling")
group = SUMMARY["auto_scaling_group"]

everything = [a["ActivityId"] for a in asg.describe_scaling_activities(AutoScalingGroupName=group)["Activities"]]
paged, pages = collect(asg.get_paginator("describe_scaling_activities"), "Activities",
                       AutoScalingGroupName=group, PaginationConfig={"PageSize": 2})
check([a["ActivityId"] for a in paged] == everything and pages == (len(everything) + 1) // 2 and pages > 1,
      "describe_scaling_activities paginator by 2: %d activities in %d pages" % (len(paged), pages))
code, status, _ = error_of(asg.describe_scaling_activities, NextToken="junk")
check(code == "InvalidNextToken" and status == 400, "a junk NextToken is refused (got %s)" % code)
groups, _ = collect(asg.get_paginator("describe_auto_scaling_groups"), "AutoScalingGroups", PaginationConfig={"PageSize": 1})
check([g["AutoScalingGroupName"] for g in groups] == [group], "describe_auto_scaling_groups paginator")

# Scaling policies: put_scaling_policy, describe_policies, delete_policy.
step = asg.put_scaling_policy(AutoScalingGroupName=group, PolicyName="conf-step", PolicyType="StepScaling",
                              AdjustmentType="ChangeInCapacity", EstimatedInstanceWarmup=60,
                              StepAdjustments=[{"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 20, "ScalingAdjustment": 1},
                                               {"MetricIntervalLowerBound": 20, "ScalingAdjustment": 2}])
check(step["PolicyARN"].startswith("arn:aws:autoscaling:") and ":policyName/conf-step" in step["PolicyARN"],
      "put_scaling_policy StepScaling: %s" % step["PolicyARN"])
lb = SUMMARY["load_balancer_arn"].split("loadbalancer/", 1)[1]
tg = SUMMARY["target_group_arn"].split(":", 5)[5]
tt = asg.put_scaling_policy(AutoScalingGroupName=group, PolicyName="conf-rc", PolicyType="TargetTrackingScaling",
                            TargetTrackingConfiguration={
                                "PredefinedMetricSpecification": {"PredefinedMetricType": "ALBRequestCountPerTarget",
                                                                  "ResourceLabel": lb + "/" + tg},
                                "TargetValue": 100.0})
check(len(tt["Alarms"]) == 2 and all(a["AlarmName"].startswith("TargetTracking-%s-Alarm" % group) for a in tt["Alarms"]),
      "put_scaling_policy TargetTrackingScaling returns its two alarms")
pols = {p["PolicyName"]: p for p in asg.describe_policies(AutoScalingGroupName=group)["ScalingPolicies"]}
check(pols["conf-step"]["StepAdjustments"][1] == {"MetricIntervalLowerBound": 20.0, "ScalingAdjustment": 2}
      and pols["conf-step"]["EstimatedInstanceWarmup"] == 60, "describe_policies shows the steps")
check(pols["conf-rc"]["TargetTrackingConfiguration"]["TargetValue"] == 100.0
      and pols["conf-rc"]["TargetTrackingConfiguration"]["PredefinedMetricSpecification"]["ResourceLabel"] == lb + "/" + tg,
      "describe_policies shows the target tracking configuration")
only, _ = collect(asg.get_paginator("describe_policies"), "ScalingPolicies", AutoScalingGroupName=group,
                  PolicyTypes=["StepScaling"], PaginationConfig={"PageSize": 1})
check([p["PolicyName"] for p in only] == ["conf-step"], "describe_policies paginator with PolicyTypes")
code, status, _ = error_of(asg.put_scaling_policy, AutoScalingGroupName=group, PolicyName="bad", PolicyType="StepScaling",
                           AdjustmentType="ChangeInCapacity",
                           StepAdjustments=[{"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 10, "ScalingAdjustment": 1},
                                            {"MetricIntervalLowerBound": 20, "ScalingAdjustment": 2}])
check(code == "ValidationError" and status == 400, "steps with a gap are refused (got %s %s)" % (code, status))
code, status, _ = error_of(asg.put_scaling_policy, AutoScalingGroupName="nope", PolicyName="x", AdjustmentType="ChangeInCapacity", ScalingAdjustment=1)
check(code == "ValidationError" and status == 400, "an unknown group is refused (got %s)" % code)
asg.delete_policy(AutoScalingGroupName=group, PolicyName="conf-rc")
asg.delete_policy(AutoScalingGroupName=group, PolicyName="conf-step")
check(asg.describe_policies(AutoScalingGroupName=group)["ScalingPolicies"] == [], "delete_policy")
