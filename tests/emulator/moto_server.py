"""frontdoor's emulator: moto's server on loopback, first taught the few AWS behaviours
that frontdoor depends on and moto lacks. Each patch is listed in tests/README.md.

Usage: python moto_server.py [PORT]   (0 or nothing: a free port)
Prints "READY <port>" once serving; exits when stdin closes (its parent went away) or on
SIGTERM, so no test run leaves a server behind.
"""

import ipaddress
import json
import random
import signal
import sys
import threading

# Fixed seed: moto draws ids and some addresses from `random`.
random.seed(20261124)

from moto.ec2.models.elastic_network_interfaces import NetworkInterfaceBackend  # noqa: E402
from moto.ec2.models.vpcs import VPCEndPoint  # noqa: E402
from moto.apigateway import urls as apigateway_urls  # noqa: E402
from moto.apigateway.exceptions import ConflictException  # noqa: E402
from moto.apigateway.models import APIGatewayBackend, Integration  # noqa: E402
from moto.apigateway.responses import APIGatewayResponse  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

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


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
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
