"""A stack made with plain docker the way the program makes it (labels, network, data volume, env, migration),
for testing scripts/owui and the backup tool before the real Pulumi engine is available.

What the real stack adds (nginx from the Proxy component, pids limits, Redis) does not matter to the
operations: a small TLS server labelled role=proxy stands in for nginx so `status` can read a certificate.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import requests

from owui_ops.steps import app_python, ops_volume
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = "/app/backend/data"
APP_USER = "1000:1000"
ADMIN_EMAIL = "admin@example.com"


def docker(*args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout,
                            stdin=subprocess.DEVNULL)
    if check and result.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args[:2])} failed: {result.stderr.strip()[-2000:]}")
    return result


def write_env_file(path: Path, values: dict[str, str]) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.writelines(f"{k}={v}\n" for k, v in values.items())
    return path


@dataclass
class FakeStack:
    name: str
    work: Path
    database_url: str
    image: str
    tools_image: str
    backup_dir: Path
    public_port: int = field(default_factory=free_port)
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    admin_password: str = field(default_factory=lambda: "Adm1n-" + secrets.token_urlsafe(12))
    containers: list[str] = field(default_factory=list)
    app_port: Optional[int] = None
    job_settings: Optional[dict[str, Any]] = None

    @property
    def network(self) -> str:
        return f"owui-t-{self.name}"

    @property
    def volume(self) -> str:
        return f"owui-t-{self.name}-data"

    def app_env(self) -> dict[str, str]:
        return {
            "DATABASE_URL": self.database_url, "WEBUI_SECRET_KEY": self.secret_key,
            "DATA_DIR": DATA_DIR, "HOME": "/tmp", "ENABLE_DB_MIGRATIONS": "false",
            "WEBUI_ADMIN_EMAIL": ADMIN_EMAIL, "WEBUI_ADMIN_PASSWORD": self.admin_password,
            "WEBUI_ADMIN_NAME": "Administrator", "ENABLE_SIGNUP": "false",
            "WEBUI_URL": f"https://localhost:{self.public_port}", "OFFLINE_MODE": "true",
            "USE_SLIM_DOCKER": "true", "ENABLE_PERSISTENT_CONFIG": "true",
        }

    # -- infrastructure --------------------------------------------------------------------------------------

    def create(self) -> "FakeStack":
        self.work.mkdir(parents=True, exist_ok=True)
        # A subnet inside 172.16.0.0/12, the range scripts/db-servers lets reach the database servers (Docker's
        # default pool may hand out 192.168.x.x); retried when it overlaps a network that exists.
        for _ in range(20):
            subnet = f"172.{secrets.randbelow(4) + 28}.{secrets.randbelow(256)}.0/24"
            created = docker("network", "create", "--subnet", subnet, "--label", f"openwebui.stack={self.name}",
                             self.network, check=False)
            if created.returncode == 0:
                break
            if "overlap" not in created.stderr:
                raise RuntimeError(f"docker network create failed: {created.stderr.strip()}")
        else:
            raise RuntimeError("no free 172.28-31.x.0/24 subnet for the test network")
        self.create_volume()
        self.backup_dir.mkdir(parents=True, exist_ok=True)
        os.chown(self.backup_dir, 1000, 1000)
        return self

    def create_volume(self) -> None:
        docker("volume", "create", "--label", f"openwebui.stack={self.name}", self.volume)
        # Docker copies the image's /app/backend/data owner into a new volume on first mount.
        docker("run", "--rm", "-v", f"{self.volume}:{DATA_DIR}", "--entrypoint", "true", self.image)

    def destroy_data(self) -> None:
        """What `pulumi destroy` with storage.deleteDataOnDestroy does: the containers and the volume go."""
        self.remove_containers(role="app")
        self.remove_containers(role="backup")
        docker("volume", "rm", "-f", self.volume)

    def remove_containers(self, role: Optional[str] = None) -> None:
        for name in list(self.containers):
            labels = docker("inspect", "--format", "{{json .Config.Labels}}", name, check=False)
            if labels.returncode != 0:
                self.containers.remove(name)
                continue
            if role is None or json.loads(labels.stdout).get("openwebui.role") == role:
                docker("rm", "-f", name, check=False)
                self.containers.remove(name)

    def teardown(self) -> None:
        self.remove_containers()
        for leftover in docker("ps", "-aq", "--filter", f"label=openwebui.stack={self.name}", check=False
                               ).stdout.split():
            docker("rm", "-f", leftover, check=False)
        docker("volume", "rm", "-f", self.volume, check=False)
        docker("network", "rm", self.network, check=False)

    # -- one-shot steps, as the Migration component runs them --------------------------------------------------

    def run_app_image(self, image: str, *argv: str, extra_env: Optional[dict[str, str]] = None,
                      extra_mounts: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
        env_file = write_env_file(self.work / f"env-{secrets.token_hex(3)}", {**self.app_env(), **(extra_env or {})})
        try:
            command = ["run", "--rm", "--user", APP_USER, "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL",
                       "--security-opt", "no-new-privileges:true", "--network", self.network,
                       "--add-host", "host.docker.internal:host-gateway", "--env-file", str(env_file),
                       "-v", f"{self.volume}:{DATA_DIR}",
                       # The package from the tools image, as the migration step mounts it (owui_ops.steps).
                       *app_python(ops_volume(self.tools_image, self.name))]
            for mount in extra_mounts:
                command += ["-v", mount]
            return docker(*command, image, *argv)
        finally:
            env_file.unlink()

    def migrate(self, image: Optional[str] = None, backup_dir: Optional[Path] = None) -> dict[str, Any]:
        """backup (pre-migration file) + upgrade head, like scripts/run-migration."""
        image = image or self.image
        if backup_dir is not None:
            backup_dir.mkdir(parents=True, exist_ok=True)
            os.chown(backup_dir, 1000, 1000)
            tool = self.tools_image if not self.database_url.startswith("sqlite") else image
            env_file = write_env_file(self.work / "env-backup", {**self.app_env(), "BACKUP_DIR": "/premig"})
            try:
                docker("run", "--rm", "--user", APP_USER, "--read-only", "--tmpfs", "/tmp", "--network", self.network,
                       "--add-host", "host.docker.internal:host-gateway", "--env-file", str(env_file),
                       "-v", f"{self.volume}:{DATA_DIR}", "-v", f"{backup_dir}:/premig",
                       *(app_python(ops_volume(self.tools_image, self.name)) if tool == image else
                         ["--entrypoint", "python3"]),
                       tool, "-m", "owui_ops", "migrate", "backup")
            finally:
                env_file.unlink()
        result = self.run_app_image(image, "-m", "owui_ops", "migrate", "upgrade", "--no-backup")
        return json.loads(result.stdout.strip().splitlines()[-1])

    # -- long-running containers -------------------------------------------------------------------------------

    def start_app(self, image: Optional[str] = None, wait: bool = True) -> str:
        image = image or self.image
        name = f"owui-t-{self.name}-app-{secrets.token_hex(3)}"
        self.app_port = free_port()
        env_file = write_env_file(self.work / "env-app", self.app_env())
        try:
            docker("run", "-d", "--name", name, "--label", f"openwebui.stack={self.name}",
                   "--label", "openwebui.role=app", "--label", f"openwebui.image={image}",
                   "--label", "openwebui.environment=dev", "--user", APP_USER, "--read-only",
                   "--tmpfs", "/tmp:rw,nosuid,size=512m", "--cap-drop", "ALL",
                   "--security-opt", "no-new-privileges:true", "--network", self.network,
                   "--network-alias", "openwebui-app", "--add-host", "host.docker.internal:host-gateway",
                   "--health-interval", "2s", "--health-start-period", "120s",
                   "-p", f"127.0.0.1:{self.app_port}:8080", "--env-file", str(env_file),
                   "-v", f"{self.volume}:{DATA_DIR}", image)
        finally:
            env_file.unlink()
        self.containers.append(name)
        if wait:
            wait_healthy(name)
        return name

    def start_proxy(self, cert_pem: str, key_pem: str) -> str:
        """A TLS endpoint with the stack's certificate on the public port (stands in for nginx)."""
        tls = self.work / "tls"
        tls.mkdir(exist_ok=True)
        (tls / "cert.pem").write_text(cert_pem)
        (tls / "key.pem").write_text(key_pem)
        for path in (tls, tls / "cert.pem", tls / "key.pem"):
            os.chown(path, 1000, 1000)
        server = ("import http.server, ssl\n"
                  "ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
                  "ctx.load_cert_chain('/tls/cert.pem', '/tls/key.pem')\n"
                  "httpd = http.server.HTTPServer(('0.0.0.0', 8443), http.server.BaseHTTPRequestHandler)\n"
                  "httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)\n"
                  "httpd.serve_forever()\n")
        name = f"owui-t-{self.name}-proxy"
        docker("run", "-d", "--name", name, "--label", f"openwebui.stack={self.name}",
               "--label", "openwebui.role=proxy", "--user", APP_USER, "--read-only", "--cap-drop", "ALL",
               "--network", self.network, "-p", f"127.0.0.1:{self.public_port}:8443",
               "-v", f"{tls}:/tls:ro", "--entrypoint", "python3", self.tools_image, "-c", server)
        self.containers.append(name)
        return name

    def start_backup_job(self, *, interval_minutes: int = 1440, key: Optional[str] = None) -> str:
        """The container components/backup.py declares, as docker run."""
        self.job_settings = {"interval_minutes": interval_minutes, "key": key}
        env = {"DATABASE_URL": self.database_url, "BACKUP_DIR": "/backups", "DATA_DIR": DATA_DIR, "HOME": "/tmp",
               "BACKUP_INTERVAL_MINUTES": str(interval_minutes), "BACKUP_KEEP_COUNT": "7", "BACKUP_KEEP_DAYS": "30",
               "OWUI_STACK": self.name, "OWUI_APP_IMAGE": self.image}
        if key:
            env["BACKUP_ENCRYPTION_KEY"] = key
        env_file = write_env_file(self.work / "env-job", env)
        name = f"owui-t-{self.name}-backup"
        try:
            docker("run", "-d", "--name", name, "--label", f"openwebui.stack={self.name}",
                   "--label", "openwebui.role=backup", "--label", f"openwebui.image={self.tools_image}",
                   "--user", APP_USER, "--read-only", "--tmpfs", "/tmp:rw,noexec,nosuid,size=256m",
                   "--cap-drop", "ALL", "--security-opt", "no-new-privileges:true", "--network", self.network,
                   "--add-host", "host.docker.internal:host-gateway", "--env-file", str(env_file),
                   "--health-cmd", "python3 -m owui_ops backup-tool health", "--health-interval", "2s",
                   "-v", f"{self.volume}:{DATA_DIR}", "-v", f"{self.backup_dir}:/backups",
                   self.tools_image, "python3", "-m", "owui_ops", "backup-tool", "loop")
        finally:
            env_file.unlink()
        self.containers.append(name)
        return name

    # -- the app's API --------------------------------------------------------------------------------------------

    def api(self, token: Optional[str] = None) -> "Api":
        assert self.app_port is not None
        return Api(f"http://127.0.0.1:{self.app_port}", token)

    def admin_api(self) -> "Api":
        api = self.api()
        response = api.post("/api/v1/auths/signin", json={"email": ADMIN_EMAIL, "password": self.admin_password})
        return self.api(response["token"])

    def app_containers(self) -> list[str]:
        return docker("ps", "-aq", "--filter", f"label=openwebui.stack={self.name}",
                      "--filter", "label=openwebui.role=app").stdout.split()

    def refresh_app_port(self) -> None:
        """The published port of the (only) app container."""
        [cid] = self.app_containers()
        ports = json.loads(docker("inspect", "--format", "{{json .NetworkSettings.Ports}}", cid).stdout)
        self.app_port = int(ports["8080/tcp"][0]["HostPort"])


@dataclass
class Api:
    base: str
    token: Optional[str] = None

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str) -> Any:
        response = requests.get(self.base + path, headers=self._headers(), timeout=30)
        response.raise_for_status()
        return response.json() if "json" in response.headers.get("content-type", "") else response.content

    def post(self, path: str, **kwargs: Any) -> Any:
        response = requests.post(self.base + path, headers=self._headers(), timeout=60, **kwargs)
        if response.status_code >= 400:
            raise AssertionError(f"POST {path}: {response.status_code} {response.text[:500]}")
        return response.json()


def wait_healthy(name: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while True:
        state = json.loads(docker("inspect", "--format", "{{json .State}}", name).stdout)
        status = (state.get("Health") or {}).get("Status")
        if status == "healthy":
            return
        if state["Status"] in ("exited", "dead") or time.monotonic() > deadline:
            logs = docker("logs", "--tail", "40", name, check=False)
            raise AssertionError(f"{name} is {state['Status']}/{status}: {logs.stdout[-2000:]}{logs.stderr[-2000:]}")
        time.sleep(1)


def quote(value: str) -> str:
    return urllib.parse.quote(value, safe="")
