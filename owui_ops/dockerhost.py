"""Which Docker daemon, and how to reach it over SSH exactly as the docker provider does.

The stack key `openwebui:docker` names the daemon (`host`: unix:// or ssh://user@host[:port]) and, for ssh://,
the host's public key (`hostKey`); the secret `openwebui:dockerSshKey` is the identity. Everything that talks to
Docker for a stack gets them from there: the docker provider (`host`, `sshOpts`), the command steps (their
environment: DOCKER_HOST and OWUI_DOCKER_SSH_OPTS) and the operator's ops commands (the stack's config).

The connection. terraform-provider-docker v4.5.0 (`internal/provider/config.go`, MakeClient) connects to an
ssh:// host through docker/cli's connection helper (`cli/connhelper/connhelper.go` v28.5.2,
getConnectionHelper; `cli/connhelper/ssh/ssh.go` Spec.args): for every connection it runs
`ssh [-l user] [-p port] <sshOpts> -o ConnectTimeout=30 -T -- host docker system dial-stdio` and speaks the
Engine API over that process's stdin and stdout. The docker CLI does the same for DOCKER_HOST=ssh:// but takes no
SSH options (`cli/context/docker/load.go` calls GetConnectionHelper without them), so it could not check the
host key the stack pins. The ops commands therefore hand the CLI a unix socket in a private directory whose every
connection runs that same ssh command (`Relay`): the same daemon as the provider, the same host-key check.

Host key: `StrictHostKeyChecking=yes` and no known_hosts file of the user's; the one pinned key comes from
`KnownHostsCommand` (OpenSSH >= 8.5, run without a shell: `/bin/echo <host> <key>`), so the options are the same
text on every run (the provider's config does not change between runs) and need no file. Host-key checking is
never turned off.

Identity: an ssh-agent started for the run (`agent`), in a 0700 directory removed at the end; the key reaches it
on ssh-add's stdin and lives only in the agent's memory: never in an argument, a file, a log or the state.
Whoever runs the real plugin needs the same (ssh takes the identity from SSH_AUTH_SOCK).
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Optional
from urllib.parse import urlsplit

# The step environment (components/docker_host.py sets them on every command resource).
HOST_ENV = "DOCKER_HOST"
SSH_OPTS_ENV = "OWUI_DOCKER_SSH_OPTS"
# ssh-keygen's key types a host key may have (PROTOCOL.key / sshkey.c keytypes).
HOST_KEY_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
                  "ssh-rsa", "rsa-sha2-256", "rsa-sha2-512")
# Upstream's defaults it appends unless given (connhelper.go addSSHTimeout, disablePseudoTerminalAllocation).
CONNECT_TIMEOUT = "-o ConnectTimeout=30"


@dataclass(frozen=True)
class SshTarget:
    """An ssh:// Docker host, split as docker/cli's ssh.Spec does (user, host, port, socket path)."""

    user: str
    host: str
    port: str
    path: str

    @classmethod
    def parse(cls, url: str) -> SshTarget:
        parts = urlsplit(url)
        if parts.scheme != "ssh":
            raise ValueError(f"{url!r} is not an ssh:// address")
        if parts.password is not None:
            raise ValueError("a password in the address is not supported: use an SSH key")
        if parts.query or parts.fragment:
            raise ValueError("query parameters and fragments are not allowed")
        if not parts.hostname:
            raise ValueError("the host name is empty")
        port = str(parts.port) if parts.port else ""
        return cls(user=parts.username or "", host=parts.hostname, port=port, path=parts.path)

    def known_hosts_name(self) -> str:
        """How ssh names the host in known_hosts (`[host]:port` for a port other than 22)."""
        return self.host if self.port in ("", "22") else f"[{self.host}]:{self.port}"

    def ssh_argv(self, ssh_opts: list[str], *remote: str) -> list[str]:
        """`ssh ...` running `remote` on the host: docker/cli ssh.go Spec.args, then Command."""
        argv = ["ssh"]
        if self.user:
            argv += ["-l", self.user]
        if self.port:
            argv += ["-p", self.port]
        return [*argv, *with_upstream_defaults(ssh_opts), "--", self.host, " ".join(remote)]

    def dial_stdio_argv(self, ssh_opts: list[str]) -> list[str]:
        """The provider's connection: connhelper.go (a socket path in the URL becomes --host=unix://...)."""
        remote = ["docker", "system", "dial-stdio"]
        if self.path.strip("/"):
            remote = ["docker", f"--host=unix://{self.path}", "system", "dial-stdio"]
        return self.ssh_argv(ssh_opts, *remote)


def with_upstream_defaults(ssh_opts: list[str]) -> list[str]:
    """connhelper.go: `-o ConnectTimeout=30` unless a ConnectTimeout is given, and `-T` unless given."""
    flags = list(ssh_opts)
    if "ConnectTimeout" not in "".join(flags):
        flags.append(CONNECT_TIMEOUT)
    if "-T" not in flags:
        flags.append("-T")
    return flags


def host_key_problem(host_key: str) -> Optional[str]:
    """Why `host_key` is not one public key line `<type> <base64>` (as in the host's /etc/ssh/*.pub)."""
    fields = host_key.split()
    if len(fields) < 2:
        return "must be the host's public key, e.g. the first two fields of /etc/ssh/ssh_host_ed25519_key.pub"
    kind, blob = fields[0], fields[1]
    if kind not in HOST_KEY_TYPES:
        return f"key type {kind!r} is not one of {', '.join(HOST_KEY_TYPES)}"
    try:
        decoded = base64.b64decode(blob, validate=True)
    except ValueError:
        return "the key is not valid base64"
    # The blob starts with its own type name (RFC 4253 6.6): a key pasted with the wrong type is caught here.
    if len(decoded) < 4 or decoded[4:4 + int.from_bytes(decoded[:4], "big")].decode(errors="replace") != (
            "ssh-rsa" if kind.startswith("rsa-sha2") else kind):
        return f"the key data is not a {kind} key"
    return None


def private_key_problem(private_key: str) -> Optional[str]:
    """Why `private_key` cannot be loaded into an agent without a prompt (never quoting it)."""
    text = private_key.strip()
    begin, end = "-----BEGIN OPENSSH PRIVATE KEY-----", "-----END OPENSSH PRIVATE KEY-----"
    if not (text.startswith(begin) and text.endswith(end)):
        return "must be an OpenSSH private key (ssh-keygen -t ed25519 writes one), from -----BEGIN OPENSSH..."
    try:
        body = base64.b64decode("".join(text[len(begin):-len(end)].split()), validate=True)
    except ValueError:
        return "the key body is not valid base64"
    magic = b"openssh-key-v1\0"
    if not body.startswith(magic) or len(body) < len(magic) + 4:
        return "is not an openssh-key-v1 key"
    size = int.from_bytes(body[len(magic):len(magic) + 4], "big")
    cipher = body[len(magic) + 4:len(magic) + 4 + size]
    # PROTOCOL.key: ciphername "none" for an unencrypted key; ssh-add would prompt for anything else.
    if cipher != b"none":
        return "is protected by a passphrase: store it without one (it is a Pulumi secret already)"
    return None


def ssh_opts(target: SshTarget, host_key: str) -> list[str]:
    """The SSH options for the provider's `sshOpts` and every relay: strict checking of the one pinned key."""
    kind, blob = host_key.split()[:2]
    return ["-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", f"KnownHostsCommand=/bin/echo {target.known_hosts_name()} {kind} {blob}",
            "-o", "BatchMode=yes"]


# ------------------------------------------------------------------------------------------------------------
# The identity: an ssh-agent for the run


@contextlib.contextmanager
def agent(private_key: str) -> Iterator[dict[str, str]]:
    """An ssh-agent holding `private_key` for the duration: yields {SSH_AUTH_SOCK: ...}; the agent is killed and
    its 0700 directory removed afterwards."""
    directory = tempfile.mkdtemp(prefix="owui-ssh-")
    os.chmod(directory, 0o700)
    sock = os.path.join(directory, "agent.sock")
    process = subprocess.Popen(["ssh-agent", "-D", "-a", sock], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        _wait_for_socket(sock, process)
        env = {"SSH_AUTH_SOCK": sock}
        # `ssh-add -` reads the key from stdin (ssh-add(1)): no file, no argument.
        added = subprocess.run(["ssh-add", "-q", "-"], input=private_key.strip() + "\n", text=True,
                               capture_output=True, env={**os.environ, **env}, check=False, timeout=30)
        if added.returncode != 0:
            raise RuntimeError("ssh-add refused the stack's dockerSshKey (is it an unencrypted OpenSSH key?)")
        yield env
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(directory, ignore_errors=True)


def _wait_for_socket(path: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if os.path.exists(path):
            return
        if process.poll() is not None:
            raise RuntimeError(f"ssh-agent exited: {(process.stderr.read() if process.stderr else b'').decode()}")
        threading.Event().wait(0.05)
    raise RuntimeError("ssh-agent did not create its socket")


# ------------------------------------------------------------------------------------------------------------
# The connection for the docker CLI: a unix socket whose connections each run the provider's ssh command


class Relay:
    """Listen on `<directory>/docker.sock`; each accepted connection is piped to a fresh
    `ssh ... docker system dial-stdio` (upstream's commandconn: one process per connection)."""

    def __init__(self, argv: list[str], directory: str) -> None:
        self.argv = argv
        self.path = os.path.join(directory, "docker.sock")
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        os.chmod(self.path, 0o600)
        self.server.listen(64)
        self.closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True, name="docker-ssh-relay").start()

    @property
    def docker_host(self) -> str:
        return f"unix://{self.path}"

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        process = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, bufsize=0)
        assert process.stdin is not None and process.stdout is not None

        def upstream() -> None:  # client -> ssh; the client's half-close closes ssh's stdin (CloseWrite)
            try:
                while chunk := client.recv(65536):
                    process.stdin.write(chunk)  # type: ignore[union-attr]
            except OSError:
                pass
            finally:
                with contextlib.suppress(OSError):
                    process.stdin.close()  # type: ignore[union-attr]

        sender = threading.Thread(target=upstream, daemon=True)
        sender.start()
        try:
            while chunk := process.stdout.read(65536):
                client.sendall(chunk)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_WR)
            sender.join(timeout=5)
            client.close()
            if process.poll() is None:
                process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
            # ssh's own words when it refused (e.g. "Host key verification failed."): the CLI only sees EOF.
            complaint = process.stderr.read().decode(errors="replace").strip() if process.stderr else ""
            if process.returncode not in (0, None, -signal.SIGTERM) and complaint:
                print(f"docker over ssh: {complaint[-500:]}", file=sys.stderr, flush=True)

    def close(self) -> None:
        self.closed.set()
        with contextlib.suppress(OSError):
            self.server.close()


_ACTIVE: list[Relay] = []


def connect_env(env: Mapping[str, str]) -> dict[str, str]:
    """The docker CLI's environment for the daemon `env` names: for an ssh:// DOCKER_HOST with SSH options
    (OWUI_DOCKER_SSH_OPTS, JSON), DOCKER_HOST becomes a relay socket of this process; otherwise unchanged."""
    host = env.get(HOST_ENV, "")
    if not host.startswith("ssh://"):
        return {}
    options = json.loads(env.get(SSH_OPTS_ENV) or "[]")
    target = SshTarget.parse(host)
    directory = tempfile.mkdtemp(prefix="owui-docker-")  # 0700
    atexit.register(shutil.rmtree, directory, True)
    relay = Relay(target.dial_stdio_argv(list(options)), directory)
    _ACTIVE.append(relay)
    return {HOST_ENV: relay.docker_host}


def activate() -> None:
    """Point this process (and every docker CLI it starts) at the stack's daemon through the relay."""
    os.environ.update(connect_env(os.environ))


def stack_environment(host: Optional[str], options: list[str]) -> dict[str, str]:
    """The step environment naming the daemon (components/docker_host.py)."""
    if not host:
        return {}
    return {HOST_ENV: host, **({SSH_OPTS_ENV: json.dumps(options)} if options else {})}


def main(argv: list[str]) -> int:
    """`python3 -m owui_ops docker ARGS`: the docker CLI on the stack's daemon (cli.main activated the relay)."""
    return subprocess.run(["docker", *argv], check=False).returncode
