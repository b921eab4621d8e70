"""The one-shot migration step: runs once per image or database change, before the app starts.

Open WebUI would otherwise migrate in every process at import time, without a lock; the app
containers run with ENABLE_DB_MIGRATIONS=false and depend on this resource.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_command as command

import owui_ops
from components.hardening import TYPE_PREFIX, child_opts

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
# Runs owui_ops.steps.migration on this machine; every container it starts runs the package from the tools
# image, so the step needs nothing else from this checkout.
RUNNER = SCRIPTS / "run-migration"


def scripts_fingerprint() -> str:
    """Changing the ops package (or the runner) re-runs the step."""
    return owui_ops.fingerprint(RUNNER)


def parse_revision(stdout: str) -> str:
    """The runner's last stdout line is `migrate status` JSON."""
    for line in reversed(stdout.strip().splitlines()):
        try:
            status = json.loads(line)
        except ValueError:
            continue
        if isinstance(status, dict) and status.get("revision"):
            return str(status["revision"])
        if isinstance(status, dict) and "current" in status:
            current = status["current"]
            if isinstance(current, list):
                return ",".join(str(c) for c in current) or "empty"
            return str(current)
    return "unknown"


@dataclass(frozen=True, kw_only=True)
class MigrationArgs:
    stack: str
    database_type: str
    app_image: str
    # Changes with the image content (the RemoteImage id): a re-tagged image re-runs the step.
    app_image_id: pulumi.Input[str]
    tools_image: str
    network_name: pulumi.Input[str]
    volume_name: pulumi.Input[str]
    database_url: pulumi.Input[str]
    webui_secret_key: pulumi.Input[str]
    backup_dir: str
    admin_email: str
    admin_password: pulumi.Input[str]
    enforced_config: dict[str, object] = field(default_factory=dict)
    # The database server's CA file on the Docker host, mounted read-only at the same path.
    database_ca_file: Optional[str] = None
    memory_mb: int = 1024
    cpus: float = 1.0
    app_user: str = "1000:1000"
    # The stack's Docker daemon for the step's docker CLI (DOCKER_HOST, OWUI_DOCKER_SSH_OPTS: owui_ops/dockerhost.py).
    docker_env: Mapping[str, str] = field(default_factory=dict)
    depends_on: Sequence[pulumi.Resource] = ()


class Migration(pulumi.ComponentResource):
    revision: pulumi.Output[str]
    command: command.local.Command

    def __init__(self, name: str, args: MigrationArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(f"{TYPE_PREFIX}:Migration", name, None, opts)
        enforced = json.dumps(args.enforced_config, sort_keys=True)
        url_fingerprint = pulumi.Output.from_input(args.database_url).apply(
            lambda url: hashlib.sha256(url.encode()).hexdigest()[:16])
        self.command = command.local.Command(
            f"{name}-upgrade",
            create=str(RUNNER),
            environment={
                "OWUI_STACK": args.stack,
                "OWUI_APP_IMAGE": args.app_image,
                "OWUI_TOOLS_IMAGE": args.tools_image,
                "OWUI_NETWORK": args.network_name,
                "OWUI_VOLUME": args.volume_name,
                "OWUI_DATABASE_TYPE": args.database_type,
                "OWUI_BACKUP_DIR": args.backup_dir,
                "OWUI_ENFORCED_CONFIG": enforced,
                "OWUI_APP_USER": args.app_user,
                "OWUI_MEMORY_MB": str(args.memory_mb),
                "OWUI_CPUS": str(args.cpus),
                "OWUI_DATABASE_CA_FILE": args.database_ca_file or "",
                "DATABASE_URL": pulumi.Output.secret(args.database_url),
                "WEBUI_SECRET_KEY": pulumi.Output.secret(args.webui_secret_key),
                "WEBUI_ADMIN_EMAIL": args.admin_email,
                "WEBUI_ADMIN_PASSWORD": pulumi.Output.secret(args.admin_password),
                **args.docker_env,
            },
            # Re-run (replace) when what the migration depends on changes; never on a plain `up`.
            triggers=[args.app_image, args.app_image_id, url_fingerprint, enforced,
                      scripts_fingerprint()],
            logging=command.local.Logging.STDERR,
            opts=child_opts(self, depends_on=list(args.depends_on),
                            additional_secret_outputs=["stderr"],
                            custom_timeouts=pulumi.CustomTimeouts(create="30m")),
        )
        self.revision = self.command.stdout.apply(parse_revision)
        self.register_outputs({"revision": self.revision})
