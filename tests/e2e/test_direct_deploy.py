"""Direct mode's command line (engineless/deploy.py): config errors and policy violations stop it
before anything on Docker changes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from engineless.program import ROOT
from tests.e2e.harness import docker

pytestmark = [pytest.mark.docker]


def deploy(stack: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engineless.deploy", stack, *extra], cwd=ROOT,
                          capture_output=True, text=True, timeout=600,
                          env={"PATH": "/usr/bin:/bin:/usr/local/bin"})


def docker_state(stack: str) -> tuple[str, str]:
    """The stack's containers and networks (other tests may run beside this one)."""
    return (docker("ps", "-aq", "--no-trunc", "--filter", f"label=openwebui.stack={stack}"),
            docker("network", "ls", "-q", "--filter", f"label=openwebui.stack={stack}"))


def test_config_error_names_the_key_and_changes_nothing(docker_engine):
    before = docker_state("prod")
    result = deploy("prod")  # prod's certificate and secrets are not set here
    assert result.returncode == 1
    assert "invalid stack configuration" in result.stderr
    assert "openwebui:tlsCertificate: tls.mode is `provided`" in result.stderr
    assert docker_state("prod") == before


def test_policy_violation_names_the_policy_and_changes_nothing(docker_engine):
    before = docker_state("dev")
    # dev's proxy binds 127.0.0.1; the prod policy config allows only the prod address.
    result = deploy("dev", "--policy-config", "prod")
    assert result.returncode == 2
    assert "[mandatory] docker-container-bind-ports-to-allowed-ips" in result.stderr
    assert docker_state("dev") == before
