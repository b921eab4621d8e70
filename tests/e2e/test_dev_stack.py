"""The dev stack (SQLite) for real: `pulumi up` on Docker, checked from the outside.

The tests run in file order against one deployment (module fixture): first the older Open WebUI
image, later an upgrade to the current one, a failing migration, destroy and re-create.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.e2e.checks import Client, handshake, websocket_upgrade
from tests.e2e.conftest import new_stack
from tests.e2e.harness import Stack, containers_of, docker

pytestmark = [pytest.mark.e2e, pytest.mark.engine, pytest.mark.docker]

NEW_VERSION = os.environ.get("OWUI_NEW_VERSION", "0.12.4")
OLD_VERSION = os.environ.get("OWUI_OLD_VERSION", "0.12.3")
STACK = "dev-e2e"
HTTPS_PORT, HTTP_PORT = 18443, 18080
VOLUME = "openwebui-dev-e2e-data"


class Deployment:
    def __init__(self, stack: Stack, ca_file: Path):
        self.stack = stack
        self.ca_file = ca_file
        self.url = f"https://localhost:{HTTPS_PORT}"
        self.client = Client(self.url, ca_file)
        outputs = stack.outputs(show_secrets=True)
        self.admin_email = outputs["adminEmail"]
        self.admin_password = outputs["adminPassword"]


@pytest.fixture(scope="module")
def dev(project, engine, docker_engine, tmp_path_factory):
    backups = tmp_path_factory.mktemp("backups")
    stack = new_stack(project, engine, STACK, "dev")
    stack.set("publicUrl", f"https://localhost:{HTTPS_PORT}")
    stack.set("proxy.httpsPort", HTTPS_PORT)
    stack.set("proxy.httpPort", HTTP_PORT)
    stack.set("network.subnet", "172.30.110.0/24")
    stack.set("network.name", "openwebui-dev-e2e")
    stack.set("storage.volumeName", VOLUME)
    stack.set("migration.backupDir", str(backups))
    stack.set("image", f"openwebui-local/open-webui:{OLD_VERSION}")
    stack.set("proxy.authRatePerMinute", 30)
    stack.set("proxy.authBurst", 10)
    stack.derive_policy_config({"openwebui-enforce-https-end-to-end": {"proxyHttpsPort": HTTPS_PORT}})
    started = time.monotonic()
    stack.up()
    print(f"dev up from nothing: {time.monotonic() - started:.1f}s")
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca_file.write_text(stack.outputs()["caCertificate"])
    deployment = Deployment(stack, ca_file)
    deployment.backups = backups
    deployment.client.wait_healthy()
    yield deployment
    stack.destroy(check=False)
    docker("volume", "rm", "-f", VOLUME, check=False)
    Path(project / "e2e-dev.log").write_text("\n".join(stack.log))


def test_https_health_verified_with_stack_ca(dev):
    response = dev.client.get("/health")
    assert response.status_code == 200
    assert response.json().get("status") is True


def test_http_redirects_to_https(dev):
    import requests
    response = requests.get(f"http://localhost:{HTTP_PORT}/any/path?x=1", allow_redirects=False,
                            timeout=10)
    assert response.status_code == 301
    assert response.headers["Location"] == f"https://localhost:{HTTPS_PORT}/any/path?x=1"


def test_old_tls_versions_refused(dev):
    assert handshake(dev.url, dev.ca_file, ssl.TLSVersion.TLSv1) is None
    assert handshake(dev.url, dev.ca_file, ssl.TLSVersion.TLSv1_1) is None
    assert handshake(dev.url, dev.ca_file, ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
    assert handshake(dev.url, dev.ca_file, ssl.TLSVersion.TLSv1_3) == "TLSv1.3"


def test_security_headers(dev):
    headers = dev.client.get("/health").headers
    assert headers["Strict-Transport-Security"].startswith("max-age=63072000")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert "nginx/" not in headers.get("Server", "")


def test_websocket_upgrade_through_proxy(dev):
    frame = websocket_upgrade(dev.url, dev.ca_file)
    # Engine.IO's open packet: "0{...sid...}".
    assert frame.startswith("0{") and '"sid"' in frame


def test_admin_login_and_signup_refused(dev):
    assert dev.client.signin(dev.admin_email, dev.admin_password).status_code == 200
    assert dev.client.signin(dev.admin_email, "wrong-password-1").status_code in (400, 401, 403)
    assert dev.client.signup("intruder@example.com").status_code == 403


def test_upload_50mb_not_refused(dev):
    token = dev.client.token(dev.admin_email, dev.admin_password)
    payload = os.urandom(50 * 1024 * 1024)
    response = dev.client.post("/api/v1/files/?process=false", headers=dev.client.auth(token),
                               files={"file": ("big.bin", payload, "application/octet-stream")},
                               timeout=300)
    assert response.status_code != 413
    assert response.status_code == 200, response.text[:300]


def test_containers_hardened_per_docker_inspect(dev):
    found = containers_of(STACK)
    roles = sorted(c["Config"]["Labels"]["openwebui.role"] for c in found)
    assert roles == ["app", "proxy"]
    for container in found:
        config, host = container["Config"], container["HostConfig"]
        user = config["User"].split(":")[0]
        assert user not in ("", "0", "root"), container["Name"]
        assert host["CapDrop"] and "ALL" in [c.upper() for c in host["CapDrop"]]
        assert not host.get("CapAdd")
        assert "no-new-privileges:true" in host["SecurityOpt"]
        assert host["ReadonlyRootfs"] is True
        assert host["Memory"] > 0 and host["NanoCpus"] > 0
        assert host["Privileged"] is False
        assert host["NetworkMode"] not in ("host", "default", "bridge")
        if config["Labels"]["openwebui.role"] == "app":
            assert not host.get("PortBindings")
            assert not container["NetworkSettings"]["Ports"] or all(
                v is None for v in container["NetworkSettings"]["Ports"].values())
        else:
            bound = {b["HostIp"] for v in host["PortBindings"].values() for b in v}
            assert bound == {"127.0.0.1"}


def test_signup_stays_off_after_restart(dev):
    app = containers_of(STACK, "app")[0]
    docker("restart", app["Id"])
    dev.client.wait_healthy()
    assert dev.client.signup("after-restart@example.com").status_code == 403


def test_second_up_changes_nothing_and_keeps_secrets(dev):
    before = dev.stack.outputs(show_secrets=True)
    dev.stack.preview("--expect-no-changes")
    dev.stack.up("--expect-no-changes")
    after = dev.stack.outputs(show_secrets=True)
    assert before == after
    assert dev.client.signup("after-second-up@example.com").status_code == 403


def test_no_secret_in_state_export_or_outputs(dev):
    exported = dev.stack.export()
    plain_outputs = json.dumps(dev.stack.outputs())
    secrets = _stack_secrets(dev)
    for value in secrets:
        assert value not in exported
        assert value not in plain_outputs
    assert dev.admin_password not in "\n".join(dev.stack.log)


def _stack_secrets(dev) -> list[str]:
    state = json.loads(dev.stack.export(show_secrets=True))
    found = [dev.admin_password]
    for resource in state["deployment"]["resources"]:
        if resource["type"] == "random:index/randomPassword:RandomPassword":
            found.append(resource["outputs"]["result"])
        if resource["type"] == "random:index/randomBytes:RandomBytes":
            found.append(resource["outputs"]["base64"])
    return found


def test_upgrade_runs_migration_first_and_keeps_data(dev):
    token = dev.client.token(dev.admin_email, dev.admin_password)
    created = dev.client.post("/api/v1/auths/add", headers=dev.client.auth(token), json={
        "name": "Alice", "email": "alice@example.com", "password": "Alice-password-123",
        "role": "user"})
    assert created.status_code == 200, created.text
    chat = dev.client.post("/api/v1/chats/new", headers=dev.client.auth(token),
                           json={"chat": {"title": "before upgrade", "messages": []}})
    assert chat.status_code == 200, chat.text
    revision_before = dev.stack.outputs()["databaseRevision"]
    old_app = containers_of(STACK, "app")[0]["Id"]

    secrets = _stack_secrets(dev)
    seen_args: list[str] = []
    stop = threading.Event()

    def sample_process_list():
        while not stop.is_set():
            seen_args.append(subprocess.run(["ps", "-eo", "args"], capture_output=True,
                                            text=True).stdout)
            time.sleep(0.2)

    sampler = threading.Thread(target=sample_process_list, daemon=True)
    sampler.start()
    try:
        dev.stack.set("image", f"openwebui-local/open-webui:{NEW_VERSION}")
        result = dev.stack.up()
    finally:
        stop.set()
        sampler.join()
    output = result.output
    assert output.index("migration-upgrade") < output.index("webui-app-0"), output
    revision_after = dev.stack.outputs()["databaseRevision"]
    assert revision_after != revision_before
    assert containers_of(STACK, "app")[0]["Id"] != old_app
    dev.client.wait_healthy()
    token = dev.client.token(dev.admin_email, dev.admin_password)
    chats = dev.client.get("/api/v1/chats/", headers=dev.client.auth(token)).json()
    assert any(c["title"] == "before upgrade" for c in chats)
    assert dev.client.signin("alice@example.com", "Alice-password-123").status_code == 200
    process_lists = "\n".join(seen_args)
    assert len(seen_args) > 10
    for value in secrets:
        assert value not in process_lists
    assert list(dev.backups.rglob("*")), "the migration left no backup"


def test_failing_migration_fails_up_and_keeps_old_app(dev):
    broken = f"openwebui-local/open-webui:{NEW_VERSION}-broken"
    _make_broken_image(f"openwebui-local/open-webui:{NEW_VERSION}", broken,
                       down_revision=dev.stack.outputs()["databaseRevision"])
    serving = containers_of(STACK, "app")[0]["Id"]
    backups_before = set(dev.backups.rglob("*"))
    dev.stack.set("image", broken)
    result = dev.stack.up(check=False)
    assert result.code != 0
    assert containers_of(STACK, "app")[0]["Id"] == serving
    assert dev.client.get("/health").status_code == 200
    assert set(dev.backups.rglob("*")) - backups_before, "no backup taken before the failed migration"
    dev.stack.set("image", f"openwebui-local/open-webui:{NEW_VERSION}")
    dev.stack.up()


def _make_broken_image(base: str, target: str, down_revision: str) -> None:
    """The base image plus one migration that always fails (docker commit: no registry needed)."""
    site = docker("run", "--rm", "--entrypoint", "python3", base, "-c",
                  "import open_webui, os; print(os.path.dirname(open_webui.__file__))").strip()
    down = down_revision
    migration = (f'revision = "ffffffffffff"\ndown_revision = "{down}"\nbranch_labels = None\n'
                 f'depends_on = None\n\ndef upgrade():\n    raise RuntimeError("broken on purpose")\n\n'
                 f'def downgrade():\n    pass\n')
    container = docker("create", base).strip()
    try:
        path = Path("/tmp") / "ffffffffffff_broken.py"
        path.write_text(migration)
        docker("cp", str(path), f"{container}:{site}/migrations/versions/ffffffffffff_broken.py")
        docker("commit", container, target)
    finally:
        docker("rm", "-f", container)


def test_destroy_keeps_data_and_new_up_finds_it(dev):
    dev.stack.destroy()
    assert containers_of(STACK, all_states=True) == []
    assert VOLUME in docker("volume", "ls", "-q").split()
    dev.stack.up()
    dev.client.wait_healthy()
    assert dev.client.signin("alice@example.com", "Alice-password-123").status_code == 200
