"""The provider gRPC protocol, once for every double: property marshalling, diffs, partial failures, serving.

A double implements :class:`ResourceType` per resource token and hands them to :func:`serve`. The servicer here
does only what the protocol requires (it is not an engine): it routes each call to the resource type, turns
``InitFailed`` into the ``ErrorResourceInitFailed`` detail the engine records as a partially created resource,
and prints the port as the plugin handshake (pulumi/sdk `proto/provider.proto`).
"""

from __future__ import annotations

import signal
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from threading import Event
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import plugin_pb2, provider_pb2, provider_pb2_grpc, status_pb2

# The engine's marker for a value not known until apply (sdk/go/common/resource/plugin/rpc.go).
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

Props = dict[str, Any]


def to_dict(message: struct_pb2.Struct) -> Props:
    return json_format.MessageToDict(message) if message is not None else {}


def to_struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    return json_format.ParseDict(dict(value), struct_pb2.Struct())


def has_unknown(value: Any) -> bool:
    if isinstance(value, dict):
        return any(has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(has_unknown(v) for v in value)
    return bool(value == UNKNOWN)


# The bridge keeps the list of keys its Check defaulted in the checked inputs (B1): an autoname is one of them, so
# Diff can tell a name the program gave from one it made (B3).
DEFAULTS_KEY = "__defaults"


def autonamed(news: Props) -> bool:
    return "name" in (news.get(DEFAULTS_KEY) or [])


class InitFailed(Exception):
    """Create made the object but it did not become ready: the engine records it with init errors."""

    def __init__(self, resource_id: str, outputs: Props, reason: str) -> None:
        super().__init__(reason)
        self.resource_id = resource_id
        self.outputs = outputs
        self.reason = reason


class CheckFailed(Exception):
    def __init__(self, failures: Sequence[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{p}: {r}" for p, r in failures))
        self.failures = list(failures)


@dataclass(frozen=True)
class Diff:
    changed: list[str] = field(default_factory=list)
    replaces: list[str] = field(default_factory=list)
    delete_before_replace: bool = False


def property_diff(olds: Props, news: Props, properties: Sequence[str], force_new: Callable[[str], bool],
                  delete_before_replace: bool = False) -> Diff:
    """Compare the recorded state with the new inputs, property by property, as the bridge's schema diff does:
    a change of a ForceNew property replaces, any other change is an update. Unknown new values count as changed."""
    changed = [name for name in properties if olds.get(name) != news.get(name)
               and not (olds.get(name) in (None, [], {}) and news.get(name) in (None, [], {}))]
    return Diff(changed=changed, replaces=[n for n in changed if force_new(n)],
                delete_before_replace=delete_before_replace)


def without_ignored(diff: Diff, ignore_changes: Sequence[str]) -> Diff:
    """B9: the bridge drops the attribute diffs under the resource's ignoreChanges paths from the provider's diff
    (the engine also copies the old inputs over, but Diff compares the new inputs with the recorded *outputs*).
    Whole top-level properties only: a nested path (`a.b`) is not applied here (the program ignores none)."""
    ignored = {path for path in ignore_changes if "." not in path and "[" not in path}
    if not ignored:
        return diff
    return Diff(changed=[n for n in diff.changed if n not in ignored],
                replaces=[n for n in diff.replaces if n not in ignored],
                delete_before_replace=diff.delete_before_replace)


class ResourceType:
    """One resource token of a double. Override what the upstream provider does; the defaults are no-ops."""

    token: str = ""

    def check(self, name: str, news: Props, olds: Props, random_seed: bytes) -> Props:
        return news

    def diff(self, resource_id: str, olds: Props, news: Props, old_inputs: Props) -> Diff:
        raise NotImplementedError

    def create(self, name: str, inputs: Props, timeout: float) -> tuple[str, Props]:
        raise NotImplementedError

    def preview_create(self, inputs: Props) -> Props:
        return inputs

    def read(self, resource_id: str, state: Props, inputs: Props) -> tuple[Props, Props] | None:
        """(state, inputs) as read back, or None when the object is gone."""
        return state, inputs

    def update(self, resource_id: str, olds: Props, news: Props, old_inputs: Props, timeout: float) -> Props:
        raise NotImplementedError

    def delete(self, resource_id: str, state: Props, timeout: float) -> None:
        return None


def _type_of(urn: str) -> str:
    # urn:pulumi:<stack>::<project>::<parent types $>...<type>::<name>
    return urn.split("::")[-2].split("$")[-1]


def _name_of(urn: str) -> str:
    return urn.split("::")[-1]


class Servicer(provider_pb2_grpc.ResourceProviderServicer):
    def __init__(self, package: str, version: str, types: Sequence[ResourceType],
                 configure: Callable[[Props], None] | None = None) -> None:
        self.package = package
        self.version = version
        self.types = {t.token: t for t in types}
        self.configure = configure

    def _type(self, urn: str, context: grpc.ServicerContext) -> ResourceType:
        token = _type_of(urn)
        found = self.types.get(token)
        if found is None:
            context.abort(grpc.StatusCode.UNIMPLEMENTED,
                          f"the {self.package} contract double has no resource type {token} "
                          f"(docs/provider-contract.md lists what it implements)")
        return found  # type: ignore[return-value]

    # -- plugin and provider configuration ------------------------------------------------------------------
    def GetPluginInfo(self, request: Any, context: Any) -> plugin_pb2.PluginInfo:
        return plugin_pb2.PluginInfo(version=self.version)

    def CheckConfig(self, request: Any, context: Any) -> provider_pb2.CheckResponse:
        return provider_pb2.CheckResponse(inputs=request.news)

    def DiffConfig(self, request: Any, context: Any) -> provider_pb2.DiffResponse:
        same = to_dict(request.olds) == to_dict(request.news)
        return provider_pb2.DiffResponse(
            changes=provider_pb2.DiffResponse.DIFF_NONE if same else provider_pb2.DiffResponse.DIFF_SOME)

    def Configure(self, request: Any, context: Any) -> provider_pb2.ConfigureResponse:
        if self.configure is not None:
            self.configure(to_dict(request.args))
        # acceptSecrets=False: the engine hands us plain values and marks every output whose input was secret
        # as secret itself (pkg/resource/plugin/provider_plugin.go, annotateSecrets); docs/provider-contract.md E-rows.
        return provider_pb2.ConfigureResponse(acceptSecrets=False, supportsPreview=True, acceptResources=True)

    def Cancel(self, request: Any, context: Any) -> empty_pb2.Empty:
        return empty_pb2.Empty()

    # -- resources -------------------------------------------------------------------------------------------
    def Check(self, request: Any, context: Any) -> provider_pb2.CheckResponse:
        rtype = self._type(request.urn, context)
        try:
            inputs = rtype.check(_name_of(request.urn), to_dict(request.news), to_dict(request.olds),
                                 bytes(request.randomSeed))
        except CheckFailed as failed:
            return provider_pb2.CheckResponse(inputs=request.news, failures=[
                provider_pb2.CheckFailure(property=p, reason=r) for p, r in failed.failures])
        return provider_pb2.CheckResponse(inputs=to_struct(inputs))

    def Diff(self, request: Any, context: Any) -> provider_pb2.DiffResponse:
        rtype = self._type(request.urn, context)
        result = self._guard(context, lambda: rtype.diff(request.id, to_dict(request.olds), to_dict(request.news),
                                                         to_dict(request.old_inputs)))
        result = without_ignored(result, list(request.ignoreChanges))
        return provider_pb2.DiffResponse(
            changes=provider_pb2.DiffResponse.DIFF_SOME if result.changed else provider_pb2.DiffResponse.DIFF_NONE,
            diffs=result.changed, replaces=result.replaces,
            deleteBeforeReplace=result.delete_before_replace)

    def Create(self, request: Any, context: Any) -> provider_pb2.CreateResponse:
        rtype = self._type(request.urn, context)
        inputs = to_dict(request.properties)
        if request.preview:
            return provider_pb2.CreateResponse(id="", properties=to_struct(rtype.preview_create(inputs)))
        try:
            resource_id, outputs = rtype.create(_name_of(request.urn), inputs, request.timeout or 0.0)
        except InitFailed as failed:
            self._abort_init_failed(context, failed, inputs)
        except Exception as exc:  # noqa: BLE001 - every failure reaches the engine as the step's error
            context.abort(grpc.StatusCode.UNKNOWN, _message(exc))
        return provider_pb2.CreateResponse(id=resource_id, properties=to_struct(outputs))

    def Read(self, request: Any, context: Any) -> provider_pb2.ReadResponse:
        rtype = self._type(request.urn, context)
        found = self._guard(context, lambda: rtype.read(request.id, to_dict(request.properties),
                                                        to_dict(request.inputs)))
        if found is None:  # gone: an empty id tells the engine to drop it from the state
            return provider_pb2.ReadResponse(id="")
        state, inputs = found
        return provider_pb2.ReadResponse(id=request.id, properties=to_struct(state), inputs=to_struct(inputs))

    def Update(self, request: Any, context: Any) -> provider_pb2.UpdateResponse:
        rtype = self._type(request.urn, context)
        news = to_dict(request.news)
        if request.preview:
            return provider_pb2.UpdateResponse(properties=to_struct({**to_dict(request.olds), **news}))
        try:
            outputs = rtype.update(request.id, to_dict(request.olds), news, to_dict(request.old_inputs),
                                   request.timeout or 0.0)
        except InitFailed as failed:
            self._abort_init_failed(context, failed, news)
        except Exception as exc:  # noqa: BLE001
            context.abort(grpc.StatusCode.UNKNOWN, _message(exc))
        return provider_pb2.UpdateResponse(properties=to_struct(outputs))

    def Delete(self, request: Any, context: Any) -> empty_pb2.Empty:
        rtype = self._type(request.urn, context)
        self._guard(context, lambda: rtype.delete(request.id, to_dict(request.properties), request.timeout or 0.0))
        return empty_pb2.Empty()

    # -- errors ----------------------------------------------------------------------------------------------
    @staticmethod
    def _guard(context: Any, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception as exc:  # noqa: BLE001
            context.abort(grpc.StatusCode.UNKNOWN, _message(exc))

    @staticmethod
    def _abort_init_failed(context: Any, failed: InitFailed, inputs: Props) -> None:
        """The error detail the engine turns into a recorded resource with init errors
        (pkg/resource/plugin/provider_plugin.go: parseError / resourceStateAndError)."""
        detail = provider_pb2.ErrorResourceInitFailed(
            id=failed.resource_id, properties=to_struct(failed.outputs), reasons=[failed.reason],
            inputs=to_struct(inputs))
        status = status_pb2.Status(code=grpc.StatusCode.UNKNOWN.value[0], message=failed.reason)
        status.details.add().Pack(detail)
        context.abort_with_status(_RichStatus(grpc.StatusCode.UNKNOWN, failed.reason,
                                              (("grpc-status-details-bin", status.SerializeToString()),)))


@dataclass(frozen=True)
class _RichStatus(grpc.Status):
    code: grpc.StatusCode
    details: str
    trailing_metadata: tuple[tuple[str, bytes], ...]


def _message(exc: BaseException) -> str:
    text = str(exc).strip()
    return text if text else traceback.format_exception_only(type(exc), exc)[-1].strip()


def serve(servicer: Servicer) -> None:
    """Serve until the engine goes away; the first stdout line is the port (the plugin handshake). The engine
    ends a plugin with SIGINT (sdk/go/common/resource/plugin/plugin.go, Close/Kill); a Go plugin, with Go's default
    handling, just ends, and so does this one (Python's would print a KeyboardInterrupt traceback into the engine's
    log)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    Event().wait()
