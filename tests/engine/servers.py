"""The PostgreSQL and MariaDB servers of scripts/db-servers, as the engine tests use them: admin connections,
logins as the app, and cleanup of what a test names. Where they are (pg_settings, my_settings) and the names tests
give their objects (unique) serve tests/real too. PrivatePostgres: a cluster of one test's own, for a test that
stops its server (the shared ones keep serving every other suite)."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.ports import free_port


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


PG_BIN = Path(os.environ.get("OWUI_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))  # Debian's postgresql-15


class PrivatePostgres:
    """A PostgreSQL cluster in a temporary directory, on a free port of its own with its socket directory beside
    the data: initdb, start, stop (as an operator or a crash stops it), start again, remove. Run as the `postgres`
    user when the tests run as root (initdb refuses root). Its admin user (owui_admin, a random password) logs in
    with SCRAM over TCP on 127.0.0.1 and, `for_containers`, on the Docker bridge's gateway from the bridge networks
    (containers reach it as host.docker.internal, as scripts/db-servers' server); no TLS."""

    ADMIN_USER = "owui_admin"

    def __init__(self, for_containers: bool = False) -> None:
        if not (PG_BIN / "initdb").is_file():
            raise RuntimeError(f"no initdb in {PG_BIN}: scripts/setup --test-servers installs Debian's postgresql")
        self.for_containers = for_containers
        self.port = free_port()
        self.admin_password = secrets.token_urlsafe(18)
        self.directory = Path(tempfile.mkdtemp(prefix="owui-private-pg-"))
        self.data = self.directory / "data"
        self.log = self.directory / "server.log"

    @property
    def settings(self) -> dict[str, Any]:
        """host, port, admin_user, admin_password: what Pg(...) and tests/real's PgServer(...) take."""
        return {"host": "127.0.0.1", "port": self.port, "admin_user": self.ADMIN_USER,
                "admin_password": self.admin_password}

    def command(self, *argv: str) -> list[str]:
        """argv as the cluster's owner (a test's subprocess may run it, e.g. to stop the server half-way)."""
        return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else list(argv)

    def stop_command(self, mode: str = "immediate") -> list[str]:
        """pg_ctl stop: `immediate` ends every backend at once, as a crash or a killed server does (the next start
        recovers); `fast` is an operator's clean stop."""
        return self.command(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def _run(self, argv: list[str]) -> None:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(argv[-3:])} failed: {result.stderr.strip()[-1000:]}\n{log}")

    def init(self) -> "PrivatePostgres":
        password_file = self.directory / "admin-password"
        password_file.write_text(self.admin_password)
        password_file.chmod(0o600)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
            shutil.chown(password_file, "postgres", "postgres")
        try:
            self._run(self.command(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", self.ADMIN_USER,
                                   f"--pwfile={password_file}", "--auth-local=peer", "--auth-host=scram-sha-256",
                                   "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"))
        finally:
            password_file.unlink()
        # Small and quick: a test's cluster (fsync off: a stop, even `immediate`, is no power loss).
        listen = ["127.0.0.1", *([docker_gateway()] if self.for_containers else [])]
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(f"\nlisten_addresses = '{','.join(listen)}'\nport = {self.port}\n"
                       f"unix_socket_directories = '{self.directory}'\nmax_connections = 30\n"
                       "shared_buffers = 16MB\nfsync = off\nfull_page_writes = off\n")
        (self.data / "pg_hba.conf").write_text(
            "local all all peer\nhost all all 127.0.0.1/32 scram-sha-256\n"
            # The stacks' bridge networks, as scripts/db-servers allows them.
            + ("host all all 172.16.0.0/12 scram-sha-256\n" if self.for_containers else ""))
        return self

    def start(self) -> None:
        self._run(self.command(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                               "start"))

    def stop(self, mode: str = "immediate") -> None:
        self._run(self.stop_command(mode))

    def running(self) -> bool:
        return subprocess.run(self.command(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "status"),
                              capture_output=True).returncode == 0

    def remove(self) -> None:
        if self.data.exists() and self.running():
            self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> "PrivatePostgres":
        try:
            self.init().start()
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def docker_gateway() -> str:
    """docker0's address: where `host.docker.internal:host-gateway` points from a container (scripts/db-servers
    listens there too; Docker 20.10's default bridge lists no gateway in `docker network inspect`)."""
    result = subprocess.run(["ip", "-4", "-o", "addr", "show", "dev", "docker0"], capture_output=True, text=True,
                            timeout=30)
    fields = result.stdout.split()
    if result.returncode != 0 or "inet" not in fields:
        raise RuntimeError(f"no IPv4 address on docker0 (is Docker running?): {result.stderr.strip()}")
    return fields[fields.index("inet") + 1].split("/")[0]
