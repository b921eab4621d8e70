"""`owui_ops move-database` (issue 16) against the real servers, run by Open WebUI 0.12.4's Python (the cached venv
of test_openwebui_migrations), as it runs inside the app image.

The source is a SQLite database made by Open WebUI's own migrations with the rows the app writes (users with auth,
chats with messages, a file, a knowledge base with a nested directory, a model, a function, config rows).

MariaDB: 0.12.4's migrations cannot create a MySQL schema (its async engine has no MySQL driver, internal/db.py
_make_async_url; with that bypassed, the first revision fails "VARCHAR requires a length on dialect mysql",
measured here), so the open-webui-next image's migrations are stood in for by the source's schema translated to
MariaDB (lengths on key columns, everything else as declared) and stamped at the same head.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from components.db_url import build_database_url
from owui_ops.errors import secret_forms

from .conftest import MyServer, PgServer, PrivatePostgres, last_json
from .test_openwebui_migrations import OPEN_WEBUI_HEAD, ROOT, owui_python, run_owui  # noqa: F401

APP_PASSWORD = "m0ve-p@ss:w/rd%"
TOO_LONG = "x" * 70000  # > 65535 bytes: what a MySQL TEXT holds


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _pymysql_overlay(tmp: Path) -> Path:
    """The app image installs PyMySQL (images/open-webui/requirements-extra.txt); the test venv has none: the
    project venv's pure-Python copy goes on PYTHONPATH."""
    import pymysql

    overlay = tmp / "overlay"
    if not overlay.exists():
        shutil.copytree(Path(pymysql.__file__).parent, overlay / "pymysql")
    return overlay


@pytest.fixture(scope="module")
def source_db(owui_python: str, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    tmp = tmp_path_factory.mktemp("source")
    path = tmp / "data" / "webui.db"
    result = run_owui(owui_python, build_database_url("sqlite", sqlite_path=str(path)), "upgrade", tmp)
    assert result.returncode == 0, result.stderr[-3000:]
    con = sqlite3.connect(path)
    bcrypt = "$2b$12$" + "A" * 53
    for i, (uid, email, role) in enumerate([("u-admin", "admin@example.com", "admin"),
                                             ("u-ann", "ann@example.com", "user")]):
        con.execute("INSERT INTO user (id, name, email, role, profile_image_url, last_active_at, updated_at, "
                    "created_at, settings, info) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (uid, f"Name {i} ü日本", email, role, "/user.png", 1_700_000_000 + i, 1_700_000_000,
                     1_700_000_000, json.dumps({"ui": {"theme": "dark"}}), None))
        con.execute("INSERT INTO auth (id, email, password, active) VALUES (?,?,?,?)", (uid, email, bcrypt, 1))
    for c in range(3):
        chat_id = f"chat-{c}"
        messages = {f"m{c}-{m}": {"id": f"m{c}-{m}", "role": "user" if m % 2 == 0 else "assistant",
                                  "content": f"message {m} of chat {c} — ✓ \"quoted\"", "parentId":
                                  f"m{c}-{m - 1}" if m else None} for m in range(4)}
        body = {"title": f"Chat {c}", "history": {"messages": messages, "currentId": f"m{c}-3"}}
        con.execute("INSERT INTO chat (id, user_id, title, chat, created_at, updated_at, archived, pinned, meta) "
                    "VALUES (?,?,?,?,?,?,?,?,?)", (chat_id, "u-ann", f"Chat {c}", json.dumps(body),
                                                   1_700_000_100 + c, 1_700_000_200 + c, 0, c == 1, "{}"))
        for m, message in enumerate(messages.values()):
            con.execute("INSERT INTO chat_message (id, chat_id, user_id, role, parent_id, content, done, created_at,"
                        " updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
                        (message["id"], chat_id, "u-ann", message["role"], message["parentId"],
                         json.dumps(message["content"]), 1, 1_700_000_300 + m, 1_700_000_300 + m))
    con.execute("INSERT INTO file (id, user_id, filename, path, meta, data, hash, created_at, updated_at) "
                "VALUES ('f-1','u-ann','notes.txt','/app/backend/data/uploads/f-1_notes.txt',?,?,'abc',1,2)",
                (json.dumps({"name": "notes.txt", "size": 12}), json.dumps({"content": "hello world"})))
    con.execute("INSERT INTO knowledge (id, user_id, name, description, data, meta, created_at, updated_at) "
                "VALUES ('k-1','u-ann','Docs','d',?,NULL,1,2)", (json.dumps({"file_ids": ["f-1"]}),))
    # The child's id sorts before its parent's: a key-order copy would break the self-referencing foreign key.
    con.execute("INSERT INTO knowledge_directory (id, knowledge_id, parent_id, name, user_id, created_at, "
                "updated_at) VALUES ('d-a','k-1','d-z','child','u-ann',1,1), ('d-z','k-1',NULL,'root','u-ann',1,1)")
    con.execute("INSERT INTO knowledge_file (id, user_id, knowledge_id, file_id, created_at, updated_at, "
                "directory_id) VALUES ('kf-1','u-ann','k-1','f-1',1,1,'d-a')")
    con.execute("INSERT INTO model (id, user_id, base_model_id, name, params, meta, is_active, created_at, "
                "updated_at) VALUES ('my-model','u-admin','llama3','My model','{\"temperature\": 0.2}',"
                "'{\"description\": \"x\"}',1,1,2)")
    con.execute("INSERT INTO function (id, user_id, name, type, content, meta, valves, is_active, is_global, "
                "created_at, updated_at) VALUES ('fn-1','u-admin','Filter','filter','class Filter: pass','{}',"
                "'{}',1,0,1,2)")
    # A setting set to None: JSON null in a NOT NULL column (the app writes these), unlike knowledge.meta's SQL NULL.
    for key, value in [("ui.enable_signup", False), ("ui.default_user_role", "pending"),
                       ("webui.name", "Moved WebUI"), ("ui.unset_setting", None)]:
        con.execute("INSERT OR REPLACE INTO config (key, value, updated_at) VALUES (?,?,?)",
                    (key, json.dumps(value), 5))
    con.execute("INSERT INTO config_old (id, data, version, created_at, updated_at) VALUES "
                "(7, ?, 0, '2024-05-01 10:11:12.000000', '2024-05-01 10:11:12.000000')",
                (json.dumps({"ui": {"enable_signup": False}}),))
    con.commit()
    con.close()
    return path


def copy_source(source_db: Path, tmp_path: Path) -> Path:
    path = tmp_path / "data" / "webui.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source_db, path)
    return path


def run_move(python: str, source: Path, target_url: str, tmp_path: Path, *args: str,
             script: str | None = None, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOURCE_DATABASE_URL": build_database_url("sqlite", sqlite_path=str(source)),
           "TARGET_DATABASE_URL": target_url, "WEBUI_SECRET_KEY": "test-secret-key-not-for-production",
           "DATA_DIR": str(tmp_path / "data"), "BACKUP_DIR": str(tmp_path / "backups"),
           "ENABLE_DB_MIGRATIONS": "false", "OFFLINE_MODE": "true", "HOME": str(tmp_path),
           "PYTHONPATH": f"{ROOT}:{_pymysql_overlay(tmp_path)}", **(extra_env or {})}
    env.pop("DATABASE_URL", None)
    argv = [python, "-c", script] if script else [python, "-m", "owui_ops", "move-database", "--json", *args]
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert APP_PASSWORD not in result.stdout + result.stderr
    return result


def my_target(my: MyServer, source: Path) -> tuple[str, str]:
    """An empty utf8mb4 database at Open WebUI's head (see the module docstring for why not by its migrations)."""
    database, url = my.app_database(APP_PASSWORD)
    head_schema_for_mysql(url, source)
    return database, url


def head_schema_for_mysql(url: str, source: Path) -> None:
    """Stands in for the open-webui-next image's migrations: the source's schema translated to MySQL (lengths on
    key columns, everything else as declared), stamped at the same head."""
    from sqlalchemy import Column, ForeignKeyConstraint, MetaData, String, Table, create_engine, text
    from sqlalchemy.pool import NullPool

    smeta = MetaData()
    smeta.reflect(bind=create_engine(f"sqlite:///{source}", poolclass=NullPool))
    tmeta = MetaData()
    for table in smeta.sorted_tables:
        keyed = {c.name for c in table.primary_key.columns} | {fk.parent.name for fk in table.foreign_keys}
        columns = []
        for col in table.columns:
            coltype = col.type
            if (col.name in keyed or type(coltype).__name__ == "VARCHAR") and not getattr(coltype, "length", None) \
                    and type(coltype).__name__ in ("TEXT", "VARCHAR"):
                coltype = String(255)
            columns.append(Column(col.name, coltype, primary_key=col.primary_key, nullable=col.nullable,
                                  autoincrement=col.primary_key and type(col.type).__name__ == "INTEGER"))
        Table(table.name, tmeta, *columns, *[ForeignKeyConstraint(list(fk.constraint.column_keys),
                                                           [e.target_fullname for e in fk.constraint.elements])
                                     for fk in table.foreign_keys])
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        tmeta.create_all(conn)
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": OPEN_WEBUI_HEAD})
    engine.dispose()


def assert_moved(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr[-3000:]
    moved = last_json(result)
    tables = moved["tables"]
    assert all(t["equal"] for t in tables.values()), {n: t for n, t in tables.items() if not t["equal"]}
    counts = {name: tables[name]["target_rows"] for name in ("user", "auth", "chat", "chat_message", "file",
                                                              "knowledge", "knowledge_directory", "knowledge_file",
                                                              "model", "function", "config_old")}
    assert counts == {"user": 2, "auth": 2, "chat": 3, "chat_message": 12, "file": 1, "knowledge": 1,
                      "knowledge_directory": 2, "knowledge_file": 1, "model": 1, "function": 1, "config_old": 1}
    assert tables["config"]["target_rows"] >= 3
    assert Path(moved["backup"]).is_file()
    return moved


def test_move_to_postgresql(owui_python: str, source_db: Path, pg: PgServer, tmp_path: Path) -> None:  # noqa: F811
    source = copy_source(source_db, tmp_path)
    before = sha(source)
    database, url = pg.app_database(APP_PASSWORD)
    moved = assert_moved(run_move(owui_python, source, url, tmp_path))
    assert moved["target_state"] == "empty" and moved["revision"] == OPEN_WEBUI_HEAD
    assert sha(source) == before
    q = lambda sql: pg.query(sql, dbname=database)  # noqa: E731
    assert q("SELECT version_num FROM alembic_version") == [(OPEN_WEBUI_HEAD,)]
    # Real JSON, real booleans, timestamps as timestamps; the marker is gone.
    assert q("SELECT chat->'history'->>'currentId', pinned FROM chat WHERE id='chat-1'") == [("m1-3", True)]
    assert q("SELECT value::text FROM config WHERE key='ui.enable_signup'") == [("false",)]
    assert q("SELECT value IS NULL, value::text FROM config WHERE key='ui.unset_setting'") == [(False, "null")]
    assert q("SELECT meta IS NULL FROM knowledge WHERE id='k-1'") == [(True,)]
    assert str(q("SELECT created_at FROM config_old")[0][0]) == "2024-05-01 10:11:12"
    assert not q("SELECT 1 FROM pg_tables WHERE tablename='owui_move_in_progress'")
    # The sequence is past the copied id: the app's next insert does not collide.
    q("INSERT INTO config_old (data, version) VALUES ('{}', 1)")
    assert q("SELECT max(id) FROM config_old") == [(8,)]

    # A second move into the now filled target is refused and changes nothing.
    again = run_move(owui_python, source, url, tmp_path)
    assert again.returncode == 10 and "not empty" in again.stderr
    assert q("SELECT count(*) FROM chat_message") == [(12,)]


def test_move_to_mariadb(owui_python: str, source_db: Path, my: MyServer, tmp_path: Path) -> None:  # noqa: F811
    source = copy_source(source_db, tmp_path)
    before = sha(source)
    database, url = my_target(my, source)
    moved = assert_moved(run_move(owui_python, source, url, tmp_path))
    assert moved["target_state"] == "head-empty"
    assert sha(source) == before
    assert my.query(f"SELECT JSON_VALUE(chat, '$.history.currentId'), pinned FROM `{database}`.chat "
                    "WHERE id='chat-1'") == [("m1-3", 1)]
    assert my.query(f"SELECT name FROM `{database}`.user WHERE id='u-admin'") == [("Name 0 ü日本",)]
    assert my.query(f"SELECT value FROM `{database}`.config WHERE `key`='ui.unset_setting'") == [("null",)]
    assert my.query(f"SELECT meta IS NULL FROM `{database}`.knowledge WHERE id='k-1'") == [(1,)]
    my.query(f"INSERT INTO `{database}`.config_old (data, version, created_at, updated_at) "
             "VALUES ('{}', 1, NOW(), NOW())")
    assert my.query(f"SELECT max(id) FROM `{database}`.config_old") == [(8,)]


def test_dry_run_names_what_mariadb_cannot_hold(owui_python: str, source_db: Path,  # noqa: F811
                                                my: MyServer, tmp_path: Path) -> None:
    source = copy_source(source_db, tmp_path)
    with sqlite3.connect(source) as con:
        con.execute("UPDATE chat SET title=? WHERE id='chat-2'", (TOO_LONG,))
    before = sha(source)
    database, url = my_target(my, source)
    dry = run_move(owui_python, source, url, tmp_path, "--dry-run")
    assert dry.returncode == 11, dry.stderr[-3000:]
    found = last_json(dry)
    assert found["problems"] == [{"table": "chat", "column": "title", "row": "id='chat-2'",
                                  "problem": "70000 bytes, the MySQL column holds 65535"}]
    assert found["tables"]["chat_message"] == {"rows": 12, "problems": []}
    assert not (tmp_path / "backups").exists()  # writes nothing, not even a backup
    assert my.query(f"SELECT count(*) FROM `{database}`.chat") == [(0,)]
    assert ("owui_move_in_progress",) not in my.query(f"SHOW TABLES FROM `{database}`")
    # The real move stops at that row, naming it, and leaves the source as it was.
    real = run_move(owui_python, source, url, tmp_path)
    assert real.returncode == 11 and "chat.title at id='chat-2'" in real.stderr
    assert sha(source) == before


INTERRUPT = """
import os, sys, psycopg2
from owui_ops import movedb
done = []
def drop_target(table):
    done.append(table)
    if len(done) == 5:  # the target's server drops our connections half-way
        admin = psycopg2.connect(os.environ["ADMIN_DSN"]); admin.autocommit = True
        admin.cursor().execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE datname = %s AND pid <> pg_backend_pid()", (os.environ["TARGET_DB"],))
        admin.close()
try:
    movedb.move(movedb.parse_args([]), on_table_done=drop_target)
except movedb.Fail as failure:
    print(failure.code, len(done)); print(failure, file=sys.stderr); sys.exit(0)
sys.exit("the move did not fail")
"""


def test_interrupted_move_leaves_the_source_and_a_rerun_completes(owui_python: str,  # noqa: F811
                                                                  source_db: Path, pg: PgServer,
                                                                  tmp_path: Path) -> None:
    source = copy_source(source_db, tmp_path)
    before = sha(source)
    database, url = pg.app_database(APP_PASSWORD)
    admin = f"host={pg.host} port={pg.port} user={pg.admin_user} password={pg.admin_password} dbname=postgres"
    cut = run_move(owui_python, source, url, tmp_path, script=INTERRUPT,
                   extra_env={"ADMIN_DSN": admin, "TARGET_DB": database})
    assert cut.returncode == 0, cut.stderr[-3000:]
    # The cut surfaces at the first statement on the dropped connection: the next table with rows or a sequence.
    code, tables_done = cut.stdout.split()
    assert code == "12" and 5 <= int(tables_done) < 20 and "run the same command again" in cut.stderr
    assert sha(source) == before
    q = lambda sql: pg.query(sql, dbname=database)  # noqa: E731
    assert q("SELECT count(*) FROM auth") == [(2,)] and q("SELECT count(*) FROM chat_message") == [(0,)]  # half-way
    left = pg.query("SELECT tablename FROM pg_tables WHERE tablename='owui_move_in_progress'", dbname=database)
    assert left == [("owui_move_in_progress",)]  # the next run may start this target over

    moved = assert_moved(run_move(owui_python, source, url, tmp_path))
    assert moved["target_state"] == "ours"
    assert sha(source) == before


# The copy as `python3 -m owui_ops move-database --json` runs it (its own error printing and exit code), with the
# target's server stopped for real once five tables are in: `pg_ctl stop -m immediate`, every backend ended at once.
STOP_SERVER = """
import json, os, subprocess, sys
from owui_ops import movedb
done = []
def stop_server(table):
    done.append(table)
    if len(done) == 5:
        subprocess.run(json.loads(os.environ["STOP_SERVER"]), check=True, capture_output=True, timeout=60)
real_copy = movedb.copy
movedb.copy = lambda *args: real_copy(*args[:5], on_table_done=stop_server)
code = movedb.main(["--json"])
print(json.dumps({"code": code, "tables_done": len(done)}))
"""


def test_target_server_stopped_half_way_then_started_a_rerun_completes(owui_python: str,  # noqa: F811
                                                                        source_db: Path,
                                                                        private_pg: PrivatePostgres,
                                                                        tmp_path: Path) -> None:
    server = PgServer(**private_pg.settings)
    source = copy_source(source_db, tmp_path)
    before = sha(source)
    database, url = server.app_database(APP_PASSWORD)
    cut = run_move(owui_python, source, url, tmp_path, script=STOP_SERVER,
                   extra_env={"STOP_SERVER": json.dumps(private_pg.stop_command("immediate"))})
    assert cut.returncode == 0, cut.stderr[-3000:]
    # The stop surfaces at the first statement after it: the next table with rows or a sequence.
    stopped = last_json(cut)
    assert stopped["code"] == 12 and 5 <= stopped["tables_done"] < 20, cut.stderr[-3000:]
    assert not private_pg.running()
    # What the operator reads: the server by name (no URL, no password in any form), the source unchanged, what to do.
    [error] = [line for line in cut.stderr.splitlines() if "ERROR" in line]
    print(error)
    role = server.created_roles[-1]
    assert f"the target server (postgresql {role}@127.0.0.1:{server.port}/{database}) stopped answering during " \
           "the copy" in error, error
    assert "The source was only read and is unchanged" in error
    assert "when the server answers again" in error and "run the same command again" in error
    everything = cut.stdout + cut.stderr
    for secret in (*secret_forms(APP_PASSWORD), *secret_forms(server.admin_password)):
        assert secret not in everything
    assert url not in everything and "://" not in error
    assert sha(source) == before

    private_pg.start()
    q = lambda sql: server.query(sql, dbname=database)  # noqa: E731
    # Half-way: the tables before the stop committed, the one in flight rolled back, the marker left for the re-run.
    assert q("SELECT count(*) FROM auth") == [(2,)] and q("SELECT count(*) FROM chat_message") == [(0,)]
    assert q("SELECT count(*) FROM owui_move_in_progress") == [(0,)]

    moved = assert_moved(run_move(owui_python, source, url, tmp_path))
    assert moved["target_state"] == "ours"
    assert q("SELECT stack, state FROM owui_move_record") == [("", "moved")]
    assert sha(source) == before
