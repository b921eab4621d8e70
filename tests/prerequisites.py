"""What a suite needs but a machine may lack (Docker, a database server, the CLI, chromium): the tests skip
without it, except under CI=true, where scripts/setup must provide everything and a missing part is a failure."""

from __future__ import annotations

import os
import subprocess
from typing import NoReturn

import pytest


def unavailable(message: str, hint: str) -> NoReturn:
    """Skip (or, under CI=true, fail) for want of a prerequisite; `hint` says how to provide it."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: {hint})")
    pytest.skip(f"{message}; {hint}")


def require(command: list[str], what: str) -> None:
    """`command` must succeed, or `what` is unavailable."""
    if subprocess.run(command, capture_output=True).returncode != 0:
        unavailable(f"{what} is not available (`{' '.join(command)}` failed)", "scripts/setup must provide it")

