"""Fixtures for the engine tests: the real CLI, isolated backends, database servers, the contract doubles.

Without the CLI (or a database server) the tests skip, except under CI=true, where that is a failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from deploy.plugins import DOUBLES  # noqa: E402
from tests.engine.lite import Engine, EngineUnavailable, cli_root, toolchain_env  # noqa: E402
from tests.engine.servers import My, Pg, my_from_env, pg_from_env  # noqa: E402
from tests.prerequisites import unavailable  # noqa: E402


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


@pytest.fixture()
def engine_with_doubles(toolchain: Toolchain, tmp_path: Path) -> Engine:
    """An engine whose docker, random and command plugins are the contract doubles (plugins/bin), as deploy/
    uses them where the real ones cannot be had."""
    return Engine.create(toolchain.env, toolchain.root, tmp_path, extra_path=[DOUBLES])


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
