"""Redis for Socket.IO and shared state when there is more than one app process."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

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

REDIS_ALIAS = "openwebui-redis"


@dataclass(frozen=True, kw_only=True)
class RedisArgs:
    profile: ContainerProfile
    image_name: pulumi.Input[str]
    network_name: pulumi.Input[str]
    password: pulumi.Input[str]


def redis_url(password: pulumi.Input[str]) -> pulumi.Output[str]:
    return pulumi.Output.secret(pulumi.Output.concat("redis://:", password, f"@{REDIS_ALIAS}:6379/0"))


class Redis(pulumi.ComponentResource):
    url: pulumi.Output[str]

    def __init__(self, name: str, args: RedisArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(f"{TYPE_PREFIX}:Redis", name, None, opts)
        server = docker.Container(
            f"{name}-server",
            image=args.image_name,
            # The image writes the password into a config file on /tmp: never on a command line.
            envs=env_list({}, {"REDIS_PASSWORD": args.password}),
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(
                name=args.network_name, aliases=[REDIS_ALIAS])],
            wait=True,
            wait_timeout=60,
            **hardened_container_args(args.profile),
            opts=container_opts(self),
        )
        limit_pids(self, f"{name}-server", server, args.profile.docker_env)
        self.url = redis_url(args.password)
        self.register_outputs({"url": self.url})
