"""Fixtures for the real-engine tests: one project copy and state dir per session."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.harness import ROOT, Stack, copy_project, engine_env


def _require(command: list[str], what: str) -> None:
    ok = subprocess.run(command, capture_output=True).returncode == 0
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(f"{what} is not available (`{' '.join(command)}` failed); "
                        "scripts/setup should have provided it")
        pytest.skip(f"{what} is not available")


@pytest.fixture(scope="session")
def engine(tmp_path_factory) -> dict[str, str]:
    _require([str(ROOT / "scripts" / "pulumi-toolchain")], "the Pulumi engine")
    state = tmp_path_factory.mktemp("state")
    return engine_env(state, passphrase=secrets.token_urlsafe(24))


@pytest.fixture(scope="session")
def docker_engine() -> None:
    _require(["docker", "info"], "a Docker engine")


@pytest.fixture(scope="session")
def project(tmp_path_factory) -> Path:
    return copy_project(tmp_path_factory.mktemp("project"))


def new_stack(project: Path, engine: dict[str, str], name: str, base: str) -> Stack:
    """A stack `name` whose config starts as a copy of stacks/Pulumi.<base>.yaml."""
    source = project / "stacks" / f"Pulumi.{base}.yaml"
    shutil.copy(source, project / "stacks" / f"Pulumi.{name}.yaml")
    stack = Stack(workdir=project, name=name, env=engine)
    stack.init()
    if name != base:
        stack.set("environment", base)
    return stack
