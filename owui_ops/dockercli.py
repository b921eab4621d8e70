"""The `docker` CLI, as every ops command calls it: through the daemon it is pointed at (DOCKER_HOST, its
context), never the local disk, so the same commands work against a remote Docker host."""

from __future__ import annotations

import subprocess
from typing import Optional

from owui_ops.errors import die, scrub


def docker(*args: str, check: bool = True, timeout: Optional[float] = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                            timeout=timeout)
    if check and result.returncode != 0:
        die(1, f"docker {args[0]} failed: {scrub(result.stderr.strip()[-1500:])}")
    return result
