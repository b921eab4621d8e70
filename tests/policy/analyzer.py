"""The policy pack applied in-process to what the program declares, as the engine's analyzer would.

Props are passed through pulumi-policy's own deserializer and unknown-checking proxy, exactly as its
Analyze/AnalyzeStack handlers do, with the defaults the docker provider's Check adds (the contract double's Check:
docs/provider-contract.md). For tests that judge many configs fast; tests/engine runs the pack in the engine.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import unknown_checking_proxy

ROOT = Path(__file__).resolve().parents[2]
POLICY_DIR = ROOT / "policy"

CONTAINER = "docker:index/container:Container"

Declared = tuple[str, str, Mapping[str, Any]]  # (type, logical name, inputs)


def engine_props(props: Mapping[str, Any], keep_secrets: bool = False) -> Any:
    """What pulumi-policy's handlers hand a policy (Remediate keeps secrets, Analyze does not)."""
    return unknown_checking_proxy(deserialize_properties(copy.deepcopy(dict(props)), keep_secrets))


def engine_config(config: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Policy config as it arrives: through protobuf Struct, so every number becomes a float."""
    if config is None:
        return None
    struct = struct_pb2.Struct()
    struct.update(dict(config))
    return json_format.MessageToDict(struct)


def _options() -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)


def urn_of(resource_type: str, name: str) -> str:
    return f"urn:pulumi:test::openwebui::{resource_type}::{name}"


def resource_args(props: Mapping[str, Any], *, resource_type: str = CONTAINER, name: str = "test",
                  config: Mapping[str, Any] | None = None, keep_secrets: bool = False) -> ResourceValidationArgs:
    return ResourceValidationArgs(resource_type, engine_props(props, keep_secrets), urn_of(resource_type, name),
                                  name, _options(), None, engine_config(config))


def stack_args(resources: Iterable[Declared], config: Mapping[str, Any] | None = None) -> StackValidationArgs:
    """StackValidationArgs from (type, name, props) triples."""
    policy_resources = [
        PolicyResource(typ, engine_props(props), urn_of(typ, name), name, _options(), None, None, [], {})
        for typ, name, props in resources
    ]
    return StackValidationArgs(policy_resources, engine_config(config))


def pack_config(config_name: str, policy_name: str) -> dict[str, Any]:
    """One policy's config: schema defaults overlaid with policy/config/<config_name>.json."""
    from policies import policy

    found = policy(policy_name)
    merged: dict[str, Any] = {}
    if found.config_schema is not None:
        merged = {key: spec["default"] for key, spec in found.config_schema.properties.items()}
    file_config = json.loads((POLICY_DIR / "config" / f"{config_name}.json").read_text())
    entry = file_config.get(policy_name, {})
    if isinstance(entry, dict):
        merged.update({key: value for key, value in entry.items() if key != "enforcementLevel"})
    return merged


def after_check(typ: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The provider's schema defaults, as its Check fills them in before the analyzers run (B1, C30)."""
    props = copy.deepcopy(dict(inputs))
    if typ == CONTAINER:
        from plugins.docker.container import Container

        # The name stays as declared: the analyzers see the program's inputs plus defaults, not a new autoname.
        named = {"name": props.get("name") or "autonamed", **props}
        props = Container().check("declared", named, {}, b"")
        if "name" not in inputs:
            props.pop("name", None)
    return props


def mandatory_violations(declared: Iterable[Declared], config_name: str) -> list[tuple[str, str, str]]:
    """(policy, resource, message) for every mandatory violation."""
    from policies import POLICIES

    resources = [(typ, name, after_check(typ, inputs)) for typ, name, inputs in declared]
    found: list[tuple[str, str, str]] = []
    for pol in POLICIES:
        if pol.enforcement_level not in (None, EnforcementLevel.MANDATORY):
            continue
        if isinstance(pol, ResourceValidationPolicy) and pol.has_validation():
            for typ, name, props in resources:
                args = resource_args(props, resource_type=typ, name=name,
                                     config=pack_config(config_name, pol.name))
                pol.validate(args, lambda message, urn=None, n=name, p=pol.name: found.append((p, n, message)))
        elif isinstance(pol, StackValidationPolicy):
            pol.validate(stack_args(resources, pack_config(config_name, pol.name)),
                         lambda message, urn=None, p=pol.name: found.append((p, urn or "stack", message)))
    return found
