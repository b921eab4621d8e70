"""A preview-only stand-in for a resource plugin that cannot be built here (the Go module proxy refuses
pulumi-docker, pulumi-random and pulumi-command).

The real engine starts it like any plugin (``pulumi-resource-<name>`` found on PATH, engine address as argv[1],
port on stdout). ``Check`` hands the inputs back, plus the few schema defaults the real docker provider's Check
adds that the policies read (the same ones tests/policy/test_policy_real_program.py adds); ``Diff`` compares
inputs. Everything that would touch the world (Create and Update outside a preview, Delete, Read) is refused, so a
stand-in can serve a ``preview`` and never pretend to deploy. Run as ``python stand_in_provider.py <package> <version> <engine>``.
"""

from __future__ import annotations

import sys
from concurrent import futures
from threading import Event
from typing import Any

import grpc
from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc
from pulumi.runtime.proto import plugin_pb2

CONTAINER = "docker:index/container:Container"


def with_schema_defaults(typ: str, props: dict[str, Any]) -> dict[str, Any]:
    """The defaults pulumi-docker's Check fills in for a Container (the policies read these)."""
    if typ != CONTAINER:
        return props
    props.setdefault("networkMode", "bridge")
    props.setdefault("restart", "no")
    for port in props.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("ip", "0.0.0.0")
            port.setdefault("protocol", "tcp")
    return props


def _to_dict(message: struct_pb2.Struct) -> dict[str, Any]:
    return json_format.MessageToDict(message)


def _to_struct(value: dict[str, Any]) -> struct_pb2.Struct:
    return json_format.ParseDict(value, struct_pb2.Struct())


class StandIn(provider_pb2_grpc.ResourceProviderServicer):
    def __init__(self, package: str, version: str) -> None:
        self.package = package
        self.version = version

    def GetPluginInfo(self, request: Any, context: Any) -> plugin_pb2.PluginInfo:
        return plugin_pb2.PluginInfo(version=self.version)

    def Configure(self, request: Any, context: Any) -> provider_pb2.ConfigureResponse:
        return provider_pb2.ConfigureResponse(acceptSecrets=True, supportsPreview=True, acceptResources=True)

    def CheckConfig(self, request: Any, context: Any) -> provider_pb2.CheckResponse:
        return provider_pb2.CheckResponse(inputs=request.news)

    def DiffConfig(self, request: Any, context: Any) -> provider_pb2.DiffResponse:
        return provider_pb2.DiffResponse(changes=provider_pb2.DiffResponse.DIFF_NONE)

    def Check(self, request: Any, context: Any) -> provider_pb2.CheckResponse:
        typ = request.urn.split("::")[-2].split("$")[-1]
        return provider_pb2.CheckResponse(inputs=_to_struct(with_schema_defaults(typ, _to_dict(request.news))))

    def Diff(self, request: Any, context: Any) -> provider_pb2.DiffResponse:
        same = _to_dict(request.olds) == _to_dict(request.news)
        return provider_pb2.DiffResponse(
            changes=provider_pb2.DiffResponse.DIFF_NONE if same else provider_pb2.DiffResponse.DIFF_SOME)

    def _refuse(self, context: Any) -> None:
        context.abort(grpc.StatusCode.UNIMPLEMENTED,
                      f"stand-in for pulumi-resource-{self.package}: preview only, the real plugin is not available")

    def Create(self, request: Any, context: Any) -> provider_pb2.CreateResponse:
        # A preview asks for the planned outputs: the inputs (everything else stays unknown to the program).
        if not request.preview:
            self._refuse(context)
        return provider_pb2.CreateResponse(id="", properties=request.properties)

    def Update(self, request: Any, context: Any) -> provider_pb2.UpdateResponse:
        if not request.preview:
            self._refuse(context)
        return provider_pb2.UpdateResponse(properties=request.news)

    def Delete(self, request: Any, context: Any) -> None:
        self._refuse(context)

    def Read(self, request: Any, context: Any) -> None:
        self._refuse(context)


def main(argv: list[str]) -> None:
    package, version = argv[1], argv[2]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(StandIn(package, version), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    # The handshake: the engine reads the port from the first stdout line.
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    Event().wait()


if __name__ == "__main__":
    main(sys.argv)
