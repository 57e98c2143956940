"""STS through boto3: assume_role, then call as the role."""
import boto3

from common import ENDPOINT, check, client, error_of

sts = client("sts")
r = sts.assume_role(RoleArn="arn:aws:iam::000000000000:role/gameday-runner", RoleSessionName="rehearsal")
cr = r["Credentials"]
check(cr["AccessKeyId"].startswith("ASIA") and cr["SessionToken"], "assume_role returns temporary credentials")
role = boto3.client("sts", endpoint_url=ENDPOINT, aws_access_key_id=cr["AccessKeyId"],
                    aws_secret_access_key=cr["SecretAccessKey"], aws_session_token=cr["SessionToken"])
who = role.get_caller_identity()
check(who["Arn"] == r["AssumedRoleUser"]["Arn"] == "arn:aws:sts::000000000000:assumed-role/gameday-runner/rehearsal",
      "get_caller_identity as the role: %s" % who["Arn"])
code, status, _ = error_of(sts.assume_role, RoleArn="arn:aws:iam::123456789012:role/x", RoleSessionName="s1")
check(code == "AccessDenied" and status == 403, "another account's role: %s %s" % (status, code))
