"""How Pulumi marks a secret inside a serialized value (state, engine events, provider and analyzer RPC): an object
whose KEY entry is SECRET (pulumi sdk/go/common/resource/sig/sig.go: Key, Secret)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

KEY = "4dabf18193072939515e22adb298388d"
SECRET = "1b47061264138c4ac30d75fd1eb44270"


def holds_secret(value: Any) -> bool:
    """The value is a secret or has one inside it."""
    if isinstance(value, Mapping):
        return value.get(KEY) == SECRET or any(holds_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(holds_secret(v) for v in value)
    return False
