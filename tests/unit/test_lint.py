"""ruff and mypy with the settings in pyproject.toml: part of the test command, so CI runs both."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)


def test_ruff_finds_nothing() -> None:
    done = _run(str(BIN / "ruff"), "check", ".")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_mypy_finds_nothing() -> None:
    done = _run(str(BIN / "mypy"))
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_mypy_is_strict_on_components_and_every_policy_module() -> None:
    """The policy pack's modules are top-level names (policy/ is on mypy_path): a new one must join the strict
    override, or it would be checked leniently without anyone noticing."""
    import tomllib

    mypy = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert "policy" in mypy["files"] and "components" in mypy["files"]
    strict = [o for o in mypy["overrides"] if o.get("disallow_untyped_defs") and o.get("disallow_any_generics")
              and o.get("warn_return_any") and o.get("disallow_untyped_calls")]
    modules = {m for o in strict for m in o["module"]}
    wanted = {"components", "components.*"} | {p.stem for p in (ROOT / "policy").glob("*.py")}
    assert wanted <= modules, sorted(wanted - modules)
