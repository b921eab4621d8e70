"""Driving the real Pulumi engine on a copy of the project (stack files are never modified)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parents[2]
PROJECT_FILES = ("Pulumi.yaml", "__main__.py", "components", "scripts", "stacks", "policy",
                 "requirements.txt")


def engine_env(state_dir: Path, passphrase: str) -> dict[str, str]:
    """The offline engine environment from scripts/pulumi-toolchain, with a private state dir."""
    exports = subprocess.run([str(ROOT / "scripts" / "pulumi-toolchain"), "--env"], check=True,
                             capture_output=True, text=True, timeout=3600).stdout
    env = dict(os.environ)
    for line in exports.splitlines():
        line = line.strip().removeprefix("export ")
        if "=" in line:
            key, value = line.split("=", 1)
            env[key] = value.strip("'\"").replace("$PATH", os.environ.get("PATH", ""))
    env.update({
        "PULUMI_BACKEND_URL": f"file://{state_dir}",
        "PULUMI_CONFIG_PASSPHRASE": passphrase,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
        "NO_COLOR": "1",
    })
    env["PATH"] = f"{ROOT / 'venv' / 'bin'}:{env['PATH']}"
    return env


def copy_project(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns(
                "__pycache__", "*.pyc"), dirs_exist_ok=True)
        else:
            shutil.copy2(source, target / name)
    venv = target / "venv"
    if not venv.exists():
        venv.symlink_to(ROOT / "venv")
    return target


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass
class Stack:
    """One stack of a project copy, driven through the pulumi CLI."""

    workdir: Path
    name: str
    env: dict[str, str]
    log: list[str] = field(default_factory=list)

    def pulumi(self, *args: str, check: bool = True, timeout: int = 1800,
               stdin: Optional[str] = None) -> Result:
        started = time.monotonic()
        proc = subprocess.run(["pulumi", *args, "--stack", self.name, "--non-interactive"],
                              cwd=self.workdir, env=self.env, capture_output=True, text=True,
                              timeout=timeout, input=stdin)
        result = Result(proc.returncode, proc.stdout, proc.stderr)
        self.log.append(f"$ pulumi {' '.join(args)}  ({time.monotonic() - started:.1f}s, "
                        f"exit {proc.returncode})\n{result.output}")
        if check and proc.returncode != 0:
            raise AssertionError(f"pulumi {' '.join(args)} failed ({proc.returncode}):\n"
                                 f"{result.output[-6000:]}")
        return result

    def init(self) -> None:
        self.pulumi("stack", "select", "--create")

    def set(self, key: str, value: Any, *, secret: bool = False) -> None:
        """Set `openwebui:<key>`; a dotted key sets one field of an object (--path)."""
        text = value if isinstance(value, str) else json.dumps(value)
        args = ["config", "set", f"openwebui:{key}", "--path" if "." in key else ""]
        if secret:
            args.append("--secret")
        # The value goes on stdin, so secrets never appear in a process list.
        self.pulumi(*[a for a in args if a], stdin=text)

    def policy_args(self, config: Optional[str] = None) -> list[str]:
        """The pack with this stack's config file, else its environment's."""
        folder = self.workdir / "policy" / "config"
        name = config or (self.name if (folder / f"{self.name}.json").exists() else self.environment)
        return ["--policy-pack", str(self.workdir / "policy"),
                "--policy-pack-config", str(folder / f"{name}.json")]

    def derive_policy_config(self, changes: dict[str, dict[str, Any]]) -> None:
        """policy/config/<stack>.json = the environment's file with some settings changed."""
        folder = self.workdir / "policy" / "config"
        config = json.loads((folder / f"{self.environment}.json").read_text())
        for policy, settings in changes.items():
            config.setdefault(policy, {}).update(settings)
        (folder / f"{self.name}.json").write_text(json.dumps(config, indent=2))

    @property
    def environment(self) -> str:
        return self.name.split("-")[0]

    def up(self, *extra: str, check: bool = True, policy: bool = True) -> Result:
        args = ["up", "--yes", "--skip-preview", *extra]
        if policy:
            args += self.policy_args()
        return self.pulumi(*args, check=check)

    def preview(self, *extra: str, check: bool = True, policy: bool = True) -> Result:
        args = ["preview", *extra]
        if policy:
            args += self.policy_args()
        return self.pulumi(*args, check=check)

    def destroy(self, check: bool = True) -> Result:
        return self.pulumi("destroy", "--yes", "--skip-preview", check=check)

    def outputs(self, show_secrets: bool = False) -> dict[str, Any]:
        args = ["stack", "output", "--json"] + (["--show-secrets"] if show_secrets else [])
        return json.loads(self.pulumi(*args).stdout)

    def export(self, show_secrets: bool = False) -> str:
        args = ["stack", "export"] + (["--show-secrets"] if show_secrets else [])
        return self.pulumi(*args).stdout


def docker(*args: str, check: bool = True, timeout: int = 300) -> str:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)}: {proc.stderr}")
    return proc.stdout


def containers_of(stack: str, role: Optional[str] = None, all_states: bool = False) -> list[dict]:
    filters = ["--filter", f"label=openwebui.stack={stack}"]
    if role:
        filters += ["--filter", f"label=openwebui.role={role}"]
    ids = docker("ps", "-q", *(["-a"] if all_states else []), *filters).split()
    return json.loads(docker("inspect", *ids)) if ids else []
