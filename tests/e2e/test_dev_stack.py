"""The dev stack (SQLite) deployed through the real Pulumi engine on real Docker, checked from the outside.

The program runs unchanged as the engine's program (deploy/, as scripts/up runs it), with the real plugins where
installed and the contract doubles otherwise (plugins/). The tests run in file order against one deployment:
first an older Open WebUI image, later an upgrade to the current one, a failing migration, then destroy and
re-create.
"""

from __future__ import annotations

import os
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest

from deploy import local_images
from deploy.stack import DeployError
from tests.e2e.checks import Client, handshake, websocket_upgrade
from tests.e2e.harness import RealDeployment, containers_of, docker, remove_stack
from tests.slot import Slot

pytestmark = [pytest.mark.e2e, pytest.mark.docker]

NEW_VERSION, OLD_VERSION = local_images.NEW_VERSION, local_images.OLD_VERSION
SLOT = Slot("dev-e2e", 18443, 18080, "172.30.110.0/24")
STACK, NETWORK, VOLUME = SLOT.stack, SLOT.network, SLOT.volume


@pytest.fixture(scope="module")
def dev(docker_engine, tmp_path_factory):
    backups = tmp_path_factory.mktemp("backups")
    values = SLOT.values("dev", backups)
    values["image"] = local_images.old_app()
    values["proxy"].update({"authRatePerMinute": 30, "authBurst": 10})
    _cleanup()
    deployment = RealDeployment(STACK, values)
    started = time.monotonic()
    deployment.up()
    print(f"dev deploy from nothing to healthy: {time.monotonic() - started:.1f}s")
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca_file.write_text(deployment.ca_certificate)
    deployment.ca_file = ca_file
    deployment.backups = backups
    deployment.url = SLOT.url
    deployment.client = Client(deployment.url, ca_file)
    deployment.admin_email = values["admin"]["email"]
    deployment.client.wait_healthy()
    yield deployment
    deployment.destroy()
    _cleanup()


def _cleanup() -> None:
    remove_stack(STACK, NETWORK, VOLUME)


def test_https_health_verified_with_stack_ca(dev):
    response = dev.client.get("/health")
    assert response.status_code == 200
    assert response.json().get("status") is True


def test_http_redirects_to_https(dev):
    import requests
    response = requests.get(f"http://localhost:{SLOT.http_port}/any/path?x=1", allow_redirects=False,
                            timeout=10)
    assert response.status_code == 301
    assert response.headers["Location"] == f"{SLOT.url}/any/path?x=1"


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
        assert host["NetworkMode"] != "host"
        # The provider creates on networkMode (bridge), then moves the container to its networks (row C18):
        # what counts is what it is attached to.
        assert set(container["NetworkSettings"]["Networks"]) == {NETWORK}
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
    token = dev.client.token(dev.admin_email, dev.admin_password)
    dev.preview(expect_no_changes=True)  # the program settles: what it declares is what the state holds
    dev.preview(expect_no_changes=True, refresh=True)  # ... and what the provider reads back from Docker
    before, secrets = dev.resource_ids(), dev.secret_values()
    dev.up()
    assert dev.changed() == []
    assert dev.resource_ids() == before
    assert dev.secret_values() == secrets
    # WEBUI_SECRET_KEY did not change: a session issued before the second up still works.
    assert dev.client.get("/api/v1/auths/", headers=dev.client.auth(token)).status_code == 200
    assert dev.client.signup("after-second-up@example.com").status_code == 403


def test_stored_state_holds_no_generated_secret_in_plain_text(dev):
    stored = dev.stored_state()
    secrets = dev.secret_values()
    assert len(secrets) >= 3  # WEBUI_SECRET_KEY, the Fernet key's source, the admin password
    for value in secrets:
        assert value not in stored
    from components.secrets import fernet_key_from_password
    for value in secrets:
        assert fernet_key_from_password(value) not in stored


def test_a_health_check_change_reaches_the_container(dev):
    old = containers_of(STACK, "app")[0]
    interval = old["Config"]["Healthcheck"]["Interval"]
    dev.up(resources={"app": {"healthIntervalSeconds": 7}})
    new = containers_of(STACK, "app")[0]
    assert new["Id"] != old["Id"]  # replaced (replace_on_changes), not a state-only update
    assert new["Config"]["Healthcheck"]["Interval"] == 7 * 10**9 != interval
    dev.values.pop("resources")
    dev.up()
    dev.client.wait_healthy()


def test_a_removed_app_container_comes_back_after_refresh_and_up(dev):
    app = containers_of(STACK, "app")[0]
    docker("rm", "-f", app["Id"])
    dev.refresh()
    dev.up()
    assert [name for op, name in dev.changed() if op == "create"] == ["webui-app-0"] or \
        ("create", "webui-app-0") in dev.changed()
    dev.client.wait_healthy()
    assert containers_of(STACK, "app")[0]["Id"] != app["Id"]


def test_secrets_not_in_container_command_lines(dev):
    secrets = dev.secret_values()
    for container in containers_of(STACK):
        command_line = " ".join(container["Config"]["Cmd"] or []) + " ".join(
            container["Config"]["Entrypoint"] or [])
        for value in secrets:
            assert value not in command_line


def test_upgrade_runs_migration_first_and_keeps_data(dev):
    token = dev.client.token(dev.admin_email, dev.admin_password)
    created = dev.client.post("/api/v1/auths/add", headers=dev.client.auth(token), json={
        "name": "Alice", "email": "alice@example.com", "password": "Alice-password-123",
        "role": "user"})
    assert created.status_code == 200, created.text
    chat = dev.client.post("/api/v1/chats/new", headers=dev.client.auth(token),
                           json={"chat": {"title": "before upgrade", "messages": []}})
    assert chat.status_code == 200, chat.text
    revision_before = dev.revision
    old_app = containers_of(STACK, "app")[0]["Id"]

    secrets = dev.secret_values()
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
        dev.up(image=local_images.app())
    finally:
        stop.set()
        sampler.join()
    steps = dev.steps()
    # The migration ran before the new app container; the new one existed (healthy) before the old one went.
    assert steps.index(("create-replacement", "migration-upgrade")) < \
        steps.index(("create-replacement", "webui-app-0")) < steps.index(("delete-replaced", "webui-app-0")), steps
    revision_after = dev.revision
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
    broken = f"{local_images.app()}-broken"
    _make_broken_image(local_images.app(), broken,
                       down_revision=dev.revision)
    serving = containers_of(STACK, "app")[0]["Id"]
    backups_before = set(dev.backups.rglob("*"))
    with pytest.raises(DeployError, match="migration-upgrade"):
        dev.up(image=broken)
    assert containers_of(STACK, "app")[0]["Id"] == serving
    assert dev.client.get("/health").status_code == 200
    assert set(dev.backups.rglob("*")) - backups_before, "no backup taken before the failed migration"
    # The cause fixed (the good image again): the next `up` completes on its own, no --replace needed.
    dev.up(image=local_images.app())
    assert not [name for op, name in dev.changed() if op == "delete-replaced" and "webui-app" in name]


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
    dev.destroy()
    assert containers_of(STACK, all_states=True) == []
    assert VOLUME in docker("volume", "ls", "-q").split()
    dev.up()
    # Everything but the data was made anew, the stack's private CA included.
    dev.ca_file.write_text(dev.ca_certificate)
    dev.client.wait_healthy()
    assert dev.client.signin("alice@example.com", "Alice-password-123").status_code == 200
    # New secrets after a destroy; the stack's (new) admin password is the one that works.
    assert dev.client.signin(dev.admin_email, dev.admin_password).status_code == 200


def test_security_from_outside_on_the_running_stack(dev, tmp_path):
    """Mozilla TLS 6.0 intermediate scan, CIS section 5 per docker inspect, headers, CORS and the
    sign-in rate limit, on the deployed stack (last: it spends the sign-in rate limit)."""
    from tests.security.stack_checks import check_stack, tls11_negative_control

    assert check_stack(dev.url, dev.ca_file, containers_of(STACK)) == {}
    # ... and the same scan fails a proxy that offers TLS 1.1 in front of this stack's app.
    problems = tls11_negative_control(NETWORK, tmp_path)
    assert any(p.startswith("tls_versions:") for p in problems), problems
