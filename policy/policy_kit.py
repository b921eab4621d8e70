"""Small helpers shared by the policy modules: config settings with schema defaults, descriptions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from pulumi_policy import PolicyConfigSchema


class HasConfig(Protocol):
    def get_config(self) -> Mapping[str, Any]: ...


def schema(**properties: dict[str, Any]) -> PolicyConfigSchema:
    """A config schema whose every property has a default (the engine fills defaults in; tests do not)."""
    for name, spec in properties.items():
        if "default" not in spec:
            raise ValueError(f"config property {name} needs a default")
    return PolicyConfigSchema(properties=dict(properties))


def setting(args: HasConfig, config_schema: PolicyConfigSchema, key: str) -> Any:
    """The configured value of ``key``, else the schema default (one source of truth for defaults)."""
    config = args.get_config() or {}
    if key in config:
        return config[key]
    return config_schema.properties[key]["default"]


def int_setting(args: HasConfig, config_schema: PolicyConfigSchema, key: str) -> int:
    # JSON numbers reach the pack as floats through protobuf Struct.
    return int(setting(args, config_schema, key))


def cis(ids: str, rule: str) -> str:
    """A description that starts with the CIS Docker Benchmark id(s) it implements."""
    return f"CIS Docker {ids}: {rule}"
