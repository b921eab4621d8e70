"""The stack's configuration: one typed, validated model.

Everything a stack file may say is declared here. `load_settings` turns the raw values of the
`openwebui:` namespace into a `Settings` object or raises `ConfigError` whose lines each name the
config key (`openwebui:database.port`) and say what to put there. The program calls it before it
declares any resource, so a bad stack file creates nothing.

The module does not import pulumi: tests feed it plain dictionaries.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal, Mapping, Optional
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from components.db_url import validate_mysql_host, validate_mysql_identifier, validate_pg_identifier
from components.images import ImageRef, parse_image_ref
from components.stack_file import NAMESPACE
from owui_ops import dockerhost

Environment = Literal["dev", "staging", "prod"]

# Keys whose values are credentials: they must be stored with `pulumi config set --secret`.
SECRET_KEYS = (
    "adminPassword",
    "databaseAdminPassword",
    "tlsPrivateKey",
    "registryPassword",
    "backupEncryptionKey",
    "dockerSshKey",
    "s3SecretAccessKey",
)
# Keys that are plain strings at the top level of the namespace (everything else is an object).
SCALAR_KEYS = ("environment", "publicUrl", "image", "imageVariant", "replicas", "uvicornWorkers", "target",
               "tlsCertificate", *SECRET_KEYS)
OBJECT_KEYS = ("database", "tls", "proxy", "admin", "app", "resources", "redis", "registry",
               "network", "storage", "migration", "backup", "docker", "swarm")

# Environment variables the program owns: a user may not set them through `app.extraEnv`,
# because that would silently undo a safety property (see README "Safe defaults and opt-outs").
RESERVED_ENV = frozenset({
    "DATABASE_URL", "DATABASE_TYPE", "DATABASE_USER", "DATABASE_PASSWORD", "DATABASE_HOST",
    "DATABASE_PORT", "DATABASE_NAME", "WEBUI_SECRET_KEY", "OAUTH_SESSION_TOKEN_ENCRYPTION_KEY",
    "ENABLE_SIGNUP", "ENABLE_DB_MIGRATIONS", "WEBUI_URL", "CORS_ALLOW_ORIGIN",
    "FORWARDED_ALLOW_IPS", "WEBUI_SESSION_COOKIE_SECURE", "WEBUI_AUTH_COOKIE_SECURE",
    "WEBUI_SESSION_COOKIE_SAME_SITE", "WEBUI_AUTH_COOKIE_SAME_SITE", "WEBUI_ADMIN_EMAIL",
    "WEBUI_ADMIN_PASSWORD", "WEBUI_ADMIN_NAME", "REDIS_URL", "WEBSOCKET_MANAGER",
    "WEBSOCKET_REDIS_URL", "ENABLE_WEBSOCKET_SUPPORT", "DATA_DIR", "UVICORN_WORKERS",
    "ENABLE_PIP_INSTALL_FRONTMATTER_REQUIREMENTS", "ENABLE_PERSISTENT_CONFIG",
    "RESET_CONFIG_ON_START", "STORAGE_PROVIDER", "S3_ENDPOINT_URL", "S3_BUCKET_NAME", "S3_REGION_NAME",
    "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY", "S3_KEY_PREFIX", "S3_ADDRESSING_STYLE",
})

# Used with fullmatch only: `$` also matches before a final newline, so "4w\n" would pass a `^...$` match.
_HOSTNAME_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_SIZE = re.compile(r"[0-9]{1,9}[kKmMgG]?")
_DURATION = re.compile(r"-1|[0-9]{1,9}(ms|s|m|h|d|w)")
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Docker network and volume names (the daemon refuses anything else when creating them).
_DOCKER_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}")
# Host paths reach shell scripts, bind mounts and (the CA file) Open WebUI's URL handling unencoded.
_HOST_PATH = re.compile(r"/[A-Za-z0-9._/+-]*")
# An rsync target for backup.copyTo (host::module/path, rsync://host/module, user@host:path).
_RSYNC_TARGET = re.compile(r"[A-Za-z0-9._@:/+-]+")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Unicode categories never wanted in a config value: controls (\n, \r, \t, \0, DEL, C1 such as U+0085),
# format characters (zero-width, bidi overrides, BOM) and the line/paragraph separators U+2028/U+2029.
_CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"})
# Keys whose value is PEM text: line breaks are part of the format.
_MULTILINE_KEYS = frozenset({"tls_certificate", "tlsCertificate", "tlsPrivateKey", "dockerSshKey"})


class ConfigError(Exception):
    """A stack configuration problem; each entry names one key."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        lines = [f"  {NAMESPACE}:{key}: {message}" for key, message in problems]
        super().__init__("invalid stack configuration:\n" + "\n".join(lines))


def control_character(text: str, *, multiline: bool = False) -> Optional[str]:
    """The first character of ``text`` no config value may hold, as U+XXXX and its name, or None."""
    for char in text:
        if multiline and char in "\n\r":
            continue
        if unicodedata.category(char) in _CONTROL_CATEGORIES:
            return f"U+{ord(char):04X} {unicodedata.name(char, 'control character')}"
    return None


def _no_control(value: Any, *, multiline: bool = False) -> None:
    texts = [value] if isinstance(value, str) else []
    if isinstance(value, dict):
        texts = [t for item in value.items() for t in item if isinstance(t, str)]
    for text in texts:
        found = control_character(text, multiline=multiline)
        if found:
            # A control character would end up in container environments, nginx.conf or the database's
            # config, where a newline starts a new setting: never accepted, wherever it sits.
            raise ValueError(f"contains a control or invisible character ({found}); "
                             "write the value on one line of printable text")


def _is_object_field(annotation: Any) -> bool:
    args = getattr(annotation, "__args__", (annotation,))
    return any(isinstance(a, type) and issubclass(a, BaseModel) for a in args)


def _is_number_field(annotation: Any) -> bool:
    args = getattr(annotation, "__args__", (annotation,))
    return any(a in (int, float) for a in args) and bool not in args


class _Model(BaseModel):
    """Stack objects use camelCase keys and refuse unknown ones (a typo is an error, not a no-op)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid",
                              frozen=True, str_strip_whitespace=False)

    @field_validator("*", mode="before")
    @classmethod
    def _plain_values(cls, value: Any, info: Any) -> Any:
        field = cls.model_fields.get(info.field_name)
        # A nested object checks its own fields, so the message names the exact key inside it.
        if not (isinstance(value, dict) and field is not None and _is_object_field(field.annotation)):
            _no_control(value, multiline=info.field_name in _MULTILINE_KEYS)
        if isinstance(value, bool) and field is not None and _is_number_field(field.annotation):
            # pydantic would read `true` as 1: a boolean where a number belongs is a mistake, not a count.
            raise ValueError(f"must be a number, not {str(value).lower()}")
        return value


def is_valid_hostname(host: str) -> bool:
    if not host or len(host) > 253 or host != host.strip():
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    return all(_HOSTNAME_LABEL.fullmatch(label) for label in host.rstrip(".").split("."))


def _port(value: int) -> int:
    if not 1 <= value <= 65535:
        raise ValueError("must be a TCP port between 1 and 65535")
    return value


def _port_text_ok(text: str) -> bool:
    # Written as the browser and nginx will see it: no sign, no leading zero, 1-65535.
    return bool(re.fullmatch(r"[1-9][0-9]{0,4}", text)) and int(text) <= 65535


def _url_problem(value: str, *, schemes: tuple[str, ...]) -> Optional[str]:
    """Why ``value`` is not a plain URL of one of ``schemes``, or None."""
    if any(char.isspace() for char in value):
        return "no spaces: a hostname, an optional port, nothing else"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a malformed port, which urlsplit alone accepts
    except ValueError:
        return "its host or port is malformed"
    if parts.scheme not in schemes:
        return f"the scheme must be {' or '.join(schemes)}"
    if not parts.hostname or not is_valid_hostname(parts.hostname):
        return "no valid hostname"
    host_port = parts.netloc.rpartition("@")[2]
    port_text = host_port.rpartition("]")[2].partition(":")[2] if ":" in host_port.rpartition("]")[2] else None
    if port_text is not None and not _port_text_ok(port_text):
        return "the port must be a number between 1 and 65535"
    if parts.username is not None or parts.password is not None:
        return "credentials do not belong in the URL"
    return None


def _docker_name(value: Optional[str], what: str) -> Optional[str]:
    if value is not None and not _DOCKER_NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not a Docker {what} name (letters, digits and _.-, starting "
                         "with a letter or digit, at most 128)")
    return value


def _host_path(value: str) -> str:
    if not _HOST_PATH.fullmatch(value) or "/../" in value + "/":
        raise ValueError(f"{value!r} must be an absolute host path using only letters, digits and "
                         "._/+- (it reaches shell scripts and bind mounts as it is)")
    return value


def duration_seconds(text: str) -> Optional[float]:
    """Seconds of an `app.jwtExpiresIn` value; None for -1 (never expires)."""
    match = re.fullmatch(r"([0-9]+)(ms|s|m|h|d|w)", text)
    return int(match[1]) * _UNIT_SECONDS[match[2]] if match else None


class DatabaseSettings(_Model):
    """`openwebui:database`: where Open WebUI keeps its data."""

    type: Literal["sqlite", "postgresql", "mysql"] = "sqlite"
    # The server as the machine running Pulumi reaches it (provisioning, backups).
    host: Optional[str] = None
    port: Optional[int] = None
    # The server as the containers reach it; defaults to `host`.
    container_host: Optional[str] = None
    name: str = "openwebui"
    user: str = "openwebui"
    admin_user: Optional[str] = None
    # MySQL only: the client host the app user may connect from as the server sees it, as narrow as possible:
    # the Docker host's address, or e.g. 172.30.30.0/255.255.255.0; `%` (any host) only when written so.
    user_host: Optional[str] = None
    ssl_mode: Literal["disable", "prefer", "require", "verify-ca", "verify-full"] = "prefer"
    ssl_ca_file: Optional[str] = None
    connect_timeout: int = Field(10, ge=1, le=300)
    pool_size: int = Field(10, ge=0, le=1000)
    max_overflow: int = Field(10, ge=0, le=1000)
    pool_recycle: int = Field(3600, ge=-1)
    pool_timeout: int = Field(30, ge=1, le=3600)
    revoke_public_connect: bool = True
    # Deleting the stack never drops a database unless this says so.
    allow_drop: bool = False
    # Take over an existing, non-empty database that the app role does not own (e.g. tables made by hand).
    adopt_existing: bool = False

    @field_validator("port")
    @classmethod
    def _check_port(cls, value: Optional[int]) -> Optional[int]:
        return None if value is None else _port(value)

    @field_validator("host", "container_host")
    @classmethod
    def _check_host(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and not is_valid_hostname(value):
            raise ValueError(f"{value!r} is not a hostname or IP address (no spaces, no scheme)")
        return value

    @field_validator("ssl_ca_file")
    @classmethod
    def _check_ca(cls, value: Optional[str]) -> Optional[str]:
        # The same rule DATABASE_URL building applies (components/db_url.py): Open WebUI re-appends the
        # path to the URL without encoding, so only a plain absolute path survives.
        if value is not None and not _HOST_PATH.fullmatch(value):
            raise ValueError(f"{value!r} must be an absolute path to a PEM file, using only letters, "
                             "digits and ._/+-")
        return value

    @model_validator(mode="after")
    def _server_fields(self) -> "DatabaseSettings":
        problems: list[tuple[str, str]] = []
        if self.type != "sqlite":
            if not self.host:
                problems.append(("database.host", f"database.type {self.type} needs the database "
                                 "server's name or IP here"))
            if not self.admin_user:
                problems.append(("database.adminUser", f"database.type {self.type} needs a server user "
                                 "allowed to create databases and users; its password goes in "
                                 "openwebui:databaseAdminPassword (--secret)"))
            if self.ssl_mode in ("verify-ca", "verify-full") and not self.ssl_ca_file:
                problems += [(key, f"database.sslMode {self.ssl_mode} needs the server's CA certificate "
                              "file in database.sslCaFile") for key in ("database.sslMode", "database.sslCaFile")]
            problems += self._identifier_problems()
        if self.type == "mysql":
            if not self.user_host:
                problems.append(("database.userHost", "database.type mysql needs the host the app "
                                 "connects from as the server sees it (the Docker host's address, or "
                                 "network/netmask); `%` allows any host"))
            else:
                # `%` alone is taken as written; any other all-wildcard pattern is a mistake.
                problem = validate_mysql_host(self.user_host, allow_any_host=self.user_host == "%")
                if problem:
                    problems.append(("database.userHost", problem))
        if problems:
            raise _CrossProblems(problems)
        return self

    def _identifier_problems(self) -> list[tuple[str, str]]:
        """The dynamic providers' own check() rules (components/db_url.py), applied before anything runs."""
        if self.type == "postgresql":
            checks = [("database.name", validate_pg_identifier(self.name, what="database name")),
                      ("database.user", validate_pg_identifier(self.user, what="role name"))]
            if self.admin_user:
                checks.append(("database.adminUser",
                               validate_pg_identifier(self.admin_user, what="admin user")))
        else:
            checks = [("database.name", validate_mysql_identifier(self.name, what="database name")),
                      ("database.user", validate_mysql_identifier(self.user, what="user name", max_len=32))]
            if self.admin_user:
                checks.append(("database.adminUser",
                               validate_mysql_identifier(self.admin_user, what="admin user", max_len=32)))
        return [(key, problem) for key, problem in checks if problem]

    @property
    def default_port(self) -> Optional[int]:
        return {"postgresql": 5432, "mysql": 3306}.get(self.type)

    @property
    def effective_port(self) -> Optional[int]:
        return self.port or self.default_port

    @property
    def effective_container_host(self) -> Optional[str]:
        return self.container_host or self.host


class TlsSettings(_Model):
    """`openwebui:tls`: the certificate nginx serves."""

    mode: Literal["self-signed", "provided"] = "self-signed"
    profile: Literal["intermediate", "modern"] = "intermediate"
    # Only for `self-signed`: days until the generated certificate expires (Mozilla: at most 366).
    validity_days: int = Field(365, ge=1, le=366)


class ProxySettings(_Model):
    """`openwebui:proxy`: the nginx container, the only one that publishes ports."""

    image: str = "openwebui-local/nginx:1.22.1-9-deb12u11"
    bind_ip: str = "127.0.0.1"
    http_port: int = 80
    https_port: int = 443
    client_max_body_size: str = "100M"
    # Requests per minute per client address on the sign-in, sign-up and LDAP endpoints.
    auth_rate_per_minute: int = Field(10, ge=1, le=10000)
    auth_burst: int = Field(5, ge=0, le=1000)
    read_timeout_seconds: int = Field(3600, ge=10, le=86400)
    hsts_max_age: int = Field(63072000, ge=0)

    @field_validator("http_port", "https_port")
    @classmethod
    def _check_port(cls, value: int) -> int:
        return _port(value)

    @field_validator("bind_ip")
    @classmethod
    def _check_ip(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address; use 127.0.0.1 for this machine "
                             "only, or the public interface's address") from None
        return value

    @field_validator("client_max_body_size")
    @classmethod
    def _check_size(cls, value: str) -> str:
        if not _SIZE.fullmatch(value):
            raise ValueError(f"{value!r} is not an nginx size such as 100M, 512k or 1G")
        return value

    @model_validator(mode="after")
    def _distinct_ports(self) -> "ProxySettings":
        if self.http_port == self.https_port:
            raise ValueError("httpPort and httpsPort must differ")
        return self


class AdminSettings(_Model):
    """`openwebui:admin`: the first administrator, created before the app serves requests."""

    email: str = "admin@example.com"
    name: str = "Administrator"

    @field_validator("email")
    @classmethod
    def _check_email(cls, value: str) -> str:
        if not _EMAIL.fullmatch(value):
            raise ValueError(f"{value!r} is not an e-mail address")
        return value.lower()


class AppSettings(_Model):
    """`openwebui:app`: Open WebUI's own settings (the environment variables an operator sets for it)."""

    name: str = "Open WebUI"
    default_user_role: Literal["pending", "user", "admin"] = "pending"
    jwt_expires_in: str = "4w"
    openai_base_url: Optional[str] = None
    ollama_base_url: Optional[str] = None
    vector_db: Literal["chroma", "pgvector", "qdrant", "milvus", "opensearch", "elasticsearch"] = "chroma"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    offline_mode: bool = True
    enable_persistent_config: bool = True
    # Extra environment for the app; keys the program owns (RESERVED_ENV) are refused.
    extra_env: dict[str, str] = Field(default_factory=dict)

    @field_validator("jwt_expires_in")
    @classmethod
    def _check_duration(cls, value: str) -> str:
        if not _DURATION.fullmatch(value):
            raise ValueError(f"{value!r} is not a duration such as 30m, 12h, 7d or 4w")
        return value

    @field_validator("openai_base_url", "ollama_base_url")
    @classmethod
    def _check_url(cls, value: Optional[str]) -> Optional[str]:
        if value is None:
            return value
        problem = _url_problem(value, schemes=("http", "https"))
        if problem:
            raise ValueError(f"{value!r} is not an http(s) URL: {problem}")
        return value

    @field_validator("extra_env")
    @classmethod
    def _check_env(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not _ENV_NAME.fullmatch(key):
                raise ValueError(f"{key!r} is not an environment variable name (A-Z, 0-9, _)")
            if key in RESERVED_ENV:
                raise ValueError(f"{key} is set by the program; use the dedicated config key "
                                 "instead (see README, stack config reference)")
        return value


class ContainerResources(_Model):
    memory_mb: int = Field(..., ge=64, le=1_048_576)
    # Docker's granularity is 0.01 CPU; less is written as "0.00" and means no limit (CIS Docker 5.12).
    cpus: float = Field(..., ge=0.01, le=256)
    # Seconds between Docker's health checks: short, so deploys see "healthy" soon; longer on a busy host.
    health_interval_seconds: int = Field(5, ge=1, le=300)


def _default_resources() -> dict[str, ContainerResources]:
    return {
        "app": ContainerResources(memory_mb=2048, cpus=1.0),
        # nginx's and Redis's checks cost next to nothing, and `up` waits for nginx's first healthy check after the
        # app's: a 2 s interval keeps that wait short.
        "proxy": ContainerResources(memory_mb=256, cpus=0.5, health_interval_seconds=2),
        "redis": ContainerResources(memory_mb=256, cpus=0.5, health_interval_seconds=2),
        "migration": ContainerResources(memory_mb=1024, cpus=1.0),
        "backup": ContainerResources(memory_mb=512, cpus=0.5),
    }


class ResourceSettings(_Model):
    """`openwebui:resources`: memory and CPU limits per container role."""

    @model_validator(mode="before")
    @classmethod
    def _role_defaults(cls, data: Any) -> Any:
        # `resources: {app: {cpus: 2}}` changes the CPUs only: the role's other limit keeps its default
        # instead of becoming a required key the user never meant to touch.
        if not isinstance(data, dict):
            return data
        defaults = _default_resources()
        merged = dict(data)
        for role, given in data.items():
            if role in defaults and isinstance(given, dict):
                merged[role] = {**defaults[role].model_dump(by_alias=True), **given}
        return merged

    app: ContainerResources = Field(default_factory=lambda: _default_resources()["app"])
    proxy: ContainerResources = Field(default_factory=lambda: _default_resources()["proxy"])
    redis: ContainerResources = Field(default_factory=lambda: _default_resources()["redis"])
    migration: ContainerResources = Field(default_factory=lambda: _default_resources()["migration"])
    backup: ContainerResources = Field(default_factory=lambda: _default_resources()["backup"])


class RedisSettings(_Model):
    """`openwebui:redis`: needed (and switched on automatically) when replicas or workers > 1."""

    enabled: Optional[bool] = None
    image: str = "openwebui-local/redis:7.0.15-1-deb12u10"


class RegistrySettings(_Model):
    """`openwebui:registry`: credentials for a private registry (e.g. GHCR with a token)."""

    server: str
    username: str

    @field_validator("server")
    @classmethod
    def _check_server(cls, value: str) -> str:
        host, _, port = value.partition(":")
        if not is_valid_hostname(host) or (port and not _port_text_ok(port)):
            raise ValueError(f"{value!r} is not a registry host such as ghcr.io or "
                             "registry.example.com:5000 (no scheme, no path)")
        return value

    @field_validator("username")
    @classmethod
    def _check_username(cls, value: str) -> str:
        if not value.strip() or value != value.strip():
            raise ValueError("must be the registry user name, without surrounding spaces")
        return value


class DockerSettings(_Model):
    """`openwebui:docker`: the Docker daemon every resource and step of the stack uses (owui_ops/dockerhost.py).
    Unset: the deploying machine's own daemon (DOCKER_HOST, else the local socket)."""

    host: Optional[str] = None
    host_key: Optional[str] = None

    @field_validator("host")
    @classmethod
    def _check_host(cls, value: Optional[str]) -> Optional[str]:
        if value is None:
            return None
        if value.startswith("unix:///"):
            return _host_path(value[len("unix://"):]) and value
        if not value.startswith("ssh://"):
            raise ValueError(f"{value!r} must be ssh://user@host[:port] (or unix:///path/docker.sock); "
                             "tcp:// would carry the Engine API, secrets included, unencrypted")
        try:
            target = dockerhost.SshTarget.parse(value)
            urlsplit(value).port  # noqa: B018 - raises on a malformed port
        except ValueError as err:
            raise ValueError(f"{value!r} is not an ssh:// address: {err}") from None
        if not target.user or not is_valid_hostname(target.host) or target.path.strip("/") or " " in value:
            raise ValueError(f"{value!r} must be ssh://user@host or ssh://user@host:port (a user, a host name "
                             "or address, no path)")
        return value

    @field_validator("host_key")
    @classmethod
    def _check_host_key(cls, value: Optional[str]) -> Optional[str]:
        problem = dockerhost.host_key_problem(value) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _ssh_needs_host_key(self) -> "DockerSettings":
        if self.is_ssh and not self.host_key:
            raise _CrossProblems([("docker.hostKey", "an ssh:// host needs its public key, checked strictly on "
                                   "every connection: `ssh-keyscan -t ed25519 HOST` or the host's "
                                   "/etc/ssh/ssh_host_ed25519_key.pub (type and key)")])
        return self

    @property
    def is_ssh(self) -> bool:
        return bool(self.host and self.host.startswith("ssh://"))

    @property
    def ssh_opts(self) -> list[str]:
        """The provider's `sshOpts` and every step's (owui_ops.dockerhost.ssh_opts)."""
        if not (self.is_ssh and self.host and self.host_key):
            return []
        return dockerhost.ssh_opts(dockerhost.SshTarget.parse(self.host), self.host_key)


class NetworkSettings(_Model):
    """`openwebui:network`: the private network the containers share (nothing else joins it)."""

    subnet: str = "172.30.0.0/24"
    # Defaults to openwebui-<stack>.
    name: Optional[str] = None

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: Optional[str]) -> Optional[str]:
        return _docker_name(value, "network")

    @field_validator("subnet")
    @classmethod
    def _check_subnet(cls, value: str) -> str:
        try:
            network = ipaddress.ip_network(value, strict=True)
        except ValueError:
            raise ValueError(f"{value!r} is not a network such as 172.30.0.0/24") from None
        if network.version != 4 or network.num_addresses < 16 or not network.is_private:
            raise ValueError("must be a private IPv4 network of at least 16 addresses")
        return value

    @property
    def proxy_ip(self) -> str:
        """nginx gets a fixed address so the app can trust exactly it (FORWARDED_ALLOW_IPS)."""
        return str(ipaddress.ip_network(self.subnet)[2])

    @property
    def dynamic_range(self) -> str:
        """Docker hands out addresses only from the upper half, so the fixed one is never taken."""
        network = ipaddress.ip_network(self.subnet)
        return str(list(network.subnets(prefixlen_diff=1))[1])


# S3 names as AWS documents them (bucket naming rules; regions such as eu-central-1; access key ids such as AKIA...).
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_REGION = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
_ACCESS_KEY_ID = re.compile(r"[A-Za-z0-9_+=,.@-]{3,128}")
_KEY_PREFIX = re.compile(r"[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*")


class S3Settings(_Model):
    """`openwebui:storage.s3`: the S3-compatible object store uploads go to (`storage.provider: s3`), as Open WebUI
    0.12.4 reads it (backend/open_webui/config.py S3_*, storage/provider.py S3StorageProvider). The secret access key
    is the secret `s3SecretAccessKey`: on a swarm a Docker secret file, never in a service's environment."""

    endpoint_url: str
    bucket: str
    region: str = "us-east-1"
    access_key_id: str
    # Objects of this stack go under <keyPrefix>/ (one bucket may serve several stacks).
    key_prefix: Optional[str] = None
    # `path` (https://host/bucket/key) suits self-hosted stores addressed by IP or one hostname.
    addressing_style: Literal["path", "virtual", "auto"] = "path"

    @field_validator("endpoint_url")
    @classmethod
    def _check_endpoint(cls, value: str) -> str:
        problem = _url_problem(value, schemes=("https", "http"))
        if problem:
            raise ValueError(f"{value!r} is not an S3 endpoint URL ({problem}); e.g. https://s3.example.com")
        if urlsplit(value).path not in ("", "/") or urlsplit(value).query:
            raise ValueError(f"{value!r} must be scheme://host[:port] only (the bucket is storage.s3.bucket)")
        return value

    @field_validator("bucket")
    @classmethod
    def _check_bucket(cls, value: str) -> str:
        if not _BUCKET.fullmatch(value) or ".." in value:
            raise ValueError(f"{value!r} is not an S3 bucket name (3-63 lowercase letters, digits, . and -, "
                             "starting and ending with a letter or digit)")
        return value

    @field_validator("region")
    @classmethod
    def _check_region(cls, value: str) -> str:
        if not _REGION.fullmatch(value):
            raise ValueError(f"{value!r} is not a region name such as us-east-1")
        return value

    @field_validator("access_key_id")
    @classmethod
    def _check_access_key_id(cls, value: str) -> str:
        if not _ACCESS_KEY_ID.fullmatch(value):
            raise ValueError("is not an access key id (3-128 letters, digits and _+=,.@-); the secret key "
                             "belongs in `pulumi config set --secret s3SecretAccessKey`")
        return value

    @field_validator("key_prefix")
    @classmethod
    def _check_prefix(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and (len(value) > 256 or not _KEY_PREFIX.fullmatch(value)):
            raise ValueError(f"{value!r} is not a key prefix (segments of letters, digits and !_.*'()- joined "
                             "by /, no leading or trailing /)")
        return value


class StorageSettings(_Model):
    """`openwebui:storage`: the data volume, and where uploaded files go."""

    volume_name: Optional[str] = None
    # `local`: uploads in the data volume (one node); `s3`: in storage.s3, so any node's replica serves them.
    provider: Literal["local", "s3"] = "local"
    s3: Optional[S3Settings] = None

    @field_validator("volume_name")
    @classmethod
    def _check_name(cls, value: Optional[str]) -> Optional[str]:
        return _docker_name(value, "volume")
    # `pulumi destroy` keeps the volume (and its data) unless this is true.
    delete_data_on_destroy: bool = False


class MigrationSettings(_Model):
    """`openwebui:migration`: the one-shot migration step."""

    # Host directory for pre-migration backups.
    backup_dir: str = "/var/backups/openwebui"
    tools_image: str = "openwebui-local/tools:1.1.0"
    timeout_seconds: int = Field(900, ge=30, le=86400)

    @field_validator("backup_dir")
    @classmethod
    def _absolute(cls, value: str) -> str:
        return _host_path(value)


class BackupSettings(_Model):
    """`openwebui:backup`: scheduled backups (see README, Day-2 operations)."""

    enabled: bool = False
    directory: str = "/var/backups/openwebui"
    interval_minutes: int = Field(1440, ge=5)
    keep_count: int = Field(7, ge=1)
    keep_days: int = Field(30, ge=1)
    copy_to: Optional[str] = None

    @field_validator("directory")
    @classmethod
    def _absolute(cls, value: str) -> str:
        return _host_path(value)

    @field_validator("copy_to")
    @classmethod
    def _check_copy_to(cls, value: Optional[str]) -> Optional[str]:
        if value is None:
            return value
        if value.startswith("/"):
            return _host_path(value)
        # Handed to rsync as one argument: no spaces or shell metacharacters.
        if not _RSYNC_TARGET.fullmatch(value) or value.startswith("-"):
            raise ValueError(f"{value!r} is neither an absolute host path nor an rsync target such as "
                             "backup-host::openwebui or rsync://backup-host/openwebui")
        return value


# A swarm placement constraint as `docker service create --constraint` takes it: node.<field> == / != value.
_CONSTRAINT = re.compile(r"(node|engine)\.[A-Za-z0-9_.-]+ *(==|!=) *[A-Za-z0-9_.:/-]+")


class SwarmSettings(_Model):
    """`openwebui:swarm` (with `target: swarm`): the services' overlay network and where their tasks may run."""

    # The encrypted overlay network's subnet (the app trusts forwarded headers from it: nginx's tasks have no
    # fixed address on a swarm).
    subnet: str = "10.215.0.0/24"
    placement_constraints: list[str] = Field(default_factory=list)
    # Where nginx runs, when not where everything else may: its ports are published on its node (publish mode
    # host), so the public name points at the nodes these select (e.g. node.labels.edge == yes).
    proxy_placement_constraints: Optional[list[str]] = None
    # How long `up` waits for a service's tasks to run (create) or its rolling update to complete.
    converge_timeout_seconds: int = Field(600, ge=30, le=7200)
    # IPsec (ESP) between nodes on the overlay network. Only where the kernel has no ESP (dockerd: `Failed Adding
    # rSA{... Proto: esp ...}: function not implemented`) may a dev stack turn it off; the pack refuses that
    # elsewhere (docker-network-require-encrypted-overlay).
    encrypt_overlay: bool = True

    @field_validator("subnet")
    @classmethod
    def _check_subnet(cls, value: str) -> str:
        return NetworkSettings._check_subnet(value)

    @field_validator("placement_constraints", "proxy_placement_constraints")
    @classmethod
    def _check_constraints(cls, value: Optional[list[str]]) -> Optional[list[str]]:
        for item in value or []:
            if not _CONSTRAINT.fullmatch(item):
                raise ValueError(f"{item!r} is not a placement constraint such as node.role == manager or "
                                 "node.labels.openwebui == yes")
        return value


@dataclass(frozen=True, kw_only=True)
class PlainSecrets:
    """Secret config values read for validation; the program wraps them in Output.secret."""

    admin_password: Optional[str] = None
    database_admin_password: Optional[str] = None
    tls_private_key: Optional[str] = None
    registry_password: Optional[str] = None
    backup_encryption_key: Optional[str] = None
    docker_ssh_key: Optional[str] = None
    s3_secret_access_key: Optional[str] = None


class Settings(_Model):
    """The whole stack configuration after validation."""

    stack: str
    environment: Environment
    public_url: str
    image: str
    image_variant: Literal["upstream", "next"] = "upstream"
    replicas: int = Field(1, ge=1, le=16)
    uvicorn_workers: int = Field(1, ge=1, le=32)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    tls: TlsSettings = Field(default_factory=TlsSettings)
    tls_certificate: Optional[str] = None
    proxy: ProxySettings = Field(default_factory=ProxySettings)
    admin: AdminSettings = Field(default_factory=AdminSettings)
    app: AppSettings = Field(default_factory=AppSettings)
    resources: ResourceSettings = Field(default_factory=ResourceSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    registry: Optional[RegistrySettings] = None
    network: NetworkSettings = Field(default_factory=NetworkSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    migration: MigrationSettings = Field(default_factory=MigrationSettings)
    backup: BackupSettings = Field(default_factory=BackupSettings)
    docker: DockerSettings = Field(default_factory=DockerSettings)
    # Where the stack runs: `docker` containers on one daemon, or `swarm` services (components/swarm_*.py).
    target: Literal["docker", "swarm"] = "docker"
    swarm: SwarmSettings = Field(default_factory=SwarmSettings)

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError(f"{value!r} must start with https:// (this deployment is HTTPS-only)")
        problem = _url_problem(value, schemes=("https",))
        if problem:
            raise ValueError(f"{value!r} is not a valid origin ({problem}); e.g. https://chat.example.com")
        parts = urlsplit(value)
        origin = f"https://{parts.netloc}"
        # The exact origin is what WEBUI_URL, CORS_ALLOW_ORIGIN and nginx get: nothing may trail it.
        if value not in (origin, origin + "/"):
            raise ValueError("must be an origin only, e.g. https://chat.example.com (no path)")
        return origin

    @property
    def hostname(self) -> str:
        return urlsplit(self.public_url).hostname or ""

    @property
    def public_port(self) -> int:
        return urlsplit(self.public_url).port or 443

    @property
    def image_ref(self) -> ImageRef:
        return parse_image_ref(self.image)

    @property
    def redis_enabled(self) -> bool:
        if self.redis.enabled is not None:
            return self.redis.enabled
        return self.replicas > 1 or self.uvicorn_workers > 1

    @model_validator(mode="after")
    def _cross_checks(self) -> "Settings":
        problems: list[tuple[str, str]] = []
        images = {"image": self.image, "proxy.image": self.proxy.image,
                  "redis.image": self.redis.image, "migration.toolsImage": self.migration.tools_image}
        for key, ref in images.items():
            try:
                parse_image_ref(ref)
            except ValueError as err:
                problems.append((key, str(err)))
        if problems:
            # The rules below read the image references.
            raise _CrossProblems(problems)
        problems += self._combination_problems()
        problems += self._production_problems()
        problems += self._pack_problems()
        if problems:
            raise _CrossProblems(problems)
        return self


    def _combination_problems(self) -> list[tuple[str, str]]:
        """Keys that are fine alone but not together: each conflict is reported on every key involved,
        so whichever one the user changed is named."""
        problems: list[tuple[str, str]] = []

        def conflict(keys: tuple[str, ...], message: str) -> None:
            problems.extend((key, message) for key in keys)

        if self.database.type == "mysql" and self.image_variant != "next":
            conflict(("database.type", "imageVariant"),
                     "database.type mysql needs the open-webui-next image (imageVariant: next); upstream "
                     "Open WebUI supports only sqlite and postgresql")
        if self.database.type == "mysql" and is_upstream_image(self.image):
            # The variant key is only a claim; the image name says what runs. Open WebUI 0.12.4 has no MySQL
            # path (its async engine fails on mysql+pymysql://), whatever imageVariant says.
            conflict(("image", "database.type"),
                     f"{self.image!r} is upstream Open WebUI, which cannot use MySQL (no MySQL path in "
                     "0.12.4); use the open-webui-next image, or database.type postgresql")
        scale = tuple(k for k, v in (("replicas", self.replicas), ("uvicornWorkers", self.uvicorn_workers))
                      if v > 1)
        if scale and self.redis.enabled is False:
            conflict(("redis.enabled", *scale), "several replicas or workers need Redis for websockets; "
                     "remove redis.enabled: false, or set replicas and uvicornWorkers to 1")
        if self.replicas > 1 and self.database.type == "sqlite":
            conflict(("replicas", "database.type"), "several replicas cannot share one SQLite file; use "
                     "database.type postgresql or mysql, or replicas: 1")
        if self.target == "docker" and self.swarm.model_fields_set:
            given = tuple(f"swarm.{to_camel(name)}" for name in sorted(self.swarm.model_fields_set))
            conflict((*given, "target"), "swarm settings apply only to `target: swarm`; remove them or set "
                     "target: swarm")
        s3 = self.storage.s3
        s3_given = tuple(f"storage.s3.{to_camel(name)}" for name in sorted(s3.model_fields_set)) if s3 else ()
        if self.storage.provider == "s3" and s3 is None:
            problems.append(("storage.s3", "storage.provider is s3: set storage.s3.endpointUrl, bucket and "
                             "accessKeyId (and the secret s3SecretAccessKey)"))
        if self.storage.provider != "s3" and s3 is not None:
            conflict((*s3_given, "storage.provider"), "storage.s3 is used only with storage.provider: s3; set "
                     "it, or remove storage.s3")
        if self.storage.provider == "s3" and self.target != "swarm":
            conflict(("storage.provider", *s3_given, "target"), "uploads in S3 need target: swarm, where the "
                     "secret access key is a Docker secret file (a container on one daemon would hold it in its "
                     "environment)")
        if self.target == "swarm" and self.backup.enabled:
            conflict(("backup.enabled", "target"), "scheduled backups are containers on one daemon and do not "
                     "run on a swarm yet; set backup.enabled: false for target: swarm")
        if self.tls.mode == "provided" and not self.tls_certificate:
            conflict(("tlsCertificate", "tls.mode"), "tls.mode is `provided`: set the PEM certificate chain "
                     "in tlsCertificate and its key with `pulumi config set --secret tlsPrivateKey`")
        if self.public_port != self.proxy.https_port:
            conflict(("publicUrl", "proxy.httpsPort"), f"the port of publicUrl ({self.public_port}) differs "
                     f"from proxy.httpsPort ({self.proxy.https_port}); browsers reach nginx on that port")
        return problems

    def _production_problems(self) -> list[tuple[str, str]]:
        """Settings that hand out privilege or let the software change underneath: refused in prod."""
        if self.environment != "prod":
            return []
        problems: list[tuple[str, str]] = []
        if self.tls.mode == "self-signed":
            problems.append(("tls.mode", "prod needs a real certificate: `provided` with tlsCertificate "
                             "and tlsPrivateKey"))
        if self.app.default_user_role != "pending":
            problems.append(("app.defaultUserRole", f"{self.app.default_user_role!r} is refused in prod: "
                             "Open WebUI gives DEFAULT_USER_ROLE to every account created outside the admin "
                             "panel (OAuth, LDAP, a sign-up re-enabled in the database), so anything but "
                             "`pending` grants access to strangers; use pending and approve users"))
        if self.storage.provider == "s3" and self.storage.s3 is not None \
                and urlsplit(self.storage.s3.endpoint_url).scheme != "https":
            problems.append(("storage.s3.endpointUrl", "prod sends uploads to the object store over https only "
                             "(SigV4 signs requests but does not encrypt the files)"))
        return problems

    def _pack_problems(self) -> list[tuple[str, str]]:
        """What the policy pack would refuse at preview with policy/config/<environment>.json (scripts/up
        passes exactly that file), said here first and against the key."""
        rules = pack_rules(self.environment)
        problems: list[tuple[str, str]] = []
        if self.target == "swarm" and self.replicas < rules.swarm_min_replicas:
            problems.append(("replicas", f"{self.environment} on a swarm runs at least {rules.swarm_min_replicas} "
                             f"app replicas ({rules.source}), so a failed task or node leaves one serving"))
        if self.target == "swarm" and not self.swarm.encrypt_overlay and not rules.allow_unencrypted_overlay:
            problems.append(("swarm.encryptOverlay", f"{self.environment} encrypts the overlay network between "
                             f"nodes ({rules.source}): traffic between tasks on different nodes, credentials "
                             "included, would cross the hosts' network in clear text"))
        if (self.target == "swarm" and self.replicas > 1 and self.storage.provider == "local"
                and self.environment in rules.shared_uploads_environments):
            problems += [(key, f"{self.environment} on a swarm with {self.replicas} replicas keeps uploads off the "
                          f"node ({rules.source}): a file in one node's volume is missing on the others; set "
                          "storage.provider: s3 and storage.s3") for key in ("storage.provider", "replicas", "target")]
        if self.environment == "prod" or not rules.allow_floating_tags:
            for key, ref in self.image_references().items():
                parsed = parse_image_ref(ref)
                if parsed.floating:
                    problems.append((key, f"{ref!r} floats ({parsed.describe()}); {self.environment} needs "
                                     "a pinned tag such as v1.2.3-slim, git-<sha>-slim, or an @sha256: digest, "
                                     "so what runs is what was reviewed (supply chain; CIS Docker 4.x)"))
        ip = ipaddress.ip_address(self.proxy.bind_ip)
        if ip.is_unspecified and not rules.allow_all_interfaces:
            problems.append(("proxy.bindIp", f"{self.proxy.bind_ip} publishes on every host interface; "
                             "bind to one address (CIS Docker 5.14)"))
        elif not ip.is_unspecified and rules.allowed_host_ips and ip not in rules.allowed_host_ips:
            problems.append(("proxy.bindIp", f"{self.proxy.bind_ip} is not in allowedHostIps of "
                             f"{rules.source} ({', '.join(map(str, sorted(rules.allowed_host_ips)))}); "
                             "change both together (CIS Docker 5.14)"))
        for key, port in (("proxy.httpPort", self.proxy.http_port), ("proxy.httpsPort", self.proxy.https_port)):
            if port < 1025 and port not in rules.allowed_privileged_ports:
                problems.append((key, f"{port} is a privileged port, which {rules.source} does not allow "
                                 "for this stack (CIS Docker 5.8); use a port above 1024"))
        seconds = duration_seconds(self.app.jwt_expires_in)
        if self.environment in rules.jwt_environments and (seconds is None or seconds <= 0
                                                           or seconds > rules.jwt_max_seconds):
            problems.append(("app.jwtExpiresIn", f"{self.app.jwt_expires_in!r} is refused in "
                             f"{self.environment}: tokens must expire within {rules.jwt_max} ({rules.source}); "
                             "a stolen token stays valid that long (Open WebUI has no revocation list)"))
        if self.app.default_user_role not in rules.allowed_roles:
            problems.append(("app.defaultUserRole", f"{self.app.default_user_role!r} is not allowed by "
                             f"{rules.source} (allowed: {', '.join(rules.allowed_roles)}): a default role "
                             "of admin hands the whole instance to whoever creates an account"))
        return problems

    def image_references(self) -> dict[str, str]:
        refs = {"image": self.image, "proxy.image": self.proxy.image,
                "migration.toolsImage": self.migration.tools_image}
        if self.redis_enabled:
            refs["redis.image"] = self.redis.image
        return refs


def is_upstream_image(reference: str) -> bool:
    """Upstream Open WebUI (ghcr.io/open-webui/open-webui, or a local build of it) rather than
    the users' open-webui-next (their build that adds MySQL): the repository's last path component says which."""
    name = reference.partition("@")[0]
    last = name.rsplit("/", 1)[-1].partition(":")[0]
    return last == "open-webui"


@dataclass(frozen=True)
class PackRules:
    """The parts of a policy pack config file the config model can check before any resource exists."""

    source: str
    allow_floating_tags: bool
    allowed_host_ips: frozenset[ipaddress.IPv4Address | ipaddress.IPv6Address]
    allow_all_interfaces: bool
    allowed_privileged_ports: frozenset[int]
    jwt_max: str
    jwt_max_seconds: float
    jwt_environments: tuple[str, ...]
    allowed_roles: tuple[str, ...]
    # docker-service-require-min-replicas (policy/service_policies.py): the fewest app tasks of a swarm stack.
    swarm_min_replicas: int = 1
    # docker-service-require-shared-uploads: environments where a scaled-out swarm app keeps uploads off the node.
    shared_uploads_environments: tuple[str, ...] = ("prod",)
    # docker-network-require-encrypted-overlay: whether this environment may turn the overlay's IPsec off.
    allow_unencrypted_overlay: bool = False


POLICY_CONFIG_DIR = Path(__file__).resolve().parent.parent / "policy" / "config"


def pack_rules(environment: str) -> PackRules:
    """policy/config/<environment>.json, with the pack's schema defaults for what it leaves out."""
    path = POLICY_CONFIG_DIR / f"{environment}.json"
    data = json.loads(path.read_text()) if path.exists() else {}

    def get(policy: str, key: str, default: Any) -> Any:
        entry = data.get(policy)
        return entry.get(key, default) if isinstance(entry, dict) else default

    jwt_max = get("openwebui-bound-jwt-lifetime", "maxExpiresIn", "7d")
    return PackRules(
        source=f"policy/config/{environment}.json",
        allow_floating_tags=bool(get("docker-image-require-pinned-tag", "allowFloatingTags", False)),
        allowed_host_ips=frozenset(ipaddress.ip_address(ip) for ip in
                                   get("docker-container-bind-ports-to-allowed-ips", "allowedHostIps", [])),
        allow_all_interfaces=bool(get("docker-container-bind-ports-to-allowed-ips", "allowAllInterfaces", False)),
        allowed_privileged_ports=frozenset(int(p) for p in get("docker-container-restrict-privileged-ports",
                                                               "allowedPrivilegedPorts", [])),
        jwt_max=jwt_max,
        jwt_max_seconds=duration_seconds(jwt_max) or float("inf"),
        jwt_environments=tuple(get("openwebui-bound-jwt-lifetime", "enforceInEnvironments", ["prod"])),
        allowed_roles=tuple(get("openwebui-restrict-default-user-role", "allowedRoles", ["pending", "user"])),
        swarm_min_replicas=int(get("docker-service-require-min-replicas", "minReplicas", 1)),
        shared_uploads_environments=tuple(get("docker-service-require-shared-uploads", "enforceInEnvironments",
                                              ["prod"])),
        allow_unencrypted_overlay=bool(get("docker-network-require-encrypted-overlay", "allowUnencrypted", False)),
    )


class _CrossProblems(ValueError):
    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{k}: {m}" for k, m in problems))


def _loc_to_key(loc: tuple[Any, ...]) -> str:
    # pydantic's loc is the key as written (alias or field name); a part that is not a plain word (an
    # unknown key with a space or newline, an empty key) is quoted so the message stays one readable line.
    parts = [str(p) for p in loc if not str(p).startswith("function-")]
    return ".".join(p if re.fullmatch(r"[A-Za-z0-9_]+", p) else json.dumps(p) for p in parts) or "(stack)"


def _friendly(error: Mapping[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known setting (check the spelling against the README's config reference)"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"must be one of {expected}, not {error.get('input')!r}"
    message = str(error.get("msg", "is invalid"))
    return message.removeprefix("Value error, ")


def validate_tls_pair(certificate: str, private_key: str, hostname: str,
                      now: Optional[dt.datetime] = None) -> list[tuple[str, str]]:
    """Problems with a provided certificate: unreadable, expired, not matching its key or host."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    problems: list[tuple[str, str]] = []
    try:
        cert = x509.load_pem_x509_certificate(certificate.encode())
    except ValueError:
        return [("tlsCertificate", "is not a PEM certificate (-----BEGIN CERTIFICATE-----)")]
    try:
        key = serialization.load_pem_private_key(private_key.encode(), password=None)
    except (ValueError, TypeError):
        # Never echo the key: say only what is wrong with it.
        return [("tlsPrivateKey", "is not an unencrypted PEM private key")]
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    encoding = serialization.Encoding.PEM
    if key.public_key().public_bytes(encoding, public) != cert.public_key().public_bytes(encoding, public):
        problems.append(("tlsPrivateKey", "does not match tlsCertificate (different key pair)"))
    now = now or dt.datetime.now(dt.timezone.utc)
    if cert.not_valid_after_utc <= now:
        problems.append(("tlsCertificate", f"expired on {cert.not_valid_after_utc:%Y-%m-%d}; "
                         "renew it"))
    if cert.not_valid_before_utc > now:
        problems.append(("tlsCertificate", "is not valid yet"))
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.DNSName)
    except x509.ExtensionNotFound:
        names = []
    if names and not any(_host_matches(pattern, hostname) for pattern in names):
        # Either key may be the wrong one: name both.
        problems += [(key, f"the certificate in tlsCertificate is for {', '.join(names)}, not {hostname} "
                      "(the host of publicUrl)") for key in ("tlsCertificate", "publicUrl")]
    return problems


def _host_matches(pattern: str, hostname: str) -> bool:
    if pattern.startswith("*."):
        return hostname.count(".") == pattern.count(".") and hostname.endswith(pattern[1:])
    return pattern.lower() == hostname.lower()


ConfigGetter = Callable[[str], Optional[str]]


def load_settings(raw: Mapping[str, Any], *, stack: str,
                  is_secret: Callable[[str], bool] = lambda key: True,
                  now: Optional[dt.datetime] = None) -> tuple[Settings, PlainSecrets]:
    """Validate the raw `openwebui:` values of one stack.

    `raw` maps keys without the namespace (`database`, `publicUrl`, ...) to the values found in the
    stack file: objects already parsed from YAML/JSON, scalars as strings. Raises ConfigError.
    """
    problems: list[tuple[str, str]] = []
    known = set(SCALAR_KEYS) | set(OBJECT_KEYS)
    for key in raw:
        if key not in known:
            problems.append((key, "is not a known setting (check the spelling against the "
                             "README's config reference)"))
    for key in SECRET_KEYS:
        if raw.get(key) is not None and not is_secret(key):
            problems.append((key, f"holds a credential in plain text; set it with "
                             f"`pulumi config set --secret {key}`"))
        problem = _secret_text_problem(key, raw.get(key))
        if problem:
            problems.append((key, problem))

    data: dict[str, Any] = {k: v for k, v in raw.items() if k in known and k not in SECRET_KEYS}
    data["stack"] = stack
    data.setdefault("environment", stack if stack in ("dev", "staging", "prod") else None)
    if data["environment"] is None:
        problems.append(("environment", f"stack {stack!r} is not dev, staging or prod: set "
                         "environment to one of them"))
        data.pop("environment")
    for key in ("replicas", "uvicornWorkers"):
        if isinstance(data.get(key), str):
            # int() would also take " 2\n", "1_0" and non-ASCII digits: only plain digits are a count.
            if re.fullmatch(r"[0-9]{1,6}", data[key]):
                data[key] = int(data[key])
            else:
                problems.append((key, f"must be a whole number, not {data[key]!r}"))
                data.pop(key)

    settings: Optional[Settings] = None
    try:
        settings = Settings.model_validate(data)
    except ValidationError as err:
        for error in err.errors():
            ctx_error = error.get("ctx", {}).get("error")
            if isinstance(ctx_error, _CrossProblems):
                problems.extend(ctx_error.problems)
            else:
                problems.append((_loc_to_key(tuple(error["loc"])), _friendly(error)))

    def secret(key: str) -> Optional[str]:
        value = raw.get(key)
        return value if isinstance(value, str) else None

    secrets = PlainSecrets(
        admin_password=secret("adminPassword"),
        database_admin_password=secret("databaseAdminPassword"),
        tls_private_key=secret("tlsPrivateKey"),
        registry_password=secret("registryPassword"),
        backup_encryption_key=secret("backupEncryptionKey"),
        docker_ssh_key=secret("dockerSshKey"),
        s3_secret_access_key=secret("s3SecretAccessKey"),
    )
    if settings is not None:
        problems.extend(_secret_problems(settings, secrets, now))
    if problems:
        raise ConfigError(problems)
    assert settings is not None
    return settings, secrets


# The policy pack's weak values (openwebui-require-strong-secrets) that a 16+ character password can
# still be; tests/policy checks that whatever this accepts, the pack accepts too.
_WEAK_WORDS = ("changeme", "t0p-s3cr3t")
_WEAK_LONG = frozenset({"your-secret-key-here"})


def weak_password_problem(password: str) -> Optional[str]:
    """Why an admin password is guessable (never quoting it), or None."""
    if len(password) < 16:
        return "must be at least 16 characters"
    lowered = password.strip().lower()
    if lowered in _WEAK_LONG or any(word in lowered for word in _WEAK_WORDS):
        return "is a well-known default or placeholder"
    if len(set(password)) <= 2:
        return "repeats one or two characters"
    return None


def _secret_text_problem(key: str, value: Any) -> Optional[str]:
    """What is wrong with a secret's text, never quoting it."""
    if value is None:
        return None
    if not isinstance(value, str):
        return "must be text"
    # Secrets reach container environments and the migration command: one line, printable.
    found = control_character(value, multiline=key in _MULTILINE_KEYS)
    if found:
        return f"contains a control or invisible character ({found}); set it again without it"
    return None


def _secret_problems(settings: Settings, secrets: PlainSecrets,
                     now: Optional[dt.datetime]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if settings.database.type != "sqlite" and not secrets.database_admin_password:
        problems.append(("databaseAdminPassword", f"database.type {settings.database.type} needs "
                         "the admin user's password: `pulumi config set --secret "
                         "databaseAdminPassword ...`"))
    if settings.tls.mode == "provided":
        if not secrets.tls_private_key:
            problems.append(("tlsPrivateKey", "tls.mode is `provided`: set the key with "
                             "`pulumi config set --secret tlsPrivateKey < key.pem`"))
        elif settings.tls_certificate:
            problems.extend(validate_tls_pair(settings.tls_certificate, secrets.tls_private_key,
                                              settings.hostname, now))
    if settings.registry and not secrets.registry_password:
        problems.append(("registryPassword", "registry is set: give its token with "
                         "`pulumi config set --secret registryPassword ...`"))
    if settings.docker.is_ssh and not secrets.docker_ssh_key:
        problems.append(("dockerSshKey", "docker.host is ssh://: give the SSH private key that logs in there "
                         "with `pulumi config set --secret dockerSshKey < key` (an OpenSSH key without passphrase)"))
    elif secrets.docker_ssh_key is not None:
        problem = dockerhost.private_key_problem(secrets.docker_ssh_key)
        if problem:
            problems.append(("dockerSshKey", problem))
    if settings.storage.provider == "s3" and not secrets.s3_secret_access_key:
        problems.append(("s3SecretAccessKey", "storage.provider is s3: give the secret access key of "
                         "storage.s3.accessKeyId with `pulumi config set --secret s3SecretAccessKey`"))
    elif settings.storage.provider != "s3" and secrets.s3_secret_access_key is not None:
        problems.append(("s3SecretAccessKey", "is set but storage.provider is not s3; remove it or set "
                         "storage.provider: s3"))
    if secrets.admin_password is not None:
        problem = weak_password_problem(secrets.admin_password)
        if problem:
            problems.append(("adminPassword", f"{problem} (or leave it unset and a random one is "
                             "generated)"))
    return problems
