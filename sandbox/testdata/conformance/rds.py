"""RDS through boto3: events page with Marker, oldest first, none lost."""
import datetime

from common import SUMMARY, check, client, collect, error_of

rds = client("rds")
start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=30)

everything = rds.describe_events(StartTime=start)["Events"]
check(len(everything) > 20, "more than 20 events to page (%d)" % len(everything))
dates = [e["Date"] for e in everything]
check(dates == sorted(dates), "events come oldest first")
paged, pages = collect(rds.get_paginator("describe_events"), "Events", StartTime=start, PaginationConfig={"PageSize": 20})
check([(e["Date"], e["Message"]) for e in paged] == [(e["Date"], e["Message"]) for e in everything] and pages > 1,
      "describe_events paginator by 20: %d events in %d pages, the newest included" % (len(paged), pages))
code, _, _ = error_of(rds.describe_events, MaxRecords=19)
check(code == "InvalidParameterValue", "MaxRecords below 20 is refused (got %s)" % code)
code, _, _ = error_of(rds.describe_events, Marker="junk")
check(code == "InvalidParameterValue", "a junk Marker is refused (got %s)" % code)
dbs, _ = collect(rds.get_paginator("describe_db_instances"), "DBInstances", PaginationConfig={"PageSize": 20})
check(any(d["DBInstanceIdentifier"] == SUMMARY["db_identifier"] for d in dbs), "describe_db_instances paginator")
