"""The backup tool's pure parts (owui_ops.backup, .restore, .dump), without Docker: URL checks, retention,
listing, archive safety, health."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import tarfile
from pathlib import Path

import pytest

from owui_ops import backup as ob
from owui_ops import dump, restore
from owui_ops.errors import Fail, scrub

HOSTILE = "p@ss:w/rd%#'\"\\ ü$(id)"


def make_backup(root: Path, name: str, age_days: float, size: int = 10) -> Path:
    path = root / name
    path.mkdir(parents=True)
    finished = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=age_days)
    manifest = {"format": ob.FORMAT, "name": name, "started": ob.iso(finished), "finished": ob.iso(finished),
                "database": {"type": "sqlite", "revision": "r1", "file": "database.sqlite3.gz"},
                "files": [], "size": size, "encrypted": False}
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path


def test_database_urls_parse_like_sqlalchemy_with_every_password_character():
    from urllib.parse import quote

    url = ob.checked_url(f"postgresql://app:{quote(HOSTILE, safe='')}@db.example.com:6432/open-webui"
                                "?sslmode=verify-full&sslrootcert=/ca.pem")
    assert (url.kind, url.host, url.port, url.username, url.database) == (
        "postgresql", "db.example.com", 6432, "app", "open-webui")
    assert url.password == HOSTILE
    assert url.query == {"sslmode": "verify-full", "sslrootcert": "/ca.pem"}
    assert ob.checked_url("postgres://u:p@h/d").kind == "postgresql"
    mysql = ob.checked_url("mysql+pymysql://u:p%40@h/db?charset=utf8mb4")
    assert (mysql.kind, mysql.server_port, mysql.password, mysql.database) == ("mysql", 3306, "p@", "db")
    sqlite = ob.checked_url("sqlite:////app/backend/data/webui.db")
    assert (sqlite.kind, sqlite.path) == ("sqlite", "/app/backend/data/webui.db")


@pytest.mark.parametrize("bad", ["oracle://u:p@h/d", "no-scheme", "postgresql://u:p@h/", "sqlite://:memory:"])
def test_unusable_database_urls_are_refused(bad):
    with pytest.raises(Fail):
        ob.checked_url(bad)


def test_the_password_is_scrubbed_in_every_encoding():
    from urllib.parse import quote

    ob.checked_url(f"postgresql://app:{quote(HOSTILE, safe='')}@h/d")
    text = f"failed: {HOSTILE} / {quote(HOSTILE, safe='')}"
    assert HOSTILE not in scrub(text) and quote(HOSTILE, safe="") not in scrub(text)


def test_mysql_option_file_is_private_and_removed(tmp_path):
    url = ob.checked_url("mysql+pymysql://u:%22q%5C@h:3307/db")
    with dump.mysql_defaults(url) as path:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        text = Path(path).read_text()
    assert mode == 0o600
    assert 'password="\\"q\\\\"' in text and "port=3307" in text
    assert not Path(path).exists()


def test_prune_keeps_the_newest_count_and_everything_young(tmp_path):
    ages = {"20260101T000000Z": 40, "20260102T000000Z": 35, "20260103T000000Z": 31, "20260104T000000Z": 20,
            "20260105T000000Z": 10}
    for name, age in ages.items():
        make_backup(tmp_path, name, age)
    (tmp_path / "20250101T000000000000Z-pre-migration.sqlite3").write_bytes(b"x")
    removed = ob.prune(tmp_path, keep_count=2, keep_days=30)
    # Beyond the newest two AND older than 30 days: the three oldest.
    assert sorted(removed) == ["20260101T000000Z", "20260102T000000Z", "20260103T000000Z"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "20250101T000000000000Z-pre-migration.sqlite3", "20260104T000000Z", "20260105T000000Z"]


def test_prune_never_drops_the_newest_count_however_old(tmp_path):
    for day, name in enumerate(["20260101T000000Z", "20260102T000000Z", "20260103T000000Z"]):
        make_backup(tmp_path, name, 100 - day)
    assert ob.prune(tmp_path, keep_count=3, keep_days=1) == []
    assert ob.prune(tmp_path, keep_count=1, keep_days=1, dry_run=True) == ["20260102T000000Z", "20260101T000000Z"]
    assert len(list(tmp_path.iterdir())) == 3  # dry run


def test_prune_never_drops_a_young_backup_beyond_the_count(tmp_path):
    for hour in range(5):
        make_backup(tmp_path, f"2026010{hour + 1}T000000Z", hour / 24)
    assert ob.prune(tmp_path, keep_count=1, keep_days=1) == []


def test_list_shows_complete_backups_and_pre_migration_files_only(tmp_path):
    make_backup(tmp_path, "20260105T000000Z", 1, size=123)
    make_backup(tmp_path, "20260101T000000Z", 5)
    (tmp_path / ".partial-20260106T000000Z-abc").mkdir()
    (tmp_path / "20260107T000000Z").mkdir()  # no manifest: not complete
    pre = tmp_path / "20260103T010203123456Z-pre-migration.pgdump"
    pre.write_bytes(b"PGDMP")
    three_days_ago = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=3)).timestamp()
    os.utime(pre, (three_days_ago, three_days_ago))  # its age is its modification time
    items = ob.list_backups(tmp_path)
    assert [(i["name"], i["kind"]) for i in items] == [
        ("20260105T000000Z", "full"), (pre.name, "pre-migration"), ("20260101T000000Z", "full")]
    assert items[0]["size"] == 123 and 86000 < items[0]["age_seconds"] < 87000


def test_stale_partial_directories_are_removed(tmp_path):
    (tmp_path / ".partial-x-1").mkdir()
    (tmp_path / ".deleting-y").mkdir()
    keep = make_backup(tmp_path, "20260101T000000Z", 1)
    ob.remove_stale_partials(tmp_path)
    assert list(tmp_path.iterdir()) == [keep]


@pytest.mark.parametrize(("name", "kind", "link", "ok"), [
    ("uploads/a.txt", tarfile.REGTYPE, "", True),
    ("/etc/passwd", tarfile.REGTYPE, "", False),
    ("uploads/../../x", tarfile.REGTYPE, "", False),
    ("uploads/link", tarfile.SYMTYPE, "../vector_db/x", True),
    ("uploads/link", tarfile.SYMTYPE, "../../../etc/shadow", False),
    ("uploads/link", tarfile.SYMTYPE, "/etc/shadow", False),
    ("uploads/hard", tarfile.LNKTYPE, "../etc", False),
    ("dev/null", tarfile.CHRTYPE, "", False),
])
def test_archive_members_cannot_escape_the_data_directory(name, kind, link, ok):
    member = tarfile.TarInfo(name)
    member.type = kind
    member.linkname = link
    assert (restore.safe_member(member) is None) is ok


def test_health_follows_the_loop_status(tmp_path, monkeypatch):
    status = tmp_path / "status.json"
    monkeypatch.setenv("BACKUP_STATUS_FILE", str(status))
    assert ob.health() == ob.EXIT_UNHEALTHY  # no loop yet
    now = dt.datetime.now(dt.timezone.utc)
    ob.write_status(started=ob.iso(now), interval_minutes=60, last_error=None)
    assert ob.health() == ob.EXIT_OK
    ob.write_status(last_error="pg_dump exited 1")
    assert ob.health() == ob.EXIT_UNHEALTHY
    ob.write_status(last_error=None, last_success=ob.iso(now - dt.timedelta(minutes=200)))
    assert ob.health() == ob.EXIT_UNHEALTHY  # more than two intervals plus an hour
    ob.write_status(last_success=ob.iso(now - dt.timedelta(minutes=30)))
    assert ob.health() == ob.EXIT_OK


def test_database_formats_follow_the_file_suffixes():
    assert restore.database_format("database.sqlite3.gz.gpg") == "sqlite"
    assert restore.database_format("database.pgdump") == "postgresql"
    assert restore.database_format("20260101T000000000000Z-pre-migration.sql") == "mysql"
    with pytest.raises(Fail):
        restore.database_format("database.bak")
