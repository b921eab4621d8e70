"""The SSH identity of a stack whose Docker host is ssh:// (`openwebui:docker.host`): an ssh-agent for the run.

The docker provider (the real plugin as the double) and every step reach such a host with `ssh`, which takes the
identity from SSH_AUTH_SOCK (owui_ops/dockerhost.py). So each engine run of such a stack gets an agent of its
own, started here and stopped when the run ends: the key (the secret `openwebui:dockerSshKey`) comes from the
stack's config on a pipe, goes to `ssh-add -` on stdin and lives only in the agent's memory; the agent's socket
is in a 0700 directory removed with it. The engine, the plugins and the steps inherit SSH_AUTH_SOCK. Whoever runs
`pulumi up` without deploy/ does the same by hand (README, "Deploying to another Docker host").
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Optional

from deploy import stack_file
from owui_ops import dockerhost


def docker_host(work_dir: Path, stack: str) -> Optional[str]:
    """`openwebui:docker.host` as the stack file has it (a plain value), or None."""
    docker = stack_file.plain_value(work_dir, stack, "docker")
    if isinstance(docker, str):
        with contextlib.suppress(ValueError):
            docker = json.loads(docker)
    host = docker.get("host") if isinstance(docker, dict) else None
    return host if isinstance(host, str) else None


@contextlib.contextmanager
def identity(work_dir: Path, stack: str, read_secret: Callable[[str], Optional[str]]) -> Iterator[dict[str, str]]:
    """{SSH_AUTH_SOCK: ...} of an agent holding the stack's key while the block runs; {} for a local daemon.
    `read_secret(key)` returns the decrypted secret config value (from the CLI's stdout, never an argument)."""
    host = docker_host(work_dir, stack)
    if not host or not host.startswith("ssh://"):
        yield {}
        return
    key = read_secret("dockerSshKey")
    if not key:
        # The program refuses such a stack with the key's name before anything is created; nothing to load.
        yield {}
        return
    with dockerhost.agent(key) as env:
        yield env
