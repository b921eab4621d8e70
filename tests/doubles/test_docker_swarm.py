"""Conformance of the docker double's Service, Secret, ServiceConfig and overlay Network (W*, T*, F*, N9 rows) on a
real single-node swarm (scripts/swarm-nodes: a dockerd in its own network namespace; the main engine is untouched)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator

import pytest

from components.docker_forms import short_dur
from plugins.docker import cli
from plugins.docker.network import Network
from plugins.docker.secret import Secret, ServiceConfig
from plugins.docker.service import Service, _flatten_mount, service_diff
from plugins.protocol import CheckFailed, InitFailed, without_ignored
from tests.swarm_node import load_image, node_docker, swarm_host

pytestmark = pytest.mark.docker
SERVICE, SECRET, CONFIG, NETWORK = Service(), Secret(), ServiceConfig(), Network()
B64 = base64.b64encode


@pytest.fixture()
def swarm(tiny_image: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    """The doubles talk to the swarm node (as Configure does with the provider's host, D1); objects listed in the
    yielded list are removed afterwards, whatever happened."""
    host = swarm_host()
    load_image(tiny_image)
    monkeypatch.setitem(cli.HOST, "DOCKER_HOST", host)
    made: list[tuple[str, str]] = []
    yield made
    for kind, ref in reversed(made):
        node_docker(kind, "rm", ref, check=False)
        if kind == "service":
            time.sleep(1)


def _service_inputs(name: str, image: str, **task: object) -> dict:
    return {"name": name, "taskSpec": {"containerSpec": {
        "image": image, "commands": ["sh", "-c", "mkdir -p /w && echo up > /w/ok && exec httpd -f -p 8080 -h /w"],
        "user": "1000", "readOnly": True,
        "mounts": [{"target": "/w", "type": "tmpfs", "tmpfsOptions": {"sizeBytes": 1048576, "mode": 0o777}}],
        "env": {"A": "1", "B": "x=y"}, "stopGracePeriod": "1m",
        "healthcheck": {"tests": ["CMD", "wget", "-qO-", "http://127.0.0.1:8080/ok"], "interval": "1s",
                        "timeout": "2s", "retries": 3}},
        # Node 1, the manager, holds the test image; workers another test may have joined hold none.
        "placement": {"constraints": ["node.role == manager"]}, **task},
        "mode": {"replicated": {"replicas": 2}},
        "updateConfig": {"order": "start-first", "failureAction": "rollback", "monitor": "3s"},
        "endpointSpec": {"mode": "dnsrr"},
        "convergeConfig": {"delay": "1s", "timeout": "90s"}}


def test_w2_what_replaces_and_what_updates() -> None:
    base = SERVICE.check("svc", _service_inputs("s", "img:1"), {}, b"")
    def diff(**changes: object) -> tuple[list[str], list[str]]:
        found = service_diff(base, {**base, **changes})
        return found.changed, found.replaces
    spec = base["taskSpec"]["containerSpec"]
    assert diff() == ([], [])
    assert diff(name="other") == (["name"], ["name"])
    assert diff(mode={"global": False, "replicated": {"replicas": 3}}) == (["mode"], [])  # scaling updates
    assert diff(taskSpec={**base["taskSpec"], "containerSpec": {**spec, "image": "img:2"}}) == (["taskSpec"], [])
    assert diff(taskSpec={**base["taskSpec"], "containerSpec": {**spec, "hosts": [{"host": "h", "ip": "1.2.3.4"}]}}) \
        == (["taskSpec"], ["taskSpec"])
    assert diff(taskSpec={**base["taskSpec"], "networksAdvanceds": [{"id": "n1"}]}) == (["taskSpec"], ["taskSpec"])
    assert diff(updateConfig={**base["updateConfig"], "order": "stop-first"}) == (["updateConfig"], [])
    # B3: the program named it -> delete-before-replace; an autonamed service is replaced create-before-delete.
    assert service_diff(base, {**base, "name": "x"}).delete_before_replace
    autonamed = SERVICE.check("svc", {k: v for k, v in _service_inputs("s", "i").items() if k != "name"}, {}, b"1")
    assert autonamed["name"].startswith("svc-") and not service_diff(base, {**autonamed}).delete_before_replace


def test_w1_w3_w4_create_converges_and_records_the_read_back_form(swarm: list, tiny_image: str) -> None:
    inputs = SERVICE.check("svc", _service_inputs("owui-double-svc", tiny_image), {}, b"")
    # W1: the schema defaults Check fills
    assert inputs["updateConfig"] == {"parallelism": 1, "delay": "0s", "failureAction": "rollback", "monitor": "3s",
                                      "maxFailureRatio": "0.0", "order": "start-first"}
    assert inputs["taskSpec"]["containerSpec"]["isolation"] == "default"
    assert inputs["taskSpec"]["containerSpec"]["healthcheck"]["startPeriod"] == "0s"
    service_id, state = SERVICE.create("svc", inputs, 0)
    swarm.append(("service", service_id))
    # W4: converged -> both replicas run when create returns
    tasks = node_docker("service", "ps", service_id, "--filter", "desired-state=running", "--format",
                        "{{.CurrentState}}").stdout.split("\n")
    assert sum(line.startswith("Running") for line in tasks) == 2
    # W3: read-back forms
    spec = state["taskSpec"]["containerSpec"]
    assert spec["env"] == {"A": "1", "B": "x=y"} and spec["stopGracePeriod"] == "1m"
    assert spec["healthcheck"]["interval"] == "1s" and state["endpointSpec"] == {"mode": "dnsrr", "ports": []}
    assert state["mode"] == {"global": False, "replicated": {"replicas": 2}}
    assert short_dur(90 * 10**9) == "1m30s" and short_dur(3600 * 10**9) == "1h"
    assert short_dur(3630 * 10**9) == "1h0m30s" and short_dur(0) == "0s"
    # a tmpfs mode reads back as Mode.Perm(): the sticky bit of 1777 is lost, so 1777 would never settle
    assert _flatten_mount({"Target": "/t", "Type": "tmpfs", "TmpfsOptions": {"Mode": 0o1777}})["tmpfsOptions"][
        "mode"] == 0o777
    # written in those forms, the next up changes nothing
    assert service_diff(state, inputs).changed == []
    found = SERVICE.read(service_id, state, inputs)
    assert found is not None and service_diff(found[0], inputs).changed == []


def test_w5_a_create_that_does_not_converge_removes_the_service(swarm: list, tiny_image: str) -> None:
    inputs = SERVICE.check("svc", {**_service_inputs("owui-double-svc-bad", tiny_image),
                                   "convergeConfig": {"delay": "1s", "timeout": "6s"}}, {}, b"")
    inputs["taskSpec"]["containerSpec"]["commands"] = ["sh", "-c", "exit 3"]
    swarm.append(("service", "owui-double-svc-bad"))
    with pytest.raises(TimeoutError, match="did not converge after 6s"):
        SERVICE.create("svc", inputs, 0)
    assert node_docker("service", "inspect", "owui-double-svc-bad", check=False).returncode != 0


def test_w6_a_failed_update_rolls_back_and_is_an_init_error(swarm: list, tiny_image: str) -> None:
    inputs = SERVICE.check("svc", _service_inputs("owui-double-svc-roll", tiny_image), {}, b"")
    service_id, state = SERVICE.create("svc", inputs, 0)
    swarm.append(("service", service_id))
    broken = json.loads(json.dumps(inputs))
    broken["taskSpec"]["containerSpec"]["commands"] = ["sh", "-c", "sleep 1; exit 3"]
    with pytest.raises(InitFailed, match="rollback") as failed:
        SERVICE.update(service_id, state, broken, inputs, 0)
    # the planned state is what the engine records (with the init error), while the swarm runs the old spec again
    assert failed.value.outputs["taskSpec"]["containerSpec"]["commands"] == broken["taskSpec"]["containerSpec"][
        "commands"]
    live = json.loads(node_docker("service", "inspect", service_id).stdout)[0]["Spec"]
    assert live["TaskTemplate"]["ContainerSpec"]["Command"] == inputs["taskSpec"]["containerSpec"]["commands"]
    # a refresh reads the rolled-back spec: the next up shows the change again
    found = SERVICE.read(service_id, failed.value.outputs, broken)
    assert found is not None and service_diff(found[0], broken).changed == ["taskSpec"]


def test_w7_update_in_place_keeps_the_id_and_start_first_overlaps(swarm: list, tiny_image: str) -> None:
    inputs = SERVICE.check("svc", _service_inputs("owui-double-svc-up", tiny_image), {}, b"")
    service_id, state = SERVICE.create("svc", inputs, 0)
    swarm.append(("service", service_id))
    changed = json.loads(json.dumps(inputs))
    changed["taskSpec"]["containerSpec"]["env"]["A"] = "2"
    assert service_diff(state, changed).replaces == []
    new_state = SERVICE.update(service_id, state, changed, inputs, 0)
    assert new_state["id"] == service_id and new_state["taskSpec"]["containerSpec"]["env"]["A"] == "2"
    # the wait ends when every slot's newest task runs: the swarm may still be in its monitor period ("updating")
    live = json.loads(node_docker("service", "inspect", service_id).stdout)[0]
    assert live["UpdateStatus"]["State"] in ("updating", "completed")
    assert live["Spec"]["UpdateConfig"]["Order"] == "start-first"
    deadline = time.monotonic() + 60
    while live["UpdateStatus"]["State"] != "completed" and time.monotonic() < deadline:
        time.sleep(1)
        live = json.loads(node_docker("service", "inspect", service_id).stdout)[0]
    assert live["UpdateStatus"]["State"] == "completed"
    SERVICE.delete(service_id, new_state, 0)
    assert node_docker("service", "inspect", service_id, check=False).returncode != 0


def test_t1_t4_secret_is_immutable_its_data_never_read_and_its_file_owned_by_the_uid(
        swarm: list, tiny_image: str) -> None:
    with pytest.raises(CheckFailed, match="data") as refused:
        SECRET.check("sec", {"name": "x", "data": "not base64!"}, {}, b"")
    assert "not base64!" not in str(refused.value)  # the value is never echoed
    inputs = SECRET.check("sec", {"data": B64(b"s3cret-value").decode()}, {}, b"seed")
    assert inputs["name"].startswith("sec-")  # B2
    secret_id, state = SECRET.create("sec", inputs, 0)
    swarm.append(("secret", secret_id))
    assert state["name"] == inputs["name"] and state["data"] == inputs["data"]  # data from the inputs: not read
    raw = json.loads(node_docker("secret", "inspect", secret_id).stdout)[0]
    assert "Data" not in raw["Spec"] or not raw["Spec"]["Data"]
    other = {**inputs, "data": B64(b"rotated").decode()}
    assert SECRET.diff(secret_id, state, other, inputs).replaces == ["data"]
    assert not SECRET.diff(secret_id, state, other, inputs).delete_before_replace  # autonamed: create first
    named = SECRET.check("sec", {"name": "n", "data": inputs["data"]}, {}, b"")
    assert SECRET.diff(secret_id, {**state, "name": "n"}, {**named, "data": other["data"]}, {}).delete_before_replace
    # a service mounts it as a file only uid 1000 can read
    service_inputs = _service_inputs("owui-double-svc-sec", tiny_image)
    service_inputs["taskSpec"]["containerSpec"]["secrets"] = [
        {"secretId": secret_id, "secretName": inputs["name"], "fileName": "pw", "fileUid": "1000", "fileGid": "1000",
         "fileMode": 0o400}]
    service_inputs["mode"] = {"replicated": {"replicas": 1}}
    checked = SERVICE.check("svc", service_inputs, {}, b"")
    service_id, service_state = SERVICE.create("svc", checked, 0)
    swarm.append(("service", service_id))
    assert service_state["taskSpec"]["containerSpec"]["secrets"][0]["fileMode"] == 0o400
    container = node_docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.id={service_id}").stdout.split()[0]
    assert node_docker("exec", "-u", "1000", container, "cat", "/run/secrets/pw").stdout == "s3cret-value"
    assert node_docker("exec", "-u", "1001", container, "cat", "/run/secrets/pw", check=False).returncode != 0
    assert "s3cret-value" not in node_docker("inspect", container).stdout
    assert "s3cret-value" not in node_docker("service", "inspect", service_id).stdout
    # T4: delete while in use fails the step (no retry upstream)
    with pytest.raises(RuntimeError, match="in use"):
        SECRET.delete(secret_id, state, 0)
    SERVICE.delete(service_id, service_state, 0)
    SECRET.delete(secret_id, state, 0)
    assert SECRET.read(secret_id, state, inputs) is None


def test_f1_f3_config_data_raw_read_back_and_exactly_one_of(swarm: list) -> None:
    with pytest.raises(CheckFailed, match="exactly one of"):
        CONFIG.check("cfg", {"data": B64(b"x").decode(), "dataRaw": "x"}, {}, b"")
    inputs = CONFIG.check("cfg", {"dataRaw": "worker_processes 1;\n", "labels": [{"label": "a", "value": "b"}]},
                          {}, b"")
    config_id, state = CONFIG.create("cfg", inputs, 0)
    swarm.append(("config", config_id))
    assert state["dataRaw"] == "worker_processes 1;\n" and state["labels"] == [{"label": "a", "value": "b"}]
    assert CONFIG.diff(config_id, state, inputs, inputs).changed == []
    assert CONFIG.diff(config_id, state, {**inputs, "dataRaw": "y"}, inputs).replaces == ["dataRaw"]
    CONFIG.delete(config_id, state, 0)
    assert CONFIG.read(config_id, state, inputs) is None


def test_n9_overlay_options_read_back_with_the_vxlan_id_replace_on_every_diff(swarm: list) -> None:
    inputs = NETWORK.check("ov", {"name": "owui-double-ov", "driver": "overlay", "attachable": True,
                                  "options": {"encrypted": "true"}}, {}, b"")
    network_id, state = NETWORK.create("ov", inputs, 0)
    swarm.append(("network", network_id))
    assert state["scope"] == "swarm" and state["options"]["encrypted"] == "true"
    assert "com.docker.network.driver.overlay.vxlanid_list" in state["options"]
    # the daemon's extra key is "removed" by the program's map: SDKv2 diffMap + ForceNew -> replace, every time
    assert NETWORK.diff(network_id, state, inputs, inputs).replaces == ["options"]
    # left out, the Computed options are no change
    assert NETWORK.diff(network_id, state, {k: v for k, v in inputs.items() if k != "options"}, inputs).changed == []
    # B9: ignoreChanges reaches the bridge's Diff, which drops those attribute diffs (what the program relies on)
    assert without_ignored(NETWORK.diff(network_id, state, inputs, inputs), ["options"]).replaces == []
    found = json.loads(node_docker("network", "inspect", network_id).stdout)[0]
    assert found["Attachable"] is True and found["Driver"] == "overlay"
    NETWORK.delete(network_id, state, 0)


def test_w3_a_full_spec_with_networks_mounts_secrets_and_configs_settles(swarm: list, tiny_image: str) -> None:
    network_id, network_state = NETWORK.create("n", NETWORK.check("n", {
        "name": "owui-double-ov2", "driver": "overlay", "attachable": True}, {}, b""), 0)
    swarm.append(("network", network_id))
    secret_id, secret_state = SECRET.create("s", SECRET.check("s", {"data": B64(b"x").decode()}, {}, b"w3s"), 0)
    swarm.append(("secret", secret_id))
    config_id, config_state = CONFIG.create("c", CONFIG.check("c", {"dataRaw": "hello"}, {}, b"w3c"), 0)
    swarm.append(("config", config_id))
    inputs = SERVICE.check("svc", {"name": "owui-double-svc-full", "labels": [{"label": "a", "value": "b"}],
        "taskSpec": {"containerSpec": {
            "image": tiny_image, "commands": ["sleep", "600"], "user": "1000", "readOnly": True,
            "capDrops": ["ALL"], "env": {"A": "1"}, "labels": [{"label": "a", "value": "b"}],
            "mounts": [{"target": "/tmp", "type": "tmpfs", "tmpfsOptions": {"sizeBytes": 1000000, "mode": 0o777}},
                       {"target": "/d", "source": "owui-double-vol-w3", "type": "volume"}],
            "secrets": [{"secretId": secret_id, "secretName": secret_state["name"], "fileName": "pw",
                         "fileUid": "1000", "fileGid": "1000", "fileMode": 0o400}],
            "configs": [{"configId": config_id, "configName": config_state["name"], "fileName": "/run/configs/c",
                         "fileUid": "1000", "fileGid": "1000", "fileMode": 0o444}],
            "stopGracePeriod": "30s",
            "healthcheck": {"tests": ["CMD", "true"], "interval": "5s", "timeout": "5s", "retries": 6,
                            "startPeriod": "2m"}},
            "resources": {"limits": {"nanoCpus": 10**9, "memoryBytes": 256 * 2**20}},
            "restartPolicy": {"condition": "on-failure", "delay": "5s", "maxAttempts": 5, "window": "2m"},
            "placement": {"constraints": ["node.role == manager"]},
            "networksAdvanceds": [{"id": network_id, "aliases": ["full"]}],
            "logDriver": {"name": "json-file", "options": {"max-size": "10m"}}},
        "mode": {"replicated": {"replicas": 1}}, "endpointSpec": {"mode": "dnsrr"},
        "updateConfig": {"order": "start-first", "failureAction": "rollback"}}, {}, b"")
    service_id, state = SERVICE.create("svc", inputs, 0)
    swarm.append(("service", service_id))
    # the network attachment reads back by ID with empty driverOpts, mounts in the daemon's order with zero values:
    # none of it is a change
    assert state["taskSpec"]["networksAdvanceds"] == [{"id": network_id, "driverOpts": [], "aliases": ["full"]}]
    assert service_diff(state, inputs).changed == []
    # a network given by name reads back as its ID: a replacement on every up (W3)
    by_name = json.loads(json.dumps(inputs))
    by_name["taskSpec"]["networksAdvanceds"] = [{"name": "owui-double-ov2", "aliases": ["full"]}]
    assert service_diff(state, by_name).replaces == ["taskSpec"]
