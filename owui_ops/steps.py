"""The stack's one-shot steps, run by its command resources on the machine that runs pulumi
(`python3 -m owui_ops step migration|volume-owner`, through scripts/run-migration and scripts/run-volume-owner).

Every container they start talks to the Docker daemon the `docker` CLI is pointed at, and needs nothing from
this machine's disk: the ops code comes from the tools image, backups go to a directory on the Docker host.

How the package reaches the app image. The alembic steps and the volume probe must run with the app image's
own Python (they import open_webui, or must see the image's layout), and `image` may be any image, upstream's
included (ghcr.io/open-webui/open-webui: python:3.11-slim, open_webui as a source tree in /app/backend), which
we cannot install anything into. So the package goes in as a read-only named volume filled from the tools
image: Docker copies an image's directory into an empty named volume the first time a container mounts it
(the copy-up the volume-ownership step relies on too), so one throw-away tools container fills
`openwebui-ops-<tools image id>`, and app-image containers mount it at /opt/owui-ops with PYTHONPATH pointing
there. The volume is named by the tools image's content, so a rebuilt image gets a new volume and an old one
never serves stale code; the daemon owns it, so it works the same against a remote daemon. (An image mount,
`--mount type=image`, would do without the volume but needs Docker 28; this build machine has 20.10.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Optional, TypeVar

from owui_ops import hardening
from owui_ops.dockercli import docker
from owui_ops.errors import Fail, die, log

OPS_MOUNT = "/opt/owui-ops"  # where the tools image has the package (images/tools/recipe.sh) and app images get it
DATA_DIR = "/app/backend/data"
# Upstream's image has open_webui only as the source tree in /app/backend (its Dockerfile: `WORKDIR /app/backend`,
# `COPY ./backend .`), which `python3 -m owui_ops` does not find from another working directory.
APP_PYTHONPATH = f"{OPS_MOUNT}:/app/backend"


def say(message: str) -> None:
    log("owui-step", message)


def require(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        die(1, f"{name} is not set")
    return value


def ops_volume(tools_image: str, stack: str) -> str:
    """The named volume holding this tools image's owui_ops, filled on first use (see the module docstring)."""
    image_id = docker("image", "inspect", "--format", "{{.Id}}", tools_image).stdout.strip()
    name = f"openwebui-ops-{image_id.split(':', 1)[-1][:12]}"
    # A filled volume gets a second, empty volume as its mark (volume labels cannot change after creation): with
    # both there, one `volume inspect` replaces the fill container, 0.46 s of every step that needs the package
    # (bench/results.md). A volume without its mark (a fill that never ended) is filled and checked again.
    ready = f"{name}-ready"
    if docker("volume", "inspect", name, ready, check=False).returncode == 0:
        return name
    if docker("volume", "inspect", name, check=False).returncode != 0:
        docker("volume", "create", "--label", f"{hardening.ROLE_LABEL}=ops-package",
               "--label", f"{hardening.IMAGE_LABEL}={tools_image}", name)
    # Mounting the (empty) volume over the image's directory is what copies it in; a second run finds it filled
    # and copies nothing. The probe checks the package is there whichever run filled it.
    docker("run", "--rm", "--network", "none",
           *hardening.run_flags(user=hardening.APP_USER, memory_mb=128, cpus=0.5, pids_limit=64,
                                labels={hardening.ROLE_LABEL: "ops-package", hardening.STACK_LABEL: stack}),
           "-v", f"{name}:{OPS_MOUNT}", "-e", f"PYTHONPATH={OPS_MOUNT}", "--entrypoint", "python3", tools_image,
           "-c", "import owui_ops.cli")
    docker("volume", "create", "--label", f"{hardening.ROLE_LABEL}=ops-package-ready",
           "--label", f"{hardening.IMAGE_LABEL}={tools_image}", ready)
    return name


def app_python(volume: str) -> list[str]:
    """Flags that let an app-image container run `python3 -m owui_ops` from the package volume."""
    return ["-v", f"{volume}:{OPS_MOUNT}:ro", "-e", f"PYTHONPATH={APP_PYTHONPATH}", "--entrypoint", "python3"]


def prepare_host_dir(tools_image: str, host_dir: str, owner: str, stack: str) -> None:
    """Make `host_dir` on the Docker host exist, `owner`'s, mode 0750: through the daemon, so it is the host the
    containers run on, not this machine. The daemon creates a missing bind source (root's, 0755); a root
    container with CAP_CHOWN and CAP_FOWNER only hands it over (owui_ops.backup.prepare_dir)."""
    if not host_dir.startswith("/") or " " in host_dir:
        die(1, f"backup directory {host_dir!r} must be an absolute path without spaces")
    docker("run", "--rm", "--network", "none",
           *hardening.run_flags(user="0:0", memory_mb=128, cpus=0.5, pids_limit=64, cap_add=("CHOWN", "FOWNER"),
                                labels={hardening.ROLE_LABEL: "backup-directory", hardening.STACK_LABEL: stack}),
           "-v", f"{host_dir}:/target", "--entrypoint", "python3", tools_image,
           "-m", "owui_ops", "backup-tool", "prepare-dir", owner, "/target")


T = TypeVar("T")
U = TypeVar("U")


def both(first: Callable[[], T], second: Callable[[], U]) -> tuple[T, U]:
    """Two independent docker runs at once: each container start costs seconds, mostly waiting on the daemon.
    The first failure is raised (after both have ended)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        a, b = pool.submit(first), pool.submit(second)
        return a.result(), b.result()


def run_shown(argv: Sequence[str]) -> None:
    """A step container whose output is progress (stderr of the step); a failure stops the step."""
    result = subprocess.run(["docker", *argv], stdout=sys.stderr, stderr=sys.stderr, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        die(result.returncode, f"docker run {argv[-1] if argv else ''} exited {result.returncode}")


# ------------------------------------------------------------------------------------------------------------
# The migration step (components/migration.py)


def migration() -> int:
    """backup -> record revision -> upgrade head -> verify -> pin the settings the stack owns. Any failure exits
    non-zero, so `pulumi up` stops and the running app is left alone; the backup stays on the Docker host.
    Secrets arrive only as environment variables and go to the containers by name (`-e NAME`), never as values
    on a command line. The last stdout line is `migrate status` JSON (the stack output databaseRevision)."""
    stack, app_image, tools_image = require("OWUI_STACK"), require("OWUI_APP_IMAGE"), require("OWUI_TOOLS_IMAGE")
    network, kind, backup_base = require("OWUI_NETWORK"), require("OWUI_DATABASE_TYPE"), require("OWUI_BACKUP_DIR")
    require("DATABASE_URL")
    require("WEBUI_SECRET_KEY")
    app_user = os.environ.get("OWUI_APP_USER") or hardening.APP_USER
    backup_dir = f"{backup_base.rstrip('/')}/{stack}"
    _, volume = both(lambda: prepare_host_dir(tools_image, backup_dir, app_user, stack),
                     lambda: ops_volume(tools_image, stack))

    common = ["run", "--rm",
              *hardening.run_flags(user=app_user, memory_mb=int(os.environ.get("OWUI_MEMORY_MB") or 1024),
                                   cpus=float(os.environ.get("OWUI_CPUS") or 1),
                                   labels={hardening.ROLE_LABEL: "migration", hardening.STACK_LABEL: stack}),
              "--network", network, "--add-host", "host.docker.internal:host-gateway",
              "-e", "DATABASE_URL", "-e", "WEBUI_SECRET_KEY", "-e", "HOME=/tmp", "-e", "BACKUP_DIR=/backups",
              "-v", f"{backup_dir}:/backups"]
    ca_file = os.environ.get("OWUI_DATABASE_CA_FILE")
    if ca_file:
        common += ["-v", f"{ca_file}:{ca_file}:ro"]
    if kind == "sqlite":
        common += ["-v", f"{require('OWUI_VOLUME')}:{DATA_DIR}", "-e", f"DATA_DIR={DATA_DIR}"]
    app = [*common, "-e", f"DATA_DIR={DATA_DIR}", "-e", "ENABLE_DB_MIGRATIONS=false", "-e", "OFFLINE_MODE=true",
           "-e", "USE_SLIM_DOCKER=true", *app_python(volume)]
    ops = ["-m", "owui_ops"]

    # 1. Backup. PostgreSQL/MySQL: pg_dump / mysqldump from the tools image (the app image has neither).
    #    SQLite: the online backup API with the app image's Python (the file is in its volume), in step 2.
    skip_backup = os.environ.get("OWUI_SKIP_BACKUP", "false") == "true"
    if not skip_backup and kind != "sqlite":
        run_shown([*common, "--entrypoint", "python3", tools_image, *ops, "migrate", "backup"])
    # 2. One app-image container (each start costs seconds): record the revision, upgrade to head, verify (the
    #    runner refuses two heads or a database ahead), pin the settings the stack owns (sign-up off, public URL)
    #    and the admin's password, then print `migrate status`.
    apply = ["migrate", "apply", *(["--no-backup"] if skip_backup or kind != "sqlite" else [])]
    status = subprocess.run(["docker", *app, "-e", "OWUI_ENFORCED_CONFIG", "-e", "WEBUI_ADMIN_EMAIL",
                             "-e", "WEBUI_ADMIN_PASSWORD", app_image, *ops, *apply],
                            stdout=subprocess.PIPE, stderr=sys.stderr, text=True, stdin=subprocess.DEVNULL)
    if status.returncode != 0:
        die(status.returncode, f"migrate apply exited {status.returncode}")
    print(status.stdout.strip().splitlines()[-1] if status.stdout.strip() else "{}")
    return 0


# ------------------------------------------------------------------------------------------------------------
# The data-volume ownership step (components/volume_owner.py)


def volume_owner() -> int:
    """Make the data volume the app user's, whatever image filled it:
      1. the layout, read from the image itself (not from a label): its USER (docker image inspect) and the owner
         of its data directory (a probe container: no network, no capabilities, nobody);
      2. the volume as the app would mount it, probed as the app user without capabilities. Docker copies an
         image's data directory into an empty volume on first mount, owners included, so a fresh volume with
         upstream's image is root-owned (upstream's Dockerfile: `ARG UID=0`, `chown -R $UID:$GID
         /app/backend/data/`), and so is a volume an upstream container wrote as root (upstream's README:
         `docker run -v open-webui:/app/backend/data ...`);
      3. only when something there is not the app user's: one root container with CAP_CHOWN alone, no network,
         read-only root, no-new-privileges, limits, that chowns those entries and exits. It is kept (exited,
         labelled openwebui.role=volume-owner) so `docker inspect` shows what ran;
      4. after a take-over, the probe again: anything left that the app user does not own fails the step (and `up`).
    Last stdout line: the findings as JSON (stack output volumeOwnership)."""
    stack, app_image, data_volume = require("OWUI_STACK"), require("OWUI_APP_IMAGE"), require("OWUI_VOLUME")
    tools_image = require("OWUI_TOOLS_IMAGE")
    app_user = os.environ.get("OWUI_APP_USER") or hardening.APP_USER
    uid, _, gid = app_user.partition(":")
    data_dir = os.environ.get("OWUI_DATA_DIR") or DATA_DIR
    owner_container = f"openwebui-{stack}-volume-owner"
    volume, image_user = both(
        lambda: ops_volume(tools_image, stack),
        lambda: docker("image", "inspect", "-f", "{{.Config.User}}", app_image).stdout.strip())
    tool = [*app_python(volume), app_image, "-m", "owui_ops", "volume-owner"]

    def sandbox(user: str) -> list[str]:
        return ["run", "--rm", "--network", "none",
                *hardening.run_flags(user=user, memory_mb=256, cpus=0.5, pids_limit=64,
                                     labels={hardening.STACK_LABEL: stack, hardening.ROLE_LABEL: "volume-probe"})]

    # 1. The image's layout (its USER came with the ops volume above) and 2. the volume as the app user sees it:
    #    two containers, at once.
    def probe() -> dict[str, object]:
        out = docker(*sandbox(app_user), "-v", f"{data_volume}:{data_dir}", *tool, "probe", uid, gid,
                     data_dir).stdout
        return dict(json.loads(out.strip().splitlines()[-1]))

    image_data_owner, before = both(
        lambda: docker(*sandbox("65534:65534"), *tool, "owner", data_dir).stdout.strip(), probe)
    say(f"image user '{image_user or '(none: root)'}', data directory owner {image_data_owner}; "
        f"volume {data_volume} before: {json.dumps(before, sort_keys=True)}")

    # 3. Take over what is not the app user's. A previous run's container goes first (same name).
    docker("rm", "-f", owner_container, check=False)
    took_over = False
    if before.get("foreign") or before.get("errors"):
        labels = {hardening.ROLE_LABEL: "volume-owner", hardening.STACK_LABEL: stack,
                  hardening.ENVIRONMENT_LABEL: os.environ.get("OWUI_ENVIRONMENT", ""),
                  hardening.IMAGE_LABEL: app_image}
        run_shown(["run", "--name", owner_container, "--network", "none",
                   *hardening.run_flags(user="0:0", memory_mb=256, cpus=0.5, pids_limit=64, cap_add=("CHOWN",),
                                        labels=labels),
                   "--restart", "no",
                   "--health-cmd", f"python3 -m owui_ops volume-owner check {uid} {gid} {data_dir}",
                   "--health-interval", "30s", "--health-timeout", "5s", "--health-retries", "1",
                   "-v", f"{data_volume}:{data_dir}", *tool, "take-over", uid, gid, data_dir])
        took_over = True

    # 4. Verify what the take-over did (nothing to verify when it did not run: the probe just passed).
    after = probe() if took_over else before
    if after.get("foreign") or after.get("errors"):
        die(1, f"{data_volume} still has entries {app_user} does not own or cannot read: "
               f"{json.dumps(after, sort_keys=True)}")
    print(json.dumps({"imageUser": image_user, "imageRunsAsRoot": image_user.split(":")[0] in ("", "0", "root"),
                      "imageDataOwner": image_data_owner, "volumeBefore": before, "tookOver": took_over},
                     sort_keys=True))
    return 0


# ------------------------------------------------------------------------------------------------------------
# The backup job's directories (components/backup.py)


def backup_dirs() -> int:
    """Each of OWUI_DIRS (host paths, space-separated) made OWUI_OWNER's, mode 0750, on the Docker host."""
    tools_image, owner, stack = require("OWUI_TOOLS_IMAGE"), require("OWUI_OWNER"), require("OWUI_STACK")
    for directory in require("OWUI_DIRS").split():
        prepare_host_dir(tools_image, directory, owner, stack)
    return 0


def main(argv: Optional[list[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    steps = {"migration": migration, "volume-owner": volume_owner, "backup-dirs": backup_dirs}
    if len(argv) != 1 or argv[0] not in steps:
        print("usage: python3 -m owui_ops step migration|volume-owner|backup-dirs", file=sys.stderr)
        return 2
    try:
        return steps[argv[0]]()
    except Fail as failure:
        say(f"ERROR: {failure}")
        return failure.code
