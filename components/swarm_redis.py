"""On a swarm: Redis for websockets and shared state, as a single-task service on the overlay network.

Its password is a Docker secret file: start-redis (images/redis) takes it from REDIS_PASSWORD, which
FILE_ENV_SCRIPT sets in the process only (components/swarm_service.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_docker as docker

from components.hardening import TYPE_PREFIX, ContainerProfile
from components.redis import REDIS_ALIAS
from components.swarm_secrets import SwarmSecrets
from components.swarm_service import (
    ServiceSpecArgs,
    converge,
    file_env,
    rolling_update,
    service_labels,
    service_opts,
    task_spec,
    wrapped,
)

PASSWORD_FILE = "redis_password"
# The health check is a separate process in the task (`docker exec`), which FILE_ENV_SCRIPT never started: it has
# REDIS_PASSWORD_FILE, not the password, so it reads the file (the container's REDIS_PASSWORD check would fail every
# time, and the swarm would stop the task as unhealthy).
HEALTH_COMMAND = ["sh", "-c", 'REDISCLI_AUTH="$(cat "$REDIS_PASSWORD_FILE")" redis-cli ping | grep -q PONG']


@dataclass(frozen=True, kw_only=True)
class SwarmRedisArgs:
    profile: ContainerProfile
    image: pulumi.Input[str]
    network_id: pulumi.Input[str]
    secrets: SwarmSecrets
    placement_constraints: Sequence[str] = ()
    converge_timeout_seconds: int = 600


class SwarmRedis(pulumi.ComponentResource):
    service_name: pulumi.Output[str]

    def __init__(self, name: str, args: SwarmRedisArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(f"{TYPE_PREFIX}:SwarmRedis", name, None, opts)
        uid, gid = args.profile.user.split(":")
        service = docker.Service(
            f"{name}-server",
            task_spec=task_spec(ServiceSpecArgs(
                profile=dataclasses.replace(args.profile, health_command=HEALTH_COMMAND), image=args.image,
                command=wrapped(["start-redis"]),
                network_id=args.network_id, aliases=[REDIS_ALIAS],
                env=file_env({"REDIS_PASSWORD": PASSWORD_FILE}),
                secrets=args.secrets.references(uid, gid, only={PASSWORD_FILE}),
                placement_constraints=args.placement_constraints)),
            mode=docker.ServiceModeArgs(replicated=docker.ServiceModeReplicatedArgs(replicas=1)),
            endpoint_spec=docker.ServiceEndpointSpecArgs(mode="dnsrr"),
            converge_config=converge(args.converge_timeout_seconds),
            labels=service_labels(args.profile),
            # One Redis: a second one would be a second, empty store.
            **rolling_update(order="stop-first"),
            opts=service_opts(self, depends_on=args.secrets.resources()),
        )
        self.service_name = service.name
        self.register_outputs({"service_name": self.service_name})
