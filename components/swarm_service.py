"""On a swarm: the hardening and rollout every service of the stack gets, and how a service's process gets its
secrets from files.

The values come from the one hardening table (owui_ops/hardening.py), as the containers' do: user, read-only root,
every capability dropped, a tmpfs /tmp, memory and CPU limits, bounded json-file logs, the stack's labels, a health
check, a restart policy bounded like CIS 5.14 (on-failure, 5 attempts per window). What a pulumi-docker 5.1.0
service spec cannot say (terraform-provider-docker v4.5.0 `resource_docker_service.go` has no field for them):
`no-new-privileges` and a pids limit; README "Swarm" lists them.

Secrets never travel in the environment: a service gets `<NAME>_FILE=/run/secrets/<file>` and the names in
OWUI_FILE_ENV; FILE_ENV_SCRIPT (run by /bin/sh, which every image of the stack has) reads each file into `<NAME>`
and execs the real process, so `docker inspect` and `docker service inspect` show only the file paths. Upstream
Open WebUI 0.12.4 has no `*_FILE` support of its own (backend/start.sh at 059cf821 reads no *_FILE; the program does
not run start.sh anyway: components/app_process.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
import pulumi_docker as docker

from components.docker_forms import parse, short_dur
from components.hardening import ENVIRONMENT_LABEL, IMAGE_LABEL, ROLE_LABEL, STACK_LABEL, ContainerProfile
from components.swarm_secrets import SECRETS_DIR
from owui_ops import hardening as table

FILE_ENV_SCRIPT = """\
for name in $OWUI_FILE_ENV; do
  eval "file=\\${${name}_FILE}"
  value=$(cat "$file") || exit 1
  export "$name=$value"
  unset "${name}_FILE"
done
unset OWUI_FILE_ENV
[ -n "${OWUI_DRAIN_SECONDS:-}" ] || exec "$@"
"$@" &
child=$!
trap 'sleep "$OWUI_DRAIN_SECONDS"; kill -TERM "$child" 2>/dev/null' TERM INT
wait "$child"
status=$?
while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done
exit "$status"
"""
STOP_GRACE = "30s"
# Longer than nginx's resolver cache (`resolver 127.0.0.11 valid=5s`, components/templates/nginx.conf.tmpl).
DRAIN_SECONDS = 7
RESTART_MAX_ATTEMPTS = 5
TMPFS_BYTES = 256 * 1024 * 1024


def file_env(secret_files: Mapping[str, str]) -> dict[str, str]:
    """Environment naming where each secret is (never its value): {NAME: file name under /run/secrets}."""
    env = {f"{key}_FILE": f"{SECRETS_DIR}/{file_name}" for key, file_name in sorted(secret_files.items())}
    if secret_files:
        env["OWUI_FILE_ENV"] = " ".join(sorted(secret_files))
    return env


def wrapped(command: Sequence[str]) -> list[str]:
    """The process, started through FILE_ENV_SCRIPT. With OWUI_DRAIN_SECONDS in the environment the script keeps
    the process serving that long after the swarm's stop signal before passing it on: the swarm takes the task out
    of the service's DNS first, and nginx may still hold its address for its resolver's `valid` time (5 s)."""
    return ["/bin/sh", "-c", FILE_ENV_SCRIPT, "file-env", *command]


def service_labels(profile: ContainerProfile) -> list[Any]:
    values = {ROLE_LABEL: profile.role, ENVIRONMENT_LABEL: profile.environment, IMAGE_LABEL: profile.image_ref,
              STACK_LABEL: profile.stack}
    return [{"label": k, "value": v} for k, v in values.items()]


@dataclass(frozen=True, kw_only=True)
class ServiceSpecArgs:
    profile: ContainerProfile
    image: pulumi.Input[str]
    command: Sequence[str]
    network_id: pulumi.Input[str]
    aliases: Sequence[str]
    env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    secrets: Sequence[docker.ServiceTaskSpecContainerSpecSecretArgs] = ()
    configs: Sequence[docker.ServiceTaskSpecContainerSpecConfigArgs] = ()
    mounts: Sequence[docker.ServiceTaskSpecContainerSpecMountArgs] = ()
    placement_constraints: Sequence[str] = ()


def task_spec(args: ServiceSpecArgs) -> docker.ServiceTaskSpecArgs:
    """The task template, written in the provider's read-back forms (row W3: shortDur durations, env as a map,
    the network by ID), so a refresh or the next `up` changes nothing."""
    profile = args.profile
    health_interval = short_dur(profile.health_interval_seconds * 10**9)
    return docker.ServiceTaskSpecArgs(
        container_spec=docker.ServiceTaskSpecContainerSpecArgs(
            image=args.image,
            commands=list(args.command),
            user=profile.user,
            read_only=table.READ_ONLY_ROOT,
            cap_drops=list(table.CAP_DROP),
            env=dict(args.env),
            labels=service_labels(profile),
            mounts=[docker.ServiceTaskSpecContainerSpecMountArgs(
                target="/tmp", type="tmpfs",
                tmpfs_options=docker.ServiceTaskSpecContainerSpecMountTmpfsOptionsArgs(size_bytes=TMPFS_BYTES,
                                                                                       mode=0o777)),
                *args.mounts],
            secrets=list(args.secrets),
            configs=list(args.configs),
            stop_grace_period=STOP_GRACE,
            healthcheck=docker.ServiceTaskSpecContainerSpecHealthcheckArgs(
                tests=["CMD", *profile.health_command], interval=health_interval,
                timeout=short_dur(profile.health_timeout_seconds * 10**9), retries=6,
                start_period=short_dur(parse(profile.health_start_period))),
        ),
        resources=docker.ServiceTaskSpecResourcesArgs(limits=docker.ServiceTaskSpecResourcesLimitsArgs(
            nano_cpus=int(round(profile.cpus * 1e9)), memory_bytes=profile.memory_mb * 1024 * 1024)),
        restart_policy=docker.ServiceTaskSpecRestartPolicyArgs(
            condition="on-failure", delay="5s", max_attempts=RESTART_MAX_ATTEMPTS, window="2m"),
        placement=docker.ServiceTaskSpecPlacementArgs(constraints=list(args.placement_constraints))
        if args.placement_constraints else None,
        networks_advanceds=[docker.ServiceTaskSpecNetworksAdvancedArgs(id=args.network_id,
                                                                       aliases=list(args.aliases))],
        log_driver=docker.ServiceTaskSpecLogDriverArgs(name=table.LOG_DRIVER, options=dict(table.LOG_OPTS)),
    )


def rolling_update(*, order: str) -> dict[str, Any]:
    """updateConfig/rollbackConfig: one task at a time, `order` (start-first: the new task is healthy before the
    old one stops; a task with a health check is `running` only once healthy), watched for 10 s, a failed
    update rolled back."""
    return {"update_config": docker.ServiceUpdateConfigArgs(
                failure_action="rollback", parallelism=1, delay="0s", monitor="10s", max_failure_ratio="0.0",
                order=order),
            "rollback_config": docker.ServiceRollbackConfigArgs(
                failure_action="pause", parallelism=1, delay="0s", monitor="10s", max_failure_ratio="0.0",
                order=order)}


def converge(timeout_seconds: int) -> docker.ServiceConvergeConfigArgs:
    """`up` waits until the tasks run (create) or the rolling update completed (update); a rollback fails the
    step (rows W4-W6)."""
    return docker.ServiceConvergeConfigArgs(delay="2s", timeout=short_dur(timeout_seconds * 10**9))


def service_opts(parent: pulumi.Resource, depends_on: Optional[Sequence[pulumi.Resource]] = None,
                 **extra: Any) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on or []), **extra)
