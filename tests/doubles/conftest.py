"""Fixtures for the contract doubles' conformance tests: a real Docker daemon and a tiny local image."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.prerequisites import unavailable

TINY_IMAGE = "openwebui-test/busybox:1"
BUSYBOX = Path("/bin/busybox")


@pytest.fixture(scope="session")
def tiny_image(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A busybox image built locally from Debian's busybox-static (scripts/setup installs it)."""
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        unavailable("no Docker engine", "scripts/setup must provide it")
    if subprocess.run(["docker", "image", "inspect", TINY_IMAGE], capture_output=True,
                      check=False).returncode == 0:
        return TINY_IMAGE
    if not BUSYBOX.exists():
        unavailable(f"{BUSYBOX} is missing", "apt-get install busybox-static (scripts/setup)")
    context = tmp_path_factory.mktemp("tiny-image")
    shutil.copy(BUSYBOX, context / "busybox")
    (context / "Dockerfile").write_text(
        "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n"
        "CMD [\"sleep\", \"3600\"]\n", encoding="utf-8")
    subprocess.run(["docker", "build", "-q", "-t", TINY_IMAGE, str(context)], check=True, capture_output=True)
    return TINY_IMAGE


@pytest.fixture()
def cleanup() -> Iterator[list[tuple[str, str]]]:
    """(kind, id) pairs removed after the test, whatever happened."""
    made: list[tuple[str, str]] = []
    yield made
    for kind, ref in reversed(made):
        args = {"container": ["rm", "-f"], "network": ["network", "rm"], "volume": ["volume", "rm", "-f"]}[kind]
        subprocess.run(["docker", *args, ref], capture_output=True, check=False)
