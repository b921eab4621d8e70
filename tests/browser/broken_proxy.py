"""Deliberately broken proxies for the negative controls: the program's own nginx.conf with one
thing changed, run like the stack's proxy (tests/security/standalone.py) on the stack's network in
front of the same app, on its own port with its own certificate, and removed afterwards."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from tests.security.standalone import new_deployment, proxy_conf

SERVER_LIMIT_ANCHOR = "        http2_max_concurrent_streams 128;\n"
UPGRADE_LINES = ("        proxy_set_header Upgrade $http_upgrade;\n",
                 "        proxy_set_header Connection $connection_upgrade;\n")


def broken_conf(breakage: str, port: int) -> str:
    conf = proxy_conf(port)
    if breakage == "tight":
        # The kind of limit this proxy had before (server-wide limit_conn, which counts every
        # HTTP/2 stream), tightened so that a single page load is certain to exceed it.
        assert SERVER_LIMIT_ANCHOR in conf
        return conf.replace(SERVER_LIMIT_ANCHOR, SERVER_LIMIT_ANCHOR + "        limit_conn perip 10;\n")
    if breakage == "no-upgrade":
        for line in UPGRADE_LINES:
            assert line in conf
            conf = conf.replace(line, "")
        return conf
    raise ValueError(breakage)


@contextmanager
def broken_proxy(network: str, tmp_dir: Path, breakage: str, https_port: int,
                 http_port: int) -> Iterator[tuple[str, Path]]:
    """(url, CA file) of a proxy with `breakage` in front of the app on `network`."""
    deployment = new_deployment(tmp_dir)
    deployment.ports.update({breakage: https_port, f"{breakage}-http": http_port})
    try:
        deployment.start_proxy(breakage, network, broken_conf(breakage, https_port))
        deployment.wait_https(breakage, "/health", seconds=60)
        yield deployment.url(breakage), deployment.ca_file
    finally:
        deployment.stop()
