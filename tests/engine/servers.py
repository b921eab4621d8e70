"""The PostgreSQL and MariaDB servers of scripts/db-servers, as the engine tests use them: admin connections,
logins as the app, and cleanup of what a test names. Where they are (pg_settings, my_settings) and the names tests
give their objects (unique) serve tests/real too."""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass, field
from typing import Any


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

    def run(self, statement: Any, params: tuple = (), dbname: str = "postgres") -> list[tuple]:
        with contextlib.closing(self.connect(dbname=dbname)) as conn, conn.cursor() as cur:
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




def _settings(prefix: str, port: int) -> dict[str, Any]:
    """host, port, admin_user, admin_password from OWUI_TEST_<prefix>_*, with scripts/db-servers' defaults."""
    return {"host": os.environ.get(f"OWUI_TEST_{prefix}_HOST", "127.0.0.1"),
            "port": int(os.environ.get(f"OWUI_TEST_{prefix}_PORT", str(port))),
            "admin_user": os.environ.get(f"OWUI_TEST_{prefix}_ADMIN_USER", "owui_admin"),
            "admin_password": os.environ.get(f"OWUI_TEST_{prefix}_ADMIN_PASSWORD", "owui-test-admin")}


def pg_settings() -> dict[str, Any]:
    return _settings("PG", 5432)


def my_settings() -> dict[str, Any]:
    return _settings("MYSQL", 3306)


def pg_from_env() -> Pg:
    return Pg(**pg_settings())


def my_from_env() -> My:
    return My(**my_settings())
