"""Shared test helpers: a recording Mocks and a runner for the real program on a real stack file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

import pulumi
import pytest

from deploy import secret_sig as sig
from deploy.stack import Engine
from deploy.toolchain import EngineUnavailable

ROOT = Path(__file__).resolve().parent.parent

from tests.mocks import (  # noqa: E402,F401
    Recorded,
    RecordingMocks,
    label,
    stack_config,  # noqa: E402,F401  (re-exported for the tests)
)
from tests.mocks import run_program as _run_program  # noqa: E402

NAMESPACE = "openwebui"

# Every test below these directories needs what the marker says (`-m "not docker"` leaves them out); the ops
# tests' PostgreSQL and MariaDB cases say realdb themselves.
DIRECTORY_MARKERS = {"ops": pytest.mark.docker, "real": pytest.mark.realdb}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    tests = Path(__file__).parent
    for item in items:
        path = Path(str(item.fspath))
        if tests in path.parents:
            marker = DIRECTORY_MARKERS.get(path.relative_to(tests).parts[0])
            if marker is not None:
                item.add_marker(marker)




def unsecret(value: Any) -> Any:
    """Mocks hand over secret inputs wrapped in Pulumi's secret envelope; look inside it."""
    if isinstance(value, dict) and sig.KEY in value:
        return value["value"]
    return value


def is_secret_input(value: Any) -> bool:
    return isinstance(value, dict) and sig.KEY in value


def env_of(container: Recorded) -> dict[str, str]:
    return dict(item.split("=", 1) for item in unsecret(container.inputs.get("envs", [])))


def run_program(stack: str, values: dict[str, Any], secret_keys: tuple[str, ...] = (),
                preview: bool = False, mocks: Optional[pulumi.runtime.Mocks] = None):
    """Run __main__.py under (recording) mocks with the given config; returns the mocks."""
    return _run_program(stack, values, secret_keys,
                        mocks if mocks is not None else RecordingMocks(), preview)


@pytest.fixture
def tls_pair():
    """A certificate and key for chat.example.com made by the project's own generator."""
    from components.providers.selfsigned import generate_certificate
    return generate_certificate("chat.example.com", 90)


def stack_secrets(stack: str, tls: dict[str, str]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The secret config each stack file says to set before the first `up`."""
    if stack == "dev":
        return {}, ()
    values: dict[str, Any] = {"databaseAdminPassword": "admin-pw-123456"}
    if stack == "prod":
        values.update({"tlsCertificate": tls["certificate_pem"],
                       "tlsPrivateKey": tls["private_key_pem"],
                       "registryPassword": "token-123", "adminPassword": "Admin-password-123"})
    return values, tuple(k for k in values if k != "tlsCertificate")


@pytest.fixture()
def deploy_engine(tmp_path: Path) -> Engine:
    """deploy.stack.Engine on a backend of its own (the plugins deploy/plugins.py picks). Without the engine the
    test skips, except under CI=true, where that is a failure."""
    try:
        return Engine.create(state_dir=tmp_path / "state", scratch=tmp_path,
                             passphrase={"PULUMI_CONFIG_PASSPHRASE": "test-only"})
    except EngineUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"no engine under CI: {exc}")
        pytest.skip(str(exc))
