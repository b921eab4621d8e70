"""owui-migrate with Open WebUI 0.12.4's own Alembic scripts, on SQLite and on PostgreSQL provisioned by our providers.

open-webui pins SQLAlchemy 2.0.50, Alembic 1.18.4, pydantic 2.13... which conflict with the project's pins, so
it is NOT in requirements.txt: it goes (--no-deps, plus the wheel's own requirements-slim.txt, as in the image)
into a separate venv under ~/.cache/openwebui-pulumi (OWUI_CACHE), built once (~2 min) and reused. The runner then
runs with that venv's
Python, like it does inside the app image.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect
from sqlalchemy.pool import NullPool

from components.db_url import build_database_url

from .conftest import PgServer, configured, last_json

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ["-m", "owui_ops", "migrate"]  # the package from the checkout, run by Open WebUI's venv
OPEN_WEBUI_VERSION = "0.12.4"
OPEN_WEBUI_HEAD = "0bd252b206fb"  # the head revision shipped in 0.12.4 (notes/open-webui.md)
VENV = Path(os.environ.get(
    "OWUI_TEST_OPENWEBUI_VENV",
    Path(os.environ.get("OWUI_CACHE", Path.home() / ".cache" / "openwebui-pulumi"))
    / f"owui-venv-{OPEN_WEBUI_VERSION}"))

_REQS_SCRIPT = """
import importlib.metadata as m
for f in m.distribution("open-webui").files:
    if str(f).endswith("requirements-slim.txt"):
        print(open(f.locate()).read())
"""


def _build_venv() -> None:
    tmp = VENV.with_name(VENV.name + ".tmp")
    subprocess.run(["rm", "-rf", str(tmp)], check=True)
    subprocess.run([sys.executable, "-m", "venv", str(tmp)], check=True)
    pip = [str(tmp / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "--no-deps", f"open-webui=={OPEN_WEBUI_VERSION}"], check=True)
    reqs = subprocess.run([str(tmp / "bin" / "python"), "-c", _REQS_SCRIPT], check=True, capture_output=True,
                          text=True).stdout
    req_file = tmp / "requirements-slim.txt"
    req_file.write_text(reqs)
    subprocess.run([*pip, "-r", str(req_file)], check=True)
    (tmp / ".complete").write_text(OPEN_WEBUI_VERSION)
    subprocess.run(["rm", "-rf", str(VENV)], check=True)
    tmp.rename(VENV)


@pytest.fixture(scope="session")
def owui_python() -> str:
    if not (VENV / ".complete").is_file():
        try:
            _build_venv()
        except subprocess.CalledProcessError as exc:
            message = f"cannot build the open-webui {OPEN_WEBUI_VERSION} venv: {exc}"
            if os.environ.get("CI") == "true":
                pytest.fail(message)
            pytest.skip(message)
    return str(VENV / "bin" / "python")


def run_owui(python: str, url: str, mode: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url, "WEBUI_SECRET_KEY": "test-secret-key-not-for-production",
           "DATA_DIR": str(tmp_path / "data"), "BACKUP_DIR": str(tmp_path / "backups"),
           "ENABLE_DB_MIGRATIONS": "false", "OFFLINE_MODE": "true", "HOME": str(tmp_path),
           "PYTHONPATH": str(ROOT)}
    (tmp_path / "data").mkdir(exist_ok=True)
    return subprocess.run([python, *RUNNER, mode, *extra], env=env, capture_output=True, text=True,
                          timeout=600, cwd=tmp_path)


def test_open_webui_migrations_on_sqlite(owui_python: str, tmp_path: Path) -> None:
    url = build_database_url("sqlite", sqlite_path=str(tmp_path / "data" / "webui.db"))
    status = run_owui(owui_python, url, "status", tmp_path)
    assert status.returncode == 0, status.stderr[-3000:]
    assert last_json(status)["heads"] == [OPEN_WEBUI_HEAD] and last_json(status)["current"] == []
    assert not (tmp_path / "data" / "webui.db").exists()  # status changed nothing

    result = run_owui(owui_python, url, "upgrade", tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    report = last_json(result)  # migration chatter went to stderr: the last stdout line is the result
    assert report["current"] == [OPEN_WEBUI_HEAD] and report["up_to_date"] is True
    assert report["revision"] == OPEN_WEBUI_HEAD
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        assert {"auth", "user", "chat", "config", "alembic_version"} <= set(inspect(conn).get_table_names())
    engine.dispose()

    # A second run backs up the now existing file only when there is something to migrate: here nothing.
    again = run_owui(owui_python, url, "upgrade", tmp_path)
    assert again.returncode == 0 and "already at head" in again.stderr
    assert run_owui(owui_python, url, "status", tmp_path, "--check").returncode == 0


def test_apply_is_the_whole_deploy_step_in_one_process(owui_python: str, tmp_path: Path) -> None:
    """`migrate apply` (owui_ops.steps runs it in one app-image container): backup, upgrade, config-guard, status;
    stdout holds only the status line. A second apply backs up the existing file and re-pins a changed setting."""
    url = build_database_url("sqlite", sqlite_path=str(tmp_path / "data" / "webui.db"))
    pinned = '{"ui.enable_signup": false, "webui.url": "https://chat.example.com"}'
    os.environ["OWUI_ENFORCED_CONFIG"] = pinned
    try:
        first = run_owui(owui_python, url, "apply", tmp_path)
        assert first.returncode == 0, first.stderr[-3000:]
        assert len(first.stdout.strip().splitlines()) == 1  # progress and sub-results went to stderr
        report = last_json(first)
        assert report["current"] == [OPEN_WEBUI_HEAD] and report["up_to_date"] is True
        assert "nothing to back up" in first.stderr  # a fresh install has no file yet

        engine = create_engine(url, poolclass=NullPool)
        with engine.begin() as conn:
            rows = dict(conn.exec_driver_sql("SELECT key, value FROM config").fetchall())
            assert json.loads(rows["ui.enable_signup"]) is False
            conn.exec_driver_sql("UPDATE config SET value = 'true' WHERE key = 'ui.enable_signup'")
        second = run_owui(owui_python, url, "apply", tmp_path)
        assert second.returncode == 0, second.stderr[-3000:]
        assert list((tmp_path / "backups").glob("*-pre-migration.sqlite3"))  # the file existed: backed up
        with engine.connect() as conn:
            value = conn.exec_driver_sql("SELECT value FROM config WHERE key = 'ui.enable_signup'").scalar()
        engine.dispose()
        assert json.loads(value) is False  # pinned again

        # --no-backup (the tools image took it) writes none.
        before = set((tmp_path / "backups").iterdir())
        third = run_owui(owui_python, url, "apply", tmp_path, "--no-backup")
        assert third.returncode == 0 and set((tmp_path / "backups").iterdir()) == before
    finally:
        del os.environ["OWUI_ENFORCED_CONFIG"]


def test_apply_stops_at_a_failing_step(owui_python: str, tmp_path: Path) -> None:
    """A database ahead of the code: apply exits with upgrade's code and never pins anything or prints status."""
    url = build_database_url("sqlite", sqlite_path=str(tmp_path / "data" / "webui.db"))
    assert run_owui(owui_python, url, "upgrade", tmp_path).returncode == 0
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'ffffffffffff'")
    engine.dispose()
    result = run_owui(owui_python, url, "apply", tmp_path)
    assert result.returncode == 4, result.stderr[-3000:]
    assert result.stdout.strip() == ""


def test_open_webui_migrations_on_postgres_provisioned_by_the_providers(owui_python: str, pg: PgServer,
                                                                       tmp_path: Path) -> None:
    from components.providers.postgresql import PostgresDatabaseProvider, PostgresRoleProvider

    password = "p@ss:w/rd%#'\"\\ ü"
    role, database = pg.role(), pg.db()
    role_p = configured(PostgresRoleProvider("openwebui:databaseAdminPassword", "UNSET"), pg.admin_password)
    db_p = configured(PostgresDatabaseProvider("openwebui:databaseAdminPassword", "UNSET"), pg.admin_password)
    role_p.create(pg.props(name=role, password=password, database=database, adoptExisting=False))
    db_p.create(pg.props(name=database, owner=role, revokePublicConnect=True, allowDrop=False, adoptExisting=False))
    url = build_database_url("postgresql", host=pg.host, port=pg.port, name=database, user=role, password=password,
                             connect_timeout=5)

    result = run_owui(owui_python, url, "upgrade", tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    for text in (result.stdout, result.stderr):
        assert password not in text and "p%40ss" not in text
    report = last_json(result)
    assert report["before"] == [] and report["current"] == [OPEN_WEBUI_HEAD]
    backup = Path(report["backup"])
    assert backup.read_bytes()[:5] == b"PGDMP"
    # Everything the migrations made belongs to the app role (it owns its database, nothing else).
    owners = {r[0] for r in pg.query("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'",
                                     dbname=database)}
    assert owners == {role}
    assert ("chat",) in pg.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'", dbname=database)
