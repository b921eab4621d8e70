"""The locally built images (images/build): present, configured non-root, and answering when run
with the hardening flags the stacks use. Reuses the images in the daemon or the build cache;
images/build is a no-op when they are up to date.

Secrets reach `docker run` as `-e NAME` with the value in the client's environment, never as an
argument, so they cannot show in a process list.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import secrets
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable, Optional

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from deploy import local_images

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.docker

BUILD = ROOT / "images" / "build"
HARDENED = ["--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL",
            "--security-opt", "no-new-privileges:true", "--memory", "1g"]
ROOT_USERS = {"", "0", "root"}
# The older release the upgrade tests deploy first (its alembic head differs from 0.12.4's).
OLD_OPEN_WEBUI = local_images.OLD_VERSION


def run(args: list[str], *, env: Optional[dict[str, str]] = None, timeout: float = 120,
        check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(args[:3])} ... failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc


def docker(*args: str, **kw) -> str:
    return run(["docker", *args], **kw).stdout


def image_user(ref: str) -> str:
    return docker("image", "inspect", "--format", "{{.Config.User}}", ref).strip()


@pytest.fixture(scope="module")
def images() -> dict[str, str]:
    """images/build's default set, keyed by short name (open-webui, nginx, redis, tools)."""
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        # CI must have an engine (scripts/docker-up); only a developer machine may skip.
        if os.environ.get("CI"):
            pytest.fail("no Docker engine answers `docker info` (run scripts/docker-up)")
        pytest.skip("no Docker engine (scripts/docker-up starts one)")
    expected = run([str(BUILD), "--print-names"]).stdout.split()
    built = run([str(BUILD)], timeout=3600).stdout.split()
    assert built == expected, "images/build printed other names than --print-names"
    by_name = {ref.split("/", 1)[1].split(":", 1)[0]: ref for ref in built}
    assert set(by_name) == {"open-webui", "nginx", "redis", "tools"}
    return by_name


class Container:
    """One hardened container, run as the image's configured user, removed with its volumes."""

    def __init__(self, image: str, *args: str, env: Optional[dict[str, str]] = None,
                 command: tuple[str, ...] = ()):
        self.name = f"test-images-{secrets.token_hex(4)}"
        env = env or {}
        env_args = [a for key in env for a in ("-e", key)]
        docker("run", "-d", "--name", self.name, "--user", image_user(image), *HARDENED,
               *env_args, *args, image, *command, env=env)

    def port(self, container_port: int) -> int:
        mapping = docker("port", self.name, f"{container_port}/tcp").splitlines()[0]
        return int(mapping.rsplit(":", 1)[1])

    def exec(self, *command: str, env: Optional[dict[str, str]] = None) -> str:
        env_args = [a for key in (env or {}) for a in ("-e", key)]
        return docker("exec", *env_args, self.name, *command, env=env)

    def logs(self) -> str:
        proc = run(["docker", "logs", "--tail", "40", self.name], check=False)
        return proc.stdout + proc.stderr

    def running(self) -> bool:
        state = docker("inspect", "--format", "{{.State.Running}}", self.name, check=False)
        return state.strip() == "true"

    def remove(self) -> None:
        run(["docker", "rm", "-f", "-v", self.name], check=False)


@pytest.fixture
def container():
    started: list[Container] = []

    def start(image: str, *args: str, **kw) -> Container:
        started.append(Container(image, *args, **kw))
        return started[-1]

    yield start
    for c in started:
        c.remove()


def wait_for(what: str, probe: Callable[[], bool], box: Container, seconds: float) -> None:
    """Poll until probe() is true; fail early if the container stopped, with its log tail."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if probe():
                return
        except (requests.RequestException, OSError):
            pass
        if not box.running():
            pytest.fail(f"{what}: the container stopped:\n{box.logs()}")
        time.sleep(0.5)
    pytest.fail(f"{what}: no answer within {seconds:.0f}s:\n{box.logs()}")


# --- configuration -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["open-webui", "nginx", "redis", "tools"])
def test_image_user_is_numeric_and_not_root(images, name):
    user = image_user(images[name])
    uid, _, gid = user.partition(":")
    assert uid not in ROOT_USERS and uid.isdigit(), f"{images[name]} runs as {user!r}"
    assert gid.isdigit() and gid != "0", f"{images[name]} has group {gid!r}"


def test_images_carry_their_build_hash(images):
    # The label is what lets images/build skip an up-to-date image; without it every run rebuilds.
    for ref in images.values():
        labels = json.loads(docker("image", "inspect", "--format", "{{json .Config.Labels}}", ref))
        assert labels.get("org.openwebui-pulumi.build-hash"), ref


# --- Open WebUI --------------------------------------------------------------------------------

def test_open_webui_hardened_is_healthy_and_admin_signs_in(images, container):
    admin = {"email": "admin@example.test", "password": secrets.token_urlsafe(18)}
    box = container(images["open-webui"], "-p", "127.0.0.1::8080",
                    "--mount", "type=volume,dst=/app/backend/data",
                    env={"WEBUI_SECRET_KEY": secrets.token_urlsafe(32),
                         "WEBUI_ADMIN_EMAIL": admin["email"],
                         "WEBUI_ADMIN_PASSWORD": admin["password"]})
    url = f"http://127.0.0.1:{box.port(8080)}"
    wait_for("open-webui /health", lambda: requests.get(f"{url}/health", timeout=5).ok, box, 180)

    signin = requests.post(f"{url}/api/v1/auths/signin", json=admin, timeout=30)
    assert signin.status_code == 200, signin.text[:300]
    assert signin.json()["role"] == "admin"
    signup = requests.post(f"{url}/api/v1/auths/signup", timeout=30,
                           json={"name": "x", "email": "x@example.test", "password": "Xx-123456789!"})
    assert signup.status_code == 403
    # swagger-ui lives only in the package's static dir: start-open-webui must have copied it.
    assert requests.get(f"{url}/static/swagger-ui/swagger-ui.css", timeout=10).ok
    assert box.exec("id", "-u").strip() == image_user(images["open-webui"]).split(":")[0]
    assert "Read-only file system" not in box.logs()


# Reads the revision files with ast instead of alembic: importing them imports open_webui, which
# wants a secret key and a writable data directory.
HEADS_SCRIPT = """
import ast, glob, importlib.util, os
package = importlib.util.find_spec("open_webui").submodule_search_locations[0]
revisions, parents = set(), set()
for path in glob.glob(os.path.join(package, "migrations", "versions", "*.py")):
    for node in ast.parse(open(path).read()).body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {t.id for t in targets if isinstance(t, ast.Name)}
            if not names & {"revision", "down_revision"}:
                continue
            value = ast.literal_eval(node.value)
            if "revision" in names:
                revisions.add(value)
            if "down_revision" in names and value:
                parents.update([value] if isinstance(value, str) else value)
print(" ".join(sorted(revisions - parents)))
"""


def alembic_heads(image: str) -> list[str]:
    out = docker("run", "--rm", "--user", image_user(image), *HARDENED, "--entrypoint", "python",
                 image, "-c", HEADS_SCRIPT)
    return out.split()


def test_older_open_webui_has_another_migration_head(images):
    old = local_images.old_app()
    if run(["docker", "image", "inspect", old], check=False).returncode != 0:
        pytest.skip(f"{old} not built (images/build open-webui {OLD_OPEN_WEBUI})")
    new_heads, old_heads = alembic_heads(images["open-webui"]), alembic_heads(old)
    assert len(new_heads) == 1 and len(old_heads) == 1
    assert new_heads != old_heads


# --- nginx -------------------------------------------------------------------------------------

NGINX_CONF = """
worker_processes 1;
pid /tmp/nginx/nginx.pid;
error_log stderr warn;
events { worker_connections 64; }
http {
    include /etc/nginx/mime.types;
    access_log /dev/stdout;
    server_tokens off;
    client_body_temp_path /tmp/nginx/body;
    proxy_temp_path /tmp/nginx/proxy;
    fastcgi_temp_path /tmp/nginx/fastcgi;
    uwsgi_temp_path /tmp/nginx/uwsgi;
    scgi_temp_path /tmp/nginx/scgi;
    server { listen 8080; return 308 https://$host$request_uri; }
    server {
        listen 8443 ssl;
        ssl_certificate /tmp/nginx/tls/tls.crt;
        ssl_certificate_key /tmp/nginx/tls/tls.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        location / { return 200 "images-test-ok\\n"; }
    }
}
"""


def self_signed(tmp_path: Path) -> tuple[str, str, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text(cert_pem)
    return cert_pem, key_pem, ca_file


def test_nginx_hardened_serves_tls_from_env_config(images, container, tmp_path):
    cert_pem, key_pem, ca_file = self_signed(tmp_path)
    box = container(images["nginx"], "-p", "127.0.0.1::8080", "-p", "127.0.0.1::8443",
                    env={"NGINX_CONF": NGINX_CONF, "TLS_CERTIFICATE": cert_pem,
                         "TLS_PRIVATE_KEY": key_pem})
    https = f"https://127.0.0.1:{box.port(8443)}"
    wait_for("nginx https", lambda: requests.get(https, verify=str(ca_file), timeout=5).ok, box, 30)

    assert requests.get(https, verify=str(ca_file), timeout=5).text == "images-test-ok\n"
    redirect = requests.get(f"http://127.0.0.1:{box.port(8080)}/x", allow_redirects=False, timeout=5)
    assert redirect.status_code == 308 and redirect.headers["Location"].startswith("https://")
    # The key is private to nginx's user inside the tmpfs, and gone from the process environment.
    uid = image_user(images["nginx"]).split(":")[0]
    assert box.exec("stat", "-c", "%a %u", "/tmp/nginx/tls/tls.key").split() == ["600", uid]
    assert "PRIVATE KEY" not in box.exec("cat", "/proc/1/environ")
    assert "emerg" not in box.logs() and "Read-only" not in box.logs()


# --- Redis -------------------------------------------------------------------------------------

def redis_call(port: int, *commands: list[str]) -> bytes:
    """Send RESP commands on one connection and return the raw replies."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        replies = b""
        for command in commands:
            parts = [c.encode() for c in command]
            sock.sendall(b"*%d\r\n" % len(parts)
                         + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts))
            replies += sock.recv(4096)
        return replies


def test_redis_hardened_requires_the_password(images, container):
    # Quotes, spaces and a backslash: the config file must carry it byte for byte.
    password = secrets.token_urlsafe(16) + ' "q\\ x'
    box = container(images["redis"], "-p", "127.0.0.1::6379", env={"REDIS_PASSWORD": password})
    port = box.port(6379)
    wait_for("redis", lambda: redis_call(port, ["PING"]).startswith(b"-NOAUTH"), box, 30)

    assert redis_call(port, ["AUTH", password], ["PING"]) == b"+OK\r\n+PONG\r\n"
    assert redis_call(port, ["AUTH", "wrong"]).startswith(b"-WRONGPASS")
    # No persistence by default, and the password is not on the command line.
    assert b"$0\r\n\r\n" in redis_call(port, ["AUTH", password], ["CONFIG", "GET", "save"])
    assert password not in box.exec("cat", "/proc/1/cmdline")


# --- tools -------------------------------------------------------------------------------------

def test_tools_hardened_has_the_backup_clients(images):
    script = ("pg_dump --version && mariadb-dump --version && sqlite3 --version && "
              "gpg --version && rsync --version && curl --version && python3 --version && id -u")
    out = docker("run", "--rm", "--user", image_user(images["tools"]), *HARDENED,
                 images["tools"], "sh", "-c", script)
    for expected in ("pg_dump (PostgreSQL)", "mariadb-dump", "gpg (GnuPG)", "rsync", "curl", "Python 3"):
        assert expected in out
    assert out.split()[-1] == image_user(images["tools"]).split(":")[0]
