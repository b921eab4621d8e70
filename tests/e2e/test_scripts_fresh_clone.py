"""The README's path, as a new user takes it: a fresh clone, `scripts/up dev`, `scripts/preview dev
--expect-no-changes`, `scripts/up dev` again (nothing changes), `scripts/destroy dev` (the data stays).

The clone shares this checkout's venv and the machine's image and toolchain caches (what scripts/setup would
rebuild is not under test here); its engine state and passphrase live in a directory of its own.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.e2e.checks import Client
from tests.e2e.harness import containers_of, docker

pytestmark = [pytest.mark.e2e, pytest.mark.engine]

ROOT = Path(__file__).resolve().parents[2]
STACK = "dev"


def run(clone: Path, env: dict[str, str], *args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=clone, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, check=False)


@pytest.fixture(scope="module")
def clone(docker_engine, tmp_path_factory) -> tuple[Path, dict[str, str]]:
    if containers_of(STACK, all_states=True):
        pytest.skip("a dev stack is already deployed on this machine (ports 8443/8080): left alone")
    base = tmp_path_factory.mktemp("fresh")
    clone = base / "openwebui"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    (clone / "venv").symlink_to(ROOT / "venv")
    env = {**os.environ, "OWUI_STATE_HOME": str(base / "state-home")}
    for name in ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"):
        env.pop(name, None)
    yield clone, env
    run(clone, env, "scripts/destroy", STACK)
    for container in containers_of(STACK, all_states=True):
        docker("rm", "-f", container["Id"], check=False)
    docker("volume", "rm", "-f", "openwebui-dev-data", check=False)


def test_up_preview_up_destroy_from_a_fresh_clone(clone: tuple[Path, dict[str, str]]) -> None:
    path, env = clone
    first = run(path, env, "scripts/up", STACK)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "Open WebUI is up: https://localhost:8443" in first.stdout
    said = first.stderr
    for package in ("docker", "random", "command"):
        assert f"[plugins] {package} " in said  # which plugin served each package
    ca_file = path / ".state-dev-ca.pem"
    client = Client("https://localhost:8443", ca_file)
    client.wait_healthy()
    password = run(path, env, "scripts/pulumi", "stack", "output", "adminPassword", "--show-secrets",
                   "--stack", STACK).stdout.strip()
    token = client.token("admin@example.com", password)
    apps = sorted(c["Id"] for c in containers_of(STACK))

    preview = run(path, env, "scripts/preview", STACK, "--expect-no-changes")
    assert preview.returncode == 0, preview.stdout[-3000:] + preview.stderr[-3000:]

    second = run(path, env, "scripts/up", STACK)
    assert second.returncode == 0, second.stderr[-3000:]
    assert re.search(r"\d+ (created|updated|replaced|deleted)", second.stdout) is None, second.stdout[-2000:]
    assert re.search(r"\d+ unchanged", second.stdout)
    assert sorted(c["Id"] for c in containers_of(STACK)) == apps
    assert client.get("/api/v1/auths/", headers=client.auth(token)).status_code == 200  # same secret key

    destroyed = run(path, env, "scripts/destroy", STACK)
    assert destroyed.returncode == 0, destroyed.stderr[-3000:]
    assert containers_of(STACK, all_states=True) == []
    assert "openwebui-dev-data" in docker("volume", "ls", "-q").split()
