"""A deployed stack as the operator commands see it: its containers (found by label through the daemon), its
settings, and hardened one-shot containers with its environment.

Secrets (DATABASE_URL, WEBUI_SECRET_KEY, the backup key) are read from the running containers' environment with
`docker inspect` and handed to one-shot containers through an --env-file in a 0600 temporary file that is
removed afterwards: never a value on a command line, never printed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

from owui_ops import hardening
from owui_ops.dockercli import docker
from owui_ops.errors import die, log, remember_secret
from owui_ops.steps import APP_PYTHONPATH, OPS_MOUNT, ops_volume, prepare_host_dir

# The checkout the operator runs from (stack files, scripts/env.sh); the package sits at its root.
ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = "/app/backend/data"
BACKUP_MOUNT = "/backups"
PRE_MIGRATION_MOUNT = "/premigration"
DEFAULT_BACKUP_DIR = "/var/backups/openwebui"
SECRET_ENV = ("DATABASE_URL", "WEBUI_SECRET_KEY", "OAUTH_SESSION_TOKEN_ENCRYPTION_KEY", "WEBUI_ADMIN_PASSWORD",
              "REDIS_URL", "WEBSOCKET_REDIS_URL", "BACKUP_ENCRYPTION_KEY")


def say(message: str) -> None:
    log("owui", message)


def remember_env(key: str, value: Optional[str]) -> None:
    """A URL's password (and the URL itself when it has one); other secret variables whole."""
    if not value:
        return
    if "://" in value and key.endswith("_URL"):
        password = urllib.parse.urlsplit(value).password
        if password:
            remember_secret(urllib.parse.unquote(password), minimum=4)
            remember_secret(password, minimum=4)
            remember_secret(value, minimum=4)
        return
    remember_secret(value, minimum=4)




@dataclass
class Container:
    id: str
    name: str
    role: str
    image: str
    image_label: str
    user: str
    state: str
    health: Optional[str]
    env: dict[str, str]
    mounts: list[dict[str, Any]]
    networks: list[str]
    ports: dict[str, Any]

    @property
    def running(self) -> bool:
        return self.state == "running"

    def mount(self, destination: str) -> Optional[dict[str, Any]]:
        return next((m for m in self.mounts if m.get("Destination") == destination), None)


def stack_containers(stack: str) -> list[Container]:
    ids = docker("ps", "-a", "-q", "--filter", f"label=openwebui.stack={stack}").stdout.split()
    if not ids:
        return []
    found = []
    for item in json.loads(docker("inspect", *ids).stdout):
        labels = item["Config"].get("Labels") or {}
        env = dict(e.split("=", 1) for e in item["Config"].get("Env") or [] if "=" in e)
        for key in SECRET_ENV:
            remember_env(key, env.get(key))
        health = (item["State"].get("Health") or {}).get("Status")
        found.append(Container(
            id=item["Id"], name=item["Name"].lstrip("/"), role=labels.get("openwebui.role", ""),
            image=item["Config"]["Image"], image_label=labels.get("openwebui.image", item["Config"]["Image"]),
            user=item["Config"].get("User") or "1000:1000", state=item["State"]["Status"], health=health,
            env=env, mounts=item.get("Mounts") or [],
            networks=list((item.get("NetworkSettings") or {}).get("Networks") or {}),
            ports=(item.get("NetworkSettings") or {}).get("Ports") or {},
        ))
    return sorted(found, key=lambda c: (c.role, c.name))


# ------------------------------------------------------------------------------------------------------------
# The stack: its containers, its settings


def stack_file_settings(stack: str) -> dict[str, Any]:
    """`openwebui:migration` and `openwebui:backup` from stacks/Pulumi.<stack>.yaml (empty when absent)."""
    path = ROOT / "stacks" / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        return {}
    try:
        import yaml
    except ImportError:
        return {}
    config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    return {key.split(":", 1)[1]: value for key, value in config.items() if key.startswith("openwebui:")}


def config_default(section: str, key: str, fallback: str) -> str:
    """The config model's default (components/config.py), so this script never disagrees with the program."""
    try:  # importable when run from the checkout (scripts/owui puts it on PYTHONPATH) with the project's venv
        from components import config as model

        return str(getattr({"migration": model.MigrationSettings, "backup": model.BackupSettings}[section](), key))
    except Exception:  # noqa: BLE001 - elsewhere (the tools image), fall back to the documented default
        return fallback


@dataclass
class Stack:
    name: str
    containers: list[Container]
    args: argparse.Namespace
    settings: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def find(cls, name: str, args: argparse.Namespace) -> "Stack":
        containers = stack_containers(name)
        stack = cls(name, containers, args, stack_file_settings(name))
        if not stack.apps:
            die(1, f"stack {name!r} has no app containers (label openwebui.stack={name}, openwebui.role=app): "
                f"deploy it first (scripts/up {name})")
        return stack

    def role(self, role: str) -> list[Container]:
        return [c for c in self.containers if c.role == role]

    @property
    def apps(self) -> list[Container]:
        return self.role("app")

    @property
    def app(self) -> Container:
        running = [c for c in self.apps if c.running]
        return (running or self.apps)[0]

    @property
    def backup_job(self) -> Optional[Container]:
        jobs = self.role("backup")
        return jobs[0] if jobs else None

    @property
    def proxy(self) -> Optional[Container]:
        proxies = self.role("proxy")
        return proxies[0] if proxies else None

    @property
    def image(self) -> str:
        return self.app.image_label

    @property
    def network(self) -> str:
        networks = [n for n in self.app.networks if n not in ("bridge", "host", "none")]
        return (networks or self.app.networks or ["bridge"])[0]

    @property
    def volume(self) -> str:
        mount = self.app.mount(DATA_DIR)
        if not mount or not mount.get("Name") and not mount.get("Source"):
            die(1, f"the app container {self.app.name} has no data volume at {DATA_DIR}")
        return mount.get("Name") or mount["Source"]

    @property
    def database_type(self) -> str:
        scheme = self.app.env.get("DATABASE_URL", "sqlite").split(":", 1)[0].split("+", 1)[0]
        return {"postgres": "postgresql", "mariadb": "mysql"}.get(scheme, scheme)

    @property
    def backup_dir(self) -> Path:
        if self.args.backup_dir:
            return Path(self.args.backup_dir)
        job = self.backup_job
        mount = job.mount(BACKUP_MOUNT) if job else None
        if mount and mount.get("Source"):
            return Path(mount["Source"])
        base = (self.settings.get("backup") or {}).get("directory") or config_default(
            "backup", "directory", DEFAULT_BACKUP_DIR)
        return Path(base) / self.name

    @property
    def pre_migration_dir(self) -> Path:
        if self.args.pre_migration_dir:
            return Path(self.args.pre_migration_dir)
        base = (self.settings.get("migration") or {}).get("backupDir") or config_default(
            "migration", "backup_dir", DEFAULT_BACKUP_DIR)
        return Path(base) / self.name

    @property
    def tools_image(self) -> str:
        if self.args.tools_image:
            return self.args.tools_image
        if os.environ.get("OWUI_TOOLS_IMAGE"):
            return os.environ["OWUI_TOOLS_IMAGE"]
        if self.backup_job:
            return self.backup_job.image
        return (self.settings.get("migration") or {}).get("toolsImage") or config_default(
            "migration", "tools_image", "openwebui-local/tools:1.1.0")

    def backup_env(self) -> dict[str, str]:
        """What owui-backup needs: the app's database, the backup job's settings and key (or the operator's)."""
        job_env = self.backup_job.env if self.backup_job else {}
        env = {"DATABASE_URL": self.app.env.get("DATABASE_URL", f"sqlite:///{DATA_DIR}/webui.db"),
               "DATA_DIR": DATA_DIR, "BACKUP_DIR": BACKUP_MOUNT, "HOME": "/tmp",
               "OWUI_STACK": self.name, "OWUI_APP_IMAGE": self.image}
        for key in ("BACKUP_KEEP_COUNT", "BACKUP_KEEP_DAYS", "BACKUP_GZIP_LEVEL", "BACKUP_COPY_TO",
                    "BACKUP_ENCRYPTION_KEY"):
            value = os.environ.get(key) or job_env.get(key)
            if value:
                env[key] = value
        remember_secret(env.get("BACKUP_ENCRYPTION_KEY"), minimum=4)
        return env

    def extra_mounts(self) -> list[str]:
        """Read-only files the containers see at their host path (a database CA), and the backup copy target."""
        found: list[str] = []
        for container in [*self.apps, *([self.backup_job] if self.backup_job else [])]:
            for mount in container.mounts:
                source, target = mount.get("Source"), mount.get("Destination")
                if mount.get("Type") == "bind" and source == target and not mount.get("RW", True):
                    spec = f"{source}:{target}:ro"
                    if spec not in found:
                        found.append(spec)
        job = self.backup_job
        copy = job.mount("/copy") if job else None
        if copy and copy.get("Source"):
            found.append(f"{copy['Source']}:/copy")
        return found


# ------------------------------------------------------------------------------------------------------------
# One-shot containers with the stack's env


@contextlib.contextmanager
def env_file(values: dict[str, str]) -> Iterator[str]:
    """A 0600 --env-file, removed afterwards: secrets never appear on a command line."""
    directory = tempfile.mkdtemp(prefix="owui-env-")
    path = os.path.join(directory, "env")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            for key, value in values.items():
                if "\n" in value or "\r" in value:
                    die(1, f"{key} contains a line break, which an env file cannot carry")
                handle.write(f"{key}={value}\n")
        yield path
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def one_shot(stack: Stack, operation: str, image: str, env: dict[str, str], argv: list[str], *,
             mounts: list[str], memory_mb: int = 1024, timeout: Optional[float] = None,
             entrypoint: str = "python3") -> subprocess.CompletedProcess[str]:
    """Run a hardened, labelled, removed-afterwards container on the stack's network with its data volume."""
    name = f"owui-{stack.name}-{operation}-{secrets.token_hex(3)}"
    with env_file(env) as path:
        labels = {hardening.STACK_LABEL: stack.name, hardening.ROLE_LABEL: "operation",
                  "openwebui.operation": operation}
        command = ["run", "--rm", "--name", name,
                   *hardening.run_flags(user=stack.app.user, memory_mb=memory_mb, cpus=1.0, labels=labels),
                   "--network", stack.network, "--add-host", "host.docker.internal:host-gateway",
                   "--env-file", path, "-v", f"{stack.volume}:{DATA_DIR}"]
        for spec in mounts + stack.extra_mounts():
            command += ["-v", spec]
        command += ["--entrypoint", entrypoint, image, *argv]
        try:
            result = subprocess.run(["docker", *command], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                                    timeout=timeout)
        except subprocess.TimeoutExpired:
            docker("rm", "-f", name, check=False)
            die(1, f"{operation} did not finish within {timeout:.0f}s")
    for line in result.stderr.splitlines():
        say(f"  {line}")
    return result


def last_json(stdout: str) -> Any:
    for line in reversed(stdout.strip().splitlines()):
        with contextlib.suppress(ValueError):
            return json.loads(line)
    text = stdout.strip()
    with contextlib.suppress(ValueError):
        return json.loads(text)
    return None


def prepare_backup_dir(stack: Stack, path: Path) -> None:
    """The non-root tools user must be able to write there: made so on the Docker host, through the daemon."""
    prepare_host_dir(stack.tools_image, str(path), stack.app.user, stack.name)


def run_backup_tool(stack: Stack, argv: list[str], *, operation: str, extra_mounts: Optional[list[str]] = None,
                    timeout: Optional[float] = None) -> tuple[int, Any]:
    mounts = [f"{stack.backup_dir}:{BACKUP_MOUNT}", *(extra_mounts or [])]
    result = one_shot(stack, operation, stack.tools_image, stack.backup_env(),
                      ["-m", "owui_ops", "backup-tool", *argv], mounts=mounts, timeout=timeout)
    return result.returncode, last_json(result.stdout)


def app_tool_env(stack: Stack, extra_env: Optional[dict[str, str]] = None) -> dict[str, str]:
    env = {k: v for k, v in stack.app.env.items() if k not in ("PATH", "HOSTNAME")}
    env["PYTHONPATH"] = APP_PYTHONPATH  # the package volume, then upstream's source tree (owui_ops.steps)
    env.update(extra_env or {})
    return env


def app_tool_mounts(stack: Stack) -> list[str]:
    """The package, from the tools image, for a container of any app image (owui_ops.steps)."""
    return [f"{ops_volume(stack.tools_image, stack.name)}:{OPS_MOUNT}:ro"]


def run_app_tool(stack: Stack, image: str, argv: list[str], *, operation: str,
                 extra_env: Optional[dict[str, str]] = None, timeout: Optional[float] = None) -> tuple[int, Any]:
    result = one_shot(stack, operation, image, app_tool_env(stack, extra_env), ["-m", "owui_ops", *argv],
                      mounts=app_tool_mounts(stack), memory_mb=2048, timeout=timeout)
    return result.returncode, last_json(result.stdout)


def migrate_and_guard(stack: Stack, image: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """`migrate upgrade`, then `config-guard`, in ONE app-image container (each start costs seconds of
    downtime in a restore): the database to the image's head (record the revision, upgrade, verify), then the
    settings the stack owns and its admin password."""
    enforced: dict[str, Any] = {"ui.enable_signup": False}
    if stack.app.env.get("WEBUI_URL"):
        enforced["webui.url"] = stack.app.env["WEBUI_URL"]
    script = "python3 -m owui_ops migrate upgrade --no-backup && python3 -m owui_ops config-guard"
    result = one_shot(stack, "migrate", image, app_tool_env(stack, {"OWUI_ENFORCED_CONFIG": json.dumps(enforced)}),
                      ["-c", script], mounts=app_tool_mounts(stack), memory_mb=2048, entrypoint="sh")
    documents = []
    for line in result.stdout.splitlines():
        with contextlib.suppress(ValueError):
            documents.append(json.loads(line))
    migrated = next((d for d in documents if isinstance(d, dict) and "current" in d), None)
    guarded = next((d for d in documents if isinstance(d, dict) and "enforced" in d), None)
    if migrated is None:
        die(result.returncode or 1, f"migrate upgrade failed after the restore (exit {result.returncode})")
    if result.returncode != 0 or guarded is None:
        die(result.returncode or 1, f"config-guard failed after the restore (exit {result.returncode})")
    return migrated, guarded


# ------------------------------------------------------------------------------------------------------------


def age(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"
