"""The Python equivalent of a frontdoor function's cold start, for the benchmark: import
boto3, build the same clients from the standard chain, then poll the Lambda Runtime API for
the first event, as the Rust binaries do. Usage: cold_start.py target-sync|route-sync
"""

import json
import os
import sys
import urllib.request

import boto3

CLIENTS = {
    "target-sync": ["ec2", "elbv2", "ssm"],
    "route-sync": ["apigateway", "ssm", "sts"],
}

session = boto3.session.Session()
clients = [session.client(name) for name in CLIENTS[sys.argv[1]]]
config = {k: v for k, v in os.environ.items() if k.startswith("FRONTDOOR_")}

api = os.environ["AWS_LAMBDA_RUNTIME_API"]
with urllib.request.urlopen(f"http://{api}/2018-06-01/runtime/invocation/next", timeout=60) as r:
    request_id = r.headers["Lambda-Runtime-Aws-Request-Id"]
    r.read()
body = json.dumps({"outcome": "ignored", "clients": len(clients), "config": len(config)}).encode()
urllib.request.urlopen(
    urllib.request.Request(
        f"http://{api}/2018-06-01/runtime/invocation/{request_id}/response", data=body, method="POST"
    ),
    timeout=60,
).read()
