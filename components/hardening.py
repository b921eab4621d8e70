"""The hardening every container of the stack gets (CIS Docker Benchmark section 5).

One place builds these inputs so that the app, proxy, Redis and backup containers cannot drift apart; the values
come from owui_ops/hardening.py, the table the one-shot containers' `docker run` flags are rendered from too.
The policy pack checks the same properties on whatever reaches the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, TypedDict

import pulumi
import pulumi_command as command
import pulumi_docker as docker

from components.docker_forms import cpus_form, format_ns
from owui_ops import hardening as table
from owui_ops.hardening import ENVIRONMENT_LABEL, IMAGE_LABEL, PIDS_LIMIT, ROLE_LABEL, STACK_LABEL

__all__ = ["ENVIRONMENT_LABEL", "IMAGE_LABEL", "PIDS_LIMIT", "ROLE_LABEL", "STACK_LABEL"]

TYPE_PREFIX = "openwebui:index"
# The docker CLI against the stack's daemon, also over SSH (owui_ops/dockerhost.py: the provider's connection).
RUN_DOCKER = str(Path(__file__).resolve().parent.parent / "scripts" / "run-docker")


@dataclass(frozen=True, kw_only=True)
class ContainerProfile:
    """What differs between containers; everything else is fixed hardening."""

    role: str
    environment: str
    stack: str
    image_ref: str
    user: str
    memory_mb: int
    cpus: float
    health_command: list[str]
    health_interval_seconds: int = 5
    tmpfs: dict[str, str] = field(default_factory=lambda: dict(table.TMPFS))
    health_start_period: str = "30s"
    health_timeout_seconds: int = 5
    # The stack's Docker daemon for the docker CLI of its steps (owui_ops/dockerhost.py stack_environment).
    docker_env: Mapping[str, str] = field(default_factory=dict)


# Inputs the docker provider treats as updatable but whose Update never reaches the running container (it
# applies only restart policy and memory: docs/provider-contract.md rows C6, C13 and the Update note). A change of one
# of them must replace the container, or the new value would exist only in the state.
# "#initerror": a container whose create failed after it existed (a `wait` that timed out) is recorded with init
# errors; the provider's Update would accept it as it is on the next `up` (rows P3, P4). The engine's special key
# makes that next `up` replace it instead (pulumi pkg/resource/deploy/step_generator.go, applyReplaceOnChanges).
REPLACE_ON_CHANGES = ["healthcheck", "tmpfs", "#initerror"]
# Seconds a container gets to stop on delete or replacement. The provider stops with destroyGraceSeconds
# (default 0: killed at once), not with stopTimeout (row C32).
STOP_GRACE_SECONDS = 30


def container_opts(parent: pulumi.Resource, *, depends_on: Optional[Sequence[pulumi.Resource]] = None,
                   create_before_delete: bool = False, **extra: Any) -> pulumi.ResourceOptions:
    """Options for a stack container. The provider asks for delete-before-replace on every container (pulumi-docker
    provider/resources.go; docs/provider-contract.md "Replacement order");
    an autonamed container without fixed ports or address can start (and turn healthy) before the old one goes,
    which the program must then say explicitly: the engine takes the program's option over the provider's."""
    return child_opts(parent, depends_on=depends_on, replace_on_changes=REPLACE_ON_CHANGES,
                      delete_before_replace=not create_before_delete, **extra)


class HardenedContainerArgs(TypedDict):
    """The docker.Container inputs hardened_container_args fixes (typed, so `**` into docker.Container is checked
    against the provider's signature)."""

    user: str
    read_only: bool
    tmpfs: dict[str, str]
    capabilities: docker.ContainerCapabilitiesArgs
    security_opts: list[str]
    memory: int
    memory_swap: int
    cpus: str
    restart: str
    healthcheck: docker.ContainerHealthcheckArgs
    labels: list[docker.ContainerLabelArgs]
    log_driver: str
    log_opts: dict[str, str]
    must_run: bool
    destroy_grace_seconds: int


def hardened_container_args(profile: ContainerProfile) -> HardenedContainerArgs:
    """Keyword arguments for docker.Container shared by every role. Durations are written in Go's form
    ("2m0s", not "120s") and cpus as the provider reads them back (rows C13, C11)."""
    return HardenedContainerArgs(
        user=profile.user,
        read_only=table.READ_ONLY_ROOT,
        tmpfs=profile.tmpfs,
        capabilities=docker.ContainerCapabilitiesArgs(drops=list(table.CAP_DROP)),
        security_opts=list(table.SECURITY_OPTS),
        memory=profile.memory_mb,
        memory_swap=profile.memory_mb,
        cpus=cpus_form(profile.cpus),
        restart="unless-stopped",
        healthcheck=docker.ContainerHealthcheckArgs(
            tests=["CMD", *profile.health_command],
            # Docker runs the first check one interval after start: short, so deploys notice "healthy" soon.
            interval=format_ns(profile.health_interval_seconds * 10**9),
            timeout=format_ns(profile.health_timeout_seconds * 10**9),
            retries=6,
            start_period=profile.health_start_period,
        ),
        labels=container_labels(profile),
        log_driver=table.LOG_DRIVER,
        log_opts=dict(table.LOG_OPTS),
        must_run=True,
        destroy_grace_seconds=STOP_GRACE_SECONDS,
    )


# CIS 5.29: pulumi-docker 5.x has no pids_limit input, so the limit (PIDS_LIMIT) is applied to the running
# container (a cgroup setting, per container) right after it is created, and again on replacement.


def limit_pids(parent: pulumi.Resource, name: str, container: docker.Container,
               docker_env: Mapping[str, str], limit: int = PIDS_LIMIT) -> command.local.Command:
    return command.local.Command(
        f"{name}-pids-limit",
        create=pulumi.Output.concat(f"{RUN_DOCKER} update --pids-limit {limit} ", container.id),
        environment=dict(docker_env),
        triggers=[container.id],
        opts=child_opts(parent, depends_on=[container]),
    )


def container_labels(profile: ContainerProfile) -> list[docker.ContainerLabelArgs]:
    values = {
        ROLE_LABEL: profile.role,
        ENVIRONMENT_LABEL: profile.environment,
        IMAGE_LABEL: profile.image_ref,
        STACK_LABEL: profile.stack,
    }
    return [docker.ContainerLabelArgs(label=k, value=v) for k, v in values.items()]


def child_opts(parent: pulumi.Resource, *, depends_on: Optional[Sequence[pulumi.Resource]] = None,
               **extra: Any) -> pulumi.ResourceOptions:
    """Options for a component's child: always parented, optionally ordered."""
    return pulumi.ResourceOptions(parent=parent, depends_on=depends_on or [], **extra)


def _env_item(key: str) -> Callable[[str], str]:
    return lambda value: f"{key}={value}"


def env_list(plain: Mapping[str, pulumi.Input[str]], secret: Mapping[str, pulumi.Input[str]]) -> list[Any]:
    """Container env as separate items: plain ones stay readable at preview (so policies can judge
    them), secret ones stay individual secret Outputs (never joined into a plain string)."""
    items: list[Any] = [f"{key}={value}" if isinstance(value, str) else
                   pulumi.Output.concat(key, "=", value) for key, value in sorted(plain.items())]
    for key, value in sorted(secret.items()):
        items.append(pulumi.Output.secret(pulumi.Output.from_input(value).apply(_env_item(key))))
    return items
