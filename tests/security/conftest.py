"""Docker for the security tests: a failure under CI=true when missing, else a skip."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.security.standalone import APP_IMAGE, NGINX_IMAGE, TOOLS_IMAGE


def _missing(what: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{what}; scripts/setup should have provided it")
    pytest.skip(what)


@pytest.fixture(scope="session")
def docker_ready() -> None:
    try:
        ok = subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    if not ok:
        _missing("no Docker engine (`docker info` failed)")
    for image in (NGINX_IMAGE, TOOLS_IMAGE, APP_IMAGE):
        if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode != 0:
            _missing(f"image {image} is missing (images/build)")
