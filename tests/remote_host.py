"""The second Docker host reachable only over SSH (scripts/remote-docker-host): its address, pinned host key and
the key made for the test, for the remote-host tests (tests/doubles, tests/e2e)."""

from __future__ import annotations

import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.prerequisites import unavailable

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "remote-docker-host"


@dataclass(frozen=True)
class RemoteHost:
    host: str          # ssh://owui-deploy@10.216.0.2
    host_key: str      # `ssh-ed25519 AAAA...`
    private_key: str   # the test's key (root's 0600 file)
    socket: str        # the remote dockerd's socket, for the test's own look at that daemon

    def docker(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """The remote daemon looked at directly (root on this machine): to check what the stack made there."""
        done = subprocess.run(["docker", "-H", f"unix://{self.socket}", *args], capture_output=True, text=True,
                              timeout=timeout, check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"remote docker {' '.join(args)}: {done.stderr}")
        return done


def remote_host() -> RemoteHost:
    """The host scripts/setup --test-servers started, or skip (fail under CI=true)."""
    done = subprocess.run([str(SCRIPT), "env"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        unavailable("the remote Docker host is not available", "scripts/remote-docker-host up (scripts/setup)")
    values = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    values = {k: shlex.split(v)[0] if v else "" for k, v in values.items()}
    socket = values["OWUI_REMOTE_SOCKET"]
    if subprocess.run(["docker", "-H", f"unix://{socket}", "info"], capture_output=True).returncode != 0:
        unavailable("the remote Docker host's dockerd is not running", "scripts/remote-docker-host up")
    return RemoteHost(host=values["OWUI_REMOTE_HOST"], host_key=values["OWUI_REMOTE_HOST_KEY"],
                      private_key=Path(values["OWUI_REMOTE_KEY_FILE"]).read_text(encoding="utf-8"), socket=socket)
