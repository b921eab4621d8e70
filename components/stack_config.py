"""Reading the stack's `openwebui:` config from Pulumi (the only module that touches pulumi.Config)."""

from __future__ import annotations

import json
from typing import Any, Mapping

import pulumi

from components.config import (
    OBJECT_KEYS,
    SCALAR_KEYS,
    ConfigError,
    PlainSecrets,
    Settings,
    load_settings,
)
from components.stack_file import NAMESPACE


def raw_values(all_config: Mapping[str, str]) -> dict[str, Any]:
    """The namespace's keys as the stack file has them (objects parsed from JSON).

    Pure, so the fuzz suite feeds it exactly what the engine hands the program: every value a string.
    """
    raw: dict[str, Any] = {}
    prefix = f"{NAMESPACE}:"
    for full_key, value in all_config.items():
        if not full_key.startswith(prefix):
            continue
        key = full_key[len(prefix):]
        if key in OBJECT_KEYS or (key not in SCALAR_KEYS and value[:1] in "{["):
            try:
                raw[key] = json.loads(value)
            except ValueError:
                raw[key] = value
        else:
            raw[key] = value
    return raw


def _raw_values() -> dict[str, Any]:
    # The engine hands config over either by RPC (kept in the runtime's CONFIG) or in PULUMI_CONFIG.
    from pulumi.runtime.config import CONFIG
    return raw_values({**pulumi.runtime.get_config_env(), **CONFIG.get()})


def read_stack_settings() -> tuple[Settings, PlainSecrets]:
    """Validate the stack's config; on any problem stop before a resource is declared."""
    try:
        return load_settings(
            _raw_values(),
            stack=pulumi.get_stack(),
            is_secret=lambda key: pulumi.runtime.is_config_secret(f"{NAMESPACE}:{key}"),
        )
    except ConfigError as err:
        # RunError prints the message alone (no traceback): the user sees each key and its fix.
        raise pulumi.RunError(str(err)) from None
