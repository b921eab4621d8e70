"""Cross-resource rules, run once per preview/update over every resource's final (planned) outputs.

Violations name the offending container's URN; secret values are compared but never printed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from openwebui_policies import cors_origins, https_origin
from policy_kit import int_setting, schema, setting
from policy_props import UNKNOWN, ContainerView, as_int, as_list, container_view
from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)


@dataclass(frozen=True)
class StackContainer:
    resource: PolicyResource
    view: ContainerView

    @property
    def urn(self) -> str:
        return self.resource.urn

    @property
    def name(self) -> str:
        return self.resource.name


def stack_containers(resources: Iterable[PolicyResource]) -> list[StackContainer]:
    found = []
    for resource in resources:
        view = container_view(resource.resource_type, resource.props)
        if view is not None:
            found.append(StackContainer(resource, view))
    return found


def with_role(containers: Iterable[StackContainer], role: str) -> list[StackContainer]:
    return [c for c in containers if c.view.role is not UNKNOWN and c.view.role == role]


def published_ports(container: StackContainer) -> list[dict[str, Any]] | None:
    """Published port mappings, or None when they cannot be known yet."""
    ports = as_list(container.view.get("ports"))
    if ports is UNKNOWN:
        return None
    return [port for port in ports if isinstance(port, dict)]


# --- only the proxy publishes ports ------------------------------------------------------------------


def validate_ports_only_on_proxy(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for container in stack_containers(args.resources):
        role = container.view.role
        if role is UNKNOWN or role == "proxy":
            continue
        ports = published_ports(container)
        if ports or container.view.get("publishAllPorts") is True:
            report_violation(
                f"container {container.name} (role {role!r}) publishes host ports; only the proxy may, and the app "
                "is reached over the private network.",
                container.urn,
            )


# --- HTTPS end to end --------------------------------------------------------------------------------

HTTPS_SCHEMA: Final = schema(
    proxyHttpsPort={"type": "integer", "default": 8443,
                    "description": "The proxy's container port that serves TLS."},
    requirePublicPortMatch={"type": "boolean", "default": True,
                            "description": "WEBUI_URL's port must be the host port the proxy's TLS port is "
                                           "published on (turn off when another load balancer sits in front)."},
)


def _url_port(origin: str) -> int:
    return urlsplit(origin).port or 443


def tls_host_ports(proxies: Iterable[StackContainer], https_port: int) -> set[int] | None:
    """Host ports the proxies publish their TLS port on; None when some mapping is still unknown."""
    found: set[int] = set()
    for proxy in proxies:
        ports = published_ports(proxy)
        if ports is None:
            return None
        for port in ports:
            internal, external = as_int(port.get("internal")), as_int(port.get("external"))
            if internal is UNKNOWN or external is UNKNOWN:
                return None
            if internal == https_port and isinstance(external, int):
                found.add(external)
    return found


def validate_https_end_to_end(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    containers = stack_containers(args.resources)
    apps = with_role(containers, "app")
    if not apps:
        return
    proxies = with_role(containers, "proxy")
    if not proxies:
        report_violation("there is no proxy container (role=proxy) to terminate TLS in front of the app.", None)
        return
    https_port = int_setting(args, HTTPS_SCHEMA, "proxyHttpsPort")
    https_hosts = tls_host_ports(proxies, https_port)
    if https_hosts is not None and not https_hosts:
        report_violation(f"the proxy does not publish its TLS port {https_port} on the host.", proxies[0].urn)

    origins: dict[str, str] = {}
    for app in apps:
        urls = app.view.env.values("WEBUI_URL")
        if urls is UNKNOWN:
            continue
        for url in set(urls):
            origin = https_origin(url)
            if origin is None:
                continue  # openwebui-require-https-url reports the scheme on the resource itself
            origins[app.urn] = origin
            if (setting(args, HTTPS_SCHEMA, "requirePublicPortMatch") and https_hosts
                    and _url_port(origin) not in https_hosts):
                report_violation(
                    f"WEBUI_URL of {app.name} uses port {_url_port(origin)}, but the proxy publishes TLS on host "
                    f"port(s) {sorted(https_hosts)}.",
                    app.urn,
                )
        cors_values = app.view.env.values("CORS_ALLOW_ORIGIN")
        if cors_values is UNKNOWN or app.urn not in origins:
            continue
        for value in set(cors_values):
            for origin in cors_origins(value):
                if https_origin(origin) != origins[app.urn]:
                    report_violation(
                        f"CORS_ALLOW_ORIGIN of {app.name} allows {origin!r}, which is not the public origin "
                        f"{origins[app.urn]} from WEBUI_URL.",
                        app.urn,
                    )
    if len(set(origins.values())) > 1:
        report_violation(f"the app containers disagree on WEBUI_URL: {sorted(set(origins.values()))}.", None)


# --- one secret key and one database ----------------------------------------------------------------

SHARED_KEYS: Final = ("WEBUI_SECRET_KEY", "DATABASE_URL")


def validate_shared_secret_key_and_database(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    apps = with_role(stack_containers(args.resources), "app")
    for key in SHARED_KEYS:
        seen: dict[str, str] = {}
        for app in apps:
            values = app.view.env.values(key)
            if values is UNKNOWN:
                continue
            distinct = set(values)
            if not distinct:
                report_violation(f"{key} is not set on {app.name}; every app container needs the shared one.",
                                 app.urn)
            elif len(distinct) > 1:
                report_violation(f"{key} is set more than once with different values on {app.name}.", app.urn)
            else:
                seen[app.urn] = distinct.pop()
        if len(set(seen.values())) > 1:
            # Values are secrets: say who differs, never what.
            report_violation(
                f"the app containers use {len(set(seen.values()))} different {key} values; sessions and data "
                "must be shared, so pass all of them the same one.",
                None,
            )


# --- Redis when scaled out ---------------------------------------------------------------------------

REDIS_SCHEMA: Final = schema(
    allowExternalRedis={"type": "boolean", "default": False,
                        "description": "Accept a REDIS_URL without a Redis container (role=redis) in the stack."},
)


def validate_redis_for_scale_out(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    containers = stack_containers(args.resources)
    apps = with_role(containers, "app")
    workers = [as_int(value) for app in apps for value in _known(app.view.env.values("UVICORN_WORKERS"))]
    if len(apps) <= 1 and not any(isinstance(w, int) and w > 1 for w in workers):
        return
    reason = f"{len(apps)} app containers" if len(apps) > 1 else "UVICORN_WORKERS > 1"
    redis_urls: set[str] = set()
    for app in apps:
        managers = app.view.env.values("WEBSOCKET_MANAGER")
        if managers is not UNKNOWN and (not managers or any(m.strip().lower() != "redis" for m in managers)):
            report_violation(f"{reason}: {app.name} needs WEBSOCKET_MANAGER=redis.", app.urn)
        urls = app.view.env.values("REDIS_URL")
        if urls is UNKNOWN:
            continue
        if not urls or not all(u.strip() for u in urls):
            report_violation(f"{reason}: {app.name} needs REDIS_URL.", app.urn)
        redis_urls.update(u for u in urls if u.strip())
    if len(redis_urls) > 1:
        report_violation(f"{reason}: the app containers use different REDIS_URL values.", None)
    if not setting(args, REDIS_SCHEMA, "allowExternalRedis") and not with_role(containers, "redis"):
        report_violation(f"{reason}, but the stack has no Redis container (role=redis).", None)


def _known(values: Any) -> tuple[str, ...]:
    return () if values is UNKNOWN else tuple(values)


STACK_POLICIES: Final[list[StackValidationPolicy]] = [
    StackValidationPolicy(
        name="openwebui-publish-ports-only-on-proxy",
        description="Only the proxy container publishes host ports (CIS 5.8/5.14 context); remove `ports` from "
        "app, Redis and backup containers.",
        validate=validate_ports_only_on_proxy,
        severity=Severity.CRITICAL,
        remediation_steps="Remove `ports` and `publishAllPorts` from every container whose role is not proxy.",
        tags=["open-webui", "stack"],
    ),
    StackValidationPolicy(
        name="openwebui-enforce-https-end-to-end",
        description="A proxy publishes TLS for the app, and every app's WEBUI_URL and CORS_ALLOW_ORIGIN name that "
        "same https origin; align the proxy ports, WEBUI_URL and CORS_ALLOW_ORIGIN.",
        validate=validate_https_end_to_end,
        severity=Severity.HIGH,
        remediation_steps="Publish the proxy's TLS port on the port WEBUI_URL uses and set CORS_ALLOW_ORIGIN to "
        "WEBUI_URL's origin on every app container.",
        config_schema=HTTPS_SCHEMA,
        tags=["open-webui", "stack"],
    ),
    StackValidationPolicy(
        name="openwebui-share-secret-key-and-database",
        description="Every Open WebUI app container uses the same WEBUI_SECRET_KEY and DATABASE_URL; take both "
        "from the one secrets and database component.",
        validate=validate_shared_secret_key_and_database,
        severity=Severity.HIGH,
        remediation_steps="Pass the same secret key and database URL Outputs to every app container.",
        tags=["open-webui", "stack"],
    ),
    StackValidationPolicy(
        name="openwebui-require-redis-for-scale-out",
        description="More than one app container, or UVICORN_WORKERS > 1, requires Redis (WEBSOCKET_MANAGER=redis "
        "and one shared REDIS_URL); enable the Redis component.",
        validate=validate_redis_for_scale_out,
        severity=Severity.HIGH,
        remediation_steps="Enable Redis in stack config and pass WEBSOCKET_MANAGER=redis and REDIS_URL to the apps.",
        config_schema=REDIS_SCHEMA,
        tags=["open-webui", "stack"],
    ),
]
