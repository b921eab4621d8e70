"""The one table of container hardening (CIS Docker Benchmark section 5), for declared and one-shot containers.

components/hardening.py turns it into pulumi-docker inputs for the app, proxy, Redis and backup containers;
`run_flags` turns it into `docker run` flags for the one-shot containers (migration, volume ownership, the
operator's backup/restore/status containers). One source, so a changed flag reaches both kinds
(tests/unit/test_hardening_source.py checks that they agree).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Optional

ROLE_LABEL = "openwebui.role"
ENVIRONMENT_LABEL = "openwebui.environment"
IMAGE_LABEL = "openwebui.image"
STACK_LABEL = "openwebui.stack"

READ_ONLY_ROOT = True
CAP_DROP = ("ALL",)
SECURITY_OPTS = ("no-new-privileges:true",)
# noexec: nothing the containers run comes from /tmp; nosuid as everywhere.
TMPFS = {"/tmp": "rw,noexec,nosuid,size=256m"}
LOG_DRIVER = "json-file"
LOG_OPTS = {"max-size": "10m", "max-file": "3"}
# CIS 5.29. Declared containers get it through `docker update` (pulumi-docker 5.x has no pids_limit input).
PIDS_LIMIT = 1024
# The app's user: upstream's image runs as root; ours and every stack container run as this uid:gid.
APP_USER = "1000:1000"


def cpus_flag(cpus: float) -> str:
    return f"{cpus:g}"


def run_flags(*, user: str, memory_mb: int, cpus: float, labels: Mapping[str, str],
              tmpfs: Optional[Mapping[str, str]] = None, pids_limit: int = PIDS_LIMIT,
              cap_add: Sequence[str] = ()) -> list[str]:
    """`docker run` flags with the same hardening as a declared container: a user, a read-only root with a
    tmpfs /tmp, every capability dropped (a one-shot that must chown adds back exactly that), no new
    privileges, memory (swap included), CPU and pids limits, bounded logs, and the stack's labels."""
    flags = ["--user", user]
    if READ_ONLY_ROOT:
        flags.append("--read-only")
    for path, options in (TMPFS if tmpfs is None else tmpfs).items():
        flags += ["--tmpfs", f"{path}:{options}"]
    for cap in CAP_DROP:
        flags += ["--cap-drop", cap]
    for cap in cap_add:
        flags += ["--cap-add", cap]
    for opt in SECURITY_OPTS:
        flags += ["--security-opt", opt]
    flags += ["--memory", f"{memory_mb}m", "--memory-swap", f"{memory_mb}m", "--cpus", cpus_flag(cpus),
              "--pids-limit", str(pids_limit), "--log-driver", LOG_DRIVER]
    for key, value in LOG_OPTS.items():
        flags += ["--log-opt", f"{key}={value}"]
    for key, value in labels.items():
        flags += ["--label", f"{key}={value}"]
    return flags
