"""The whole outside-in security check of one running deployment, for tests/e2e's dev stack.

    from tests.security.stack_checks import check_stack, tls11_negative_control
    problems = check_stack(url, ca_file, containers_of(STACK))       # {} when everything holds
    assert any(p.startswith("tls_versions:") for p in tls11_negative_control(network, tmp_path))

`check_stack` spends the sign-in rate limit of the caller's address (run it last, or expect 429s
on /api/v1/auths/* for a minute). `tls11_negative_control` starts one extra nginx (rendered with
protocols_override and TLS 1.1-capable ciphers) on the stack's network in front of the same app,
scans it, and removes it: proof that the scan can fail, without touching the stack.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any, Sequence, Union
from urllib.parse import urlsplit

from tests.ports import free_port
from tests.security import cis_inspect, outside, tls_scan
from tests.security.standalone import (
    TLS11_PROTOCOLS,
    new_deployment,
    proxy_conf,
    with_tls11_ciphers,
)


def check_stack(base_url: str, ca_file: Union[str, Path], containers: Sequence[dict[str, Any]], *,
                profile: str = "intermediate", bind_ips: Sequence[str] = ("127.0.0.1",),
                known_exceptions: Sequence[str] = ("5.2", "5.15"),
                rate_limit: bool = True) -> dict[str, list[str]]:
    """{check: problems} for every check that found something; `containers` are `docker inspect`
    objects (e.g. tests.e2e.harness.containers_of(stack)). Exceptions outside
    `known_exceptions` count as problems."""
    parts = urlsplit(base_url)
    found: dict[str, list[str]] = {
        "tls": tls_scan.scan(parts.hostname or "localhost", parts.port or 443, ca_file, profile),
        "headers": outside.security_header_problems(base_url, ca_file, "/health"),
        "cors-own-origin": outside.cors_allows_own_origin(base_url, ca_file),
        "cors-foreign-origin": outside.cors_refuses_foreign_origin(base_url, ca_file),
    }
    if not containers:
        found["cis"] = ["no containers given"]
    for container in containers:
        findings = cis_inspect.check_container(container, cis_inspect.Options(allowed_bind_ips=tuple(bind_ips)))
        found[f"cis {container['Name'].lstrip('/')}"] = [
            str(f) for f in findings if f.status is cis_inspect.Status.FAIL
            or (f.status is cis_inspect.Status.EXCEPTION and f.cis_id not in known_exceptions)]
    if rate_limit:
        found["rate-limit"] = outside.rate_limit_problems(base_url, ca_file)[0]
    return {name: problems for name, problems in found.items() if problems}


def tls11_negative_control(network: str, tmp_dir: Path, profile: str = "intermediate") -> list[str]:
    """Scan problems of a TLS 1.1 proxy on `network` (must be non-empty); raises if the control
    does not really offer TLS 1.1."""
    deployment = new_deployment(tmp_dir)
    try:
        port = deployment.ports.setdefault("tls11", free_port())
        conf = with_tls11_ciphers(proxy_conf(port, protocols_override=TLS11_PROTOCOLS))
        deployment.start_proxy("tls11", network, conf)
        # Any answer will do: the app behind it may be starting, TLS is what is checked.
        deployment.wait_https("tls11", "/health", seconds=60, want=range(200, 600))
        if not outside.tls_version_offered("localhost", port, deployment.ca_file, ssl.TLSVersion.TLSv1_1):
            raise AssertionError("the TLS 1.1 negative control does not offer TLS 1.1")
        return tls_scan.scan("localhost", port, deployment.ca_file, profile)
    finally:
        deployment.stop()

