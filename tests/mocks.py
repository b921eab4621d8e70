"""The program under pulumi.runtime.Mocks: a recording Mocks and a runner for __main__.py with a given config.

Unit tests only; every deployment goes through the real engine (deploy/).
"""

from __future__ import annotations

import inspect
import json
import os
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import pulumi
import pulumi.runtime.settings
import yaml
from pulumi.runtime.mocks import MockMonitor

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = "openwebui"


@dataclass
class Recorded:
    typ: str
    name: str
    inputs: dict[str, Any]
    provider: str = ""  # the explicit provider reference, "" for the default provider


@dataclass
class RecordingMocks(pulumi.runtime.Mocks):
    """Records every resource the program declares, and fakes the outputs the program reads."""

    resources: list[Recorded] = field(default_factory=list)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.resources.append(Recorded(args.typ, args.name, dict(args.inputs), args.provider or ""))
        outputs = dict(args.inputs)
        if args.typ == "random:index/randomPassword:RandomPassword":
            outputs["result"] = "Pw1" + "x" * (int(args.inputs.get("length", 16)) - 3)
        elif args.typ == "docker:index/remoteImage:RemoteImage":
            outputs["imageId"] = "sha256:" + "1" * 64
        elif args.typ in ("docker:index/container:Container", "docker:index/service:Service",
                          "docker:index/secret:Secret", "docker:index/serviceConfig:ServiceConfig"):
            outputs.setdefault("name", f"{args.name}-0000")  # the provider's autoname (row B2)
        elif args.typ == "command:local:Command":
            outputs["stdout"] = json.dumps({"current": "0bd252b206fb", "heads": ["0bd252b206fb"],
                                            "up_to_date": True})
        elif args.typ.startswith("pulumi-python:dynamic"):
            outputs.update({"certificate_pem": "CERT", "ca_certificate_pem": "CA",
                            "private_key_pem": "KEY", "not_after": "2099-01-01T00:00:00Z"})
        return [f"{args.name}-id", outputs]

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}

    def of_type(self, typ: str) -> list[Recorded]:
        return [r for r in self.resources if r.typ == typ]

    def named(self, name: str) -> Recorded:
        matches = [r for r in self.resources if r.name == name]
        assert len(matches) == 1, f"{name}: {[r.name for r in self.resources]}"
        return matches[0]

    def containers(self, role: Optional[str] = None) -> list[Recorded]:
        found = self.of_type("docker:index/container:Container")
        if role is None:
            return found
        return [c for c in found if label(c, "openwebui.role") == role]


@dataclass
class Declared:
    """A resource as the program constructed it: the component whose code declared it and the parent it named."""

    resource: pulumi.Resource
    typ: str
    name: str
    declared_by: Optional[pulumi.ComponentResource]
    parent: Optional[pulumi.Resource]


class ContractMonitor(MockMonitor):
    """The mock monitor, recording what the component contract (tests/unit/test_component_contract.py) needs
    beyond RecordingMocks: which component's code declared each resource and the parent it gave (a stack
    transformation, run as each resource is constructed), the parent URN the engine receives, and the outputs
    each component registered."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.declared: list[Declared] = []
        self.urns: dict[tuple[str, str], str] = {}  # (type, name) -> URN
        self.parent_urns: dict[str, str] = {}  # URN -> the parent's URN, as the engine would receive it
        self.outputs: dict[str, set[str]] = {}  # URN -> names of the registered outputs

    def RegisterResource(self, request: Any) -> Any:  # the gRPC method's name
        response = super().RegisterResource(request)
        self.urns[(request.type, request.name)] = response.urn
        self.parent_urns[response.urn] = request.parent
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        self.outputs[request.urn] = set(request.outputs.fields)
        return super().RegisterResourceOutputs(request)

    def transformation(self, args: pulumi.ResourceTransformationArgs) -> None:
        self.declared.append(Declared(args.resource, args.type_, args.name, _declaring_component(args.resource),
                                      args.opts.parent))
        return None


def _declaring_component(resource: pulumi.Resource) -> Optional[pulumi.ComponentResource]:
    """The component (of components/) whose __init__ is running, below the resource's own constructor."""
    frame = inspect.currentframe()
    while frame is not None:
        owner = frame.f_locals.get("self")
        if (frame.f_code.co_name == "__init__" and isinstance(owner, pulumi.ComponentResource)
                and owner is not resource and type(owner).__module__.startswith("components.")):
            return owner
        frame = frame.f_back
    return None


def label(container: Recorded, key: str) -> Optional[str]:
    for item in container.inputs.get("labels", []):
        if item.get("label") == key:
            return item.get("value")
    return None


def stack_config(stack: str) -> dict[str, Any]:
    """The `openwebui:` values of a stack file, keyed without the namespace."""
    data = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    return {key.split(":", 1)[1]: value for key, value in data["config"].items()}


# A swarm stack's uploads in an S3 store (storage.provider s3): the settings and the secret key, as a stack that
# scales out on a swarm in prod must have them (config model, docker-service-require-shared-uploads).
OBJECT_STORE_SECRET = "s3-secret-key-for-tests-0123456789"


def object_store_config(endpoint: str = "https://s3.example.com") -> tuple[dict[str, Any], tuple[str, ...]]:
    """Config values (storage with s3, the secret key) and the secret keys among them."""
    return ({"storage": {"provider": "s3", "s3": {"endpointUrl": endpoint, "bucket": "openwebui-uploads",
                                                  "region": "eu-central-1", "accessKeyId": "AKIAOWUITEST",
                                                  "keyPrefix": "prod"}},
             "s3SecretAccessKey": OBJECT_STORE_SECRET}, ("s3SecretAccessKey",))


def to_engine_config(values: dict[str, Any]) -> dict[str, str]:
    """What the engine hands the program: strings, objects as JSON."""
    return {f"{NAMESPACE}:{key}": value if isinstance(value, str) else json.dumps(value)
            for key, value in values.items()}


def run_program(stack: str, values: dict[str, Any], secret_keys: tuple[str, ...],
                mocks: pulumi.runtime.Mocks, preview: bool = False,
                monitor: Optional[ContractMonitor] = None) -> pulumi.runtime.Mocks:
    """Run __main__.py with `values` as the stack's config; `mocks` sees every resource (and `monitor`, when
    given, how the program declared them)."""
    pulumi.runtime.set_all_config(to_engine_config(values),
                                  [f"{NAMESPACE}:{k}" for k in secret_keys])
    os.environ.pop("PULUMI_CONFIG", None)
    try:
        declare(lambda: runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__"),
                stack, mocks, preview=preview, monitor=monitor)
    finally:
        pulumi.runtime.set_all_config({}, [])
    return mocks


def declare(program: Callable[[], object], stack: str, mocks: pulumi.runtime.Mocks, preview: bool = False,
            monitor: Optional[ContractMonitor] = None) -> None:
    """Run `program` (which declares resources) under `mocks` and, when given, `monitor`."""
    # A monitor's stack transformation belongs to this run alone: the run gets a root stack of its own.
    root = pulumi.runtime.settings.ROOT.set(None) if monitor is not None else None
    pulumi.runtime.set_mocks(mocks, project="openwebui", stack=stack, preview=preview, monitor=monitor)

    @pulumi.runtime.test
    def run() -> None:
        if monitor is not None:
            pulumi.runtime.register_stack_transformation(monitor.transformation)
        program()

    try:
        run()
    finally:
        if root is not None:
            pulumi.runtime.settings.ROOT.reset(root)
