"""Database dumps and the process plumbing around them: one implementation for the scheduled backups, the
one-shot backups and the migration step's pre-migration file.

Passwords reach pg_dump/psql through PGPASSWORD and mysqldump/mysql through a 0600 option file in /tmp, never
argv; error text is scrubbed (owui_ops.errors). gpg's passphrase goes through a pipe (--passphrase-fd).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sqlite3
import subprocess
import tempfile
import urllib.parse
from pathlib import Path
from typing import IO, Any, Iterator, Optional, Sequence

from owui_ops.dburl import DbUrl
from owui_ops.errors import Fail, die, scrub

EXIT_BACKUP = 2  # every dump failure exits with it (owui_ops.backup and owui_ops.migrate agree on the code)
CHUNK = 1 << 20
# A pipeline stage: what it is (for errors), its argv, its environment (None: inherited).
Stage = tuple[str, list[str], Optional[dict[str, str]]]


def need_tool(*names: str) -> str:
    """The first of `names` on PATH; a missing dump tool fails with what to do instead."""
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    die(EXIT_BACKUP, f"{names[0]} is not installed in this image, so no backup can be taken. Run "
                     "`python3 -m owui_ops migrate backup` in the tools image and then `migrate upgrade --no-backup`, "
                     "or pass --backup-command, or set BACKUP=skip to migrate without a backup")


def is_mariadb(tool: str) -> bool:
    """MariaDB's and MySQL's clients spell their TLS options differently."""
    result = subprocess.run([tool, "--version"], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return "mariadb" in result.stdout.lower()


def pg_env(url: DbUrl) -> dict[str, str]:
    env = dict(os.environ)
    libpq = {"PGHOST": url.server_host, "PGPORT": str(url.server_port), "PGUSER": url.username,
             "PGPASSWORD": url.password,
             "PGDATABASE": url.database, "PGSSLMODE": url.query.get("sslmode"),
             "PGSSLROOTCERT": url.query.get("sslrootcert"), "PGSSLCERT": url.query.get("sslcert"),
             "PGSSLKEY": url.query.get("sslkey"), "PGCONNECT_TIMEOUT": url.query.get("connect_timeout") or "10",
             "PGAPPNAME": "owui-backup"}
    env.update({k: v for k, v in libpq.items() if v})
    return env


def option_value(value: str) -> str:
    """Quote a value for a MySQL option file."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@contextlib.contextmanager
def mysql_defaults(url: DbUrl, *, mariadb: bool = True) -> Iterator[str]:
    """A 0600 [client] option file in /tmp with the credentials, removed afterwards. `mariadb`: the client is
    MariaDB's (the tools image's), whose TLS options differ from MySQL's."""
    lines = ["[client]", f"user={option_value(url.username or '')}", f"password={option_value(url.password or '')}",
             f"host={option_value(url.server_host)}", f"port={url.server_port}",
             "default-character-set=utf8mb4"]
    # (no connect-timeout: mysqldump rejects it in [client]; the server's connect_timeout applies)
    ca = url.query.get("ssl_ca")
    check_host = str(url.query.get("ssl_check_hostname", "true")).lower() not in ("false", "0")
    if ca:
        lines.append(f"ssl-ca={option_value(ca)}")
    if ca or "ssl_check_hostname" in url.query:
        if mariadb:
            lines.append("ssl")
            if ca and check_host:
                lines.append("ssl-verify-server-cert")
        else:
            lines.append("ssl-mode=" + ("VERIFY_IDENTITY" if ca and check_host else "VERIFY_CA" if ca else "REQUIRED"))
    fd, path = tempfile.mkstemp(prefix="owui-backup-", suffix=".cnf", dir="/tmp" if os.path.isdir("/tmp") else None)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("\n".join(lines) + "\n")
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def run_quiet(argv: list[str], what: str, *, env: Optional[dict[str, str]] = None, input_text: Optional[str] = None,
              code: int = EXIT_BACKUP) -> str:
    result = subprocess.run(argv, env=env, input=input_text, capture_output=True, text=True,
                            stdin=None if input_text is not None else subprocess.DEVNULL)
    if result.returncode != 0:
        die(code, f"{what} exited {result.returncode}: {scrub(result.stderr.strip()[-1500:])}")
    return result.stdout


@contextlib.contextmanager
def gpg_home() -> Iterator[str]:
    home = tempfile.mkdtemp(prefix="owui-gnupg-")
    try:
        yield home
    finally:
        shutil.rmtree(home, ignore_errors=True)


class Pipeline:
    """argv stages chained stdout->stdin; the last writes to a file (or a pipe the caller reads).

    Python may feed the first stage (`feed`) or a first stage may produce the data itself. gpg's passphrase is
    written into an os.pipe whose read end gpg gets as --passphrase-fd.
    """

    def __init__(self, stages: Sequence[Stage], *,
                 out: Optional[IO[bytes]] = None, feed: bool = False, read: bool = False,
                 stdin_file: Optional[IO[bytes]] = None, passphrase: Optional[str] = None,
                 code: int = EXIT_BACKUP) -> None:
        self.stages = stages
        self.code = code
        self.procs: list[tuple[str, subprocess.Popen, IO[bytes]]] = []
        self._pass_r: Optional[int] = None
        previous: Any = subprocess.PIPE if feed else (stdin_file if stdin_file is not None else subprocess.DEVNULL)
        try:
            for index, (what, argv, env) in enumerate(stages):
                last = index == len(stages) - 1
                pass_fds: tuple[int, ...] = ()
                if "--passphrase-fd" in argv:
                    if passphrase is None:
                        die(code, "internal: gpg stage without a passphrase")
                    read_end, write_end = os.pipe()
                    os.write(write_end, passphrase.encode() + b"\n")
                    os.close(write_end)
                    argv = [str(read_end) if a == "{fd}" else a for a in argv]
                    pass_fds = (read_end,)
                    self._pass_r = read_end
                errors = tempfile.TemporaryFile()
                stdout: Any = (subprocess.PIPE if read else out) if last else subprocess.PIPE
                proc = subprocess.Popen(argv, stdin=previous, stdout=stdout, stderr=errors, env=env,
                                        pass_fds=pass_fds)
                if pass_fds:
                    os.close(pass_fds[0])
                    self._pass_r = None
                if index > 0 and previous is not None and hasattr(previous, "close"):
                    previous.close()  # our copy: the next stage owns the pipe now
                self.procs.append((what, proc, errors))
                previous = proc.stdout if not last else None
        except Exception:
            self.kill()
            raise
        self.stdin = self.procs[0][1].stdin if feed else None
        self.stdout = self.procs[-1][1].stdout if read else None

    def kill(self) -> None:
        for _, proc, _ in self.procs:
            with contextlib.suppress(Exception):
                proc.kill()
        for _, proc, _ in self.procs:
            with contextlib.suppress(Exception):
                proc.wait(timeout=10)
        if self._pass_r is not None:
            with contextlib.suppress(OSError):
                os.close(self._pass_r)

    def finish(self) -> None:
        if self.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                self.stdin.close()
        failures = []
        for what, proc, errors in self.procs:
            proc.wait()
            if proc.returncode != 0:
                errors.seek(0)
                text = errors.read().decode(errors="replace").strip()[-1500:]
                failures.append(f"{what} exited {proc.returncode}" + (f": {scrub(text)}" if text else ""))
            errors.close()
        if failures:
            die(self.code, "; ".join(failures))


def gzip_stage(level: int) -> Stage:
    return ("gzip", ["gzip", "-c", "-n", f"-{level}"], None)


def gunzip_stage() -> Stage:
    return ("gunzip", ["gzip", "-d", "-c"], None)


def gpg_encrypt_stage(home: str) -> Stage:
    return ("gpg", ["gpg", "--batch", "--quiet", "--no-tty", "--homedir", home, "--pinentry-mode", "loopback",
                    "--passphrase-fd", "{fd}", "--symmetric", "--cipher-algo", "AES256", "--s2k-digest-algo",
                    "SHA512", "--compress-algo", "none", "--no-symkey-cache", "--output", "-"], None)


def gpg_decrypt_stage(home: str) -> Stage:
    return ("gpg", ["gpg", "--batch", "--quiet", "--no-tty", "--homedir", home, "--pinentry-mode", "loopback",
                    "--passphrase-fd", "{fd}", "--no-symkey-cache", "--decrypt", "--output", "-"], None)


# ------------------------------------------------------------------------------------------------------------
# Files: hashing, fsync, atomic directories, the lock


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)



def sqlite_online_backup(source: Path, target: Path) -> None:
    """Page-by-page copy through SQLite itself: consistent while the app writes (never a file copy)."""
    src = sqlite3.connect(f"file:{urllib.parse.quote(str(source))}?mode=ro", uri=True, timeout=60)
    dst = sqlite3.connect(str(target))
    try:
        src.backup(dst, pages=4096, sleep=0.05)
        # The copy inherits WAL mode from the source's header; a self-contained file restores more simply.
        dst.execute("PRAGMA journal_mode=DELETE")
        check = dst.execute("PRAGMA quick_check").fetchone()
        if not check or check[0] != "ok":
            die(EXIT_BACKUP, f"the SQLite copy of {source} failed its check: {check}")
    finally:
        dst.close()
        src.close()


def sqlite_revision(path: Path) -> Optional[str]:
    """The revision inside a closed SQLite copy. immutable=1: no locks and no -shm, so a copy in WAL format
    (owui-migrate's pre-migration files) is readable from a read-only mount too."""
    conn = sqlite3.connect(f"file:{urllib.parse.quote(str(path))}?mode=ro&immutable=1", uri=True)
    try:
        rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        return ",".join(sorted(r[0] for r in rows)) or None
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def server_revision(url: DbUrl) -> Optional[str]:
    """The Alembic revision read with the CLI clients; None when there is no alembic_version table."""
    sql = "SELECT version_num FROM alembic_version"
    try:
        if url.kind == "postgresql":
            out = run_quiet(["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], "psql",
                            env=pg_env(url))
        else:
            with mysql_defaults(url, mariadb=is_mariadb(need_tool("mysql", "mariadb"))) as cnf:
                out = run_quiet(["mysql", f"--defaults-extra-file={cnf}", "-N", "-B", "-e", sql, url.database or ""],
                                "mysql")
    except Fail as failure:
        if "alembic_version" in str(failure):
            return None
        raise
    return ",".join(sorted(line.strip() for line in out.splitlines() if line.strip())) or None


def dump_to(url: DbUrl, target: Path, *, gzip_level: Optional[int] = None, key: Optional[str] = None,
            home: Optional[str] = None) -> None:
    """Write a consistent dump of a server database to `target`: PostgreSQL `pg_dump -Fc` (compressed already),
    MySQL/MariaDB `mysqldump --single-transaction` (gzip'ed when `gzip_level` is given); gpg-encrypted with `key`.

    pg_dump: --no-owner/--no-privileges make it restorable into a recreated stack. mysqldump: the database name
    is positional without --databases, so the dump has no CREATE DATABASE/USE and restores into whatever database
    the stack's URL names, by a user without CREATE privileges.
    """
    encrypt = [gpg_encrypt_stage(home or "")] if key else []
    if url.kind == "postgresql":
        dump: Stage = ("pg_dump", [need_tool("pg_dump"), "--format=custom", "--no-password", "--no-owner",
                            "--no-privileges"], pg_env(url))
        with open(target, "wb") as out:
            Pipeline([dump, *encrypt], out=out, passphrase=key).finish()
        return
    if url.kind != "mysql":
        die(EXIT_BACKUP, f"dump_to cannot dump a {url.kind} database")
    tool = need_tool("mysqldump", "mariadb-dump")
    compress = [gzip_stage(gzip_level)] if gzip_level else []
    with mysql_defaults(url, mariadb=is_mariadb(tool)) as cnf, open(target, "wb") as out:
        dump = ("mysqldump", [tool, f"--defaults-extra-file={cnf}", "--single-transaction", "--routines",
                              "--triggers", "--hex-blob", "--no-tablespaces", "--default-character-set=utf8mb4",
                              url.database or ""], None)
        Pipeline([dump, *compress, *encrypt], out=out, passphrase=key).finish()
