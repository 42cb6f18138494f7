"""Checks every launcher patch (tests/README.md, "Launcher patches") and the control endpoint
with boto3 against a fresh `moto_server.py` on 127.0.0.1.

Usage (from the repo root): .venv/bin/python tests/emulator/check_patches.py
Starts and stops its own server; every wait is bounded; exits 1 if any check fails.
"""

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

HERE = os.path.dirname(os.path.abspath(__file__))
START_TIMEOUT = 60  # seconds for the server to print READY
TOTAL_TIMEOUT = 300  # seconds for the whole run
REGION = "us-east-1"
HUB = "123456789012"
SPOKE = "222222222222"
DENIED = "444444444444"  # on the deny list from the environment at start
CONFIG = Config(
    region_name=REGION,
    connect_timeout=5,
    read_timeout=30,
    retries={"max_attempts": 1, "mode": "standard"},  # no retry: a 429 must be seen as is
)


class Server:
    def __init__(self):
        self.log = tempfile.TemporaryFile()
        env = dict(os.environ)
        env["FRONTDOOR_EMULATOR_RESOURCE_QUOTA"] = "40"
        env["FRONTDOOR_EMULATOR_DENY_ASSUME_ROLE"] = f" {DENIED} ,"
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "moto_server.py"), "0"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=env,
        )
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + START_TIMEOUT
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                self.stop()
                raise SystemExit(f"no READY within {START_TIMEOUT}s\n{self.stderr()}")
            chunk = os.read(self.proc.stdout.fileno(), 1)
            if not chunk:
                self.stop()
                raise SystemExit(f"server exited before READY\n{self.stderr()}")
            line += chunk
        if not line.startswith(b"READY "):
            self.stop()
            raise SystemExit(f"unexpected first line {line!r}")
        self.url = f"http://127.0.0.1:{int(line.split()[1])}"

    def stderr(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()  # the launcher exits when stdin closes
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


class Check:
    def __init__(self, url):
        self.url = url
        self.hub = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
        self.failures = []

    def client(self, service, session=None):
        return (session or self.hub).client(service, endpoint_url=self.url, config=CONFIG)

    def assume(self, account, session=None):
        creds = self.client("sts", session).assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/x", RoleSessionName="check"
        )["Credentials"]
        return boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=REGION,
        )

    def settings(self, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + "/_frontdoor/settings", data=data)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())


def eq(actual, expected, what):
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


def expect_error(call, status, code, message=None):
    try:
        call()
    except ClientError as e:
        eq(e.response["ResponseMetadata"]["HTTPStatusCode"], status, "HTTP status")
        eq(e.response["Error"]["Code"], code, "error code")
        if message is not None:
            eq(e.response["Error"]["Message"], message, "error message")
        return e
    raise AssertionError(f"expected {status} {code}, the call succeeded")


def new_api(gw, name="check", **kwargs):
    api = gw.create_rest_api(name=name, **kwargs)
    return api["id"], api["rootResourceId"]


def method(gw, api, res, verb, integrate=True, **kwargs):
    gw.put_method(restApiId=api, resourceId=res, httpMethod=verb, authorizationType="NONE", **kwargs)
    if integrate:
        gw.put_integration(restApiId=api, resourceId=res, httpMethod=verb, type="MOCK")


# ---- the checks, in README order -------------------------------------------------------------


def check_control_endpoint(c):
    eq(
        c.settings(),
        (200, {"resource_quota": 40, "deny_assume_role": [DENIED], "vpc_link_v2_status": {}, "routing_rule_quota": 50}),
        "from env",
    )
    eq(
        c.settings({"resource_quota": 20}),
        (200, {"resource_quota": 20, "deny_assume_role": [DENIED], "vpc_link_v2_status": {}, "routing_rule_quota": 50}),
        "quota changed, list kept",
    )
    status, body = c.settings({"resource_quota": 0, "deny_assume_role": []})
    eq(status, 400, "bad quota refused")
    status, body = c.settings({"nonsense": 1})
    eq((status, body), (400, {"error": "unknown setting: nonsense"}), "unknown key refused")
    status, _ = c.settings({"deny_assume_role": ["12"]})
    eq(status, 400, "bad account refused")
    eq(
        c.settings()[1],
        {"resource_quota": 20, "deny_assume_role": [DENIED], "vpc_link_v2_status": {}, "routing_rule_quota": 50},
        "nothing changed",
    )
    eq(c.settings({"resource_quota": 300})[0], 200, "restored")
    # AWS routes still answer around it.
    c.client("apigateway").get_rest_apis()
    c.client("s3").list_buckets()


def check_patch_1_2_endpoint_enis(c):
    ec2 = c.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    a = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    b = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.2.0/24")["Subnet"]["SubnetId"]
    vpce = ec2.create_vpc_endpoint(
        VpcId=vpc,
        ServiceName=f"com.amazonaws.{REGION}.execute-api",
        VpcEndpointType="Interface",
        SubnetIds=[a],
    )["VpcEndpoint"]["VpcEndpointId"]

    def ips():
        enis = ec2.describe_vpc_endpoints(VpcEndpointIds=[vpce])["VpcEndpoints"][0][
            "NetworkInterfaceIds"
        ]
        out = ec2.describe_network_interfaces(NetworkInterfaceIds=enis)["NetworkInterfaces"]
        return sorted((e["SubnetId"], e["PrivateIpAddress"]) for e in out)

    eq(ips(), [(a, "10.9.1.4")], "patch 1: ENI IP from its subnet, from .4")
    ec2.modify_vpc_endpoint(VpcEndpointId=vpce, AddSubnetIds=[b])
    eq(ips(), sorted([(a, "10.9.1.4"), (b, "10.9.2.4")]), "patch 2: added subnet gets an ENI")
    ec2.modify_vpc_endpoint(VpcEndpointId=vpce, RemoveSubnetIds=[a])
    eq(ips(), [(b, "10.9.2.4")], "patch 2: removed subnet loses its ENI")


def check_patch_3_4_tags_connection(c):
    gw = c.client("apigateway")
    api, root = new_api(gw, tags={"a": "1"})
    arn = f"arn:aws:apigateway:{REGION}::/restapis/{api}"
    gw.tag_resource(resourceArn=arn, tags={"b": "2"})
    gw.untag_resource(resourceArn=arn, tagKeys=["a"])
    eq(gw.get_tags(resourceArn=arn)["tags"], {"b": "2"}, "patch 3: tags by REST API ARN")
    gw.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
    gw.put_integration(
        restApiId=api,
        resourceId=root,
        httpMethod="GET",
        type="HTTP_PROXY",
        integrationHttpMethod="GET",
        uri="http://example.internal/",
        connectionType="VPC_LINK",
        connectionId="vl-123",
    )
    got = gw.get_integration(restApiId=api, resourceId=root, httpMethod="GET")
    eq(got.get("connectionId"), "vl-123", "patch 4: GetIntegration connectionId")
    items = gw.get_resources(restApiId=api, embed=["methods"])["items"]
    integ = items[0]["resourceMethods"]["GET"]["methodIntegration"]
    eq(integ.get("connectionId"), "vl-123", "patch 4: GetResources connectionId")


def check_patch_5_duplicate_path_part(c):
    gw = c.client("apigateway")
    api, root = new_api(gw)
    first = gw.create_resource(restApiId=api, parentId=root, pathPart="pets")["id"]
    method(gw, api, first, "GET")
    expect_error(
        lambda: gw.create_resource(restApiId=api, parentId=root, pathPart="pets"),
        409,
        "ConflictException",
        "Another resource with the same parent already has this name: pets",
    )
    got = gw.get_resource(restApiId=api, resourceId=first)
    eq(list(got.get("resourceMethods", {})), ["GET"], "existing resource kept its method")


def check_patch_6_method_exists(c):
    gw = c.client("apigateway")
    api, root = new_api(gw)
    method(gw, api, root, "GET")
    expect_error(
        lambda: gw.put_method(
            restApiId=api, resourceId=root, httpMethod="GET", authorizationType="AWS_IAM"
        ),
        409,
        "ConflictException",
        "Method already exists for this resource",
    )
    got = gw.get_method(restApiId=api, resourceId=root, httpMethod="GET")
    eq(got["authorizationType"], "NONE", "method unchanged")
    eq(got["methodIntegration"]["type"], "MOCK", "integration kept")
    method(gw, api, root, "POST")  # another verb is fine


def check_patch_7_one_variable_sibling(c):
    gw = c.client("apigateway")
    api, root = new_api(gw)
    pets = gw.create_resource(restApiId=api, parentId=root, pathPart="pets")["id"]
    gw.create_resource(restApiId=api, parentId=pets, pathPart="{id}")
    gw.create_resource(restApiId=api, parentId=pets, pathPart="mine")  # static sibling: fine
    for other in ("{name}", "{proxy+}"):
        expect_error(
            lambda: gw.create_resource(restApiId=api, parentId=pets, pathPart=other),
            400,
            "BadRequestException",
            "A sibling ({id}) of this resource already has a variable path part -- only one is allowed",
        )
    expect_error(
        lambda: gw.create_resource(restApiId=api, parentId=pets, pathPart="{id}"),
        409,
        "ConflictException",
    )
    gw.create_resource(restApiId=api, parentId=root, pathPart="{proxy+}")  # other parent: fine
    paths = sorted(r["path"] for r in gw.get_resources(restApiId=api)["items"])
    eq(paths, ["/", "/pets", "/pets/mine", "/pets/{id}", "/{proxy+}"], "resources")


def check_patch_8_resource_quota(c):
    gw = c.client("apigateway")
    eq(c.settings({"resource_quota": 3})[0], 200, "quota set")
    try:
        api, root = new_api(gw)
        gw.create_resource(restApiId=api, parentId=root, pathPart="a")
        gw.create_resource(restApiId=api, parentId=root, pathPart="b")  # 3 with the root
        e = expect_error(
            lambda: gw.create_resource(restApiId=api, parentId=root, pathPart="c"),
            429,
            "LimitExceededException",
            "Maximum number of Resources for this API has been reached.  "
            "Please contact AWS if you need additional Resources.",
        )
        eq(
            e.response["ResponseMetadata"]["HTTPHeaders"].get("x-amzn-errortype"),
            "LimitExceededException",
            "x-amzn-errortype header",
        )
        eq(len(gw.get_resources(restApiId=api)["items"]), 3, "nothing created")
        other, other_root = new_api(gw, name="other")  # per API: a new API has room
        gw.create_resource(restApiId=other, parentId=other_root, pathPart="a")
        eq(c.settings({"resource_quota": 4})[0], 200, "quota raised")
        gw.create_resource(restApiId=api, parentId=root, pathPart="c")
    finally:
        c.settings({"resource_quota": 300})


def check_patch_9_deployment_snapshot(c):
    gw = c.client("apigateway")
    raw = {}
    gw.meta.events.register(
        "after-call.apigateway.GetDeployment",
        lambda http_response, **_: raw.__setitem__("body", http_response.content),
    )
    api, root = new_api(gw)
    pets = gw.create_resource(restApiId=api, parentId=root, pathPart="pets")["id"]
    pet = gw.create_resource(restApiId=api, parentId=pets, pathPart="{id}")["id"]
    gw.create_resource(restApiId=api, parentId=root, pathPart="empty")  # no methods
    method(gw, api, root, "GET")
    method(gw, api, pets, "GET")
    method(gw, api, pet, "DELETE", apiKeyRequired=True)
    first = gw.create_deployment(restApiId=api, stageName="prd")["id"]
    snapshot = {
        "/": {"GET": {"authorizationType": "NONE", "apiKeyRequired": False}},
        "/pets": {"GET": {"authorizationType": "NONE", "apiKeyRequired": False}},
        "/pets/{id}": {"DELETE": {"authorizationType": "NONE", "apiKeyRequired": True}},
    }
    plain = gw.get_deployment(restApiId=api, deploymentId=first)
    eq("apiSummary" in plain, False, "no apiSummary without embed")
    got = gw.get_deployment(restApiId=api, deploymentId=first, embed=["apisummary"])
    eq(got.get("apiSummary"), snapshot, "apiSummary")
    eq(json.loads(raw["body"])["apiSummary"], snapshot, "apiSummary wire JSON")
    # Change the API: the first snapshot stays as it was.
    gw.delete_method(restApiId=api, resourceId=pets, httpMethod="GET")
    method(gw, api, pets, "POST")
    gw.delete_resource(restApiId=api, resourceId=pet)
    second = gw.create_deployment(restApiId=api, stageName="prd")["id"]
    got = gw.get_deployment(restApiId=api, deploymentId=first, embed=["apisummary"])
    eq(got.get("apiSummary"), snapshot, "first snapshot unchanged")
    got = gw.get_deployment(restApiId=api, deploymentId=second, embed=["apisummary"])
    eq(
        got.get("apiSummary"),
        {
            "/": {"GET": {"authorizationType": "NONE", "apiKeyRequired": False}},
            "/pets": {"POST": {"authorizationType": "NONE", "apiKeyRequired": False}},
        },
        "second snapshot",
    )


def check_patch_10_integration_required(c):
    gw = c.client("apigateway")
    api, root = new_api(gw)
    method(gw, api, root, "GET")
    pets = gw.create_resource(restApiId=api, parentId=root, pathPart="pets")["id"]
    method(gw, api, pets, "POST", integrate=False)
    expect_error(
        lambda: gw.create_deployment(restApiId=api, stageName="prd"),
        400,
        "BadRequestException",
        "No integration defined for method",
    )
    eq(gw.get_deployments(restApiId=api)["items"], [], "no deployment created")
    eq(gw.get_stages(restApiId=api)["item"], [], "no stage created")
    gw.put_integration(restApiId=api, resourceId=pets, httpMethod="POST", type="MOCK")
    gw.create_deployment(restApiId=api, stageName="prd")


def check_patch_11_standard_tier_size(c):
    ssm = c.client("ssm")
    message = (
        "Standard tier parameters support a maximum parameter value of 4096 characters. "
        "To create a larger parameter value, upgrade the parameter to use the advanced-parameter "
        "tier. For more information, see "
        "https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html"
    )
    big = "x" * 4097
    for extra in ({}, {"Tier": "Standard"}):
        expect_error(
            lambda: ssm.put_parameter(Name="/check/big", Value=big, Type="String", **extra),
            400,
            "ValidationException",
            message,
        )
    expect_error(lambda: ssm.get_parameter(Name="/check/big"), 400, "ParameterNotFound")
    ssm.put_parameter(Name="/check/edge", Value="x" * 4096, Type="String")  # exactly 4096: fine
    expect_error(
        lambda: ssm.put_parameter(Name="/check/edge", Value=big, Overwrite=True),
        400,
        "ValidationException",
        message,
    )
    ssm.put_parameter(Name="/check/adv", Value="y" * 5000, Type="String", Tier="Advanced")
    ssm.put_parameter(Name="/check/adv", Value="z" * 5000, Overwrite=True)  # keeps Advanced
    eq(len(ssm.get_parameter(Name="/check/adv")["Parameter"]["Value"]), 5000, "advanced value")


def check_patch_12_assume_role_denied(c):
    raw = {}

    def denied(session, account, caller):
        sts = c.client("sts", session)
        sts.meta.events.register(
            "after-call.sts.AssumeRole",
            lambda http_response, **_: raw.__setitem__("body", http_response.content),
        )
        role = f"arn:aws:iam::{account}:role/x"
        e = expect_error(
            lambda: sts.assume_role(RoleArn=role, RoleSessionName="check"),
            403,
            "AccessDenied",
            f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role}",
        )
        eq(e.response["Error"].get("Type"), "Sender", "error Type")
        body = raw["body"].decode()
        for part in (
            '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">',
            "<Type>Sender</Type><Code>AccessDenied</Code>",
            "<RequestId>",
        ):
            if part not in body:
                raise AssertionError(f"{part!r} not in {body!r}")

    hub_arn = c.client("sts").get_caller_identity()["Arn"]
    denied(None, DENIED, hub_arn)  # denied from the environment at start
    spoke = c.assume(SPOKE)
    spoke_arn = c.client("sts", spoke).get_caller_identity()["Arn"]
    eq(spoke_arn.startswith(f"arn:aws:sts::{SPOKE}:assumed-role/x/"), True, "spoke session ARN")
    denied(spoke, DENIED, spoke_arn)  # the caller's ARN is the session's
    eq(c.settings({"deny_assume_role": [SPOKE]})[0], 200, "deny list replaced")
    try:
        denied(None, SPOKE, hub_arn)
        c.assume(DENIED)  # no longer denied
        eq(c.settings({"deny_assume_role": []})[1]["deny_assume_role"], [], "cleared")
        c.assume(SPOKE)
    finally:
        c.settings({"deny_assume_role": [DENIED]})


def check_patch_13_endpoint_fields(c):
    gw = c.client("apigateway")
    api, _ = new_api(
        gw,
        name="private",
        endpointConfiguration={"types": ["PRIVATE"], "vpcEndpointIds": ["vpce-1", "vpce-2"]},
        disableExecuteApiEndpoint=True,
    )
    for got in (
        gw.get_rest_api(restApiId=api),
        next(a for a in gw.get_rest_apis()["items"] if a["id"] == api),
    ):
        eq(got["endpointConfiguration"]["vpcEndpointIds"], ["vpce-1", "vpce-2"], "vpcEndpointIds")
        eq(got["endpointConfiguration"]["types"], ["PRIVATE"], "types")
        eq(got["disableExecuteApiEndpoint"], True, "disableExecuteApiEndpoint")
    gw.update_rest_api(
        restApiId=api,
        patchOperations=[
            {"op": "add", "path": "/endpointConfiguration/vpcEndpointIds", "value": "vpce-3"},
            {"op": "remove", "path": "/endpointConfiguration/vpcEndpointIds", "value": "vpce-1"},
            {"op": "replace", "path": "/disableExecuteApiEndpoint", "value": "false"},
        ],
    )
    got = gw.get_rest_api(restApiId=api)
    eq(got["endpointConfiguration"]["vpcEndpointIds"], ["vpce-2", "vpce-3"], "after update")
    eq(got["endpointConfiguration"]["types"], ["PRIVATE"], "types after update")
    eq(got["disableExecuteApiEndpoint"], False, "disableExecuteApiEndpoint after update")
    gw.update_rest_api(
        restApiId=api,
        patchOperations=[{"op": "replace", "path": "/disableExecuteApiEndpoint", "value": "true"}],
    )
    eq(gw.get_rest_api(restApiId=api)["disableExecuteApiEndpoint"], True, "back to true")


def check_patch_14_update_method(c):
    gw = c.client("apigateway")
    api, root = new_api(gw, name="governed")
    authorizer = gw.create_authorizer(
        restApiId=api, name="tokens", type="TOKEN", authorizerUri="arn:aws:lambda:x", identitySource="method.request.header.Authorization"
    )["id"]
    bad = "Invalid authorizer ID specified. Setting the authorization type to CUSTOM or COGNITO_USER_POOLS requires a valid authorizer."
    expect_error(
        lambda: gw.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="CUSTOM"),
        400, "BadRequestException", bad,
    )
    expect_error(
        lambda: gw.put_method(
            restApiId=api, resourceId=root, httpMethod="GET", authorizationType="CUSTOM", authorizerId="nope1"
        ),
        400, "BadRequestException", bad,
    )
    method(gw, api, root, "GET")
    got = gw.update_method(
        restApiId=api, resourceId=root, httpMethod="GET",
        patchOperations=[
            {"op": "replace", "path": "/authorizationType", "value": "CUSTOM"},
            {"op": "replace", "path": "/authorizerId", "value": authorizer},
            {"op": "replace", "path": "/apiKeyRequired", "value": "true"},
        ],
    )
    eq((got["authorizationType"], got["authorizerId"], got["apiKeyRequired"]), ("CUSTOM", authorizer, True), "updated")
    embedded = gw.get_resources(restApiId=api, embed=["methods"])["items"][0]["resourceMethods"]["GET"]
    eq(embedded["authorizationType"], "CUSTOM", "GetResources shows it")
    gw.update_method(
        restApiId=api, resourceId=root, httpMethod="GET",
        patchOperations=[{"op": "add", "path": "/authorizationScopes", "value": "pets/read"}],
    )
    eq(gw.get_method(restApiId=api, resourceId=root, httpMethod="GET")["authorizationScopes"], ["pets/read"], "scope added")
    gw.update_method(
        restApiId=api, resourceId=root, httpMethod="GET",
        patchOperations=[{"op": "remove", "path": "/authorizationScopes", "value": "pets/read"}],
    )
    eq("authorizationScopes" in gw.get_method(restApiId=api, resourceId=root, httpMethod="GET"), False, "scope removed")
    expect_error(
        lambda: gw.update_method(
            restApiId=api, resourceId=root, httpMethod="GET",
            patchOperations=[{"op": "replace", "path": "/authorizerId", "value": "nope1"}],
        ),
        400, "BadRequestException", bad,
    )


def check_patch_15_integration_target(c):
    gw = c.client("apigateway")
    api, root = new_api(gw, name="v2")
    target = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/fd/0123456789abcdef"
    gw.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
    put = gw.put_integration(
        restApiId=api, resourceId=root, httpMethod="GET", type="HTTP_PROXY", integrationHttpMethod="GET",
        uri="https://example.com/", connectionType="VPC_LINK", connectionId="v2link1", integrationTarget=target,
    )
    eq(put.get("integrationTarget"), target, "PutIntegration answer")
    got = gw.get_integration(restApiId=api, resourceId=root, httpMethod="GET")
    eq((got.get("integrationTarget"), got.get("connectionId")), (target, "v2link1"), "GetIntegration")
    embedded = gw.get_resources(restApiId=api, embed=["methods"])["items"][0]["resourceMethods"]["GET"]
    eq(embedded["methodIntegration"].get("integrationTarget"), target, "GetResources")


def check_patch_16_remove_method_setting(c):
    gw = c.client("apigateway")
    api, root = new_api(gw, name="stage")
    method(gw, api, root, "GET")
    gw.create_deployment(restApiId=api, stageName="prd")
    gw.update_stage(
        restApiId=api, stageName="prd",
        patchOperations=[
            {"op": "replace", "path": "/~1cats/GET/throttling/rateLimit", "value": "100"},
            {"op": "replace", "path": "/~1cats/GET/throttling/burstLimit", "value": "50"},
        ],
    )
    got = gw.get_stage(restApiId=api, stageName="prd")["methodSettings"]["~1cats/GET"]
    eq((got["throttlingRateLimit"], got["throttlingBurstLimit"]), (100.0, 50), "set")
    gw.update_stage(restApiId=api, stageName="prd", patchOperations=[{"op": "remove", "path": "/~1cats/GET"}])
    eq(gw.get_stage(restApiId=api, stageName="prd").get("methodSettings", {}), {}, "removed")
    expect_error(
        lambda: gw.update_stage(restApiId=api, stageName="prd", patchOperations=[{"op": "remove", "path": "/~1cats/GET"}]),
        400, "BadRequestException",
        "Cannot remove method setting ~1cats/GET because there is no method setting for this method",
    )


def check_patch_17_deployment_keeps_stage(c):
    gw = c.client("apigateway")
    api, root = new_api(gw, name="redeploy")
    method(gw, api, root, "GET")
    first = gw.create_deployment(restApiId=api, stageName="prd")["id"]
    gw.update_stage(
        restApiId=api, stageName="prd",
        patchOperations=[{"op": "replace", "path": "/~1cats/GET/throttling/rateLimit", "value": "7"}],
    )
    second = gw.create_deployment(restApiId=api, stageName="prd")["id"]
    stage = gw.get_stage(restApiId=api, stageName="prd")
    eq(stage["deploymentId"] != first and stage["deploymentId"] == second, True, "moved to the new deployment")
    eq(stage["methodSettings"]["~1cats/GET"]["throttlingRateLimit"], 7.0, "settings kept")


def check_patch_18_export_oas30_of_the_stage(c):
    gw = c.client("apigateway")
    api, root = new_api(gw, name="exported")
    pets = gw.create_resource(restApiId=api, parentId=root, pathPart="pets")["id"]
    method(gw, api, pets, "GET", apiKeyRequired=True)
    gw.create_deployment(restApiId=api, stageName="prd")
    # After the deployment: in the working tree only, so not exported.
    method(gw, api, pets, "POST")
    got = gw.get_export(restApiId=api, stageName="prd", exportType="oas30")
    doc = json.loads(got["body"].read())
    eq(doc["openapi"], "3.0.1", "OpenAPI 3.0.1")
    eq(doc["servers"][0]["variables"]["basePath"]["default"], "prd", "server base path")
    eq(sorted(doc["paths"]), ["/pets"], "the stage's paths")
    eq(sorted(doc["paths"]["/pets"]), ["get"], "the deployed verbs only")
    eq(doc["paths"]["/pets"]["get"]["security"], [{"api_key": []}], "the key")
    eq(doc["components"]["securitySchemes"]["api_key"]["name"], "x-api-key", "the key's header")
    expect_error(
        lambda: gw.get_export(restApiId=api, stageName="nope", exportType="oas30"),
        404,
        "NotFoundException",
    )


def check_patch_19_vpc_link_v2_status(c):
    v2 = c.client("apigatewayv2")
    ec2 = c.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    link = v2.create_vpc_link(Name="v2", SubnetIds=[subnet])["VpcLinkId"]
    eq(v2.get_vpc_link(VpcLinkId=link)["VpcLinkStatus"], "AVAILABLE", "available at first")
    c.settings({"vpc_link_v2_status": {link: ["INACTIVE", "idle for 60 days"]}})
    got = v2.get_vpc_link(VpcLinkId=link)
    eq((got["VpcLinkStatus"], got.get("VpcLinkStatusMessage")), ("INACTIVE", "idle for 60 days"), "forced")
    c.settings({"vpc_link_v2_status": {}, "routing_rule_quota": 50})


def check_patch_20_21_routing_rules(c):
    gw = c.client("apigateway")
    v2 = c.client("apigatewayv2")
    api, root = new_api(gw, name="cell")
    method(gw, api, root, "GET")
    gw.create_deployment(restApiId=api, stageName="prd")
    gw.create_domain_name(domainName="mapped.example.com", regionalCertificateArn="arn:aws:acm:x")
    eq(gw.get_domain_name(domainName="mapped.example.com")["routingMode"], "BASE_PATH_MAPPING_ONLY", "default mode")
    rule = {
        "Actions": [{"InvokeApi": {"ApiId": api, "Stage": "prd", "StripBasePath": False}}],
        "Conditions": [{"MatchBasePaths": {"AnyOf": ["orders"]}}],
        "Priority": 10,
    }
    expect_error(lambda: v2.create_routing_rule(DomainName="mapped.example.com", **rule), 400, "BadRequestException")
    expect_error(lambda: v2.create_routing_rule(DomainName="nope.example.com", **rule), 404, "NotFoundException")
    gw.create_domain_name(
        domainName="cells.example.com",
        regionalCertificateArn="arn:aws:acm:x",
        routingMode="ROUTING_RULE_THEN_BASE_PATH_MAPPING",
    )
    made = v2.create_routing_rule(DomainName="cells.example.com", **rule)
    eq(made["ResponseMetadata"]["HTTPStatusCode"], 201, "created")
    rid = made["RoutingRuleId"]
    eq(made["Actions"][0]["InvokeApi"]["ApiId"], api, "action kept")
    eq(made["RoutingRuleArn"].endswith(f"/domainnames/cells.example.com/routingrules/{rid}"), True, "ARN")
    expect_error(lambda: v2.create_routing_rule(DomainName="cells.example.com", **rule), 409, "ConflictException")
    bad = dict(rule, Priority=11, Conditions=[{"MatchBasePaths": {"AnyOf": ["/orders"]}}])
    expect_error(lambda: v2.create_routing_rule(DomainName="cells.example.com", **bad), 400, "BadRequestException")
    two = dict(rule, Priority=11, Conditions=[{"MatchBasePaths": {"AnyOf": ["a"]}}, {"MatchBasePaths": {"AnyOf": ["b"]}}])
    expect_error(lambda: v2.create_routing_rule(DomainName="cells.example.com", **two), 400, "BadRequestException")
    far = dict(rule, Priority=1_000_001)
    expect_error(lambda: v2.create_routing_rule(DomainName="cells.example.com", **far), 400, "BadRequestException")
    other = dict(rule, Actions=[{"InvokeApi": {"ApiId": "nope00", "Stage": "prd"}}], Priority=12)
    expect_error(lambda: v2.create_routing_rule(DomainName="cells.example.com", **other), 400, "BadRequestException")
    # Put replaces and keeps the id.
    moved = dict(rule, Priority=20, Conditions=[{"MatchBasePaths": {"AnyOf": ["shop"]}}])
    put = v2.put_routing_rule(DomainName="cells.example.com", RoutingRuleId=rid, **moved)
    eq((put["RoutingRuleId"], put["Priority"]), (rid, 20), "put keeps the id")
    eq(v2.get_routing_rule(DomainName="cells.example.com", RoutingRuleId=rid)["Conditions"][0]["MatchBasePaths"]["AnyOf"], ["shop"], "replaced")
    # Quota and paging.
    c.settings({"routing_rule_quota": 3})
    for p in (30, 40):
        v2.create_routing_rule(DomainName="cells.example.com", **dict(rule, Priority=p))
    expect_error(lambda: v2.create_routing_rule(DomainName="cells.example.com", **dict(rule, Priority=50)), 429, "LimitExceededException")
    c.settings({"routing_rule_quota": 50})
    page = v2.list_routing_rules(DomainName="cells.example.com", MaxResults=2)
    eq([r["Priority"] for r in page["RoutingRules"]], [20, 30], "first page by priority")
    rest = v2.list_routing_rules(DomainName="cells.example.com", MaxResults=2, NextToken=page["NextToken"])
    eq(([r["Priority"] for r in rest["RoutingRules"]], rest.get("NextToken")), ([40], None), "last page")
    got = v2.delete_routing_rule(DomainName="cells.example.com", RoutingRuleId=rid)
    eq(got["ResponseMetadata"]["HTTPStatusCode"], 204, "deleted")
    expect_error(lambda: v2.get_routing_rule(DomainName="cells.example.com", RoutingRuleId=rid), 404, "NotFoundException")


def check_spoke_account(c):
    """The API Gateway patches hold in an assumed account too."""
    gw = c.client("apigateway", c.assume(SPOKE))
    api, root = new_api(gw, name="spoke")
    method(gw, api, root, "GET")
    expect_error(
        lambda: gw.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE"),
        409,
        "ConflictException",
    )
    dep = gw.create_deployment(restApiId=api, stageName="prd")["id"]
    got = gw.get_deployment(restApiId=api, deploymentId=dep, embed=["apisummary"])
    eq(list(got["apiSummary"]), ["/"], "spoke snapshot")
    hub_ids = [a["id"] for a in c.client("apigateway").get_rest_apis()["items"]]
    eq(api in hub_ids, False, "spoke API not in the hub account")


CHECKS = [v for k, v in list(globals().items()) if k.startswith("check_")]


def main() -> int:
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("run too long")))
    signal.alarm(TOTAL_TIMEOUT)
    server = Server()
    failed = 0
    try:
        c = Check(server.url)
        for check in CHECKS:
            try:
                check(c)
                print(f"ok   {check.__name__}")
            except Exception as e:  # noqa: BLE001 - report every failure, then exit 1
                failed += 1
                print(f"FAIL {check.__name__}: {type(e).__name__}: {e}")
    finally:
        server.stop()
        signal.alarm(0)
    if failed:
        print(f"{failed} of {len(CHECKS)} checks failed; server log tail:\n{server.stderr()}")
        return 1
    print(f"all {len(CHECKS)} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
