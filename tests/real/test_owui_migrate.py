"""The migration tool (`python3 -m owui_ops migrate`) with the small Alembic trees in tests/fixtures/alembic_small,
on SQLite, PostgreSQL and MariaDB: backup, refusals (two heads, database ahead), failing migration, status,
missing dump tool."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from components.db_url import build_database_url
from tests.ports import free_port

from .conftest import MyServer, PgServer, last_json

ROOT = Path(__file__).resolve().parents[2]
# The migration tool as the step runs it: `python3 -m owui_ops migrate ...`, the package from the checkout.
RUNNER = ["-m", "owui_ops", "migrate"]
TREES = ROOT / "tests" / "fixtures" / "alembic_small"
HEAD = "cccc00000003"

PG_APP_PASSWORD = "p@ss:w/rd%#'\"\\ ü"
MY_APP_PASSWORD = "p@ss:w/rd%#'\"\\ ?&="


@dataclass
class Target:
    kind: str
    url: str
    backups: Path
    secrets: list[str] = field(default_factory=list)

    def engine(self) -> Any:
        return create_engine(self.url, poolclass=NullPool)

    def execute(self, *statements: str) -> list[Any]:
        engine = self.engine()
        results = []
        try:
            with engine.begin() as conn:
                for statement in statements:
                    result = conn.execute(text(statement))
                    results.append(result.fetchall() if result.returns_rows else None)
        finally:
            engine.dispose()
        return results

    def tables(self) -> set[str]:
        engine = self.engine()
        try:
            with engine.connect() as conn:
                return set(inspect(conn).get_table_names())
        finally:
            engine.dispose()

    def columns(self, table: str) -> set[str]:
        engine = self.engine()
        try:
            with engine.connect() as conn:
                return {c["name"] for c in inspect(conn).get_columns(table)}
        finally:
            engine.dispose()


def _pg_target(pg: PgServer, tmp_path: Path) -> Target:
    _, url = pg.app_database(PG_APP_PASSWORD)
    return Target("postgresql", url, tmp_path / "backups", [PG_APP_PASSWORD])


def _my_target(my: MyServer, tmp_path: Path) -> Target:
    _, url = my.app_database(MY_APP_PASSWORD)
    return Target("mysql", url, tmp_path / "backups", [MY_APP_PASSWORD])


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    if request.param == "sqlite":
        yield Target("sqlite", build_database_url("sqlite", sqlite_path=str(tmp_path / "data" / "webui.db")),
                     tmp_path / "backups")
    elif request.param == "postgresql":
        yield _pg_target(request.getfixturevalue("pg"), tmp_path)
    else:
        yield _my_target(request.getfixturevalue("my"), tmp_path)


@pytest.fixture()
def server_target(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    return _pg_target(request.getfixturevalue("pg"), tmp_path)


def migrate(target: Target, *args: str, tree: str = "good", env: dict[str, str] | None = None,
            script_location: Path | None = None, python: str = sys.executable,
            python_args: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    if target.kind == "sqlite":
        Path(make_url(target.url).database).parent.mkdir(parents=True, exist_ok=True)
    full_env = {k: v for k, v in os.environ.items() if k != "BACKUP"}  # BACKUP=skip only when a test says so
    full_env.update({"DATABASE_URL": target.url, "BACKUP_DIR": str(target.backups), "PYTHONPATH": str(ROOT),
                     **(env or {})})
    location = script_location or TREES / tree
    result = subprocess.run([python, *python_args, *RUNNER, *args, "--script-location", str(location)],
                            env=full_env, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    for secret in target.secrets:  # the runner never prints the password, in any form
        for form in (secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)):
            assert form not in output, f"password leaked in: {output[-2000:]}"
    return result


def test_status_changes_nothing(target: Target) -> None:
    result = migrate(target, "status")
    assert result.returncode == 0, result.stderr
    report = last_json(result)
    assert report["current"] == [] and report["heads"] == [HEAD] and report["up_to_date"] is False
    if target.kind == "sqlite":
        assert not Path(make_url(target.url).database).exists()
    else:
        assert "alembic_version" not in target.tables()
    assert migrate(target, "status", "--check").returncode == 8


def test_upgrade_reaches_head_then_is_idempotent(target: Target) -> None:
    result = migrate(target, "upgrade")
    assert result.returncode == 0, result.stderr
    report = last_json(result)
    assert report["current"] == [HEAD] and report["before"] == [] and report["up_to_date"] is True
    assert {"owui_note", "owui_tag"} <= target.tables()
    assert "title" in target.columns("owui_note")
    if target.kind == "sqlite":
        assert report["backup"] is None and "nothing to back up" in result.stderr  # fresh install, no file yet
    else:
        backup = Path(report["backup"])
        assert backup.is_file() and backup.stat().st_mode & 0o077 == 0
    again = migrate(target, "upgrade")
    assert again.returncode == 0 and "already at head" in again.stderr
    assert migrate(target, "status", "--check").returncode == 0


def test_failing_migration_keeps_the_old_revision_and_the_backup(target: Target) -> None:
    assert migrate(target, "upgrade").returncode == 0
    target.execute("INSERT INTO owui_note (id, body, title) VALUES (1, 'keep me', 't')")
    result = migrate(target, "upgrade", tree="failing")
    assert result.returncode == 5, result.stderr
    assert "the upgrade failed" in result.stderr and "owui_no_such_table" in result.stderr
    backup = Path(result.stderr.split("the backup is at ", 1)[1].split()[0])
    assert backup.is_file()
    status = last_json(migrate(target, "status", tree="failing"))
    assert status["current"] == [HEAD] and status["heads"] == ["dddd00000004"]
    if target.kind == "postgresql":
        assert "colour" not in target.columns("owui_tag")  # transactional DDL: the half-done step rolled back
    if target.kind == "mysql":
        # MySQL commits each DDL statement: the half-done step stays although the revision did not move.
        # This is why the backup is taken first.
        assert "colour" in target.columns("owui_tag")
    _assert_backup_holds_the_row(target, backup)


def _assert_backup_holds_the_row(target: Target, backup: Path) -> None:
    if target.kind == "sqlite":
        import sqlite3

        with sqlite3.connect(backup) as conn:
            assert conn.execute("SELECT body FROM owui_note").fetchall() == [("keep me",)]
    elif target.kind == "postgresql":
        assert backup.read_bytes()[:5] == b"PGDMP"  # pg_dump custom format
        listing = subprocess.run(["pg_restore", "--list", str(backup)], capture_output=True, text=True, check=True)
        assert "TABLE DATA public owui_note" in listing.stdout
    else:
        dump = backup.read_text(encoding="utf-8")
        # The scheduled backups' dump (owui_ops.dump): no CREATE DATABASE/USE, so it restores into whatever
        # database the stack's URL names, by a user without CREATE privileges.
        assert "CREATE DATABASE" not in dump and "keep me" in dump


def test_two_heads_are_refused_before_anything_changes(target: Target) -> None:
    result = migrate(target, "upgrade", tree="two_heads")
    assert result.returncode == 3
    assert "alembic merge" in result.stderr and "bbbb00000002" in result.stderr and "xxxx00000002" in result.stderr
    assert not target.backups.exists() or not any(target.backups.iterdir())
    report = last_json(migrate(target, "status", tree="two_heads"))
    assert report["multiple_heads"] is True and report["current"] == []


def test_database_ahead_of_the_code_is_refused(target: Target) -> None:
    assert migrate(target, "upgrade").returncode == 0
    target.execute("UPDATE alembic_version SET version_num = 'ffff99999999'")
    result = migrate(target, "upgrade")
    assert result.returncode == 4
    assert "ahead of the code" in result.stderr and "ffff99999999" in result.stderr
    report = last_json(migrate(target, "status"))
    assert report["unknown_revisions"] == ["ffff99999999"] and report["up_to_date"] is False


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_missing_dump_tool_fails_clearly_unless_told_otherwise(kind: str, request: pytest.FixtureRequest,
                                                               tmp_path: Path) -> None:
    target = _pg_target(request.getfixturevalue("pg"), tmp_path) if kind == "postgresql" else \
        _my_target(request.getfixturevalue("my"), tmp_path)
    no_tools = {"PATH": str(tmp_path / "empty-bin")}
    result = migrate(target, "upgrade", env=no_tools)
    assert result.returncode == 2
    assert "is not installed in this image" in result.stderr and "--no-backup" in result.stderr
    assert "alembic_version" not in target.tables()  # refused before migrating
    skipped = migrate(target, "upgrade", env={**no_tools, "BACKUP": "skip"})
    assert skipped.returncode == 0 and last_json(skipped)["backup"] is None


def test_backup_as_a_separate_step_then_upgrade_without_backup(server_target: Target) -> None:
    backup = migrate(server_target, "backup")
    assert backup.returncode == 0, backup.stderr
    path = Path(last_json(backup)["backup"])
    assert path.is_file() and path.read_bytes()[:5] == b"PGDMP"
    result = migrate(server_target, "upgrade", "--no-backup")
    assert result.returncode == 0
    assert last_json(result)["backup"] is None
    assert sorted(server_target.backups.iterdir()) == [path]


def test_backup_runs_with_the_standard_library_only(target: Target) -> None:
    """The tools image has pg_dump/mysqldump and python3, but no SQLAlchemy: `backup` must still work."""
    if target.kind == "sqlite":
        assert migrate(target, "upgrade").returncode == 0  # a file to back up
    stdlib_only = migrate(target, "backup", python_args=("-S",))  # -S: no site-packages, so no SQLAlchemy
    assert stdlib_only.returncode == 0, stdlib_only.stderr
    path = Path(last_json(stdlib_only)["backup"])
    assert path.is_file() and path.stat().st_size > 0
    probe = subprocess.run([sys.executable, "-S", "-c", "import sqlalchemy"], capture_output=True)
    assert probe.returncode != 0  # the test really ran without SQLAlchemy


def test_backup_command_replaces_the_builtin_dump(server_target: Target) -> None:
    command = 'printf "custom backup of %s" "${DATABASE_URL%%:*}" > "$BACKUP_FILE"'
    result = migrate(server_target, "backup", "--backup-command", command)
    assert result.returncode == 0, result.stderr
    assert Path(last_json(result)["backup"]).read_text() == "custom backup of postgresql"
    failing = migrate(server_target, "backup", "--backup-command", "exit 3")
    assert failing.returncode == 2 and "--backup-command exited 3" in failing.stderr


def test_unreachable_database_exit_code_and_masked_url(tmp_path: Path) -> None:
    port = free_port()
    target = Target("postgresql", build_database_url("postgresql", host="127.0.0.1", port=port, name="d",
                                                     user="u", password="Hidden-Pw-1", connect_timeout=2),
                    tmp_path / "backups", ["Hidden-Pw-1"])
    result = migrate(target, "status")
    assert result.returncode == 7
    assert f"127.0.0.1:{port}" in result.stderr and "***" in result.stderr


def test_usage_errors(tmp_path: Path) -> None:
    target = Target("sqlite", "sqlite:////nonexistent/x.db", tmp_path)
    env = {**{k: v for k, v in os.environ.items() if k != "DATABASE_URL"}, "PYTHONPATH": str(ROOT)}
    no_url = subprocess.run([sys.executable, *RUNNER, "status", "--script-location", str(TREES / "good")],
                            env=env, capture_output=True, text=True)
    assert no_url.returncode == 1 and "DATABASE_URL is not set" in no_url.stderr
    missing = migrate(target, "status", script_location=tmp_path / "nowhere")
    assert missing.returncode == 1 and "no Alembic environment" in missing.stderr


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_backup_and_upgrade_over_tls_required_by_the_server(kind: str, request: pytest.FixtureRequest,
                                                            tmp_path: Path, tls_ca: str) -> None:
    """pg_dump / mysqldump get the URL's TLS settings: the account may only connect over TLS, and a wrong CA
    makes the dump fail (so the CA really is verified, not just passed along)."""
    if kind == "postgresql":
        pg: PgServer = request.getfixturevalue("pg")
        target = _pg_target(pg, tmp_path)
        pg.query(f'GRANT owui_tls_required TO "{make_url(target.url).username}"')
    else:
        my: MyServer = request.getfixturevalue("my")
        target = _my_target(my, tmp_path)
        my.query("ALTER USER %s@'127.0.0.1' REQUIRE SSL", (make_url(target.url).username,))
    url = make_url(target.url)

    def with_tls(mode: str | None, ca: str | None) -> str:
        return build_database_url(kind, host=url.host, port=url.port, name=url.database, user=url.username,
                                  password=url.password, ssl_mode=mode, ssl_ca_path=ca)

    if kind == "postgresql":
        target.url = with_tls("disable", None)
        assert migrate(target, "backup").returncode == 2  # the server refuses plain text
    other_ca = tmp_path / "other-ca.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "1", "-subj", "/CN=not the server's CA", "-keyout", str(tmp_path / "k.pem"),
                    "-out", str(other_ca)], check=True, capture_output=True)
    target.url = with_tls("verify-full", str(other_ca))
    wrong = migrate(target, "backup")
    assert wrong.returncode == 2 and "certificate" in wrong.stderr.lower()
    target.url = with_tls("verify-full", tls_ca)
    result = migrate(target, "upgrade")
    assert result.returncode == 0, result.stderr
    assert Path(last_json(result)["backup"]).stat().st_size > 0
    assert last_json(result)["current"] == [HEAD]
