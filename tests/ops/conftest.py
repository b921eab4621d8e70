"""Fixtures for the day-2 operations tests: Docker, the local images, real database servers, fake stacks.

Everything here needs Docker (marker `docker`); the PostgreSQL and MariaDB cases also need scripts/db-servers
(marker `realdb`). Without them the tests skip, except under CI=true, where that is a failure.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

ROOT = Path(__file__).resolve().parents[2]

from deploy import local_images  # noqa: E402
from tests.engine.servers import my_settings, pg_settings, unique  # noqa: E402
from tests.ops.fakestack import FakeStack, docker, quote, write_env_file  # noqa: E402
from tests.prerequisites import unavailable  # noqa: E402

# Passwords that break naive URL building, shell quoting or option files; they must survive end to end.
PG_PASSWORD = "p@ss:w/rd%#'\"\\ ü$(id)"
MY_PASSWORD = "p@ss:w/rd%#'\"\\ ?&=$(id)"
SETUP = "scripts/setup --test-servers must provide it"


@dataclass(frozen=True)
class Images:
    app: str
    previous_app: str
    tools: str


def _image_name(image: str, version: str = "") -> str:
    try:
        return local_images.name(image, version)
    except RuntimeError as exc:
        unavailable(str(exc), SETUP)


@pytest.fixture(scope="session")
def images() -> Images:
    try:
        info = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True,
                              timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        unavailable(f"no Docker engine: {exc}", SETUP)
    if info.returncode != 0:
        unavailable(f"no Docker engine (scripts/docker-up): {info.stderr.strip()[-300:]}", SETUP)
    found = Images(app=_image_name("open-webui", local_images.NEW_VERSION),
                   previous_app=_image_name("open-webui", local_images.OLD_VERSION),
                   tools=_image_name("tools"))
    for image in (found.app, found.previous_app, found.tools):
        if docker("image", "inspect", image, check=False).returncode != 0:
            unavailable(f"image {image} is not built (images/build)", SETUP)
    return found


@pytest.fixture
def make_stack(tmp_path: Path, images: Images) -> Iterator[Callable[..., FakeStack]]:
    made: list[FakeStack] = []

    def make(database_url: str = "sqlite:////app/backend/data/webui.db", image: str | None = None) -> FakeStack:
        name = f"t{secrets.token_hex(4)}"
        stack = FakeStack(name=name, work=tmp_path / name, database_url=database_url, image=image or images.app,
                          tools_image=images.tools, backup_dir=tmp_path / name / "backups")
        made.append(stack)
        return stack.create()

    yield make
    for stack in made:
        stack.teardown()


def run_tool(stack: FakeStack, *argv: str, env: dict[str, str] | None = None, mounts: tuple[str, ...] = (),
             database_url: str | None = None) -> subprocess.CompletedProcess:
    """The backup tool in the tools image, with the stack's volume and backup directory (as scripts/owui runs it)."""
    values = {"DATABASE_URL": database_url or stack.database_url, "BACKUP_DIR": "/backups",
              "DATA_DIR": "/app/backend/data", "HOME": "/tmp", "OWUI_STACK": stack.name,
              "OWUI_APP_IMAGE": stack.image, **(env or {})}
    env_file = write_env_file(stack.work / f"tool-env-{secrets.token_hex(3)}", values)
    try:
        command = ["docker", "run", "--rm", "--user", "1000:1000", "--read-only", "--tmpfs", "/tmp",
                   "--cap-drop", "ALL", "--security-opt", "no-new-privileges:true", "--network", stack.network,
                   "--add-host", "host.docker.internal:host-gateway", "--env-file", str(env_file),
                   "-v", f"{stack.volume}:/app/backend/data", "-v", f"{stack.backup_dir}:/backups"]
        for mount in mounts:
            command += ["-v", mount]
        command += [stack.tools_image, "python3", "-m", "owui_ops", "backup-tool", *argv]
        return subprocess.run(command, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    finally:
        env_file.unlink()


def in_volume(stack: FakeStack, script: str, *, image: str | None = None, user: str = "1000:1000") -> str:
    """Run a shell script against the stack's data volume (as the app's user unless told otherwise)."""
    result = docker("run", "--rm", "--user", user, "-v", f"{stack.volume}:/app/backend/data",
                    "--entrypoint", "sh", image or stack.tools_image, "-c", script)
    return result.stdout


# ---------------------------------------------------------------------------------------------------------------
# Real database servers (scripts/db-servers)


@dataclass
class ServerDatabase:
    kind: str
    name: str
    user: str
    password: str
    admin: Any

    def container_url(self) -> str:
        if self.kind == "postgresql":
            return f"postgresql://{self.user}:{quote(self.password)}@host.docker.internal:5432/{self.name}"
        return (f"mysql+pymysql://{self.user}:{quote(self.password)}@host.docker.internal:3306/{self.name}"
                "?charset=utf8mb4")

    def connect(self) -> Any:
        host = os.environ.get("OWUI_TEST_PG_HOST" if self.kind == "postgresql" else "OWUI_TEST_MYSQL_HOST",
                              "127.0.0.1")
        if self.kind == "postgresql":
            import psycopg2

            conn = psycopg2.connect(host=host, port=5432, user=self.user, password=self.password, dbname=self.name,
                                    connect_timeout=5)
        else:
            import pymysql

            return pymysql.connect(host=host, port=3306, user=self.user, password=self.password, database=self.name,
                                   connect_timeout=5, charset="utf8mb4", autocommit=True)
        conn.autocommit = True
        return conn

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return list(cur.fetchall()) if cur.description else []
        finally:
            conn.close()

    def recreate(self) -> None:
        """Drop the database and create it empty again, as a destroyed and re-deployed stack would have it."""
        self.admin.drop(self)
        self.admin.create(self)


class PgAdmin:
    def __init__(self) -> None:
        import psycopg2

        server = pg_settings()
        self.params = dict(host=server["host"], port=server["port"], user=server["admin_user"],
                           password=server["admin_password"], dbname="postgres", connect_timeout=5)
        try:
            psycopg2.connect(**self.params).close()
        except psycopg2.Error as exc:
            unavailable(f"PostgreSQL is not usable (scripts/db-servers): {str(exc).strip()[:200]}", SETUP)

    def run(self, *statements: Any) -> None:
        import psycopg2

        conn = psycopg2.connect(**self.params)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                for statement in statements:
                    cur.execute(statement)
        finally:
            conn.close()

    def create(self, db: ServerDatabase) -> None:
        from psycopg2 import sql

        self.run(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(db.name), sql.Identifier(db.user)))

    def drop(self, db: ServerDatabase) -> None:
        from psycopg2 import sql

        self.run(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db.name)))

    def new(self) -> ServerDatabase:
        from psycopg2 import sql

        db = ServerDatabase("postgresql", unique(), unique(), PG_PASSWORD, self)
        self.run(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(db.user), sql.Literal(db.password)))
        self.create(db)
        return db

    def remove(self, db: ServerDatabase) -> None:
        from psycopg2 import sql

        self.drop(db)
        self.run(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(db.user)))


class MyAdmin:
    def __init__(self) -> None:
        import pymysql

        server = my_settings()
        self.params = dict(host=server["host"], port=server["port"], user=server["admin_user"],
                           password=server["admin_password"], connect_timeout=5, autocommit=True, charset="utf8mb4")
        try:
            pymysql.connect(**self.params).close()
        except pymysql.Error as exc:
            unavailable(f"MariaDB is not usable (scripts/db-servers): {exc}", SETUP)

    def run(self, *statements: tuple[str, tuple]) -> None:
        import pymysql

        conn = pymysql.connect(**self.params)
        try:
            with conn.cursor() as cur:
                for statement, params in statements:
                    cur.execute(statement, params)
        finally:
            conn.close()

    def create(self, db: ServerDatabase) -> None:
        self.run((f"CREATE DATABASE `{db.name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci", ()),
                 (f"GRANT ALL PRIVILEGES ON `{db.name}`.* TO %s@'%%'", (db.user,)))

    def drop(self, db: ServerDatabase) -> None:
        self.run((f"DROP DATABASE IF EXISTS `{db.name}`", ()))

    def new(self) -> ServerDatabase:
        db = ServerDatabase("mysql", unique(), unique(), MY_PASSWORD, self)
        self.run(("CREATE USER %s@'%%' IDENTIFIED BY %s", (db.user, db.password)))
        self.create(db)
        return db

    def remove(self, db: ServerDatabase) -> None:
        self.drop(db)
        self.run(("DROP USER IF EXISTS %s@'%%'", (db.user,)))


@pytest.fixture(scope="session")
def pg_admin() -> PgAdmin:
    return PgAdmin()


@pytest.fixture(scope="session")
def my_admin() -> MyAdmin:
    return MyAdmin()


@pytest.fixture
def pg_database(pg_admin: PgAdmin) -> Iterator[ServerDatabase]:
    db = pg_admin.new()
    yield db
    pg_admin.remove(db)


@pytest.fixture
def my_database(my_admin: MyAdmin) -> Iterator[ServerDatabase]:
    db = my_admin.new()
    yield db
    my_admin.remove(db)
