"""On a swarm: Open WebUI as one replicated service.

Rolling updates start the new task first and stop the old one only once the new one is healthy (a task with a
health check is `running` only when healthy), a failed update rolls back, and `up` waits for the update to complete
(a rollback fails the step: rows W4-W6 of docs/provider-contract.md).

nginx finds the tasks by the service's name, DNS round robin on the overlay network (endpoint mode dnsrr: service
VIPs need IPVS, which not every kernel has; nginx re-resolves every 5 s). The service's name resolves only to healthy
tasks: the swarm activates a task's service binding on its `healthy` event and, on stop, deactivates it, waits 2 s
and only then sends the stop signal (moby daemon/cluster/executor/container/controller.go `Start`, `Shutdown`,
`defaultGossipConvergeDelay`). A network alias, by contrast, resolves as soon as a task starts, before it serves.
The stopped task keeps serving DRAIN_SECONDS more, longer than nginx keeps an address. The name is fixed (it is in
nginx.conf), so a replacement of the service, which only a changed network or name causes (row W2), is
delete-before-replace (B3). Secrets are files (components/swarm_secrets.py), read by FILE_ENV_SCRIPT
(components/swarm_service.py) into the process only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_docker as docker

from components.hardening import TYPE_PREFIX, ContainerProfile
from components.swarm_secrets import SwarmSecrets
from components.swarm_service import (
    DRAIN_SECONDS,
    ServiceSpecArgs,
    converge,
    file_env,
    rolling_update,
    service_labels,
    service_opts,
    task_spec,
    wrapped,
)
from components.webui import DATA_DIR

APP_UID = "1000"


@dataclass(frozen=True, kw_only=True)
class SwarmAppArgs:
    # The service's name: what nginx resolves.
    service_name: str
    profile: ContainerProfile
    image: pulumi.Input[str]
    replicas: int
    command: Sequence[str]
    network_id: pulumi.Input[str]
    volume_name: pulumi.Input[str]
    settings: Mapping[str, str]
    secrets: SwarmSecrets
    # Environment variable -> secret file name in `secrets`.
    secret_env: Mapping[str, str]
    placement_constraints: Sequence[str] = ()
    converge_timeout_seconds: int = 600
    depends_on: Sequence[pulumi.Resource] = ()


class SwarmApp(pulumi.ComponentResource):
    service_name: pulumi.Output[str]
    service_id: pulumi.Output[str]

    def __init__(self, name: str, args: SwarmAppArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(f"{TYPE_PREFIX}:SwarmApp", name, None, opts)
        spec = task_spec(ServiceSpecArgs(
            profile=args.profile, image=args.image, command=wrapped(args.command), network_id=args.network_id,
            aliases=[], env={**args.settings, **file_env(args.secret_env), "OWUI_DRAIN_SECONDS": str(DRAIN_SECONDS)},
            secrets=args.secrets.references(APP_UID, APP_UID, only=set(args.secret_env.values())),
            mounts=[docker.ServiceTaskSpecContainerSpecMountArgs(target=DATA_DIR, source=args.volume_name,
                                                                 type="volume")],
            placement_constraints=args.placement_constraints))
        service = docker.Service(
            f"{name}-app",
            name=args.service_name,
            task_spec=spec,
            mode=docker.ServiceModeArgs(replicated=docker.ServiceModeReplicatedArgs(replicas=args.replicas)),
            endpoint_spec=docker.ServiceEndpointSpecArgs(mode="dnsrr"),
            converge_config=converge(args.converge_timeout_seconds),
            labels=service_labels(args.profile),
            **rolling_update(order="start-first"),
            opts=service_opts(self, depends_on=[*args.depends_on, *args.secrets.resources()]),
        )
        self.service_name = service.name
        self.service_id = service.id
        self.register_outputs({"service_name": self.service_name, "service_id": self.service_id})
