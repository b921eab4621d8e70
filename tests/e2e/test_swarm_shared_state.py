"""State off the node on three swarm nodes, through the real Pulumi engine (scripts/swarm-nodes --nodes 3: node 1 the
manager the stack is deployed to, two workers): the swarm stack with two app replicas, on two different nodes, keeps its
data in the test PostgreSQL server (scripts/db-servers), websockets and shared state in Redis (WEBSOCKET_MANAGER=redis),
and uploads in the S3 object store (scripts/object-store: SeaweedFS), all reached from every node's tasks at the swarm
bridge's address 10.213.0.1. nginx is pinned to node 1 (swarm.proxyPlacementConstraints), whose address the
certificate names. OWUI_SWARM_STATE_NODES=1 runs the same on the single-node swarm.

The overlay network is not encrypted here (swarm.encryptOverlay: false, which only dev's pack config allows): this
kernel has no ESP, so an encrypted overlay carries nothing between nodes; dockerd logs `Failed Adding rSA{...
Proto: esp ...}: function not implemented` (tests/e2e/test_swarm_multinode.py finds and skips on exactly that line).
On one node the overlay stays encrypted.

Each replica is reached by itself, not through nginx: a task's address is on the overlay network only, so the test
runs its requests (and a Socket.IO client, tests/socketio_probe.py) in the task's network namespace (nsenter --net)
against 127.0.0.1:8080. A file uploaded through replica A, with A's local copy removed, is downloaded through replica
B (from the bucket: Open WebUI 0.12.4 storage/provider.py S3StorageProvider.get_file); a channel message posted
through B reaches a Socket.IO client connected to A (through Redis only).

Vectors: the slim image (USE_SLIM_DOCKER=true) has no vector client at all (retrieval/vector/factory.py:
`VECTOR_DB_CLIENT = None if USE_SLIM`), so nothing of it is kept per node; the one it supports, pgvector, needs the
`vector` extension, which Debian bookworm does not ship (`apt-cache search pgvector` prints nothing): README "Docker
Swarm".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from components.webui import DATA_DIR
from deploy import local_images
from tests.e2e.checks import Client
from tests.e2e.harness import RealDeployment
from tests.engine.servers import pg_from_env
from tests.mocks import stack_config
from tests.prerequisites import require
from tests.swarm_node import (
    DOCKER_HOST,
    ROOT,
    leave_node_one_alone,
    load_image,
    on_node,
    remove_swarm_stack,
    running_tasks,
    stack_services,
    start_nodes,
)

pytestmark = [pytest.mark.e2e, pytest.mark.docker, pytest.mark.realdb]

NODES = int(os.environ.get("OWUI_SWARM_STATE_NODES", "3"))
IMAGE = local_images.app()
IMAGES = (IMAGE, "openwebui-local/nginx:1.22.1-9-deb12u11", "openwebui-local/redis:7.0.15-1-deb12u10",
          "openwebui-local/tools:1.1.0")
APP_SERVICE = "openwebui-dev-swarm-state-app"
STACK = "dev-swarm-state"
NODE_IP, BRIDGE_IP = "10.213.0.11", "10.213.0.1"
HTTPS_PORT, HTTP_PORT = 28543, 28180
VOLUME, NETWORK = "openwebui-dev-swarm-state-data", "openwebui-dev-swarm-state"
DATABASE = "openwebui_swarm_state"
SERVER = pg_from_env()


def object_store() -> dict[str, str]:
    """scripts/object-store's endpoint, bucket, access key id, secret file and filer (never the key itself)."""
    done = subprocess.run([str(ROOT / "scripts" / "object-store"), "env"], capture_output=True, text=True,
                          check=True, timeout=60)
    found = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    require(["curl", "-s", "-o", "/dev/null", "--max-time", "5", found["OWUI_TEST_S3_ENDPOINT"]],
            "the S3 object store (scripts/object-store up)")
    return found


def _cleanup(store: dict[str, str]) -> None:
    remove_swarm_stack(STACK, NETWORK, VOLUME)
    SERVER.run(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    SERVER.run(f'DROP ROLE IF EXISTS "{DATABASE}"')
    request = urllib.request.Request(f"{store['OWUI_TEST_S3_FILER']}/buckets/{store['OWUI_TEST_S3_BUCKET']}/{STACK}/"
                                     "?recursive=true&ignoreRecursiveError=true", method="DELETE")
    try:
        urllib.request.urlopen(request, timeout=30).close()
    except OSError:
        pass


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealDeployment]:
    require(["pg_isready", "-h", BRIDGE_IP], "the PostgreSQL test server on the swarm bridge (scripts/db-servers "
            "after scripts/swarm-nodes up)")
    store = object_store()
    start_nodes(NODES)
    try:
        started = time.monotonic()
        for node in range(1, NODES + 1):
            for image in IMAGES:
                load_image(image, node)
        print(f"images loaded into {NODES} node(s): {time.monotonic() - started:.1f}s")
        yield from _deployed(store, tmp_path_factory)
    finally:
        # The data volume on the workers: made by their tasks, not by the stack (only node 1's is a resource).
        for node in range(2, NODES + 1):
            on_node(node, "volume", "rm", "-f", VOLUME, check=False)
        leave_node_one_alone(NODES)


def _deployed(store: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealDeployment]:
    values = stack_config("dev")
    values.update({
        "environment": "dev", "target": "swarm", "replicas": 2, "image": IMAGE,
        "publicUrl": f"https://{NODE_IP}:{HTTPS_PORT}",
        "proxy": {**values["proxy"], "httpsPort": HTTPS_PORT, "httpPort": HTTP_PORT},
        "database": {"type": "postgresql", "host": SERVER.host, "port": SERVER.port, "containerHost": BRIDGE_IP,
                     "name": DATABASE, "user": DATABASE, "adminUser": SERVER.admin_user, "sslMode": "require"},
        "databaseAdminPassword": SERVER.admin_password,
        "storage": {"volumeName": VOLUME, "deleteDataOnDestroy": True, "provider": "s3",
                    "s3": {"endpointUrl": store["OWUI_TEST_S3_ENDPOINT"], "bucket": store["OWUI_TEST_S3_BUCKET"],
                           "accessKeyId": store["OWUI_TEST_S3_ACCESS_KEY_ID"], "keyPrefix": STACK}},
        "s3SecretAccessKey": Path(store["OWUI_TEST_S3_SECRET_FILE"]).read_text().strip(),
        # Channels carry the cross-replica event (off by default: config.py ENABLE_CHANNELS).
        "app": {**values.get("app", {}), "extraEnv": {"ENABLE_CHANNELS": "true"}},
        "network": {"name": NETWORK},
        "migration": {"backupDir": str(tmp_path_factory.mktemp("backups"))},
        "swarm": {"subnet": "10.215.20.0/24", "convergeTimeoutSeconds": 600,
                  "proxyPlacementConstraints": ["node.role == manager"],
                  # No ESP in this kernel: an encrypted overlay carries nothing between nodes (module docstring).
                  "encryptOverlay": NODES == 1},
        "docker": {"host": DOCKER_HOST},
    })
    _cleanup(store)
    deployment = RealDeployment(STACK, values, secret_keys=("databaseAdminPassword", "s3SecretAccessKey"))
    started = time.monotonic()
    deployment.up()
    print(f"swarm stack with state off the node, from nothing to healthy: {time.monotonic() - started:.1f}s")
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca_file.write_text(deployment.ca_certificate)
    deployment.url = f"https://{NODE_IP}:{HTTPS_PORT}"  # type: ignore[attr-defined]
    deployment.client = Client(deployment.url, ca_file)  # type: ignore[attr-defined]
    deployment.admin_email = values["admin"]["email"]  # type: ignore[attr-defined]
    deployment.store = store  # type: ignore[attr-defined]
    deployment.client.wait_healthy()  # type: ignore[attr-defined]
    yield deployment
    try:
        deployment.destroy()
    finally:
        _cleanup(store)


Task = tuple[int, str]  # (node number, container ID)


def task_pid(task: Task) -> int:
    node, container = task
    return int(on_node(node, "inspect", "-f", "{{.State.Pid}}", container).stdout.strip())


def in_task(task: Task, code: str, stdin: str = "", timeout: float = 120) -> str:
    """Python ``code`` (this venv's interpreter, this checkout) run in the task's network namespace: 127.0.0.1:8080
    is that replica (the nodes share this machine's process namespace). Tokens go on stdin, never in arguments."""
    done = subprocess.run(["nsenter", f"--net=/proc/{task_pid(task)}/ns/net", sys.executable, "-c", code],
                          input=stdin, capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


UPLOAD = """
import json, sys, requests
token, content = sys.stdin.read().split("\\n", 1)
done = requests.post("http://127.0.0.1:8080/api/v1/files/", headers={"Authorization": f"Bearer {token}"},
                     files={"file": ("shared-state.txt", content, "text/plain")},
                     params={"process": "false"}, timeout=60)
print(json.dumps({"status": done.status_code, "body": done.json() if done.ok else done.text[:500]}))
"""
DOWNLOAD = """
import json, sys, requests
token, file_id = sys.stdin.readline().split()
done = requests.get(f"http://127.0.0.1:8080/api/v1/files/{file_id}/content",
                    headers={"Authorization": f"Bearer {token}"}, timeout=60)
print(json.dumps({"status": done.status_code, "text": done.text}))
"""
POST = """
import json, sys, requests
token, channel_id, text = sys.stdin.read().split("\\n", 2)
done = requests.post(f"http://127.0.0.1:8080/api/v1/channels/{channel_id}/messages/post",
                     headers={"Authorization": f"Bearer {token}"}, json={"content": text}, timeout=30)
print(done.status_code)
"""


def two_replicas() -> tuple[Task, Task]:
    """The app's two running tasks; on several nodes, on two different ones (the swarm spreads a service's tasks)."""
    tasks = running_tasks(APP_SERVICE)
    assert len(tasks) == 2, tasks
    if NODES > 1:
        assert tasks[0][0] != tasks[1][0], f"both app tasks on node {tasks[0][0]}"
    print(f"app replicas on nodes {tasks[0][0]} and {tasks[1][0]}")
    return tasks[0], tasks[1]


def test_healthy_https_admin_sign_in_and_data_in_postgresql(state: Any) -> None:
    assert state.client.get("/health/db").status_code == 200
    assert state.client.token(state.admin_email, state.admin_password)
    assert ("admin@example.com", "admin") in SERVER.run('SELECT email, role FROM "user"', dbname=DATABASE)
    app = next(s for s in stack_services(STACK) if s["Spec"]["Labels"].get("openwebui.role") == "app")
    env = dict(item.split("=", 1) for item in app["Spec"]["TaskTemplate"]["ContainerSpec"]["Env"])
    assert env["STORAGE_PROVIDER"] == "s3" and env["WEBSOCKET_MANAGER"] == "redis"
    assert env["S3_SECRET_ACCESS_KEY_FILE"] == "/run/secrets/s3_secret_access_key" and "S3_SECRET_ACCESS_KEY" not in env
    inspected = json.dumps(stack_services(STACK)) + "".join(
        on_node(node, "inspect", container).stdout for node, container in running_tasks(APP_SERVICE))
    assert state.values["s3SecretAccessKey"] not in inspected


def test_a_file_uploaded_through_one_replica_is_downloaded_through_the_other(state: Any) -> None:
    one, two = two_replicas()
    token = state.client.token(state.admin_email, state.admin_password)
    content = f"uploaded through replica A at {time.time()}"
    uploaded = json.loads(in_task(one, UPLOAD, stdin=f"{token}\n{content}"))
    assert uploaded["status"] == 200, uploaded
    # Stored as <keyPrefix>/<id>_<name> (storage/provider.py S3StorageProvider.upload_file; files.py names it).
    file_id = uploaded["body"]["id"]
    name = f"{file_id}_shared-state.txt"
    bucket = state.store["OWUI_TEST_S3_BUCKET"]
    with urllib.request.urlopen(f"{state.store['OWUI_TEST_S3_FILER']}/buckets/{bucket}/{STACK}/{name}",
                                timeout=30) as stored:
        assert stored.read().decode() == content
    # Replica A's local copy goes: what B serves can only come from the bucket.
    local = f"{DATA_DIR}/uploads/{name}"
    on_node(one[0], "exec", one[1], "rm", "-f", local)
    downloaded = json.loads(in_task(two, DOWNLOAD, stdin=f"{token} {file_id}\n"))
    assert downloaded == {"status": 200, "text": content}


def test_a_channel_message_posted_through_one_replica_reaches_a_client_on_the_other(state: Any) -> None:
    one, two = two_replicas()
    token = state.client.token(state.admin_email, state.admin_password)
    created = state.client.post("/api/v1/channels/create", headers=state.client.auth(token),
                                json={"name": f"swarm-replicas-{int(time.time())}"})
    assert created.status_code == 200, created.text[:300]
    channel_id = created.json()["id"]
    listener = subprocess.Popen(
        ["nsenter", f"--net=/proc/{task_pid(one)}/ns/net", sys.executable, "-m", "tests.socketio_probe",
         "http://127.0.0.1:8080", state.url, channel_id, "30"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert listener.stdin is not None and listener.stdout is not None
        listener.stdin.write(token + "\n")
        listener.stdin.close()
        assert listener.stdout.readline().strip() == "joined", listener.stderr.read() if listener.stderr else ""
        text = f"hello across swarm replicas {time.time()}"
        assert in_task(two, POST, stdin=f"{token}\n{channel_id}\n{text}").strip() == "200"
        received = json.loads(listener.stdout.readline() or "null")
        assert received is not None, "replica A's client never got the message posted through replica B"
        assert received["data"]["data"]["content"] == text
    finally:
        listener.kill()
        listener.wait()


def test_a_node_stopped_under_the_probe_loses_no_data(state: Any) -> None:
    """A worker with an app replica stops (its dockerd, and its tasks with it) while the 10 req/s probe runs through
    nginx: the swarm runs a replacement on a node left, the uploaded file, the chat and the users are all still
    there. Failed requests are counted and reported (bench/swarm_node_loss.py writes them to bench/results.md), not
    asserted: until the swarm marks the node down, nginx may still pick the stopped task's address."""
    if NODES < 2:
        pytest.skip("needs a worker node to stop (OWUI_SWARM_STATE_NODES >= 2)")
    from bench.swarm_node_loss import lose_a_node, section

    token = state.client.token(state.admin_email, state.admin_password)
    auth = state.client.auth(token)
    uploaded = state.client.post("/api/v1/files/", headers=auth, params={"process": "false"},
                                 files={"file": ("before-the-loss.txt", b"kept across a node loss", "text/plain")})
    assert uploaded.status_code == 200, uploaded.text[:300]
    chat = state.client.post("/api/v1/chats/new", headers=auth, json={"chat": {"title": "before the loss"}})
    assert chat.status_code == 200, chat.text[:300]
    loss = lose_a_node(state.url, state.client.ca_file, token, APP_SERVICE)
    try:
        print(loss.text())
        assert len(loss.tasks_after) == 2 and loss.stopped_node not in {n for n, _ in loss.tasks_after}
        kept = {
            "file": state.client.get(f"/api/v1/files/{uploaded.json()['id']}/content", headers=auth).content
            == b"kept across a node loss",
            "chat": state.client.get(f"/api/v1/chats/{chat.json()['id']}", headers=auth).json()["title"]
            == "before the loss",
            "sign-in": bool(state.client.token(state.admin_email, state.admin_password)),
        }
        assert all(kept.values()), kept
        report = os.environ.get("OWUI_BENCH_NODE_LOSS")
        if report:
            Path(report).write_text(section(loss, kept))
    finally:
        subprocess.run([str(ROOT / "scripts" / "swarm-nodes"), "start", str(loss.stopped_node)], check=False,
                       capture_output=True, timeout=300)
