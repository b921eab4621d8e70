"""A double's start: the engine starts one plugin per package, one after another, on every preview and update,
so a double loads the SDK's generated protocol modules and not the SDK (plugins/sdk_protos.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import plugins.sdk_protos
from deploy.plugins import DOUBLES

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(package: str, tmp_path: Path) -> set[str]:
    """The modules a double's process imported before it printed its port (the plugin handshake)."""
    log = tmp_path / f"{package}-imports.txt"
    with log.open("w") as stderr:
        proc = subprocess.Popen([str(DOUBLES / f"pulumi-resource-{package}")], stdout=subprocess.PIPE,
                                stderr=stderr, cwd=ROOT, env={"PATH": "/usr/bin:/bin", "PYTHONPROFILEIMPORTTIME": "1"})
        try:
            assert proc.stdout is not None
            port = proc.stdout.readline().strip()
        finally:
            proc.kill()
            proc.wait()
    assert port.isdigit(), f"{package}: no port printed; stderr: {log.read_text()[-2000:]}"
    return {line.split("|")[-1].strip() for line in log.read_text().splitlines() if line.startswith("import time:")}


@pytest.mark.parametrize("package", ["docker", "random", "command"])
def test_a_double_starts_without_the_sdk(package: str, tmp_path: Path) -> None:
    modules = imported_modules(package, tmp_path)
    assert "pulumi.runtime.proto.provider_pb2" in modules
    sdk = sorted(m for m in modules if m.startswith(("pulumi.automation", "pulumi.resource", "pulumi.output",
                                                       "pulumi.runtime.settings", "pulumi.runtime.proto.engine_pb2")))
    assert sdk == []


def test_a_process_with_the_sdk_keeps_it() -> None:
    import pulumi

    plugins.sdk_protos.enter_parents_bare()
    assert sys.modules["pulumi"] is pulumi and hasattr(pulumi, "Output")
