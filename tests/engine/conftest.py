"""Fixtures for the engine-lite tests: the real CLI, isolated backends, database servers, stand-in plugins.

Without the CLI (or a database server) the tests skip, except under CI=true, where that is a failure.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.engine.lite import Engine, EngineUnavailable, cli_root, pins, toolchain_env  # noqa: E402


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


# -- database servers (scripts/db-servers), same variables and defaults as tests/real ----------------------


def unique(prefix: str = "owui_t") -> str:
    return f"{prefix}_{secrets.token_hex(4)}"


@dataclass
class Pg:
    host: str
    port: int
    admin_user: str
    admin_password: str
    roles: list[str] = field(default_factory=list)
    databases: list[str] = field(default_factory=list)

    def connect(self, user: str | None = None, password: str | None = None, dbname: str = "postgres") -> Any:
        import psycopg2

        conn = psycopg2.connect(host=self.host, port=self.port, user=user or self.admin_user,
                                password=password if user else self.admin_password, dbname=dbname,
                                connect_timeout=5)
        conn.autocommit = True
        return conn

    def run(self, statement: Any, params: tuple = ()) -> list[tuple]:
        with contextlib.closing(self.connect()) as conn, conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchall() if cur.description else []

    def can_login(self, user: str, password: str, dbname: str) -> bool:
        import psycopg2

        try:
            self.connect(user, password, dbname).close()
            return True
        except psycopg2.OperationalError:
            return False

    def cleanup(self) -> None:
        from psycopg2 import sql

        for db in self.databases:
            self.run(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db)))
        for role in self.roles:
            if self.run("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)):
                self.run(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
                self.run(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


@dataclass
class My:
    host: str
    port: int
    admin_user: str
    admin_password: str
    users: list[tuple[str, str]] = field(default_factory=list)
    databases: list[str] = field(default_factory=list)

    def connect(self, user: str | None = None, password: str | None = None, database: str | None = None) -> Any:
        import pymysql

        return pymysql.connect(host=self.host, port=self.port, user=user or self.admin_user,
                               password=password if user else self.admin_password, database=database,
                               connect_timeout=5, autocommit=True, charset="utf8mb4")

    def run(self, statement: str, params: tuple = ()) -> list[tuple]:
        with contextlib.closing(self.connect()) as conn, conn.cursor() as cur:
            cur.execute(statement, params)
            return list(cur.fetchall())

    def can_login(self, user: str, password: str, database: str) -> bool:
        import pymysql

        try:
            self.connect(user, password, database).close()
            return True
        except pymysql.MySQLError:
            return False

    def cleanup(self) -> None:
        for db in self.databases:
            self.run("DROP DATABASE IF EXISTS `" + db.replace("`", "``") + "`")
        for user, host in self.users:
            self.run("DROP USER IF EXISTS %s@%s", (user, host))


@pytest.fixture()
def pg() -> Iterator[Pg]:
    import psycopg2

    server = Pg(host=os.environ.get("OWUI_TEST_PG_HOST", "127.0.0.1"),
                port=int(os.environ.get("OWUI_TEST_PG_PORT", "5432")),
                admin_user=os.environ.get("OWUI_TEST_PG_ADMIN_USER", "owui_admin"),
                admin_password=os.environ.get("OWUI_TEST_PG_ADMIN_PASSWORD", "owui-test-admin"))
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

    server = My(host=os.environ.get("OWUI_TEST_MYSQL_HOST", "127.0.0.1"),
                port=int(os.environ.get("OWUI_TEST_MYSQL_PORT", "3306")),
                admin_user=os.environ.get("OWUI_TEST_MYSQL_ADMIN_USER", "owui_admin"),
                admin_password=os.environ.get("OWUI_TEST_MYSQL_ADMIN_PASSWORD", "owui-test-admin"))
    try:
        server.connect().close()
    except pymysql.MySQLError as exc:
        unavailable(f"MariaDB at {server.host}:{server.port} is not usable: {exc}", "run scripts/db-servers")
    yield server
    server.cleanup()
