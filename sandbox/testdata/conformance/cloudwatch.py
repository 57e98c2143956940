"""CloudWatch through boto3 (awsquery, API 2010-08-01): metrics, alarms and
their errors, and an alarm that runs a step scaling policy."""
import datetime
import time
import urllib.request

from common import SUMMARY, check, client, collect, error_of

cw = client("cloudwatch")
asg = client("autoscaling")
group = SUMMARY["auto_scaling_group"]
lb = SUMMARY["load_balancer_arn"].split("loadbalancer/", 1)[1]

# Some traffic through the first load balancer node.
url = "http://" + SUMMARY["nodes"][0]["addr"] + "/"
sent = 0
for _ in range(40):
    with urllib.request.urlopen(url, timeout=5) as resp:
        resp.read()
        sent += 1
time.sleep(1)

now = datetime.datetime.now(datetime.timezone.utc)
res = cw.get_metric_data(
    StartTime=now - datetime.timedelta(minutes=30), EndTime=now + datetime.timedelta(minutes=1),
    MetricDataQueries=[
        {"Id": "req", "MetricStat": {"Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": "RequestCount",
                                                "Dimensions": [{"Name": "LoadBalancer", "Value": lb}]},
                                     "Period": 60, "Stat": "Sum"}},
        {"Id": "cpu", "MetricStat": {"Metric": {"Namespace": "AWS/EC2", "MetricName": "CPUUtilization",
                                                "Dimensions": [{"Name": "AutoScalingGroupName", "Value": group}]},
                                     "Period": 60, "Stat": "Average"}, "Label": "group CPU"},
    ])
r = {x["Id"]: x for x in res["MetricDataResults"]}
check(r["req"]["StatusCode"] == "Complete" and sum(r["req"]["Values"]) >= sent
      and len(r["req"]["Timestamps"]) == len(r["req"]["Values"]) and isinstance(r["req"]["Timestamps"][0], datetime.datetime),
      "get_metric_data RequestCount: %d requests counted, %d sent" % (sum(r["req"]["Values"]), sent))
check(r["cpu"]["Label"] == "group CPU" and all(0 <= v <= 100 for v in r["cpu"]["Values"]) and r["cpu"]["Values"],
      "get_metric_data CPUUtilization per group")
code, status, _ = error_of(cw.get_metric_data, StartTime=now, EndTime=now, MetricDataQueries=[
    {"Id": "x", "Expression": "SUM(METRICS())"}])
check(code == "InvalidParameterValue" and status == 400, "metric math is refused (got %s %s)" % (code, status))

metrics, _ = collect(cw.get_paginator("list_metrics"), "Metrics", Namespace="AWS/ApplicationELB", MetricName="HealthyHostCount")
check(len(metrics) == 1 and {d["Name"] for d in metrics[0]["Dimensions"]} == {"LoadBalancer", "TargetGroup"},
      "list_metrics HealthyHostCount")

stats = cw.get_metric_statistics(Namespace="AWS/ApplicationELB", MetricName="RequestCount",
                                 Dimensions=[{"Name": "LoadBalancer", "Value": lb}],
                                 StartTime=now - datetime.timedelta(minutes=30), EndTime=now + datetime.timedelta(minutes=1),
                                 Period=60, Statistics=["Sum", "SampleCount"])
check(stats["Label"] == "RequestCount" and sum(d["Sum"] for d in stats["Datapoints"]) >= sent, "get_metric_statistics")

# Alarms.
pol = asg.put_scaling_policy(AutoScalingGroupName=group, PolicyName="cw-conf-step", PolicyType="StepScaling",
                             AdjustmentType="ChangeInCapacity",
                             StepAdjustments=[{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}])
# conf-0 has an hour's period (a minute of wall time in the fast profile), so
# a state set by hand holds while the script reads it back.
for i in range(3):
    cw.put_metric_alarm(AlarmName="conf-%d" % i, Namespace="AWS/EC2", MetricName="CPUUtilization",
                        Dimensions=[{"Name": "AutoScalingGroupName", "Value": group}], Statistic="Average",
                        Period=3600 if i == 0 else 60, EvaluationPeriods=1 if i == 0 else 5,
                        DatapointsToAlarm=1 if i == 0 else 3, Threshold=70.0,
                        ComparisonOperator="GreaterThanThreshold", TreatMissingData="missing",
                        AlarmActions=[pol["PolicyARN"]] if i == 0 else [])
alarms, pages = collect(cw.get_paginator("describe_alarms"), "MetricAlarms", AlarmNamePrefix="conf-",
                        PaginationConfig={"PageSize": 2})
check([a["AlarmName"] for a in alarms] == ["conf-0", "conf-1", "conf-2"] and pages == 2, "describe_alarms paginator by 2")
check(alarms[0]["AlarmActions"] == [pol["PolicyARN"]] and alarms[0]["Period"] == 3600, "describe_alarms: conf-0 names the policy")
a = alarms[1]
check(a["AlarmArn"].endswith(":alarm:conf-1") and a["AlarmActions"] == [] and a["Period"] == 60
      and a["EvaluationPeriods"] == 5 and a["DatapointsToAlarm"] == 3 and a["Threshold"] == 70.0
      and a["StateValue"] in ("INSUFFICIENT_DATA", "OK") and isinstance(a["StateUpdatedTimestamp"], datetime.datetime),
      "describe_alarms shape (state %s)" % a["StateValue"])
code, status, _ = error_of(cw.describe_alarms, NextToken="junk")
check(code == "InvalidNextToken" and status == 400, "a junk NextToken is refused (got %s)" % code)
code, status, _ = error_of(cw.describe_alarms, AlarmNames=["a"], AlarmNamePrefix="b")
check(code == "InvalidParameterCombination" and status == 400, "AlarmNames with AlarmNamePrefix is refused (got %s)" % code)
code, status, _ = error_of(cw.put_metric_alarm, AlarmName="bad", Namespace="AWS/EC2", MetricName="CPUUtilization",
                           Statistic="Average", Period=45, EvaluationPeriods=1, Threshold=1.0,
                           ComparisonOperator="GreaterThanThreshold")
check(code == "ValidationError" and status == 400, "a 45 s period is refused as CloudWatch does (got %s %s)" % (code, status))

# SetAlarmState runs the alarm's Auto Scaling action.
desired = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"][0]["DesiredCapacity"]
cw.set_alarm_state(AlarmName="conf-0", StateValue="ALARM", StateReason="conformance drill")
a = cw.describe_alarms(AlarmNames=["conf-0"])["MetricAlarms"][0]
check(a["StateValue"] == "ALARM" and a["StateReason"] == "conformance drill", "set_alarm_state")
acts = asg.describe_scaling_activities(AutoScalingGroupName=group)["Activities"]
after = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"][0]["DesiredCapacity"]
check(after == desired + 1 and "a monitor alarm conf-0 in state ALARM triggered policy cw-conf-step changing the desired capacity from %d to %d." % (desired, desired + 1) in acts[0]["Cause"],
      "the alarm ran the step policy: desired %d -> %d" % (desired, after))

code, status, _ = error_of(cw.delete_alarms, AlarmNames=["conf-1", "nope"])
check(code == "ResourceNotFound" and status == 404, "delete_alarms with an unknown name (got %s %s)" % (code, status))
cw.delete_alarms(AlarmNames=["conf-0", "conf-1", "conf-2"])
check(cw.describe_alarms(AlarmNamePrefix="conf-")["MetricAlarms"] == [], "delete_alarms")
asg.delete_policy(AutoScalingGroupName=group, PolicyName="cw-conf-step")
