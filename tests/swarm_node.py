"""The swarm node the swarm tests deploy to (scripts/swarm-nodes): its DOCKER_HOST, and images loaded into it.

The main local engine is never in swarm mode; node 1 is a dockerd in its own network namespace with its own socket.
`scripts/setup --test-servers` starts it; a test that finds it down starts it (idempotent), and fails in CI when it
cannot be had (`CI=true`), otherwise skips with the reason.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOCKET = Path("/run/owui-swarm/1/docker.sock")
DOCKER_HOST = f"unix://{SOCKET}"


def node_docker(*args: str, check: bool = True, timeout: float = 600,
                stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["docker", *args], capture_output=True, timeout=timeout, check=False, input=stdin,
                          env={**os.environ, "DOCKER_HOST": DOCKER_HOST})
    result = subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(errors="replace"),
                                         done.stderr.decode(errors="replace"))
    if check and done.returncode:
        raise RuntimeError(f"docker {' '.join(args[:3])} on the swarm node: {result.stderr.strip()}")
    return result


def _swarm_active() -> bool:
    done = node_docker("info", "--format", "{{.Swarm.LocalNodeState}}", check=False, timeout=30)
    return done.returncode == 0 and done.stdout.strip() == "active"


def swarm_host() -> str:
    """DOCKER_HOST of an active single-node swarm, started when needed."""
    if not _swarm_active():
        # No images here: each test loads the ones it deploys (load_image).
        started = subprocess.run([str(ROOT / "scripts" / "swarm-nodes"), "up"], capture_output=True, text=True,
                                 check=False, timeout=900, env={**os.environ, "SWARM_NODES_IMAGES": ""})
        if started.returncode or not _swarm_active():
            message = f"no swarm node: scripts/swarm-nodes up: {started.stderr.strip()[-800:]}"
            if os.environ.get("CI") == "true":
                pytest.fail(message)
            pytest.skip(message)
    return DOCKER_HOST


def load_image(image: str) -> None:
    """The main engine's image into the swarm node (a swarm node pulls nothing here: the machine has no registry)."""
    want = subprocess.run(["docker", "image", "inspect", "-f", "{{.Id}}", image], capture_output=True, text=True,
                          check=True).stdout.strip()
    have = node_docker("image", "inspect", "-f", "{{.Id}}", image, check=False).stdout.strip()
    if have != want:
        saved = subprocess.run(["docker", "save", image], capture_output=True, check=True).stdout
        node_docker("load", stdin=saved)
