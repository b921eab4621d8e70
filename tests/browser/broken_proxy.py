"""Deliberately broken proxies for the negative controls: the program's own nginx.conf with one
thing changed, run from the stack's nginx image on the stack's network in front of the same app,
on its own port with its own certificate, and removed afterwards."""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import requests

from components.config import ProxySettings
from components.providers.selfsigned import generate_certificate
from components.proxy import NginxConfigArgs, render_nginx_conf
from tests.e2e.harness import docker

SERVER_LIMIT_ANCHOR = "        http2_max_concurrent_streams 128;\n"
UPGRADE_LINES = ("        proxy_set_header Upgrade $http_upgrade;\n",
                 "        proxy_set_header Connection $connection_upgrade;\n")


def broken_conf(breakage: str, port: int) -> str:
    conf = render_nginx_conf(NginxConfigArgs(server_name="localhost", public_port=port))
    if breakage == "tight":
        # The kind of limit this proxy had before (server-wide limit_conn, which counts every
        # HTTP/2 stream), tightened so that a single page load is certain to exceed it.
        assert SERVER_LIMIT_ANCHOR in conf
        return conf.replace(SERVER_LIMIT_ANCHOR, SERVER_LIMIT_ANCHOR + "        limit_conn perip 10;\n")
    if breakage == "strict-csp":
        # Without 'unsafe-inline' for scripts: index.html's inline bootstrap is refused.
        needed = "script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'"
        assert needed in conf
        return conf.replace(needed, "script-src 'self' 'wasm-unsafe-eval'")
    if breakage == "no-upgrade":
        for line in UPGRADE_LINES:
            assert line in conf
            conf = conf.replace(line, "")
        return conf
    raise ValueError(breakage)


@contextmanager
def broken_proxy(network: str, tmp_dir: Path, breakage: str, https_port: int) -> Iterator[tuple[str, Path]]:
    """(url, CA file) of a proxy with `breakage` in front of the app on `network`."""
    tls = generate_certificate("localhost", 1)
    ca_file = tmp_dir / f"{breakage}-ca.pem"
    ca_file.write_text(tls["ca_certificate_pem"])
    name = f"owui-broken-proxy-{breakage}-{secrets.token_hex(3)}"
    env = {"NGINX_CONF": broken_conf(breakage, https_port),
           "TLS_CERTIFICATE": tls["certificate_pem"], "TLS_PRIVATE_KEY": tls["private_key_pem"]}
    # Secrets by name only (-e NAME): values come from this process's environment, not argv.
    subprocess.run(["docker", "run", "-d", "--name", name, "--user", "101:101", "--read-only",
                    "--tmpfs", "/tmp", "--cap-drop", "ALL", "--network", network,
                    "--publish", f"127.0.0.1:{https_port}:8443",
                    *[arg for key in env for arg in ("-e", key)], ProxySettings().image],
                   check=True, capture_output=True, env={**os.environ, **env})
    url = f"https://localhost:{https_port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(url + "/health", verify=str(ca_file), timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} not serving: {docker('logs', name, check=False)}")
            time.sleep(0.5)
        yield url, ca_file
    finally:
        docker("rm", "-f", name, check=False)
