"""Helpers for the policy pack tests (fixtures in conftest.py).

Props are built in the engine's wire format (camelCase, unknowns as the SDK's sentinel strings, secrets in
the secret envelope) and then passed through pulumi-policy's own deserializer and unknown-checking proxy,
exactly as its Analyze/AnalyzeStack/Remediate handlers do, so the validators see what they see in a preview.
The good containers mirror what components/hardening.py, webui.py, proxy.py and redis.py declare.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pulumi_policy.proxy import UNKNOWN_ARRAY_VALUE, UNKNOWN_STRING_VALUE

from deploy import secret_sig as sig
from tests.policy.analyzer import (  # noqa: F401  (re-exported for the policy tests)
    CONTAINER,
    POLICY_DIR,
    ROOT,
    engine_config,
    engine_props,
    pack_config,
    resource_args,
    stack_args,
    urn_of,
)

REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
UNKNOWN_STR = UNKNOWN_STRING_VALUE
UNKNOWN_LIST = UNKNOWN_ARRAY_VALUE


def secret(value: Any) -> dict[str, Any]:
    """A value in the engine's secret envelope."""
    return {sig.KEY: sig.SECRET, "value": value}


def fake_secret(name: str, length: int) -> str:
    """A deterministic stand-in for a pulumi-random value (hex, so it has no weak patterns)."""
    text = ""
    counter = 0
    while len(text) < length:
        text += hashlib.sha256(f"{name}-{counter}".encode()).hexdigest()
        counter += 1
    return text[:length]


# --- engine-shaped arguments ---------------------------------------------------------------------------


def violations(validator: Callable[..., None], props: Mapping[str, Any], **kwargs: Any) -> list[str]:
    """Messages a resource validator reports for ``props``."""
    found: list[str] = []
    validator(resource_args(props, **kwargs), lambda message, urn=None: found.append(message))
    return found


def stack_violations(validator: Callable[..., None], resources: Iterable[tuple[str, str, Mapping[str, Any]]],
                     config: Mapping[str, Any] | None = None) -> list[tuple[str, str | None]]:
    """(message, urn) pairs a stack validator reports."""
    found: list[tuple[str, str | None]] = []
    validator(stack_args(resources, config), lambda message, urn=None: found.append((message, urn)))
    return found


# --- the good containers (mirroring the program) -------------------------------------------------------

APP_IMAGE = {"dev": "openwebui-local/open-webui:0.12.4", "staging": "openwebui-local/open-webui:0.12.4",
             "prod": "registry.example.com/acme/open-webui-next:v1.4.2-slim"}
PUBLIC_URL = {"dev": "https://localhost:8443", "staging": "https://localhost:9443",
              "prod": "https://chat.example.com"}
HOST_PORTS = {"dev": (8080, 8443), "staging": (9080, 9443), "prod": (80, 443)}
BIND_IP = {"dev": "127.0.0.1", "staging": "127.0.0.1", "prod": "203.0.113.10"}
PROXY_IP = {"dev": "172.30.10.2", "staging": "172.30.20.2", "prod": "172.30.30.2"}
IMAGE_ID = "sha256:" + "1" * 64


def labels(role: str, environment: str, image: str) -> list[dict[str, str]]:
    return [
        {"label": "openwebui.role", "value": role},
        {"label": "openwebui.environment", "value": environment},
        {"label": "openwebui.image", "value": image},
        {"label": "openwebui.stack", "value": environment},
    ]


def hardened(role: str, environment: str, image: str, user: str, memory: int, cpus: str,
             health: list[str]) -> dict[str, Any]:
    """components/hardening.py's inputs, plus the defaults the docker provider's Check fills in."""
    return {
        "image": IMAGE_ID,
        "user": user,
        "readOnly": True,
        "tmpfs": {"/tmp": "rw,noexec,nosuid,size=256m"},
        "capabilities": {"drops": ["ALL"]},
        "securityOpts": ["no-new-privileges:true"],
        "memory": memory,
        "memorySwap": memory,
        "cpus": cpus,
        "restart": "unless-stopped",
        "healthcheck": {"tests": ["CMD", *health], "interval": "10s", "timeout": "5s", "retries": 6,
                        "startPeriod": "30s", "startInterval": "0s"},
        "labels": labels(role, environment, image),
        "logDriver": "json-file",
        "logOpts": {"max-size": "10m", "max-file": "3"},
        "mustRun": True,
        "networkMode": "bridge",  # the provider's schema default, present even with networksAdvanced
        "networksAdvanced": [{"name": f"openwebui-{environment}"}],
        "ulimits": [{"name": "nproc", "soft": 1024, "hard": 1024}],
        "wait": True,
        "start": True,
    }


def app_env(environment: str, *, secrets: bool = True) -> list[Any]:
    url = PUBLIC_URL[environment]
    plain = {
        "WEBUI_NAME": "Open WebUI",
        "WEBUI_URL": url,
        "ENABLE_SIGNUP": "false",
        "ENABLE_LOGIN_FORM": "true",
        "DEFAULT_USER_ROLE": "pending",
        "JWT_EXPIRES_IN": "7d" if environment == "prod" else "1d",
        "WEBUI_ADMIN_EMAIL": "admin@example.com",
        "WEBUI_ADMIN_NAME": "Administrator",
        "ENABLE_PERSISTENT_CONFIG": "true",
        "ENABLE_DB_MIGRATIONS": "false",
        "DATA_DIR": "/app/backend/data",
        "HOME": "/tmp",
        "UVICORN_WORKERS": "1",
        "WEBUI_SESSION_COOKIE_SECURE": "true",
        "WEBUI_AUTH_COOKIE_SECURE": "true",
        "WEBUI_SESSION_COOKIE_SAME_SITE": "strict",
        "WEBUI_AUTH_COOKIE_SAME_SITE": "strict",
        "CORS_ALLOW_ORIGIN": url,
        "FORWARDED_ALLOW_IPS": PROXY_IP[environment],
        "ENABLE_PIP_INSTALL_FRONTMATTER_REQUIREMENTS": "false",
        "ENABLE_WEBSOCKET_SUPPORT": "true",
    }
    if environment == "prod":
        plain["WEBSOCKET_MANAGER"] = "redis"
    items: list[Any] = [f"{key}={value}" for key, value in sorted(plain.items())]
    if not secrets:
        return items
    redis = f"redis://:{fake_secret('redis', 40)}@openwebui-redis:6379/0"
    database = {
        "dev": "sqlite:////app/backend/data/webui.db",
        "staging": f"postgresql://openwebui_staging:{fake_secret('db', 32)}@host.docker.internal:5432/"
                   "openwebui_staging?sslmode=require",
        "prod": f"mysql+pymysql://openwebui:{fake_secret('db', 32)}@db.example.com:3306/openwebui?charset=utf8mb4",
    }[environment]
    secret_env = {
        "WEBUI_SECRET_KEY": fake_secret("webui", 64),
        "OAUTH_SESSION_TOKEN_ENCRYPTION_KEY": fake_secret("fernet", 43) + "=",
        "DATABASE_URL": database,
        "WEBUI_ADMIN_PASSWORD": fake_secret("admin", 24),
    }
    if environment == "prod":
        secret_env.update({"REDIS_URL": redis, "WEBSOCKET_REDIS_URL": redis})
    items += [secret(f"{key}={value}") for key, value in sorted(secret_env.items())]
    return items


def make_app(environment: str = "prod") -> dict[str, Any]:
    props = hardened("app", environment, APP_IMAGE[environment], "1000:1000", 4096, "2.0",
                     ["curl", "-fsS", "http://127.0.0.1:8080/health"])
    props.update({
        "envs": app_env(environment),
        "networksAdvanced": [{"name": f"openwebui-{environment}", "aliases": ["openwebui-app"]}],
        "mounts": [{"target": "/app/backend/data", "source": f"openwebui-{environment}-data", "type": "volume"}],
        "hosts": [{"host": "host.docker.internal", "ip": "host-gateway"}],
        "waitTimeout": 300,
        "stopTimeout": 30,
    })
    return props


def make_proxy(environment: str = "prod") -> dict[str, Any]:
    props = hardened("proxy", environment, "openwebui-local/nginx:1.22.1", "101:101", 256, "0.5",
                     ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/"])
    http, https = HOST_PORTS[environment]
    props.update({
        "envs": ["NGINX_CONF=events {}", "TLS_CERTIFICATE=-----BEGIN CERTIFICATE-----",
                 secret("TLS_PRIVATE_KEY=-----BEGIN PRIVATE KEY-----")],
        "networksAdvanced": [{"name": f"openwebui-{environment}", "ipv4Address": PROXY_IP[environment]}],
        "ports": [
            {"internal": 8080, "external": http, "ip": BIND_IP[environment], "protocol": "tcp"},
            {"internal": 8443, "external": https, "ip": BIND_IP[environment], "protocol": "tcp"},
        ],
        "waitTimeout": 120,
    })
    return props


def make_redis(environment: str = "prod") -> dict[str, Any]:
    props = hardened("redis", environment, "openwebui-local/redis:7.0.15", "1000:1000", 512, "0.5",
                     ["sh", "-c", 'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli ping | grep -q PONG'])
    props.update({
        "envs": [secret(f"REDIS_PASSWORD={fake_secret('redis', 40)}")],
        "networksAdvanced": [{"name": f"openwebui-{environment}", "aliases": ["openwebui-redis"]}],
        "waitTimeout": 60,
    })
    return props


def make_stack(environment: str = "prod", replicas: int | None = None) -> list[tuple[str, str, dict[str, Any]]]:
    """(type, name, props) for a whole good stack: images, app replicas, proxy and (prod) Redis."""
    replicas = replicas if replicas is not None else (2 if environment == "prod" else 1)
    resources: list[tuple[str, str, dict[str, Any]]] = [
        (REMOTE_IMAGE, "app-image", {"name": APP_IMAGE[environment], "keepLocally": True}),
        (REMOTE_IMAGE, "proxy-image", {"name": "openwebui-local/nginx:1.22.1", "keepLocally": True}),
    ]
    resources += [(CONTAINER, f"webui-app-{index}", make_app(environment)) for index in range(replicas)]
    resources.append((CONTAINER, "proxy-nginx", make_proxy(environment)))
    if environment == "prod":
        resources.append((REMOTE_IMAGE, "redis-image", {"name": "openwebui-local/redis:7.0.15", "keepLocally": True}))
        resources.append((CONTAINER, "redis-server", make_redis(environment)))
    return resources


def set_env(props: dict[str, Any], key: str, value: str | None) -> dict[str, Any]:
    """A copy of ``props`` with env ``key`` replaced (or removed when value is None)."""
    props = copy.deepcopy(props)
    kept = [item for item in props["envs"] if not _env_key(item) == key]
    if value is not None:
        kept.append(f"{key}={value}")
    props["envs"] = kept
    return props


def _env_key(item: Any) -> str | None:
    if isinstance(item, dict) and sig.KEY in item:
        item = item["value"]
    return item.partition("=")[0] if isinstance(item, str) else None
