"""Read resource properties the way the Pulumi engine hands them to a Python policy.

Why this module exists (read from pulumi-policy 1.21.0 and the engine's analyzer client):

* ``args.props`` is an *unknown-checking proxy*: touching a value that is unknown during preview raises
  ``UnknownValueError`` and the SDK then skips the WHOLE policy for that resource with an advisory note.
  One unknown secret in ``envs`` would thus hide a known ``ENABLE_SIGNUP=true`` next to it. We read the
  proxies' raw targets instead and turn each unknown into :data:`UNKNOWN`, so every policy can judge the
  known parts and stay silent only about the parts it cannot see.
* The engine sends secrets to analyzers marked as secrets, but ``Analyze``/``AnalyzeStack`` deserialize
  them without the marker: a validation sees a secret and a plain string alike. Only ``Remediate`` keeps
  them (as :class:`pulumi_policy.Secret`), which :func:`raw_props` exposes for the remediation policy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final, cast

from pulumi_policy import Secret
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
)

CONTAINER: Final = "docker:index/container:Container"
REMOTE_IMAGE: Final = "docker:index/remoteImage:RemoteImage"

ROLE_LABEL: Final = "openwebui.role"
ENVIRONMENT_LABEL: Final = "openwebui.environment"
IMAGE_LABEL: Final = "openwebui.image"

_SENTINELS: Final = frozenset(
    {
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_STRING_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_OBJECT_VALUE,
    }
)


class Unknown(Enum):
    """A value the engine cannot know yet (preview before the resource it depends on exists).

    A one-member enum, so that ``value is UNKNOWN`` narrows types for the type checker.
    """

    UNKNOWN = "unknown"

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        # A truthiness test on an unknown is always a bug in a policy: it would pass or fail by accident.
        raise TypeError("an unknown preview value has no truth value; compare it with `is UNKNOWN`")


UNKNOWN: Final = Unknown.UNKNOWN

# Keys whose values are credentials. The program passes them as individual secret Outputs; a policy cannot
# see secretness during validation (see module docstring), so this list drives the strength checks, the
# remediation that marks them secret, and the assumption that an unknown env item hides one of these keys.
SECRET_ENV_KEYS: Final = frozenset(
    {
        "WEBUI_SECRET_KEY",
        "DATABASE_URL",
        "OAUTH_SESSION_TOKEN_ENCRYPTION_KEY",
        "WEBUI_ADMIN_PASSWORD",
        "REDIS_URL",
        "WEBSOCKET_REDIS_URL",
        "REDIS_PASSWORD",
        "TLS_PRIVATE_KEY",
        "OPENAI_API_KEY",
        "OPENAI_API_KEYS",
        "OAUTH_CLIENT_SECRET",
        "LDAP_APP_PASSWORD",
    }
)
_SECRET_SUFFIXES: Final = ("_PASSWORD", "_SECRET", "_SECRET_KEY", "_PRIVATE_KEY", "_API_KEY", "_API_KEYS")


def is_secret_env_key(key: str) -> bool:
    """True for credential keys: the fixed list plus the usual suffixes (``ENABLE_*`` flags excluded)."""
    if key in SECRET_ENV_KEYS:
        return True
    return not key.startswith("ENABLE_") and key.endswith(_SECRET_SUFFIXES)


def unwrap_proxy(value: Any) -> Any:
    """Unwrap pulumi-policy's proxies (they hand out their unchecked target under ``"__target"``)."""
    if isinstance(value, (Mapping, Sequence)) and not isinstance(value, (str, bytes, dict, list, tuple)):
        try:
            return cast(Any, value)["__target"]
        except (KeyError, IndexError, TypeError):
            return value
    return value


def plain(value: Any) -> Any:
    """Deep-copy a property value into plain dicts/lists, with unknowns as UNKNOWN and secrets unwrapped."""
    value = unwrap_proxy(value)
    if isinstance(value, Secret):
        return plain(value.value)
    if isinstance(value, str):
        return UNKNOWN if value in _SENTINELS else value
    if isinstance(value, Mapping):
        return {key: plain(value[key]) for key in value}
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        return [plain(item) for item in value]
    return value


def raw_props(props: Mapping[str, Any]) -> dict[str, Any]:
    """Top-level properties with their Secret wrappers kept (only Remediate receives those)."""
    target = unwrap_proxy(props)
    return {key: target[key] for key in target}


def is_unknown(value: Any) -> bool:
    return value is UNKNOWN or (isinstance(value, str) and value in _SENTINELS)


def as_int(value: Any) -> int | None | Unknown:
    """Numbers arrive as floats (protobuf Struct); accept only whole numbers, never booleans."""
    # isinstance, not `is UNKNOWN`: mypy types the constant as Any after an identity test against an Any.
    if isinstance(value, Unknown):
        return value
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def as_list(value: Any) -> list[Any] | Unknown:
    """A list property; missing means empty."""
    if isinstance(value, Unknown):
        return value
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


MaybeStr = str | None | Unknown


@dataclass(frozen=True)
class Env:
    """A container's ``envs`` ("KEY=VALUE" strings) as a lookup that knows what it cannot know."""

    values_by_key: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    unknown_items: int = 0
    all_unknown: bool = False

    def values(self, key: str) -> tuple[str, ...] | Unknown:
        """Every value given for ``key`` (duplicates kept: Docker's set ordering makes the winner random).

        An absent key is reported as absent even when some items are unknown, unless it is a credential
        key: the program's contract is that only secret items can be unknown at preview.
        """
        if self.all_unknown:
            return UNKNOWN
        found = self.values_by_key.get(key, ())
        if not found and self.unknown_items and is_secret_env_key(key):
            return UNKNOWN
        return found

    def single(self, key: str) -> MaybeStr:
        """The value when given once (or repeated identically); UNKNOWN when it cannot be told."""
        found = self.values(key)
        if found is UNKNOWN:
            return UNKNOWN
        distinct = set(found)
        if not distinct:
            return None
        if len(distinct) > 1:
            return UNKNOWN
        return found[0]

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(self.values_by_key)


def parse_env(envs: Any) -> Env:
    items = as_list(plain(envs))
    if items is UNKNOWN:
        return Env(all_unknown=True)
    values: dict[str, list[str]] = {}
    unknown = 0
    for item in items:
        if item is UNKNOWN or not isinstance(item, str):
            unknown += 1
            continue
        key, sep, value = item.partition("=")
        # Docker passes "KEY" without "=" through from the daemon's own environment: treat it as empty.
        values.setdefault(key.strip(), []).append(value if sep else "")
    return Env({key: tuple(vals) for key, vals in values.items()}, unknown)


def parse_labels(labels: Any) -> dict[str, str | Unknown] | Unknown:
    """Container labels (a list of ``{label, value}``) as a dict."""
    items = as_list(plain(labels))
    if items is UNKNOWN:
        return UNKNOWN
    result: dict[str, str | Unknown] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        name = item.get("label")
        if isinstance(name, str):
            value = item.get("value")
            result[name] = value if isinstance(value, str) or value is UNKNOWN else ""
    return result


@dataclass(frozen=True)
class ContainerView:
    """The parts of a docker Container every policy needs, read once."""

    props: Mapping[str, Any]
    labels: Mapping[str, str | Unknown] | Unknown
    env: Env

    @property
    def role(self) -> MaybeStr:
        if self.labels is UNKNOWN:
            return UNKNOWN
        value = self.labels.get(ROLE_LABEL)
        return value if value is UNKNOWN or value is None else value.strip()

    @property
    def environment(self) -> MaybeStr:
        if self.labels is UNKNOWN:
            return UNKNOWN
        value = self.labels.get(ENVIRONMENT_LABEL)
        return value if value is UNKNOWN or value is None else value.strip()

    def get(self, key: str) -> Any:
        return self.props.get(key)


SERVICE: Final = "docker:index/service:Service"


def service_container_view(resource_type: str, props: Mapping[str, Any]) -> ContainerView | None:
    """A swarm service's container spec seen as a container (its labels and environment; the env is a map there),
    or None for any other resource type. For the rules about Open WebUI's settings, which do not care whether the
    app runs as containers or as a service's tasks."""
    if resource_type != SERVICE:
        return None
    plain_props = plain(props)
    task = plain_props.get("taskSpec") if isinstance(plain_props, Mapping) else None
    spec = task.get("containerSpec") if isinstance(task, Mapping) else None
    if not isinstance(spec, Mapping):
        return None
    env = spec.get("env")
    if env is UNKNOWN or not isinstance(env, Mapping):
        return ContainerView(spec, parse_labels(spec.get("labels")), parse_env(UNKNOWN if env is UNKNOWN else []))
    # A variable read from a Docker secret file at start (components/swarm_service.py: `<NAME>_FILE` and the
    # names in OWUI_FILE_ENV) is set, with a value the pack cannot see: unknown, as a secret Output at preview.
    from_files = env.get("OWUI_FILE_ENV")
    file_names = set(from_files.split()) if isinstance(from_files, str) else set()
    items: list[Any] = [UNKNOWN if value is UNKNOWN else f"{key}={value}" for key, value in env.items()]
    # (An unknown item makes an absent credential key unknown too: Env.values.)
    items += [UNKNOWN for name in sorted(file_names) if f"{name}_FILE" in env]
    return ContainerView(spec, parse_labels(spec.get("labels")), parse_env(items))


def container_view(resource_type: str, props: Mapping[str, Any]) -> ContainerView | None:
    """A view of a docker Container's properties, or None for any other resource type."""
    if resource_type != CONTAINER:
        return None
    plain_props = plain(props)
    return ContainerView(plain_props, parse_labels(plain_props.get("labels")), parse_env(plain_props.get("envs")))
