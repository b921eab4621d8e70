"""Deploying a stack's declared resources on real Docker (engineless/realize.py) and looking at it."""

from __future__ import annotations

import json
import os
import subprocess
from contextlib import contextmanager
from typing import Any, Iterator, Optional

from components.migration import parse_revision
from engineless.program import provider_admin_env
from tests.conftest import run_program
from engineless.realize import DockerRealizer



@contextmanager
def _env(extra: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class RealDeployment:
    """One stack: `up` with a config (again, to change it), `destroy`, and its outputs."""

    def __init__(self, stack: str, values: dict[str, Any], secret_keys: tuple[str, ...] = ()):
        self.stack = stack
        self.values = dict(values)
        self.secret_keys = secret_keys
        self.realizer = DockerRealizer()

    def _provider_env(self) -> dict[str, str]:
        # Without the engine the database providers read the admin password from the environment.
        return provider_admin_env(self.values)

    def up(self, **changes: Any) -> None:
        """Run the program with the config changed as given; raises when a step fails."""
        self.values.update(changes)
        self.realizer.begin()
        with _env(self._provider_env()):
            run_program(self.stack, self.values, self.secret_keys, mocks=self.realizer)
            self.realizer.prune()

    def destroy(self) -> None:
        with _env(self._provider_env()):
            self.realizer.destroy()

    @property
    def admin_password(self) -> str:
        return self.realizer.output("secrets-admin-password", "result")

    @property
    def ca_certificate(self) -> str:
        return self.realizer.output("tls-self-signed", "ca_certificate_pem")

    @property
    def revision(self) -> str:
        return parse_revision(self.realizer.output("migration-upgrade", "stdout"))

    def secret_values(self) -> list[str]:
        found = []
        for record in self.realizer.state.values():
            if record.typ == "random:index/randomPassword:RandomPassword":
                found.append(record.outputs["result"])
            elif record.typ == "random:index/randomBytes:RandomBytes":
                found.append(record.outputs["base64"])
        return found


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
