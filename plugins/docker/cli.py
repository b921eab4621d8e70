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
