"""Fixtures for tests against real PostgreSQL and MariaDB servers (started by scripts/db-servers).

Connection settings come from the environment with scripts/db-servers' defaults. Without a server the tests
skip, except under CI=true, where a missing server is a failure (CI must start them).
Every object a test creates carries a random ``owui_t_`` name and is dropped at teardown.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

from pulumi.dynamic import ConfigureRequest  # noqa: E402
from pulumi.dynamic.config import Config  # noqa: E402

from components.db_url import build_database_url  # noqa: E402
from tests.engine.servers import PG_BIN, PrivatePostgres, my_settings, pg_settings, unique  # noqa: E402
from tests.prerequisites import unavailable  # noqa: E402

ADMIN_KEY = "openwebui:databaseAdminPassword"
TLS_CA = os.environ.get("OWUI_TEST_TLS_CA", "/var/lib/owui-db-servers/tls/ca.pem")
SERVERS_HINT = "run scripts/db-servers before the tests"


def configured(provider: Any, admin_password: str) -> Any:
    """Hand the provider its admin password the way the engine does: through configure() and stack config."""
    provider.configure(ConfigureRequest(Config({ADMIN_KEY: admin_password}, "openwebui")))
    return provider


@dataclass
class PgServer:
    host: str
    port: int
    admin_user: str
    admin_password: str
    created_roles: list[str] = field(default_factory=list)
    created_dbs: list[str] = field(default_factory=list)

    def props(self, **over: Any) -> dict[str, Any]:
        from components.providers._common import ConfigKeys

        return {"host": self.host, "port": self.port, "adminUser": self.admin_user, "maintenanceDb": "postgres",
                "sslMode": None, "sslRootCert": None, "connectTimeout": 5,
                "configKeys": ConfigKeys().as_input(), **over}

    @contextlib.contextmanager
    def admin(self, dbname: str = "postgres") -> Iterator[Any]:
        import psycopg2

        conn = psycopg2.connect(host=self.host, port=self.port, user=self.admin_user,
                                password=self.admin_password, dbname=dbname, connect_timeout=5)
        conn.autocommit = True
        try:
            yield conn
        finally:
            conn.close()

    def query(self, sql: Any, params: tuple = (), dbname: str = "postgres") -> list[tuple]:
        with self.admin(dbname) as conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []

    def role(self, name: str | None = None) -> str:
        name = name or unique()
        self.created_roles.append(name)
        return name

    def db(self, name: str | None = None) -> str:
        name = name or unique()
        self.created_dbs.append(name)
        return name

    def app_database(self, password: str) -> tuple[str, str]:
        """A new, empty database owned by a new login role with `password`: (database, DATABASE_URL). The role
        is created with a SCRAM verifier, so the password itself never reaches the server."""
        from psycopg2 import sql
        from psycopg2.extensions import encrypt_password

        role, database = self.role(), self.db()
        with self.admin() as conn, conn.cursor() as cur:
            verifier = encrypt_password(password, role, scope=conn, algorithm="scram-sha-256")
            cur.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(verifier)))
            cur.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database), sql.Identifier(role)))
        return database, build_database_url("postgresql", host=self.host, port=self.port, name=database, user=role,
                                            password=password, connect_timeout=5)

    def cleanup(self) -> None:
        from psycopg2 import sql

        with self.admin() as conn, conn.cursor() as cur:
            for db in self.created_dbs:
                cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db)))
            for role in self.created_roles:
                cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
                if cur.fetchone():
                    cur.execute(sql.SQL("REASSIGN OWNED BY {} TO CURRENT_USER").format(sql.Identifier(role)))
                    cur.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
                    cur.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


@dataclass
class MyServer:
    host: str
    port: int
    admin_user: str
    admin_password: str
    created_users: list[tuple[str, str]] = field(default_factory=list)
    created_dbs: list[str] = field(default_factory=list)

    def props(self, **over: Any) -> dict[str, Any]:
        from components.providers._common import ConfigKeys

        return {"host": self.host, "port": self.port, "adminUser": self.admin_user, "sslMode": None,
                "sslCa": None, "connectTimeout": 5, "configKeys": ConfigKeys().as_input(), **over}

    @contextlib.contextmanager
    def admin(self) -> Iterator[Any]:
        import pymysql

        conn = pymysql.connect(host=self.host, port=self.port, user=self.admin_user, password=self.admin_password,
                               connect_timeout=5, autocommit=True, charset="utf8mb4")
        try:
            yield conn
        finally:
            conn.close()

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self.admin() as conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall())

    def user(self, host: str = "127.0.0.1", name: str | None = None) -> str:
        name = name or unique()
        self.created_users.append((name, host))
        return name

    def db(self, name: str | None = None) -> str:
        name = name or unique()
        self.created_dbs.append(name)
        return name

    def app_database(self, password: str) -> tuple[str, str]:
        """A new, empty utf8mb4 database and a new user (from 127.0.0.1) with every privilege on it and
        `password`: (database, DATABASE_URL)."""
        user, database = self.user(), self.db()
        self.query(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        self.query("CREATE USER %s@'127.0.0.1' IDENTIFIED BY %s", (user, password))
        self.query(f"GRANT ALL PRIVILEGES ON `{database}`.* TO %s@'127.0.0.1'", (user,))
        return database, build_database_url("mysql", host=self.host, port=self.port, name=database, user=user,
                                            password=password, connect_timeout=5)

    def cleanup(self) -> None:
        with self.admin() as conn, conn.cursor() as cur:
            for db in self.created_dbs:
                cur.execute("DROP DATABASE IF EXISTS `" + db.replace("`", "``").replace("%", "%%") + "`")
            cur.execute("SELECT User, Host FROM mysql.user WHERE User LIKE 'owui\\_t\\_%%'")
            for user, host in cur.fetchall():
                if any(user == u for u, _ in self.created_users):
                    cur.execute("DROP USER %s@%s", (user, host))


@pytest.fixture(scope="session")
def pg_params() -> dict[str, Any]:
    import psycopg2

    params = pg_settings()
    try:
        psycopg2.connect(host=params["host"], port=params["port"], user=params["admin_user"],
                         password=params["admin_password"], dbname="postgres", connect_timeout=5).close()
    except psycopg2.Error as exc:
        unavailable(f"PostgreSQL at {params['host']}:{params['port']} is not usable: {str(exc).strip()[:200]}",
                    SERVERS_HINT)
    return params


@pytest.fixture()
def pg(pg_params: dict[str, Any]) -> Iterator[PgServer]:
    server = PgServer(**pg_params)
    yield server
    server.cleanup()


@pytest.fixture()
def private_pg() -> Iterator[PrivatePostgres]:
    """A PostgreSQL cluster of this test's own, running: the test may stop it (tests/engine/servers.py)."""
    if not (PG_BIN / "initdb").is_file():
        unavailable(f"no initdb in {PG_BIN}", "scripts/setup --test-servers installs Debian's postgresql")
    with PrivatePostgres() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def my_params() -> dict[str, Any]:
    import pymysql

    params = my_settings()
    try:
        pymysql.connect(host=params["host"], port=params["port"], user=params["admin_user"],
                        password=params["admin_password"], connect_timeout=5).close()
    except pymysql.Error as exc:
        unavailable(f"MariaDB at {params['host']}:{params['port']} is not usable: {exc}", SERVERS_HINT)
    return params


@pytest.fixture()
def my(my_params: dict[str, Any]) -> Iterator[MyServer]:
    server = MyServer(**my_params)
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def tls_ca() -> str:
    if not Path(TLS_CA).is_file():
        unavailable(f"no test CA at {TLS_CA}", SERVERS_HINT)
    return TLS_CA


def last_json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """An ops tool's result: its last stdout line, JSON (progress goes to stderr)."""
    return json.loads(result.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A loopback TCP server that accepts connections and never answers: connect timeouts must fire."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in held:
            conn.close()
        sock.close()


# Passwords that break naive URL building or SQL quoting; all must work end to end.
HOSTILE_PASSWORDS = [
    "p@ss:w/rd%#'\"\\ü",
    "a b?c&d=e#f",
    "%41%25%",
    "'; DROP ROLE owui_admin; --",
    "\"quoted\" \\back\\slash\\",
    "日本語-пароль-ü",
]
