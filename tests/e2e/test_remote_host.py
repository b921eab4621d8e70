"""A stack deployed to another Docker host over SSH, through the real engine (deploy/, as scripts/up runs it).

The host is a second dockerd in its own network namespace, reachable only through Debian's sshd with a key made
for the test (scripts/remote-docker-host, started by scripts/setup --test-servers). The stack has the staging
shape on SQLite (proxy, app, migration step, volume owner, backup job): `openwebui:docker` names
ssh://owui-deploy@10.216.0.2 with its pinned host key, the secret `dockerSshKey` the identity. In file order
against one deployment: deploy Open WebUI 0.12.0 and check healthy HTTPS through the proxy (reached as an operator
reaches a loopback-bound service on a server: `ssh -L`); upgrade to 0.12.4; one backup and a restore with the
`owui` ops CLI, which finds the host from the same stack key; and at every step nothing of the stack on the local
daemon.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deploy import local_images
from owui_ops import dockerhost
from tests.e2e.checks import Client
from tests.e2e.harness import RealDeployment, docker
from tests.remote_host import RemoteHost, remote_host
from tests.slot import Slot

pytestmark = [pytest.mark.e2e, pytest.mark.docker]

ROOT = Path(__file__).resolve().parents[2]
SLOT = Slot("remote-e2e", 19843, 19880, "172.30.170.0/24")
STACK, HTTPS_PORT, NETWORK, VOLUME = SLOT.stack, SLOT.https_port, SLOT.network, SLOT.volume
OLD, NEW = local_images.old_app(), local_images.app()
# Directories on the Docker host (the namespace shares this machine's disk; only the daemon writes there).
HOST_DIR = "/var/tmp/owui-remote-e2e"


def _remote_cleanup(remote: RemoteHost) -> None:
    ids = remote.docker("ps", "-aq", "--filter", f"label=openwebui.stack={STACK}").stdout.split()
    if ids:
        remote.docker("rm", "-f", *ids, check=False)
    remote.docker("network", "rm", NETWORK, check=False)
    remote.docker("volume", "rm", "-f", VOLUME, check=False)
    shutil.rmtree(HOST_DIR, ignore_errors=True)


def assert_nothing_local() -> None:
    """The stack's containers (any state), network and volume exist on no daemon but the remote one."""
    assert docker("ps", "-aq", "--filter", f"label=openwebui.stack={STACK}").split() == []
    assert NETWORK not in docker("network", "ls", "--format", "{{.Name}}").split()
    assert VOLUME not in docker("volume", "ls", "--format", "{{.Name}}").split()


@pytest.fixture(scope="module")
def remote() -> RemoteHost:
    return remote_host()


@pytest.fixture(scope="module")
def forward(remote: RemoteHost) -> Iterator[None]:
    """127.0.0.1:HTTPS_PORT here -> 127.0.0.1:HTTPS_PORT on the Docker host, over the stack's SSH identity and
    pinned host key (the proxy binds the host's loopback, as the staging policy requires)."""
    target = dockerhost.SshTarget.parse(remote.host)
    options = dockerhost.ssh_opts(target, remote.host_key)
    with dockerhost.agent(remote.private_key) as agent_env:
        argv = ["ssh", "-l", target.user, *options, "-o", "ExitOnForwardFailure=yes", "-N",
                "-L", f"127.0.0.1:{HTTPS_PORT}:127.0.0.1:{HTTPS_PORT}", "--", target.host]
        process = subprocess.Popen(argv, env={**os.environ, **agent_env}, stdin=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)
        try:
            yield
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def deployment(remote: RemoteHost, forward: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    _remote_cleanup(remote)
    assert_nothing_local()
    # The staging file's settings on SQLite: the remote host has no database server.
    values = SLOT.values("staging", f"{HOST_DIR}/pre-migration")
    values.pop("databaseAdminPassword")
    values.update({
        "image": OLD,
        "database": {"type": "sqlite"},
        "backup": {"enabled": True, "directory": f"{HOST_DIR}/backups", "intervalMinutes": 1440},
        "docker": {"host": remote.host, "hostKey": remote.host_key},
        "dockerSshKey": remote.private_key,
    })
    values["proxy"].update({"bindIp": "127.0.0.1", "authRatePerMinute": 30, "authBurst": 10})
    deployed = RealDeployment(STACK, values, secret_keys=("dockerSshKey",))
    started = time.monotonic()
    deployed.up()
    print(f"remote deploy over ssh from nothing to healthy: {time.monotonic() - started:.1f}s")
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca_file.write_text(deployed.ca_certificate)
    deployed.client = Client(SLOT.url, ca_file)
    deployed.admin_email = values["admin"]["email"]
    deployed.client.wait_healthy()
    yield deployed
    try:
        deployed.destroy()
    finally:
        _remote_cleanup(remote)


def owui(deployed: RealDeployment, *args: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    """scripts/owui as the operator runs it: the stack's backend and passphrase, nothing about the Docker host
    (no DOCKER_HOST, no agent): the host, its key and the identity come from the stack's config."""
    env = {**os.environ, **deployed.engine.env, "OWUI_PROJECT_DIR": str(deployed.stack.work_dir)}
    env["PATH"] = os.pathsep.join([str(Path(deployed.engine.command.command).parent), env["PATH"]])
    for name in ("DOCKER_HOST", dockerhost.SSH_OPTS_ENV, "SSH_AUTH_SOCK"):
        env.pop(name, None)
    done = subprocess.run([str(ROOT / "scripts" / "owui"), *args], capture_output=True, text=True, env=env,
                          timeout=timeout, stdin=subprocess.DEVNULL, cwd=ROOT)
    print(f"$ scripts/owui {' '.join(args)} -> {done.returncode}\n{done.stderr[-3000:]}")
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def last_json(text: str) -> Any:
    for line in reversed(text.strip().splitlines()):
        if line.startswith(("{", "[")):
            return json.loads(line)
    raise AssertionError(f"no JSON in {text[-2000:]}")


def add_user(client: Client, admin_email: str, admin_password: str, name: str) -> None:
    token = client.token(admin_email, admin_password)
    created = client.post("/api/v1/auths/add", headers=client.auth(token), json={
        "name": name.title(), "email": f"{name}@example.com", "password": f"{name.title()}-password-12345",
        "role": "user"})
    assert created.status_code == 200, created.text


def signs_in(client: Client, name: str) -> bool:
    return client.signin(f"{name}@example.com", f"{name.title()}-password-12345").status_code == 200


def test_the_stack_runs_on_the_ssh_host_and_serves_https(deployment, remote) -> None:
    roles = {c.split()[1] for c in remote.docker(
        "ps", "--filter", f"label=openwebui.stack={STACK}",
        "--format", '{{.ID}} {{.Label "openwebui.role"}}').stdout.splitlines()}
    assert {"app", "proxy", "backup"} <= roles
    assert VOLUME in remote.docker("volume", "ls", "--format", "{{.Name}}").stdout.split()
    assert deployment.client.get("/health").status_code == 200
    assert deployment.client.signin(deployment.admin_email, deployment.admin_password).status_code == 200
    assert_nothing_local()
    # The identity is in no state and no output: only the agent of each run held it.
    body = remote.private_key.splitlines()[1]
    assert body not in deployment.stored_state()
    assert all(body not in line for line in deployment.log)


def test_upgrade_over_ssh_keeps_the_data(deployment) -> None:
    add_user(deployment.client, deployment.admin_email, deployment.admin_password, "carol")
    deployment.up(image=NEW)
    deployment.client.wait_healthy()
    assert deployment.client.get("/api/version").json()["version"] == NEW.rsplit(":", 1)[1]
    assert signs_in(deployment.client, "carol")
    # The migration's pre-upgrade backup went to the Docker host's directory, written there by its daemon.
    assert list(Path(f"{HOST_DIR}/pre-migration/{STACK}").iterdir())
    # The provider's host and sshOpts are the same text on every run (the host key comes from the stack, not a
    # file of this run): nothing to change on the next preview.
    deployment.preview(expect_no_changes=True)
    assert_nothing_local()


def test_backup_and_restore_through_the_ops_cli(deployment) -> None:
    manifest = last_json(owui(deployment, "backup", STACK, "--json").stdout)
    assert (Path(f"{HOST_DIR}/backups/{STACK}") / manifest["name"]).exists()
    listed = json.loads(owui(deployment, "backups", STACK, "--json").stdout)
    assert manifest["name"] in {item["name"] for item in listed}
    add_user(deployment.client, deployment.admin_email, deployment.admin_password, "dave")
    assert signs_in(deployment.client, "dave")
    owui(deployment, "restore", STACK, manifest["name"], "--yes", "--json")
    deployment.client.wait_healthy()
    assert signs_in(deployment.client, "carol")
    assert not signs_in(deployment.client, "dave")
    assert_nothing_local()
