"""Day-2 operations on a deployed stack, one command each (docs/operations.md): `scripts/owui ...`, which is
`python3 -m owui_ops ...`.

  scripts/owui backup   <stack>            one backup now (the stack's env, the tools image)
  scripts/owui backups  <stack>            list backups with size, age and database revision
  scripts/owui restore  <stack> <backup>   stop the app, restore database + data, migrate to the image's head,
                                           start, wait until healthy
  scripts/owui rollback <stack>            back to the previous image (restoring the pre-upgrade backup when the
                                           schema moved), then `pulumi up`
  scripts/owui status   <stack>            image, database revision vs code head, last backup age, certificate
                                           expiry, containers' health (exit 1 when something needs attention)

The stack is found through its containers' labels (openwebui.stack=<stack>, openwebui.role=app|backup|proxy),
through the daemon `docker` talks to; backups are host directories of that daemon's machine, read and written
only by containers (owui_ops.stack). Secrets never appear on a command line or in the output.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

from owui_ops import dockerhost
from owui_ops.backup import human
from owui_ops.dockercli import docker
from owui_ops.errors import Fail, die
from owui_ops.stack import (
    BACKUP_MOUNT,
    PRE_MIGRATION_MOUNT,
    ROOT,
    Container,
    Stack,
    age,
    migrate_and_guard,
    prepare_backup_dir,
    run_app_tool,
    run_backup_tool,
    say,
    stack_file_settings,
)


def cmd_backup(args: argparse.Namespace) -> int:
    stack = Stack.find(args.stack, args)
    prepare_backup_dir(stack, stack.backup_dir)
    say(f"backing up stack {stack.name} into {stack.backup_dir}")
    code, manifest = run_backup_tool(stack, ["run"], operation="backup")
    if code != 0 or not isinstance(manifest, dict):
        die(code or 1, f"the backup failed (backup-tool exit {code})")
    print(json.dumps(manifest, sort_keys=True) if args.json else
          f"{manifest['name']}  {human(manifest['size'])}  revision {manifest['database'].get('revision')}  "
          f"in {manifest['duration_seconds']}s  -> {stack.backup_dir / manifest['name']}")
    return 0


def list_all(stack: Stack, *, revisions: bool = False) -> list[dict[str, Any]]:
    """Full backups and pre-migration files, newest first; paths are the host's."""
    found: list[dict[str, Any]] = []
    directories = {stack.backup_dir: BACKUP_MOUNT}
    # Host paths on the Docker host, reached through the daemon (a missing one is created empty by it).
    if stack.pre_migration_dir != stack.backup_dir:
        directories[stack.pre_migration_dir] = PRE_MIGRATION_MOUNT
    extra = [f"{host}:{inside}:ro" for host, inside in directories.items() if inside != BACKUP_MOUNT]
    for host, inside in directories.items():
        argv = ["list", "--dir", inside, *(["--revisions"] if revisions else [])]
        code, items = run_backup_tool(stack, argv, operation="list", extra_mounts=extra)
        if code != 0 or not isinstance(items, list):
            die(1, f"listing {host} failed (backup-tool exit {code})")
        for item in items:
            item["path"] = str(host / item["name"])
            found.append(item)
    found.sort(key=lambda b: b["finished"], reverse=True)
    return found


def cmd_backups(args: argparse.Namespace) -> int:
    stack = Stack.find(args.stack, args)
    items = list_all(stack, revisions=args.revisions)
    if args.json:
        print(json.dumps(items, indent=1))
        return 0
    if not items:
        print(f"no backups for stack {stack.name} in {stack.backup_dir}")
        return 0
    print(f"{'NAME':<34} {'KIND':<14} {'SIZE':>10} {'AGE':>8}  {'REVISION':<14} ENCRYPTED")
    for item in items:
        print(f"{item['name']:<34} {item['kind']:<14} {human(item['size']):>10} {age(item['age_seconds']):>8}  "
              f"{item.get('revision') or '-':<14} {'yes' if item.get('encrypted') else 'no'}")
    return 0


# ------------------------------------------------------------------------------------------------------------
# Commands: restore


def confirm(args: argparse.Namespace, question: str) -> None:
    if args.yes:
        return
    if not sys.stdin.isatty():
        die(1, f"{question} Pass --yes to confirm (no terminal to ask).")
    answer = input(f"{question} Type 'yes' to continue: ")
    if answer.strip().lower() != "yes":
        die(1, "cancelled")


def locate_backup(stack: Stack, name: str) -> tuple[str, list[str], dict[str, Any]]:
    """The name `backup-tool` sees inside the container, the extra mount it needs, and its listing entry."""
    for item in list_all(stack, revisions=False):
        if name in (item["name"], item["path"]):
            host = Path(item["path"])
            if host.parent == stack.backup_dir:
                return item["name"], [], item
            return f"{PRE_MIGRATION_MOUNT}/{item['name']}", [f"{host.parent}:{PRE_MIGRATION_MOUNT}:ro"], item
    die(1, f"no backup {name!r} for stack {stack.name}: see `scripts/owui backups {stack.name}`")


def wait_healthy(containers: list[Container], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = {c.id: c.name for c in containers}
    while pending:
        for cid, name in list(pending.items()):
            state = json.loads(docker("inspect", cid).stdout)[0]["State"]
            status = (state.get("Health") or {}).get("Status")
            if status == "healthy" or (status is None and state["Status"] == "running"):
                del pending[cid]
            elif state["Status"] in ("exited", "dead"):
                die(1, f"{name} stopped while starting: see `docker logs {name}`")
        if pending and time.monotonic() > deadline:
            die(1, f"{', '.join(pending.values())} not healthy after {timeout:.0f}s: see `docker logs`")
        if pending:
            time.sleep(2)


def restore_into(stack: Stack, name: str, *, image: str, args: argparse.Namespace, start: bool) -> dict[str, Any]:
    """The restore sequence shared by `restore` and `rollback`."""
    inside, extra, item = locate_backup(stack, name)
    # 1. Check the backup (checksums, the key) while the app still serves: a bad backup stops nothing.
    if item["kind"] == "full":
        code, _ = run_backup_tool(stack, ["verify", inside], operation="verify", extra_mounts=extra)
        if code != 0:
            die(code, f"backup {name} does not verify (backup-tool exit {code}); nothing was changed")
    # 2. A backup of the current state, so the restore itself can be undone.
    safety = None
    if not args.no_safety_backup:
        prepare_backup_dir(stack, stack.backup_dir)
        code, manifest = run_backup_tool(stack, ["run"], operation="backup")
        if code != 0 or not isinstance(manifest, dict):
            die(1, f"the safety backup of the current state failed (exit {code}); nothing was changed. "
                "Pass --no-safety-backup to restore without one")
        safety = manifest["name"]
        say(f"safety backup of the current state: {safety}")
    # 3. Stop the app (and the backup job, so no scheduled backup reads a half-restored state).
    to_stop = [c for c in [*stack.apps, *([stack.backup_job] if stack.backup_job else [])] if c.running]
    if to_stop:
        say(f"stopping {', '.join(c.name for c in to_stop)}")
        docker("stop", "-t", "30", *[c.id for c in to_stop])
    started = time.monotonic()
    try:
        code, restored = run_backup_tool(stack, ["restore", inside], operation="restore", extra_mounts=extra)
        if code != 0:
            die(code, f"the restore failed (backup-tool exit {code})")
        # 4. To the image's head, then the settings the stack owns (see migrate_and_guard).
        migrated, guarded = migrate_and_guard(stack, image)
    except Fail as failure:
        stopped = " ".join(c.name for c in to_stop)
        die(failure.code, f"{failure}. The app is left stopped. The safety backup is "
            f"{safety or '(none)'}; restore it with `scripts/owui restore {stack.name} {safety}`"
            + (f", or start the old containers with `docker start {stopped}`" if stopped else ""))
    result = {"stack": stack.name, "restored": name, "safety_backup": safety, "revision": migrated.get("current"),
              "before_upgrade": migrated.get("before"), "data_files": restored.get("data_files"),
              "admin_password_reset": (guarded or {}).get("admin_password_reset")}
    if start:
        # All of them, also those a failed earlier attempt left stopped: a restore ends with a running stack.
        to_start = [*stack.apps, *([stack.backup_job] if stack.backup_job else [])]
        say(f"starting {', '.join(c.name for c in to_start)}")
        docker("start", *[c.id for c in to_start])
        wait_healthy(stack.apps, args.timeout)
        result["healthy"] = [c.name for c in stack.apps]
    result["downtime_seconds"] = round(time.monotonic() - started, 1)
    return result


def cmd_restore(args: argparse.Namespace) -> int:
    stack = Stack.find(args.stack, args)
    image = args.image or stack.image
    confirm(args, f"This replaces the database and the data directory of stack {stack.name} with backup "
                  f"{args.backup}; the app is stopped meanwhile.")
    result = restore_into(stack, args.backup, image=image, args=args, start=not args.no_start)
    print(json.dumps(result, sort_keys=True) if args.json else
          f"restored {result['restored']} into {stack.name}: database at {result['revision']}, "
          f"{result['data_files']} data entries, app down for {result['downtime_seconds']}s"
          + (f"; safety backup {result['safety_backup']}" if result["safety_backup"] else ""))
    return 0


# ------------------------------------------------------------------------------------------------------------
# Commands: rollback


def pulumi(argv: list[str], *, capture: bool = True, timeout: float = 3600,
           installed_only: bool = False) -> subprocess.CompletedProcess:
    """pulumi in the project's environment: the one on PATH (after `source scripts/env.sh`), else through
    scripts/env.sh, which may first build the engine (never for a mere lookup: installed_only)."""
    if shutil.which("pulumi"):
        env = dict(os.environ)
        # The defaults scripts/env.sh sets, so a plain shell finds the same state.
        env.setdefault("PULUMI_BACKEND_URL", "file://" + os.environ.get(
            "OWUI_STATE_DIR", str(Path.home() / ".local/share/openwebui-pulumi/state")))
        env.setdefault("PULUMI_CONFIG_PASSPHRASE", "openwebui-dev-only")
        command = ["pulumi", *argv]
    elif installed_only:
        raise FileNotFoundError("pulumi is not on PATH (source scripts/env.sh)")
    else:
        env = None
        command = ["bash", "-c", 'source "$1/scripts/env.sh" >&2; shift; exec pulumi "$@"', "owui", str(ROOT), *argv]
    # OWUI_PROJECT_DIR: a project directory other than this checkout (a stack of its own, as the tests make).
    return subprocess.run(command, cwd=os.environ.get("OWUI_PROJECT_DIR") or ROOT, env=env, capture_output=capture,
                          text=True, stdin=subprocess.DEVNULL, timeout=timeout)


@contextlib.contextmanager
def stack_docker_host(stack: str) -> Iterator[None]:
    """Point this command's docker CLI at the stack's daemon, from the same source as the provider and the steps:
    the stack's `openwebui:docker` (host, hostKey) and secret `dockerSshKey`, read with `pulumi config get` (the
    key on a pipe, into an ssh-agent for this command: owui_ops/dockerhost.py). A DOCKER_HOST already set wins
    (with OWUI_DOCKER_SSH_OPTS and SSH_AUTH_SOCK, as the stack's steps get them); a stack without the key, or no
    pulumi, means the local daemon."""
    if os.environ.get(dockerhost.HOST_ENV):
        dockerhost.activate()
        yield
        return
    try:
        found = pulumi(["config", "get", "openwebui:docker", "--stack", stack], timeout=120, installed_only=True)
    except (OSError, subprocess.TimeoutExpired):
        # No pulumi to read the key with: fine for a local stack, a clear stop for one on an SSH host.
        listed = stack_file_settings(stack).get("docker")
        if isinstance(listed, dict) and str(listed.get("host", "")).startswith("ssh://"):
            die(1, f"stack {stack} runs on {listed['host']}: its SSH key is read with `pulumi config get`, "
                   "which is not on PATH (source scripts/env.sh)")
        yield
        return
    settings = json.loads(found.stdout) if found.returncode == 0 and found.stdout.strip() else {}
    host = settings.get("host") if isinstance(settings, dict) else None
    if not host or not str(host).startswith("ssh://"):
        if host:
            os.environ[dockerhost.HOST_ENV] = str(host)
        yield
        return
    key = pulumi(["config", "get", "openwebui:dockerSshKey", "--stack", stack], timeout=120, installed_only=True)
    if key.returncode != 0 or not key.stdout.strip():
        die(1, f"stack {stack} deploys to {host} but has no dockerSshKey: "
               "`pulumi config set --secret dockerSshKey < key`")
    options = dockerhost.ssh_opts(dockerhost.SshTarget.parse(str(host)), str(settings.get("hostKey") or ""))
    with dockerhost.agent(key.stdout) as agent_env:
        os.environ.update(agent_env)
        os.environ.update(dockerhost.stack_environment(str(host), options))
        dockerhost.activate()
        yield


def previous_image_from_history(stack: str, current: str) -> Optional[str]:
    """The `openwebui:image` of the newest successful update that deployed another image."""
    try:
        result = pulumi(["stack", "history", "--json", "--page-size", "100", "--stack", stack], timeout=120,
                        installed_only=True)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    try:
        updates = json.loads(result.stdout)
    except ValueError:
        return None
    seen_current = False
    for update in updates:  # newest first
        if update.get("kind") != "update" or update.get("result") != "succeeded":
            continue
        image = ((update.get("config") or {}).get("openwebui:image") or {}).get("value")
        if image == current:
            seen_current = True
        elif image and seen_current:
            return image
    return None


def previous_image_from_backups(stack: Stack, current: str) -> Optional[str]:
    """Each backup records the image that ran when it was taken."""
    for item in list_all(stack):
        if item.get("app_image") and item["app_image"] != current:
            return item["app_image"]
    return None


def cmd_rollback(args: argparse.Namespace) -> int:
    stack = Stack.find(args.stack, args)
    current = stack.image
    previous = args.to or previous_image_from_history(stack.name, current) or \
        previous_image_from_backups(stack, current)
    if not previous:
        die(1, f"cannot tell which image ran before {current}: no earlier update in `pulumi stack history` and no "
            f"backup recorded one. Name it: scripts/owui rollback {stack.name} --to IMAGE")
    if previous == current:
        die(1, f"stack {stack.name} already runs {current}")
    # Does the previous image understand the database as it is now? (its code's migration head vs the database's
    # revision)
    code, report = run_app_tool(stack, previous, ["migrate", "status"], operation="status")
    if code != 0 or not isinstance(report, dict):
        die(1, f"cannot read the database revision with {previous} (exit {code}); is the image present?")
    schema_moved = bool(report.get("unknown_revisions"))
    plan: dict[str, Any] = {"stack": stack.name, "from": current, "to": previous, "schema_moved": schema_moved,
                            "database_revision": report.get("current"), "previous_head": report.get("heads")}
    backup = None
    if schema_moved:
        heads = ",".join(report.get("heads") or [])
        candidates = [b for b in list_all(stack, revisions=True) if b.get("revision") == heads
                      and b.get("database") == stack.database_type]
        if args.backup:
            backup = args.backup
        elif candidates:
            backup = candidates[0]["name"]
        else:
            die(1, f"the database is at {report.get('current')}, which {previous} does not know (the upgrade migrated "
                f"it), and no backup at {previous}'s head {heads} was found in {stack.backup_dir} or "
                f"{stack.pre_migration_dir}. Pass --backup NAME to choose one")
        chosen = next((b for b in list_all(stack) if backup in (b["name"], b["path"])), None)
        plan["backup"] = backup
        plan["backup_age_seconds"] = chosen["age_seconds"] if chosen else None
        confirm(args, f"Roll stack {stack.name} back from {current} to {previous}. The schema moved since, so "
                      f"backup {backup} ({age(plan['backup_age_seconds'] or 0)} old) is restored first: whatever "
                      "was written after it is lost (a safety backup of the current state is taken).")
        plan["restore"] = restore_into(stack, backup, image=previous, args=args, start=False)
        say("the app stays stopped until `pulumi up` brings up the previous image")
    else:
        confirm(args, f"Roll stack {stack.name} back from {current} to {previous}; the database "
                      f"({report.get('current')}) is compatible, no restore is needed.")
    commands = [["config", "set", "openwebui:image", previous, "--stack", stack.name],
                ["up", "--yes", "--stack", stack.name, "--policy-pack", "policy",
                 "--policy-pack-config", f"policy/config/{stack.name}.json"]]
    plan["pulumi"] = [" ".join(["pulumi", *c]) for c in commands]
    if args.no_up:
        say("finish with:\n  " + "\n  ".join(plan["pulumi"]))
    else:
        for command in commands:
            say(" ".join(["pulumi", *command]))
            try:
                result = pulumi(command, capture=False)
            except OSError as exc:
                result = subprocess.CompletedProcess(command, 127)
                say(f"cannot run pulumi: {exc}")
            if result.returncode != 0:
                die(3, "pulumi failed; finish by hand with:\n  " + "\n  ".join(plan["pulumi"]))
        plan["done"] = True
    print(json.dumps(plan, sort_keys=True) if args.json else
          f"rollback of {stack.name} to {previous}: " + ("restored " + str(backup) + ", " if backup else "")
          + ("done" if plan.get("done") else "run the pulumi commands above to finish"))
    return 0


# ------------------------------------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("stack", help="stack name (dev, staging, prod)")
    common.add_argument("--json", action="store_true", help="print JSON")
    common.add_argument("--backup-dir", help="the stack's backup directory on the host (default: the backup "
                                             "container's, else <backup.directory>/<stack>)")
    common.add_argument("--pre-migration-dir", help="where the migration step writes its pre-migration backups "
                                                    "(default: <migration.backupDir>/<stack> from the stack file)")
    common.add_argument("--tools-image", help="the tools image with owui_ops (default: the stack's)")
    parser = argparse.ArgumentParser(prog="scripts/owui", description=(__doc__ or "").split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("backup", parents=[common], help="one backup now")
    backups = sub.add_parser("backups", parents=[common], help="list backups with size and age")
    backups.add_argument("--revisions", action="store_true", help="also read pre-migration files' revisions")
    restoring = argparse.ArgumentParser(add_help=False)
    restoring.add_argument("--yes", action="store_true", help="do not ask")
    restoring.add_argument("--no-safety-backup", action="store_true",
                           help="do not back up the current state first")
    restoring.add_argument("--timeout", type=float, default=300, help="seconds to wait for health (300)")
    restore = sub.add_parser("restore", parents=[common, restoring], help="restore a backup into the stack")
    restore.add_argument("backup", help="backup name (see `backups`) or a pre-migration file")
    restore.add_argument("--image", help="migrate with this image instead of the running one")
    restore.add_argument("--no-start", action="store_true", help="leave the app stopped")
    rollback = sub.add_parser("rollback", parents=[common, restoring], help="back to the previous image")
    rollback.add_argument("--to", help="the image to go back to (default: from the stack's history)")
    rollback.add_argument("--backup", help="the backup to restore when the schema moved (default: the newest "
                                           "at the previous image's head)")
    rollback.add_argument("--no-up", action="store_true", help="print the pulumi commands instead of running them")
    status = sub.add_parser("status", parents=[common], help="versions, revision, backups, certificate, health")
    status.add_argument("--cert-warn-days", type=float, default=14)
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    from owui_ops.status import cmd_status

    args = parse_args(argv)
    if shutil.which("docker") is None:
        say("docker is not installed or not on PATH")
        return 1
    handler = {"backup": cmd_backup, "backups": cmd_backups, "restore": cmd_restore, "rollback": cmd_rollback,
               "status": cmd_status}[args.command]
    try:
        with stack_docker_host(args.stack):
            return handler(args)
    except Fail as failure:
        say(f"ERROR: {failure}")
        return failure.code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
