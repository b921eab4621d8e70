"""Security from the outside, on a standalone deployment started with `docker run` (see standalone.py).

One module fixture starts everything at once (standalone.start_everything; the app boots while
the TLS scans run):
- proxy         nginx as the program renders it, in front of an echoing upstream
- tls11-rendered nginx rendered with protocols_override=[TLSv1.1, TLSv1.2], as is
- tls11         the same, with ciphers TLS 1.1 can actually use (the negative control)
- app-proxy     nginx in front of the real Open WebUI (CORS is the app's), on its own network
- bad-*         deliberately unhardened containers (one running, two only created)
Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import ssl

import pytest

from components.proxy import TRUSTED_AUTH_HEADERS as COMPONENT_STRIPPED
from tests.security import cis_inspect, outside, tls_scan
from tests.security.cis_inspect import Status, check_container, failures, inspect_containers
from tests.security.stack_checks import check_stack, tls11_negative_control
from tests.security.standalone import (
    HARDENED,
    KNOWN_EXCEPTIONS,
    Deployment,
    new_deployment,
    start_everything,
)

pytestmark = [pytest.mark.docker]


@pytest.fixture(scope="module")
def dep(docker_ready, tmp_path_factory):
    deployment = new_deployment(tmp_path_factory.mktemp("security"))
    try:
        start_everything(deployment)
        yield deployment
    finally:
        deployment.stop()


def _app_ready(dep: Deployment) -> None:
    dep.wait_https("app-proxy", "/health", seconds=180)


# --- TLS -----------------------------------------------------------------------------------------

def test_intermediate_scan_passes(dep):
    assert tls_scan.scan("localhost", dep.ports["proxy"], dep.ca_file, "intermediate") == []


def test_modern_profile_refuses_the_intermediate_proxy(dep):
    # The modern profile is TLS 1.3 only: the intermediate proxy's TLS 1.2 must show up.
    problems = tls_scan.scan("localhost", dep.ports["proxy"], dep.ca_file, "modern")
    assert any(p.startswith("tls_versions:") and "TLSv1.2" in p for p in problems), problems


def test_protocols_override_really_offers_tls11(dep):
    """protocols_override is the program's switch for negative tests: it must produce a server
    that speaks TLS 1.1, or a negative control built with it proves nothing."""
    port = dep.ports["tls11-rendered"]
    assert outside.tls_version_offered("localhost", port, dep.ca_file, ssl.TLSVersion.TLSv1_2)
    assert outside.tls_version_offered("localhost", port, dep.ca_file, ssl.TLSVersion.TLSv1_1), (
        "nginx rendered with protocols_override=['TLSv1.1', 'TLSv1.2'] refuses TLS 1.1: its "
        "ssl_ciphers has only AEAD suites, which TLS 1.1 cannot use")


def test_scan_fails_when_the_proxy_offers_tls11(dep):
    port = dep.ports["tls11"]
    # Precondition: the negative control really is negative.
    assert outside.tls_version_offered("localhost", port, dep.ca_file, ssl.TLSVersion.TLSv1_1)
    problems = tls_scan.scan("localhost", port, dep.ca_file, "intermediate")
    assert any(p.startswith("tls_versions:") and "TLSv1.1" in p for p in problems), problems
    assert any(p.startswith("ciphers:") and "CBC" in p for p in problems), problems


def test_intermediate_proxy_refuses_old_protocols_with_python_ssl(dep):
    port = dep.ports["proxy"]
    offered = {v.name: outside.tls_version_offered("localhost", port, dep.ca_file, v)
               for v in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1_2,
                         ssl.TLSVersion.TLSv1_3)}
    assert offered == {"TLSv1": False, "TLSv1_1": False, "TLSv1_2": True, "TLSv1_3": True}


# --- CIS Docker Benchmark section 5 --------------------------------------------------------------

def test_cis_hardened_containers_pass(dep):
    inspected = inspect_containers(*(dep.containers[p] for p in HARDENED))
    for purpose, container in zip(HARDENED, inspected, strict=False):
        findings = check_container(container, cis_inspect.Options(allowed_bind_ips=("127.0.0.1",)))
        assert [str(f) for f in failures(findings)] == [], purpose
        exceptions = {f.cis_id for f in findings if f.status is Status.EXCEPTION}
        assert exceptions <= KNOWN_EXCEPTIONS, (purpose, exceptions)
        # The program applies a PIDs limit after create; so does the standalone deployment.
        assert next(f for f in findings if f.cis_id == "5.29").status is Status.PASS


def test_cis_bad_containers_fail(dep):
    strict = cis_inspect.Options(require_pids_limit=True)
    failed: dict[str, set[str]] = {}
    for purpose in ("bad-defaults", "bad-created", "bad-ports"):
        (container,) = inspect_containers(dep.containers[purpose])
        failed[purpose] = {f.cis_id for f in failures(check_container(container, strict))}
    # A plain `docker run` as root: no limits, no options, default bridge.
    assert {"4.1", "5.3", "5.4", "5.11", "5.12", "5.13", "5.26", "5.27", "5.29", "5.30"} <= failed["bad-defaults"]
    assert {"4.1", "5.2", "5.4", "5.5", "5.6", "5.10", "5.15", "5.16", "5.17", "5.18", "5.20", "5.21",
            "5.22", "5.25", "5.31", "5.32"} <= failed["bad-created"]
    assert {"5.8", "5.14", "5.15", "5.30"} <= failed["bad-ports"]
    # Every rule fails on at least one of them: no check that cannot fail.
    every_id = {f.cis_id for f in check_container({})}
    assert every_id - set().union(*failed.values()) == set()


# --- HTTP: headers, brute-force limits, trusted-auth headers, CORS -------------------------------

def test_security_headers_present(dep):
    assert outside.security_header_problems(dep.url("proxy"), dep.ca_file) == []
    # The checker notices a missing header: the plain-HTTP redirect listener sets none.
    import requests
    plain = requests.get(f"http://localhost:{dep.ports['proxy-http']}/x", allow_redirects=False, timeout=10)
    assert plain.status_code == 301
    assert plain.headers["Location"] == f"{dep.url('proxy')}/x"
    assert outside.security_header_problems("", "", response=plain)


def test_signin_answers_429_after_the_burst(dep):
    burst = 5  # NginxConfigArgs' default, which proxy_conf uses
    problems, statuses = outside.rate_limit_problems(dep.url("proxy"), dep.ca_file)
    assert problems == [], statuses
    accepted = statuses.index(429)
    # One request plus the burst pass (and at most a token or two refilled meanwhile), then 429.
    assert burst + 1 <= accepted <= burst + 3, statuses
    # Sign-up and LDAP share the zone; other API paths are not limited.
    import requests
    for path, limited in (("/api/v1/auths/signup", True), ("/api/v1/auths/ldap", True),
                          ("/api/v1/chats/", False)):
        status = requests.post(dep.url("proxy") + path, json={}, verify=str(dep.ca_file), timeout=10).status_code
        assert (status == 429) is limited, (path, status)


def test_trusted_auth_headers_from_clients_are_stripped(dep):
    spoofed = {name: "admin@example.com" for name in {*outside.TRUSTED_AUTH_HEADERS, *COMPONENT_STRIPPED}}
    spoofed.update({"x-forwarded-email": "admin@example.com",  # other spellings of the same
                    "X_Forwarded_Email": "admin@example.com",
                    "X-Forwarded-For": "203.0.113.7", "X-Real-IP": "203.0.113.7",
                    "X-Forwarded-Proto": "http", "X-Forwarded-Host": "evil.example",
                    "X-Test-Marker": "passes-through"})
    received = outside.forwarded_request(dep.url("proxy"), dep.ca_file, spoofed)
    # Positive control: an ordinary client header does reach the upstream.
    assert received.get("x-test-marker") == ["passes-through"]
    leaked = sorted(name for name in received
                    if name in {h.lower() for h in spoofed} | {"x_forwarded_email"}
                    and "admin@example.com" in received[name])
    assert leaked == []
    assert "203.0.113.7" not in " ".join(received.get("x-forwarded-for", []) + received.get("x-real-ip", []))
    assert received.get("x-forwarded-proto") == ["https"]
    assert received.get("x-forwarded-host") == ["localhost"]


def test_cross_origin_credentialed_request_refused_by_the_app(dep):
    _app_ready(dep)
    url = dep.url("app-proxy")
    # Positive control first: the check sees CORS answers at all (the app's own origin is allowed).
    assert outside.cors_allows_own_origin(url, dep.ca_file) == []
    assert outside.cors_refuses_foreign_origin(url, dep.ca_file) == []
    # The app's answers carry the proxy's headers too.
    assert outside.security_header_problems(url, dep.ca_file, "/health") == []


# --- The helpers tests/e2e calls on the dev stack, run here on the app deployment ----------------

def test_check_stack_on_the_app_deployment(dep):
    _app_ready(dep)
    containers = inspect_containers(dep.containers["app"], dep.containers["app-proxy"])
    assert check_stack(dep.url("app-proxy"), dep.ca_file, containers) == {}
    # It reports what it finds: the same check with a stricter bind-IP list fails the proxy.
    strict = check_stack(dep.url("app-proxy"), dep.ca_file, containers, bind_ips=("10.9.9.9",),
                         rate_limit=False)
    assert list(strict) == [f"cis {dep.containers['app-proxy']}"], strict


def test_tls11_negative_control_helper(dep, tmp_path):
    problems = tls11_negative_control(dep.name("app-net"), tmp_path)
    assert any(p.startswith("tls_versions:") and "TLSv1.1" in p for p in problems), problems
