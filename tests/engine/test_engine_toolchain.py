"""scripts/pulumi-toolchain --engine-lite: the CLI with the Python dynamic-provider plugin beside it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from deploy.toolchain import ROOT, TOOLCHAIN, TOOLCHAIN_TIMEOUT_S

pytestmark = pytest.mark.engine

PLUGIN = "pulumi-resource-pulumi-python"


def run(*flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(TOOLCHAIN), *flags], capture_output=True, text=True, timeout=TOOLCHAIN_TIMEOUT_S,
                          check=False)


def test_engine_lite_bin_dir_holds_the_cli_and_the_dynamic_provider_plugin(toolchain) -> None:
    done = run("--engine-lite")
    assert done.returncode == 0, done.stderr[-2000:]
    bin_dir = Path(done.stdout.strip().splitlines()[-1])
    for name in ("pulumi", PLUGIN):
        assert os.access(bin_dir / name, os.X_OK), f"{name} is not an executable in {bin_dir}"
    # The upstream script: it runs the dynamic provider host of the installed SDK.
    assert "-m pulumi.dynamic" in (bin_dir / PLUGIN).read_text(encoding="utf-8")
    # Usage goes to stderr: where the plugin's python comes from and how to start the policy pack.
    assert "PULUMI_PYTHON_CMD" in done.stderr and "policy/run-pack" in done.stderr


def test_engine_lite_env_puts_the_project_venv_right_after_the_cli(toolchain) -> None:
    done = run("--engine-lite", "--env")
    assert done.returncode == 0, done.stderr[-2000:]
    path_line = next(line for line in done.stdout.splitlines() if line.startswith("export PATH="))
    entries = path_line.removeprefix("export PATH=").split(":")
    assert (Path(entries[0]) / PLUGIN).is_file()
    assert entries[1] == str(ROOT / "venv" / "bin")
    assert "export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true" in done.stdout
