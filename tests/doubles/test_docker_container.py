"""Conformance of the docker double's Container with docs/provider-contract.md, row by row, on the real daemon."""

from __future__ import annotations

import json
import subprocess
import time
import uuid

import pytest

from components.docker_forms import canonical, cpus_form, nano_to_decimal
from plugins.docker.container import BY_NAME, DEFAULTS, HEALTH_TIMEOUT_MESSAGE, Container
from plugins.protocol import InitFailed

pytestmark = pytest.mark.docker

CONTAINER = Container()
# Every Container row the program depends on, and whether a change replaces (docs/provider-contract.md).
FORCE_NEW_ROWS = {"name": "C1", "image": "C2", "envs": "C3", "user": "C4", "readOnly": "C5", "capabilities": "C7",
                  "securityOpts": "C8", "cpus": "C11", "labels": "C14", "logDriver": "C15", "logOpts": "C16",
                  "networksAdvanced": "C18", "networkMode": "C19", "mounts": "C20", "hosts": "C21",
                  "stopTimeout": "C24", "ports": "C25", "command": "C26", "entrypoints": "C27", "volumes": "C29"}
UPDATABLE_ROWS = {"tmpfs": "C6", "memory": "C9", "memorySwap": "C10", "restart": "C12", "healthcheck": "C13",
                  "mustRun": "C17", "wait": "C22", "waitTimeout": "C23", "destroyGraceSeconds": "C28"}


def inspect(container_id: str) -> dict:
    return json.loads(subprocess.run(["docker", "inspect", container_id], capture_output=True, text=True,
                                     check=True).stdout)[0]


def base_inputs(image: str, resource: str, **extra: object) -> dict:
    return CONTAINER.check(resource, {"image": image, "command": ["sleep", "3600"], **extra}, {}, b"seed")


def create(cleanup: list, image: str, resource: str, **extra: object) -> tuple[str, dict]:
    inputs = base_inputs(image, resource, **extra)
    container_id, state = CONTAINER.create(resource, inputs, 0)
    cleanup.append(("container", container_id))
    return container_id, state


@pytest.mark.parametrize("prop", sorted(FORCE_NEW_ROWS))
def test_force_new_properties_replace_delete_before_replace(prop: str) -> None:
    assert BY_NAME[prop].row == FORCE_NEW_ROWS[prop]
    olds = {prop: "old-value"}
    diff = CONTAINER.diff("id", olds, {prop: "new-value"}, {})
    assert diff.replaces == [prop] and diff.delete_before_replace  # pulumi-docker: DeleteBeforeReplace: true


@pytest.mark.parametrize("prop", sorted(UPDATABLE_ROWS))
def test_updatable_properties_update_in_place(prop: str) -> None:
    assert BY_NAME[prop].row == UPDATABLE_ROWS[prop]
    diff = CONTAINER.diff("id", {prop: 1}, {prop: 2}, {})
    assert diff.changed == [prop] and diff.replaces == []


def test_c30_check_fills_the_schema_defaults_and_c1_autonames() -> None:
    checked = CONTAINER.check("web", {"image": "x", "healthcheck": {"tests": ["CMD", "true"]},
                                      "ports": [{"internal": 80, "external": 8080, "ip": ""}]}, {}, b"s1")
    for key, value in DEFAULTS.items():
        assert checked[key] == value, key
    assert checked["healthcheck"] == {"tests": ["CMD", "true"], "interval": "0s", "timeout": "0s",
                                      "startPeriod": "0s", "startInterval": "0s", "retries": 0}
    assert checked["ports"] == [{"internal": 80, "external": 8080, "ip": "0.0.0.0", "protocol": "tcp"}]
    assert checked["name"].startswith("web-") and len(checked["name"]) == len("web-") + 7
    # B2: same seed, same name (preview and update agree); the old name is kept; no olds -> a fresh name.
    assert CONTAINER.check("web", {"image": "x"}, {}, b"s1")["name"] == checked["name"]
    assert CONTAINER.check("web", {"image": "x"}, {"name": "web-1234567"}, b"s2")["name"] == "web-1234567"
    assert CONTAINER.check("web", {"image": "x"}, {}, b"s2")["name"] != checked["name"]


def test_c11_cpus_read_back_as_upstream_decimal() -> None:
    # KD helpers.go nanoInt64ToDecimalString, the doc's examples.
    assert [nano_to_decimal(n) for n in (10**9, 2 * 10**9, 5 * 10**8, 15 * 10**8, 25 * 10**7, 10 * 10**9)] == \
        ["1.0", "2.0", "0.5", "1.5", "0.25", "10."]
    assert cpus_form(1) == "1.0" and cpus_form("1") == "1.0"
    # An input "1" against Create's state "1.0" is a ForceNew diff: replaced on every up.
    assert CONTAINER.diff("id", {"cpus": "1.0"}, {"cpus": "1"}, {}).replaces == ["cpus"]


def test_c13_durations_read_back_in_go_form() -> None:
    assert [canonical(d) for d in ("5s", "30s", "120s", "90s", "0s", "500ms")] == \
        ["5s", "30s", "2m0s", "1m30s", "0s", "500ms"]


def test_c33_create_records_the_read_back_state(tiny_image: str, cleanup: list) -> None:
    container_id, state = create(cleanup, tiny_image, "rb", cpus="1", memory=64, memorySwap=64,
                                 healthcheck={"tests": ["CMD", "true"], "interval": "120s", "retries": 2},
                                 restart="unless-stopped", tmpfs={"/tmp": "rw,size=16m"})
    assert state["cpus"] == "1.0" and state["healthcheck"]["interval"] == "2m0s"
    found = inspect(container_id)
    assert found["Config"]["Healthcheck"]["Test"] == ["CMD", "true"]  # exec form kept, as the API gets it
    assert found["HostConfig"]["NanoCpus"] == 10**9 and found["HostConfig"]["Memory"] == 64 * 2**20
    assert found["HostConfig"]["Tmpfs"] == {"/tmp": "rw,size=16m"}
    # The program's input "120s" now differs from the state: a real `up` never settles with it.
    assert CONTAINER.diff(container_id, state, base_inputs(
        tiny_image, "rb", cpus="1.0", memory=64, memorySwap=64, restart="unless-stopped",
        tmpfs={"/tmp": "rw,size=16m"}, healthcheck={"tests": ["CMD", "true"], "interval": "120s", "retries": 2},
        name=state["name"]), {}).changed == ["healthcheck"]


def test_c10_memory_without_swap_never_settles(tiny_image: str, cleanup: list) -> None:
    # memory_swap is Optional, not Computed: the daemon's 2x default reads back and differs from "unset".
    container_id, state = create(cleanup, tiny_image, "swap", memory=64)
    assert state["memorySwap"] == 128
    assert CONTAINER.diff(container_id, state, {**base_inputs(tiny_image, "swap", memory=64),
                                                "name": state["name"]}, {}).changed == ["memorySwap"]


def test_update_applies_restart_and_memory_but_not_healthcheck_or_tmpfs(tiny_image: str, cleanup: list) -> None:
    health = {"tests": ["CMD", "true"], "interval": "5s", "timeout": "5s", "retries": 3}
    container_id, state = create(cleanup, tiny_image, "upd", memory=64, memorySwap=64, healthcheck=health,
                                 tmpfs={"/tmp": "rw,size=16m"})
    news = {**base_inputs(tiny_image, "upd", memory=96, memorySwap=96, restart="always",
                          healthcheck={**health, "interval": "7s"}, tmpfs={"/tmp": "rw,size=32m"}),
            "name": state["name"]}
    assert sorted(CONTAINER.diff(container_id, state, news, {}).changed) == \
        ["healthcheck", "memory", "memorySwap", "restart", "tmpfs"]
    updated = CONTAINER.update(container_id, state, news, {}, 0)
    found = inspect(container_id)
    assert found["HostConfig"]["Memory"] == 96 * 2**20 and found["HostConfig"]["RestartPolicy"]["Name"] == "always"
    # State-only updates: the running container keeps its old health check and tmpfs.
    assert found["Config"]["Healthcheck"]["Interval"] == 5 * 10**9
    assert found["HostConfig"]["Tmpfs"] == {"/tmp": "rw,size=16m"}
    # No Read after Update: the state holds the input form.
    assert updated["healthcheck"]["interval"] == "7s"


def test_b4_update_with_no_change_returns_the_old_state(tiny_image: str, cleanup: list) -> None:
    container_id, state = create(cleanup, tiny_image, "same", memory=64, memorySwap=64)
    news = {**base_inputs(tiny_image, "same", memory=64, memorySwap=64), "name": state["name"]}
    assert CONTAINER.update(container_id, state, news, {}, 0) is state


def test_c34_wait_timeout_is_a_partial_create(tiny_image: str, cleanup: list) -> None:
    inputs = base_inputs(tiny_image, "wt", wait=True, waitTimeout=3,
                         healthcheck={"tests": ["CMD", "false"], "interval": "1s", "retries": 1})
    with pytest.raises(InitFailed) as failed:
        CONTAINER.create("wt", inputs, 0)
    cleanup.append(("container", failed.value.resource_id))
    assert HEALTH_TIMEOUT_MESSAGE in failed.value.reason
    assert inspect(failed.value.resource_id)["State"]["Running"]  # the container stays
    assert failed.value.outputs["id"] == failed.value.resource_id  # planned inputs + id, no Read
    assert failed.value.outputs["healthcheck"]["interval"] == "1s"


def test_c34_wait_without_a_healthcheck_is_a_partial_create(tiny_image: str, cleanup: list) -> None:
    with pytest.raises(InitFailed) as failed:
        CONTAINER.create("nohc", base_inputs(tiny_image, "nohc", wait=True), 0)
    cleanup.append(("container", failed.value.resource_id))
    assert "does not have a healthcheck" in failed.value.reason


def test_c17_read_of_a_stopped_container_and_of_a_removed_one(tiny_image: str, cleanup: list) -> None:
    container_id, state = create(cleanup, tiny_image, "rd", memory=64, memorySwap=64)
    subprocess.run(["docker", "kill", container_id], capture_output=True, check=True)
    time.sleep(0.5)
    read = CONTAINER.read(container_id, state, {})
    assert read is not None and read[0]["mustRun"] is False and read[0]["exitCode"] == 137
    # The next up's Update (mustRun false -> true) starts it again.
    news = {**base_inputs(tiny_image, "rd", memory=64, memorySwap=64), "name": state["name"]}
    CONTAINER.update(container_id, read[0], news, {}, 0)
    assert inspect(container_id)["State"]["Running"]
    subprocess.run(["docker", "rm", "-f", container_id], capture_output=True, check=True)
    assert CONTAINER.read(container_id, state, {}) is None  # gone: dropped from the state


def test_c3_c14_c18_envs_labels_networks_are_never_read_back(tiny_image: str, cleanup: list) -> None:
    container_id, state = create(cleanup, tiny_image, "nrb", envs=["A=1"], labels=[{"label": "k", "value": "v"}])
    subprocess.run(["docker", "network", "connect", "bridge", container_id], capture_output=True, check=False)
    read = CONTAINER.read(container_id, {**state, "envs": ["A=2"], "labels": []}, {})
    assert read is not None and read[0]["envs"] == ["A=2"] and read[0]["labels"] == []


def test_c32_delete_stops_with_destroy_grace_seconds_not_stop_timeout(tiny_image: str, cleanup: list,
                                                                    tmp_path) -> None:
    # The process leaves a mark one second after SIGTERM: a graceful stop (10 s) lets it, a stop with no grace
    # (SIGTERM then SIGKILL at once) does not.
    tmp_path.chmod(0o777)
    script = "trap 'sleep 1; touch /out/$NAME; exit 0' TERM; while true; do sleep 0.2; done"
    volumes = [{"hostPath": str(tmp_path), "containerPath": "/out"}]
    graceful_id, graceful = create(cleanup, tiny_image, "grace", command=["sh", "-c", script], envs=["NAME=grace"],
                                   volumes=volumes, destroyGraceSeconds=10, stopTimeout=10)
    killed_id, killed = create(cleanup, tiny_image, "kill", command=["sh", "-c", script], envs=["NAME=kill"],
                               volumes=volumes, stopTimeout=10)
    time.sleep(0.5)
    CONTAINER.delete(graceful_id, graceful, 0)
    CONTAINER.delete(killed_id, killed, 0)
    assert (tmp_path / "grace").exists()
    assert not (tmp_path / "kill").exists()  # destroyGraceSeconds unset = 0 overrides the stopTimeout of 10 s
    for container_id in (graceful_id, killed_id):
        assert subprocess.run(["docker", "inspect", container_id], capture_output=True).returncode != 0


def test_c4_an_empty_new_user_is_not_a_change() -> None:
    assert CONTAINER.diff("id", {"user": "1000:1000"}, {"user": ""}, {}).changed == []
    assert CONTAINER.diff("id", {"user": "1000:1000"}, {"user": "0"}, {}).replaces == ["user"]


def test_c26_an_empty_command_element_fails_before_anything_exists(tiny_image: str) -> None:
    with pytest.raises(RuntimeError, match="values for command may not be empty"):
        CONTAINER.create("empty", base_inputs(tiny_image, "empty", command=["sleep", ""]), 0)
    assert not subprocess.run(["docker", "ps", "-aq", "--filter", "name=^empty-"], capture_output=True,
                              text=True, check=True).stdout.strip()


def test_c21_c25_c31_hosts_ports_and_network_data_read_back(tiny_image: str, cleanup: list) -> None:
    container_id, state = create(cleanup, tiny_image, "rbk", hosts=[{"host": "db.internal", "ip": "host-gateway"}],
                                 ports=[{"internal": 9000, "external": 0, "ip": "127.0.0.1"},
                                        {"internal": 8000, "external": 0, "ip": "127.0.0.1"}])
    assert state["hosts"] == [{"host": "db.internal", "ip": "host-gateway"}]
    assert [p["internal"] for p in state["ports"]] == [8000, 9000]  # sorted by the internal port
    assert all(p["external"] > 0 and p["ip"] == "127.0.0.1" and p["protocol"] == "tcp" for p in state["ports"])
    assert [n["networkName"] for n in state["networkDatas"]] == ["bridge"]


def test_b1_b3_check_records_what_it_defaulted() -> None:
    checked = CONTAINER.check("web", {"image": "x", "restart": "always"}, {}, b"s")
    assert "name" in checked["__defaults"] and "restart" not in checked["__defaults"]
    assert "mustRun" in checked["__defaults"]
    assert "__defaults" not in CONTAINER.preview_create(checked)  # inputs only, never the state


def test_c35_a_network_connect_error_after_create_is_a_partial_create(tiny_image: str, cleanup: list) -> None:
    inputs = base_inputs(tiny_image, "nonet", networksAdvanced=[{"name": "owui-double-no-such-network"}])
    with pytest.raises(InitFailed) as failed:
        CONTAINER.create("nonet", inputs, 0)
    cleanup.append(("container", failed.value.resource_id))
    assert "owui-double-no-such-network" in failed.value.reason
    assert inspect(failed.value.resource_id)["Id"] == failed.value.resource_id  # it exists, recorded with errors


def test_c29_volumes_are_not_read_back(tiny_image: str, cleanup: list, tmp_path) -> None:
    container_id, state = create(cleanup, tiny_image, "vols", volumes=[{"hostPath": str(tmp_path),
                                                                        "containerPath": "/v"}])
    read = CONTAINER.read(container_id, {**state, "volumes": []}, {})
    assert read is not None and read[0]["volumes"] == []


def test_c20_an_unset_read_only_is_the_same_mount_as_read_only_false(tiny_image: str, cleanup: list) -> None:
    """A mount given with `readOnly: false` and one without it read back as `readOnly: false` (KD cstruct
    getDockerContainerMounts) and compare equal (an unset Optional bool is false in the TF set): the next
    `up` finds nothing to replace."""
    volume = f"owui-c20-{uuid.uuid4().hex[:8]}"
    cleanup.append(("volume", volume))
    mounts = [{"target": "/data", "source": volume, "type": "volume", "readOnly": False},
              {"target": "/cache", "source": volume, "type": "volume"}]
    container_id, state = create(cleanup, tiny_image, "c20", mounts=mounts, memory=64, memorySwap=64)
    assert [m["readOnly"] for m in state["mounts"]] == [False, False]
    again = {**base_inputs(tiny_image, "c20", mounts=mounts, memory=64, memorySwap=64), "name": state["name"]}
    assert CONTAINER.diff(container_id, state, again, {}).changed == []
    read_only = [{**mounts[1], "readOnly": True}, mounts[0]]
    assert CONTAINER.diff(container_id, state, {**again, "mounts": read_only}, {}).replaces == ["mounts"]
