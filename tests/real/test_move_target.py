"""The target of `scripts/owui move-database` on the real servers (owui_ops/movestack.py provision, the database
guard's record lookup in components/providers/database_kind.py):

- PostgreSQL: the role and database made by the program's own providers with a one-time password; a re-run of an
  interrupted move takes them again; `up`'s provider create then adopts them (they carry the stack's marker) and
  sets the stack's password, after which the one-time password no longer logs in.
- MariaDB: the database (utf8mb4) and account made the same way; a re-run adopts an empty database or one holding
  an interrupted move's marker; a database with someone else's tables is refused, naming adoptExisting.
- The guard reads the move record on both servers: none before the move, `moved` after, `rolled-back` after the
  rollback marks it.
"""

from __future__ import annotations

from typing import Any

import pytest

from components.providers.database_kind import DatabaseKindProvider
from owui_ops import dburl, movedb, movestack
from owui_ops.errors import Fail

from .conftest import MyServer, PgServer


def guard(admin: str) -> DatabaseKindProvider:
    provider = DatabaseKindProvider("openwebui:databaseAdminPassword", "OWUI_PG_ADMIN_PASSWORD")
    provider._admin_password = admin
    return provider


def record_move(url: str, state: str = "moved") -> None:
    """What movedb writes when a move is verified (and what --mark-rolled-back changes)."""
    from sqlalchemy import update

    engine = movedb.make_engine(dburl.parse(url))
    try:
        with engine.begin() as conn:
            movedb.write_record(conn, dburl.parse("sqlite:////app/backend/data/webui.db"), ["0bd252b206fb"], {})
            if state != "moved":
                table = movedb.record_table()
                conn.execute(update(table).values(state=state))
    finally:
        engine.dispose()


def props(kind: str, server: Any, name: str) -> dict[str, Any]:
    return {"stack": "", "type": kind, "host": server.host, "port": server.port, "adminUser": server.admin_user,
            "name": name, "connectTimeout": 5}


def test_postgresql_target_made_by_the_providers_and_taken_over_by_up(pg: PgServer, monkeypatch) -> None:
    import psycopg2

    from components.providers.postgresql import PostgresRoleProvider

    monkeypatch.setenv("OWUI_STACK", "")
    role, database = pg.role(), pg.db()
    db = movestack.target_settings({"type": "postgresql", "host": pg.host, "port": pg.port, "name": database,
                                    "user": role, "adminUser": pg.admin_user, "sslMode": "disable"})
    movestack.provision(db, pg.admin_password, "one-time-pass-1")
    movestack.provision(db, pg.admin_password, "one-time-pass-2")  # a re-run after an interrupted move
    connect = lambda pw: psycopg2.connect(host=pg.host, port=pg.port, user=role, password=pw,  # noqa: E731
                                          dbname=database, connect_timeout=5)
    connect("one-time-pass-2").close()
    assert pg.query(f"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{database}'") == [(role,)]

    kinds = guard(pg.admin_password)
    assert kinds.read_record(props("postgresql", pg, database)) is None
    url = movestack.container_url(db, "one-time-pass-2")  # no containerHost: the host itself
    record_move(url)
    assert kinds.read_record(props("postgresql", pg, database))["state"] == "moved"
    sqlite = {"stack": "", "type": "sqlite"}
    assert kinds.refusal(sqlite, props("postgresql", pg, database)) is None
    record_move(url, "rolled-back")
    assert kinds.refusal(props("postgresql", pg, database), sqlite) is None

    # `up`: the role provider's create as the engine runs it, with the stack's generated password.
    provider = PostgresRoleProvider("openwebui:databaseAdminPassword", "OWUI_PG_ADMIN_PASSWORD")
    provider._admin_password = pg.admin_password
    server = {"host": pg.host, "port": pg.port, "adminUser": pg.admin_user, "maintenanceDb": "postgres",
              "sslMode": "disable", "connectTimeout": 5}
    out = provider.create({**server, "name": role, "password": "the-stacks-password", "database": database,
                           "adoptExisting": False})
    assert out.outs["adopted"] is True
    connect("the-stacks-password").close()
    with pytest.raises(psycopg2.OperationalError):
        connect("one-time-pass-2")


def test_mariadb_target_made_by_the_providers(my: MyServer, monkeypatch) -> None:
    import pymysql

    monkeypatch.setenv("OWUI_STACK", "")
    user, database = my.user(), my.db()
    db = movestack.target_settings({"type": "mysql", "host": my.host, "port": my.port, "name": database,
                                    "user": user, "adminUser": my.admin_user, "userHost": "127.0.0.1",
                                    "sslMode": "disable"})
    movestack.provision(db, my.admin_password, "one-time-pass-1")
    assert my.query("SELECT default_character_set_name FROM information_schema.schemata WHERE schema_name = %s",
                    (database,)) == [("utf8mb4",)]
    movestack.provision(db, my.admin_password, "one-time-pass-2")  # empty: ours, a re-run adopts it
    my.query(f"CREATE TABLE `{database}`.`{movedb.MARKER}` (started VARCHAR(40))")
    movestack.provision(db, my.admin_password, "one-time-pass-3")  # an interrupted move's marker: ours
    pymysql.connect(host=my.host, port=my.port, user=user, password="one-time-pass-3", database=database,
                    connect_timeout=5).close()

    kinds = guard(my.admin_password)
    assert kinds.read_record(props("mysql", my, database)) is None
    record_move(movestack.container_url(db, "one-time-pass-3"))
    assert kinds.read_record(props("mysql", my, database))["state"] == "moved"
    assert kinds.refusal({"stack": "", "type": "sqlite"}, props("mysql", my, database)) is None

    my.query(f"DROP TABLE `{database}`.`{movedb.MARKER}`")  # the record alone: a database someone filled
    with pytest.raises(Fail, match="adoptExisting"):
        movestack.provision(db, my.admin_password, "one-time-pass-4")
