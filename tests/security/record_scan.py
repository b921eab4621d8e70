"""Run the security checks once on the standalone deployment and write what they found.

    venv/bin/python -m tests.security.record_scan [--out bench/security-scan.txt]

Same deployment and checks as test_security_standalone.py, but nothing is asserted: the results
(sslyze findings for the intermediate proxy and the negative controls, CIS results per container,
the exceptions with their reasons, the HTTP checks) go to the file for the issue's closing note.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ssl
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

from tests.security import cis_inspect, outside, tls_scan
from tests.security.standalone import (
    APP_IMAGE,
    HARDENED,
    NGINX_IMAGE,
    ROOT,
    TLS11_CIPHERS,
    new_deployment,
    start_everything,
)

VERSIONS = (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3)


def _scan_lines(title: str, report: tls_scan.ScanReport) -> list[str]:
    verdict = "PASS (compliant)" if not report.problems else "FAIL (not compliant)"
    lines = [f"{title}: {verdict}  [{report.profile.name}, {report.seconds:.1f}s]",
             f"  versions offered: {', '.join(report.versions)}"]
    for name, suites in report.details["suites"].items():
        lines.append(f"  {name}: {', '.join(suites)}")
    lines.append(f"  curves: {', '.join(report.details['curves'])}; certificate: {report.details['certificate']}")
    lines += [f"  problem  {p}" for p in report.problem_list]
    lines += [f"  ignored  {k}: {v}" for k, v in sorted(report.ignored.items())]
    return lines


def _offered(dep, purpose: str) -> str:
    port = dep.ports[purpose]
    return ", ".join(f"{v.name}={'yes' if outside.tls_version_offered('localhost', port, dep.ca_file, v) else 'no'}"
                     for v in VERSIONS)


def record(out: Path) -> str:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="owui-sec-") as tmp:
        dep = new_deployment(Path(tmp))
        try:
            start_everything(dep)
            text = "\n".join(_collect(dep))
        finally:
            dep.stop()
    text += f"\n\nwhole run (start, checks, removal): {time.monotonic() - started:.0f}s\n"
    out.write_text(text)
    return text


def _collect(dep) -> list[str]:
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"# Security scan of the standalone deployment ({now})",
             f"sslyze {version('sslyze')}; nginx image {NGINX_IMAGE}; app image {APP_IMAGE}",
             "Deployment: tests/security/standalone.py (docker run, flags from components/hardening.py,",
             "nginx.conf from components/proxy.py), ports on 127.0.0.1 only. Reproduce:",
             "  venv/bin/python -m tests.security.record_scan", "", "## TLS (sslyze, Mozilla 6.0 profiles)"]
    for profile in ("intermediate", "modern"):
        report = tls_scan.scan_report("localhost", dep.ports["proxy"], dep.ca_file, profile)
        lines += _scan_lines(f"proxy (intermediate config) vs {profile}", report)
    lines += ["", "Negative control as rendered: protocols_override=['TLSv1.1', 'TLSv1.2']",
              f"  python ssl handshakes: {_offered(dep, 'tls11-rendered')}"]
    lines += _scan_lines("  sslyze", tls_scan.scan_report("localhost", dep.ports["tls11-rendered"], dep.ca_file))
    lines += ["", f"Negative control with ssl_ciphers {TLS11_CIPHERS}",
              f"  python ssl handshakes: {_offered(dep, 'tls11')}"]
    lines += _scan_lines("  sslyze", tls_scan.scan_report("localhost", dep.ports["tls11"], dep.ca_file))

    lines += ["", "## CIS Docker Benchmark section 5 (docker-bench-security 1.6.0 ids) from docker inspect"]
    purposes = [*HARDENED, "bad-defaults", "bad-created", "bad-ports"]
    inspected = cis_inspect.inspect_containers(*(dep.containers[p] for p in purposes))
    for purpose, container in zip(purposes, inspected, strict=False):
        findings = cis_inspect.check_container(container, cis_inspect.Options(allowed_bind_ips=("127.0.0.1",)))
        label = "hardened" if purpose in HARDENED else "deliberately bad"
        lines.append(cis_inspect.summary(f"{purpose} ({label})", findings))

    lines += ["", "## HTTP from the outside"]
    problems, statuses = outside.rate_limit_problems(dep.url("proxy"), dep.ca_file)
    lines.append(f"signin rate limit (10/min, burst 5): statuses {statuses}; problems {problems or 'none'}")
    headers = outside.security_header_problems(dep.url('proxy'), dep.ca_file)
    lines.append(f"security headers: problems {headers or 'none'}")
    spoof = {h: "admin@example.com" for h in outside.TRUSTED_AUTH_HEADERS}
    received = outside.forwarded_request(dep.url("proxy"), dep.ca_file, {**spoof, "X-Forwarded-For": "203.0.113.7"})
    leaked = sorted(h for h in spoof if h.lower() in received)
    lines.append(f"trusted-auth headers sent {sorted(spoof)}: reached the upstream: {leaked or 'none'}; "
                 f"X-Forwarded-For seen upstream: {received.get('x-forwarded-for')}")
    dep.wait_https("app-proxy", "/health", seconds=180)
    own = outside.cors_allows_own_origin(dep.url('app-proxy'), dep.ca_file)
    lines.append(f"CORS own origin allowed (positive control): problems {own or 'none'}")
    foreign = outside.cors_refuses_foreign_origin(dep.url('app-proxy'), dep.ca_file)
    lines.append(f"CORS https://evil.example refused: problems {foreign or 'none'}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "security-scan.txt")
    print(record(parser.parse_args().out))


if __name__ == "__main__":
    main()
