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


def load_image(image: str, node: int = 1) -> None:
    """The main engine's image into a swarm node (a swarm node pulls nothing here: the machine has no registry)."""
    want = subprocess.run(["docker", "image", "inspect", "-f", "{{.Id}}", image], capture_output=True, text=True,
                          check=True).stdout.strip()
    have = on_node(node, "image", "inspect", "-f", "{{.Id}}", image, check=False).stdout.strip()
    if have != want:
        # Streamed (an app image is about 1 GB): `docker save` of the main engine into the node's `docker load`.
        save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
        load = subprocess.run(["docker", "load", "-q"], stdin=save.stdout, capture_output=True, timeout=900,
                              check=False, env={**os.environ, "DOCKER_HOST": f"unix:///run/owui-swarm/{node}/docker.sock"})
        assert save.stdout is not None
        save.stdout.close()
        if save.wait(timeout=900) or load.returncode:
            raise RuntimeError(f"loading {image} into swarm node {node}: {load.stderr.decode(errors='replace')}")


def on_node(node: int, *args: str, check: bool = True, timeout: float = 600,
            stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """`docker` against swarm node ``node`` (1 is the manager the tests deploy to)."""
    if node == 1:
        return node_docker(*args, check=check, timeout=timeout, stdin=stdin)
    done = subprocess.run(["docker", *args], capture_output=True, timeout=timeout, check=False, input=stdin,
                          env={**os.environ, "DOCKER_HOST": f"unix:///run/owui-swarm/{node}/docker.sock"})
    result = subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(errors="replace"),
                                         done.stderr.decode(errors="replace"))
    if check and done.returncode:
        raise RuntimeError(f"docker {' '.join(args[:3])} on swarm node {node}: {result.stderr.strip()}")
    return result


def start_nodes(count: int) -> None:
    """`scripts/swarm-nodes up --nodes COUNT` (no images: each test loads what it deploys); every node Ready."""
    swarm_host()
    started = subprocess.run([str(ROOT / "scripts" / "swarm-nodes"), "up", "--nodes", str(count)],
                             capture_output=True, text=True, check=False, timeout=600,
                             env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "SWARM_NODES_IMAGES": ""})
    assert started.returncode == 0, started.stderr[-2000:]
    ready = node_docker("node", "ls", "--format", "{{.Status}}").stdout.split()
    assert ready.count("Ready") == count, ready


def leave_node_one_alone(count: int) -> None:
    """Nodes 2..COUNT leave the swarm and stop; node 1 forgets them: the single-node swarm the other tests expect."""
    for node in range(2, count + 1):
        on_node(node, "swarm", "leave", "--force", check=False)
        subprocess.run([str(ROOT / "scripts" / "swarm-nodes"), "stop", str(node)], capture_output=True,
                       check=False, timeout=120)
    for line in node_docker("node", "ls", "--format", "{{.ID}} {{.Self}}").stdout.splitlines():
        node_id, is_self = line.split()
        if is_self != "true":
            node_docker("node", "rm", "--force", node_id, check=False)


def node_of(node_id: str) -> int:
    """The scripts/swarm-nodes number of a swarm node ID (node I has the address 10.213.0.<10+I>)."""
    address = node_docker("node", "inspect", node_id, "--format", "{{.Status.Addr}}").stdout.strip()
    return int(address.rsplit(".", 1)[1]) - 10


def running_tasks(service: str) -> list[tuple[int, str]]:
    """(node number, container ID) of each running task of ``service``."""
    found = []
    for task in node_docker("service", "ps", "-q", service, "--filter", "desired-state=running").stdout.split():
        fields = node_docker("inspect", task, "--format",
                             "{{.Status.State}} {{.NodeID}} {{.Status.ContainerStatus.ContainerID}}").stdout.split()
        if len(fields) == 3 and fields[0] == "running":
            found.append((node_of(fields[1]), fields[2]))
    return found


def stack_services(stack: str) -> list[dict]:
    """`docker service inspect` of a stack's services on the node."""
    import json

    ids = node_docker("service", "ls", "-q", "--filter", f"label=openwebui.stack={stack}").stdout.split()
    return json.loads(node_docker("service", "inspect", *ids).stdout) if ids else []


def stack_tasks(stack: str, role: str | None = None) -> list[str]:
    """IDs of the stack's task containers on node 1 (optionally of one role)."""
    args = ["ps", "-q", "--filter", f"label=openwebui.stack={stack}"]
    if role:
        args += ["--filter", f"label=openwebui.role={role}"]
    return node_docker(*args).stdout.split()


def remove_swarm_stack(stack: str, network: str, volume: str) -> None:
    """What an interrupted earlier run of a swarm stack may have left on the node: services, secrets, configs, its
    overlay network (retried while tasks leave it) and data volume."""
    import time

    for service in stack_services(stack):
        node_docker("service", "rm", service["ID"], check=False)
    for kind in ("secret", "config"):
        names = node_docker(kind, "ls", "-q", "--filter", f"label=openwebui.stack={stack}").stdout.split()
        if names:
            node_docker(kind, "rm", *names, check=False)
    deadline = time.monotonic() + 60
    while node_docker("network", "rm", network, check=False).returncode and time.monotonic() < deadline:
        if "not found" in node_docker("network", "inspect", network, check=False).stderr.lower():
            break
        time.sleep(2)
    node_docker("volume", "rm", "-f", volume, check=False)
