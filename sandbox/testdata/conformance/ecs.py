"""Amazon ECS through boto3 (awsJson1_1, API 2014-11-13): task definitions,
tasks that are real processes of the gameday binary, their lifecycle, stop,
paging, tags and errors. Every answer is checked against botocore's model
(common.py)."""
from common import SUMMARY, check, client, collect, error_of, wait_for

ecs = client("ecs")
cluster = SUMMARY["ecs_cluster"]
subnet = [s for s in SUMMARY["subnets"] if not s["public"]][0]
net = {"awsvpcConfiguration": {"subnets": [subnet["id"]], "assignPublicIp": "DISABLED"}}

cl = ecs.describe_clusters(clusters=[cluster])
check(len(cl["clusters"]) == 1 and cl["clusters"][0]["status"] == "ACTIVE"
      and cl["clusters"][0]["clusterArn"].endswith(":cluster/" + cluster), "describe_clusters: the sandbox's cluster " + cluster)
missing = ecs.describe_clusters(clusters=["nope"])
check(missing["clusters"] == [] and missing["failures"][0]["reason"] == "MISSING", "describe_clusters: unknown is a MISSING failure")

def register(family, command):
    return ecs.register_task_definition(
        family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=[{"name": "worker", "image": "gameday:label-only", "command": command,
                               "environment": [{"name": "FROM_DEFINITION", "value": "1"}]}],
        tags=[{"key": "team", "value": "sre"}])["taskDefinition"]


td = register("boto-version", ["version"])
check(td["revision"] == 1 and td["status"] == "ACTIVE" and "FARGATE" in td["compatibilities"], "register_task_definition")
d = ecs.describe_task_definition(taskDefinition="boto-version", include=["TAGS"])
check(d["taskDefinition"]["taskDefinitionArn"] == td["taskDefinitionArn"] and d["tags"] == [{"key": "team", "value": "sre"}],
      "describe_task_definition with tags")

run = ecs.run_task(cluster=cluster, taskDefinition="boto-version", launchType="FARGATE", networkConfiguration=net,
                   startedBy="boto3")
check(len(run["tasks"]) == 1 and run["failures"] == [] and run["tasks"][0]["lastStatus"] == "PROVISIONING", "run_task")
arn = run["tasks"][0]["taskArn"]
ecs.get_waiter("tasks_stopped").wait(cluster=cluster, tasks=[arn], WaiterConfig={"Delay": 1, "MaxAttempts": 30})
t = ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]
check(t["lastStatus"] == "STOPPED" and t["stopCode"] == "EssentialContainerExited" and t["containers"][0]["exitCode"] == 0,
      "`gameday version` ran and exited 0: EssentialContainerExited (%s, %s)" % (t["stopCode"], t["containers"][0].get("exitCode")))
check(t["startedAt"] <= t["stoppedAt"] and t["attachments"][0]["type"] == "ElasticNetworkInterface", "timestamps and the ENI")

# `gameday sandbox` (a nested sandbox) runs until it is signalled.
register("boto-long", ["sandbox"])
run = ecs.run_task(cluster=cluster, taskDefinition="boto-long", launchType="FARGATE", networkConfiguration=net,
                   count=3, startedBy="boto3-long", tags=[{"key": "run", "value": "r1"}])
arns = [x["taskArn"] for x in run["tasks"]]
check(len(arns) == 3, "run_task count=3")
ecs.get_waiter("tasks_running").wait(cluster=cluster, tasks=arns, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
print("ok tasks_running waiter")
listed, pages = collect(ecs.get_paginator("list_tasks"), "taskArns", cluster=cluster, startedBy="boto3-long",
                        PaginationConfig={"PageSize": 2})
check(sorted(listed) == sorted(arns) and pages == 2, "list_tasks paginator by 2: %d tasks in %d pages" % (len(listed), pages))
check(ecs.list_tasks(cluster=cluster, family="boto-version")["taskArns"] == [], "list_tasks: stopped tasks leave the default listing")
tags = ecs.list_tags_for_resource(resourceArn=arns[0])["tags"]
check(tags == [{"key": "run", "value": "r1"}], "list_tags_for_resource of a task")
ecs.tag_resource(resourceArn=arns[0], tags=[{"key": "extra", "value": "x"}])
ecs.untag_resource(resourceArn=arns[0], tagKeys=["run"])
check(ecs.list_tags_for_resource(resourceArn=arns[0])["tags"] == [{"key": "extra", "value": "x"}], "tag_resource, untag_resource")

st = ecs.stop_task(cluster=cluster, task=arns[0], reason="boto3 says stop")["task"]
check(st["desiredStatus"] == "STOPPED" and st["stopCode"] == "UserInitiated", "stop_task")
for a in arns[1:]:
    ecs.stop_task(cluster=cluster, task=a)
ecs.get_waiter("tasks_stopped").wait(cluster=cluster, tasks=arns, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
t = ecs.describe_tasks(cluster=cluster, tasks=arns[:1])["tasks"][0]
check(t["stoppedReason"] == "boto3 says stop" and t["stopCode"] == "UserInitiated" and "exitCode" in t["containers"][0],
      "stopped by the user, exit code %s" % t["containers"][0].get("exitCode"))
check(ecs.list_tasks(cluster=cluster, startedBy="boto3-long")["taskArns"] == [], "list_tasks: none running after stop")
stopped = ecs.list_tasks(cluster=cluster, startedBy="boto3-long", desiredStatus="STOPPED")["taskArns"]
check(sorted(stopped) == sorted(arns), "list_tasks desiredStatus=STOPPED")

# Errors, with ECS's codes and HTTP 400.
for what, call, kw, want in [
    ("unknown cluster", ecs.run_task, dict(cluster="nope", taskDefinition="boto-version"), "ClusterNotFoundException"),
    ("unknown task definition", ecs.run_task, dict(cluster=cluster, taskDefinition="nope"), "ClientException"),
    ("FARGATE without awsvpcConfiguration", ecs.run_task, dict(cluster=cluster, taskDefinition="boto-version", launchType="FARGATE"), "InvalidParameterException"),
    ("a subnet EC2 does not have", ecs.run_task, dict(cluster=cluster, taskDefinition="boto-version", launchType="FARGATE",
                                                       networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-0000000000000000f"]}}), "InvalidParameterException"),
    ("count 11", ecs.run_task, dict(cluster=cluster, taskDefinition="boto-version", launchType="FARGATE", networkConfiguration=net, count=11), "InvalidParameterException"),
    ("a junk nextToken", ecs.list_tasks, dict(cluster=cluster, nextToken="junk"), "InvalidParameterException"),
    ("stop an unknown task", ecs.stop_task, dict(cluster=cluster, task="0123456789abcdef0123456789abcdef"), "InvalidParameterException"),
    ("Fargate with a cpu/memory pair Fargate lacks", ecs.register_task_definition,
     dict(family="bad", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="4096",
          containerDefinitions=[{"name": "w", "image": "x"}]), "ClientException"),
]:
    code, status, _ = error_of(call, **kw)
    check(code == want and status == 400, "%s: %s %s (want %s 400)" % (what, code, status, want))
