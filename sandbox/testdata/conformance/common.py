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
import xml.etree.ElementTree as ET

import boto3
import botocore
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT = os.environ["GAMEDAY_ENDPOINT"]
with open(os.environ["GAMEDAY_SUMMARY"]) as f:
    SUMMARY = json.load(f)


def _local(tag):
    return tag.split("}", 1)[-1]


# Members the current EC2 model has (aws-sdk-go-v2's, which the sandbox
# follows) but Debian's botocore 1.29 predates: shape -> element names.
NEWER_THAN_BOTOCORE = {
    "Placement": {"availabilityZoneId"},
    "SecurityGroup": {"securityGroupArn"},
    "NetworkInterface": {"availabilityZoneId"},
    "MetricAlarm": {"StateTransitionedTimestamp"},  # CloudWatch, 2023
    # Auto Scaling (aws-sdk-go-v2/service/autoscaling v1.79.4's model).
    "InstanceRefresh": {"Strategy", "RollbackDetails"},
    "RefreshPreferences": {"MaxHealthyPercentage", "AutoRollback", "BakeTime"},
}


def _shape_errors(elem, shape, path, errs):
    """Every element under elem must be a member of shape, as botocore's
    service model serializes it; botocore itself drops unknown elements
    silently, so a misspelt element would vanish without this."""
    t = shape.type_name
    if t == "structure":
        names = {m.serialization.get("name", n): m for n, m in shape.members.items()}
        for child in elem:
            tag = _local(child.tag)
            m = names.get(tag)
            if m is None and tag in NEWER_THAN_BOTOCORE.get(shape.name, ()):
                continue
            if m is None:
                errs.append("%s/%s is not in %s" % (path, tag, shape.name))
                continue
            _shape_errors(child, m, path + "/" + tag, errs)
    elif t == "list":
        want = shape.member.serialization.get("name", "member")
        for child in elem:
            tag = _local(child.tag)
            if tag != want:
                errs.append("%s/%s: list items of %s are <%s>" % (path, tag, shape.name, want))
                continue
            _shape_errors(child, shape.member, path + "/" + tag, errs)
    elif len(elem):
        errs.append("%s: %s is a %s but has child elements" % (path, shape.name, t))


def _json_shape_errors(value, shape, path, errs):
    """The awsJson counterpart of _shape_errors: every key of a JSON
    answer must be a member of the shape, recursively; scalars must have
    the shape's type (timestamps are epoch seconds)."""
    t = shape.type_name
    if t == "structure":
        if not isinstance(value, dict):
            errs.append("%s: %s wants an object, got %r" % (path, shape.name, value))
            return
        for k, v in value.items():
            m = shape.members.get(k)
            if m is None:
                if k not in NEWER_THAN_BOTOCORE.get(shape.name, ()):
                    errs.append("%s/%s is not in %s" % (path, k, shape.name))
                continue
            _json_shape_errors(v, m, path + "/" + k, errs)
    elif t == "list":
        if not isinstance(value, list):
            errs.append("%s: %s wants a list" % (path, shape.name))
            return
        for i, v in enumerate(value):
            _json_shape_errors(v, shape.member, "%s[%d]" % (path, i), errs)
    elif t == "map":
        if not isinstance(value, dict):
            errs.append("%s: %s wants a map" % (path, shape.name))
    elif t == "string":
        if not isinstance(value, str):
            errs.append("%s: %s wants a string, got %r" % (path, shape.name, value))
        elif shape.enum and value not in shape.enum:
            errs.append("%s: %r is not in the enum %s" % (path, value, shape.name))
    elif t in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            errs.append("%s: %s wants an integer, got %r" % (path, shape.name, value))
    elif t == "boolean":
        if not isinstance(value, bool):
            errs.append("%s: %s wants a boolean, got %r" % (path, shape.name, value))
    elif t == "timestamp":
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            errs.append("%s: %s wants epoch seconds, got %r" % (path, shape.name, value))


def _check_shape(model, response_dict=None, exception=None, **kwargs):
    if not response_dict or response_dict.get("status_code") != 200 or exception is not None:
        return
    op = model.operation_model(response_dict["context"]["operation_name"])
    body = response_dict.get("body") or b""
    if not body.strip() or op.output_shape is None:
        return
    if model.protocol == "json":
        errs = []
        _json_shape_errors(json.loads(body), op.output_shape, op.name, errs)
        if errs:
            print("FAIL response shape of %s (botocore %s model):\n  %s" % (op.name, botocore.__version__, "\n  ".join(errs)), file=sys.stderr)
            sys.stdout.flush()
            os._exit(1)
        SHAPES_CHECKED.add(op.name)
        return
    root = ET.fromstring(body)
    wrapper = op.output_shape.serialization.get("resultWrapper")
    errs = []
    for child in root:
        tag = _local(child.tag)
        if tag in ("ResponseMetadata", "requestId"):
            continue
        if wrapper:
            if tag != wrapper:
                errs.append("%s: unexpected <%s> beside <%s>" % (op.name, tag, wrapper))
                continue
            _shape_errors(child, op.output_shape, op.name, errs)
        else:
            _shape_errors(_wrap(child), op.output_shape, op.name, errs)
    if errs:
        print("FAIL response shape of %s (botocore %s model):\n  %s" % (op.name, botocore.__version__, "\n  ".join(errs)), file=sys.stderr)
        sys.stdout.flush()
        os._exit(1)
    SHAPES_CHECKED.add(op.name)


def _wrap(child):
    w = ET.Element("x")
    w.append(child)
    return w


SHAPES_CHECKED = set()


def client(service, **retries):
    """A boto3 client for the sandbox. retries: botocore's retry config
    (Debian's boto3 1.26 defaults to the legacy mode). Every successful
    response is checked against botocore's model of its output shape."""
    cfg = Config(retries=retries) if retries else None
    c = boto3.client(service, endpoint_url=ENDPOINT, config=cfg)
    model = c.meta.service_model
    c.meta.events.register("response-received", lambda **kw: _check_shape(model, **kw))
    return c


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


def wait_for(what, cond, timeout=20.0, every=0.1):
    """Polls cond until it is true; fails naming what after timeout s."""
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            print("ok " + what)
            return
        time.sleep(every)
    check(False, what + " (timed out after %.0fs)" % timeout)


def _report_shapes():
    if SHAPES_CHECKED:
        print("ok %d operations' responses matched botocore %s's output shapes: %s"
              % (len(SHAPES_CHECKED), botocore.__version__, ", ".join(sorted(SHAPES_CHECKED))))


import atexit  # noqa: E402
atexit.register(_report_shapes)
