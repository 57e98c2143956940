"""RDS through boto3: what Terraform reads (tags, subnet groups)."""
from common import SUMMARY, check, client, error_of

rds = client("rds")
db = rds.describe_db_instances()["DBInstances"][0]
tags = rds.list_tags_for_resource(ResourceName=db["DBInstanceArn"])["TagList"]
check(sorted((t["Key"], t["Value"]) for t in tags) == sorted((t["Key"], t["Value"]) for t in db["TagList"]) and tags,
      "list_tags_for_resource of the DB instance: %d tags" % len(tags))
code, status, _ = error_of(rds.list_tags_for_resource, ResourceName=db["DBInstanceArn"] + "x")
check(code == "DBInstanceNotFound" and status == 404, "list_tags_for_resource of an unknown instance: %s %s" % (status, code))
groups = rds.describe_db_subnet_groups()["DBSubnetGroups"]
check(len(groups) == 1 and groups[0]["VpcId"] == SUMMARY["vpc_id"] and groups[0]["Subnets"], "describe_db_subnet_groups")
code, status, _ = error_of(rds.describe_db_subnet_groups, DBSubnetGroupName="nope")
check(code == "DBSubnetGroupNotFoundFault" and status == 404, "an unknown subnet group: %s %s" % (status, code))
check(db["DBSubnetGroup"]["DBSubnetGroupName"] == groups[0]["DBSubnetGroupName"] and db["VpcSecurityGroups"][0]["Status"] == "active",
      "the DB instance names its subnet group and security group")
ec2 = client("ec2")
sg = ec2.describe_security_groups(GroupIds=[db["VpcSecurityGroups"][0]["VpcSecurityGroupId"]])["SecurityGroups"]
check(len(sg) == 1 and sg[0]["IpPermissions"][0]["FromPort"] == db["Endpoint"]["Port"], "its security group admits the database port")
