"""A standalone deployment for the security checks, started with plain `docker run`.

Until the real engine can bring up the dev stack, the proxy is run here exactly as the program
would run it: nginx.conf from components/proxy.py, the container flags translated from
components/hardening.py's `hardened_container_args` (an unknown input fails loudly, so the two
cannot drift apart silently), the PIDs limit the program applies after create, a user-defined
network, ports published on 127.0.0.1 only. Secrets (TLS key, app secret key) reach `docker run`
through its environment (`-e NAME`), never as arguments.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import requests

from components.config import ProxySettings, ResourceSettings
from components.hardening import PIDS_LIMIT, ContainerProfile, hardened_container_args
from components.providers.selfsigned import generate_certificate
from components.proxy import APP_ALIAS, INTERMEDIATE_CIPHERS, NginxConfigArgs, render_nginx_conf
from deploy import local_images
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
START_NGINX = ROOT / "images" / "nginx" / "start-nginx"
ECHO_SCRIPT = Path(__file__).resolve().parent / "echo_upstream.py"
NGINX_IMAGE = ProxySettings().image
TOOLS_IMAGE = os.environ.get("OWUI_TOOLS_IMAGE", "openwebui-local/tools:1.1.0")
APP_IMAGE = local_images.app()
STACK_LABEL = "openwebui.stack"
# The negative control must really offer TLS 1.1: OpenSSL 3 needs @SECLEVEL=0 for it, and TLS 1.1
# has no AEAD suites, so it needs CBC suites the (ECDSA) certificate can serve.
TLS11_CIPHERS = f"{INTERMEDIATE_CIPHERS}:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:@SECLEVEL=0"


def docker(*args: str, env: Optional[dict[str, str]] = None, check: bool = True,
           timeout: float = 120) -> str:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **env} if env else None)
    if check and proc.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args[:3])}...: {proc.stderr.strip()[-1500:]}")
    return proc.stdout.strip()


def hardened_run_flags(profile: ContainerProfile) -> list[str]:
    """`docker run` flags equal to what the program gives docker.Container for this profile."""
    flags: list[str] = []
    for key, value in hardened_container_args(profile).items():
        if key == "user":
            flags += ["--user", value]
        elif key == "read_only":
            flags += ["--read-only"] if value else []
        elif key == "tmpfs":
            for path, options in value.items():
                flags += ["--tmpfs", f"{path}:{options}"]
        elif key == "capabilities":
            flags += [f"--cap-drop={cap}" for cap in value.drops or []]
            flags += [f"--cap-add={cap}" for cap in value.adds or []]
        elif key == "security_opts":
            flags += [f"--security-opt={opt}" for opt in value]
        elif key in ("memory", "memory_swap"):
            flags += [f"--{key.replace('_', '-')}={value}m"]
        elif key == "cpus":
            flags += [f"--cpus={value}"]
        elif key == "restart":
            flags += [f"--restart={value}"]
        elif key == "healthcheck":
            kind, *command = value.tests
            if kind != "CMD":
                raise ValueError(f"healthcheck form {kind} not translated")
            # docker run only takes the shell form; the test is the same command.
            flags += [f"--health-cmd={shlex.join(command)}", f"--health-interval={value.interval}",
                      f"--health-timeout={value.timeout}", f"--health-retries={value.retries}",
                      f"--health-start-period={value.start_period}"]
        elif key == "labels":
            flags += [f"--label={item.label}={item.value}" for item in value]
        elif key == "log_driver":
            flags += [f"--log-driver={value}"]
        elif key == "log_opts":
            flags += [f"--log-opt={k}={v}" for k, v in value.items()]
        elif key == "must_run":
            continue  # Pulumi-side: keep the container running; nothing to pass to docker
        elif key == "destroy_grace_seconds":
            continue  # used by the provider's delete (docker stop -t), not by `docker run`
        else:
            raise ValueError(f"hardened_container_args has {key!r}: teach {__file__} to pass it")
    # CIS 5.29: the program runs `docker update --pids-limit` right after create; same result.
    return flags + [f"--pids-limit={PIDS_LIMIT}"]


def tls_paths_written_by_image() -> tuple[str, str]:
    """Where images/nginx/start-nginx writes TLS_CERTIFICATE and TLS_PRIVATE_KEY."""
    script = START_NGINX.read_text()
    found = []
    for variable in ("TLS_CERTIFICATE", "TLS_PRIVATE_KEY"):
        match = re.search(rf'"\${variable}"\s*>\s*"\$dir/([^"]+)"', script)
        if not match:
            raise AssertionError(f"{START_NGINX} does not write {variable} to a file")
        found.append(f"/tmp/nginx/{match.group(1)}")
    return found[0], found[1]


def tls_paths_read_by_conf(conf: str) -> tuple[str, str]:
    cert = re.search(r"^\s*ssl_certificate\s+(\S+);", conf, flags=re.MULTILINE)
    key = re.search(r"^\s*ssl_certificate_key\s+(\S+);", conf, flags=re.MULTILINE)
    assert cert and key, "nginx.conf has no ssl_certificate / ssl_certificate_key"
    return cert.group(1), key.group(1)


def with_tls11_ciphers(conf: str) -> str:
    conf, count = re.subn(r"^(\s*)ssl_ciphers [^;]*;", rf"\1ssl_ciphers {TLS11_CIPHERS};", conf,
                          flags=re.MULTILINE)
    assert count == 1, "expected one ssl_ciphers line in the rendered negative-control conf"
    return conf


@dataclass
class Deployment:
    """Everything one module's tests run against; `stop()` removes all of it."""

    stack: str
    ca_file: Path
    tls: dict[str, str]
    networks: list[str] = field(default_factory=list)
    containers: dict[str, str] = field(default_factory=dict)  # purpose -> container name
    ports: dict[str, int] = field(default_factory=dict)  # purpose -> host port on 127.0.0.1

    def url(self, purpose: str) -> str:
        return f"https://localhost:{self.ports[purpose]}"

    def name(self, purpose: str) -> str:
        return f"{self.stack}-{purpose}"

    def network(self, purpose: str) -> str:
        network = self.name(purpose)
        docker("network", "create", "--driver", "bridge", "--label", f"{STACK_LABEL}={self.stack}", network)
        self.networks.append(network)
        return network

    def profile(self, role: str, image: str, user: str, memory_mb: int, cpus: float,
                health: list[str], **extra: Any) -> ContainerProfile:
        return ContainerProfile(role=role, environment="dev", stack=self.stack, image_ref=image, user=user,
                                memory_mb=memory_mb, cpus=cpus, health_command=health, **extra)

    def run(self, purpose: str, image: str, flags: Sequence[str], command: Sequence[str] = (),
            secret_env: Optional[dict[str, str]] = None, create_only: bool = False) -> str:
        name = self.name(purpose)
        secret_env = secret_env or {}
        args = ["create" if create_only else "run", *([] if create_only else ["-d"]), "--name", name,
                "--label", f"{STACK_LABEL}={self.stack}", *flags,
                *[f"--env={key}" for key in secret_env], image, *command]
        docker(*args, env=secret_env)
        self.containers[purpose] = name
        return name

    def start_proxy(self, purpose: str, network: str, conf: str) -> str:
        settings, limits = ProxySettings(), ResourceSettings().proxy
        port = self.ports.setdefault(purpose, free_port())
        http_port = self.ports.setdefault(f"{purpose}-http", free_port())
        profile = self.profile("proxy", NGINX_IMAGE, "101:101", limits.memory_mb, limits.cpus,
                               ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/"])
        flags = [*hardened_run_flags(profile), f"--network={network}",
                 f"--publish={settings.bind_ip}:{port}:8443", f"--publish={settings.bind_ip}:{http_port}:8080"]
        return self.run(purpose, NGINX_IMAGE, flags, secret_env={
            "NGINX_CONF": conf, "TLS_CERTIFICATE": self.tls["certificate_pem"],
            "TLS_PRIVATE_KEY": self.tls["private_key_pem"]})

    def start_echo(self, purpose: str, network: str) -> str:
        profile = self.profile("upstream", TOOLS_IMAGE, "1000:1000", 128, 0.25,
                               ["python3", "-c",
                                "import urllib.request as u; u.urlopen('http://127.0.0.1:8080/health', timeout=3)"])
        flags = [*hardened_run_flags(profile), f"--network={network}", f"--network-alias={APP_ALIAS}",
                 f"--mount=type=bind,source={ECHO_SCRIPT},target=/srv/echo_upstream.py,readonly"]
        return self.run(purpose, TOOLS_IMAGE, flags, ["python3", "/srv/echo_upstream.py", "8080"])

    def start_app(self, purpose: str, network: str, public_url: str) -> str:
        """The real Open WebUI (CORS is its business), hardened like the program's app container;
        its data on the /tmp tmpfs (a throwaway SQLite database)."""
        limits = ResourceSettings().app
        profile = self.profile("app", APP_IMAGE, "1000:1000", limits.memory_mb, limits.cpus,
                               ["curl", "-fsS", "http://127.0.0.1:8080/health"], health_start_period="120s",
                               tmpfs={"/tmp": "rw,noexec,nosuid,size=512m"})
        plain = {"WEBUI_URL": public_url, "CORS_ALLOW_ORIGIN": public_url, "DATA_DIR": "/tmp/data",
                 "ENABLE_SIGNUP": "false", "WEBUI_SESSION_COOKIE_SECURE": "true",
                 "WEBUI_AUTH_COOKIE_SECURE": "true", "WEBUI_SESSION_COOKIE_SAME_SITE": "strict",
                 "WEBUI_AUTH_COOKIE_SAME_SITE": "strict", "ENABLE_OLLAMA_API": "false",
                 "ENABLE_OPENAI_API": "false", "OFFLINE_MODE": "true"}
        flags = [*hardened_run_flags(profile), f"--network={network}", f"--network-alias={APP_ALIAS}",
                 *[f"--env={k}={v}" for k, v in plain.items()]]
        return self.run(purpose, APP_IMAGE, flags,
                        secret_env={"WEBUI_SECRET_KEY": secrets.token_urlsafe(32)})

    def wait_https(self, purpose: str, path: str = "/", seconds: float = 120,
                   want: Sequence[int] = (200,)) -> None:
        """Until GET `path` through the proxy answers one of `want`; fails early if a container exited."""
        deadline = time.monotonic() + seconds
        last: object = None
        while time.monotonic() < deadline:
            try:
                response = requests.get(self.url(purpose) + path, verify=str(self.ca_file), timeout=5)
                if response.status_code in want:
                    return
                last = response.status_code
            except requests.RequestException as err:
                last = err
            self.raise_if_exited()
            time.sleep(0.5)
        raise AssertionError(f"{self.url(purpose)}{path} not ready after {seconds}s: {last}\n{self.logs()}")

    def raise_if_exited(self) -> None:
        for purpose, name in self.containers.items():
            state = docker("inspect", "--format", "{{.State.Status}}", name, check=False)
            if state in ("exited", "dead"):
                raise AssertionError(f"{purpose} ({name}) exited:\n{docker('logs', '--tail', '30', name, check=False)}")

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n{docker('logs', '--tail', '20', name, check=False)}"
                         for name in self.containers.values())

    def stop(self) -> None:
        ids = docker("ps", "-aq", "--filter", f"label={STACK_LABEL}={self.stack}", check=False).split()
        if ids:
            docker("rm", "-f", *ids, check=False)
        for network in self.networks:
            docker("network", "rm", network, check=False)


def new_deployment(tmp_dir: Path) -> Deployment:
    stack = f"owui-sec-{secrets.token_hex(3)}"
    tls = generate_certificate("localhost", 90)
    ca_file = tmp_dir / "ca.pem"
    ca_file.write_text(tls["ca_certificate_pem"])
    return Deployment(stack=stack, ca_file=ca_file, tls=tls)


def proxy_conf(port: int, **overrides: Any) -> str:
    return render_nginx_conf(NginxConfigArgs(server_name="localhost", public_port=port, **overrides))


TLS11_PROTOCOLS = ["TLSv1.1", "TLSv1.2"]
HARDENED = ("proxy", "tls11-rendered", "tls11", "echo", "app", "app-proxy")
# Known, documented deviations on hardened containers (reasons in cis_inspect): no AppArmor on
# this Docker host; restart=unless-stopped has no retry bound.
KNOWN_EXCEPTIONS = {"5.2", "5.15"}
BAD_CREATED_FLAGS = [
    "--privileged", "--pid=host", "--ipc=host", "--uts=host", "--userns=host", "--network=host",
    "--cap-add=SYS_ADMIN", "--security-opt=seccomp=unconfined", "--security-opt=apparmor=unconfined",
    "--volume=/etc:/host-etc", "--volume=/var/run/docker.sock:/var/run/docker.sock:ro",
    "--mount=type=bind,source=/tmp,target=/shared,bind-propagation=rshared",
    "--cgroup-parent=/owui-sec-test", "--device=/dev/null:/dev/owui-null", "--restart=on-failure:10",
    "--user=0:0",
]
# Created, never started: nothing is actually published.
BAD_PORTS_FLAGS = ["--publish=1000:80", "--restart=on-failure:10"]


def start_everything(deployment: Deployment) -> None:
    """The test deployment (see test_security_standalone.py); waits for the proxies, not the app."""
    app_net, net = deployment.network("app-net"), deployment.network("net")
    app_port = deployment.ports.setdefault("app-proxy", free_port())
    deployment.start_app("app", app_net, f"https://localhost:{app_port}")
    deployment.start_proxy("app-proxy", app_net, proxy_conf(app_port))
    deployment.start_echo("echo", net)
    for purpose in ("proxy", "tls11-rendered", "tls11"):
        port = deployment.ports.setdefault(purpose, free_port())
        conf = proxy_conf(port, protocols_override=TLS11_PROTOCOLS if purpose != "proxy" else None)
        deployment.start_proxy(purpose, net, with_tls11_ciphers(conf) if purpose == "tls11" else conf)
    deployment.run("bad-defaults", TOOLS_IMAGE, ["--user=root"], ["sleep", "600"])
    deployment.run("bad-created", TOOLS_IMAGE, BAD_CREATED_FLAGS, ["true"], create_only=True)
    deployment.run("bad-ports", TOOLS_IMAGE, BAD_PORTS_FLAGS, ["true"], create_only=True)
    for purpose in ("proxy", "tls11-rendered", "tls11"):
        deployment.wait_https(purpose, "/health", seconds=60)
