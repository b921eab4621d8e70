"""Conformance of the docker double's RemoteImage, Network and Volume (I*, N*, V* rows) on the real daemon."""

from __future__ import annotations

import json
import subprocess

import pytest

from plugins.docker.image import RemoteImage
from plugins.docker.network import Network, Volume

pytestmark = pytest.mark.docker
IMAGE, NETWORK, VOLUME = RemoteImage(), Network(), Volume()


def test_i4_i5_i6_local_image_used_with_its_content_id(tiny_image: str) -> None:
    resource_id, outputs = IMAGE.create("img", {"name": tiny_image, "keepLocally": True}, 0)
    real_id = subprocess.run(["docker", "image", "inspect", "-f", "{{.Id}}", tiny_image], capture_output=True,
                             text=True, check=True).stdout.strip()
    assert outputs["imageId"] == real_id and resource_id == real_id + tiny_image
    assert outputs["repoDigest"] == ""  # built locally
    assert IMAGE.diff(resource_id, outputs, {"name": "other:1", "keepLocally": True}, {}).replaces == ["name"]
    assert IMAGE.diff(resource_id, outputs, {"name": tiny_image, "keepLocally": False}, {}).replaces == []
    IMAGE.delete(resource_id, outputs, 0)  # I8: keepLocally -> nothing removed
    assert IMAGE.read(resource_id, outputs, {}) is not None


def test_i7_read_drops_an_image_gone_from_the_daemon(tiny_image: str) -> None:
    subprocess.run(["docker", "tag", tiny_image, "openwebui-test/gone:1"], check=True)
    resource_id, outputs = IMAGE.create("img", {"name": "openwebui-test/gone:1"}, 0)
    IMAGE.delete(resource_id, outputs, 0)  # not kept locally: the tag goes
    assert subprocess.run(["docker", "image", "inspect", "openwebui-test/gone:1"], capture_output=True).returncode
    assert IMAGE.read(resource_id, {**outputs, "imageId": "sha256:" + "0" * 64}, {}) is None


def test_n1_n8_network_created_replaced_on_any_change_and_dropped_when_gone(cleanup: list) -> None:
    inputs = NETWORK.check("net", {"name": "owui-double-net", "ipamConfigs": [
        {"subnet": "172.30.250.0/24", "ipRange": "172.30.250.128/25"}], "labels": [{"label": "a", "value": "b"}]},
        {}, b"")
    assert inputs["ipamDriver"] == "default"
    network_id, state = NETWORK.create("net", inputs, 0)
    cleanup.append(("network", network_id))
    found = json.loads(subprocess.run(["docker", "network", "inspect", network_id], capture_output=True,
                                      text=True, check=True).stdout)[0]
    assert found["IPAM"]["Config"][0]["Subnet"] == "172.30.250.0/24" and found["Labels"] == {"a": "b"}
    assert NETWORK.diff(network_id, state, {**inputs, "labels": []}, {}).replaces == ["labels"]
    NETWORK.delete(network_id, state, 0)
    assert NETWORK.read(network_id, state, {}) is None


def test_v1_v7_volume_create_keeps_an_existing_volume_and_all_inputs_replace(cleanup: list) -> None:
    subprocess.run(["docker", "volume", "create", "owui-double-vol"], capture_output=True, check=True)
    cleanup.append(("volume", "owui-double-vol"))
    subprocess.run(["docker", "run", "--rm", "-v", "owui-double-vol:/d", "openwebui-test/busybox:1", "sh", "-c",
                    "echo kept > /d/file"], capture_output=True, check=False)
    volume_id, state = VOLUME.create("vol", VOLUME.check("vol", {"name": "owui-double-vol"}, {}, b""), 0)
    assert volume_id == "owui-double-vol" and state["mountpoint"]
    assert VOLUME.diff(volume_id, state, {**state, "labels": [{"label": "x", "value": "y"}]}, {}).replaces
    VOLUME.delete(volume_id, state, 0)
    assert VOLUME.read(volume_id, state, {}) is None


def test_b3_n1_v1_delete_before_replace_only_for_a_name_the_program_gave() -> None:
    for resource in (NETWORK, VOLUME):
        named = resource.check("obj", {"name": "given", "labels": [{"label": "a", "value": "1"}]}, {}, b"")
        unnamed = resource.check("obj", {"labels": [{"label": "a", "value": "1"}]}, {}, b"s")
        assert unnamed["name"].startswith("obj-") and "name" in unnamed["__defaults"]  # B2
        change = {"labels": [{"label": "a", "value": "2"}]}
        assert resource.diff("id", named, {**named, **change}, {}).delete_before_replace
        assert not resource.diff("id", unnamed, {**unnamed, **change}, {}).delete_before_replace


def test_i3_i9_pull_triggers_replace_create_before_delete(tiny_image: str) -> None:
    _, outputs = IMAGE.create("img", {"name": tiny_image, "keepLocally": True}, 0)
    diff = IMAGE.diff("id", outputs, {**outputs, "pullTriggers": ["v2"]}, {})
    assert diff.replaces == ["pullTriggers"] and not diff.delete_before_replace


def test_n8_network_delete_waits_for_its_last_endpoint(tiny_image: str, cleanup: list) -> None:
    network_id, state = NETWORK.create("net", NETWORK.check("net", {"name": "owui-double-busy"}, {}, b""), 0)
    cleanup.append(("network", network_id))
    user = subprocess.run(["docker", "run", "-d", "--network", "owui-double-busy", tiny_image, "sleep", "60"],
                          capture_output=True, text=True, check=True).stdout.strip()
    cleanup.append(("container", user))
    leaving = subprocess.Popen(["sh", "-c", f"sleep 3; docker rm -f {user} >/dev/null"])
    try:
        NETWORK.delete(network_id, state, 0)  # "has active endpoints" at first: retried, then removed
    finally:
        leaving.wait()
    assert NETWORK.read(network_id, state, {}) is None


def test_b7_d3_a_provider_config_change_replaces_nothing() -> None:
    from pulumi.runtime.proto import provider_pb2

    from plugins.protocol import Servicer, to_struct

    answer = Servicer("docker", "5.1.0", []).DiffConfig(
        provider_pb2.DiffRequest(olds=to_struct({"host": "unix:///a.sock"}), news=to_struct({"host": "ssh://b"})),
        None)
    assert answer.changes == provider_pb2.DiffResponse.DIFF_SOME and list(answer.replaces) == []


def test_d1_the_providers_host_reaches_the_docker_cli() -> None:
    from plugins.docker import cli
    from plugins.serve import configure_docker

    saved = dict(cli.HOST)
    try:
        configure_docker({"host": "unix:///var/run/docker.sock"})
        assert cli.HOST["DOCKER_HOST"] == "unix:///var/run/docker.sock"
        assert cli.docker("version", "--format", "{{.Server.Version}}").stdout.strip()
    finally:
        cli.HOST.clear()
        cli.HOST.update(saved)
