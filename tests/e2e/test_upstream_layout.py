"""Upstream's image layout (root user, root-owned /app, /root and data directory) under the program's
hardening, on the real Docker engine (issue 13).

The image is images/build's open-webui-upstream-layout, which reproduces upstream's runtime facts from
the same PyPI package. In file order against one stack:
1. the image itself: as upstream runs it (root), its start script with and without WEBUI_SECRET_KEY,
   its curl+jq HEALTHCHECK;
2. the dev stack deployed with it on a fresh volume: healthy over HTTPS, admin login, sign-up refused,
   every container (the exited one-shot ownership step included) through the CIS checks;
3. a volume an upstream-style root container wrote (as upstream's README says to run it: `docker run
   -v open-webui:/app/backend/data ...`), then taken over by the program: users and chats kept, the
   app running as 1000.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import pytest
import requests

from tests.e2e.checks import Client
from tests.e2e.harness import RealDeployment, containers_of, docker, remove_stack
from tests.security import cis_inspect
from tests.slot import Slot

pytestmark = [pytest.mark.e2e, pytest.mark.docker]

IMAGE = "openwebui-local/open-webui-upstream-layout:0.12.4"
# Ports overridable: several stacks share this machine's loopback ports while tests run side by side.
SLOT = Slot("dev-upstream", int(os.environ.get("OWUI_UPSTREAM_HTTPS_PORT", "19543")),
            int(os.environ.get("OWUI_UPSTREAM_HTTP_PORT", "19080")), "172.30.150.0/24")
STACK, NETWORK, FRESH_VOLUME = SLOT.stack, SLOT.network, SLOT.volume
# Named like the volume in upstream's README; a test name so it cannot meet a user's.
ROOT_VOLUME = "openwebui-dev-upstream-root-run"
ROOT_CONTAINER = "openwebui-dev-upstream-root-run"
ROOT_PORT = 19581
ADMIN_EMAIL = "admin@example.com"
ALICE = {"name": "Alice", "email": "alice@example.com", "password": "Alice-password-123",
         "role": "user"}


def _cleanup() -> None:
    docker("rm", "-f", ROOT_CONTAINER, check=False)  # not the stack's: it holds ROOT_VOLUME
    remove_stack(STACK, NETWORK, FRESH_VOLUME, ROOT_VOLUME)


@pytest.fixture(scope="module")
def image(docker_engine):
    if json.loads(docker("image", "inspect", IMAGE, check=False) or "[]") == []:
        pytest.fail(f"{IMAGE} is missing: scripts/setup --test-servers builds it")
    _cleanup()
    yield IMAGE
    _cleanup()


def _values(volume: str, backups) -> dict:
    values = SLOT.values("dev", backups)
    values.update({"image": IMAGE, "storage": {"volumeName": volume}})
    values["proxy"].update({"authRatePerMinute": 60, "authBurst": 20})
    return values


def _deploy(volume: str, tmp_path_factory) -> tuple[RealDeployment, Client]:
    deployment = RealDeployment(STACK, _values(volume, tmp_path_factory.mktemp("backups")))
    started = time.monotonic()
    deployment.up()
    print(f"{STACK} on {volume}: deployed and healthy in {time.monotonic() - started:.1f}s")
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca_file.write_text(deployment.ca_certificate)
    client = Client(SLOT.url, ca_file)
    client.wait_healthy()
    return deployment, client


def _findings(deployment: RealDeployment) -> dict:
    return dict(deployment.stack_output("volumeOwnership"))


def _cis_all_containers() -> dict[str, list[cis_inspect.Finding]]:
    """Every container of the stack, running or exited, through the CIS checks; prints them."""
    found = {}
    for container in containers_of(STACK, all_states=True):
        role = container["Config"]["Labels"]["openwebui.role"]
        findings = cis_inspect.check_container(
            container, cis_inspect.Options(allowed_bind_ips=("127.0.0.1",), require_pids_limit=True))
        print(cis_inspect.summary(f"{role} {container['Name']}", findings))
        found[role] = findings
    return found


def _app_uid() -> str:
    app = containers_of(STACK, "app")[0]
    return docker("exec", app["Id"], "id", "-u").strip()


# 1. The image as upstream runs it ---------------------------------------------------------------


def _start_script(image: str, *env: str) -> str:
    """Run the image's start.sh with a stand-in uvicorn that reports how it was started."""
    fake = ("mkdir -p /tmp/fake && printf '#!/bin/sh\\necho \"uvicorn $*\"; "
            "echo \"key-length ${#WEBUI_SECRET_KEY}\"\\n' >/tmp/fake/uvicorn && chmod +x /tmp/fake/uvicorn && "
            "export PATH=/tmp/fake:$PATH && bash start.sh && bash start.sh && ls -A /app/backend")
    return docker("run", "--rm", "--network", "none", *env, "--entrypoint", "bash", image, "-c", fake)


def test_image_has_upstreams_layout(image):
    config = json.loads(docker("image", "inspect", image))[0]["Config"]
    assert config["User"] in ("0:0", "", "root")
    assert config["WorkingDir"] == "/app/backend" and config["Cmd"] == ["bash", "start.sh"]
    assert "HOME=/root" in config["Env"]
    assert "curl" in " ".join(config["Healthcheck"]["Test"]) and "jq" in " ".join(config["Healthcheck"]["Test"])
    owners = docker("run", "--rm", "--network", "none", "--entrypoint", "stat", image, "-c", "%u:%g %a %n",
                    "/app", "/root", "/app/backend", "/app/backend/data",
                    "/root/.cache/chroma/telemetry_user_id").split("\n")
    assert all(line.startswith("0:0 ") for line in owners if line), owners
    files = docker("run", "--rm", "--network", "none", "--entrypoint", "find", image,
                   "/app/backend/data", "-type", "f").split()
    assert files, "the image's data directory holds files (model caches upstream bakes in)"


def test_start_script_keeps_a_key_file_only_without_webui_secret_key(image):
    without = _start_script(image)
    assert "--forwarded-allow-ips *" in without
    assert ".webui_secret_key" in without
    # Generated once, then reused: both starts saw the same 16-character key.
    assert without.count("key-length 16") == 2
    with_key = _start_script(image, "-e", "WEBUI_SECRET_KEY=given-by-the-operator")
    assert "key-length 21" in with_key and ".webui_secret_key" not in with_key


def test_under_the_hardening_alone_the_image_cannot_start(image):
    # What the program's ownership step and launcher are for: as 1000:1000 with a read-only root,
    # start.sh cannot keep its key file, and with a key given the app cannot open its database in the
    # volume Docker filled from the root-owned data directory.
    volume = "openwebui-dev-upstream-probe"
    hardened = ["run", "--rm", "--user", "1000:1000", "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL",
                "--security-opt", "no-new-privileges:true", "--network", "none", "-e", "OFFLINE_MODE=true",
                "-v", f"{volume}:/app/backend/data"]
    try:
        no_key = subprocess.run(["docker", *hardened, image], capture_output=True, text=True, timeout=120)
        assert ".webui_secret_key: Read-only file system" in no_key.stdout + no_key.stderr
        with_key = subprocess.run(["docker", *hardened, "-e", "WEBUI_SECRET_KEY=" + "k" * 32, image],
                                  capture_output=True, text=True, timeout=180)
        assert "unable to open database file" in with_key.stdout + with_key.stderr
    finally:
        docker("volume", "rm", "-f", volume, check=False)


# 2. The dev stack on a fresh volume --------------------------------------------------------------


@pytest.fixture(scope="module")
def fresh(image, tmp_path_factory):
    deployment, client = _deploy(FRESH_VOLUME, tmp_path_factory)
    yield deployment, client
    deployment.destroy()
    shutil.rmtree(deployment.directory, ignore_errors=True)
    for container in containers_of(STACK, all_states=True):
        docker("rm", "-f", container["Id"], check=False)
    docker("volume", "rm", "-f", FRESH_VOLUME, check=False)


def test_fresh_volume_is_handed_over_and_the_app_serves_https(fresh):
    deployment, client = fresh
    findings = _findings(deployment)
    print("volumeOwnership:", json.dumps(findings))
    assert findings["imageRunsAsRoot"] is True and findings["imageDataOwner"] == "0:0"
    # Docker copied the image's root-owned data directory into the empty volume.
    assert findings["tookOver"] is True and findings["volumeBefore"]["owners"].get("0:0", 0) > 0
    response = client.get("/health")
    assert response.status_code == 200 and response.json().get("status") is True
    assert client.signin(ADMIN_EMAIL, deployment.admin_password).status_code == 200
    assert client.signup("intruder@example.com").status_code == 403
    assert _app_uid() == "1000"


def test_every_container_passes_the_cis_checks(fresh):
    found = _cis_all_containers()
    assert sorted(found) == ["app", "proxy", "volume-owner"]
    for role, findings in found.items():
        assert cis_inspect.failures(findings) == [], role
    excepted = {f.cis_id for f in found["volume-owner"] if f.status is cis_inspect.Status.EXCEPTION}
    assert {"4.1", "5.4"} <= excepted
    assert all("volume-owner" in f.reason for f in found["volume-owner"] if f.cis_id in ("4.1", "5.4"))
    for role in ("app", "proxy"):
        assert {f.cis_id: f.status for f in found[role]}["4.1"] is cis_inspect.Status.PASS
        assert {f.cis_id: f.status for f in found[role]}["5.4"] is cis_inspect.Status.PASS


def test_app_health_check_does_not_use_the_images_curl(fresh):
    app = containers_of(STACK, "app")[0]
    test = app["Config"]["Healthcheck"]["Test"]
    # ["CMD", "python3", ...] from the provider, or one CMD-SHELL string from `docker run --health-cmd`.
    command = " ".join(test[1:])
    assert command.startswith("python3 ") and "curl" not in command and "jq" not in command, test
    assert app["State"]["Health"]["Status"] == "healthy"


# 3. A volume written by a root-run upstream-style container, taken over -------------------------


def _wait_root_container_healthy(seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    status = ""
    while time.monotonic() < deadline:
        status = docker("inspect", "-f", "{{.State.Status}} {{.State.Health.Status}}", ROOT_CONTAINER).strip()
        if status == "running healthy":
            return
        if not status.startswith("running"):
            break
        time.sleep(2)
    logs = docker("logs", "--tail", "40", ROOT_CONTAINER, check=False)
    raise AssertionError(f"root-run container not healthy ({status}):\n{logs}")


@pytest.fixture(scope="module")
def taken_over(fresh, tmp_path_factory):
    # The fresh-volume stack goes first: the same stack name, network and ports are reused.
    fresh[0].destroy()
    for container in containers_of(STACK, all_states=True):
        docker("rm", "-f", container["Id"], check=False)
    # As upstream's README has users run it (root, the image's own start.sh and health check; no
    # WEBUI_SECRET_KEY), published on loopback only; OFFLINE_MODE because this machine has no
    # internet and the app would otherwise try to reach it.
    docker("run", "-d", "--name", ROOT_CONTAINER, "-p", f"127.0.0.1:{ROOT_PORT}:8080",
           "-v", f"{ROOT_VOLUME}:/app/backend/data", "-e", "OFFLINE_MODE=true", IMAGE)
    _wait_root_container_healthy()
    base = f"http://127.0.0.1:{ROOT_PORT}"
    admin_password = "Upstream-admin-123"
    first = requests.post(f"{base}/api/v1/auths/signup", timeout=60, json={
        "name": "Upstream Admin", "email": ADMIN_EMAIL, "password": admin_password})
    assert first.status_code == 200, first.text
    headers = {"Authorization": f"Bearer {first.json()['token']}"}
    assert requests.post(f"{base}/api/v1/auths/add", headers=headers, json=ALICE,
                         timeout=60).status_code == 200
    chat = requests.post(f"{base}/api/v1/chats/new", headers=headers, timeout=60,
                         json={"chat": {"title": "written by root", "messages": []}})
    assert chat.status_code == 200, chat.text
    written = {
        "uid": docker("exec", ROOT_CONTAINER, "id", "-u").strip(),
        "owners": docker("exec", ROOT_CONTAINER, "stat", "-c", "%u:%g", "/app/backend/data",
                         "/app/backend/data/webui.db").split(),
        "key_file": docker("exec", ROOT_CONTAINER, "ls", "-A", "/app/backend").split(),
    }
    docker("stop", "-t", "30", ROOT_CONTAINER)
    docker("rm", ROOT_CONTAINER)
    deployment, client = _deploy(ROOT_VOLUME, tmp_path_factory)
    yield deployment, client, written
    deployment.destroy()
    shutil.rmtree(deployment.directory, ignore_errors=True)


def test_root_run_container_wrote_a_root_owned_volume(taken_over):
    _, _, written = taken_over
    assert written["uid"] == "0"
    assert written["owners"] == ["0:0", "0:0"]
    # upstream's start.sh kept its generated key beside itself, not in the volume.
    assert ".webui_secret_key" in written["key_file"]


def test_taken_over_volume_keeps_users_and_chats_and_the_app_runs_as_1000(taken_over):
    deployment, client, _ = taken_over
    findings = _findings(deployment)
    print("volumeOwnership:", json.dumps(findings))
    assert findings["tookOver"] is True and findings["volumeBefore"]["owners"].get("0:0", 0) > 0
    assert _app_uid() == "1000"
    # Users exist, so Open WebUI creates no headless admin; the migration step pinned the stack's
    # admin password on the existing admin account with that e-mail.
    token = client.token(ADMIN_EMAIL, deployment.admin_password)
    users = client.get("/api/v1/users/all", headers=client.auth(token))
    assert users.status_code == 200, users.text
    emails = {u["email"] for u in users.json()["users"]}
    assert {ADMIN_EMAIL, ALICE["email"]} <= emails
    chats = client.get("/api/v1/chats/", headers=client.auth(token))
    assert chats.status_code == 200, chats.text
    assert "written by root" in {c["title"] for c in chats.json()}
    assert client.signin(ALICE["email"], ALICE["password"]).status_code == 200
    # Sign-up was on in the root-run instance (upstream's default); the stack turns it off.
    assert client.signup("intruder@example.com").status_code == 403


def test_taken_over_stack_passes_the_cis_checks(taken_over):
    found = _cis_all_containers()
    assert sorted(found) == ["app", "proxy", "volume-owner"]
    for role, findings in found.items():
        assert cis_inspect.failures(findings) == [], role
