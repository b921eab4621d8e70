"""What a user and an attacker see from outside: HTTPS requests, TLS handshakes, websockets."""

from __future__ import annotations

import socket
import ssl
import time
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit

import requests


class Client:
    """HTTPS client for one stack that verifies the stack's CA (never `verify=False`)."""

    def __init__(self, url: str, ca_file: Path):
        self.url = url.rstrip("/")
        self.ca_file = str(ca_file)
        self.session = requests.Session()
        self.session.verify = self.ca_file

    # `verify` on each call: a session-level value loses to REQUESTS_CA_BUNDLE in the environment.
    def get(self, path: str, **kw) -> requests.Response:
        return self.session.get(self.url + path, timeout=kw.pop("timeout", 30),
                                verify=self.ca_file, **kw)

    def post(self, path: str, **kw) -> requests.Response:
        return self.session.post(self.url + path, timeout=kw.pop("timeout", 60),
                                 verify=self.ca_file, **kw)

    def wait_healthy(self, seconds: float = 180) -> None:
        deadline = time.monotonic() + seconds
        last: object = None
        while time.monotonic() < deadline:
            try:
                response = self.get("/health", timeout=5)
                if response.status_code == 200:
                    return
                last = response.status_code
            except requests.RequestException as err:
                last = err
            time.sleep(2)
        raise AssertionError(f"{self.url}/health not healthy after {seconds}s: {last}")

    def signin(self, email: str, password: str) -> requests.Response:
        return self.post("/api/v1/auths/signin", json={"email": email, "password": password})

    def token(self, email: str, password: str) -> str:
        response = self.signin(email, password)
        assert response.status_code == 200, response.text
        return response.json()["token"]

    def signup(self, email: str, password: str = "Some-password-123") -> requests.Response:
        return self.post("/api/v1/auths/signup",
                         json={"name": "Intruder", "email": email, "password": password})

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def add_user(self, admin_token: str, email: str, password: str, role: str = "user",
                 name: str = "Test User") -> requests.Response:
        """An admin adds an account (routers/auths.py add_user): not an auth-limited endpoint."""
        return self.post("/api/v1/auths/add", headers=self.auth(admin_token), json={
            "name": name, "email": email, "password": password, "role": role})


def handshake(url: str, ca_file: Path, version: ssl.TLSVersion) -> Optional[str]:
    """Try a handshake pinned to one TLS version: the negotiated version, or None if refused."""
    parts = urlsplit(url)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(str(ca_file))
    # Let the client offer old protocols at all; OpenSSL 3 refuses them by default.
    context.set_ciphers("ALL:@SECLEVEL=0")
    context.minimum_version = version
    context.maximum_version = version
    try:
        with socket.create_connection((parts.hostname, parts.port or 443), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname=parts.hostname) as tls:
                return tls.version()
    except (ssl.SSLError, ConnectionResetError):
        return None


def websocket_upgrade(url: str, ca_file: Path, path: str = "/ws/socket.io/?EIO=4&transport=websocket") -> str:
    """Open a Socket.IO websocket through the proxy; returns the server's first (Engine.IO) frame."""
    import websocket  # websocket-client

    ws_url = url.replace("https://", "wss://") + path
    connection = websocket.create_connection(ws_url, sslopt={"ca_certs": str(ca_file)}, timeout=20)
    try:
        return connection.recv()
    finally:
        connection.close()
