"""The CIS 4.1/5.4 exception for the one-shot volume-ownership step holds for that role, confined, only."""

from __future__ import annotations

import copy

import pytest

from tests.security.cis_inspect import ROLE_LABEL, Status, check_container


def owner_step(**host_changes) -> dict:
    """`docker inspect` of the step as owui_ops.steps.volume_owner runs it, after it exited."""
    host = {"CapDrop": ["ALL"], "CapAdd": ["CHOWN"], "NetworkMode": "none", "ReadonlyRootfs": True,
            "SecurityOpt": ["no-new-privileges:true"], "Memory": 268435456, "NanoCpus": 500000000,
            "PidsLimit": 64, "RestartPolicy": {"Name": "no"}, "Privileged": False}
    host.update(host_changes)
    return {"Config": {"User": "0:0", "Labels": {ROLE_LABEL: "volume-owner"},
                       "Healthcheck": {"Test": ["CMD-SHELL", "python3 -m owui_ops volume-owner check"]}},
            "HostConfig": host, "State": {"Running": False, "ExitCode": 0},
            "NetworkSettings": {"Networks": {"none": {}}}}


def statuses(inspect: dict) -> dict[str, Status]:
    return {f.cis_id: f.status for f in check_container(inspect)}


def test_confined_step_is_an_exception_naming_its_role():
    findings = check_container(owner_step())
    by_id = {f.cis_id: f for f in findings}
    assert by_id["4.1"].status is Status.EXCEPTION and "volume-owner" in by_id["4.1"].reason
    assert by_id["5.4"].status is Status.EXCEPTION and "volume-owner" in by_id["5.4"].reason
    assert not [f for f in findings if f.status is Status.FAIL]


@pytest.mark.parametrize("change", [
    {"NetworkMode": "openwebui-dev"},
    {"ReadonlyRootfs": False},
    {"CapAdd": ["CHOWN", "SYS_ADMIN"]},
    {"CapAdd": ["CHOWN", "DAC_OVERRIDE"]},
    {"CapDrop": []},
    {"SecurityOpt": []},
])
def test_any_loosening_fails(change):
    result = statuses(owner_step(**change))
    assert result["4.1"] is Status.FAIL or result["5.4"] is Status.FAIL


def test_a_running_step_fails():
    running = owner_step()
    running["State"]["Running"] = True
    assert statuses(running)["4.1"] is Status.FAIL


def test_other_roles_get_no_exception():
    app = copy.deepcopy(owner_step())
    app["Config"]["Labels"][ROLE_LABEL] = "app"
    result = statuses(app)
    assert result["4.1"] is Status.FAIL and result["5.4"] is Status.FAIL
