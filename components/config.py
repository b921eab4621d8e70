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
import re
from dataclasses import dataclass
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

from components.images import ImageRef, parse_image_ref

NAMESPACE = "openwebui"
Environment = Literal["dev", "staging", "prod"]

# Keys whose values are credentials: they must be stored with `pulumi config set --secret`.
SECRET_KEYS = (
    "adminPassword",
    "databaseAdminPassword",
    "tlsPrivateKey",
    "registryPassword",
    "backupEncryptionKey",
)
# Keys that are plain strings at the top level of the namespace (everything else is an object).
SCALAR_KEYS = ("environment", "publicUrl", "image", "imageVariant", "replicas", "uvicornWorkers",
               "tlsCertificate", *SECRET_KEYS)
OBJECT_KEYS = ("database", "tls", "proxy", "admin", "app", "resources", "redis", "registry",
               "network", "storage", "migration", "backup")

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
    "RESET_CONFIG_ON_START",
})

_HOSTNAME_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_SIZE = re.compile(r"^[0-9]+[kKmMgG]?$")
_DURATION = re.compile(r"^(-1|[0-9]+(ms|s|m|h|d|w))$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ConfigError(Exception):
    """A stack configuration problem; each entry names one key."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        lines = [f"  {NAMESPACE}:{key}: {message}" for key, message in problems]
        super().__init__("invalid stack configuration:\n" + "\n".join(lines))


class _Model(BaseModel):
    """Stack objects use camelCase keys and refuse unknown ones (a typo is an error, not a no-op)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid",
                              frozen=True, str_strip_whitespace=False)


def is_valid_hostname(host: str) -> bool:
    if not host or len(host) > 253 or host != host.strip():
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    return all(_HOSTNAME_LABEL.match(label) for label in host.rstrip(".").split("."))


def _port(value: int) -> int:
    if not 1 <= value <= 65535:
        raise ValueError("must be a TCP port between 1 and 65535")
    return value


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
    # MySQL only: the client host the app user may connect from as the server sees it (seed 000):
    # the Docker host's address, or e.g. 172.30.30.0/255.255.255.0; `%` only when written so.
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
    # Take over an existing, non-empty database that the app role does not own (seed 002).
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
        if value is not None and not value.startswith("/"):
            raise ValueError("must be an absolute path to a PEM file")
        return value

    @model_validator(mode="after")
    def _server_fields(self) -> "DatabaseSettings":
        if self.type != "sqlite":
            if not self.host:
                raise ValueError(f"type {self.type} needs `host` (the database server's name or IP)")
            if not self.admin_user:
                raise ValueError(f"type {self.type} needs `adminUser` (a server user allowed to "
                                 "create databases and users); its password goes in "
                                 "openwebui:databaseAdminPassword (--secret)")
        if self.type == "mysql" and not self.user_host:
            raise ValueError("type mysql needs `userHost`: the host the app connects from as the "
                             "server sees it (the Docker host's address, or network/netmask); "
                             "`%` allows any host")
        return self

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
        if not _SIZE.match(value):
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
        if not _EMAIL.match(value):
            raise ValueError(f"{value!r} is not an e-mail address")
        return value.lower()


class AppSettings(_Model):
    """`openwebui:app`: Open WebUI's own settings (seed 000's environment list)."""

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
        if not _DURATION.match(value):
            raise ValueError(f"{value!r} is not a duration such as 30m, 12h, 7d or 4w")
        return value

    @field_validator("openai_base_url", "ollama_base_url")
    @classmethod
    def _check_url(cls, value: Optional[str]) -> Optional[str]:
        if value is None:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @field_validator("extra_env")
    @classmethod
    def _check_env(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not _ENV_NAME.match(key):
                raise ValueError(f"{key!r} is not an environment variable name (A-Z, 0-9, _)")
            if key in RESERVED_ENV:
                raise ValueError(f"{key} is set by the program; use the dedicated config key "
                                 "instead (see README, stack config reference)")
        return value


class ContainerResources(_Model):
    memory_mb: int = Field(..., ge=64, le=1_048_576)
    cpus: float = Field(..., gt=0, le=256)


def _default_resources() -> dict[str, ContainerResources]:
    return {
        "app": ContainerResources(memory_mb=2048, cpus=1.0),
        "proxy": ContainerResources(memory_mb=256, cpus=0.5),
        "redis": ContainerResources(memory_mb=256, cpus=0.5),
        "migration": ContainerResources(memory_mb=1024, cpus=1.0),
        "backup": ContainerResources(memory_mb=512, cpus=0.5),
    }


class ResourceSettings(_Model):
    """`openwebui:resources`: memory and CPU limits per container role."""

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


class NetworkSettings(_Model):
    """`openwebui:network`: the private network the containers share (nothing else joins it)."""

    subnet: str = "172.30.0.0/24"
    # Defaults to openwebui-<stack>.
    name: Optional[str] = None

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


class StorageSettings(_Model):
    """`openwebui:storage`: the data volume."""

    volume_name: Optional[str] = None
    # `pulumi destroy` keeps the volume (and its data) unless this is true.
    delete_data_on_destroy: bool = False


class MigrationSettings(_Model):
    """`openwebui:migration`: the one-shot migration step."""

    # Host directory for pre-migration backups.
    backup_dir: str = "/var/backups/openwebui"
    tools_image: str = "openwebui-local/tools:1.0.0"
    timeout_seconds: int = Field(900, ge=30, le=86400)

    @field_validator("backup_dir")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must be an absolute path")
        return value


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
        if not value.startswith("/"):
            raise ValueError("must be an absolute path")
        return value


@dataclass(frozen=True, kw_only=True)
class PlainSecrets:
    """Secret config values read for validation; the program wraps them in Output.secret."""

    admin_password: Optional[str] = None
    database_admin_password: Optional[str] = None
    tls_private_key: Optional[str] = None
    registry_password: Optional[str] = None
    backup_encryption_key: Optional[str] = None


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

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme != "https":
            raise ValueError(f"{value!r} must start with https:// (this deployment is HTTPS-only)")
        if not parts.hostname or not is_valid_hostname(parts.hostname) or " " in value:
            raise ValueError(f"{value!r} has no valid hostname (no spaces; e.g. https://chat.example.com)")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError("must be an origin only, e.g. https://chat.example.com (no path)")
        return value.rstrip("/")

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
                parsed = parse_image_ref(ref)
            except ValueError as err:
                problems.append((key, str(err)))
                continue
            if self.environment == "prod" and parsed.floating:
                problems.append((key, f"{ref!r} floats ({parsed.describe()}); prod needs a pinned "
                                      "tag such as v1.2.3-slim, git-<sha>-slim, or an @sha256: digest"))
        if self.database.type == "mysql" and self.image_variant != "next":
            problems.append(("database.type", "mysql needs the open-webui-next image "
                             "(imageVariant: next); upstream Open WebUI supports only sqlite and "
                             "postgresql"))
        if (self.replicas > 1 or self.uvicorn_workers > 1) and self.redis.enabled is False:
            problems.append(("redis.enabled", "several replicas or workers need Redis for "
                             "websockets; remove `enabled: false`"))
        if (self.replicas > 1) and self.database.type == "sqlite":
            problems.append(("replicas", "several replicas cannot share one SQLite file; use "
                             "database.type postgresql or mysql, or replicas: 1"))
        if self.tls.mode == "provided" and not self.tls_certificate:
            problems.append(("tlsCertificate", "tls.mode is `provided`: set the PEM certificate "
                             "chain here and its key with `pulumi config set --secret tlsPrivateKey`"))
        if self.environment == "prod" and self.tls.mode == "self-signed":
            problems.append(("tls.mode", "prod needs a real certificate: `provided` with "
                             "tlsCertificate and tlsPrivateKey"))
        if self.public_port != self.proxy.https_port:
            problems.append(("publicUrl", f"its port {self.public_port} differs from "
                             f"proxy.httpsPort {self.proxy.https_port}"))
        if problems:
            raise _CrossProblems(problems)
        return self


class _CrossProblems(ValueError):
    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{k}: {m}" for k, m in problems))


def _loc_to_key(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if not str(p).startswith("function-")]
    return ".".join(to_camel(p) if "_" in p else p for p in parts) or "(stack)"


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
    from cryptography.x509.oid import ExtensionOID

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
        names = cert.extensions.get_extension_for_oid(
            ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = []
    if names and not any(_host_matches(pattern, hostname) for pattern in names):
        problems.append(("tlsCertificate", f"is for {', '.join(names)}, not {hostname} "
                         "(the host of publicUrl)"))
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

    data: dict[str, Any] = {k: v for k, v in raw.items() if k in known and k not in SECRET_KEYS}
    data["stack"] = stack
    data.setdefault("environment", stack if stack in ("dev", "staging", "prod") else None)
    if data["environment"] is None:
        problems.append(("environment", f"stack {stack!r} is not dev, staging or prod: set "
                         "environment to one of them"))
        data.pop("environment")
    for key in ("replicas", "uvicornWorkers"):
        if isinstance(data.get(key), str):
            try:
                data[key] = int(data[key])
            except ValueError:
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

    secrets = PlainSecrets(
        admin_password=raw.get("adminPassword"),
        database_admin_password=raw.get("databaseAdminPassword"),
        tls_private_key=raw.get("tlsPrivateKey"),
        registry_password=raw.get("registryPassword"),
        backup_encryption_key=raw.get("backupEncryptionKey"),
    )
    if settings is not None:
        problems.extend(_secret_problems(settings, secrets, now))
    if problems:
        raise ConfigError(problems)
    assert settings is not None
    return settings, secrets


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
    if secrets.admin_password is not None and len(secrets.admin_password) < 16:
        problems.append(("adminPassword", "must be at least 16 characters (or leave it unset "
                         "and a random one is generated)"))
    if settings.environment == "prod" and settings.app.jwt_expires_in == "-1":
        problems.append(("app.jwtExpiresIn", "tokens that never expire are refused in prod; "
                         "use e.g. 7d"))
    return problems
