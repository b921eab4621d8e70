"""The swarm target through the real Pulumi engine on a single-node Docker swarm (scripts/swarm-nodes: a dockerd in
its own network namespace; the main engine is never in swarm mode), checked from the outside.

In file order against one deployment: deploy Open WebUI 0.12.0 as services (healthy HTTPS, admin sign-in), no
secret value in `docker service inspect` or `docker inspect` of any task, each secret file readable in the task only
by the service's uid, nothing to change on a second preview, then the upgrade to 0.12.4 under the 10 req/s probe
(bench/upgrade_probe.py) with 0 failed requests (start-first rolling update behind nginx), a secret rotated, destroy.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.upgrade_probe import Probe, figures
from deploy import local_images
from tests.e2e.checks import Client
from tests.e2e.harness import RealDeployment
from tests.mocks import stack_config
from tests.swarm_node import (
    DOCKER_HOST,
    load_image,
    node_docker,
    remove_swarm_stack,
    stack_services,
    stack_tasks,
    swarm_host,
)

pytestmark = [pytest.mark.e2e, pytest.mark.docker]

OLD, NEW = local_images.old_app(), local_images.app()
STACK = "dev-swarm"
NODE_IP = "10.213.0.11"
HTTPS_PORT, HTTP_PORT = 28443, 28080
VOLUME = "openwebui-dev-swarm-data"
NETWORK = "openwebui-dev-swarm"


def _services() -> list[dict[str, Any]]:
    return stack_services(STACK)


def _task_containers(role: str | None = None) -> list[str]:
    return stack_tasks(STACK, role)


def _cleanup() -> None:
    """What an interrupted earlier run may have left on the node."""
    remove_swarm_stack(STACK, NETWORK, VOLUME)


@pytest.fixture(scope="module")
def swarm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealDeployment]:
    swarm_host()
    for image in (OLD, NEW, "openwebui-local/nginx:1.22.1-9-deb12u11", "openwebui-local/tools:1.1.0"):
        load_image(image)
    backups = tmp_path_factory.mktemp("backups")
    values = stack_config("dev")
    values.update({
        "environment": "dev", "target": "swarm",
        "publicUrl": f"https://{NODE_IP}:{HTTPS_PORT}", "image": OLD,
        "proxy": {**values["proxy"], "httpsPort": HTTPS_PORT, "httpPort": HTTP_PORT},
        "network": {"name": NETWORK},
        "storage": {"volumeName": VOLUME, "deleteDataOnDestroy": True},
        "migration": {"backupDir": str(backups)},
        "swarm": {"subnet": "10.215.10.0/24", "placementConstraints": ["node.role == manager"],
                  "convergeTimeoutSeconds": 600},
        "docker": {"host": DOCKER_HOST},
    })
    _cleanup()
    deployment = RealDeployment(STACK, values)
    started = time.monotonic()
    deployment.up()
    print(f"swarm deploy from nothing to healthy: {time.monotonic() - started:.1f}s")
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca_file.write_text(deployment.ca_certificate)
    deployment.ca_file = ca_file  # type: ignore[attr-defined]
    deployment.url = f"https://{NODE_IP}:{HTTPS_PORT}"  # type: ignore[attr-defined]
    deployment.client = Client(deployment.url, ca_file)  # type: ignore[attr-defined]
    deployment.admin_email = values["admin"]["email"]  # type: ignore[attr-defined]
    deployment.client.wait_healthy()  # type: ignore[attr-defined]
    yield deployment
    try:
        deployment.destroy()
    finally:
        _cleanup()


def test_healthy_https_and_admin_sign_in(swarm: Any) -> None:
    assert swarm.client.get("/health").json() == {"status": True}
    assert swarm.client.token(swarm.admin_email, swarm.admin_password)
    services = {s["Spec"]["Labels"].get("openwebui.role"): s for s in _services()}
    app = services["app"]["Spec"]
    assert app["Mode"]["Replicated"]["Replicas"] == 1
    assert app["UpdateConfig"]["Order"] == "start-first" and app["UpdateConfig"]["FailureAction"] == "rollback"
    assert app["TaskTemplate"]["ContainerSpec"]["Healthcheck"]["Test"][0] == "CMD"
    assert app["TaskTemplate"]["Placement"]["Constraints"] == ["node.role == manager"]
    ports = services["proxy"]["Endpoint"]["Ports"]
    assert {(p["TargetPort"], p["PublishedPort"], p["PublishMode"]) for p in ports} == {
        (8443, HTTPS_PORT, "host"), (8080, HTTP_PORT, "host")}
    network = json.loads(node_docker("network", "inspect", NETWORK).stdout)[0]
    assert network["Driver"] == "overlay" and network["Attachable"] and network["Options"]["encrypted"] == "true"


def test_no_secret_value_in_service_or_task_inspect_and_files_only_for_the_uid(swarm: Any) -> None:
    values = [v for v in swarm.secret_values() if len(v) >= 8]
    assert values, "the stack has secrets to look for"
    inspected = node_docker("service", "inspect", *[s["ID"] for s in _services()]).stdout
    containers = _task_containers()
    assert containers
    inspected += node_docker("inspect", *containers).stdout
    leaked = [v[:4] + "…" for v in values if v in inspected]
    assert leaked == []
    for container in _task_containers("app"):
        files = node_docker("exec", container, "sh", "-c", "ls -ln /run/secrets").stdout.split("\n")[1:]
        assert files and all(line.split()[0] == "-r--------" and line.split()[2] == "1000"
                             for line in files if line.strip()), files
        assert node_docker("exec", "-u", "1000", container, "cat", "/run/secrets/webui_secret_key").stdout
        assert node_docker("exec", "-u", "1001", container, "cat", "/run/secrets/webui_secret_key",
                           check=False).returncode != 0


def test_a_second_preview_changes_nothing(swarm: Any) -> None:
    swarm.preview(expect_no_changes=True)


def test_upgrade_under_the_probe_loses_no_request(swarm: Any) -> None:
    token = swarm.client.token(swarm.admin_email, swarm.admin_password)
    probe = Probe(swarm.url, Path(swarm.ca_file), token)
    window = probe.run_while(lambda: swarm.up(image=NEW), after=10.0)
    found = figures("swarm upgrade 0.12.0 -> 0.12.4", probe.samples, *window, {})
    print(found)
    failed = [s for s in probe.samples if s.status != 200]
    assert len(probe.samples) > 50 and failed == [], failed[:5]
    app = next(s for s in _services() if s["Spec"]["Labels"].get("openwebui.role") == "app")
    assert app["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] == NEW
    # `up` returns when the new task runs (row W6); the swarm ends its monitor period a few seconds later
    assert app["UpdateStatus"]["State"] in ("updating", "completed")
    running = node_docker("service", "ps", app["ID"], "--filter", "desired-state=running", "--format",
                          "{{.Image}} {{.CurrentState}}").stdout.split("\n")
    assert [line.split()[0] for line in running if line.strip()] == [NEW]


def _secret_names() -> set[str]:
    return set(node_docker("secret", "ls", "--filter", f"label=openwebui.stack={STACK}", "--format",
                           "{{.Name}}").stdout.split())


def test_rotation_new_secret_version_services_updated_old_removed(swarm: Any, tmp_path: Path) -> None:
    """A new TLS key (a new certificate validity makes a new key): a new Docker secret is created, nginx is
    updated to it, and only then is the old secret removed (create-before-delete of an autonamed secret)."""
    before = _secret_names()
    proxy = next(s for s in _services() if s["Spec"]["Labels"].get("openwebui.role") == "proxy")
    old_key = {ref["SecretName"] for ref in proxy["Spec"]["TaskTemplate"]["ContainerSpec"]["Secrets"]}
    swarm.up(tls={**swarm.values.get("tls", {}), "validityDays": 200})
    after = _secret_names()
    proxy = next(s for s in _services() if s["Spec"]["Labels"].get("openwebui.role") == "proxy")
    new_key = {ref["SecretName"] for ref in proxy["Spec"]["TaskTemplate"]["ContainerSpec"]["Secrets"]}
    assert len(new_key) == 1 and new_key != old_key and new_key <= after
    assert not (old_key & after), "the old key's secret is removed"
    assert before - old_key == after - new_key, "the app's secrets are untouched"
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text(swarm.ca_certificate)
    Client(swarm.url, ca_file).wait_healthy()
