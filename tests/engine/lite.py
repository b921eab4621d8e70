"""The real Pulumi engine without a language host: Automation API inline programs on a file:// backend.

`scripts/pulumi-toolchain --engine-lite --env` gives the CLI with the Python dynamic-provider plugin beside it.
The SDK serves an inline program itself (pulumi/automation/_server.py), so the engine needs no
pulumi-language-python; dynamic providers run in `python3 -m pulumi.dynamic`, which must be the project venv
and must find `components` (PYTHONPATH, since each stack's work_dir is a temp dir).
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
import secrets
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi import automation as auto

from deploy import secret_sig as sig
from deploy.toolchain import (  # noqa: F401  (re-exported for the engine tests)
    ADMIN_PASSWORD_ENV,
    ROOT,
    TOOLCHAIN,
    EngineUnavailable,
    cli_root,
    parse_exports,
    toolchain_env,
)

PROJECT = "openwebui"  # so the program's `openwebui:` config keys are the project's own


@dataclass
class Engine:
    """One isolated engine setup: a file:// backend, PULUMI_HOME and passphrase of its own."""

    env: dict[str, str]
    state_dir: Path
    work_root: Path
    command: auto.PulumiCommand

    @classmethod
    def create(cls, base: dict[str, str], root: Path, tmp: Path, extra_path: list[Path] | None = None) -> Engine:
        """base: toolchain_env(); root: cli_root(); tmp: a fresh directory for state, PULUMI_HOME and work dirs."""
        state, home, work = tmp / "state", tmp / "pulumi-home", tmp / "work"
        for d in (state, home, work):
            d.mkdir(parents=True, exist_ok=True)
        path = base["PATH"]
        if extra_path:
            path = os.pathsep.join([*(str(p) for p in extra_path), path])
        env = {
            **base,
            "PATH": path,
            "PULUMI_HOME": str(home),
            "PULUMI_BACKEND_URL": f"file://{state}",
            "PULUMI_CONFIG_PASSPHRASE": secrets.token_urlsafe(24),
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            # The dynamic-provider process unpickles providers from components.*; its cwd is the temp work_dir.
            "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
            **{name: "" for name in ADMIN_PASSWORD_ENV},
        }
        return cls(env=env, state_dir=state, work_root=work, command=auto.PulumiCommand(root=str(root)))

    def stack(self, name: str, program: Callable[[], None]) -> LiteStack:
        work_dir = self.work_root / name
        work_dir.mkdir(parents=True, exist_ok=True)
        stack = auto.create_or_select_stack(
            stack_name=name, project_name=PROJECT, program=program,
            opts=auto.LocalWorkspaceOptions(work_dir=str(work_dir), env_vars=self.env, pulumi_command=self.command),
        )
        return LiteStack(engine=self, stack=stack, work_dir=work_dir)


@dataclass
class LiteStack:
    engine: Engine
    stack: auto.Stack
    work_dir: Path
    output: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.stack.name

    def pulumi(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """The CLI itself, for what the Automation API cannot do without putting a value on the command line."""
        return subprocess.run([self.engine.command.command, *args, "--stack", self.name], input=stdin,
                              cwd=self.work_dir,
                              env={**os.environ, **self.engine.env}, capture_output=True, text=True, timeout=120,
                              check=False)

    def set_secret(self, key: str, value: str) -> None:
        """Secret config from stdin: `stack.set_config(..., ConfigValue(secret=True))` would pass the value as
        a `pulumi config set` argument (visible in the process list)."""
        done = self.pulumi("config", "set", "--secret", key, stdin=value)
        assert done.returncode == 0, f"pulumi config set --secret {key} failed: {done.stderr}"

    def collect(self, text: str) -> None:
        self.output.append(text)

    def take_output(self) -> str:
        text = "".join(self.output)
        self.output.clear()
        return text

    # -- state ---------------------------------------------------------------------------------------------

    def stored_state(self) -> str:
        """The checkpoint as the backend stores it (what `pulumi stack export` without --show-secrets gives)."""
        stacks = self.engine.state_dir / ".pulumi" / "stacks" / PROJECT
        for candidate in (stacks / f"{self.name}.json", stacks / f"{self.name}.json.gz"):
            if candidate.is_file():
                data = candidate.read_bytes()
                return (gzip.decompress(data) if candidate.suffix == ".gz" else data).decode("utf-8")
        raise AssertionError(f"no checkpoint for stack {self.name} under {stacks}")

    def resources(self) -> list[dict[str, Any]]:
        """The deployment's resources, secrets decrypted (Automation API export_stack uses --show-secrets)."""
        return list(self.stack.export_stack().deployment.get("resources", []))

    def resource(self, name: str) -> dict[str, Any] | None:
        matches = [r for r in self.resources() if r["urn"].endswith(f"::{name}")]
        assert len(matches) <= 1, matches
        return matches[0] if matches else None

    def outputs_of(self, name: str) -> dict[str, Any]:
        found = self.resource(name)
        assert found is not None, f"{name} is not in the state of {self.name}"
        return {k: unwrap(v) for k, v in found.get("outputs", {}).items()}


def unwrap(value: Any) -> Any:
    """A decrypted secret envelope (export --show-secrets) -> its value."""
    if isinstance(value, dict) and value.get(sig.KEY) and "plaintext" in value:
        return json.loads(value["plaintext"])
    return value


def plaintext_outside_secrets(node: Any, needles: list[str], in_secret: bool = False) -> list[str]:
    """Where a needle occurs in a decrypted deployment other than inside a secret envelope (JSON paths)."""
    found: list[str] = []

    def walk(value: Any, path: str, secret: bool) -> None:
        if isinstance(value, dict):
            secret_here = secret or sig.KEY in value
            for key, item in value.items():
                walk(item, f"{path}.{key}", secret_here)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{path}[{index}]", secret)
        elif isinstance(value, str) and not secret and any(n in value for n in needles):
            found.append(path)

    walk(node, "$", in_secret)
    return found


def pickled_providers(resources: list[dict[str, Any]]) -> Iterator[bytes]:
    """The dill-pickled dynamic providers kept in the state (`__provider`), decoded."""
    for resource in resources:
        blob = (resource.get("outputs") or {}).get("__provider")
        if isinstance(blob, str):
            yield base64.b64decode(blob)


def policy_violations(events: list[auto.EngineEvent]) -> list[auto.events.PolicyEvent]:
    return [e.policy_event for e in events if e.policy_event is not None]


def loaded_packs(events: list[auto.EngineEvent]) -> dict[str, str]:
    """`name|local|path` -> version, from the summary event."""
    for event in events:
        if event.summary_event is not None:
            return dict(event.summary_event.policy_packs)
    return {}


def changes(summary: dict[str, int]) -> dict[str, int]:
    """A change summary without the zero entries and without 'same'."""
    return {op: n for op, n in summary.items() if n and op != "same"}


def pins() -> dict[str, str]:
    """`name==version` pins of requirements.txt (lower-case names)."""
    found: dict[str, str] = {}
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([0-9][0-9.]*)\s*(#.*)?$", line.strip())
        if match:
            found[match.group(1).lower()] = match.group(2)
    return found
