"""Migrations (`python3 -m owui_ops migrate ...`): back up, then migrate Open WebUI's database to the code's
head: record the revision, refuse two heads or a database ahead of the code, upgrade, verify.

Runs inside the target image (or any Python with SQLAlchemy + Alembic), with the app's environment:
DATABASE_URL and, for Open WebUI's own scripts, WEBUI_SECRET_KEY. It comes from the tools image (a read-only
volume, owui_ops.steps) and needs nothing but the standard library, SQLAlchemy and Alembic; `backup` needs
only the standard library and the dump tool, so it also runs in the tools image (pg_dump/mysqldump, no
SQLAlchemy).

  migrate status                      print {"current": [...], "revision": "a,b", "heads": [...], "up_to_date": bool,
                                      "unknown_revisions": [...], "multiple_heads": bool, "database": masked} as JSON
  migrate backup                      write a timestamped backup and print its path
  migrate upgrade [--no-backup]       refuse on >1 head or an unknown (newer) DB revision, back up, record the
                                      current revision, `alembic upgrade head`, verify current == head
  migrate apply [--no-backup]         the deploy step in one process (owui_ops.steps): backup (always, unless
                                      --no-backup), `upgrade --no-backup`, `config-guard`, then `status`; only
                                      the status JSON goes to stdout, the rest is progress on stderr

Options: --script-location DIR (default: the installed open_webui package's `migrations`), --config INI
(default: open_webui/alembic.ini next to it, else built-in defaults), --backup-dir DIR (default $BACKUP_DIR,
else $DATA_DIR/backups, else /app/backend/data/backups), --backup-command CMD (run instead of the built-in
dump; it gets BACKUP_FILE and DATABASE_URL in its environment and must write $BACKUP_FILE), --check (status:
exit 8 when not up to date). BACKUP=skip in the environment is the same as --no-backup.

Backups: SQLite through Python's online backup API (consistent while the app runs) to
<dir>/<UTC timestamp>-pre-migration.sqlite3; PostgreSQL `pg_dump -Fc` (.pgdump); MySQL/MariaDB
`mysqldump --single-transaction` (.sql): the scheduled backups' dumps (owui_ops.dump). Files are created
mode 0600. Passwords reach pg_dump/mysqldump through the environment (PGPASSWORD) or a 0600 option file, never
on a command line.

Open WebUI 0.12.4 has only Alembic migrations (the old peewee ones are gone): a database last touched by a
peewee-era release (< 0.3.x) must first be opened once by an intermediate release that still carries them.

Exit codes:
  0  success (upgraded, or already at head; status printed)
  1  usage or environment error (no DATABASE_URL, scripts not found, WEBUI_SECRET_KEY missing)
  2  backup failed, or the dump tool is missing (use --backup-command, BACKUP=skip, or run `backup` in the
     tools image and `upgrade --no-backup` here)
  3  the migration scripts have more than one head (run `alembic merge heads`)
  4  the database is at a revision these scripts do not know (database ahead of the code)
  5  the upgrade failed (the backup is kept; its path is printed)
  6  after the upgrade the database is not at head
  7  cannot connect to the database
  8  status --check: not up to date
The DATABASE_URL password is never printed: URLs are shown masked and error text is scrubbed of it.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from owui_ops import dburl
from owui_ops.dburl import DbUrl
from owui_ops.dump import EXIT_BACKUP, dump_to, sqlite_online_backup
from owui_ops.errors import Fail, die, first_line, log, remember_secret, scrub

EXIT_OK, EXIT_USAGE, _, EXIT_HEADS, EXIT_AHEAD, EXIT_FAILED, EXIT_VERIFY, EXIT_CONNECT, EXIT_BEHIND = range(9)


# --------------------------------------------------------------------------------------------------------------
# Secrets never leave this process in clear


def say(message: str) -> None:
    log("owui-migrate", message)


# --------------------------------------------------------------------------------------------------------------
# Database URL


def database_url() -> Any:
    raw = os.environ.get("DATABASE_URL", "").strip()
    if not raw:
        die(EXIT_USAGE, "DATABASE_URL is not set")
    try:
        url = dburl.parse(dburl.normalise_postgres_scheme(raw))  # as Open WebUI does, but only for the scheme
    except ValueError:
        die(EXIT_USAGE, "DATABASE_URL cannot be parsed (is the password URL-encoded?)")
    remember_secret(url.password)
    return url


def masked(url: DbUrl) -> str:
    return url.render_as_string(hide_password=True)


def backend(url: DbUrl) -> str:
    try:
        return url.kind
    except dburl.DatabaseUrlError as exc:
        die(EXIT_USAGE, str(exc))


def make_engine(url: DbUrl) -> Any:
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    return create_engine(url.render_as_string(hide_password=False), poolclass=NullPool)


# --------------------------------------------------------------------------------------------------------------
# Alembic: scripts and revisions


def default_script_location() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("open_webui")  # finds the package without importing (and configuring) it
    if spec is None or not spec.submodule_search_locations:
        die(EXIT_USAGE, "cannot find the open_webui package: pass --script-location")
    return Path(list(spec.submodule_search_locations)[0]) / "migrations"


def alembic_config(args: argparse.Namespace, url: DbUrl) -> Any:
    from alembic.config import Config

    location = Path(args.script_location) if args.script_location else default_script_location()
    if not (location / "env.py").is_file():
        die(EXIT_USAGE, f"no Alembic environment (env.py) in {location}")
    ini = Path(args.config) if args.config else location.parent / "alembic.ini"
    cfg = Config(str(ini)) if ini.is_file() else Config()
    cfg.set_main_option("script_location", str(location))
    # configparser interpolates %: double it, or an encoded password (%40...) breaks.
    cfg.set_main_option("sqlalchemy.url", url.render_as_string(hide_password=False).replace("%", "%%"))
    if _is_open_webui(location) and not os.environ.get("WEBUI_SECRET_KEY"):
        die(EXIT_USAGE, "WEBUI_SECRET_KEY is not set: Open WebUI's migration environment exits without it")
    return cfg


def _is_open_webui(location: Path) -> bool:
    return location.name == "migrations" and location.parent.name == "open_webui"


def script_heads(cfg: Any) -> tuple[Any, list[str]]:
    from alembic.script import ScriptDirectory

    try:
        script = ScriptDirectory.from_config(cfg)
        return script, sorted(script.get_heads())
    except Exception as exc:  # a broken revision file, an import error in it...
        die(EXIT_USAGE, f"cannot load the migration scripts: {type(exc).__name__}: {exc}")


def current_revisions(url: DbUrl) -> list[str]:
    from alembic.runtime.migration import MigrationContext

    if backend(url) == "sqlite" and url.database and url.database != ":memory:" and not Path(url.database).exists():
        return []  # connecting would create the file: status must change nothing
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return sorted(MigrationContext.configure(conn).get_current_heads())
    except Exception as exc:
        die(EXIT_CONNECT, f"cannot read the revision from {masked(url)}: {first_line(exc)}")
    finally:
        engine.dispose()


def unknown_revisions(script: Any, revisions: list[str]) -> list[str]:
    unknown = []
    for rev in revisions:
        try:
            if script.get_revision(rev) is None:
                unknown.append(rev)
        except Exception:
            unknown.append(rev)
    return unknown


def status_report(args: argparse.Namespace) -> dict[str, Any]:
    url = database_url()
    cfg = alembic_config(args, url)
    script, heads = script_heads(cfg)
    current = current_revisions(url)
    unknown = unknown_revisions(script, current)
    return {
        "current": current,
        # The same as one string ("" for an empty database), for callers that show a single revision.
        "revision": ",".join(current),
        "heads": heads,
        "up_to_date": bool(heads) and current == heads,
        "unknown_revisions": unknown,
        "multiple_heads": len(heads) > 1,
        "database": masked(url),
    }


def refuse_unsafe(report: dict[str, Any]) -> None:
    if report["multiple_heads"]:
        die(
            EXIT_HEADS,
            f"the migration scripts have {len(report['heads'])} heads ({', '.join(report['heads'])}): two "
            "branches added migrations independently. Merge them with `alembic merge -m \"merge heads\" heads`, "
            "commit the merge revision and build a new image; nothing was changed",
        )
    if report["unknown_revisions"]:
        die(
            EXIT_AHEAD,
            f"the database is at revision {', '.join(report['unknown_revisions'])}, which these migration scripts "
            "do not know: the database is ahead of the code (a newer Open WebUI already migrated it, or it belongs "
            "to another application). Deploy that newer image, or restore a backup taken before it; nothing was "
            "changed",
        )


# --------------------------------------------------------------------------------------------------------------
# Backups


def backup_dir(args: argparse.Namespace) -> Path:
    if args.backup_dir:
        return Path(args.backup_dir)
    if os.environ.get("BACKUP_DIR"):
        return Path(os.environ["BACKUP_DIR"])
    return Path(os.environ.get("DATA_DIR", "/app/backend/data")) / "backups"


def _timestamp() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


def take_backup(args: argparse.Namespace, url: DbUrl) -> Path | None:
    """Write a backup and return its path (None: a fresh SQLite database with no file yet)."""
    kind = backend(url)
    directory = backup_dir(args)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        die(EXIT_BACKUP, f"cannot create the backup directory {directory}: {exc}")
    ext = {"sqlite": "sqlite3", "postgresql": "pgdump", "mysql": "sql"}[kind]
    target = directory / f"{_timestamp()}-pre-migration.{ext}"
    partial = target.with_name(target.name + ".partial")
    old_umask = os.umask(0o077)  # backups hold everything the app stores: owner-only
    try:
        if args.backup_command:
            _backup_with_command(args.backup_command, url, partial)
        elif kind == "sqlite":
            if not _backup_sqlite(url, partial):
                return None
        else:
            dump_to(url, partial)
        if not partial.is_file() or partial.stat().st_size == 0:
            die(EXIT_BACKUP, f"the backup {partial} was not written or is empty")
        partial.rename(target)
    except Fail:
        partial.unlink(missing_ok=True)
        raise
    except Exception as exc:
        partial.unlink(missing_ok=True)
        die(EXIT_BACKUP, f"backup failed: {first_line(exc)}")
    finally:
        os.umask(old_umask)
    say(f"backup written: {target}")
    return target


def _backup_with_command(command: str, url: DbUrl, target: Path) -> None:
    env = {**os.environ, "BACKUP_FILE": str(target), "DATABASE_URL": url.render_as_string(hide_password=False)}
    result = subprocess.run(command, shell=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        die(EXIT_BACKUP, f"--backup-command exited {result.returncode}: {scrub(result.stderr.strip()[-2000:])}")


def _backup_sqlite(url: DbUrl, target: Path) -> bool:
    source = url.database
    if not source or source == ":memory:":
        die(EXIT_BACKUP, "an in-memory SQLite database cannot be backed up")
    if not Path(source).exists():
        say(f"no database file at {source} yet (fresh install): nothing to back up")
        return False
    sqlite_online_backup(Path(source), target)  # consistent even while the app writes
    return True


def wants_backup(args: argparse.Namespace) -> bool:
    if getattr(args, "no_backup", False):
        return False
    if os.environ.get("BACKUP", "").strip().lower() == "skip":
        say("BACKUP=skip: migrating without a backup")
        return False
    return True


# --------------------------------------------------------------------------------------------------------------
# Modes


def cmd_status(args: argparse.Namespace) -> int:
    report = status_report(args)
    print(json.dumps(report, sort_keys=True))
    if args.check and not report["up_to_date"]:
        return EXIT_BEHIND
    return EXIT_OK


def cmd_backup(args: argparse.Namespace) -> int:
    url = database_url()
    path = take_backup(args, url)
    print(json.dumps({"backup": str(path) if path else None}))
    return EXIT_OK


def cmd_upgrade(args: argparse.Namespace) -> int:
    from alembic import command

    report = status_report(args)
    url = database_url()
    cfg = alembic_config(args, url)
    refuse_unsafe(report)
    before = report["current"]
    say(f"database {report['database']}: current revision {', '.join(before) or 'none (empty database)'}, "
        f"code head {', '.join(report['heads']) or 'none'}")
    if report["up_to_date"]:
        say("already at head: nothing to migrate")
        print(json.dumps({**report, "before": before, "backup": None}, sort_keys=True))
        return EXIT_OK
    backup = take_backup(args, url) if wants_backup(args) else None
    try:
        # Migration scripts print progress to stdout; keep stdout for the one JSON result line.
        with contextlib.redirect_stdout(sys.stderr):
            command.upgrade(cfg, "head")
    except BaseException as exc:  # SystemExit from an env.py included
        if isinstance(exc, KeyboardInterrupt):
            raise
        after = _current_or_unknown(url)
        where = f"; the backup is at {backup}" if backup else " (no backup was taken)"
        after_text = after if isinstance(after, str) else ", ".join(after) or "none"
        die(EXIT_FAILED, f"the upgrade failed: {first_line(exc)}. The database is at revision "
                         f"{after_text} (was {', '.join(before) or 'none'}){where}")
    after = current_revisions(url)
    if after != report["heads"]:
        die(EXIT_VERIFY, f"after the upgrade the database is at {after}, not at head {report['heads']}"
                         + (f"; the backup is at {backup}" if backup else ""))
    say(f"upgraded {', '.join(before) or 'none'} -> {', '.join(after)}")
    result = {**report, "current": after, "revision": ",".join(after), "up_to_date": True, "before": before,
              "backup": str(backup) if backup else None}
    print(json.dumps(result, sort_keys=True))
    return EXIT_OK


def cmd_apply(args: argparse.Namespace) -> int:
    """One container instead of four: each start of the app image costs seconds (bench/results.md). The steps and
    their order are those of the separate modes; the first failure stops the rest with its exit code."""
    from owui_ops import config_guard

    with contextlib.redirect_stdout(sys.stderr):
        if wants_backup(args):
            cmd_backup(args)
        args.no_backup = True
        code = cmd_upgrade(args)
        if code != EXIT_OK:
            return code
        code = config_guard.main([])
        if code != EXIT_OK:
            die(code, f"config-guard exited {code}")
    return cmd_status(args)


def _current_or_unknown(url: DbUrl) -> list[str] | str:
    try:
        return current_revisions(url)
    except Fail:
        return "unknown (cannot connect)"


def parse_args(argv: list[str]) -> argparse.Namespace:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--script-location", help="Alembic script directory (default: open_webui/migrations)")
    common.add_argument("--config", help="alembic.ini (default: next to the script directory)")
    common.add_argument("--backup-dir", help="where backups go (default: $BACKUP_DIR or $DATA_DIR/backups)")
    common.add_argument("--backup-command", help="shell command that writes the backup to $BACKUP_FILE")
    parser = argparse.ArgumentParser(prog="owui_ops migrate", description=(__doc__ or "").split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    status = sub.add_parser("status", parents=[common], help="compare the database revision with the code's heads")
    status.add_argument("--check", action="store_true", help="exit 8 when not up to date")
    sub.add_parser("backup", parents=[common], help="write a timestamped backup")
    upgrade = sub.add_parser("upgrade", parents=[common], help="backup, upgrade to head, verify")
    upgrade.add_argument("--no-backup", action="store_true", help="the backup was taken by a separate step")
    apply = sub.add_parser("apply", parents=[common], help="backup, upgrade, verify, pin settings, status")
    apply.add_argument("--no-backup", action="store_true", help="the backup was taken by a separate step")
    apply.set_defaults(check=False)
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    handler = {"status": cmd_status, "backup": cmd_backup, "upgrade": cmd_upgrade, "apply": cmd_apply}[args.mode]
    try:
        return handler(args)
    except Fail as failure:
        say(f"ERROR: {failure}")
        return failure.code
