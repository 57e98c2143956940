"""ELBv2 through boto3: the listener's port is AWS's (80), paging by Marker."""
from common import SUMMARY, check, client, collect

elb = client("elbv2")
ls = elb.describe_listeners(LoadBalancerArn=SUMMARY["load_balancer_arn"])["Listeners"]
check(len(ls) == 1 and ls[0]["Port"] == 80 and ls[0]["Protocol"] == "HTTP", "the listener is HTTP on port 80 (got %s)" % ls[0]["Port"])
lbs, _ = collect(elb.get_paginator("describe_load_balancers"), "LoadBalancers", PaginationConfig={"PageSize": 1})
check([l["LoadBalancerArn"] for l in lbs] == [SUMMARY["load_balancer_arn"]], "describe_load_balancers paginator")
tgs, _ = collect(elb.get_paginator("describe_target_groups"), "TargetGroups", PaginationConfig={"PageSize": 1})
check([t["TargetGroupArn"] for t in tgs] == [SUMMARY["target_group_arn"]], "describe_target_groups paginator")
