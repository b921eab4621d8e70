"""Deploying a stack through the real Pulumi engine (deploy/, the same path as scripts/up) and looking at it.

Each RealDeployment has a project directory, file backend and passphrase of its own; its config is written to
the stack file (plain values) and set with `pulumi config set --secret` from stdin (secret values).
"""

from __future__ import annotations

import json
import secrets
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Optional

from pulumi import automation as auto

from deploy import stack_file
from deploy.stack import Engine, project_dir
from deploy.up_result import UpResult
from tests.engine.lite import unwrap


class RealDeployment:
    """One stack: `up` with a config (again, to change it), `preview`, `refresh`, `destroy`, and what it holds."""

    def __init__(self, stack: str, values: dict[str, Any], secret_keys: tuple[str, ...] = ()):
        self.stack_name = stack
        self.values = dict(values)
        self.secret_keys = secret_keys
        self.directory = Path(tempfile.mkdtemp(prefix=f"owui-{stack}-"))
        self.engine = Engine.create(state_dir=self.directory / "state", scratch=self.directory,
                                    passphrase={"PULUMI_CONFIG_PASSPHRASE": secrets.token_urlsafe(24)})
        self.log: list[str] = []
        self.stack = self.engine.stack(stack, work_dir=project_dir(self.directory / "project"),
                                       on_output=self.log.append)
        self._secrets_set: dict[str, Any] = {}

    def _write_config(self) -> None:
        stack_file.write_plain_values(self.stack.work_dir, self.stack_name,
                                      {k: v for k, v in self.values.items() if k not in self.secret_keys})
        for key in self.secret_keys:
            if key in self.values and self._secrets_set.get(key) != self.values[key]:
                self.stack.set_secret(key, self.values[key])
                self._secrets_set[key] = self.values[key]

    def configure(self, **changes: Any) -> None:
        """The config changed as given, written (stack file and secrets), nothing run: for a command that reads the
        stack's config through the engine (scripts/owui)."""
        self.values.update(changes)
        self._write_config()

    def up(self, **changes: Any) -> UpResult:
        """`up` with the config changed as given; raises DeployError when a step fails."""
        self.configure(**changes)
        return self.stack.up()

    def preview(self, expect_no_changes: bool = False, refresh: bool = False) -> auto.PreviewResult:
        self._write_config()
        return self.stack.preview(expect_no_changes=expect_no_changes, refresh=refresh)

    def refresh(self) -> auto.RefreshResult:
        return self.stack.refresh()

    def destroy(self) -> None:
        self.stack.destroy()

    # -- what the engine recorded --------------------------------------------------------------------------
    def steps(self) -> list[tuple[str, str]]:
        """(operation, resource name) of each step of the last run, in the engine's order."""
        return [(e.res_outputs_event.metadata.op, e.res_outputs_event.metadata.urn.split("::")[-1])
                for e in self.stack.events if e.res_outputs_event is not None]

    def changed(self) -> list[tuple[str, str]]:
        return [(op, name) for op, name in self.steps() if op != "same"]

    def resource_ids(self) -> dict[str, str]:
        return {r["urn"].split("::")[-1]: r.get("id", "") for r in self.stack.resources() if r.get("custom")}

    def output(self, resource: str, key: str) -> Any:
        found = [r for r in self.stack.resources() if r["urn"].endswith(f"::{resource}")]
        assert found, f"{resource} is not in the state of {self.stack_name}"
        return unwrap((found[0].get("outputs") or {}).get(key))

    def stack_output(self, key: str) -> Any:
        return self.stack.outputs()[key]

    @property
    def admin_password(self) -> str:
        return str(self.stack_output("adminPassword"))

    @property
    def ca_certificate(self) -> str:
        return str(self.stack_output("caCertificate"))

    @property
    def revision(self) -> str:
        return str(self.stack_output("databaseRevision"))

    def secret_values(self) -> list[str]:
        """Every generated secret (decrypted from the state), in the order of the resources' names."""
        found = {r["urn"]: unwrap(r["outputs"]["result"]) for r in self.stack.resources()
                 if r["type"] == "random:index/randomPassword:RandomPassword"}
        return [found[urn] for urn in sorted(found)]

    def stored_state(self) -> str:
        """`pulumi stack export` (secrets encrypted), as text."""
        return json.dumps(self.stack.export())


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


def remove_stack(stack: str, network: str, *volumes: str) -> None:
    """Remove what a deployment of `stack` left on the daemon: its containers (any state), network and volumes."""
    for container in containers_of(stack, all_states=True):
        docker("rm", "-f", container["Id"], check=False)
    docker("network", "rm", network, check=False)
    if volumes:
        docker("volume", "rm", "-f", *volumes, check=False)
