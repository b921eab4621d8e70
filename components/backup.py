"""Scheduled backups: a long-running, hardened container that runs `python3 -m owui_ops backup-tool loop` in the
tools image (the package is installed there: images/tools/recipe.sh; nothing is mounted from this checkout).

Every interval it writes one consistent backup (database dump + data directory archive, see owui_ops/backup.py)
into `<backup.directory>/<stack>/<UTC timestamp>/` on the Docker host, prunes by count and age,
optionally encrypts with the secret `backupEncryptionKey` and copies each new backup to `backup.copyTo`.
Restore, listing and status are operator commands (scripts/owui, docs/operations.md).

Why the data volume is sometimes mounted read-write: SQLite's online backup API reads a WAL-mode database
through its `-shm` index, and a reader takes its read lock by writing to that shared-memory file. On a
read-only mount SQLite falls back to a private heap copy of the index without those locks, so a concurrent
checkpoint by the app could change pages under the backup. The backup opens every database `mode=ro` (it never
writes the database file itself), but the mount must allow the `-shm` lock writes whenever the data directory
holds a live SQLite file: the app database (database.type sqlite) or Chroma's `vector_db/chroma.sqlite3`
(app.vectorDb chroma, the default). Only with a server database and another vector store is it read-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_command as command
import pulumi_docker as docker

from components.hardening import (
    TYPE_PREFIX,
    ContainerProfile,
    child_opts,
    container_opts,
    env_list,
    hardened_container_args,
    limit_pids,
)

TOOL = ["python3", "-m", "owui_ops", "backup-tool"]
DATA_DIR = "/app/backend/data"
BACKUP_MOUNT = "/backups"
COPY_MOUNT = "/copy"
HEALTH_COMMAND = [*TOOL, "health"]

# Makes the host directories (on the Docker host, through the daemon: owui_ops.steps.backup_dirs) the job user's:
# a bind mount of a missing path would be created root-owned, and the non-root job could not write. Values
# arrive as environment, never in the command text.
PREPARE_DIRECTORIES = str(Path(__file__).resolve().parent.parent / "scripts" / "run-backup-dirs")


def data_mount_read_only(database_type: str, vector_db: str) -> bool:
    """See the module docstring: read-only only when no live SQLite file sits in the data directory."""
    return database_type != "sqlite" and vector_db != "chroma"


def local_copy_target(copy_to: Optional[str]) -> Optional[str]:
    """An absolute host path is bind-mounted; rsync targets (host::module, rsync://...) go through as they are."""
    return copy_to if copy_to and copy_to.startswith("/") else None


@dataclass(frozen=True, kw_only=True)
class BackupArgs:
    profile: ContainerProfile
    image_name: pulumi.Input[str]
    stack: str
    app_image: str
    network_name: pulumi.Input[str]
    volume_name: pulumi.Input[str]
    database_type: str
    vector_db: str
    database_url: pulumi.Input[str]
    # The stack's own directory on the host, e.g. /var/backups/openwebui/<stack>.
    host_directory: str
    interval_minutes: int
    keep_count: int
    keep_days: int
    copy_to: Optional[str] = None
    encryption_key: Optional[pulumi.Input[str]] = None
    # The database server's CA file on the host (database.sslCaFile), mounted read-only at the same path.
    ca_file: Optional[str] = None
    # The stack's Docker daemon for the step's docker CLI (DOCKER_HOST, OWUI_DOCKER_SSH_OPTS: owui_ops/dockerhost.py).
    docker_env: Mapping[str, str] = field(default_factory=dict)
    depends_on: Sequence[pulumi.Resource] = ()
    extra_hosts: dict[str, str] = field(default_factory=lambda: {
        "host.docker.internal": "host-gateway"})


class Backup(pulumi.ComponentResource):
    container_name: pulumi.Output[str]
    host_directory: pulumi.Output[str]

    def __init__(self, name: str, args: BackupArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(f"{TYPE_PREFIX}:Backup", name, None, opts)
        copy_dir = local_copy_target(args.copy_to)
        directories = [args.host_directory, *([copy_dir] if copy_dir else [])]
        if any(" " in d or not d.startswith("/") for d in directories):
            raise ValueError("backup directories must be absolute paths without spaces")
        prepare = command.local.Command(
            f"{name}-directory",
            create=PREPARE_DIRECTORIES,
            environment={"OWUI_DIRS": " ".join(directories), "OWUI_OWNER": args.profile.user,
                         "OWUI_STACK": args.stack, "OWUI_TOOLS_IMAGE": args.profile.image_ref,
                         # The image's id: ordered after the tools image is present, and again for a new one.
                         "OWUI_TOOLS_IMAGE_ID": args.image_name, **args.docker_env},
            triggers=[*directories, args.profile.user],
            # No delete: `pulumi destroy` never removes backups.
            opts=child_opts(self),
        )

        plain: dict[str, pulumi.Input[str]] = {
            "BACKUP_DIR": BACKUP_MOUNT,
            "DATA_DIR": DATA_DIR,
            "HOME": "/tmp",
            "BACKUP_INTERVAL_MINUTES": str(args.interval_minutes),
            "BACKUP_KEEP_COUNT": str(args.keep_count),
            "BACKUP_KEEP_DAYS": str(args.keep_days),
            "BACKUP_STATUS_FILE": "/tmp/owui-backup-status.json",
            "OWUI_STACK": args.stack,
            "OWUI_APP_IMAGE": args.app_image,
        }
        if args.copy_to:
            plain["BACKUP_COPY_TO"] = COPY_MOUNT if copy_dir else args.copy_to
        secret: dict[str, pulumi.Input[str]] = {"DATABASE_URL": args.database_url}
        if args.encryption_key is not None:
            secret["BACKUP_ENCRYPTION_KEY"] = args.encryption_key

        mounts = [
            docker.ContainerMountArgs(target=DATA_DIR, source=args.volume_name, type="volume",
                                      read_only=data_mount_read_only(args.database_type, args.vector_db)),
            docker.ContainerMountArgs(target=BACKUP_MOUNT, source=args.host_directory, type="bind"),
        ]
        if copy_dir:
            mounts.append(docker.ContainerMountArgs(target=COPY_MOUNT, source=copy_dir, type="bind"))
        if args.ca_file:
            mounts.append(docker.ContainerMountArgs(target=args.ca_file, source=args.ca_file, type="bind",
                                                    read_only=True))

        self.container = docker.Container(
            f"{name}-job",
            image=args.image_name,
            command=[*TOOL, "loop"],
            envs=env_list(plain, secret),
            mounts=mounts,
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=args.network_name)],
            hosts=[docker.ContainerHostArgs(host=h, ip=ip) for h, ip in args.extra_hosts.items()],
            # Healthy as soon as the loop runs without a failed backup (backup-tool health).
            wait=True,
            wait_timeout=120,
            # A backup in progress is removed cleanly on SIGTERM; give it time to unwind.
            stop_timeout=60,
            **hardened_container_args(args.profile),
            opts=container_opts(self, depends_on=[prepare, *args.depends_on]),
        )
        limit_pids(self, f"{name}-job", self.container, args.profile.docker_env)
        self.container_name = self.container.name
        self.host_directory = pulumi.Output.from_input(args.host_directory)
        self.register_outputs({"container_name": self.container_name, "host_directory": self.host_directory})
