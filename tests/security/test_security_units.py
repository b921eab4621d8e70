"""The security checkers themselves, without Docker: profiles, sslyze's traps, CIS rules."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from components.proxy import NginxConfigArgs, render_nginx_conf
from tests.security import cis_inspect, tls_scan
from tests.security.cis_inspect import Options, Status, check_container
from tests.security.standalone import tls_paths_read_by_conf, tls_paths_written_by_image


def test_profiles_parse_as_sslyze_custom_configs():
    intermediate = tls_scan.load_profile(tls_scan.PROFILES["intermediate"])
    modern = tls_scan.load_profile(tls_scan.PROFILES["modern"])
    assert intermediate["tls_versions"] == {"TLSv1.2", "TLSv1.3"}
    assert modern["tls_versions"] == {"TLSv1.3"}
    # 6.0 dropped DHE: no DHE suite in any naming, so no DH parameter size either.
    for names in intermediate["ciphers"].values():
        assert names and not any("DHE" in n.replace("ECDHE", "") for n in names), names
    assert intermediate["dh_param_size"] is None
    assert not any(modern["ciphers"].values())


def test_sslyze_exits_0_on_unparsable_profile_and_scan_refuses_it(tmp_path):
    bad = tmp_path / "profile.json"
    bad.write_text(json.dumps({"tls_versions": ["TLSv1.2"]}))
    # The trap: sslyze itself only prints an error (it never connects, so no server is needed).
    proc = subprocess.run([sys.executable, "-m", "sslyze", f"--custom_tls_config={bad}",
                           "localhost:9"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0
    assert "Could not parse custom TLS configuration" in proc.stdout
    with pytest.raises(tls_scan.ScanError):
        tls_scan.parse_console_verdict(proc.stdout, "localhost:9")
    with pytest.raises(tls_scan.ScanError, match="cannot use TLS profile"):
        tls_scan.scan("localhost", 9, tmp_path / "ca.pem", bad)


def test_console_verdict_parsing():
    failed = ("\n COMPLIANCE AGAINST TLS CONFIGURATION\n ---\n\n"
              "    Checking results against custom TLS configuration.\n\n"
              "    h:1: FAILED - Not compliant.\n"
              "        * certificate_path_validation: Certificate path validation failed for CN=h.\n"
              "        * tls_versions: TLS versions {'TLSv1.1'} are supported, but should be rejected.\n")
    assert set(tls_scan.parse_console_verdict(failed, "h:1")) == {"certificate_path_validation", "tls_versions"}
    ok = failed.split("    h:1:")[0] + "    h:1: OK - Compliant.\n"
    assert tls_scan.parse_console_verdict(ok, "h:1") == {}


def test_rendered_conf_reads_the_tls_files_the_image_writes():
    """nginx must find the certificate where images/nginx/start-nginx puts it, or it exits at start."""
    conf = render_nginx_conf(NginxConfigArgs(server_name="localhost", public_port=443))
    assert tls_paths_read_by_conf(conf) == tls_paths_written_by_image()


def _container(**host) -> dict:
    """An inspect object of a container that passes every check; keyword args change HostConfig."""
    base = {
        "AppArmorProfile": "docker-default",
        "Config": {"User": "1000:1000", "Labels": {},
                   "Healthcheck": {"Test": ["CMD", "true"]}},
        "HostConfig": {"SecurityOpt": ["no-new-privileges:true"], "CapDrop": ["ALL"], "CapAdd": None,
                       "Privileged": False, "NetworkMode": "net", "Memory": 1 << 28, "NanoCpus": 5 * 10**8,
                       "ReadonlyRootfs": True, "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 5},
                       "PidMode": "", "IpcMode": "private", "UTSMode": "", "UsernsMode": "",
                       "CgroupParent": "", "PidsLimit": 1024, "Devices": [],
                       "PortBindings": {"8443/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18443"}]}},
        "NetworkSettings": {"Networks": {"net": {}}},
        "Mounts": [],
    }
    base["HostConfig"].update(host)
    return base


def _status(inspect: dict, cis_id: str, options: Options = Options()) -> Status:
    return next(f.status for f in check_container(inspect, options) if f.cis_id == cis_id)


def test_clean_container_passes_every_check():
    findings = check_container(_container())
    assert [str(f) for f in findings if f.status is not Status.PASS] == []


@pytest.mark.parametrize("user", ["", "0", "root", "0:0", "root:root", "00", "0:1000", " root "])
def test_every_uid0_spelling_fails_41(user):
    container = _container()
    container["Config"]["User"] = user
    assert _status(container, "4.1") is Status.FAIL


@pytest.mark.parametrize("cis_id,host", [
    ("5.4", {"CapDrop": ["NET_RAW"]}),
    ("5.4", {"CapAdd": ["cap_net_admin"]}),
    ("5.5", {"Privileged": True}),
    ("5.6", {"Binds": ["/etc:/host-etc"]}),
    ("5.6", {"Binds": ["/:/host"]}),
    ("5.8", {"PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "80"}]}}),
    ("5.10", {"NetworkMode": "host"}),
    ("5.11", {"Memory": 0}),
    ("5.12", {"NanoCpus": 0}),
    ("5.13", {"ReadonlyRootfs": False}),
    ("5.14", {"PortBindings": {"8443/tcp": [{"HostIp": "", "HostPort": "18443"}]}}),
    ("5.14", {"PortBindings": {"8443/tcp": [{"HostIp": "0.0.0.0", "HostPort": "18443"}]}}),
    ("5.15", {"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 10}}),
    ("5.15", {"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 0}}),
    ("5.16", {"PidMode": "host"}),
    ("5.17", {"IpcMode": "host"}),
    ("5.18", {"Devices": [{"PathOnHost": "/dev/sda"}]}),
    ("5.20", {"Binds": ["/srv/x:/x:rshared"]}),
    ("5.21", {"UTSMode": "host"}),
    ("5.22", {"SecurityOpt": ["no-new-privileges:true", "seccomp=unconfined"]}),
    ("5.25", {"CgroupParent": "/custom"}),
    ("5.26", {"SecurityOpt": ["label=disable"]}),
    ("5.3", {"SecurityOpt": []}),
    ("5.31", {"UsernsMode": "host"}),
    ("5.32", {"Binds": ["/var/run/docker.sock:/var/run/docker.sock:ro"]}),
])
def test_each_rule_fails_its_bad_setting(cis_id, host):
    assert _status(_container(**host), cis_id) is Status.FAIL


def test_default_bridge_judged_by_the_attached_networks():
    moved = _container(NetworkMode="bridge")  # created on bridge, then moved to "net" (the provider's way)
    assert _status(moved, "5.30") is Status.PASS
    on_docker0 = _container(NetworkMode="bridge")
    on_docker0["NetworkSettings"]["Networks"] = {"bridge": {}, "net": {}}
    assert _status(on_docker0, "5.30") is Status.FAIL
    unattached = _container(NetworkMode="default")
    unattached["NetworkSettings"]["Networks"] = {}
    assert _status(unattached, "5.30") is Status.FAIL


def test_read_only_sensitive_mount_passes_but_docker_socket_never():
    container = _container(Binds=["/etc/ssl/certs:/certs:ro"])
    assert _status(container, "5.6") is Status.PASS
    container = _container(Mounts=[{"Type": "bind", "Source": "/run/docker.sock", "Target": "/s",
                                    "ReadOnly": True}])
    assert _status(container, "5.32") is Status.FAIL


def test_privileged_ports_are_an_exception_for_the_proxy_only():
    ports = {"8443/tcp": [{"HostIp": "127.0.0.1", "HostPort": "443"}],
             "8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "80"}]}
    proxy = _container(PortBindings=ports)
    proxy["Config"]["Labels"] = {cis_inspect.ROLE_LABEL: "proxy"}
    assert _status(proxy, "5.8") is Status.EXCEPTION
    assert _status(_container(PortBindings=ports), "5.8") is Status.FAIL
    other = _container(PortBindings={"22/tcp": [{"HostIp": "127.0.0.1", "HostPort": "22"}]})
    assert _status(other, "5.8", Options(is_proxy=True)) is Status.FAIL


def test_bind_ip_allowlist():
    assert _status(_container(), "5.14", Options(allowed_bind_ips=("10.0.0.5",))) is Status.FAIL
    assert _status(_container(), "5.14", Options(allowed_bind_ips=("127.0.0.1",))) is Status.PASS


def test_apparmor_unconfined_fails_and_missing_is_an_exception():
    container = _container(SecurityOpt=["no-new-privileges:true", "apparmor=unconfined"])
    assert _status(container, "5.2") is Status.FAIL
    container = _container()
    container["AppArmorProfile"] = ""
    assert _status(container, "5.2") is Status.EXCEPTION


def test_pids_limit_exception_unless_required():
    assert _status(_container(PidsLimit=None), "5.29") is Status.EXCEPTION
    assert _status(_container(PidsLimit=-1), "5.29", Options(require_pids_limit=True)) is Status.FAIL
    assert _status(_container(PidsLimit=100), "5.29", Options(require_pids_limit=True)) is Status.PASS


def test_healthcheck_none_fails_and_unbounded_restart_is_an_exception():
    container = _container(RestartPolicy={"Name": "unless-stopped", "MaximumRetryCount": 0})
    container["Config"]["Healthcheck"] = {"Test": ["NONE"]}
    assert _status(container, "5.27") is Status.FAIL
    assert _status(container, "5.15") is Status.EXCEPTION
