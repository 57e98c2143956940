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
