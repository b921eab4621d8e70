"""The prod shape for real: PostgreSQL, two app replicas and Redis behind nginx.

Shared state is proven from outside, straight at the replicas (their addresses on the stack's
private network, reachable from this host): a Socket.IO client connected to replica 1 receives
the channel message posted through replica 2 (only Redis, WEBSOCKET_MANAGER=redis, can carry it
across), a session token issued by either replica is accepted by the other, and the browser
journey through nginx is served by both.
"""

from __future__ import annotations

import time

import pytest
import requests

from tests.browser.conftest import deployed
from tests.browser.flows import Journey
from tests.e2e.harness import containers_of, docker
from tests.prerequisites import require
from tests.slot import Slot
from tests.socketio_probe import ChannelListener

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.docker, pytest.mark.realdb]

SLOT = Slot("prodshape-browser", 19743, 19780, "172.30.142.0/24")
STACK, NETWORK = SLOT.stack, SLOT.network


@pytest.fixture(scope="module")
def prod(docker_engine, tmp_path_factory):
    require(["pg_isready", "-h", "127.0.0.1"], "the PostgreSQL test server")
    values = SLOT.values("staging", tmp_path_factory.mktemp("backups"))
    values.update({
        "replicas": 2,
        # Channels carry the cross-replica event below (off by default: config.py ENABLE_CHANNELS).
        "app": {**values.get("app", {}), "extraEnv": {"ENABLE_CHANNELS": "true"}},
    })
    with deployed(SLOT, values, tmp_path_factory) as deployment:
        yield deployment


def replicas() -> list[dict]:
    """The app containers, replica 1 first (webui-app-0…, webui-app-1…)."""
    found = sorted(containers_of(STACK, "app"), key=lambda c: c["Name"])
    assert len(found) == 2, [c["Name"] for c in found]
    return found


def replica_url(container: dict) -> str:
    return f"http://{container['NetworkSettings']['Networks'][NETWORK]['IPAddress']}:8080"


def signin(base: str, email: str, password: str) -> dict:
    response = requests.post(base + "/api/v1/auths/signin", json={"email": email, "password": password},
                             timeout=30)
    assert response.status_code == 200, response.text[:300]
    return response.json()


def test_shape_two_replicas_redis_postgresql(prod):
    roles = sorted(c["Config"]["Labels"]["openwebui.role"] for c in containers_of(STACK))
    assert roles == ["app", "app", "proxy", "redis"]
    for container in replicas():
        env = dict(e.split("=", 1) for e in container["Config"]["Env"])
        assert env["WEBSOCKET_MANAGER"] == "redis"
        assert env["DATABASE_URL"].startswith("postgresql")
        assert requests.get(replica_url(container) + "/health/db", timeout=10).status_code == 200


def test_token_from_one_replica_accepted_by_the_other(prod):
    one, two = (replica_url(c) for c in replicas())
    for issuer, checker in ((two, one), (one, two)):
        session = signin(issuer, prod.target.admin_email, prod.admin_password)
        me = requests.get(checker + "/api/v1/auths/", timeout=30,
                          headers={"Authorization": f"Bearer {session['token']}"})
        assert me.status_code == 200, me.text[:300]
        assert me.json()["id"] == session["id"]


def test_socketio_client_on_replica_1_gets_a_message_posted_through_replica_2(prod):
    first, second = replicas()
    one, two = replica_url(first), replica_url(second)
    session = signin(two, prod.target.admin_email, prod.admin_password)
    auth = {"Authorization": f"Bearer {session['token']}"}
    channel = requests.post(two + "/api/v1/channels/create", headers=auth, timeout=30,
                            json={"name": f"replicas-{int(time.time())}"})
    assert channel.status_code == 200, channel.text[:300]
    channel_id = channel.json()["id"]

    listener = ChannelListener(one, prod.target.url, session["token"], session["id"])
    try:
        text = f"hello across replicas {listener.started}"
        posted = requests.post(two + f"/api/v1/channels/{channel_id}/messages/post", headers=auth,
                               json={"content": text}, timeout=30)
        assert posted.status_code == 200, posted.text[:300]
        received = listener.wait_message(channel_id)
        assert received is not None, "replica 1's client never got the message posted on replica 2"
        print(f"event from replica 2 reached replica 1's client "
              f"{time.monotonic() - listener.started:.2f}s after connecting")
        assert received["data"]["data"]["content"] == text
    finally:
        listener.close()
    # The POST went to replica 2 only: replica 1 heard of the message through Redis.
    assert "/messages/post" not in docker("logs", first["Id"])
    assert "/messages/post" in docker("logs", second["Id"])


def test_browser_journey_through_nginx_served_by_both_replicas(prod, browsers, aio, tmp_path,
                                                                 tmp_path_factory):
    upload = tmp_path_factory.mktemp("upload") / "replicas-upload-notes.txt"
    upload.write_text("Uploaded through nginx to one of two replicas.\n" * 20)
    since = str(int(time.time()) - 1)
    journey = Journey(browsers.for_targets(prod.target), prod.target, tmp_path)
    problems = aio.run_until_complete(journey.run(upload))
    print(f"journey timings: {journey.timings}; notices shown: {journey.toasts}; "
          f"screenshots in {tmp_path}")
    assert problems == []
    served = [docker("logs", "--since", since, c["Id"], check=False).count('"GET /api/')
              for c in replicas()]
    print(f"API requests served per replica during the journey: {served}")
    assert all(count > 0 for count in served), served
