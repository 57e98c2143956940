"""What the sandbox refuses, as boto3 sees it: a client for another region,
services and actions the sandbox does not implement. Each answer is an AWS
error in the called service's own protocol, so botocore parses its code."""
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from common import ENDPOINT, SUMMARY, check, client, error_of

NO_RETRY = Config(retries={"max_attempts": 0})


def message_of(call, **kwargs):
    try:
        call(**kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"].get("Message", "")
    check(False, "%s should have failed" % call.__name__)


# Another region: 403 SignatureDoesNotMatch, as a regional endpoint answers.
west = boto3.client("ec2", endpoint_url=ENDPOINT, region_name="us-west-2", config=NO_RETRY)
code, status, msg = message_of(west.describe_instances)
check(code == "SignatureDoesNotMatch" and status == 403 and "not 'us-west-2'" in msg,
      "ec2 in us-west-2: %s %s %s" % (code, status, msg))
west_rds = boto3.client("rds", endpoint_url=ENDPOINT, region_name="eu-central-1", config=NO_RETRY)
code, status, msg = message_of(west_rds.describe_db_instances)
check(code == "SignatureDoesNotMatch" and status == 403, "rds in eu-central-1: %s %s" % (code, status))
ec2 = client("ec2")
running = ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["running"]}])
check(len(running["Reservations"]) > 0, "own region served")

# Services the sandbox does not model, one per protocol.
cases = [
    ("cloudwatch", "describe_alarms", {}, "InvalidAction", 400, "cloudwatch:DescribeAlarms"),     # awsquery
    ("logs", "describe_log_groups", {}, "UnknownOperationException", 400, "logs:DescribeLogGroups"),  # awsJson
    ("s3", "list_buckets", {}, "NotImplemented", 501, "gameday sandbox does not implement s3"),  # rest-xml
    ("lambda", "list_functions", {}, "NotImplemented", 501, "gameday sandbox does not implement lambda"),  # rest-json
]
for svc, op, kwargs, want_code, want_status, want_msg in cases:
    c = boto3.client(svc, endpoint_url=ENDPOINT, config=NO_RETRY)
    code, status, msg = message_of(getattr(c, op), **kwargs)
    check(code == want_code and status == want_status and want_msg in msg,
          "%s %s: %s %s %r" % (svc, op, code, status, msg))

# An action of a served service that the sandbox does not implement.
code, status, msg = message_of(ec2.run_instances, ImageId="ami-12345678", MinCount=1, MaxCount=1)
check(code == "InvalidAction" and status == 400 and "ec2:RunInstances" in msg, "ec2 run_instances: %s %s %s" % (code, status, msg))
