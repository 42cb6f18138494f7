"""frontdoor's emulator: moto's server on loopback, first taught the few AWS behaviours
that frontdoor depends on and moto lacks. Each patch is listed in tests/README.md.

Usage: python moto_server.py [PORT]   (0 or nothing: a free port)
Settings (patches 8 and 12): FRONTDOOR_EMULATOR_RESOURCE_QUOTA (default 300) and
FRONTDOOR_EMULATOR_DENY_ASSUME_ROLE (comma-separated accounts) at start; at runtime,
POST /_frontdoor/settings with a JSON object (see "Control endpoint" below).
Prints "READY <port>" once serving; exits when stdin closes (its parent went away) or on
SIGTERM, so no test run leaves a server behind.
"""

import ipaddress
import json
import os
import random
import re
import signal
import sys
import threading

# Fixed seed: moto draws ids and some addresses from `random`.
random.seed(20261124)

from moto.ec2.models.elastic_network_interfaces import NetworkInterfaceBackend  # noqa: E402
from moto.ec2.models.vpcs import VPCEndPoint  # noqa: E402
from moto.apigateway import urls as apigateway_urls  # noqa: E402
from moto.apigateway.exceptions import (  # noqa: E402
    ApiGatewayException,
    BadRequestException,
    ConflictException,
)
from moto.apigateway.models import APIGatewayBackend, Integration, RestAPI, Stage  # noqa: E402
from moto.apigateway.responses import APIGatewayResponse  # noqa: E402
from moto.moto_server.werkzeug_app import DomainDispatcherApplication  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402
from moto.ssm.exceptions import ValidationException as SsmValidationException  # noqa: E402
from moto.ssm.models import SimpleSystemManagerBackend  # noqa: E402
from moto.sts.responses import TokenResponse  # noqa: E402

# Patch 1: an interface endpoint's ENI gets its IP from its own subnet, as in AWS.
# moto draws a random 10.x.y.z that may lie outside the subnet (and the VPC). Hosts are
# handed out in order from .4 (AWS reserves the first four), so runs are repeatable.
_create_eni = NetworkInterfaceBackend.create_network_interface


def _in_subnet(self, subnet, private_ip_address, *args, **kwargs):
    subnet_obj = self.get_subnet(subnet) if isinstance(subnet, str) else subnet
    net = ipaddress.ip_network(subnet_obj.cidr_block)
    wanted = private_ip_address[0] if isinstance(private_ip_address, list) else private_ip_address
    if wanted and ipaddress.ip_address(wanted) not in net:
        used = {
            eni.private_ip_address
            for eni in self.enis.values()
            if eni.subnet is not None and eni.subnet.id == subnet_obj.id
        }
        hosts = (str(h) for h in net.hosts() if int(h) - int(net.network_address) >= 4)
        private_ip_address = next(h for h in hosts if h not in used)
    return _create_eni(self, subnet, private_ip_address, *args, **kwargs)


NetworkInterfaceBackend.create_network_interface = _in_subnet

# Patch 2: ModifyVpcEndpoint with AddSubnetIds / RemoveSubnetIds creates / deletes the
# interface endpoint's ENIs, as AWS does. moto only edits the subnet list.
_modify = VPCEndPoint.modify


def _modify_moves_enis(self, policy_doc, add_subnets, remove_subnets, *rest):
    _modify(self, policy_doc, add_subnets, remove_subnets, *rest)
    if (self.vpc_endpoint_type or "").lower() != "interface":
        return
    backend = self.ec2_backend
    for eni_id in list(self.network_interface_ids):
        eni = backend.enis.get(eni_id)
        if eni is not None and eni.subnet.id in (remove_subnets or []):
            backend.enis.pop(eni_id, None)
            self.network_interface_ids.remove(eni_id)
    have = {backend.enis[e].subnet.id for e in self.network_interface_ids if e in backend.enis}
    for subnet_id in add_subnets or []:
        if subnet_id not in have:
            eni = backend.create_network_interface(subnet_id, "0.0.0.0")
            self.network_interface_ids.append(eni.id)


VPCEndPoint.modify = _modify_moves_enis

# Patch 3: TagResource / UntagResource / GetTags on a REST API's ARN
# (arn:aws:apigateway:{region}::/restapis/{id}), as in AWS. moto routes tag calls to stages
# only, so a REST API ARN answers 404. Tags set at CreateRestApi were already readable.
_RESTAPI_TAGS = "{0}/tags/arn:(?P<partition>[^/]+):apigateway:(?P<region_name>[^/]+)::/restapis/(?P<function_id>[^/]+)$"
apigateway_urls.url_paths[_RESTAPI_TAGS] = APIGatewayResponse.dispatch


def _restapi_of(response):
    from urllib.parse import unquote

    arn = unquote(response.path.split("/tags/", 1)[1])
    parts = arn.split("/")
    if len(parts) == 3 and parts[1] == "restapis":
        return response.backend.get_rest_api(parts[2])
    return None


def _tags_patch(name, on_api):
    original = getattr(APIGatewayResponse, name)

    def patched(self):
        api = _restapi_of(self)
        return original(self) if api is None else on_api(self, api)

    setattr(APIGatewayResponse, name, patched)


def _get(self, api):
    return json.dumps({"tags": api.tags or {}})


def _tag(self, api):
    api.tags = {**(api.tags or {}), **(self._get_param("tags") or {})}
    return json.dumps({})


def _untag(self, api):
    for key in self.querystring.get("tagKeys") or []:
        (api.tags or {}).pop(key, None)
    return json.dumps({})


_tags_patch("get_tags", _get)
_tags_patch("tag_resource", _tag)
_tags_patch("untag_resource", _untag)

# Patch 4: PutIntegration keeps connectionId (the VPC link id) and GetIntegration /
# GetResources return it, as in AWS. moto drops it.
_put_integration = APIGatewayResponse.put_integration


def _put_integration_keeps_connection(self):
    result = _put_integration(self)
    parts = self.path.split("/")
    integration = self.backend.get_integration(parts[2], parts[4], parts[6])
    integration.connection_id = self._get_param("connectionId")
    if isinstance(result, str):
        return json.dumps(integration.to_json())
    return result[0], result[1], json.dumps(integration.to_json())


_integration_to_json = Integration.to_json


def _integration_json_with_connection(self):
    out = _integration_to_json(self)
    out["connectionId"] = getattr(self, "connection_id", None)
    return out


APIGatewayResponse.put_integration = _put_integration_keeps_connection
Integration.to_json = _integration_json_with_connection

# Patch 5: CreateResource refuses a second child with the same path part under one parent
# (ConflictException, as AWS). moto derives the new id from parent and path part, so a
# repeated create silently replaced the existing resource and lost its methods: exactly the
# case a retried or concurrent create must survive.
_create_resource = APIGatewayBackend.create_resource


def _create_resource_once(self, function_id, parent_resource_id, path_part):
    if path_part:
        api = self.get_rest_api(function_id)
        for resource in api.resources.values():
            if resource.parent_id == parent_resource_id and resource.path_part == path_part:
                raise ConflictException(
                    f"Another resource with the same parent already has this name: {path_part}"
                )
    return _create_resource(self, function_id, parent_resource_id, path_part)


APIGatewayBackend.create_resource = _create_resource_once

# Settings the tests change at runtime through the control endpoint (POST /_frontdoor/settings,
# after patch 13), initial values from FRONTDOOR_EMULATOR_* (read in main). One server per
# process, so module-level state is per server.
_SETTINGS_LOCK = threading.Lock()
SETTINGS = {
    # AWS's default quota "Resources per API": 300, the root `/` included (API Gateway
    # Developer Guide, "Quotas for configuring and running a REST API in API Gateway").
    "resource_quota": 300,
    # Accounts whose roles STS AssumeRole refuses (patch 12).
    "deny_assume_role": [],
    # VPC link V2 id -> [status, message]: the state AWS moves a link to (patch 19).
    "vpc_link_v2_status": {},
    # AWS's default "Routing rules per domain": 50, adjustable (patch 21).
    "routing_rule_quota": 50,
}

# Patch 6: PutMethod on a verb the resource already has answers 409 ConflictException
# "Method already exists for this resource", as AWS (seen verbatim in aws/aws-cli#3992 and
# serverless/serverless#7231: "Status Code: 409; Error Code: ConflictException"). moto
# silently replaced the method and dropped its integration. Only the API call is patched:
# moto's own callers (ImportRestApi/PutRestApi, CloudFormation) keep their behaviour.
_put_method = APIGatewayResponse.put_method


def _put_method_once(self):
    parts = self.path.split("/")
    resource = self.backend.get_resource(parts[2], parts[4])
    if parts[6] in resource.resource_methods:
        raise ConflictException("Method already exists for this resource")
    return _put_method(self)


APIGatewayResponse.put_method = _put_method_once

# Patch 7: CreateResource with a variable path part ({x} or {x+}) under a parent that already
# has a child with a different variable path part answers 400 BadRequestException
# "A sibling ({id}) of this resource already has a variable path part -- only one is allowed",
# the sibling's path part in the parentheses, as AWS (verbatim, with "Status Code: 400; Error
# Code: BadRequestException", in serverless-nextjs/serverless-next.js#206; the same text in
# amazon-archives/aws-apigateway-importer#202 and claudiajs/claudia-api-builder#62). The same
# path part twice stays patch 5's ConflictException.
_create_resource_checked = APIGatewayBackend.create_resource


def _is_variable(path_part):
    return bool(path_part) and path_part.startswith("{") and path_part.endswith("}")


def _create_resource_one_variable(self, function_id, parent_resource_id, path_part):
    if _is_variable(path_part):
        api = self.get_rest_api(function_id)
        for sibling in api.resources.values():
            if (
                sibling.parent_id == parent_resource_id
                and _is_variable(sibling.path_part)
                and sibling.path_part != path_part
            ):
                raise BadRequestException(
                    f"A sibling ({sibling.path_part}) of this resource already has a variable "
                    "path part -- only one is allowed"
                )
    return _create_resource_checked(self, function_id, parent_resource_id, path_part)


APIGatewayBackend.create_resource = _create_resource_one_variable


# Patch 8: CreateResource when the API already holds its quota of resources (root `/`
# included) answers HTTP 429 LimitExceededException "Maximum number of Resources for this API
# has been reached.  Please contact AWS if you need additional Resources." (two spaces, as
# AWS; verbatim with x-amzn-errortype=LimitExceededException and http.status_code=429 in
# hashicorp/terraform-provider-aws#37605, same text in boto/boto3#1296). Quota: 300 by default
# (AWS's "Resources per API"), settable at runtime. Checked where moto adds a child, i.e.
# after the path-part checks (patches 5 and 7); the order of AWS's own checks is unconfirmed.
# Note that SDKs class LimitExceededException as throttling and retry it.
class LimitExceededException(ApiGatewayException):
    code = 429

    def __init__(self, message: str):
        super().__init__("LimitExceededException", message)


_add_child = RestAPI.add_child


def _add_child_within_quota(self, path, parent_id=None):
    if parent_id is not None and len(self.resources) >= SETTINGS["resource_quota"]:
        raise LimitExceededException(
            "Maximum number of Resources for this API has been reached.  "
            "Please contact AWS if you need additional Resources."
        )
    return _add_child(self, path, parent_id)


RestAPI.add_child = _add_child_within_quota

# Patch 9: a deployment is a snapshot. CreateDeployment records the API's methods at that
# moment; GetDeployment with `embed=apisummary` returns them as `apiSummary`, a map of
# resource path -> HTTP verb -> MethodSnapshot {"authorizationType": str,
# "apiKeyRequired": bool} (GetDeployment API reference: "A summary of the RestApi at the date
# and time that the deployment resource was created"; embed "must be a single-valued list
# containing only the "apisummary" string"). Without embed it is not returned. Later changes
# to resources or methods do not touch the snapshot. Unconfirmed: whether AWS lists paths
# that have no methods; here only paths with at least one method appear.
#
# Patch 10: CreateDeployment when any method of the API lacks an integration answers 400
# BadRequestException "No integration defined for method" and creates nothing, as AWS
# (verbatim in hashicorp/terraform-provider-aws#21210 "BadRequestException: No integration
# defined for method", and serverless/serverless#11748 "Status Code: 400"). moto refused only
# when *no* method had one, and then as NotFoundException.
_create_deployment = APIGatewayBackend.create_deployment


def _api_summary(backend, function_id):
    summary = {}
    for resource in backend.get_rest_api(function_id).resources.values():
        if resource.resource_methods:
            summary[resource.get_path()] = {
                verb: {
                    "authorizationType": method.authorization_type or "NONE",
                    "apiKeyRequired": bool(method.api_key_required),
                }
                for verb, method in resource.resource_methods.items()
            }
    return summary


def _create_deployment_snapshot(self, function_id, name, description="", stage_variables=None):
    for resource in self.get_rest_api(function_id).resources.values():
        for method in resource.resource_methods.values():
            if method.method_integration is None:
                raise BadRequestException("No integration defined for method")
    deployment = _create_deployment(self, function_id, name, description, stage_variables)
    deployment.api_summary = _api_summary(self, function_id)
    return deployment


APIGatewayBackend.create_deployment = _create_deployment_snapshot
_get_deployment = APIGatewayResponse.get_deployment


def _get_deployment_embeds(self):
    out = _get_deployment(self)
    embed = [e for v in self.querystring.get("embed") or [] for e in v.split(",")]
    if "apisummary" not in embed:
        return out
    parts = self.path.split("/")
    deployment = self.backend.get_deployment(parts[2], parts[4])
    body = json.loads(out)
    body["apiSummary"] = getattr(deployment, "api_summary", {})
    return json.dumps(body)


APIGatewayResponse.get_deployment = _get_deployment_embeds

# Patch 11: PutParameter refuses a value over 4096 characters in the Standard tier (given, or
# the default when no tier is given and none is inherited) with 400 ValidationException
# "Standard tier parameters support a maximum parameter value of 4096 characters. To create a
# larger parameter value, upgrade the parameter to use the advanced-parameter tier. For more
# information, see https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html"
# (verbatim, as "ValidationException: ...", in hashicorp/terraform-provider-aws#18521 and
# github-aws-runners/terraform-aws-github-runner#3815 "status code: 400"). moto 5.2.5 stored
# any length.
_put_parameter = SimpleSystemManagerBackend.put_parameter


def _put_parameter_within_tier(self, name, description, value, parameter_type, allowed_pattern,
                               keyid, overwrite, tags, data_type, tier, policies):
    versions = self._parameters.get(name) or []
    if value and not (versions and not overwrite):  # else moto answers ParameterAlreadyExists
        effective = tier or (versions[-1].tier if versions else None) or self.default_parameter_tier
        if effective == "Standard" and len(value) > 4096:
            raise SsmValidationException(
                "Standard tier parameters support a maximum parameter value of 4096 characters. "
                "To create a larger parameter value, upgrade the parameter to use the "
                "advanced-parameter tier. For more information, see "
                "https://docs.aws.amazon.com/systems-manager/latest/userguide/"
                "parameter-store-advanced-parameters.html"
            )
    return _put_parameter(self, name, description, value, parameter_type, allowed_pattern,
                          keyid, overwrite, tags, data_type, tier, policies)


SimpleSystemManagerBackend.put_parameter = _put_parameter_within_tier

# Patch 12: STS AssumeRole of a role in an account on the deny list answers HTTP 403 with
# AWS's query-protocol XML error: ErrorResponse/Error/{Type Sender, Code AccessDenied,
# Message "User: {caller ARN} is not authorized to perform: sts:AssumeRole on resource:
# {role ARN}"}, RequestId (body verbatim in Netflix/security_monkey#77, status 403 in
# amzn/selling-partner-api-models#891 "Status Code: 403; Error Code: AccessDenied"). The
# caller ARN is what GetCallerIdentity reports for the request's key (an assumed-role session
# ARN for assumed credentials). moto lets any role be assumed (it has no IAM checks).
_assume_role = TokenResponse.assume_role
_ROLE_ACCOUNT = re.compile(r"^arn:[^:]+:iam::(\d{12}):")


def _assume_role_unless_denied(self):
    role_arn = self._get_param("RoleArn") or ""
    match = _ROLE_ACCOUNT.match(role_arn)
    if match is None or match.group(1) not in SETTINGS["deny_assume_role"]:
        return _assume_role(self)
    from xml.sax.saxutils import escape

    _, caller, _ = self.backend.get_caller_identity(self.get_access_key(), self.region)
    message = f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
    body = (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        f"<Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{escape(message)}</Message>"
        "</Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
    )
    return 403, {"status": 403, "Content-Type": "text/xml"}, body


TokenResponse.assume_role = _assume_role_unless_denied

# Patch 13: UpdateRestApi patch operations on `disableExecuteApiEndpoint` and
# `endpointConfiguration.vpcEndpointIds` as AWS. CreateRestApi input, GetRestApi and
# GetRestApis already keep and return both fields in moto 5.2.5 (checked by check_patches.py),
# but UpdateRestApi set disableExecuteApiEndpoint with bool(value), so the string "false" gave
# true, and treated any /endpointConfiguration path as a `types` replace. AWS's Developer Guide
# ("Create a private API": update-rest-api op='add' / op='remove',
# path='/endpointConfiguration/vpcEndpointIds', value='vpce-...') adds or removes one id.
_apply_patch_operations = RestAPI.apply_patch_operations


def _apply_patch_operations_endpoint(self, patch_operations):
    rest = []
    for op in patch_operations:
        path, value = op.get("path"), op.get("value")
        if path == "/disableExecuteApiEndpoint" and op.get("op") == "replace":
            self.disableExecuteApiEndpoint = str(value).lower() == "true"
        elif path == "/endpointConfiguration/vpcEndpointIds" and op.get("op") in ("add", "remove"):
            ids = self.endpoint_configuration.setdefault("vpcEndpointIds", [])
            for vpce in (value or "").split(","):
                vpce = vpce.strip()
                if op["op"] == "add" and vpce and vpce not in ids:
                    ids.append(vpce)
                elif op["op"] == "remove" and vpce in ids:
                    ids.remove(vpce)
        else:
            rest.append(op)
    _apply_patch_operations(self, rest)


RestAPI.apply_patch_operations = _apply_patch_operations_endpoint

# Patch 14: UpdateMethod (PATCH .../resources/{id}/methods/{verb}), which moto does not
# implement (it answered "not yet implemented"): `replace` on /authorizationType,
# /authorizerId and /apiKeyRequired ("true"/"false"), `add` / `remove` of one scope on
# /authorizationScopes (the paths the AWS CLI and the Terraform provider send; AWS's
# UpdateMethod reference lists them as patchable). PutMethod and UpdateMethod that leave a
# method CUSTOM or COGNITO_USER_POOLS without an authorizer of that API answer 400
# BadRequestException "Invalid authorizer ID specified. Setting the authorization type to
# CUSTOM or COGNITO_USER_POOLS requires a valid authorizer." (verbatim from CloudFormation in
# aws/aws-cdk#5574); moto accepted any id.
_INVALID_AUTHORIZER = (
    "Invalid authorizer ID specified. Setting the authorization type to CUSTOM or "
    "COGNITO_USER_POOLS requires a valid authorizer."
)


def _check_authorizer(backend, api_id, authorization_type, authorizer_id):
    if authorization_type in ("CUSTOM", "COGNITO_USER_POOLS"):
        if not authorizer_id or authorizer_id not in backend.get_rest_api(api_id).authorizers:
            raise BadRequestException(_INVALID_AUTHORIZER)


_put_method_checked = APIGatewayResponse.put_method


def _put_method_with_valid_authorizer(self):
    parts = self.path.split("/")
    _check_authorizer(
        self.backend, parts[2], self._get_param("authorizationType"), self._get_param("authorizerId")
    )
    return _put_method_checked(self)


def _update_method(self):
    parts = self.path.split("/")
    method = self.backend.get_method(parts[2], parts[4], parts[6])
    kind, authorizer = method.authorization_type, method.authorizer_id
    scopes = list(method.authorization_scopes or [])
    key_required = method.api_key_required
    for op in self._get_param("patchOperations") or []:
        path, value, verb = op.get("path"), op.get("value"), op.get("op")
        if verb == "replace" and path == "/authorizationType":
            kind = value
        elif verb == "replace" and path == "/authorizerId":
            authorizer = value
        elif verb == "replace" and path == "/apiKeyRequired":
            key_required = str(value).lower() == "true"
        elif verb == "add" and path == "/authorizationScopes":
            if value not in scopes:
                scopes.append(value)
        elif verb == "remove" and path == "/authorizationScopes":
            scopes = [s for s in scopes if s != value]
        else:
            raise BadRequestException(f"Invalid patch path {path}")
    _check_authorizer(self.backend, parts[2], kind, authorizer)
    method.authorization_type, method.authorizer_id = kind, authorizer
    method.authorization_scopes = scopes or None
    method.api_key_required = key_required
    return 200, {"status": 200}, json.dumps(method.to_json())


APIGatewayResponse.put_method = _put_method_with_valid_authorizer
APIGatewayResponse.update_method = _update_method

# Patch 15: PutIntegration keeps `integrationTarget` (the load balancer of a VPC link V2) and
# GetIntegration / GetResources return it, as AWS ("Integration" in the API Gateway REST API
# reference; "Set up a private integration" for VPC links V2). moto 5.2.5 drops it.
_put_integration_15 = APIGatewayResponse.put_integration


def _put_integration_keeps_target(self):
    parts = self.path.split("/")
    target = self._get_param("integrationTarget")
    result = _put_integration_15(self)
    integration = self.backend.get_integration(parts[2], parts[4], parts[6])
    integration.integration_target = target
    if isinstance(result, str):
        return json.dumps(integration.to_json())
    return result[0], result[1], json.dumps(integration.to_json())


_integration_to_json_15 = Integration.to_json


def _integration_json_with_target(self):
    out = _integration_to_json_15(self)
    target = getattr(self, "integration_target", None)
    if target:
        out["integrationTarget"] = target
    return out


APIGatewayResponse.put_integration = _put_integration_keeps_target
Integration.to_json = _integration_json_with_target

# Patch 16: UpdateStage `remove` on /{resource-path}/{verb} (a methodSettings key, `/` in the
# path as ~1) deletes that method's settings, as AWS; when the stage has none for it, 400
# BadRequestException "Cannot remove method setting {key} because there is no method setting
# for this method" (AWS's text, with */* for the key, in hashicorp/terraform-provider-aws
# issues). moto 5.2.5 ignored every `remove` but /accessLogSettings.
_stage_apply_operations = Stage.apply_operations


def _stage_remove_method_settings(self, patch_operations):
    rest = []
    for op in patch_operations:
        path = op.get("path") or ""
        parts = path.split("/")
        if op.get("op") == "remove" and len(parts) == 3 and parts[0] == "" and parts[2]:
            key = f"{parts[1]}/{parts[2]}"
            if key not in self.method_settings:
                raise BadRequestException(
                    f"Cannot remove method setting {key} because there is no method setting "
                    "for this method"
                )
            del self.method_settings[key]
        else:
            rest.append(op)
    return _stage_apply_operations(self, rest)


Stage.apply_operations = _stage_remove_method_settings

# Patch 17: CreateDeployment with the name of an existing stage points that stage at the new
# deployment and keeps its settings (method settings, variables, access logs, tags): AWS's
# Developer Guide, "Create a deployment for a REST API": the console deploys "by creating a
# deployment and associating it with a new or existing stage", and "You can reuse the same
# stage as many times as desired". moto 5.2.5 replaced the stage with a fresh one, losing
# every setting (so each deployment silently dropped the per-method throttles).
_restapi_create_deployment = RestAPI.create_deployment


def _create_deployment_keeps_stage(self, name, description, stage_variables=None):
    existing = self.stages.get(name) if name else None
    deployment = _restapi_create_deployment(self, name, description, stage_variables)
    if existing is not None:
        existing.deployment_id = deployment.id
        if stage_variables:
            existing.variables.update(stage_variables)
        self.stages[name] = existing
    return deployment


RestAPI.create_deployment = _create_deployment_keeps_stage

# Patch 18: GetExport (GET /restapis/{id}/stages/{stage}/exports/oas30) returns an OpenAPI
# 3.0.1 document of what the *stage* serves, its deployment's snapshot, as AWS does ("Export
# a REST API from API Gateway": "you export a deployed API"; export type "oas30" for OpenAPI
# 3.0.1, "swagger" for 2.0). Its shape follows AWS's exports: `openapi` "3.0.1", `info`
# (title: the API's name, version: the deployment's date), `servers` [{"url":
# "https://{api-id}.execute-api.{region}.amazonaws.com/{basePath}", "variables": {"basePath":
# {"default": stage}}}], `paths` with lowercase verbs and `x-amazon-apigateway-any-method`
# for ANY, each with `responses` (its method responses; none defined: `{}`) and `security`
# naming `api_key` when a key is required and the authorizer's name when it has one, and
# `components.securitySchemes`: `api_key` (apiKey, header `x-api-key`) and each authorizer
# used (apiKey in its identity header, `x-amazon-apigateway-authtype` "custom" or
# "cognito_user_pools"), and each declared path parameter (`method.request.path.{x}`) as a
# required string `parameters` entry. moto exported the working tree as Swagger 2.0 whatever
# was asked.
# A stage that does not exist: 404 NotFoundException. "swagger" is left to moto.
_get_export = APIGatewayResponse.get_export


def _snapshot_method_facts(backend, function_id):
    out = {}
    for resource in backend.get_rest_api(function_id).resources.values():
        for verb, method in resource.resource_methods.items():
            declared = sorted(
                k[len("method.request.path."):]
                for k in (method.request_parameters or {})
                if k.startswith("method.request.path.")
            )
            out.setdefault(resource.get_path(), {})[verb] = {
                "authorizer": method.authorizer_id,
                "path_parameters": declared,
            }
    return out


_snapshot_with_summary = APIGatewayBackend.create_deployment


def _create_deployment_with_method_facts(self, function_id, name, description="", stage_variables=None):
    deployment = _snapshot_with_summary(self, function_id, name, description, stage_variables)
    deployment.method_facts = _snapshot_method_facts(self, function_id)
    return deployment


APIGatewayBackend.create_deployment = _create_deployment_with_method_facts


def _oas30_of_stage(backend, api_id, stage_name):
    api = backend.get_rest_api(api_id)
    stage = backend.get_stage(api_id, stage_name)
    deployment = backend.get_deployment(api_id, stage.deployment_id)
    summary = getattr(deployment, "api_summary", {})
    method_facts = getattr(deployment, "method_facts", {})
    schemes = {}
    paths = {}
    for path, verbs in sorted(summary.items()):
        item = {}
        for verb, method in sorted(verbs.items()):
            operation = {"responses": {}}
            security = []
            if method.get("apiKeyRequired"):
                schemes["api_key"] = {"type": "apiKey", "name": "x-api-key", "in": "header"}
                security.append({"api_key": []})
            facts = method_facts.get(path, {}).get(verb) or {}
            authorizer_id = facts.get("authorizer")
            if facts.get("path_parameters"):
                operation["parameters"] = [
                    {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                    for name in facts["path_parameters"]
                ]
            if authorizer_id:
                authorizer = api.authorizers.get(authorizer_id)
                name = getattr(authorizer, "name", None) or authorizer_id
                source = getattr(authorizer, "identity_source", None) or "method.request.header.Authorization"
                kind = getattr(authorizer, "type", "TOKEN")
                schemes[name] = {
                    "type": "apiKey",
                    "name": source.rsplit(".", 1)[-1],
                    "in": "header",
                    "x-amazon-apigateway-authtype": "cognito_user_pools" if kind == "COGNITO_USER_POOLS" else "custom",
                }
                security.append({name: []})
            if security:
                operation["security"] = security
            key = "x-amazon-apigateway-any-method" if verb == "ANY" else verb.lower()
            item[key] = operation
        paths[path] = item
    doc = {
        "openapi": "3.0.1",
        "info": {"title": api.name, "version": str(getattr(deployment, "created_date", ""))},
        "servers": [{
            "url": f"https://{api_id}.execute-api.{backend.region_name}.amazonaws.com/{{basePath}}",
            "variables": {"basePath": {"default": stage_name}},
        }],
        "paths": paths,
        "components": {"securitySchemes": schemes},
    }
    return doc


def _get_export_oas30(self):
    # /restapis/{id}/stages/{stage}/exports/{type}[?parameters...]
    parts = self.path.split("?", 1)[0].split("/")
    if len(parts) < 7 or parts[-1] != "oas30":
        return _get_export(self)
    api_id, stage_name = parts[2], parts[4]
    doc = _oas30_of_stage(self.backend, api_id, stage_name)
    return 200, {"Content-Type": "application/json"}, json.dumps(doc)


APIGatewayResponse.get_export = _get_export_oas30

# Patch 19: a VPC link V2's status. moto answers every link AVAILABLE; AWS moves one to
# INACTIVE after 60 days without traffic (deleting its network interfaces; "Set up VPC links
# V2": "If no traffic is sent over the VPC link for 60 days, it becomes INACTIVE"), and to
# FAILED when it cannot be made, with a `vpcLinkStatusMessage`. The `vpc_link_v2_status`
# setting gives a link the status and message a test needs.
from moto.apigatewayv2.models import VpcLink as _VpcLinkV2  # noqa: E402

_vpc_link_v2_json = _VpcLinkV2.to_json


def _vpc_link_v2_json_with_status(self):
    out = _vpc_link_v2_json(self)
    with _SETTINGS_LOCK:
        forced = SETTINGS["vpc_link_v2_status"].get(self.id)
    if forced:
        out["vpcLinkStatus"], out["vpcLinkStatusMessage"] = forced
    return out


_VpcLinkV2.to_json = _vpc_link_v2_json_with_status

# Patch 20: a REST custom domain's routing mode. moto's CreateDomainName drops
# `routingMode`; AWS keeps it (default BASE_PATH_MAPPING_ONLY) and returns it with the domain
# (apigateway CreateDomainName / DomainName: `routingMode`, one of BASE_PATH_MAPPING_ONLY,
# ROUTING_RULE_ONLY, ROUTING_RULE_THEN_BASE_PATH_MAPPING; "Set the routing mode for your
# custom domain name", API Gateway Developer Guide).
from moto.apigateway.models import DomainName as _DomainName  # noqa: E402

_ROUTING_MODES = ("BASE_PATH_MAPPING_ONLY", "ROUTING_RULE_ONLY", "ROUTING_RULE_THEN_BASE_PATH_MAPPING")
_create_domain_name = APIGatewayResponse.create_domain_name
_domain_json = _DomainName.to_json


def _create_domain_name_with_mode(self):
    mode = self._get_param("routingMode") or "BASE_PATH_MAPPING_ONLY"
    if mode not in _ROUTING_MODES:
        return 400, {"x-amzn-ErrorType": "BadRequestException"}, json.dumps({
            "message": f"Invalid routing mode: {mode}; one of {', '.join(_ROUTING_MODES)}"
        })
    status, headers, body = _create_domain_name(self)
    domain = self.backend.domain_names.get(self._get_param("domainName"))
    if domain is not None:
        domain.routing_mode = mode
        body = json.dumps(domain.to_json())
    return status, headers, body


def _domain_json_with_mode(self):
    out = _domain_json(self)
    out["routingMode"] = getattr(self, "routing_mode", "BASE_PATH_MAPPING_ONLY")
    return out


APIGatewayResponse.create_domain_name = _create_domain_name_with_mode
_DomainName.to_json = _domain_json_with_mode

# Patch 21: routing rules of a REST custom domain (apigatewayv2 Create/Get/Put/Delete/
# ListRoutingRules; moto has none). Shapes from the API reference
# (`/v2/domainnames/{domainName}/routingrules[/{routingRuleId}]`, botocore apigatewayv2
# service-2.json): Create answers 201, Get/Put/List 200, Delete 204; a rule is
# {actions, conditions, priority, routingRuleArn, routingRuleId}. Validation from "Routing
# rules to connect API stages to a custom domain name for REST APIs": priority 1-1,000,000
# and unique per domain ("Rules can't have the same priority": 409 ConflictException, the
# one conflict the model lists for Create/Put); one action (invokeApi of a REST API of the
# same account, with a stage); at most one base path condition and two header conditions,
# each `anyOf` with one value; a base path under 128 characters of letters, digits and
# `$-_.+!*'()/`, not starting or ending with `/`; 50 rules per domain ("Routing rules per
# domain", adjustable: the `routing_rule_quota` setting); no rules while the domain's mode
# is BASE_PATH_MAPPING_ONLY; an unknown domain or rule: 404 NotFoundException. Messages are
# ours where the reference gives none.
import string as _string  # noqa: E402
from urllib.parse import parse_qs as _parse_qs  # noqa: E402

from moto.apigateway.models import apigateway_backends as _apigateway_backends  # noqa: E402
from moto.iam.models import get_account_id_from as _account_of_key  # noqa: E402

_RULES_LOCK = threading.Lock()
# (account, region, domain) -> {rule id: rule}
_RULES = {}
_RULES_PATH = re.compile(r"^/v2/domainnames/([^/]+)/routingrules(?:/([^/]+))?/?$")
_BASE_PATH = re.compile(r"^[A-Za-z0-9$\-_.+!*'()/]{1,127}$")
_HEADER = re.compile(r"^[A-Za-z0-9*?\-!#$%&'.^_`|~]+$")


class _RuleError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _caller(environ):
    auth = environ.get("HTTP_AUTHORIZATION", "")
    m = re.search(r"Credential=([^/]+)/\d{8}/([^/]+)/", auth)
    if not m:
        raise _RuleError(403, "AccessDeniedException", "Missing Authentication Token")
    return _account_of_key(m.group(1)), m.group(2)


def _rule_json(account, region, domain, rule_id, rule):
    return {
        "actions": rule["actions"],
        "conditions": rule["conditions"],
        "priority": rule["priority"],
        "routingRuleArn": f"arn:aws:apigateway:{region}:{account}:/domainnames/{domain}/routingrules/{rule_id}",
        "routingRuleId": rule_id,
    }


def _validated_rule(body, account, region, rules, rule_id=None):
    if not isinstance(body, dict):
        raise _RuleError(400, "BadRequestException", "Invalid request body")
    for field in ("actions", "conditions", "priority"):
        if field not in body:
            raise _RuleError(400, "BadRequestException", f"{field} is required")
    priority = body["priority"]
    if not isinstance(priority, int) or isinstance(priority, bool) or not 1 <= priority <= 1_000_000:
        raise _RuleError(400, "BadRequestException", "priority must be between 1 and 1000000")
    actions = body["actions"]
    if not isinstance(actions, list) or len(actions) != 1 or not isinstance(actions[0], dict):
        raise _RuleError(400, "BadRequestException", "A routing rule must have exactly one action")
    invoke = actions[0].get("invokeApi")
    if not isinstance(invoke, dict) or not invoke.get("apiId") or not invoke.get("stage"):
        raise _RuleError(400, "BadRequestException", "invokeApi requires apiId and stage")
    backend = _apigateway_backends[account][region]
    api = backend.apis.get(invoke["apiId"])
    if api is None:
        raise _RuleError(400, "BadRequestException", f"Invalid API identifier specified {account}:{invoke['apiId']}")
    if invoke["stage"] not in api.stages:
        raise _RuleError(400, "BadRequestException", f"Invalid stage identifier specified: {invoke['stage']}")
    conditions = body["conditions"]
    if not isinstance(conditions, list):
        raise _RuleError(400, "BadRequestException", "conditions must be a list")
    base_paths = headers = 0
    for c in conditions:
        if not isinstance(c, dict) or len(c) != 1:
            raise _RuleError(400, "BadRequestException", "A condition has one of matchBasePaths, matchHeaders")
        if "matchBasePaths" in c:
            base_paths += 1
            any_of = (c["matchBasePaths"] or {}).get("anyOf")
            if not isinstance(any_of, list) or len(any_of) != 1:
                raise _RuleError(400, "BadRequestException", "matchBasePaths.anyOf must hold one base path")
            path = any_of[0]
            if not isinstance(path, str) or not _BASE_PATH.match(path) or path.startswith("/") or path.endswith("/"):
                raise _RuleError(400, "BadRequestException", f"Invalid base path: {path}")
        elif "matchHeaders" in c:
            headers += 1
            any_of = (c["matchHeaders"] or {}).get("anyOf")
            if not isinstance(any_of, list) or len(any_of) != 1 or not isinstance(any_of[0], dict):
                raise _RuleError(400, "BadRequestException", "matchHeaders.anyOf must hold one header")
            h = any_of[0]
            if not _HEADER.match(str(h.get("header", ""))) or len(h["header"]) >= 40 or not _HEADER.match(
                str(h.get("valueGlob", ""))
            ):
                raise _RuleError(400, "BadRequestException", "Invalid header condition")
        else:
            raise _RuleError(400, "BadRequestException", "A condition has one of matchBasePaths, matchHeaders")
    if base_paths > 1 or headers > 2:
        raise _RuleError(
            400, "BadRequestException", "A routing rule has at most one base path condition and two header conditions"
        )
    for other_id, other in rules.items():
        if other_id != rule_id and other["priority"] == priority:
            raise _RuleError(409, "ConflictException", f"A routing rule with priority {priority} already exists")
    return {"actions": actions, "conditions": conditions, "priority": priority}


def _routing_rules(environ, domain, rule_id):
    account, region = _caller(environ)
    backend = _apigateway_backends[account][region]
    found = backend.domain_names.get(domain)
    if found is None:
        raise _RuleError(404, "NotFoundException", f"Invalid domain name identifier specified: {domain}")
    method = environ.get("REQUEST_METHOD")
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    with _RULES_LOCK:
        rules = _RULES.setdefault((account, region, domain), {})
        if rule_id is None and method == "POST":
            if getattr(found, "routing_mode", "BASE_PATH_MAPPING_ONLY") == "BASE_PATH_MAPPING_ONLY":
                raise _RuleError(
                    400, "BadRequestException",
                    f"Routing rules cannot be created while {domain} has routing mode BASE_PATH_MAPPING_ONLY",
                )
            with _SETTINGS_LOCK:
                quota = SETTINGS["routing_rule_quota"]
            if len(rules) >= quota:
                raise _RuleError(429, "LimitExceededException", f"Routing rules per domain: the limit of {quota} is reached")
            rule = _validated_rule(json.loads(raw or b"{}"), account, region, rules)
            alphabet = _string.ascii_lowercase + _string.digits
            new_id = "".join(random.choice(alphabet) for _ in range(6))
            while new_id in rules:
                new_id = "".join(random.choice(alphabet) for _ in range(6))
            rules[new_id] = rule
            return 201, _rule_json(account, region, domain, new_id, rule)
        if rule_id is None and method == "GET":
            query = _parse_qs(environ.get("QUERY_STRING", ""))
            try:
                size = int(query.get("maxResults", ["100"])[0])
                start = int(query.get("nextToken", ["0"])[0])
            except ValueError:
                raise _RuleError(400, "BadRequestException", "Invalid maxResults or nextToken") from None
            if not 1 <= size <= 100 or start < 0:
                raise _RuleError(400, "BadRequestException", "maxResults must be between 1 and 100")
            ordered = sorted(rules.items(), key=lambda kv: kv[1]["priority"])
            page = ordered[start:start + size]
            out = {"routingRules": [_rule_json(account, region, domain, i, r) for i, r in page]}
            if start + size < len(ordered):
                out["nextToken"] = str(start + size)
            return 200, out
        if rule_id is not None and rule_id not in rules:
            raise _RuleError(404, "NotFoundException", f"Invalid routing rule identifier specified: {rule_id}")
        if method == "GET":
            return 200, _rule_json(account, region, domain, rule_id, rules[rule_id])
        if method == "PUT":
            rule = _validated_rule(json.loads(raw or b"{}"), account, region, rules, rule_id)
            rules[rule_id] = rule
            return 200, _rule_json(account, region, domain, rule_id, rule)
        if method == "DELETE":
            del rules[rule_id]
            return 204, None
    raise _RuleError(405, "MethodNotAllowedException", f"{method} is not supported here")


def _routing_rules_app(environ, start_response, domain, rule_id):
    try:
        status, reply = _routing_rules(environ, domain, rule_id)
        headers = [("Content-Type", "application/json")]
    except _RuleError as e:
        status, reply = e.status, {"message": e.message}
        headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", e.code)]
    except (ValueError, KeyError) as e:  # malformed JSON or body
        status, reply = 400, {"message": f"Invalid request body: {e}"}
        headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", "BadRequestException")]
    body = b"" if reply is None else json.dumps(reply).encode()
    reasons = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 403: "Forbidden",
               404: "Not Found", 405: "Method Not Allowed", 409: "Conflict", 429: "Too Many Requests"}
    start_response(f"{status} {reasons.get(status, 'Error')}", headers + [("Content-Length", str(len(body)))])
    return [body]


# Control endpoint: POST /_frontdoor/settings with a JSON object changes this server's
# settings (keys not given stay; unknown keys or bad values: 400 and nothing changes) and
# answers 200 with the current settings; GET answers them too. `/_frontdoor` can be no AWS
# route (an S3 bucket name cannot start with "_"), and every other path goes to moto as before.
_SETTINGS_PATH = "/_frontdoor/settings"


def _validated(changes):
    if not isinstance(changes, dict):
        raise ValueError("body must be a JSON object")
    out = {}
    for key, value in changes.items():
        if key == "resource_quota":
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError("resource_quota must be a positive integer")
            out[key] = value
        elif key == "deny_assume_role":
            if not isinstance(value, list) or not all(
                isinstance(a, str) and re.fullmatch(r"\d{12}", a) for a in value
            ):
                raise ValueError("deny_assume_role must be a list of 12-digit account ids")
            out[key] = list(value)
        elif key == "routing_rule_quota":
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError("routing_rule_quota must be a positive integer")
            out[key] = value
        elif key == "vpc_link_v2_status":
            statuses = {"PENDING", "AVAILABLE", "DELETING", "FAILED", "INACTIVE"}
            if not isinstance(value, dict) or not all(
                isinstance(v, list) and len(v) == 2 and v[0] in statuses and isinstance(v[1], str)
                for v in value.values()
            ):
                raise ValueError(
                    "vpc_link_v2_status must map link ids to [status, message], status one of "
                    + ", ".join(sorted(statuses))
                )
            out[key] = dict(value)
        else:
            raise ValueError(f"unknown setting: {key}")
    return out


def _settings_app(environ, start_response):
    method = environ.get("REQUEST_METHOD")
    status, reply = "200 OK", None
    if method == "POST":
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length) if length else b""
            changes = _validated(json.loads(raw or b"{}"))
        except ValueError as e:  # json.JSONDecodeError is a ValueError
            status, reply = "400 Bad Request", {"error": str(e)}
        else:
            with _SETTINGS_LOCK:
                SETTINGS.update(changes)
    elif method != "GET":
        status, reply = "405 Method Not Allowed", {"error": "use GET or POST"}
    if reply is None:
        with _SETTINGS_LOCK:
            reply = {k: (list(v) if isinstance(v, list) else v) for k, v in SETTINGS.items()}
    body = json.dumps(reply).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


_dispatch = DomainDispatcherApplication.__call__


def _dispatch_with_settings(self, environ, start_response):
    if environ.get("PATH_INFO") == _SETTINGS_PATH:
        return _settings_app(environ, start_response)
    rules = _RULES_PATH.match(environ.get("PATH_INFO") or "")
    if rules:
        return _routing_rules_app(environ, start_response, rules.group(1), rules.group(2))
    return _dispatch(self, environ, start_response)


DomainDispatcherApplication.__call__ = _dispatch_with_settings


def _settings_from_env() -> None:
    changes = {}
    quota = os.environ.get("FRONTDOOR_EMULATOR_RESOURCE_QUOTA", "").strip()
    if quota:
        changes["resource_quota"] = int(quota)
    deny = os.environ.get("FRONTDOOR_EMULATOR_DENY_ASSUME_ROLE")
    if deny is not None:
        changes["deny_assume_role"] = [a.strip() for a in deny.split(",") if a.strip()]
    SETTINGS.update(_validated(changes))


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    try:
        _settings_from_env()
    except ValueError as e:
        sys.exit(f"bad FRONTDOOR_EMULATOR_* setting: {e}")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    _, bound = server.get_host_and_port()
    print(f"READY {bound}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())

    def watch_stdin() -> None:
        sys.stdin.read()
        done.set()

    if not sys.stdin.isatty():
        threading.Thread(target=watch_stdin, daemon=True).start()
    done.wait()
    server.stop()


if __name__ == "__main__":
    main()
