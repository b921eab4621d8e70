"""What the PostgreSQL and MySQL dynamic providers share: admin-password lookup, config-key names, errors.

Admin credentials, and why they are never resource inputs:
a dynamic resource's inputs and outputs are written to the state (secret ones encrypted, but still there,
and read/delete get only the outputs, so an admin password given as an input would have to be kept as an
output too). Instead the provider reads the admin password when the engine configures it:
``ResourceProvider.configure`` receives the whole stack configuration, namespaces kept and secrets decrypted
(engine v3.274.1, pkg/resource/deploy/target.go GetPackageConfig: "For dynamic providers, we always pass the
full configuration"). The engine records that configuration as the inputs of the default
``pulumi:providers:pulumi-python`` provider in the state, secrets encrypted like every other secret, so
the admin password is stored only as ciphertext and never as a resource input. When the config key is
absent, an environment variable of the shell running ``pulumi`` is used (handy for CI and direct tests).
The provider object itself is pickled into the state: it only carries the *names* of the key and variable.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass
from typing import Any

from pulumi.dynamic import ConfigureRequest, ResourceProvider

from components.stack_file import NAMESPACE
from owui_ops.errors import secret_forms

# The engine sends this for values that are unknown during preview.
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


class ProvisioningError(Exception):
    """A failure the operator can act on; the message names the server or config key and holds no secret."""


@dataclass(frozen=True, kw_only=True)
class ConfigKeys:
    """Names of the stack config keys, used only to word error messages (and to find the admin password).

    The defaults are components/config.py's keys (``openwebui:database`` object, admin password in
    ``openwebui:databaseAdminPassword``).
    """

    name: str = f"{NAMESPACE}:database.name"
    user: str = f"{NAMESPACE}:database.user"
    password: str = f"{NAMESPACE}:database.password"
    host: str = f"{NAMESPACE}:database.host"
    port: str = f"{NAMESPACE}:database.port"
    account_host: str = f"{NAMESPACE}:database.userHost"
    admin_user: str = f"{NAMESPACE}:database.adminUser"
    admin_password: str = f"{NAMESPACE}:databaseAdminPassword"
    ssl_mode: str = f"{NAMESPACE}:database.sslMode"
    ssl_ca: str = f"{NAMESPACE}:database.sslCaFile"
    adopt: str = f"{NAMESPACE}:database.adoptExisting"
    allow_drop: str = f"{NAMESPACE}:database.allowDrop"

    def as_input(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_input(cls, value: Any) -> ConfigKeys:
        if not isinstance(value, dict):
            return cls()
        known = {k: v for k, v in value.items() if k in cls.__dataclass_fields__ and isinstance(v, str)}
        return cls(**known)


def lookup_config(config: Any, key: str) -> Any:
    """Read ``namespace:top.path.to.field`` from a dynamic provider's Config.

    Tries the whole key first, then walks structured values (the engine passes an object-valued key as JSON text).
    """
    value = config.get(key)
    if value is not None:
        return value
    if ":" not in key or "." not in key.split(":", 1)[1]:
        return None
    namespace, rest = key.split(":", 1)
    head, *path = rest.split(".")
    node = config.get(f"{namespace}:{head}")
    for part in path:
        if isinstance(node, str):
            try:
                node = json.loads(node)
            except ValueError:
                return None
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


class AdminPasswordProvider(ResourceProvider):
    """Base class: resolves the admin password from stack config (configure) or an environment variable."""

    # Not secrets: only where to look. Kept on the (pickled) instance so each stack can name its own key.
    admin_password_key: str
    admin_password_env: str
    _admin_password: str | None = None

    def __init__(self, admin_password_key: str, admin_password_env: str) -> None:
        super().__init__()
        self.admin_password_key = admin_password_key
        self.admin_password_env = admin_password_env

    def __getstate__(self) -> dict[str, Any]:
        # Whatever happens, a configured password is never pickled into the state with the provider.
        state = dict(self.__dict__)
        state.pop("_admin_password", None)
        return state

    def configure(self, req: ConfigureRequest) -> None:
        value = lookup_config(req.config, self.admin_password_key)
        if isinstance(value, str) and value:
            self._admin_password = value

    def admin_password(self) -> str:
        if self._admin_password:
            return self._admin_password
        value = os.environ.get(self.admin_password_env)
        if value:
            return value
        raise ProvisioningError(
            f"no admin password: set the secret stack config {self.admin_password_key} "
            f"(pulumi config set --secret {self.admin_password_key.split(':', 1)[-1]} ...) "
            f"or the environment variable {self.admin_password_env}"
        )


def scrub(text: str, *secrets: str | None) -> str:
    """Remove every secret (raw and URL-encoded) from a message before it is raised or printed. The secrets are
    arguments, not remembered as owui_ops.errors does: a provider process serves many resources."""
    for secret in secrets:
        if not secret:
            continue
        for form in set(secret_forms(secret)):
            text = text.replace(form, "***")
    return text


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def note(message: str) -> None:
    """Tell the operator something (e.g. a database was retained): plugin stderr shows as a diagnostic."""
    print(f"info: {message}", file=sys.stderr, flush=True)


def is_unknown(value: Any) -> bool:
    # Under the engine a dynamic provider's check() gets pulumi.output.Unknown objects for values
    # not known yet (a first preview); the wire sentinel is what other paths see.
    from pulumi.output import Unknown

    return isinstance(value, Unknown) or value == UNKNOWN


def _int(value: Any) -> Any:
    """Numbers cross the engine's gRPC boundary as floats (protobuf Struct): 5432.0 -> 5432."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


INT_PROPS = ("port", "connectTimeout")


def normalise_ints(props: dict[str, Any]) -> dict[str, Any]:
    """Integral floats back to ints, so ids, messages and the state show 5432, not 5432.0."""
    return {k: (_int(v) if k in INT_PROPS else v) for k, v in props.items()}


def require_str(props: dict[str, Any], key: str) -> str:
    value = props.get(key)
    if not isinstance(value, str) or not value:
        raise ProvisioningError(f"internal: input {key!r} is missing")
    return value
