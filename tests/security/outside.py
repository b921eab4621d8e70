"""Checks from the outside, over HTTPS verified against the deployment's CA (never verify=False).

Each check returns a list of problems (empty = fine), so the same functions serve the standalone
deployment of tests/security and the real dev stack of tests/e2e:

    assert not security_header_problems(url, ca_file)
    assert not cors_refuses_foreign_origin(url, ca_file)
    assert not rate_limit_problems(url, ca_file)
"""

from __future__ import annotations

import socket
import ssl
import warnings
from pathlib import Path
from typing import Optional, Union
from urllib.parse import urlsplit

import requests

PathLike = Union[str, Path]
FOREIGN_ORIGIN = "https://evil.example"
# Header -> check on its value (None: presence is enough).
REQUIRED_HEADERS: dict[str, Optional[str]] = {
    "Strict-Transport-Security": "max-age=",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": None,
    "Permissions-Policy": None,
}
MIN_HSTS_SECONDS = 63072000  # Mozilla: two years
# Auth-proxy identity headers; nginx must not pass a client's copy on. Independent of the list in
# components/proxy.py on purpose: the test must notice if that list loses one.
TRUSTED_AUTH_HEADERS = ("X-Forwarded-Email", "X-Forwarded-User", "X-Forwarded-Preferred-Username",
                        "X-Auth-Request-Email", "X-Auth-Request-User", "Remote-User",
                        "X-Remote-User", "X-Webauth-User")


def _get(url: str, ca_file: PathLike, **kw) -> requests.Response:
    return requests.get(url, verify=str(ca_file), timeout=kw.pop("timeout", 20), allow_redirects=False, **kw)


def security_header_problems(base_url: str, ca_file: PathLike, path: str = "/",
                             response: Optional[requests.Response] = None) -> list[str]:
    """HSTS (>= 2 years), nosniff, X-Frame-Options, Referrer-Policy, Permissions-Policy present;
    no version in Server. Pass `response` to judge one already made (e.g. a 429)."""
    response = response if response is not None else _get(base_url.rstrip("/") + path, ca_file)
    problems = []
    for header, expected in REQUIRED_HEADERS.items():
        value = response.headers.get(header)
        if value is None:
            problems.append(f"{header} missing on {response.status_code} {response.url}")
        elif expected and expected.lower() not in value.lower():
            problems.append(f"{header}: {value!r} lacks {expected!r}")
    hsts = response.headers.get("Strict-Transport-Security", "")
    for part in hsts.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "max-age" and (not value.isdigit() or int(value) < MIN_HSTS_SECONDS):
            problems.append(f"HSTS max-age {value} < {MIN_HSTS_SECONDS}")
    server = response.headers.get("Server", "")
    if any(ch.isdigit() for ch in server):
        problems.append(f"Server header reveals a version: {server!r}")
    return problems


def rate_limit_problems(base_url: str, ca_file: PathLike, path: str = "/api/v1/auths/signin",
                        attempts: int = 30) -> tuple[list[str], list[int]]:
    """POST wrong credentials until the proxy answers 429. Returns (problems, statuses seen)."""
    statuses: list[int] = []
    problems: list[str] = []
    # verify= per request: a Session's verify loses against REQUESTS_CA_BUNDLE in the environment.
    with requests.Session() as session:
        for _ in range(attempts):
            response = session.post(base_url.rstrip("/") + path, timeout=20, verify=str(ca_file),
                                    json={"email": "nobody@example.com", "password": "wrong-password-1"})
            statuses.append(response.status_code)
            if response.status_code == 429:
                problems += security_header_problems(base_url, ca_file, response=response)
                break
    if 429 not in statuses:
        problems.append(f"no 429 from {path} after {attempts} attempts: {statuses}")
    return problems, statuses


def cors_refuses_foreign_origin(base_url: str, ca_file: PathLike, origin: str = FOREIGN_ORIGIN,
                                path: str = "/api/config") -> list[str]:
    """A credentialed cross-origin request from `origin` must not be allowed: neither the preflight
    nor the actual request may answer with Access-Control-Allow-Origin equal to it (or `*`).
    The path should not be rate limited (a preflight to /auths/signin spends a sign-in token)."""
    url = base_url.rstrip("/") + path
    problems = []
    preflight = requests.options(url, verify=str(ca_file), timeout=20, headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,authorization"})
    actual = _get(url, ca_file, headers={"Origin": origin, "Cookie": "token=probe"})
    for what, response in (("preflight", preflight), ("request", actual)):
        allowed = response.headers.get("Access-Control-Allow-Origin")
        if allowed in (origin, "*"):
            credentials = response.headers.get("Access-Control-Allow-Credentials")
            problems.append(f"{what} {response.status_code}: Access-Control-Allow-Origin={allowed!r} "
                            f"(Allow-Credentials={credentials!r}) for {origin}")
    return problems


def cors_allows_own_origin(base_url: str, ca_file: PathLike, path: str = "/api/config") -> list[str]:
    """Positive control for the check above: the public origin itself is allowed, so an endpoint
    that never sends CORS headers cannot make the refusal check pass by accident."""
    parts = urlsplit(base_url)
    own = f"{parts.scheme}://{parts.netloc}"
    preflight = requests.options(base_url.rstrip("/") + path, verify=str(ca_file), timeout=20, headers={
        "Origin": own, "Access-Control-Request-Method": "POST"})
    allowed = preflight.headers.get("Access-Control-Allow-Origin")
    return [] if allowed == own else [f"preflight from {own}: Access-Control-Allow-Origin={allowed!r}"]


def tls_version_offered(host: str, port: int, ca_file: PathLike, version: ssl.TLSVersion) -> bool:
    """Whether a handshake pinned to `version` succeeds (the client allows old protocols at all)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(str(ca_file))
    context.set_ciphers("ALL:@SECLEVEL=0")  # OpenSSL 3 clients refuse TLS 1.0/1.1 otherwise
    with warnings.catch_warnings():  # TLS 1.0/1.1 are deprecated: that is the point here
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = context.maximum_version = version
    try:
        with socket.create_connection((host, port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname=host) as tls:
                return tls.version() is not None
    except (ssl.SSLError, ConnectionResetError):
        return False


def forwarded_request(base_url: str, ca_file: PathLike, headers: dict[str, str],
                      path: str = "/echo") -> dict[str, list[str]]:
    """Send `headers` through the proxy to an echoing upstream; the headers it received
    (lower-case name -> values). Needs the echo upstream of tests/security."""
    response = _get(base_url.rstrip("/") + path, ca_file, headers=headers)
    response.raise_for_status()
    received: dict[str, list[str]] = {}
    for name, value in response.json()["headers"]:
        received.setdefault(name.lower(), []).append(value)
    return received
