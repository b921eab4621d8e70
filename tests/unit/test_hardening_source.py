"""One hardening source: the declared containers' inputs (components/hardening.py) and the one-shot containers'
`docker run` flags (owui_ops.hardening.run_flags, used by the migration and volume-ownership steps and the
operator's commands) come from the same table and agree; the steps mount nothing from this checkout."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

from components.hardening import ContainerProfile, hardened_container_args
from components.migration import RUNNER as MIGRATION_RUNNER
from components.volume_owner import RUNNER as VOLUME_OWNER_RUNNER
from owui_ops import hardening

ROOT = Path(__file__).resolve().parents[2]


def flag_values(args: list[str], flag: str) -> list[str]:
    return [args[i + 1] for i, a in enumerate(args[:-1]) if a == flag]


def declared(profile: ContainerProfile) -> dict:
    inputs = hardened_container_args(profile)
    return {
        "user": inputs["user"],
        "read_only": inputs["read_only"],
        "tmpfs": dict(inputs["tmpfs"]),
        "cap_drop": list(inputs["capabilities"].drops),
        "security_opts": list(inputs["security_opts"]),
        "memory": (inputs["memory"], inputs["memory_swap"]),
        "cpus": float(inputs["cpus"]),
        "log": (inputs["log_driver"], dict(inputs["log_opts"])),
        "labels": {label.label: label.value for label in inputs["labels"]},
    }


def one_shot(flags: list[str]) -> dict:
    return {
        "user": flag_values(flags, "--user")[0],
        "read_only": "--read-only" in flags,
        "tmpfs": dict(v.split(":", 1) for v in flag_values(flags, "--tmpfs")),
        "cap_drop": flag_values(flags, "--cap-drop"),
        "security_opts": flag_values(flags, "--security-opt"),
        "memory": tuple(int(v.rstrip("m")) for v in (flag_values(flags, "--memory")[0],
                                                      flag_values(flags, "--memory-swap")[0])),
        "cpus": float(flag_values(flags, "--cpus")[0]),
        "log": (flag_values(flags, "--log-driver")[0], dict(v.split("=", 1) for v in flag_values(flags, "--log-opt"))),
        "labels": dict(v.split("=", 1) for v in flag_values(flags, "--label")),
    }


@pytest.mark.parametrize("memory_mb,cpus", [(512, 0.5), (2048, 2.0)])
def test_declared_and_one_shot_containers_get_the_same_hardening(memory_mb: int, cpus: float) -> None:
    profile = ContainerProfile(role="backup", environment="dev", stack="dev", image_ref="tools:1", user="1000:1000",
                               memory_mb=memory_mb, cpus=cpus, health_command=["true"])
    labels = {hardening.ROLE_LABEL: "backup", hardening.ENVIRONMENT_LABEL: "dev", hardening.IMAGE_LABEL: "tools:1",
              hardening.STACK_LABEL: "dev"}
    flags = hardening.run_flags(user="1000:1000", memory_mb=memory_mb, cpus=cpus, labels=labels)
    assert one_shot(flags) == declared(profile)
    # The pids limit the declared containers get through `docker update` (components/hardening.py limit_pids).
    assert flag_values(flags, "--pids-limit") == [str(hardening.PIDS_LIMIT)]


def test_a_changed_table_entry_reaches_both_kinds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hardening, "SECURITY_OPTS", ("no-new-privileges:true", "seccomp=/x.json"))
    profile = ContainerProfile(role="app", environment="dev", stack="dev", image_ref="a:1", user="1000:1000",
                               memory_mb=256, cpus=1.0, health_command=["true"])
    flags = hardening.run_flags(user="1000:1000", memory_mb=256, cpus=1.0, labels={})
    assert declared(profile)["security_opts"] == one_shot(flags)["security_opts"] == [
        "no-new-privileges:true", "seccomp=/x.json"]


FAKE_DOCKER = """#!/bin/sh
# Records each call; answers like a daemon where the database is at head and the volume is the app user's.
echo "$*" >> "$CALLS"
case "$*" in
  "image inspect --format {{.Id}}"*) echo sha256:0123456789abcdef0123 ;;
  "image inspect"*) echo "" ;;
  "volume inspect"*) exit 1 ;;
  *" owner /app/backend/data") echo 1000:1000 ;;
  *" probe "*) echo '{"foreign": 0, "errors": 0, "owners": {}}' ;;
  *" migrate status") echo '{"current": ["abc"], "revision": "abc"}' ;;
esac
"""


def run_step(tmp_path: Path, runner: Path, env: dict[str, str]) -> list[list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    calls = tmp_path / "calls"
    proc = subprocess.run([str(runner)], capture_output=True, text=True, timeout=60, env={
        **os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "CALLS": str(calls), "OWUI_STACK": "t",
        "OWUI_APP_IMAGE": "ghcr.io/open-webui/open-webui:v0.12.4", "OWUI_TOOLS_IMAGE": "tools:1.1.0",
        "OWUI_VOLUME": "vol", **env})
    assert proc.returncode == 0, proc.stderr
    return [shlex.split(line) for line in calls.read_text().splitlines()]


@pytest.mark.parametrize("runner,env", [
    (MIGRATION_RUNNER, {"OWUI_NETWORK": "net", "OWUI_DATABASE_TYPE": "sqlite", "OWUI_BACKUP_DIR": "/srv/b",
                        "DATABASE_URL": "sqlite:////app/backend/data/webui.db", "WEBUI_SECRET_KEY": "k",
                        "OWUI_MEMORY_MB": "768", "OWUI_CPUS": "1.5"}),
    (VOLUME_OWNER_RUNNER, {}),
])
def test_the_steps_run_hardened_containers_from_images_only(tmp_path: Path, runner: Path,
                                                            env: dict[str, str]) -> None:
    runs = [c for c in run_step(tmp_path, runner, env) if c[0] == "run"]
    assert runs
    for args in runs:
        assert "--read-only" in args and flag_values(args, "--cap-drop") == ["ALL"]
        assert flag_values(args, "--security-opt") == list(hardening.SECURITY_OPTS)
        assert flag_values(args, "--pids-limit") and flag_values(args, "--memory") == flag_values(args, "--memory-swap")
        assert flag_values(args, "--log-driver") == [hardening.LOG_DRIVER]
        # Volumes and Docker-host directories only: nothing of this checkout is bind-mounted.
        for spec in flag_values(args, "-v"):
            assert not spec.startswith(str(ROOT)), spec
        if "ghcr.io/open-webui/open-webui:v0.12.4" in args:
            # App-image containers get the package from the tools image's volume, read-only.
            assert "openwebui-ops-0123456789ab:/opt/owui-ops:ro" in flag_values(args, "-v")
            assert "PYTHONPATH=/opt/owui-ops:/app/backend" in flag_values(args, "-e")
    if runner == MIGRATION_RUNNER:
        migration_runs = [a for a in runs if "openwebui.role=migration" in flag_values(a, "--label")]
        assert {flag_values(a, "--memory")[0] for a in migration_runs} == {"768m"}
        assert {flag_values(a, "--cpus")[0] for a in migration_runs} == {"1.5"}
        # The backup directory is the Docker host's, handed to the app user by a CHOWN/FOWNER-only container.
        prepare = next(a for a in runs if "/srv/b/t:/target" in flag_values(a, "-v"))
        assert flag_values(prepare, "--cap-add") == ["CHOWN", "FOWNER"]
        assert flag_values(prepare, "--network") == ["none"]
