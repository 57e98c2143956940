"""Shared helpers of the conformance scripts (boto3 against gameday sandbox).

The Go test (sandbox/conformance_test.go) runs each script with
/usr/bin/python3 and this environment:
  GAMEDAY_ENDPOINT  the sandbox's AWS endpoint (http://127.0.0.1:PORT)
  GAMEDAY_SUMMARY   a JSON file: the sandbox's Summary (ids, names)
  AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
A script prints one "ok ..." line per check and exits 1 on the first
failure, naming it.
"""
import json
import os
import sys
import urllib.request

import boto3
import botocore
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT = os.environ["GAMEDAY_ENDPOINT"]
with open(os.environ["GAMEDAY_SUMMARY"]) as f:
    SUMMARY = json.load(f)


def client(service, **retries):
    """A boto3 client for the sandbox. retries: botocore's retry config
    (Debian's boto3 1.26 defaults to the legacy mode)."""
    cfg = Config(retries=retries) if retries else None
    return boto3.client(service, endpoint_url=ENDPOINT, config=cfg)


def check(cond, what):
    if not cond:
        print("FAIL " + what, file=sys.stderr)
        sys.exit(1)
    print("ok " + what)


def error_of(call, *args, **kwargs):
    """Runs call and returns (code, HTTP status, retry attempts) of the
    ClientError it raises; fails if it succeeds."""
    try:
        call(*args, **kwargs)
    except ClientError as e:
        meta = e.response.get("ResponseMetadata", {})
        return e.response["Error"]["Code"], meta.get("HTTPStatusCode"), meta.get("RetryAttempts", 0)
    check(False, "%s should have failed" % call.__name__)


def api_faults(method, body=None):
    """Arms (POST) or clears (DELETE) the sandbox's API faults."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(ENDPOINT + "/_sandbox/api-faults", data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.load(resp)


def collect(paginator, key, **kwargs):
    """Every item of key across the pages, and the number of pages."""
    items, pages = [], 0
    for page in paginator.paginate(**kwargs):
        pages += 1
        items.extend(page.get(key, []))
    return items, pages


print("boto3 %s, botocore %s" % (boto3.__version__, botocore.__version__))
