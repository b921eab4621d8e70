"""The swarm target's services, wired: the stack's secrets as Docker secrets, Redis (when needed), the app and
nginx, in that order (each service's `up` waits for its tasks: rows W4-W6). The steps before them (secrets,
database, volume ownership, migration) are the same as on one daemon and are wired by __main__.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi

from components.hardening import TYPE_PREFIX, ContainerProfile
from components.proxy import NginxConfigArgs
from components.redis import redis_url
from components.swarm_app import SwarmApp, SwarmAppArgs
from components.swarm_proxy import KEY_FILE, SwarmProxy, SwarmProxyArgs
from components.swarm_redis import PASSWORD_FILE, SwarmRedis, SwarmRedisArgs
from components.swarm_secrets import SwarmSecrets, SwarmSecretsArgs


@dataclass(frozen=True, kw_only=True)
class SwarmStackArgs:
    stack: str
    network_id: pulumi.Input[str]
    volume_name: pulumi.Input[str]
    app: ContainerProfile
    app_image: pulumi.Input[str]
    app_command: Sequence[str]
    replicas: int
    # Plain app settings, and the secret ones by environment variable (components/app_env.py).
    app_settings: Mapping[str, str]
    app_secret_settings: Mapping[str, pulumi.Input[str]]
    proxy: ContainerProfile
    proxy_image: pulumi.Input[str]
    nginx: NginxConfigArgs
    http_port: int
    https_port: int
    certificate_pem: pulumi.Input[str]
    private_key_pem: pulumi.Input[str]
    redis: Optional[ContainerProfile] = None
    redis_image: Optional[pulumi.Input[str]] = None
    redis_password: Optional[pulumi.Input[str]] = None
    placement_constraints: Sequence[str] = ()
    # nginx's own placement (its ports are on its node); None: placement_constraints.
    proxy_placement_constraints: Optional[Sequence[str]] = None
    converge_timeout_seconds: int = 600
    depends_on: Sequence[pulumi.Resource] = ()


def _file_name(env_key: str) -> str:
    return env_key.lower()


class SwarmStack(pulumi.ComponentResource):
    app_service: pulumi.Output[str]
    proxy_service: pulumi.Output[str]

    def __init__(self, name: str, args: SwarmStackArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(f"{TYPE_PREFIX}:SwarmStack", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        secret_env = dict(args.app_secret_settings)
        if args.redis is not None and args.redis_password is not None:
            url = redis_url(args.redis_password)
            secret_env.update({"REDIS_URL": url, "WEBSOCKET_REDIS_URL": url})
        # One file per distinct value: both Redis URLs read the same file.
        app_files = {key: ("redis_url" if key in ("REDIS_URL", "WEBSOCKET_REDIS_URL") else _file_name(key))
                     for key in secret_env}
        values: dict[str, pulumi.Input[str]] = {app_files[key]: value for key, value in secret_env.items()}
        values[KEY_FILE] = args.private_key_pem
        if args.redis_password is not None:
            values[PASSWORD_FILE] = args.redis_password
        secrets = SwarmSecrets(f"{name}-secrets", SwarmSecretsArgs(stack=args.stack, values=values), child)
        after = list(args.depends_on)
        if args.redis is not None and args.redis_image is not None:
            redis = SwarmRedis(f"{name}-redis", SwarmRedisArgs(
                profile=args.redis, image=args.redis_image, network_id=args.network_id, secrets=secrets,
                placement_constraints=args.placement_constraints,
                converge_timeout_seconds=args.converge_timeout_seconds), child)
            after.append(redis)
        app_service = f"openwebui-{args.stack}-app"
        app = SwarmApp(f"{name}-app", SwarmAppArgs(
            service_name=app_service, profile=args.app, image=args.app_image, replicas=args.replicas,
            command=args.app_command,
            network_id=args.network_id, volume_name=args.volume_name, settings=args.app_settings,
            secrets=secrets, secret_env=app_files, placement_constraints=args.placement_constraints,
            converge_timeout_seconds=args.converge_timeout_seconds, depends_on=after), child)
        proxy = SwarmProxy(f"{name}-proxy", SwarmProxyArgs(
            profile=args.proxy, image=args.proxy_image, nginx=dataclasses.replace(args.nginx, app_host=app_service),
            network_id=args.network_id,
            http_port=args.http_port, https_port=args.https_port, certificate_pem=args.certificate_pem,
            secrets=secrets,
            placement_constraints=(args.placement_constraints if args.proxy_placement_constraints is None
                                   else args.proxy_placement_constraints),
            converge_timeout_seconds=args.converge_timeout_seconds, depends_on=[app]), child)
        self.app_service = app.service_name
        self.proxy_service = proxy.service_name
        self.register_outputs({"app_service": self.app_service, "proxy_service": self.proxy_service})
