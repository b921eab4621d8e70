"""Fixtures for the real-Docker tests."""

from __future__ import annotations

import pytest

from tests.prerequisites import require


@pytest.fixture(scope="session")
def docker_engine() -> None:
    require(["docker", "info"], "a Docker engine")
