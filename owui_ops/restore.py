"""Restore a backup into the stack's database and data directory (`python3 -m owui_ops backup-tool restore NAME`).

The app must be stopped (`owui restore` does that: owui_ops.operate). The backup's checksums (and key) are
verified first; PostgreSQL is replayed in one transaction committed only when every decoder succeeded; SQLite is
swapped in atomically; the data directory is extracted to a staging directory, checked against path traversal,
then swapped in.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import sqlite3
import subprocess
import tarfile
import threading
from pathlib import Path, PurePosixPath
from typing import IO, Any, Callable, Iterator, Optional

from owui_ops.backup import (
    EXIT_RESTORE,
    SQLITE_SIDECARS,
    STAGING_PREFIX,
    backup_root,
    data_root,
    database_url,
    encryption_key,
    excluded_paths,
    locked,
    resolve_backup,
    say,
    verify_backup,
)
from owui_ops.dburl import DbUrl
from owui_ops.dump import (
    CHUNK,
    Pipeline,
    fsync_path,
    gpg_decrypt_stage,
    gpg_home,
    gunzip_stage,
    mysql_defaults,
    pg_env,
    run_quiet,
)
from owui_ops.errors import die


class Decoded:
    """A readable stream of a file's plain content (gpg and gzip undone by their suffixes).

    `finish()` drains the stream and checks every decoder's exit status: a restore calls it BEFORE it commits,
    so a wrong key or a truncated file can never be committed as an empty or partial database.
    """

    def __init__(self, file: Path, key: Optional[str], home: str, code: int = EXIT_RESTORE) -> None:
        stages = []
        name = file.name
        if name.endswith(".gpg"):
            if key is None:
                die(code, f"{file.name} is encrypted: set BACKUP_ENCRYPTION_KEY")
            stages.append(gpg_decrypt_stage(home))
            name = name[:-4]
        if name.endswith(".gz"):
            stages.append(gunzip_stage())
        self._file = open(file, "rb")
        self._pipe: Optional[Pipeline] = None
        self.stream: IO[bytes] = self._file
        if stages:
            self._pipe = Pipeline(stages, read=True, stdin_file=self._file, passphrase=key, code=code)
            assert self._pipe.stdout is not None
            self.stream = self._pipe.stdout
        self._done = False

    def finish(self) -> None:
        if self._done:
            return
        self._done = True
        try:
            if self._pipe is not None:
                while self.stream.read(CHUNK):  # a decoder must never block on a full pipe
                    pass
                self._pipe.finish()
        finally:
            self._file.close()

    def abort(self) -> None:
        if not self._done:
            self._done = True
            if self._pipe is not None:
                self._pipe.kill()
            self._file.close()


@contextlib.contextmanager
def decoded(file: Path, key: Optional[str], home: str, code: int = EXIT_RESTORE) -> Iterator[Decoded]:
    source = Decoded(file, key, home, code)
    try:
        yield source
        source.finish()
    except BaseException:
        source.abort()
        raise


def database_format(name: str) -> str:
    base = name.removesuffix(".gpg").removesuffix(".gz")
    for suffix, kind in ((".sqlite3", "sqlite"), (".pgdump", "postgresql"), (".sql", "mysql")):
        if base.endswith(suffix):
            return kind
    die(EXIT_RESTORE, f"{name}: unknown database dump format")


def restore_sqlite(url: DbUrl, source: Decoded) -> None:
    target = Path(url.path or "")
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.parent / f"{STAGING_PREFIX}{secrets.token_hex(4)}.sqlite3"
    try:
        with open(staged, "wb") as out:
            shutil.copyfileobj(source.stream, out, CHUNK)
            out.flush()
            os.fsync(out.fileno())
        source.finish()
        conn = sqlite3.connect(str(staged))
        try:
            check = conn.execute("PRAGMA integrity_check").fetchone()
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        finally:
            conn.close()
        if not check or check[0] != "ok" or tables == 0:
            die(EXIT_RESTORE, f"the restored SQLite file is not a usable database (check: {check}, tables: {tables})")
        # A -wal left by the old file would be replayed into the restored one: remove the sidecars first.
        for suffix in SQLITE_SIDECARS:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(str(target) + suffix)
        os.replace(staged, target)
        fsync_path(target.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            staged.unlink()


# Everything the app's role owns in the database goes before the dump is replayed: a table a newer migration
# added would otherwise survive and break the next upgrade. Runs in the same transaction as the restore.
PG_DROP_OWNED = r"""
DO $owui$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.oid::regclass::text AS obj, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND pg_has_role(c.relowner, 'USAGE')
             AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'
  LOOP
    EXECUTE format('DROP %s IF EXISTS %s CASCADE',
      CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE'
                     ELSE 'TABLE' END, r.obj);
  END LOOP;
  FOR r IN SELECT c.oid::regclass::text AS obj FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relkind = 'S' AND pg_has_role(c.relowner, 'USAGE')
             AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'
  LOOP
    EXECUTE format('DROP SEQUENCE IF EXISTS %s CASCADE', r.obj);
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure::text AS obj, p.prokind
           FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE pg_has_role(p.proowner, 'USAGE') AND p.prokind IN ('f', 'p')
             AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('DROP %s IF EXISTS %s CASCADE', CASE r.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END, r.obj);
  END LOOP;
  FOR r IN SELECT t.oid::regtype::text AS obj FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
           WHERE t.typtype IN ('e', 'd', 'r') AND pg_has_role(t.typowner, 'USAGE')
             AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('DROP TYPE IF EXISTS %s CASCADE', r.obj);
  END LOOP;
END $owui$;
"""


def restore_postgres(url: DbUrl, source: Decoded) -> None:
    """pg_restore turns the archive into SQL; psql replays it after the drop inside ONE transaction, and COMMIT is
    sent only after pg_restore and every decoder succeeded: any failure leaves the database as it was."""
    env = pg_env(url)
    converter = Pipeline([("pg_restore", ["pg_restore", "--no-owner", "--no-privileges", "-f", "-"], env)],
                         read=True, feed=True, code=EXIT_RESTORE)
    psql = Pipeline([("psql", ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", "-"], env)],
                    feed=True, out=subprocess.DEVNULL, code=EXIT_RESTORE)  # type: ignore[arg-type]
    assert converter.stdin is not None and converter.stdout is not None and psql.stdin is not None
    feed_error: list[BaseException] = []

    def feed() -> None:
        try:
            shutil.copyfileobj(source.stream, converter.stdin, CHUNK)  # type: ignore[arg-type]
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            feed_error.append(exc)
        finally:
            with contextlib.suppress(OSError):
                converter.stdin.close()  # type: ignore[union-attr]

    feeder = threading.Thread(target=feed, daemon=True)
    try:
        psql.stdin.write(b"BEGIN;\n" + PG_DROP_OWNED.encode())
        feeder.start()
        shutil.copyfileobj(converter.stdout, psql.stdin, CHUNK)
        feeder.join()
        converter.stdin = None
        converter.finish()
        source.finish()
        if feed_error and not isinstance(feed_error[0], BrokenPipeError):
            raise feed_error[0]
        psql.stdin.write(b"COMMIT;\n")
    except BrokenPipeError:
        pass  # psql stopped reading: its exit status below says why
    except BaseException:
        converter.kill()
        psql.kill()  # no COMMIT was sent: the server rolls the transaction back
        raise
    psql.finish()


def restore_mysql(url: DbUrl, source: Decoded) -> None:
    with mysql_defaults(url) as cnf:
        listing = run_quiet(["mysql", f"--defaults-extra-file={cnf}", "-N", "-B", "-e",
                             "SELECT table_name, table_type FROM information_schema.tables "
                             "WHERE table_schema = DATABASE()", url.database or ""], "mysql", code=EXIT_RESTORE)
        views: list[str] = []
        tables: list[str] = []
        for line in listing.splitlines():
            if "\t" in line:
                name, kind = line.split("\t", 1)
                (views if kind.strip() == "VIEW" else tables).append("`" + name.replace("`", "``") + "`")
        prelude = "SET FOREIGN_KEY_CHECKS=0;\n"
        if views:
            prelude += f"DROP VIEW IF EXISTS {', '.join(views)};\n"
        if tables:
            prelude += f"DROP TABLE IF EXISTS {', '.join(tables)};\n"
        # MySQL DDL is not transactional: the backup's checksums (and key) are verified before this runs, then
        # the tables are dropped and the dump recreates and fills them.
        client = Pipeline([("mysql", ["mysql", f"--defaults-extra-file={cnf}", "--binary-mode", url.database or ""],
                            None)], feed=True, out=subprocess.DEVNULL, code=EXIT_RESTORE)  # type: ignore[arg-type]
        try:
            assert client.stdin is not None
            client.stdin.write(prelude.encode())
            shutil.copyfileobj(source.stream, client.stdin, CHUNK)
            source.finish()
        except BrokenPipeError:
            pass
        except BaseException:
            client.kill()
            raise
        client.finish()


RESTORERS: dict[str, Callable[[DbUrl, "Decoded"], None]] = {
    "sqlite": restore_sqlite, "postgresql": restore_postgres, "mysql": restore_mysql}


def safe_member(member: tarfile.TarInfo) -> Optional[str]:
    """Why a tar member must not be extracted (path traversal, devices), or None when it is fine."""
    path = PurePosixPath(member.name)
    if path.is_absolute() or ".." in path.parts:
        return "escapes the data directory"
    if member.isdev() or member.isfifo():
        return "is a device or fifo"
    if member.issym():
        target = PurePosixPath(member.linkname)
        joined = PurePosixPath(os.path.normpath(str(path.parent / target)))
        if target.is_absolute() or joined.parts[:1] == ("..",):
            return "is a symlink out of the data directory"
    if member.islnk():
        target = PurePosixPath(member.linkname)
        if target.is_absolute() or ".." in target.parts:
            return "is a hard link out of the data directory"
    return None


def restore_data_dir(url: DbUrl, data: Path, root: Path, source: Decoded) -> int:
    """Extract into a staging directory, then swap it in for everything except the live database files."""
    data.mkdir(parents=True, exist_ok=True)
    staging = data / f"{STAGING_PREFIX}{secrets.token_hex(4)}"
    staging.mkdir(mode=0o700)
    count = 0
    try:
        with tarfile.open(fileobj=source.stream, mode="r|", bufsize=CHUNK) as tar:
            for member in tar:
                problem = safe_member(member)
                if problem:
                    die(EXIT_RESTORE, f"refusing archive member {member.name!r}: it {problem}")
                member.mode &= 0o777  # no setuid/setgid from an archive
                if member.isdir():
                    member.mode |= 0o700
                tar.extract(member, path=str(staging), set_attrs=True)
                count += 1
        source.finish()
        keep = excluded_paths(url, data, root)
        for entry in data.iterdir():
            if entry == staging or entry.name.startswith(STAGING_PREFIX) or entry.resolve() in keep:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        for entry in staging.iterdir():
            os.rename(entry, data / entry.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return count


def restore_backup(args: argparse.Namespace) -> dict[str, Any]:
    url = database_url()
    key = encryption_key()
    root = backup_root(args)
    data = data_root(args)
    path = resolve_backup(root, args.name)
    with locked(root):
        if path.is_file():
            # owui-migrate's single-file pre-migration backup: the database only.
            kind = database_format(path.name)
            manifest: dict[str, Any] = {"name": path.name, "database": {"type": kind, "file": path.name},
                                        "files": [], "encrypted": False}
            db_file: Optional[Path] = path
            data_file: Optional[Path] = None
        else:
            manifest = verify_backup(path, key)
            kind = manifest["database"]["type"]
            db_file = path / manifest["database"]["file"]
            data_file = next((path / f["name"] for f in manifest["files"] if f["role"] == "data"), None)
        if kind != url.kind:
            die(EXIT_RESTORE, f"backup {path.name} holds a {kind} database, but DATABASE_URL is {url.kind}")
        restored = {"name": path.name, "database": False, "data_files": None}
        with gpg_home() as home:
            if db_file is not None and not args.no_database:
                say(f"restoring the database ({url.describe()}) from {db_file.name}")
                with decoded(db_file, key, home) as stream:
                    RESTORERS[kind](url, stream)
                restored["database"] = True
            if data_file is not None and not args.no_files:
                say(f"restoring the data directory {data} from {data_file.name}")
                with decoded(data_file, key, home) as stream:
                    restored["data_files"] = restore_data_dir(url, data, root, stream)
    restored["revision"] = manifest.get("database", {}).get("revision")
    say(f"restored {path.name}")
    return restored
