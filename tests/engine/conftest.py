"""Fixtures for the engine-lite tests: the real CLI, isolated backends, database servers, stand-in plugins.

Without the CLI (or a database server) the tests skip, except under CI=true, where that is a failure.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.engine.lite import Engine, EngineUnavailable, cli_root, pins, toolchain_env  # noqa: E402
from tests.engine.servers import My, Pg, my_from_env, pg_from_env  # noqa: E402


def unavailable(message: str, hint: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: {hint})")
    pytest.skip(f"{message}; {hint}")


@dataclass(frozen=True)
class Toolchain:
    env: dict[str, str]  # PATH and engine switches from scripts/pulumi-toolchain --engine-lite --env
    root: Path  # root/bin/pulumi, for auto.PulumiCommand


@pytest.fixture(scope="session")
def toolchain(tmp_path_factory: pytest.TempPathFactory) -> Toolchain:
    try:
        env = toolchain_env()
        root = cli_root(env, tmp_path_factory.mktemp("cli"))
    except EngineUnavailable as exc:
        unavailable(f"no Pulumi CLI: {exc}", "scripts/pulumi-toolchain --engine-lite must succeed")
    return Toolchain(env, root)


@pytest.fixture()
def engine(toolchain: Toolchain, tmp_path: Path) -> Engine:
    return Engine.create(toolchain.env, toolchain.root, tmp_path)


@pytest.fixture(scope="session")
def stand_in_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pulumi-resource-{docker,random,command} launchers for tests/engine/stand_in_provider.py, at the pinned
    versions. The engine takes a plugin found on PATH before looking for an installed one."""
    directory = tmp_path_factory.mktemp("stand-ins")
    versions = pins()
    script = Path(__file__).with_name("stand_in_provider.py")
    for package in ("docker", "random", "command"):
        launcher = directory / f"pulumi-resource-{package}"
        launcher.write_text(
            "#!/bin/sh\n"
            f"exec '{ROOT / 'venv' / 'bin' / 'python'}' -u '{script}' {package} {versions[f'pulumi-{package}']} \"$@\"\n",
            encoding="utf-8",
        )
        launcher.chmod(launcher.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return directory


@pytest.fixture()
def engine_with_stand_ins(toolchain: Toolchain, stand_in_dir: Path, tmp_path: Path) -> Engine:
    return Engine.create(toolchain.env, toolchain.root, tmp_path, extra_path=[stand_in_dir])


@pytest.fixture()
def pg() -> Iterator[Pg]:
    import psycopg2

    server = pg_from_env()
    try:
        server.connect().close()
    except psycopg2.Error as exc:
        unavailable(f"PostgreSQL at {server.host}:{server.port} is not usable: {str(exc).strip()[:200]}",
                    "run scripts/db-servers")
    yield server
    server.cleanup()


@pytest.fixture()
def my() -> Iterator[My]:
    import pymysql

    server = my_from_env()
    try:
        server.connect().close()
    except pymysql.MySQLError as exc:
        unavailable(f"MariaDB at {server.host}:{server.port} is not usable: {exc}", "run scripts/db-servers")
    yield server
    server.cleanup()
