"""Backups (`python3 -m owui_ops backup-tool ...`): consistent, atomic backups of an Open WebUI stack, with
retention, encryption and a copy.

Runs inside the tools image (python3, pg_dump/pg_restore/psql, mysqldump/mysql, gzip, gnupg, rsync), as the
app's user, with the stack's data volume at DATA_DIR and the backup directory at BACKUP_DIR. Standard library
only: the tools image has no SQLAlchemy.

  backup-tool run              one backup -> BACKUP_DIR/<UTC timestamp>/ (prints its JSON summary)
  backup-tool loop             a backup every BACKUP_INTERVAL_MINUTES, prune and copy after each (the
                               stack's `backup` container runs this)
  backup-tool list             JSON list of backups: name, kind, size, age, revision, encrypted
  backup-tool prune            delete backups that are BOTH beyond the newest --keep-count AND older than
                               --keep-days (so a broken schedule never prunes the last good ones away)
  backup-tool verify NAME      sizes and sha256 of every file; with the key, each encrypted file decrypts
  backup-tool restore NAME     restore the database and the data directory from a backup (the app must be
                               stopped: `scripts/owui restore` does that); NAME may also be a single-file
                               pre-migration backup from the migration step (database only)
  backup-tool health           container health check: 0 when the last scheduled backup succeeded in time

What a backup holds (everything an instance needs back): the database, dumped consistently (SQLite: Python's
online backup API, never a copy of the live file; PostgreSQL: `pg_dump -Fc`; MySQL/MariaDB: `mysqldump
--single-transaction --routines`) and a tar.gz of the data directory (uploads, vector_db, cache, audit log, ...)
without the live database files.
Other SQLite files in the data directory (Chroma's vector_db/chroma.sqlite3) go through the online backup API
too. manifest.json records sizes, sha256, database type, the Alembic revision, start and finish times.

Atomic: everything is written into BACKUP_DIR/.partial-<name>-<random>/ and renamed to BACKUP_DIR/<name>/ only
when complete; a failure (or a kill: the next run removes stale partial directories) leaves no backup behind
that looks complete. One lock file (BACKUP_DIR/.lock) serialises runs, prunes and restores.

Environment:
  DATABASE_URL             the app's database URL (sqlite:////..., postgresql://..., mysql+pymysql://...)
  BACKUP_DIR               where backups live (default /backups)
  DATA_DIR                 the app's data directory (default /app/backend/data)
  BACKUP_INTERVAL_MINUTES  loop interval (default 1440)
  BACKUP_KEEP_COUNT        retention: always keep this many newest backups (default 7)
  BACKUP_KEEP_DAYS         retention: always keep backups younger than this (default 30)
  BACKUP_ENCRYPTION_KEY    optional passphrase: every file is encrypted with gpg (symmetric AES256); the
                           passphrase reaches gpg through a pipe (--passphrase-fd), never a command line
  BACKUP_COPY_TO           optional second location: `rsync -a` of each new backup to a path (mounted into
                           the container) or an rsync target (host::module, rsync://host/module)
  BACKUP_GZIP_LEVEL        gzip level for the dump and the data archive (default 3)
  OWUI_STACK, OWUI_APP_IMAGE  recorded in the manifest (rollback finds the previous image there)

Passwords reach pg_dump/psql through PGPASSWORD and mysqldump/mysql through a 0600 option file in /tmp, never
argv; no password or key is ever printed (error text is scrubbed).

Exit codes: 0 ok, 1 usage/environment, 2 backup failed, 3 backup written but the copy failed, 4 restore failed,
5 verify failed, 6 unhealthy.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import errno
import fcntl
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional

from owui_ops import dburl
from owui_ops.dburl import DbUrl
from owui_ops.dump import (
    CHUNK,
    EXIT_BACKUP,
    Pipeline,
    dump_to,
    fsync_path,
    gpg_decrypt_stage,
    gpg_encrypt_stage,
    gpg_home,
    gzip_stage,
    server_revision,
    sha256_of,
    sqlite_online_backup,
    sqlite_revision,
)
from owui_ops.errors import Fail, die, log, remember_secret, scrub

FORMAT = "owui-backup/1"
EXIT_OK, EXIT_USAGE, EXIT_COPY, EXIT_RESTORE, EXIT_VERIFY, EXIT_UNHEALTHY = 0, 1, 3, 4, 5, 6
NAME_RE = re.compile(r"^\d{8}T\d{6}Z(-\d+)?$")
PRE_MIGRATION_RE = re.compile(r"^\d{8}T\d{6}\d*Z-pre-migration\.(sqlite3|pgdump|sql)$")
SQLITE_MAGIC = b"SQLite format 3\x00"
SQLITE_SIDECARS = ("-wal", "-shm", "-journal")
STAGING_PREFIX = ".owui-restore-"


def say(message: str) -> None:
    log("owui-backup", message, stamp=True)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)



def database_url() -> DbUrl:
    raw = os.environ.get("DATABASE_URL", "")
    if not raw.strip():
        die(EXIT_USAGE, "DATABASE_URL is not set")
    return checked_url(raw)


def checked_url(raw: str) -> DbUrl:
    """DATABASE_URL parsed (owui_ops.dburl) and checked for what a backup needs: a supported type, an absolute
    SQLite file, a database name; the password is remembered for scrubbing."""
    try:
        url = dburl.parse(raw)
        url.kind  # noqa: B018 - refuses an unsupported scheme here, with the usage exit code
    except dburl.DatabaseUrlError as exc:
        die(EXIT_USAGE, str(exc))
    if url.kind == "sqlite":
        # sqlite:////abs/path.db -> /abs/path.db; a relative path would depend on the container's directory
        if not url.path or url.path == ":memory:":
            die(EXIT_USAGE, "an in-memory SQLite database cannot be backed up")
        if not url.path.startswith("/"):
            die(EXIT_USAGE, "a sqlite DATABASE_URL looks like sqlite:////app/backend/data/webui.db")
    else:
        remember_secret(url.password)
        if not url.database:
            die(EXIT_USAGE, "DATABASE_URL names no database")
    return url


def env_int(name: str, default: int, minimum: int = 0) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        die(EXIT_USAGE, f"{name} must be a whole number, not {value!r}")
    if number < minimum:
        die(EXIT_USAGE, f"{name} must be at least {minimum}")
    return number


def encryption_key() -> Optional[str]:
    key = os.environ.get("BACKUP_ENCRYPTION_KEY") or None
    if key is not None:
        if "\n" in key or "\r" in key or "\x00" in key:
            # gpg reads only the first line from --passphrase-fd: a multi-line key would be cut silently.
            die(EXIT_USAGE, "BACKUP_ENCRYPTION_KEY must be a single line")
        remember_secret(key)
    return key


def backup_root(args: argparse.Namespace) -> Path:
    return Path(getattr(args, "dir", None) or os.environ.get("BACKUP_DIR") or "/backups")


def data_root(args: argparse.Namespace) -> Path:
    return Path(getattr(args, "data_dir", None) or os.environ.get("DATA_DIR") or "/app/backend/data")


# ------------------------------------------------------------------------------------------------------------
# The lock and atomic directories

@contextlib.contextmanager
def locked(root: Path, timeout: float = 6 * 3600) -> Iterator[None]:
    """One writer at a time in a backup directory (the loop, a one-shot backup, a restore)."""
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + timeout
    announced = False
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() > deadline:
                    die(EXIT_BACKUP, f"{root} stays locked by another backup or restore")
                if not announced:
                    say("another backup or restore holds the lock; waiting")
                    announced = True
                time.sleep(1)
        yield
    finally:
        os.close(fd)


def remove_stale_partials(root: Path) -> None:
    """Called with the lock held: any partial or half-deleted directory belongs to a run that died."""
    for entry in root.iterdir():
        if entry.is_dir() and (entry.name.startswith(".partial-") or entry.name.startswith(".deleting-")):
            say(f"removing {entry.name} left by an interrupted run")
            shutil.rmtree(entry, ignore_errors=True)


# ------------------------------------------------------------------------------------------------------------
# Backup: the database


@dataclass
class Artifact:
    name: str
    role: str  # database | data
    size: int = 0
    sha256: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "size": self.size, "sha256": self.sha256}


def dump_database(url: DbUrl, work: Path, level: int, key: Optional[str], home: str) -> tuple[Artifact, Optional[str]]:
    """Write the database artifact into `work`; return it and the Alembic revision it holds."""
    encrypt = [gpg_encrypt_stage(home)] if key else []
    suffix = ".gpg" if key else ""
    if url.kind == "sqlite":
        source = Path(url.path or "")
        if not source.exists():
            die(EXIT_BACKUP, f"no SQLite database at {source}")
        plain = work / "database.sqlite3"
        sqlite_online_backup(source, plain)
        revision = sqlite_revision(plain)
        artifact = Artifact(f"database.sqlite3.gz{suffix}", "database")
        with open(plain, "rb") as src, open(work / artifact.name, "wb") as out:
            pipe = Pipeline([gzip_stage(level), *encrypt], out=out, stdin_file=src, passphrase=key)
            pipe.finish()
        plain.unlink()  # the plain copy existed only inside the 0700 partial directory
        return artifact, revision

    before = server_revision(url)
    artifact = Artifact(("database.pgdump" if url.kind == "postgresql" else "database.sql.gz") + suffix, "database")
    dump_to(url, work / artifact.name, gzip_level=level, key=key, home=home)
    after = server_revision(url)
    # The dump has its own snapshot; a revision read on each side of it is exact unless a migration ran meanwhile.
    return artifact, before if before == after else None


# ------------------------------------------------------------------------------------------------------------
# Backup: the data directory


def is_sqlite_file(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(16) == SQLITE_MAGIC
    except OSError:
        return False


def excluded_paths(url: DbUrl, data: Path, root: Path) -> set[Path]:
    """The live main database (dumped separately) and anything of ours inside the data directory."""
    skip: set[Path] = set()
    if url.kind == "sqlite" and url.path:
        db = Path(url.path)
        skip.update({db, *(Path(str(db) + s) for s in SQLITE_SIDECARS)})
    with contextlib.suppress(ValueError):
        root.resolve().relative_to(data.resolve())
        skip.add(root)
    return {p.resolve() if p.exists() else p for p in skip}


def archive_data_dir(url: DbUrl, data: Path, root: Path, work: Path, level: int, key: Optional[str],
                     home: str) -> tuple[Artifact, dict[str, int]]:
    suffix = ".gpg" if key else ""
    artifact = Artifact(f"data.tar.gz{suffix}", "data")
    skip = excluded_paths(url, data, root)
    counts = {"files": 0, "bytes": 0, "sqlite_files": 0, "skipped": 0}
    scratch = work / "sqlite-scratch"
    with open(work / artifact.name, "wb") as out:
        pipe = Pipeline([gzip_stage(level), *([gpg_encrypt_stage(home)] if key else [])], out=out, feed=True,
                        passphrase=key)
        try:
            assert pipe.stdin is not None
            with tarfile.open(fileobj=pipe.stdin, mode="w|", format=tarfile.PAX_FORMAT, bufsize=CHUNK,
                              copybufsize=CHUNK) as tar:  # type: ignore[call-overload]  # typeshed lacks it
                if data.is_dir():
                    _add_tree(tar, data, skip, scratch, counts)
        except BaseException:
            pipe.kill()
            raise
        pipe.finish()
    shutil.rmtree(scratch, ignore_errors=True)
    return artifact, counts


def _add_tree(tar: tarfile.TarFile, data: Path, skip: set[Path], scratch: Path, counts: dict[str, int]) -> None:
    sqlite_dbs: set[Path] = set()
    for dirpath, dirnames, filenames in os.walk(data):
        here = Path(dirpath)
        rel_dir = here.relative_to(data)
        walk = []
        for d in sorted(dirnames):
            if d.startswith(STAGING_PREFIX) or (here / d).resolve() in skip:
                continue
            if (here / d).is_symlink():
                filenames.append(d)  # archived as the link itself, never followed
            else:
                walk.append(d)
        dirnames[:] = walk
        if rel_dir != Path("."):
            with contextlib.suppress(FileNotFoundError):
                tar.add(str(here), arcname=str(rel_dir), recursive=False)
        names = sorted(filenames)
        # Databases first, so their -wal/-shm/-journal siblings are recognised below.
        for name in names:
            path = here / name
            if path.is_file() and not path.is_symlink() and not name.endswith(SQLITE_SIDECARS) and is_sqlite_file(path):
                sqlite_dbs.add(path)
        for name in names:
            path = here / name
            arcname = str(rel_dir / name) if rel_dir != Path(".") else name
            if path.resolve() in skip or any(name == d.name + s for d in sqlite_dbs if d.parent == here
                                              for s in SQLITE_SIDECARS):
                continue
            try:
                if path in sqlite_dbs:
                    # A live SQLite file (e.g. Chroma's) is copied through the online backup API too.
                    scratch.mkdir(exist_ok=True)
                    copy = scratch / "copy.sqlite3"
                    sqlite_online_backup(path, copy)
                    info = tar.gettarinfo(str(copy), arcname=arcname)
                    info.mtime = path.stat().st_mtime
                    with open(copy, "rb") as handle:
                        tar.addfile(info, handle)
                    copy.unlink()
                    counts["sqlite_files"] += 1
                    counts["bytes"] += info.size
                elif path.is_symlink() or path.is_file() or path.is_dir():
                    info = tar.gettarinfo(str(path), arcname=arcname)
                    if info.isreg():
                        with open(path, "rb") as handle:
                            tar.addfile(info, handle)
                        counts["bytes"] += info.size
                    else:
                        tar.addfile(info)
                else:
                    counts["skipped"] += 1  # sockets, fifos, devices: nothing to restore
                    continue
                counts["files"] += 1
            except FileNotFoundError:
                counts["skipped"] += 1  # deleted while we walked: it is not part of this backup


# ------------------------------------------------------------------------------------------------------------
# run / list / prune


def backup_name(root: Path, now: dt.datetime) -> str:
    base = now.strftime("%Y%m%dT%H%M%SZ")
    name, n = base, 1
    while (root / name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


def take_backup(args: argparse.Namespace) -> dict[str, Any]:
    url = database_url()
    key = encryption_key()
    root = backup_root(args)
    data = data_root(args)
    level = env_int("BACKUP_GZIP_LEVEL", 3, 1)
    old_umask = os.umask(0o077)  # backups hold everything the app stores: owner-only
    try:
        with locked(root):
            remove_stale_partials(root)
            started = utcnow()
            name = backup_name(root, started)
            work = Path(tempfile.mkdtemp(prefix=f".partial-{name}-", dir=root))
            try:
                say(f"backup {name}: database ({url.describe()})")
                with gpg_home() as home:
                    db_artifact, revision = dump_database(url, work, level, key, home)
                    say(f"backup {name}: data directory {data}")
                    data_artifact, counts = archive_data_dir(url, data, root, work, level, key, home)
                artifacts = [db_artifact, data_artifact]
                for artifact in artifacts:
                    path = work / artifact.name
                    artifact.size = path.stat().st_size
                    artifact.sha256 = sha256_of(path)
                    fsync_path(path)
                finished = utcnow()
                manifest: dict[str, Any] = {
                    "format": FORMAT, "name": name,
                    "stack": os.environ.get("OWUI_STACK") or None,
                    "app_image": os.environ.get("OWUI_APP_IMAGE") or None,
                    "started": iso(started), "finished": iso(finished),
                    "duration_seconds": round((finished - started).total_seconds(), 3),
                    "database": {"type": url.kind, "revision": revision, "file": db_artifact.name},
                    "data_dir": {"path": str(data), **counts},
                    "encrypted": bool(key),
                    "encryption": "gpg symmetric AES256" if key else None,
                    "files": [a.as_json() for a in artifacts],
                    "size": sum(a.size for a in artifacts),
                }
                (work / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
                fsync_path(work / "manifest.json")
                os.chmod(work, 0o700)
                final = root / name
                os.rename(work, final)  # the backup appears complete or not at all
                fsync_path(root)
            except BaseException as exc:
                shutil.rmtree(work, ignore_errors=True)  # a failed backup leaves nothing behind
                if isinstance(exc, Exception) and not isinstance(exc, Fail):
                    die(EXIT_BACKUP, f"backup {name} failed: {type(exc).__name__}: {exc}")
                raise
    finally:
        os.umask(old_umask)
    say(f"backup {name} complete: {human(manifest['size'])} in {manifest['duration_seconds']}s"
        + (f", revision {revision}" if revision else ""))
    return manifest


def copy_backup(root: Path, name: str) -> Optional[str]:
    target = os.environ.get("BACKUP_COPY_TO", "").strip()
    if not target:
        return None
    dest = target.rstrip("/") + "/"
    say(f"copying {name} to the second location")
    result = subprocess.run(["rsync", "-a", str(root / name), dest], stdin=subprocess.DEVNULL,
                            capture_output=True, text=True)
    if result.returncode != 0:
        die(EXIT_COPY, f"backup {name} is complete, but rsync to the second location exited {result.returncode}: "
                       f"{scrub(result.stderr.strip()[-1000:])}")
    return dest


def read_manifest(path: Path) -> Optional[dict[str, Any]]:
    try:
        manifest = json.loads((path / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and manifest.get("format") == FORMAT else None


def pre_migration_revision(path: Path) -> Optional[str]:
    """Best effort: the Alembic revision inside an owui-migrate pre-migration file."""
    try:
        if path.suffix == ".sqlite3":
            return sqlite_revision(path)
        if path.suffix == ".pgdump":
            out = subprocess.run(["pg_restore", "--data-only", "--table=alembic_version", "-f", "-", str(path)],
                                 capture_output=True, text=True, stdin=subprocess.DEVNULL)
            return _copy_block_revision(out.stdout) if out.returncode == 0 else None
        if path.suffix == ".sql":
            pattern = re.compile(r"INSERT INTO `alembic_version` VALUES \('([0-9a-zA-Z_]+)'\)")
            with open(path, errors="replace") as handle:
                for line in handle:
                    match = pattern.search(line)
                    if match:
                        return match.group(1)
    except (OSError, sqlite3.Error):
        return None
    return None


def _copy_block_revision(sql: str) -> Optional[str]:
    lines = sql.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("COPY ") and "alembic_version" in line:
            values = []
            for row in lines[index + 1:]:
                if row == "\\.":
                    break
                values.append(row.strip())
            return ",".join(sorted(v for v in values if v)) or None
    return None


def list_backups(root: Path, *, revisions: bool = False) -> list[dict[str, Any]]:
    """Complete backups (newest first); owui-migrate's pre-migration files are listed as kind pre-migration."""
    now = utcnow()
    found: list[dict[str, Any]] = []
    if not root.is_dir():
        return found
    for entry in root.iterdir():
        if entry.is_dir() and NAME_RE.match(entry.name):
            manifest = read_manifest(entry)
            if manifest is None:
                continue
            finished = parse_iso(manifest["finished"])
            found.append({
                "name": entry.name, "kind": "full", "size": manifest.get("size", 0),
                "age_seconds": max(0, int((now - finished).total_seconds())), "finished": manifest["finished"],
                "database": manifest.get("database", {}).get("type"),
                "revision": manifest.get("database", {}).get("revision"),
                "encrypted": bool(manifest.get("encrypted")), "app_image": manifest.get("app_image"),
                "path": str(entry),
            })
        elif entry.is_file() and PRE_MIGRATION_RE.match(entry.name):
            stat = entry.stat()
            finished = dt.datetime.fromtimestamp(stat.st_mtime, dt.timezone.utc)
            kind = {".sqlite3": "sqlite", ".pgdump": "postgresql", ".sql": "mysql"}[entry.suffix]
            found.append({
                "name": entry.name, "kind": "pre-migration", "size": stat.st_size,
                "age_seconds": max(0, int((now - finished).total_seconds())), "finished": iso(finished),
                "database": kind, "revision": pre_migration_revision(entry) if revisions else None,
                "encrypted": False, "app_image": None, "path": str(entry),
            })
    found.sort(key=lambda b: (b["finished"], b["name"]), reverse=True)
    return found


def prune(root: Path, keep_count: int, keep_days: int, *, dry_run: bool = False) -> list[str]:
    """Delete a backup only when it is beyond the newest `keep_count` AND older than `keep_days`.

    Both limits protect: the count keeps the last good backups even when the schedule broke weeks ago, the age
    keeps every backup of the recent window. Pre-migration files are owui-migrate's and are left alone.
    """
    if keep_count < 1:
        die(EXIT_USAGE, "keep count must be at least 1")
    removed = []
    full = [b for b in list_backups(root) if b["kind"] == "full"]
    for index, backup in enumerate(full):
        if index < keep_count or backup["age_seconds"] < keep_days * 86400:
            continue
        removed.append(backup["name"])
        if not dry_run:
            doomed = root / f".deleting-{backup['name']}"
            os.rename(root / backup["name"], doomed)  # never a half-deleted directory that looks complete
            shutil.rmtree(doomed)
            say(f"pruned {backup['name']} ({human(backup['size'])}, {backup['age_seconds'] // 86400} days old)")
    return removed


def human(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


# ------------------------------------------------------------------------------------------------------------
# verify / restore


def resolve_backup(root: Path, name: str) -> Path:
    path = Path(name)
    if not path.is_absolute():
        if "/" in name or name in (".", ".."):
            die(EXIT_USAGE, f"{name!r} is not a backup name; run `owui-backup list`")
        path = root / name
    if not path.exists():
        die(EXIT_USAGE, f"no backup {name!r} in {root}")
    return path


def verify_backup(path: Path, key: Optional[str]) -> dict[str, Any]:
    manifest = read_manifest(path)
    if manifest is None:
        die(EXIT_VERIFY, f"{path} has no readable {FORMAT} manifest.json: not a complete backup")
    problems = []
    for item in manifest["files"]:
        file = path / item["name"]
        if not file.is_file():
            problems.append(f"{item['name']} is missing")
        elif file.stat().st_size != item["size"]:
            problems.append(f"{item['name']} has {file.stat().st_size} bytes, the manifest says {item['size']}")
        elif sha256_of(file) != item["sha256"]:
            problems.append(f"{item['name']} does not match its sha256")
    if problems:
        die(EXIT_VERIFY, f"backup {path.name} is damaged: " + "; ".join(problems))
    if manifest.get("encrypted"):
        if key is None:
            die(EXIT_VERIFY, f"backup {path.name} is encrypted: set BACKUP_ENCRYPTION_KEY")
        with gpg_home() as home, open(os.devnull, "wb") as sink:
            for item in manifest["files"]:
                with open(path / item["name"], "rb") as src:
                    Pipeline([gpg_decrypt_stage(home)], out=sink, stdin_file=src, passphrase=key,
                             code=EXIT_VERIFY).finish()
    return manifest


# ------------------------------------------------------------------------------------------------------------
# loop / health


def prepare_dir(owner: str, directory: Path) -> dict[str, Any]:
    """Make a backup directory the job's: run as root with CAP_CHOWN and CAP_FOWNER only, against the host
    directory bind-mounted at `directory` (the daemon creates a missing one, root's and 0755, on the Docker host).
    Mode first, then owner: once the directory is the job user's, changing its mode needs CAP_FOWNER."""
    uid, _, gid = owner.partition(":")
    before = directory.stat()
    if before.st_mode & 0o777 != 0o750:
        directory.chmod(0o750)
    if (before.st_uid, before.st_gid) != (int(uid), int(gid or uid)):
        os.chown(directory, int(uid), int(gid or uid))
    after = directory.stat()
    return {"directory": str(directory), "owner": f"{after.st_uid}:{after.st_gid}", "mode": oct(after.st_mode & 0o777)}


def status_file() -> Path:
    return Path(os.environ.get("BACKUP_STATUS_FILE", "/tmp/owui-backup-status.json"))


def write_status(**values: Any) -> None:
    path = status_file()
    current: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):
        current = json.loads(path.read_text())
    current.update(values)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(current))
    os.replace(tmp, path)


def run_loop(args: argparse.Namespace) -> int:
    interval = args.interval_minutes or env_int("BACKUP_INTERVAL_MINUTES", 1440, 1)
    keep_count = args.keep_count or env_int("BACKUP_KEEP_COUNT", 7, 1)
    keep_days = args.keep_days or env_int("BACKUP_KEEP_DAYS", 30, 1)
    database_url()  # fail at start, not at the first backup, when the environment is wrong
    encryption_key()
    root = backup_root(args)
    write_status(started=iso(utcnow()), interval_minutes=interval, last_error=None)
    say(f"every {interval} min into {root}; keeping the newest {keep_count} and everything younger than "
        f"{keep_days} days" + ("; encrypted" if os.environ.get("BACKUP_ENCRYPTION_KEY") else "")
        + ("; copied to a second location" if os.environ.get("BACKUP_COPY_TO") else ""))
    while True:
        # Scheduled from the newest backup on disk, so a restarted container does not back up again at once.
        newest = next((b for b in list_backups(root) if b["kind"] == "full"), None)
        wait = 0 if newest is None else interval * 60 - newest["age_seconds"]
        if wait > 0:
            say(f"next backup in {wait // 60} min")
            time.sleep(min(wait, 3600))
            continue
        write_status(last_attempt=iso(utcnow()))
        try:
            manifest = take_backup(args)
            prune(root, keep_count, keep_days)
            copy_backup(root, manifest["name"])
            write_status(last_success=iso(utcnow()), last_backup=manifest["name"], last_error=None)
        except Exception as failure:  # noqa: BLE001 - the loop must survive a bad night (disk full, DB down)
            message = str(failure) if isinstance(failure, Fail) else f"{type(failure).__name__}: {failure}"
            say(f"ERROR: {message}")
            write_status(last_error=scrub(message)[:500], last_error_at=iso(utcnow()))
            if args.once:
                return failure.code if isinstance(failure, Fail) else EXIT_BACKUP
            time.sleep(min(interval * 60, 600))  # retry sooner than the interval, but do not spin
            continue
        if args.once:
            return EXIT_OK


def health() -> int:
    try:
        status = json.loads(status_file().read_text())
    except (OSError, ValueError):
        print("no status yet (the loop has not started)")
        return EXIT_UNHEALTHY
    if status.get("last_error"):
        print(f"last backup failed: {status['last_error']}")
        return EXIT_UNHEALTHY
    interval = int(status.get("interval_minutes") or 1440)
    reference = status.get("last_success") or status.get("started")
    age = (utcnow() - parse_iso(reference)).total_seconds() if reference else float("inf")
    # A backup may take a while on a large data set: allow two intervals plus an hour.
    if age > (2 * interval + 60) * 60:
        print(f"no successful backup for {int(age // 60)} min")
        return EXIT_UNHEALTHY
    print("ok")
    return EXIT_OK


# ------------------------------------------------------------------------------------------------------------
# CLI


def parse_args(argv: list[str]) -> argparse.Namespace:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dir", help="backup directory (default $BACKUP_DIR or /backups)")
    common.add_argument("--data-dir", help="the app's data directory (default $DATA_DIR or /app/backend/data)")
    parser = argparse.ArgumentParser(prog="owui_ops backup-tool", description=(__doc__ or "").split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    sub.add_parser("run", parents=[common], help="take one backup now")
    loop = sub.add_parser("loop", parents=[common], help="back up every interval; prune and copy after each")
    loop.add_argument("--interval-minutes", type=int)
    loop.add_argument("--keep-count", type=int)
    loop.add_argument("--keep-days", type=int)
    loop.add_argument("--once", action="store_true", help=argparse.SUPPRESS)
    listing = sub.add_parser("list", parents=[common], help="list backups as JSON")
    listing.add_argument("--revisions", action="store_true", help="also read pre-migration files' revisions")
    pruning = sub.add_parser("prune", parents=[common], help="apply the retention rules")
    pruning.add_argument("--keep-count", type=int)
    pruning.add_argument("--keep-days", type=int)
    pruning.add_argument("--dry-run", action="store_true")
    verify = sub.add_parser("verify", parents=[common], help="check a backup's files (and the key)")
    verify.add_argument("name")
    restore = sub.add_parser("restore", parents=[common], help="restore a backup (stop the app first)")
    restore.add_argument("name")
    restore.add_argument("--no-database", action="store_true")
    restore.add_argument("--no-files", action="store_true")
    sub.add_parser("health", help="health check for the backup container")
    prepare = sub.add_parser("prepare-dir", help="make a (bind-mounted) backup directory the owner's, mode 0750")
    prepare.add_argument("owner", help="uid:gid")
    prepare.add_argument("directory")
    return parser.parse_args(argv)


def _terminate(signum: int, frame: Any) -> None:
    # docker stop: unwind through the finally blocks, which remove a partial backup and kill child processes.
    raise SystemExit(128 + signum)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        if args.mode == "run":
            manifest = take_backup(args)
            print(json.dumps(manifest, sort_keys=True))
            copy_backup(backup_root(args), manifest["name"])
            return EXIT_OK
        if args.mode == "loop":
            return run_loop(args)
        if args.mode == "list":
            print(json.dumps(list_backups(backup_root(args), revisions=args.revisions), indent=1))
            return EXIT_OK
        if args.mode == "prune":
            root = backup_root(args)
            keep_count = args.keep_count or env_int("BACKUP_KEEP_COUNT", 7, 1)
            keep_days = args.keep_days or env_int("BACKUP_KEEP_DAYS", 30, 1)
            with locked(root):
                removed = prune(root, keep_count, keep_days, dry_run=args.dry_run)
            print(json.dumps({"removed": removed, "dry_run": args.dry_run}))
            return EXIT_OK
        if args.mode == "verify":
            manifest = verify_backup(resolve_backup(backup_root(args), args.name), encryption_key())
            print(json.dumps({"verified": manifest["name"], "encrypted": bool(manifest.get("encrypted"))}))
            return EXIT_OK
        if args.mode == "restore":
            from owui_ops.restore import restore_backup

            print(json.dumps(restore_backup(args), sort_keys=True))
            return EXIT_OK
        if args.mode == "prepare-dir":
            print(json.dumps(prepare_dir(args.owner, Path(args.directory))))
            return EXIT_OK
        return health()
    except Fail as failure:
        say(f"ERROR: {failure}")
        return failure.code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
