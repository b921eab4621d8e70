"""The CIS Docker section 5 container policies: each rejects bad inputs and passes the program's containers."""

from __future__ import annotations

import copy
from typing import Any

import container_policies as cp
import pytest
from policies import POLICIES, policy
from policy_helpers import (
    CONTAINER,
    REMOTE_IMAGE,
    UNKNOWN_LIST,
    UNKNOWN_STR,
    make_app,
    make_proxy,
    make_redis,
    pack_config,
    violations,
)
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy

RESOURCE_POLICIES = [p for p in POLICIES if isinstance(p, ResourceValidationPolicy) and p.has_validation()]


def run(policy_name: str, props: dict[str, Any], environment: str = "prod", **kwargs: Any) -> list[str]:
    """Violations of one policy, with the environment's policy config file applied."""
    found: list[str] = []
    from policy_helpers import resource_args

    args = resource_args(props, config=pack_config(environment, policy_name), **kwargs)
    result = policy(policy_name).validate(args, lambda message, urn=None: found.append(message))
    assert result is None  # all validators are synchronous
    return found


def changed(props: dict[str, Any], **updates: Any) -> dict[str, Any]:
    props = copy.deepcopy(props)
    for key, value in updates.items():
        if value is None:
            props.pop(key, None)
        else:
            props[key] = value
    return props


# --- the good containers pass everything -------------------------------------------------------------


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
@pytest.mark.parametrize("make", [make_app, make_proxy, make_redis], ids=["app", "proxy", "redis"])
@pytest.mark.parametrize("pol", RESOURCE_POLICIES, ids=lambda p: p.name)
def test_good_containers_pass_every_policy(pol, make, environment):
    assert run(pol.name, make(environment), environment) == []


def test_resource_policies_ignore_other_resource_types():
    props = {"name": "x", "privileged": True, "user": "root", "envs": ["ENABLE_SIGNUP=true"]}
    for pol in RESOURCE_POLICIES:
        if pol.name != "docker-image-require-pinned-tag":
            assert run(pol.name, props, resource_type="docker:index/network:Network") == [], pol.name


# --- user (CIS 4.1) ----------------------------------------------------------------------------------

ROOT_SPELLINGS = ["", "0", "0:0", "root", "root:root", "0:1000", " 0 ", "00", "ROOT", "root:1000", "0:root",
                  ":1000", "1000:0", "1000:root", "nginx", "www-data:www-data"]


@pytest.mark.parametrize("user", ROOT_SPELLINGS)
def test_user_rejects_every_root_spelling(good_app, user):
    found = run("docker-container-disallow-root-user", changed(good_app, user=user))
    assert len(found) == 1 and "user" in found[0]


def test_user_rejects_missing_user(good_app):
    assert run("docker-container-disallow-root-user", changed(good_app, user=None))


@pytest.mark.parametrize("user", ["1000:1000", "101:101", " 1000 ", "65534", "1000:nogroup"])
def test_user_accepts_numeric_non_root(good_app, user):
    assert run("docker-container-disallow-root-user", changed(good_app, user=user)) == []


def test_user_unknown_at_preview_is_not_judged(good_app):
    assert run("docker-container-disallow-root-user", changed(good_app, user=UNKNOWN_STR)) == []


# --- capabilities (CIS 5.4) --------------------------------------------------------------------------


@pytest.mark.parametrize("caps", [None, {}, {"drops": []}, {"drops": ["NET_RAW"]}, {"adds": ["NET_ADMIN"]}])
def test_capabilities_require_drop_all(good_app, caps):
    assert run("docker-container-drop-all-capabilities", changed(good_app, capabilities=caps))


@pytest.mark.parametrize("drops", [["ALL"], ["all"], ["CAP_ALL"]])
def test_capabilities_accept_all_spellings(good_app, drops):
    assert run("docker-container-drop-all-capabilities", changed(good_app, capabilities={"drops": drops})) == []


def test_capability_adds_follow_the_config_allowlist(good_app):
    props = changed(good_app, capabilities={"drops": ["ALL"], "adds": ["CAP_NET_BIND_SERVICE"]})
    assert run("docker-container-drop-all-capabilities", props)
    found: list[str] = []
    from policy_helpers import resource_args

    args = resource_args(props, config={"allowedCapabilities": ["NET_BIND_SERVICE"]})
    cp.validate_drop_all_capabilities(args, lambda message, urn=None: found.append(message))
    assert found == []
    props["capabilities"]["adds"].append("SYS_ADMIN")
    assert len(violations(cp.validate_drop_all_capabilities, props,
                          config={"allowedCapabilities": ["NET_BIND_SERVICE"]})) == 1


# --- simple flags and namespaces ---------------------------------------------------------------------


@pytest.mark.parametrize("name,prop,value", [
    ("docker-container-disallow-privileged", "privileged", True),
    ("docker-container-disallow-host-network", "networkMode", "host"),
    ("docker-container-disallow-host-pid", "pidMode", "host"),
    ("docker-container-disallow-host-ipc", "ipcMode", "host"),
    ("docker-container-disallow-host-userns", "usernsMode", "host"),
    ("docker-container-disallow-cgroup-parent", "cgroupParent", "/custom"),
    ("docker-container-require-read-only-rootfs", "readOnly", False),
    ("docker-container-limit-memory", "memory", 0),
])
def test_flag_policies_reject_bad_value_and_skip_unknown(good_app, name, prop, value):
    assert run(name, changed(good_app, **{prop: value}))
    assert run(name, changed(good_app, **{prop: UNKNOWN_STR})) == []


@pytest.mark.parametrize("name,prop", [
    ("docker-container-require-read-only-rootfs", "readOnly"),
    ("docker-container-limit-memory", "memory"),
])
def test_missing_required_settings_are_violations(good_app, name, prop):
    assert run(name, changed(good_app, **{prop: None}))


@pytest.mark.parametrize("mode", ["private", "shareable", "container:other", None])
def test_non_host_ipc_modes_pass(good_app, mode):
    assert run("docker-container-disallow-host-ipc", changed(good_app, ipcMode=mode)) == []


@pytest.mark.parametrize("cpus,shares,ok", [
    ("2.0", None, True), ("0.5", None, True), (None, 512, True), (None, None, False), ("0", None, False),
    (None, 1024, False), (None, 0, False), ("", 0, False), ("abc", None, False),
])
def test_cpu_limit(good_app, cpus, shares, ok):
    props = changed(good_app, cpus=cpus, cpuShares=shares)
    assert (run("docker-container-limit-cpu", props) == []) is ok


# --- mounts (CIS 5.6, 5.20, 5.32) --------------------------------------------------------------------


@pytest.mark.parametrize("mount", [
    {"type": "bind", "source": "/etc", "target": "/host-etc"},
    {"type": "bind", "source": "/", "target": "/host"},
    {"type": "bind", "source": "/usr/local/", "target": "/x", "readOnly": False},
    {"type": "volume", "source": "v", "target": "/x",
     "volumeOptions": {"driverName": "local", "driverOptions": {"type": "none", "o": "bind", "device": "/proc"}}},
])
def test_sensitive_host_paths_rejected_when_writable(good_app, mount):
    props = changed(good_app, mounts=[mount])
    assert run("docker-container-disallow-sensitive-host-mounts", props)
    props["mounts"][0]["readOnly"] = True
    assert run("docker-container-disallow-sensitive-host-mounts", props) == []


def test_sensitive_host_path_in_volumes(good_app):
    props = changed(good_app, volumes=[{"hostPath": "/sys", "containerPath": "/s"}])
    assert run("docker-container-disallow-sensitive-host-mounts", props)


def test_harmless_bind_mount_passes(good_app):
    props = changed(good_app, mounts=[{"type": "bind", "source": "/srv/openwebui/certs", "target": "/certs"},
                                      {"type": "bind", "source": "/etcetera", "target": "/e"}])
    assert run("docker-container-disallow-sensitive-host-mounts", props) == []


@pytest.mark.parametrize("source", ["/var/run/docker.sock", "/run/docker.sock", "/run", "/var/run",
                                    "/run/containerd/containerd.sock", "/home/u/.docker/run/docker.sock"])
@pytest.mark.parametrize("read_only", [False, True])
def test_runtime_socket_rejected_even_read_only(good_app, source, read_only):
    props = changed(good_app, mounts=[{"type": "bind", "source": source, "target": "/sock", "readOnly": read_only}])
    assert run("docker-container-disallow-docker-socket", props)
    props = changed(good_app, volumes=[{"hostPath": source, "containerPath": "/sock", "readOnly": read_only}])
    assert run("docker-container-disallow-docker-socket", props)


@pytest.mark.parametrize("propagation,bad", [("shared", True), ("rshared", True), ("rprivate", False),
                                             ("slave", False)])
def test_shared_propagation(good_app, propagation, bad):
    props = changed(good_app, mounts=[{"type": "bind", "source": "/srv/x", "target": "/x",
                                       "bindOptions": {"propagation": propagation}}])
    assert bool(run("docker-container-disallow-shared-mount-propagation", props)) is bad


# --- ports (CIS 5.8, 5.14) ---------------------------------------------------------------------------


def _ports(ip: Any = "203.0.113.10", external: Any = 443) -> list[dict[str, Any]]:
    return [{"internal": 8443, "external": external, "ip": ip, "protocol": "tcp"}]


@pytest.mark.parametrize("ip", ["0.0.0.0", "", "::", "[::]", "10.0.0.9", "not-an-ip"])
def test_bind_ip_outside_allowlist_rejected(good_proxy, ip):
    assert run("docker-container-bind-ports-to-allowed-ips", changed(good_proxy, ports=_ports(ip)))


def test_bind_ip_missing_means_all_interfaces(good_proxy):
    assert run("docker-container-bind-ports-to-allowed-ips",
               changed(good_proxy, ports=[{"internal": 8443, "external": 443}]))


def test_bind_ip_config_changes_outcome(good_proxy):
    props = changed(good_proxy, ports=_ports("0.0.0.0"))
    assert violations(cp.validate_bind_ips, props, config={"allowAllInterfaces": True}) == []
    loopback = changed(good_proxy, ports=_ports("127.0.0.1"))
    assert run("docker-container-bind-ports-to-allowed-ips", loopback, "prod")  # prod.json lists only the public IP
    assert run("docker-container-bind-ports-to-allowed-ips", loopback, "dev") == []


def test_publish_all_ports_rejected(good_app):
    assert run("docker-container-bind-ports-to-allowed-ips", changed(good_app, publishAllPorts=True))


def test_unknown_bind_ip_not_judged(good_proxy):
    assert run("docker-container-bind-ports-to-allowed-ips", changed(good_proxy, ports=_ports(UNKNOWN_STR))) == []
    assert run("docker-container-bind-ports-to-allowed-ips", changed(good_proxy, ports=UNKNOWN_LIST)) == []


def test_privileged_ports_only_on_proxy(good_app, good_proxy):
    assert run("docker-container-restrict-privileged-ports", good_proxy) == []
    assert run("docker-container-restrict-privileged-ports", changed(good_app, ports=_ports(external=443)))
    assert run("docker-container-restrict-privileged-ports", changed(good_proxy, ports=_ports(external=22)))
    assert run("docker-container-restrict-privileged-ports", changed(good_app, ports=_ports(external=8443))) == []


def test_privileged_ports_follow_environment_config(good_proxy):
    # dev.json allows no privileged ports (dev serves on 8080/8443), prod.json allows 80 and 443.
    assert run("docker-container-restrict-privileged-ports", good_proxy, "dev")
    assert run("docker-container-restrict-privileged-ports", good_proxy, "prod") == []


# --- restart (CIS 5.15) ------------------------------------------------------------------------------


@pytest.mark.parametrize("restart,retries,ok", [
    ("unless-stopped", None, True), ("on-failure", 3, True), ("on-failure", 5, True), ("on-failure", 6, False),
    ("on-failure", 0, False), ("on-failure", None, False), ("always", None, False), ("no", None, False),
    (None, None, False),
])
def test_restart_policy(good_app, restart, retries, ok):
    props = changed(good_app, restart=restart, maxRetryCount=retries)
    assert (run("docker-container-bound-restart-policy", props) == []) is ok


def test_restart_retry_limit_from_config(good_app):
    props = changed(good_app, restart="on-failure", maxRetryCount=3)
    assert violations(cp.validate_restart_policy, props, config={"maxRetryCount": 2})


# --- security options (CIS 5.2/5.3/5.22, 5.26) -------------------------------------------------------


@pytest.mark.parametrize("opt", ["seccomp=unconfined", "seccomp:unconfined", "apparmor=unconfined",
                                 "apparmor:unconfined", "label=disable", "label:disable", "systempaths=unconfined",
                                 "SECCOMP=Unconfined"])
def test_unconfined_profiles_rejected(good_app, opt):
    props = changed(good_app, securityOpts=["no-new-privileges:true", opt])
    assert run("docker-container-disallow-unconfined-profiles", props)


def test_custom_profiles_accepted(good_app):
    props = changed(good_app, securityOpts=["no-new-privileges:true", "seccomp=/etc/docker/seccomp.json",
                                            "apparmor=docker-default"])
    assert run("docker-container-disallow-unconfined-profiles", props) == []


@pytest.mark.parametrize("opts,ok", [
    (["no-new-privileges:true"], True), (["no-new-privileges"], True), (["no-new-privileges=true"], True),
    ([], False), (None, False), (["no-new-privileges:false"], False),
    (["no-new-privileges:true", "no-new-privileges:false"], False), (["seccomp=unconfined"], False),
])
def test_no_new_privileges(good_app, opts, ok):
    assert (run("docker-container-require-no-new-privileges", changed(good_app, securityOpts=opts)) == []) is ok


# --- healthcheck, network, processes (CIS 5.27, 5.30, 5.29) ------------------------------------------


@pytest.mark.parametrize("check", [None, {}, {"tests": []}, {"tests": ["NONE"]}])
def test_healthcheck_required(good_app, check):
    assert run("docker-container-require-healthcheck", changed(good_app, healthcheck=check))


@pytest.mark.parametrize("networks", [None, [], [{"name": "bridge"}], [{"name": "host"}]])
def test_user_defined_network_required(good_app, networks):
    assert run("docker-container-use-user-defined-network", changed(good_app, networksAdvanced=networks))


def test_network_id_unknown_at_preview_passes(good_app):
    props = changed(good_app, networksAdvanced=[{"name": UNKNOWN_STR}])
    assert run("docker-container-use-user-defined-network", props) == []


def test_process_limit_is_advisory_and_bounded(good_app):
    assert policy("docker-container-limit-processes").enforcement_level is EnforcementLevel.ADVISORY
    assert run("docker-container-limit-processes", changed(good_app, ulimits=None))
    assert run("docker-container-limit-processes",
               changed(good_app, ulimits=[{"name": "nproc", "soft": 100000, "hard": 100000}]))
    assert run("docker-container-limit-processes",
               changed(good_app, ulimits=[{"name": "nofile", "soft": 1024, "hard": 1024}]))


# --- image pinning -----------------------------------------------------------------------------------

FLOATING = ["registry.example.com/acme/open-webui-next:latest", "registry.example.com/acme/open-webui-next:main",
            "registry.example.com/acme/open-webui-next:slim", "registry.example.com/acme/open-webui-next:main-slim",
            "registry.example.com/acme/open-webui-next:dev", "registry.example.com/acme/open-webui-next",
            "localhost:5000/owui",
            "nginx:1.27", "redis:7", "registry.example.com/acme/x@sha256:abc", "registry.example.com/acme/x:v1.2"]
PINNED = ["registry.example.com/acme/open-webui-next:v1.2.3-slim", "registry.example.com/acme/open-webui-next:v1.2.3",
          "openwebui-local/open-webui:0.12.4", "registry.example.com/acme/open-webui-next:git-0a1b2c3-slim",
          "registry.example.com/acme/open-webui-next@sha256:" + "a" * 64, "localhost:5000/owui:1.0.0",
          "redis:7.0.15-alpine", "registry.example.com/acme/x:latest@sha256:" + "b" * 64]


@pytest.mark.parametrize("reference", FLOATING)
def test_floating_tags_rejected_outside_dev(good_app, reference):
    props = copy.deepcopy(good_app)
    props["labels"] = [item if item["label"] != "openwebui.image" else {"label": "openwebui.image", "value": reference}
                       for item in props["labels"]]
    assert run("docker-image-require-pinned-tag", props, "prod")
    assert run("docker-image-require-pinned-tag", props, "staging")
    assert run("docker-image-require-pinned-tag", props, "dev") == []
    remote = {"name": reference, "keepLocally": True}
    assert run("docker-image-require-pinned-tag", remote, "prod", resource_type=REMOTE_IMAGE)
    assert run("docker-image-require-pinned-tag", remote, "dev", resource_type=REMOTE_IMAGE) == []


@pytest.mark.parametrize("reference", PINNED)
def test_pinned_references_accepted(reference):
    assert cp.image_pin_problem(reference) is None
    assert run("docker-image-require-pinned-tag", {"name": reference}, "prod", resource_type=REMOTE_IMAGE) == []


def test_container_image_checked_when_it_is_a_reference(good_app):
    assert run("docker-image-require-pinned-tag", changed(good_app, image="nginx:latest"), "prod")
    assert run("docker-image-require-pinned-tag", changed(good_app, image=UNKNOWN_STR), "prod") == []


def test_split_image_reference():
    assert cp.split_image_reference("localhost:5000/a/b:1.0@sha256:x") == ("localhost:5000/a/b", "1.0", "sha256:x")
    assert cp.split_image_reference("localhost:5000/a/b") == ("localhost:5000/a/b", None, None)


def test_unknown_items_do_not_hide_known_values(good_app):
    """A validator must judge the known parts of a list that also holds unknowns (the SDK's proxy would raise)."""
    props = changed(good_app, securityOpts=[UNKNOWN_STR, "seccomp=unconfined"],
                    mounts=[{"type": "bind", "source": UNKNOWN_STR, "target": "/a"},
                            {"type": "bind", "source": "/var/run/docker.sock", "target": "/b"}])
    assert run("docker-container-disallow-unconfined-profiles", props)
    assert run("docker-container-disallow-docker-socket", props)


def _wire_names(args_class: type) -> set[str]:
    return {prop.fget._pulumi_name for prop in vars(args_class).values()
            if isinstance(prop, property) and hasattr(prop.fget, "_pulumi_name")}


def test_props_the_policies_read_exist_in_pulumi_docker():
    """The policies read camelCase wire names; a typo or a provider rename would silently pass everything."""
    import inspect

    import pulumi_docker

    read = {"user", "capabilities", "privileged", "mounts", "volumes", "ports", "publishAllPorts", "networkMode",
            "pidMode", "ipcMode", "usernsMode", "memory", "cpus", "cpuShares", "ulimits", "readOnly", "restart",
            "maxRetryCount", "cgroupParent", "securityOpts", "healthcheck", "networksAdvanced", "labels", "envs",
            "image"}
    assert read <= _wire_names(pulumi_docker.ContainerArgs)
    assert {"drops", "adds"} <= _wire_names(pulumi_docker.ContainerCapabilitiesArgs)
    mount_props = {"type", "source", "readOnly", "bindOptions", "volumeOptions"}
    assert mount_props <= _wire_names(pulumi_docker.ContainerMountArgs)
    assert {"hostPath", "readOnly"} <= _wire_names(pulumi_docker.ContainerVolumeArgs)
    assert {"internal", "external", "ip"} <= _wire_names(pulumi_docker.ContainerPortArgs)
    assert {"tests"} <= _wire_names(pulumi_docker.ContainerHealthcheckArgs)
    assert {"name", "hard"} <= _wire_names(pulumi_docker.ContainerUlimitArgs)
    assert "pidsLimit" not in _wire_names(pulumi_docker.ContainerArgs)  # the documented 5.29 exception
    assert f"'{CONTAINER}'" in inspect.getsource(pulumi_docker.container)
    assert f"'{REMOTE_IMAGE}'" in inspect.getsource(pulumi_docker.remote_image)
