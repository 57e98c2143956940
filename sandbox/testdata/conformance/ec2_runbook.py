"""EC2 calls runbooks and Terraform make, through boto3: shapes (checked
against botocore's model by common.client), errors, DryRun, paging, the
instance-status-ok waiter and ACL entry edits."""
from common import SUMMARY, check, client, collect, error_of

ec2 = client("ec2")
vpc = SUMMARY["vpc_id"]
running = ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["running"]}])
insts = [i for r in running["Reservations"] for i in r["Instances"]]
inst = insts[0]

# Terraform's aws_vpc reads.
for attr, key, want in [("enableDnsSupport", "EnableDnsSupport", True), ("enableDnsHostnames", "EnableDnsHostnames", True),
                        ("enableNetworkAddressUsageMetrics", "EnableNetworkAddressUsageMetrics", False)]:
    r = ec2.describe_vpc_attribute(VpcId=vpc, Attribute=attr)
    check(r[key]["Value"] is want and r["VpcId"] == vpc, "describe_vpc_attribute %s = %s" % (attr, want))
code, status, _ = error_of(ec2.describe_vpc_attribute, VpcId="vpc-00000000", Attribute="enableDnsSupport")
check(code == "InvalidVpcID.NotFound" and status == 400, "describe_vpc_attribute of an unknown VPC: %s" % code)

regions = ec2.describe_regions()["Regions"]
check([r["RegionName"] for r in regions] == [SUMMARY["region"]], "describe_regions: the sandbox's one region")
code, _, _ = error_of(ec2.describe_regions, RegionNames=["us-east-1"])
check(code == "InvalidParameterValue", "describe_regions of another region: %s" % code)

# Instance shape: interface, group, root volume, consistent with their describes.
check(len(inst["NetworkInterfaces"]) == 1 and inst["NetworkInterfaces"][0]["PrivateIpAddress"] == inst["PrivateIpAddress"],
      "an instance carries its primary network interface")
eni = ec2.describe_network_interfaces(NetworkInterfaceIds=[inst["NetworkInterfaces"][0]["NetworkInterfaceId"]])["NetworkInterfaces"]
check(len(eni) == 1 and eni[0]["Attachment"]["InstanceId"] == inst["InstanceId"], "describe_network_interfaces of the instance's interface")
sg = inst["SecurityGroups"][0]["GroupId"]
groups = ec2.describe_security_groups(GroupIds=[sg])["SecurityGroups"]
check(len(groups) == 1 and groups[0]["VpcId"] == vpc and groups[0]["IpPermissions"][0]["FromPort"] == 80,
      "describe_security_groups of the instance's group")
code, _, _ = error_of(ec2.describe_security_groups, GroupIds=["sg-00000000"])
check(code == "InvalidGroup.NotFound", "an unknown group: %s" % code)
vol = inst["BlockDeviceMappings"][0]["Ebs"]["VolumeId"]
vols = ec2.describe_volumes(VolumeIds=[vol])["Volumes"]
check(vols[0]["Attachments"][0]["InstanceId"] == inst["InstanceId"], "describe_volumes of the instance's root volume")
allvols, pages = collect(ec2.get_paginator("describe_volumes"), "Volumes", PaginationConfig={"PageSize": 5})
check(len(allvols) == len(ec2.describe_volumes()["Volumes"]) >= len(insts), "describe_volumes paginator by 5: %d volumes in %d pages" % (len(allvols), pages))
code, _, _ = error_of(ec2.describe_volumes, MaxResults=4)
check(code == "InvalidParameterValue", "describe_volumes MaxResults below 5: %s" % code)
rts = ec2.describe_route_tables(Filters=[{"Name": "association.main", "Values": ["true"]}])["RouteTables"]
check(len(rts) == 1 and rts[0]["Routes"][0]["GatewayId"] == "local", "describe_route_tables: the main table")
check(ec2.describe_addresses()["Addresses"] == [], "describe_addresses: no Elastic IPs")
code, _, _ = error_of(ec2.describe_addresses, PublicIps=["198.51.100.1"])
check(code == "InvalidAddress.NotFound", "an unknown address: %s" % code)
types = ec2.describe_instance_types(InstanceTypes=[inst["InstanceType"]])["InstanceTypes"]
check(len(types) == 1 and types[0]["VCpuInfo"]["DefaultVCpus"] > 0, "describe_instance_types %s" % inst["InstanceType"])
code, _, _ = error_of(ec2.describe_instance_types, InstanceTypes=["x9.huge"])
check(code == "InvalidInstanceType", "an unknown instance type: %s" % code)

# Tags, paged.
tags, pages = collect(ec2.get_paginator("describe_tags"), "Tags", PaginationConfig={"PageSize": 5})
check(len(tags) == len(ec2.describe_tags()["Tags"]) and pages > 1, "describe_tags paginator by 5: %d tags in %d pages" % (len(tags), pages))
mine = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [inst["InstanceId"]]}, {"Name": "key", "Values": ["gameday:opt-in"]}])["Tags"]
check(len(mine) == 1 and mine[0]["ResourceType"] == "instance", "describe_tags by resource and key")

# Status checks and the waiter.
statuses, pages = collect(ec2.get_paginator("describe_instance_status"), "InstanceStatuses", PaginationConfig={"PageSize": 5})
check(len(statuses) == len(insts) and all(s["InstanceStatus"]["Status"] == "ok" for s in statuses),
      "describe_instance_status paginator: %d running instances, checks ok" % len(statuses))
ec2.get_waiter("instance_status_ok").wait(InstanceIds=[i["InstanceId"] for i in insts], WaiterConfig={"Delay": 1, "MaxAttempts": 10})
check(True, "the instance_status_ok waiter returns")
code, _, _ = error_of(ec2.describe_instance_status, InstanceIds=[inst["InstanceId"]], MaxResults=5)
check(code == "InvalidParameterCombination", "MaxResults with InstanceIds is refused: %s" % code)

# ACL entries: replace and delete, with DryRun first.
# (ClientToken on create_network_acl is newer than botocore 1.29's model:
# TestClientTokenIdempotency covers it with the Go SDK.)
acl = ec2.create_network_acl(VpcId=vpc)["NetworkAcl"]
aid = acl["NetworkAclId"]
ec2.create_network_acl_entry(NetworkAclId=aid, RuleNumber=100, Protocol="-1", RuleAction="allow", Egress=False, CidrBlock="0.0.0.0/0")


def entry(num, egress=False):
    es = ec2.describe_network_acls(NetworkAclIds=[aid])["NetworkAcls"][0]["Entries"]
    return [e for e in es if e["RuleNumber"] == num and e["Egress"] == egress]


code, status, _ = error_of(ec2.replace_network_acl_entry, NetworkAclId=aid, RuleNumber=100, Protocol="6", PortRange={"From": 80, "To": 80},
                           RuleAction="deny", Egress=False, CidrBlock="203.0.113.10/32", DryRun=True)
check(code == "DryRunOperation" and status == 412 and entry(100)[0]["RuleAction"] == "allow", "replace_network_acl_entry DryRun changes nothing")
ec2.replace_network_acl_entry(NetworkAclId=aid, RuleNumber=100, Protocol="6", PortRange={"From": 80, "To": 80},
                              RuleAction="deny", Egress=False, CidrBlock="203.0.113.10/32")
e = entry(100)[0]
check(e["RuleAction"] == "deny" and e["Protocol"] == "6" and e["PortRange"] == {"From": 80, "To": 80}, "replace_network_acl_entry replaced rule 100")
code, status, _ = error_of(ec2.delete_network_acl_entry, NetworkAclId=aid, RuleNumber=100, Egress=False, DryRun=True)
check(code == "DryRunOperation" and status == 412 and entry(100), "delete_network_acl_entry DryRun changes nothing")
ec2.delete_network_acl_entry(NetworkAclId=aid, RuleNumber=100, Egress=False)
check(entry(100) == [], "delete_network_acl_entry removed rule 100")
code, _, _ = error_of(ec2.delete_network_acl_entry, NetworkAclId=aid, RuleNumber=100, Egress=False)
check(code == "InvalidNetworkAclEntry.NotFound", "deleting it again: %s" % code)
ec2.delete_network_acl(NetworkAclId=aid)

# Every new describe honours DryRun.
for name, kw in [("describe_vpc_attribute", {"VpcId": vpc, "Attribute": "enableDnsSupport"}), ("describe_regions", {}),
                 ("describe_instance_status", {}), ("describe_tags", {}), ("describe_security_groups", {}),
                 ("describe_route_tables", {}), ("describe_addresses", {}), ("describe_volumes", {}), ("describe_instance_types", {})]:
    code, status, _ = error_of(getattr(ec2, name), DryRun=True, **kw)
    check(code == "DryRunOperation" and status == 412, "%s DryRun: %s %s" % (name, status, code))
