"""Shared pieces of the bench/ scripts: a dev deployment on its own ports, health polling, results.md."""

from __future__ import annotations

import datetime
import os
import re
import shutil
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

# Run the benchmarks as modules from the repository root (`venv/bin/python -m bench.<name>`), which puts the
# root's packages (components, tests, owui_ops) on the path.
ROOT = Path(__file__).resolve().parent.parent

import requests  # noqa: E402

from tests.slot import Slot  # noqa: E402  (the benchmarks' deployments: their ports, subnets and names)

RESULTS = ROOT / "bench" / "results.md"


def dev_values(slot: Slot, image: str, backup_dir: Path) -> dict[str, Any]:
    """stacks/Pulumi.dev.yaml on this slot (tests/slot.py), with this image."""
    return {**slot.values("dev", backup_dir), "image": image}


def docker(*args: str, check: bool = False, timeout: int = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"docker {args[0]} failed: {proc.stderr.strip()[-1000:]}")
    return proc


def remove_deployment(slot: Slot) -> None:
    """Everything a deployment of this slot may have left: containers, network, volume."""
    ids = docker("ps", "-aq", "--filter", f"label=openwebui.stack={slot.stack}").stdout.split()
    if ids:
        docker("rm", "-f", *ids)
    docker("network", "rm", slot.network)
    docker("volume", "rm", "-f", slot.volume)


def wait_https_health(url: str, ca_file: Path, timeout: float = 300, interval: float = 0.25) -> float:
    """Poll GET /health through nginx, the stack CA verified, until 200; returns when it answered."""
    deadline = time.monotonic() + timeout
    last: object = None
    with requests.Session() as session:
        while time.monotonic() < deadline:
            try:
                response = session.get(f"{url}/health", verify=str(ca_file), timeout=5)
                if response.status_code == 200:
                    return time.monotonic()
                last = response.status_code
            except requests.RequestException as err:
                last = type(err).__name__
            time.sleep(interval)
    raise RuntimeError(f"{url}/health not 200 after {timeout:.0f}s (last: {last})")


def fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):7.1f} {min(values):7.1f} {max(values):7.1f}"


# The 1-minute load average when the bench started: what else the machine was doing (the runs add their own).
LOAD_AT_START = os.getloadavg()[0]


def machine() -> str:
    load = os.getloadavg()
    server = docker("version", "--format", "{{.Server.Version}}").stdout.strip()
    return (f"{os.cpu_count()} cores, Docker {server}, 1-min load average {LOAD_AT_START:.2f} before the runs, "
            f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at the end")


def today() -> str:
    return datetime.date.today().isoformat()


def write_section(name: str, text: str) -> None:
    """Replace (or add) this script's section of bench/results.md; other sections stay as they are."""
    begin, end = f"<!-- begin {name} -->", f"<!-- end {name} -->"
    block = f"{begin}\n{text.rstrip()}\n{end}\n"
    current = RESULTS.read_text() if RESULTS.exists() else (
        "# Benchmark results\n\nWritten by the scripts in bench/ (each replaces its own section).\n\n")
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end) + r"\n?", re.S)
    if pattern.search(current):
        current = pattern.sub(lambda _: block, current)
    else:
        current = current.rstrip("\n") + "\n\n" + block
    RESULTS.write_text(current)
