"""nginx in front of Open WebUI: the only container that publishes ports, HTTPS only."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Optional, Sequence

import pulumi
import pulumi_docker as docker

from components.hardening import (
    TYPE_PREFIX,
    ContainerProfile,
    container_opts,
    env_list,
    hardened_container_args,
    limit_pids,
)

TEMPLATE = Path(__file__).parent / "templates" / "nginx.conf.tmpl"
APP_ALIAS = "openwebui-app"
# Mozilla server-side TLS 6.0 intermediate ciphers (TLS 1.2); TLS 1.3 suites are fixed by OpenSSL.
INTERMEDIATE_CIPHERS = ":".join([
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
])
# Headers some auth proxies use to assert an identity; clients must never be able to send them.
TRUSTED_AUTH_HEADERS = ("X-Forwarded-Email", "X-Forwarded-User", "X-Forwarded-Preferred-Username",
                        "X-Forwarded-Groups", "X-Forwarded-Name", "X-Auth-Request-Email",
                        "X-Auth-Request-User", "X-Auth-Request-Groups",
                        "X-Auth-Request-Preferred-Username", "Remote-User", "Remote-Email",
                        "Remote-Name", "Remote-Groups", "X-Remote-User", "X-Webauth-User",
                        "X-User-Email")


@dataclass(frozen=True, kw_only=True)
class NginxConfigArgs:
    server_name: str
    public_port: int
    tls_profile: str = "intermediate"
    client_max_body_size: str = "100M"
    auth_rate_per_minute: int = 10
    auth_burst: int = 5
    read_timeout_seconds: int = 3600
    hsts_max_age: int = 63072000
    # POSTs per minute per client address to the upload endpoint, and how many may come at once
    # (a chat attachment or a knowledge base's files are sent in parallel, one request each).
    upload_rate_per_minute: int = 60
    upload_burst: int = 30
    # Requests per client address held open at the app at once (static files excepted). Every
    # open tab holds one websocket; a signed-in page makes a few dozen API calls at once, and
    # everyone behind one NAT shares the budget.
    app_connections_per_ip: int = 256
    # Enforce the Content-Security-Policy (False: report-only, for trying a change out).
    csp_enforce: bool = True
    # For negative tests only: an explicit protocol list overrides the profile.
    protocols_override: Optional[Sequence[str]] = None
    # The name nginx resolves for the app: the containers' network alias, or on a swarm the app service's name
    # (resolvable only for tasks that are healthy: components/swarm_app.py).
    app_host: str = APP_ALIAS


def content_security_policy(args: NginxConfigArgs) -> str:
    """What Open WebUI's web app needs and nothing more (measured with tests/browser)."""
    websocket_origin = f"wss://{args.server_name}" + (
        "" if args.public_port == 443 else f":{args.public_port}")
    return "; ".join([
        "default-src 'self'",
        # index.html carries inline bootstrap scripts (SvelteKit's start script, the theme
        # switch; open-webui src/app.html) whose hashes change with every release.
        "script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        # Socket.IO's websocket, named with its origin: older browsers do not match wss: to 'self'.
        f"connect-src 'self' {websocket_origin}",
        "media-src 'self' data: blob:",
        "worker-src 'self' blob:",
        "frame-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def render_nginx_conf(args: NginxConfigArgs) -> str:
    if args.protocols_override:
        # Negative tests only: TLS 1.0/1.1 have no AEAD suites, so add CBC ones and lower OpenSSL's
        # security level, or the "bad" server would silently still refuse the old protocols.
        protocols = " ".join(args.protocols_override)
        ciphers = (f"    ssl_ciphers {INTERMEDIATE_CIPHERS}:ECDHE-ECDSA-AES128-SHA:"
                   "ECDHE-RSA-AES128-SHA:@SECLEVEL=0;\n")
    elif args.tls_profile == "modern":
        protocols, ciphers = "TLSv1.3", ""
    else:
        protocols, ciphers = "TLSv1.2 TLSv1.3", f"    ssl_ciphers {INTERMEDIATE_CIPHERS};\n"
    strip = "".join(f'        proxy_set_header {header} "";\n' for header in TRUSTED_AUTH_HEADERS)
    return Template(TEMPLATE.read_text()).substitute(
        tls_profile=args.tls_profile,
        ssl_protocols=protocols,
        ssl_ciphers_line=ciphers,
        server_name=args.server_name,
        https_port_suffix="" if args.public_port == 443 else f":{args.public_port}",
        public_port=args.public_port,
        hsts_max_age=args.hsts_max_age,
        client_max_body_size=args.client_max_body_size,
        auth_rate=args.auth_rate_per_minute,
        auth_burst=args.auth_burst,
        upload_rate=args.upload_rate_per_minute,
        upload_burst=args.upload_burst,
        app_connections=args.app_connections_per_ip,
        csp_header=("Content-Security-Policy" if args.csp_enforce
                    else "Content-Security-Policy-Report-Only"),
        csp=content_security_policy(args),
        read_timeout=args.read_timeout_seconds,
        app_alias=args.app_host,
        strip_headers=strip,
    )


@dataclass(frozen=True, kw_only=True)
class ProxyArgs:
    profile: ContainerProfile
    image_name: pulumi.Input[str]
    nginx: NginxConfigArgs
    network_name: pulumi.Input[str]
    proxy_ip: str
    bind_ip: str
    http_port: int
    https_port: int
    certificate_pem: pulumi.Input[str]
    private_key_pem: pulumi.Input[str]
    depends_on: Sequence[pulumi.Resource] = ()


class Proxy(pulumi.ComponentResource):
    container_name: pulumi.Output[str]
    nginx_conf: str

    def __init__(self, name: str, args: ProxyArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(f"{TYPE_PREFIX}:Proxy", name, None, opts)
        self.nginx_conf = render_nginx_conf(args.nginx)
        container = docker.Container(
            f"{name}-nginx",
            image=args.image_name,
            envs=env_list({"NGINX_CONF": self.nginx_conf, "TLS_CERTIFICATE": args.certificate_pem},
                          {"TLS_PRIVATE_KEY": args.private_key_pem}),
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(
                name=args.network_name, ipv4_address=args.proxy_ip)],
            ports=[
                docker.ContainerPortArgs(internal=8080, external=args.http_port, ip=args.bind_ip),
                docker.ContainerPortArgs(internal=8443, external=args.https_port, ip=args.bind_ip),
            ],
            wait=True,
            wait_timeout=120,
            **hardened_container_args(args.profile),
            # Host ports and the fixed address can be held by one container at a time.
            opts=container_opts(self, depends_on=list(args.depends_on)),
        )
        limit_pids(self, f"{name}-nginx", container, args.profile.docker_env)
        self.container_name = container.name
        self.register_outputs({"container_name": self.container_name})
