"""The docker CLI, as the double's one way to the daemon (DOCKER_HOST and the provider's ``host`` apply)."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

# Set by Configure from the provider's `host` input; otherwise the docker CLI's own DOCKER_HOST/context.
HOST: dict[str, str] = {}


def docker(*args: str, check: bool = True, timeout: float = 600, env: dict[str, str] | None = None,
           stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **HOST, **(env or {})}
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
    done = subprocess.run(["docker", "system", "dial-stdio"], input=request, capture_output=True,
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
