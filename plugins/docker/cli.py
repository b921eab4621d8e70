"""The double's way to the daemon: the provider's ``host`` (else DOCKER_HOST) and, for ssh://, its ``sshOpts``
(rows D1, D4).

For an ssh:// host the Engine API connection is upstream's: terraform-provider-docker v4.5.0
`internal/provider/config.go` MakeClient dials through docker/cli `cli/connhelper/connhelper.go`
(GetConnectionHelperWithSSHOpts), which runs `ssh [-l user] [-p port] <sshOpts> -o ConnectTimeout=30 -T -- host
docker system dial-stdio` per connection (owui_ops.dockerhost.SshTarget.dial_stdio_argv builds exactly that). The
docker CLI the double also uses takes no SSH options of its own, so its calls go through a relay socket whose
connections run that same command (owui_ops.dockerhost.Relay). The identity comes from SSH_AUTH_SOCK, as for the
real plugin's ssh.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

from owui_ops import dockerhost

# Set by Configure from the provider's `host` input; otherwise the docker CLI's own DOCKER_HOST/context.
HOST: dict[str, str] = {}
# Set by Configure from the provider's `sshOpts` (only used with an ssh:// host, as upstream).
SSH_OPTS: list[str] = []
_RELAYS: dict[tuple[str, tuple[str, ...]], str] = {}


def _cli_env() -> dict[str, str]:
    """DOCKER_HOST for the docker CLI: the provider's host, through the relay when it is ssh://."""
    host = HOST.get("DOCKER_HOST", "")
    if not host.startswith("ssh://"):
        return dict(HOST)
    key = (host, tuple(SSH_OPTS))
    if key not in _RELAYS:
        _RELAYS[key] = dockerhost.connect_env({dockerhost.HOST_ENV: host,
                                               dockerhost.SSH_OPTS_ENV: json.dumps(SSH_OPTS)})[dockerhost.HOST_ENV]
    return {"DOCKER_HOST": _RELAYS[key]}


def _dial_argv() -> list[str]:
    host = HOST.get("DOCKER_HOST", "")
    if host.startswith("ssh://"):
        return dockerhost.SshTarget.parse(host).dial_stdio_argv(SSH_OPTS)
    return ["docker", "system", "dial-stdio"]


def docker(*args: str, check: bool = True, timeout: float = 600, env: dict[str, str] | None = None,
           stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **_cli_env(), **(env or {})}
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, env=full_env,
                          input=stdin, check=False)
    if check and done.returncode != 0:
        raise RuntimeError(f"docker {args[0]} {args[1] if len(args) > 1 else ''}: {done.stderr.strip()[-3000:]}")
    return done


def inspect(kind: str, ref: str) -> dict[str, Any] | None:
    """`docker <kind> inspect ref`, or None when there is no such object."""
    done = docker(kind, "inspect", ref, check=False)
    if done.returncode != 0:
        if "no such" in done.stderr.lower() or "not found" in done.stderr.lower():
            return None
        raise RuntimeError(f"docker {kind} inspect {ref}: {done.stderr.strip()}")
    found = json.loads(done.stdout)
    return found[0] if found else None


def api(method: str, path: str, body: Any = None, timeout: float = 600) -> Any:
    """One Engine API call through `docker system dial-stdio`: the same daemon connection the CLI would use
    (unix socket, TCP or ssh://), and the request body (which may hold secret env values) travels on a pipe,
    never in an argument list. Raises RuntimeError on a non-2xx answer."""
    payload = json.dumps(body).encode() if body is not None else b""
    request = (f"{method} /v1.41{path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n").encode() + payload
    done = subprocess.run(_dial_argv(), input=request, capture_output=True,
                          timeout=timeout, env={**os.environ, **HOST}, check=False)
    head, _, rest = done.stdout.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1."):
        raise RuntimeError(f"docker API {method} {path}: no answer ({done.stderr.decode(errors='replace')[-500:]})")
    status = int(head.split(b" ", 2)[1])
    headers = {line.split(b":", 1)[0].strip().lower(): line.split(b":", 1)[1].strip()
               for line in head.split(b"\r\n")[1:] if b":" in line}
    if headers.get(b"transfer-encoding") == b"chunked":
        rest = _unchunk(rest)
    text = rest.decode("utf-8", errors="replace")
    if not 200 <= status < 300:
        try:
            message = json.loads(text).get("message", text)
        except ValueError:
            message = text
        raise RuntimeError(f"Error response from daemon: {message.strip()}")
    return json.loads(text) if text.strip() else None


def _unchunk(data: bytes) -> bytes:
    out, position = b"", 0
    while True:
        end = data.find(b"\r\n", position)
        if end < 0:
            return out
        size = int(data[position:end].split(b";")[0], 16)
        if size == 0:
            return out
        out += data[end + 2:end + 2 + size]
        position = end + 2 + size + 2
