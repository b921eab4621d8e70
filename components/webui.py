"""The Open WebUI application containers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi
import pulumi_docker as docker

from components.hardening import (
    STOP_GRACE_SECONDS,
    TYPE_PREFIX,
    ContainerProfile,
    container_opts,
    env_list,
    hardened_container_args,
    limit_pids,
)
from components.proxy import APP_ALIAS

DATA_DIR = "/app/backend/data"


@dataclass(frozen=True, kw_only=True)
class WebUIArgs:
    profile: ContainerProfile
    image_name: pulumi.Input[str]
    replicas: int
    network_name: pulumi.Input[str]
    volume_name: pulumi.Input[str]
    # Plain settings (readable by policies at preview) and secret ones (individual secret Outputs).
    settings: dict[str, str]
    secret_settings: dict[str, pulumi.Input[str]]
    depends_on: Sequence[pulumi.Resource] = ()
    # Host files mounted read-only at the same path (the database server's CA file).
    read_only_files: Sequence[str] = ()
    extra_hosts: dict[str, str] = field(default_factory=lambda: {
        "host.docker.internal": "host-gateway"})
    # The process to run instead of the image's own CMD (components/app_process.py); empty: the image's.
    entrypoint: Sequence[str] = ()
    command: Sequence[str] = ()


class WebUI(pulumi.ComponentResource):
    container_names: pulumi.Output[list[str]]

    def __init__(self, name: str, args: WebUIArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(f"{TYPE_PREFIX}:WebUI", name, None, opts)
        envs = env_list(args.settings, args.secret_settings)
        containers: list[docker.Container] = []
        for index in range(args.replicas):
            # The first replica creates the headless admin; the others start once it is healthy,
            # so two processes never race to create the first user.
            after = [*args.depends_on, *containers[:1]]
            containers.append(docker.Container(
                f"{name}-app-{index}",
                image=args.image_name,
                entrypoints=list(args.entrypoint) or None,
                command=list(args.command) or None,
                envs=envs,
                networks_advanced=[docker.ContainerNetworksAdvancedArgs(
                    name=args.network_name, aliases=[APP_ALIAS])],
                mounts=[docker.ContainerMountArgs(target=DATA_DIR, source=args.volume_name,
                                                  type="volume"),
                        *[docker.ContainerMountArgs(target=path, source=path, type="bind",
                                                    read_only=True) for path in args.read_only_files]],
                hosts=[docker.ContainerHostArgs(host=h, ip=ip) for h, ip in args.extra_hosts.items()],
                wait=True,
                wait_timeout=300,
                stop_timeout=STOP_GRACE_SECONDS,
                **hardened_container_args(args.profile),
                # Autonamed, with no published port or fixed address: the replacement starts and turns healthy
                # before the old container goes, so nginx always has a healthy upstream.
                opts=container_opts(self, depends_on=after, create_before_delete=True),
            ))
            limit_pids(self, f"{name}-app-{index}", containers[-1], args.profile.docker_env)
        self.container_names = pulumi.Output.all(*[c.name for c in containers])
        self.register_outputs({"container_names": self.container_names})
