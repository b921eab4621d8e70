"""Fixtures for the real-Docker tests."""

from __future__ import annotations

import os
import subprocess

import pytest


def require(command: list[str], what: str) -> None:
    """Skip without the prerequisite, but fail under CI, where scripts/setup must provide it."""
    if subprocess.run(command, capture_output=True).returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"{what} is not available (`{' '.join(command)}` failed)")
        pytest.skip(f"{what} is not available")


@pytest.fixture(scope="session")
def docker_engine() -> None:
    require(["docker", "info"], "a Docker engine")
