"""owui-backup in the tools image against a data volume the open-webui image migrated, on SQLite, PostgreSQL and
MariaDB: backup -> list -> destroy the data -> restore -> the data is back; encryption; retention; failures;
the copy to a second location; the scheduled container."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
import time

import pytest

from tests.ops.conftest import MY_PASSWORD, PG_PASSWORD, ServerDatabase, in_volume, run_tool
from tests.ops.fakestack import FakeStack, docker

UPLOAD = "uploads/f-1_notes.txt"
CONTENT = "quarterly numbers " + "ü" * 10 + " " + secrets.token_hex(16)
NOW = 1_790_000_000
ROWS = [
    ('INSERT INTO "user" (id, name, email, role, created_at, updated_at, last_active_at) '
     "VALUES ('u-1', 'Alice', 'alice@example.com', 'user', 1, 1, 1)"),
    ("INSERT INTO auth (id, email, password, active) VALUES ('u-1', 'alice@example.com', '$2b$12$hash', true)"),
    ("INSERT INTO chat (id, user_id, title, created_at, updated_at, archived, chat, pinned, meta) VALUES "
     "('c-1', 'u-1', 'Plan ✓ 😀', 1, 1, false, '{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}', "
     "false, '{}')"),
    (f"INSERT INTO file (id, user_id, filename, path, created_at, updated_at, meta) VALUES "
     f"('f-1', 'u-1', 'notes.txt', '/app/backend/data/{UPLOAD}', 1, 1, '{{}}')"),
]
# MariaDB: Open WebUI 0.12.4 has no MySQL path (docs/operations.md), so the tables are made by hand in its shape.
MYSQL_SCHEMA = [
    "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)",
    "INSERT INTO alembic_version VALUES ('0bd252b206fb')",
    "CREATE TABLE `user` (id VARCHAR(255) PRIMARY KEY, name VARCHAR(255), email VARCHAR(255), role VARCHAR(255), "
    "created_at BIGINT, updated_at BIGINT, last_active_at BIGINT)",
    "CREATE TABLE auth (id VARCHAR(255) PRIMARY KEY, email VARCHAR(255), password TEXT, active BOOLEAN)",
    "CREATE TABLE chat (id VARCHAR(255) PRIMARY KEY, user_id VARCHAR(255), title TEXT, created_at BIGINT, "
    "updated_at BIGINT, archived BOOLEAN, chat JSON, pinned BOOLEAN, meta JSON)",
    "CREATE TABLE file (id VARCHAR(255) PRIMARY KEY, user_id VARCHAR(255), filename TEXT, path TEXT, "
    "created_at BIGINT, updated_at BIGINT, meta JSON, FOREIGN KEY (user_id) REFERENCES `user` (id))",
]


def sqlite_exec(stack: FakeStack, *statements: str) -> list:
    """Run SQL against the stack's SQLite file from the tools image; returns the last statement's rows."""
    script = ("import json, sqlite3, sys\n"
              "c = sqlite3.connect('/app/backend/data/webui.db')\n"
              "rows = []\n"
              "for s in json.load(sys.stdin):\n"
              "    rows = [list(r) for r in c.execute(s).fetchall()]\n"
              "c.commit()\nprint(json.dumps(rows))\n")
    result = subprocess_run(["docker", "run", "--rm", "-i", "--user", "1000:1000", "-v",
                             f"{stack.volume}:/app/backend/data", stack.tools_image, "python3", "-c", script],
                            json.dumps(statements))
    return json.loads(result)


def subprocess_run(argv: list[str], stdin: str) -> str:
    import subprocess

    result = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def write_upload(stack: FakeStack) -> None:
    in_volume(stack, f"mkdir -p /app/backend/data/uploads && printf '%s' '{CONTENT}' > /app/backend/data/{UPLOAD}")


def read_upload(stack: FakeStack) -> str:
    return in_volume(stack, f"cat /app/backend/data/{UPLOAD} 2>/dev/null || true")


def populated_sqlite(make_stack) -> FakeStack:
    stack = make_stack()
    stack.migrate()  # the open-webui image makes its real schema
    sqlite_exec(stack, *ROWS)
    write_upload(stack)
    return stack


def check_sqlite_data(stack: FakeStack) -> None:
    assert sqlite_exec(stack, 'SELECT email FROM "user" ORDER BY email') == [["alice@example.com"]]
    assert sqlite_exec(stack, "SELECT title FROM chat") == [["Plan ✓ 😀"]]
    assert sqlite_exec(stack, "SELECT filename FROM file") == [["notes.txt"]]
    assert read_upload(stack) == CONTENT


def backup_ok(stack: FakeStack, **kwargs) -> dict:
    result = run_tool(stack, "run", **kwargs)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def entries(stack: FakeStack) -> list[str]:
    return sorted(p.name for p in stack.backup_dir.iterdir() if p.name != ".lock")


# ---------------------------------------------------------------------------------------------------------------


def test_sqlite_backup_list_destroy_restore(make_stack):
    stack = populated_sqlite(make_stack)
    manifest = backup_ok(stack)
    assert manifest["database"] == {"type": "sqlite", "revision": "0bd252b206fb", "file": "database.sqlite3.gz"}
    folder = stack.backup_dir / manifest["name"]
    for item in manifest["files"]:  # the manifest describes exactly what is on disk
        data = (folder / item["name"]).read_bytes()
        assert len(data) == item["size"] and hashlib.sha256(data).hexdigest() == item["sha256"]
    listed = json.loads(run_tool(stack, "list").stdout)
    assert [(b["name"], b["kind"], b["revision"]) for b in listed] == [(manifest["name"], "full", "0bd252b206fb")]
    assert listed[0]["size"] == manifest["size"] and listed[0]["age_seconds"] < 120

    stack.destroy_data()
    stack.create_volume()
    stack.migrate()  # what a re-deployed stack has: an empty database at head
    assert sqlite_exec(stack, "SELECT count(*) FROM chat") == [[0]] and read_upload(stack) == ""

    result = run_tool(stack, "restore", manifest["name"])
    assert result.returncode == 0, result.stderr
    check_sqlite_data(stack)
    # The live database files were not in the archive; the restored database is a plain, complete file.
    names = in_volume(stack, "ls -a /app/backend/data").split()
    assert "webui.db" in names and not any(n.startswith(".owui-restore-") for n in names)


def test_sqlite_backup_while_the_app_writes_is_consistent(make_stack):
    stack = make_stack()
    stack.migrate()
    stack.start_app()
    api = stack.admin_api()
    stop = threading.Event()
    written: list[str] = []

    def write() -> None:
        while not stop.is_set():
            chat = api.post("/api/v1/chats/new", json={"chat": {"title": f"chat {len(written)}", "messages": []}})
            written.append(chat["id"])

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        manifests = [backup_ok(stack) for _ in range(3)]
    finally:
        stop.set()
        writer.join(timeout=60)
    assert len(written) > 3  # the app really wrote while the backups ran
    for manifest in manifests:
        assert json.loads(run_tool(stack, "verify", manifest["name"]).stdout)["verified"] == manifest["name"]
    # The newest backup restores to a database that holds a prefix of what was written, and passes its check.
    stack.destroy_data()
    stack.create_volume()
    assert run_tool(stack, "restore", manifests[-1]["name"]).returncode == 0
    restored = {row[0] for row in sqlite_exec(stack, "SELECT id FROM chat")}
    assert restored and restored <= set(written)
    assert sqlite_exec(stack, "PRAGMA integrity_check") == [["ok"]]


@pytest.mark.realdb
def test_postgresql_backup_list_destroy_restore(make_stack, pg_database: ServerDatabase):
    stack = make_stack(pg_database.container_url())
    stack.migrate()
    for statement in ROWS:
        pg_database.query(statement)
    write_upload(stack)
    manifest = backup_ok(stack)
    assert manifest["database"]["type"] == "postgresql" and manifest["database"]["revision"] == "0bd252b206fb"
    assert [b["name"] for b in json.loads(run_tool(stack, "list").stdout)] == [manifest["name"]]

    pg_database.recreate()
    stack.destroy_data()
    stack.create_volume()
    stack.migrate()
    pg_database.query("CREATE TABLE feature_from_a_newer_release (id int)")  # must not survive the restore
    assert pg_database.query("SELECT count(*) FROM chat") == [(0,)]

    result = run_tool(stack, "restore", manifest["name"])
    assert result.returncode == 0, result.stderr
    assert pg_database.query('SELECT email FROM "user"') == [("alice@example.com",)]
    assert pg_database.query("SELECT title FROM chat") == [("Plan ✓ 😀",)]
    assert pg_database.query("SELECT version_num FROM alembic_version") == [("0bd252b206fb",)]
    assert pg_database.query("SELECT to_regclass('feature_from_a_newer_release')") == [(None,)]
    assert read_upload(stack) == CONTENT
    assert PG_PASSWORD not in result.stderr + result.stdout


@pytest.mark.realdb
def test_postgresql_restore_is_all_or_nothing(make_stack, pg_database: ServerDatabase):
    stack = make_stack(pg_database.container_url())
    stack.migrate()
    pg_database.query(ROWS[0])
    manifest = backup_ok(stack)
    pg_database.query("DELETE FROM \"user\"")
    pg_database.query(ROWS[0].replace("u-1", "u-2").replace("alice", "carol"))
    # A damaged archive: the checksum check refuses it before anything is touched...
    dump = stack.backup_dir / manifest["name"] / "database.pgdump"
    os.chmod(dump, 0o644)
    data = dump.read_bytes()
    dump.write_bytes(data[: len(data) // 2])
    result = run_tool(stack, "restore", manifest["name"])
    assert result.returncode == 5 and "damaged" in result.stderr
    # ...and a truncated single-file dump (no checksum) fails inside the transaction, which is rolled back.
    single = stack.backup_dir / "20260101T000000000000Z-pre-migration.pgdump"
    single.write_bytes(data[: len(data) // 2])
    os.chown(single, 1000, 1000)
    result = run_tool(stack, "restore", single.name)
    assert result.returncode == 4
    assert pg_database.query('SELECT email FROM "user"') == [("carol@example.com",)]


@pytest.mark.realdb
def test_mariadb_backup_list_destroy_restore(make_stack, my_database: ServerDatabase):
    stack = make_stack(my_database.container_url())
    for statement in MYSQL_SCHEMA:
        my_database.query(statement)
    for statement in ROWS:
        my_database.query(statement.replace('INTO "user"', 'INTO `user`'))
    write_upload(stack)
    manifest = backup_ok(stack)
    assert manifest["database"] == {"type": "mysql", "revision": "0bd252b206fb", "file": "database.sql.gz"}
    assert [b["name"] for b in json.loads(run_tool(stack, "list").stdout)] == [manifest["name"]]

    my_database.recreate()
    stack.destroy_data()
    stack.create_volume()
    my_database.query("CREATE TABLE feature_from_a_newer_release (id int)")

    result = run_tool(stack, "restore", manifest["name"])
    assert result.returncode == 0, result.stderr
    assert my_database.query("SELECT email FROM `user`") == [("alice@example.com",)]
    assert my_database.query("SELECT title FROM chat") == [("Plan ✓ 😀",)]
    assert my_database.query("SELECT filename FROM file") == [("notes.txt",)]
    assert my_database.query("SHOW TABLES LIKE 'feature_from_a_newer_release'") == []
    assert read_upload(stack) == CONTENT
    assert MY_PASSWORD not in result.stderr + result.stdout


def test_encryption_round_trip_and_nothing_readable_without_the_key(make_stack):
    key = "backup passphrase " + secrets.token_hex(8)
    stack = populated_sqlite(make_stack)
    manifest = backup_ok(stack, env={"BACKUP_ENCRYPTION_KEY": key})
    assert manifest["encrypted"] is True
    folder = stack.backup_dir / manifest["name"]
    assert sorted(p.name for p in folder.iterdir()) == ["data.tar.gz.gpg", "database.sqlite3.gz.gpg", "manifest.json"]
    for item in ("data.tar.gz.gpg", "database.sqlite3.gz.gpg"):
        raw = (folder / item).read_bytes()
        # An OpenPGP symmetric-key packet, not gzip; no plaintext from the database or the upload inside.
        assert raw[:2] != b"\x1f\x8b" and raw[0] & 0x80
        assert b"alice@example.com" not in raw and CONTENT.encode() not in raw
    # gpg itself refuses a wrong key; owui-backup refuses to restore without one.
    wrong = run_tool(stack, "verify", manifest["name"], env={"BACKUP_ENCRYPTION_KEY": "not the key"})
    assert wrong.returncode == 5 and "decryption failed" in wrong.stderr
    sqlite_exec(stack, "DELETE FROM chat")
    missing = run_tool(stack, "restore", manifest["name"])
    assert missing.returncode == 5 and "encrypted" in missing.stderr
    assert sqlite_exec(stack, "SELECT count(*) FROM chat") == [[0]]  # nothing was touched

    result = run_tool(stack, "restore", manifest["name"], env={"BACKUP_ENCRYPTION_KEY": key})
    assert result.returncode == 0, result.stderr
    check_sqlite_data(stack)
    assert key not in result.stderr + result.stdout + wrong.stderr + missing.stderr


def test_retention_by_count_and_age(make_stack):
    stack = populated_sqlite(make_stack)
    names = [backup_ok(stack)["name"] for _ in range(4)]
    assert len(set(names)) == 4
    # Age the three oldest by rewriting their manifests' finish time (what ages are computed from).
    for name, days in zip(names[:3], (45, 40, 35), strict=False):
        path = stack.backup_dir / name / "manifest.json"
        manifest = json.loads(path.read_text())
        manifest["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(time.time() - days * 86400))
        os.chmod(path, 0o644)
        path.write_text(json.dumps(manifest))
    result = run_tool(stack, "prune", env={"BACKUP_KEEP_COUNT": "2", "BACKUP_KEEP_DAYS": "30"})
    assert result.returncode == 0, result.stderr
    # The newest two are kept whatever their age; of the others, only those older than 30 days go.
    assert sorted(json.loads(result.stdout)["removed"]) == sorted(names[:2])
    assert entries(stack) == sorted(names[2:])
    result = run_tool(stack, "prune", "--keep-count", "1", "--keep-days", "30")
    assert json.loads(result.stdout)["removed"] == [names[2]]
    assert entries(stack) == [names[3]]


def test_a_failed_backup_leaves_no_partial_directory(make_stack, tmp_path):
    stack = populated_sqlite(make_stack)
    # The database dump succeeds, then the data archive hits a file the backup user cannot read.
    in_volume(stack, "mkdir -p /app/backend/data/cache && echo secret > /app/backend/data/cache/root-only "
                     "&& chmod 000 /app/backend/data/cache/root-only", user="0:0")
    result = run_tool(stack, "run")
    assert result.returncode == 2 and "PermissionError" in result.stderr
    assert entries(stack) == []
    # Unreachable database server: same, and the password is not in the message.
    password = "Sup3r-secret-" + secrets.token_hex(4)
    result = run_tool(stack, "run", database_url=f"postgresql://u:{password}@host.docker.internal:1/db")
    assert result.returncode == 2 and ("pg_dump" in result.stderr or "psql" in result.stderr)
    assert password not in result.stderr
    assert entries(stack) == []


def test_copy_to_a_second_location(make_stack, tmp_path):
    second = tmp_path / "second"
    second.mkdir()
    os.chown(second, 1000, 1000)
    stack = populated_sqlite(make_stack)
    manifest = backup_ok(stack, env={"BACKUP_COPY_TO": "/copy"}, mounts=(f"{second}:/copy",))
    copied = second / manifest["name"]
    for item in manifest["files"]:
        assert hashlib.sha256((copied / item["name"]).read_bytes()).hexdigest() == item["sha256"]
    # A copy that fails keeps the local backup and says so with its own exit code.
    result = run_tool(stack, "run", env={"BACKUP_COPY_TO": "/nonexistent/dir"})
    assert result.returncode == 3 and "rsync" in result.stderr
    assert len(entries(stack)) == 2


def test_the_scheduled_container_backs_up_and_reports_healthy(make_stack):
    stack = populated_sqlite(make_stack)
    job = stack.start_backup_job(interval_minutes=5)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not entries(stack):
        time.sleep(1)
    assert len(entries(stack)) == 1
    deadline = time.monotonic() + 60
    health = None
    while time.monotonic() < deadline:
        health = json.loads(docker("inspect", "--format", "{{json .State.Health}}", job).stdout)
        if health and health["Status"] == "healthy":
            break
        time.sleep(1)
    assert health and health["Status"] == "healthy"
    # Restarted, it does not back up again before the interval is over.
    since = docker("inspect", "--format", "{{.State.StartedAt}}", job).stdout.strip()
    docker("restart", "-t", "10", job)
    deadline = time.monotonic() + 30
    logs = ""
    while time.monotonic() < deadline and "next backup in" not in logs:
        time.sleep(1)
        logs = docker("logs", "--since", since, job).stderr.split("every 5 min", 2)[-1]
    assert "next backup in" in logs
    assert len(entries(stack)) == 1
