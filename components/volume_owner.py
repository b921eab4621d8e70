"""The one-shot data-volume ownership step: the volume is the app user's before anything mounts it.

Upstream's image runs as root and leaves /app/backend/data owned by root (its Dockerfile: `ARG UID=0`,
"non-root configurations are untested"); Docker copies that directory, owners included, into an empty
volume, and a volume a root-run upstream container wrote is root's throughout. The app containers
still run as 1000:1000 with every capability dropped: this step (scripts/run-volume-owner) reads the
layout from the image, probes the volume as the app user, and only when something there is not the
app user's runs one root container with CAP_CHOWN alone and no network to hand it over.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_command as command

import owui_ops
from components.hardening import RUN_DOCKER, TYPE_PREFIX, child_opts

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
# Runs owui_ops.steps.volume_owner; its containers get the package from the tools image (a volume).
RUNNER = SCRIPTS / "run-volume-owner"
ROLE = "volume-owner"


def scripts_fingerprint() -> str:
    """Changing the ops package (or the runner) runs the step again."""
    return owui_ops.fingerprint(RUNNER)


def parse_findings(stdout: str) -> dict[str, Any]:
    """The runner's last stdout line is its findings as JSON ({} when there is none)."""
    for line in reversed(stdout.strip().splitlines()):
        try:
            found = json.loads(line)
        except ValueError:
            continue
        if isinstance(found, dict):
            return found
    return {}


@dataclass(frozen=True, kw_only=True)
class VolumeOwnerArgs:
    stack: str
    environment: str
    app_image: str
    # Changes with the image content: another image may fill an empty volume differently.
    app_image_id: pulumi.Input[str]
    volume_name: pulumi.Input[str]
    # Where the step's containers get owui_ops from (owui_ops/steps.py).
    tools_image: str
    app_user: str = "1000:1000"
    data_dir: str = "/app/backend/data"
    # The stack's Docker daemon for the step's docker CLI (DOCKER_HOST, OWUI_DOCKER_SSH_OPTS: owui_ops/dockerhost.py).
    docker_env: Mapping[str, str] = field(default_factory=dict)
    depends_on: Sequence[pulumi.Resource] = ()


class VolumeOwner(pulumi.ComponentResource):
    findings: pulumi.Output[dict[str, Any]]
    command: command.local.Command

    def __init__(self, name: str, args: VolumeOwnerArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(f"{TYPE_PREFIX}:VolumeOwner", name, None, opts)
        self.command = command.local.Command(
            f"{name}-take-over",
            create=str(RUNNER),
            # The kept root container carries a fixed name: remove it before a replacement runs.
            delete=f"{RUN_DOCKER} rm -f openwebui-{args.stack}-{ROLE} >/dev/null 2>&1 || true",
            environment={
                "OWUI_STACK": args.stack,
                "OWUI_ENVIRONMENT": args.environment,
                "OWUI_APP_IMAGE": args.app_image,
                "OWUI_VOLUME": args.volume_name,
                "OWUI_TOOLS_IMAGE": args.tools_image,
                "OWUI_APP_USER": args.app_user,
                "OWUI_DATA_DIR": args.data_dir,
                **args.docker_env,
            },
            # Runs again for another image or volume, or changed scripts; never on a plain `up`.
            triggers=[args.app_image, args.app_image_id, args.volume_name, args.app_user,
                      scripts_fingerprint()],
            logging=command.local.Logging.STDERR,
            opts=child_opts(self, depends_on=list(args.depends_on), delete_before_replace=True),
        )
        self.findings = self.command.stdout.apply(parse_findings)
        self.register_outputs({"findings": self.findings})
