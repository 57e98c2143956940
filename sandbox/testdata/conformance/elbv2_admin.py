"""ELBv2 through boto3: what Terraform reads (tags, attributes, rules) and
target group administration. Restores what it changes."""
from common import SUMMARY, check, client, error_of, wait_for

elb = client("elbv2")
lb, tg = SUMMARY["load_balancer_arn"], SUMMARY["target_group_arn"]
listener = elb.describe_listeners(LoadBalancerArn=lb)["Listeners"][0]["ListenerArn"]

descs = elb.describe_tags(ResourceArns=[lb, tg, listener])["TagDescriptions"]
check([d["ResourceArn"] for d in descs] == [lb, tg, listener], "describe_tags of the load balancer, target group and listener")
code, status, _ = error_of(elb.describe_tags, ResourceArns=[lb + "0"])
check(code == "LoadBalancerNotFound" and status == 400, "describe_tags of an unknown ARN: %s" % code)
attrs = {a["Key"]: a["Value"] for a in elb.describe_load_balancer_attributes(LoadBalancerArn=lb)["Attributes"]}
check(attrs.get("deletion_protection.enabled") == "false" and attrs.get("idle_timeout.timeout_seconds") == "60", "describe_load_balancer_attributes")
rules = elb.describe_rules(ListenerArn=listener)["Rules"]
check(len(rules) == 1 and rules[0]["IsDefault"] and rules[0]["Actions"][0]["TargetGroupArn"] == tg, "describe_rules: the default rule forwards to the target group")

tga = {a["Key"]: a["Value"] for a in elb.describe_target_group_attributes(TargetGroupArn=tg)["Attributes"]}
delay = tga["deregistration_delay.timeout_seconds"]
out = elb.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "0"}])["Attributes"]
check({a["Key"]: a["Value"] for a in out}["deregistration_delay.timeout_seconds"] == "0", "modify_target_group_attributes deregistration delay 0")
code, _, _ = error_of(elb.modify_target_group_attributes, TargetGroupArn=tg, Attributes=[{"Key": "stickiness.enabled", "Value": "true"}])
check(code == "ValidationError", "an unmodelled attribute value is refused: %s" % code)

before = elb.describe_target_groups(TargetGroupArns=[tg])["TargetGroups"][0]
got = elb.modify_target_group(TargetGroupArn=tg, HealthyThresholdCount=3, UnhealthyThresholdCount=3)["TargetGroups"][0]
check(got["HealthyThresholdCount"] == 3 and got["UnhealthyThresholdCount"] == 3, "modify_target_group thresholds")
code, _, _ = error_of(elb.modify_target_group, TargetGroupArn=tg, HealthCheckTimeoutSeconds=120)
check(code == "ValidationError", "a timeout not below the interval is refused: %s" % code)


def health():
    return {d["Target"]["Id"]: d["TargetHealth"]["State"] for d in elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]}


target = next(i for i, s in health().items() if s == "healthy")
elb.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": target}])
wait_for("deregister_targets with delay 0: %s gone" % target, lambda: target not in health())
elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": target}])
wait_for("register_targets: %s healthy again" % target, lambda: health().get(target) == "healthy")
code, _, _ = error_of(elb.register_targets, TargetGroupArn=tg, Targets=[{"Id": "i-00000000000000000"}])
check(code == "InvalidTarget", "registering an unknown instance: %s" % code)

elb.modify_target_group(TargetGroupArn=tg, HealthyThresholdCount=before["HealthyThresholdCount"], UnhealthyThresholdCount=before["UnhealthyThresholdCount"])
elb.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": delay}])
