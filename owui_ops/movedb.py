"""Move Open WebUI's data from one database to another (`python3 -m owui_ops move-database ...`): SQLite ->
PostgreSQL (upstream image) or MySQL/MariaDB (the open-webui-next image). Issue 16: moving an instance off SQLite
must carry its users, chats and settings over, not start from an empty database.

Runs where `owui_ops migrate` runs (the app image's Python: SQLAlchemy, Alembic, the open_webui package, the
drivers), with the URLs in the environment, never on a command line:

  SOURCE_DATABASE_URL (default DATABASE_URL)   the database to read (opened read-only when it is SQLite)
  TARGET_DATABASE_URL                          the database to fill
  WEBUI_SECRET_KEY                             Open WebUI's migration environment exits without it

  move-database [--dry-run [--offline-target]] [--batch-size N] [--backup-dir DIR] [--script-location DIR] [--json]
  move-database --verify-only [--mark-rolled-back [--force]]

(`scripts/owui move-database STACK --to ...` runs this in a one-shot container of the stack: owui_ops.movestack.)

Order: 1. the source must be at the code's Alembic head (owui_ops.migrate's checks); 2. the target must be empty
(no table), at head with no rows, or a target an interrupted move left (its marker table): anything else is
refused, a move never overwrites data it did not write; 3. backup of the source (owui_ops.migrate.take_backup:
SQLite's online backup API); 4. an empty target is migrated to head by `owui_ops migrate upgrade` in this Python
(Open WebUI's own Alembic scripts, as the migration step does); 5. a marker table is created, every table is
emptied, then copied in dependency order (`MetaData.sorted_tables`, rows of a self-referencing table parents
first), in batches, one transaction per table; 6. PostgreSQL sequences / MySQL AUTO_INCREMENT are set past the
largest id; 7. row counts and a per-table checksum of the copied columns are compared; 8. in one transaction, the
move record (RECORD: stack, source kind, revision, rows per table, state `moved`) is written and the marker dropped.

`--verify-only` compares a moved target with its source again, table by table (the rollback's check for writes made
on the target since); `--mark-rolled-back` then sets the record's state to `rolled-back`, refused (exit 13) when a
table changed unless `--force`. The database guard lets `up` switch database.type on what that record says.

The source is only read: an interrupted move (target gone half-way, e.g. its server stopped) leaves it as it was,
says so and names the server, and the next run starts the target over (step 5 empties it, the marker says it is
ours).

`--dry-run` reads the source and the target's schema and writes nothing: per table the rows that would move and
every value the target cannot hold (table, column, the row's key, why): text longer than a MySQL TEXT/VARCHAR,
NUL characters PostgreSQL text refuses, integers outside the target column's range, JSON that does not parse.

Exit codes: 0 moved and verified (or dry run without problems); 1 usage; 3/4 as `migrate` (two heads, source
ahead); 7 cannot connect; 9 the source is not at head; 10 the target holds data or another schema; 11 the dry run
found values the target cannot hold; 12 the copy failed (the source is untouched; run again); 13 verification
failed.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import decimal
import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from owui_ops import dburl, migrate
from owui_ops.dburl import DbUrl
from owui_ops.errors import Fail, die, first_line, log, remember_secret

EXIT_OK, EXIT_USAGE = 0, 1
EXIT_CONNECT = migrate.EXIT_CONNECT
EXIT_SOURCE_BEHIND, EXIT_TARGET_NOT_EMPTY, EXIT_CANNOT, EXIT_COPY, EXIT_VERIFY = 9, 10, 11, 12, 13

# Created in the target when a move starts and dropped when it is verified: a target holding it (and nothing the
# app wrote since, since the app is not pointed at it before the move ends) may be emptied by the next run.
MARKER = "owui_move_in_progress"
# Written in the same transaction that drops the marker: the target holds a completed, verified move from the
# stack's SQLite. The stack's database guard (components/providers/database_kind.py) reads it at preview before it
# lets `up` switch database.type; `--mark-rolled-back` sets its state when the operator switches back.
RECORD = "owui_move_record"
ALEMBIC = "alembic_version"
# MySQL's text types hold bytes, not characters (MariaDB's JSON is a LONGTEXT alias).
MYSQL_TEXT_BYTES = {"TINYTEXT": 255, "TEXT": 65535, "MEDIUMTEXT": 16777215, "LONGTEXT": 4294967295}
INT_RANGES = {"SMALLINT": 2**15, "INTEGER": 2**31, "BIGINT": 2**63}


def say(message: str) -> None:
    log("owui-move", message)


# --------------------------------------------------------------------------------------------------------------
# Column kinds: one logical kind per column, from both sides' reflected types, drives conversion and checksums


@dataclass
class Column:
    name: str
    kind: str  # json | bool | int | float | datetime | date | bytes | text | other
    max_chars: Optional[int] = None  # VARCHAR(n) on any server
    max_bytes: Optional[int] = None  # MySQL text types (utf-8 bytes)
    int_limit: Optional[int] = None  # |value| < int_limit (the lower bound is -int_limit)
    target_json: bool = False  # the target column is a JSON type (PostgreSQL json/jsonb, MySQL JSON)
    source_json: bool = False  # the source column is a JSON type (SQLite keeps the declared name)


def _kind(coltype: Any) -> str:
    from sqlalchemy import types as t

    if isinstance(coltype, t.JSON):
        return "json"
    if isinstance(coltype, t.Boolean):
        return "bool"
    if isinstance(coltype, t.Integer):
        return "int"
    if isinstance(coltype, (t.Float, t.Numeric)):
        return "float"
    if isinstance(coltype, t.DateTime):
        return "datetime"
    if isinstance(coltype, t.Date):
        return "date"
    if isinstance(coltype, t._Binary):
        return "bytes"
    if isinstance(coltype, t.String):
        return "text"
    return "other"


def column_plan(source_col: Any, target_col: Any, target_kind: str) -> Column:
    """Open WebUI declares JSON as sa.JSON: SQLite keeps the declared name (reflected as JSON), PostgreSQL has
    json, MariaDB turns it into LONGTEXT with a json_valid check (reflected as text). The source's kind wins
    unless only the target knows better (a tinyint(1) is a MySQL Boolean, Open WebUI's sa.Boolean)."""
    skind, tkind = _kind(source_col.type), _kind(target_col.type)
    kind = skind if skind not in ("other", "text") or tkind in ("other", "text") else tkind
    if skind == "json" or tkind == "json":
        kind = "json"
    if skind == "bool" or tkind == "bool" or _is_mysql_bool(target_col.type):
        kind = "bool"
    col = Column(source_col.name, kind, target_json=_kind(target_col.type) == "json",
                 source_json=_kind(source_col.type) == "json")
    type_name = type(target_col.type).__name__.upper()
    length = getattr(target_col.type, "length", None)
    if kind == "text" and length and type_name not in MYSQL_TEXT_BYTES:
        col.max_chars = int(length)
    if target_kind == "mysql" and kind in ("text", "json") and type_name in MYSQL_TEXT_BYTES:
        col.max_bytes = MYSQL_TEXT_BYTES[type_name]
    elif target_kind == "mysql" and kind in ("text",) and type_name == "TEXT" and not length:
        col.max_bytes = MYSQL_TEXT_BYTES["TEXT"]
    if kind == "int":
        col.int_limit = next((v for k, v in INT_RANGES.items() if k in type_name), None)
        if col.int_limit is None:
            col.int_limit = 2**63 if "BIG" in type_name else 2**31
    return col


def _is_mysql_bool(coltype: Any) -> bool:
    return type(coltype).__name__.upper() == "TINYINT" and getattr(coltype, "display_width", None) == 1


def problem(col: Column, value: Any, target_kind: str) -> Optional[str]:
    """Why the target cannot hold this (already converted) value, or None."""
    if value is None:
        return None
    if col.kind in ("text", "json"):
        text = _json_text(value)
        if target_kind == "postgresql" and "\x00" in text:
            return "contains a NUL character (PostgreSQL text cannot hold it)"
        if col.max_chars is not None and len(text) > col.max_chars:
            return f"{len(text)} characters, the column holds {col.max_chars}"
        if col.max_bytes is not None:
            size = len(text.encode("utf-8"))
            if size > col.max_bytes:
                return f"{size} bytes, the MySQL column holds {col.max_bytes}"
    if col.kind == "int" and isinstance(value, int) and col.int_limit and not -col.int_limit <= value < col.int_limit:
        return f"integer {value} outside the column's range"
    return None


def _json_text(value: Any) -> str:
    from sqlalchemy.types import JSON

    if value is JSON.NULL:
        return "null"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def convert(col: Column, value: Any) -> Any:
    """A source value as the target's driver takes it. JSON arrives as its text (see `selected`): None is SQL NULL
    and the text `null` is JSON null, which Open WebUI writes into NOT NULL columns (config.value of a setting set
    to None). A JSON type decodes both to None, so they are kept apart: JSON.NULL for JSON null, None for SQL NULL
    with the target column's none_as_null set (plan_tables)."""
    if value is None:
        return None
    if col.kind == "json":
        from sqlalchemy.types import JSON

        decoded = json.loads(value)
        if col.target_json:
            return JSON.NULL if decoded is None else decoded
        # Into a text column (MariaDB's JSON is LONGTEXT) goes the text Open WebUI writes (internal/db.py
        # _json_codec_kwargs: ensure_ascii=False).
        return json.dumps(decoded, ensure_ascii=False)
    if col.kind == "bool":
        return bool(value)
    if col.kind == "int" and isinstance(value, bool):
        return int(value)
    if col.kind == "datetime" and isinstance(value, str):
        return _dt.datetime.fromisoformat(value)
    return value


def normalise(col: Column, value: Any) -> str:
    """One text per logical value, whichever server returned it: the checksums compare these. JSON arrives as its
    text (see `selected`): SQL NULL and JSON null stay apart."""
    if value is None:
        return "\x00N"
    if col.kind == "json":
        return json.dumps(json.loads(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if col.kind == "bool":
        return "1" if value else "0"
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (float, decimal.Decimal)):
        return repr(float(value))
    if isinstance(value, _dt.datetime):
        return value.replace(tzinfo=None).isoformat() if value.tzinfo is None else value.isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return str(value)


# --------------------------------------------------------------------------------------------------------------
# Databases


def make_engine(url: DbUrl, *, read_only: bool = False) -> Any:
    """owui_ops.migrate's engine; a SQLite source opened read-only."""
    if url.kind == "sqlite" and read_only:
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        # mode=ro: this process cannot change the source, whatever goes wrong (sqlite3 URI filenames).
        path = Path(url.path or "").resolve()
        return create_engine(f"sqlite:///file:{path}?mode=ro&uri=true", poolclass=NullPool)
    return migrate.make_engine(url)


def reflect(engine: Any) -> Any:
    from sqlalchemy import MetaData

    meta = MetaData()
    meta.reflect(bind=engine)
    return meta


@dataclass
class TablePlan:
    name: str
    source: Any
    target: Any
    columns: list[Column]
    key: list[str]  # primary key columns (rowid order on SQLite when none)
    self_refs: list[tuple[str, str]] = field(default_factory=list)  # (child column, parent column)


def plan_tables(smeta: Any, tmeta: Any, target_kind: str) -> list[TablePlan]:
    plans = []
    for table in smeta.sorted_tables:  # parents before children (foreign keys)
        if table.name in (ALEMBIC, MARKER, RECORD):
            continue
        target = tmeta.tables.get(table.name)
        if target is None:
            die(EXIT_TARGET_NOT_EMPTY, f"the target has no table {table.name!r}: is it at the source's revision?")
        missing = [c.name for c in table.columns if c.name not in target.columns]
        if missing:
            die(EXIT_TARGET_NOT_EMPTY, f"the target's table {table.name} lacks columns {missing}")
        columns = [column_plan(c, target.columns[c.name], target_kind) for c in table.columns]
        for col in columns:
            if col.target_json:
                # None inserts SQL NULL; JSON null goes in as JSON.NULL (convert).
                target.columns[col.name].type.none_as_null = True
        refs = [(fk.parent.name, fk.column.name) for fk in table.foreign_keys if fk.column.table.name == table.name]
        plans.append(TablePlan(table.name, table, target, columns, [c.name for c in table.primary_key.columns], refs))
    return plans


def rows_of(conn: Any, plan: TablePlan, batch: int) -> Iterable[list[Any]]:
    """The source's rows in key order, a batch at a time (a server-side cursor where the driver has one)."""
    from sqlalchemy import select

    query = select(*selected(plan, plan.source))
    if plan.key:
        query = query.order_by(*[plan.source.columns[k] for k in plan.key])
    result = conn.execution_options(stream_results=True, yield_per=batch).execute(query)
    for part in result.partitions(batch):
        yield [tuple(r) for r in part]


def selected(plan: TablePlan, table: Any) -> list[Any]:
    """The plan's columns of `table`, JSON ones as their text (CAST AS TEXT; CHAR on MySQL): a JSON type reads SQL
    NULL and JSON null both as None, and psycopg2 decodes json whatever type SQLAlchemy is told."""
    from sqlalchemy import Text, cast

    return [cast(table.columns[c.name], Text).label(c.name) if c.kind == "json" else table.columns[c.name]
            for c in plan.columns]


def parents_first(plan: TablePlan, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """A table referencing itself (knowledge_directory.parent_id, migrations/versions/3c9b0ca343fd_...): rows whose
    parent comes later in key order would fail the foreign key on insert."""
    names = [c.name for c in plan.columns]
    ordered: list[tuple[Any, ...]] = []
    for child, parent in plan.self_refs:
        ci, pi = names.index(child), names.index(parent)
        placed: set[Any] = set()
        pending = list(rows)
        while pending:
            ready = [r for r in pending if r[ci] is None or r[ci] in placed or r[ci] == r[pi]
                     or not any(o[pi] == r[ci] for o in pending)]
            if not ready:  # a cycle: leave the rest as they are, the insert will name the row
                ready = pending
            ordered.extend(ready)
            placed.update(r[pi] for r in ready)
            ids = {id(r) for r in ready}
            pending = [r for r in pending if id(r) not in ids]
        rows, ordered = ordered, []
    return rows


def row_key(plan: TablePlan, row: tuple[Any, ...]) -> str:
    names = [c.name for c in plan.columns]
    if not plan.key:
        return "(no primary key)"
    return ", ".join(f"{k}={row[names.index(k)]!r}" for k in plan.key)


def checksum(conn: Any, plan: TablePlan, table: Any, side: str) -> tuple[int, str]:
    """(rows, sha256) over the normalised rows, sorted, so the servers' collations and orders do not matter."""
    from sqlalchemy import select

    digests = []
    query = select(*selected(plan, table))
    for row in conn.execution_options(stream_results=True, yield_per=5000).execute(query):
        text = "\x1f".join(normalise(col, value) for col, value in zip(plan.columns, row, strict=True))
        digests.append(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest())
    digests.sort()
    total = hashlib.sha256()
    for digest in digests:
        total.update(digest)
    return len(digests), total.hexdigest()


# --------------------------------------------------------------------------------------------------------------
# The steps


def urls() -> tuple[DbUrl, DbUrl]:
    source_raw = os.environ.get("SOURCE_DATABASE_URL") or os.environ.get("DATABASE_URL") or ""
    target_raw = os.environ.get("TARGET_DATABASE_URL", "")
    if not source_raw.strip() or not target_raw.strip():
        die(EXIT_USAGE, "set SOURCE_DATABASE_URL (or DATABASE_URL) and TARGET_DATABASE_URL")
    try:
        source = dburl.parse(dburl.normalise_postgres_scheme(source_raw))
        target = dburl.parse(dburl.normalise_postgres_scheme(target_raw))
        source.kind, target.kind  # noqa: B018 - raises for an unsupported scheme
    except ValueError as exc:
        die(EXIT_USAGE, f"a database URL cannot be parsed: {exc}")
    remember_secret(source.password)
    remember_secret(target.password)
    if target.kind == "sqlite":
        die(EXIT_USAGE, "the target must be PostgreSQL or MySQL/MariaDB")
    if source.kind == "sqlite" and not Path(source.path or "").is_file():
        die(EXIT_USAGE, f"no SQLite database at {source.path}")
    return source, target


def check_source(args: argparse.Namespace, source: DbUrl) -> list[str]:
    cfg = migrate.alembic_config(args, source)
    script, heads = migrate.script_heads(cfg)
    current = migrate.current_revisions(source)
    migrate.refuse_unsafe({"multiple_heads": len(heads) > 1, "heads": heads,
                           "unknown_revisions": migrate.unknown_revisions(script, current)})
    if current != heads:
        die(EXIT_SOURCE_BEHIND, f"the source is at revision {', '.join(current) or 'none'}, the code's head is "
            f"{', '.join(heads)}: run `owui_ops migrate upgrade` on it first (a move copies one schema)")
    return heads


def target_state(target: DbUrl, heads: list[str]) -> str:
    """empty | ours (an interrupted move) | head-empty | refuse:<why>."""
    from sqlalchemy import func, inspect, select

    engine = make_engine(target)
    try:
        with engine.connect() as conn:
            names = set(inspect(conn).get_table_names())
            if not names:
                return "empty"
            if MARKER in names:
                return "ours"
            meta = reflect(conn)
            revision = sorted(r[0] for r in conn.execute(select(meta.tables[ALEMBIC].c.version_num))) \
                if ALEMBIC in names else []
            if revision != heads:
                return f"refuse:it is at revision {', '.join(revision) or 'none'} (tables {sorted(names)[:5]}...)"
            for name in sorted(names - {ALEMBIC}):
                count = conn.execute(select(func.count()).select_from(meta.tables[name])).scalar_one()
                if count:
                    return f"refuse:its table {name} holds {count} rows"
            return "head-empty"
    except Exception as exc:
        die(EXIT_CONNECT, f"cannot reach the target server ({target.describe()}): {first_line(exc)}. Nothing was "
            "changed; check that the server runs and answers there, then run the same command again")
    finally:
        engine.dispose()


def migrate_target(args: argparse.Namespace, target: DbUrl) -> None:
    """Open WebUI's own migrations, run as the migration step runs them (owui_ops migrate, this Python)."""
    argv = [sys.executable, "-m", "owui_ops", "migrate", "upgrade", "--no-backup"]
    if args.script_location:
        argv += ["--script-location", args.script_location]
    env = {**os.environ, "DATABASE_URL": target.render_as_string(hide_password=False)}
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(Path(__file__).resolve().parent.parent),
                                                    env.get("PYTHONPATH", "")] if p)
    result = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        die(EXIT_COPY, f"migrating the target failed (migrate exit {result.returncode}): "
            f"{result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ''}. The source was only read; "
            "run the same command again")
    say("target migrated to head with Open WebUI's migrations")


def scan(plans: list[TablePlan], source: Any, target_kind: str, batch: int) -> dict[str, Any]:
    """The dry run: rows per table and every value the target cannot hold. Reads only."""
    report: dict[str, Any] = {}
    with source.connect() as conn:
        for plan in plans:
            rows, problems = 0, []
            for part in rows_of(conn, plan, batch):
                for row in part:
                    rows += 1
                    for col, value in zip(plan.columns, row, strict=True):
                        try:
                            why = problem(col, convert(col, value), target_kind)
                        except (ValueError, TypeError) as exc:
                            why = f"cannot convert: {first_line(exc)}"
                        if why:
                            problems.append({"table": plan.name, "column": col.name, "row": row_key(plan, row),
                                             "problem": why})
            report[plan.name] = {"rows": rows, "problems": problems}
    return report


def empty_target(tconn: Any, plans: list[TablePlan], target_kind: str) -> None:
    from sqlalchemy import text

    if target_kind == "postgresql":
        names = ", ".join(tconn.dialect.identifier_preparer.quote(p.name) for p in plans)
        if names:
            tconn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        tconn.execute(text("SET FOREIGN_KEY_CHECKS=0"))  # this session only; children before parents otherwise
        for plan in reversed(plans):
            tconn.execute(plan.target.delete())
        tconn.execute(text("SET FOREIGN_KEY_CHECKS=1"))


def reset_identity(tconn: Any, plan: TablePlan, target_kind: str) -> None:
    """After explicit ids the server's counter is still at 1: the app's next insert would collide."""
    from sqlalchemy import text

    auto = [c for c in plan.target.primary_key.columns if c.autoincrement is True
            or (c.autoincrement == "auto" and _kind(c.type) == "int" and len(plan.target.primary_key.columns) == 1)]
    q = tconn.dialect.identifier_preparer.quote
    for col in auto:
        if target_kind == "postgresql":
            seq = tconn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                {"t": q(plan.name), "c": col.name}).scalar()
            if seq:
                tconn.execute(text(f"SELECT setval(:s, COALESCE((SELECT MAX({q(col.name)}) FROM {q(plan.name)}), 0) "
                                   f"+ 1, false)"), {"s": seq})
        else:
            top = tconn.execute(text(f"SELECT COALESCE(MAX({q(col.name)}), 0) + 1 FROM {q(plan.name)}")).scalar()
            tconn.execute(text(f"ALTER TABLE {q(plan.name)} AUTO_INCREMENT = {int(top)}"))


def copy(plans: list[TablePlan], source: Any, target: Any, target_kind: str, batch: int,
         on_table_done: Optional[Callable[[str], None]] = None) -> dict[str, Any]:
    from sqlalchemy import text

    report: dict[str, Any] = {}
    with target.connect() as tconn:
        with tconn.begin():
            from sqlalchemy import Column as SaColumn
            from sqlalchemy import MetaData, String, Table

            Table(MARKER, MetaData(), SaColumn("started", String(40))).create(tconn, checkfirst=True)
            empty_target(tconn, plans, target_kind)
        with source.connect() as sconn:
            for plan in plans:
                started, rows = time.monotonic(), 0
                with tconn.begin():
                    if target_kind == "mysql":
                        tconn.execute(text("SET FOREIGN_KEY_CHECKS=1"))
                    pending: list[tuple[Any, ...]] = []
                    for part in rows_of(sconn, plan, batch):
                        if plan.self_refs:
                            pending.extend(part)
                            continue
                        rows += _insert(tconn, plan, part, target_kind)
                    if pending:
                        ordered = parents_first(plan, pending)
                        for i in range(0, len(ordered), batch):
                            rows += _insert(tconn, plan, ordered[i:i + batch], target_kind)
                    reset_identity(tconn, plan, target_kind)
                report[plan.name] = {"rows": rows, "seconds": round(time.monotonic() - started, 3)}
                say(f"{plan.name}: {rows} rows in {report[plan.name]['seconds']}s")
                if on_table_done:
                    on_table_done(plan.name)
    return report


def _insert(tconn: Any, plan: TablePlan, part: list[tuple[Any, ...]], target_kind: str) -> int:
    values = []
    for row in part:
        converted = {}
        for col, value in zip(plan.columns, row, strict=True):
            new = convert(col, value)
            why = problem(col, new, target_kind)
            if why:
                raise Fail(EXIT_CANNOT, f"{plan.name}.{col.name} at {row_key(plan, row)}: {why} (run --dry-run)")
            converted[col.name] = new
        values.append(converted)
    if values:
        tconn.execute(plan.target.insert(), values)
    return len(values)


def verify(plans: list[TablePlan], source: Any, target: Any) -> dict[str, Any]:
    report: dict[str, Any] = {}
    with source.connect() as sconn, target.connect() as tconn:
        for plan in plans:
            srows, ssum = checksum(sconn, plan, plan.source, "source")
            trows, tsum = checksum(tconn, plan, plan.target, "target")
            report[plan.name] = {"rows": srows, "target_rows": trows, "checksum": ssum, "target_checksum": tsum,
                                 "equal": srows == trows and ssum == tsum}
    return report


def record_table() -> Any:
    from sqlalchemy import BigInteger, Column, MetaData, String, Table, Text

    return Table(RECORD, MetaData(), Column("id", String(64), primary_key=True), Column("stack", String(255)),
                 Column("source_kind", String(32)), Column("source", String(255)), Column("revision", String(255)),
                 Column("state", String(32)), Column("moved_at", BigInteger), Column("changed_at", BigInteger),
                 Column("tables", Text))


def write_record(conn: Any, source_url: DbUrl, heads: list[str], tables: dict[str, Any]) -> dict[str, Any]:
    """The completed move, in the target (see RECORD). The stack comes from OWUI_STACK (the operator command)."""
    import secrets

    table = record_table()
    table.create(conn, checkfirst=True)
    now = int(time.time())
    row = {"id": f"{now}-{secrets.token_hex(4)}", "stack": os.environ.get("OWUI_STACK", ""),
           "source_kind": source_url.kind, "source": source_url.describe()[:255], "revision": ",".join(heads),
           "state": "moved", "moved_at": now, "changed_at": now,
           "tables": json.dumps({name: t.get("target_rows", t.get("rows")) for name, t in tables.items()})}
    conn.execute(table.insert(), [row])
    return {k: row[k] for k in ("id", "stack", "source_kind", "state", "moved_at")}


def read_record(conn: Any) -> Optional[dict[str, Any]]:
    """The newest move record of a target, or None."""
    from sqlalchemy import inspect, select

    if RECORD not in inspect(conn).get_table_names():
        return None
    table = record_table()
    row = conn.execute(select(table).order_by(table.c.moved_at.desc(), table.c.id.desc()).limit(1)).mappings().first()
    return dict(row) if row else None


def compare(args: argparse.Namespace) -> dict[str, Any]:
    """`--verify-only`: the target against the source it was moved from, table by table (a rollback's check for
    writes made on the target since the move). Reads both sides only; `--mark-rolled-back` then sets the record's
    state when every table is equal or `--force` says to go back anyway."""
    from sqlalchemy import update

    source_url, target_url = urls()
    source = make_engine(source_url, read_only=True)
    target = make_engine(target_url)
    try:
        with target.connect() as conn:
            record = read_record(conn)
        if record is None:
            die(EXIT_TARGET_NOT_EMPTY, f"the target {target_url.describe()} holds no move record ({RECORD}): it "
                "was not filled by move-database")
        plans = plan_tables(reflect(source), reflect(target), target_url.kind)
        checks = verify(plans, source, target)
        changed = sorted(name for name, check in checks.items() if not check["equal"])
        result: dict[str, Any] = {"record": {k: record[k] for k in ("id", "stack", "state", "moved_at")},
                                  "changed_tables": changed,
                                  "rows": {n: [c["rows"], c["target_rows"]] for n, c in checks.items()
                                           if not c["equal"]}}
        if args.mark_rolled_back:
            if changed and not args.force:
                result["marked"] = False
            else:
                with target.begin() as conn:
                    table = record_table()
                    conn.execute(update(table).where(table.c.id == record["id"]).values(
                        state="rolled-back", changed_at=int(time.time())))
                result["marked"] = True
        return result
    finally:
        source.dispose()
        target.dispose()


def move(args: argparse.Namespace, on_table_done: Optional[Callable[[str], None]] = None) -> dict[str, Any]:
    source_url, target_url = urls()
    heads = check_source(args, source_url)
    # --offline-target (a dry run only): the target database does not exist yet; the limits are the source's
    # declared types as the target's dialect would create them (as for an empty target).
    state = "empty" if args.offline_target else target_state(target_url, heads)
    if state.startswith("refuse:"):
        die(EXIT_TARGET_NOT_EMPTY, f"the target {target_url.render_as_string()} is not empty: {state[7:]}. A move "
            "fills an empty database (or one an interrupted move left); nothing was changed")
    say(f"source {source_url.describe()} at {', '.join(heads)}; target {target_url.describe()}: {state}")
    source = make_engine(source_url, read_only=True)
    result: dict[str, Any] = {"source": source_url.render_as_string(), "target": target_url.render_as_string(),
                              "revision": ",".join(heads), "target_state": state, "dry_run": bool(args.dry_run)}
    try:
        smeta = reflect(source)
        if args.dry_run:
            if state == "empty":
                # Nothing to compare against without writing: the limits are the source's declared types as the
                # target's dialect would create them (a column Open WebUI declares sa.Text is a MySQL TEXT).
                tmeta = smeta
            else:
                tmeta = reflect(make_engine(target_url))
            plans = plan_tables(smeta, tmeta, target_url.kind)
            tables = scan(plans, source, target_url.kind, args.batch_size)
            result["tables"] = tables
            result["problems"] = [p for t in tables.values() for p in t["problems"]]
            return result
        result["backup"] = str(migrate.take_backup(args, source_url))
        if state == "empty":
            migrate_target(args, target_url)
        target = make_engine(target_url)
        try:
            plans = plan_tables(smeta, reflect(target), target_url.kind)
            started = time.monotonic()
            try:
                copied = copy(plans, source, target, target_url.kind, args.batch_size, on_table_done)
                result["copy_seconds"] = round(time.monotonic() - started, 3)
                checks = verify(plans, source, target)
            except Fail:
                raise
            except Exception as exc:
                die(EXIT_COPY, interrupted(exc, target_url))
            result["tables"] = {name: {**copied[name], **checks[name]} for name in copied}
            bad = [name for name, check in checks.items() if not check["equal"]]
            if bad:
                die(EXIT_VERIFY, f"verification failed for {', '.join(bad)}: the target keeps its marker "
                    f"table {MARKER}; the source is untouched")
            from sqlalchemy import text

            try:
                with target.begin() as conn:
                    result["record"] = write_record(conn, source_url, heads, result["tables"])
                    conn.execute(text(f"DROP TABLE {conn.dialect.identifier_preparer.quote(MARKER)}"))
            except Exception as exc:  # the record's transaction rolled back: the marker is still there
                die(EXIT_COPY, interrupted(exc, target_url))
        finally:
            target.dispose()
    finally:
        source.dispose()
    return result


# Driver texts of a server that cannot be reached at all (SQLAlchemy marks a connection lost mid-way itself:
# DBAPIError.connection_invalidated, from the dialect's is_disconnect).
_UNREACHABLE = ("connection refused", "could not connect", "can't connect", "lost connection", "gone away",
                "no route to host", "timeout expired", "timed out")


def server_lost(exc: BaseException) -> bool:
    """The target server went away (stopped, restarted, the network cut) rather than refusing a statement."""
    from sqlalchemy.exc import DBAPIError

    if not isinstance(exc, DBAPIError):
        return False
    return bool(exc.connection_invalidated) or any(t in str(exc.orig).lower() for t in _UNREACHABLE)


def interrupted(exc: BaseException, target: DbUrl) -> str:
    """What a copy (or its verification) stopped by `exc` tells the operator: what happened, that the source is as
    it was, and what to do. Names the server (describe(): no password, no URL)."""
    if server_lost(exc):
        what = (f"the target server ({target.describe()}) stopped answering during the copy ({first_line(exc)}). "
                "The source was only read and is unchanged; when the server answers again (check that it runs "
                "and is reachable), run the same command again")
    else:
        what = f"the copy stopped: {first_line(exc)}. The source was only read; run the same command again"
    return f"{what} (it starts the target over)"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="owui_ops move-database", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="report what would move and what cannot; write nothing")
    parser.add_argument("--batch-size", type=int, default=1000, help="rows per insert (default 1000)")
    parser.add_argument("--backup-dir", help="the source backup's directory (default: $BACKUP_DIR, $DATA_DIR/backups)")
    parser.add_argument("--script-location", help="Alembic script directory (default: open_webui/migrations)")
    parser.add_argument("--config", help="alembic.ini (default: next to the script directory)")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON line")
    parser.add_argument("--offline-target", action="store_true",
                        help="with --dry-run: do not connect to the target (it does not exist yet)")
    parser.add_argument("--verify-only", action="store_true",
                        help="compare a moved target with its source, table by table; write nothing")
    parser.add_argument("--mark-rolled-back", action="store_true",
                        help="with --verify-only: record that the stack went back to the source")
    parser.add_argument("--force", action="store_true",
                        help="with --mark-rolled-back: mark even when the target changed since the move")
    args = parser.parse_args(argv)
    if args.offline_target and not args.dry_run:
        parser.error("--offline-target needs --dry-run")
    if args.mark_rolled_back and not args.verify_only:
        parser.error("--mark-rolled-back needs --verify-only")
    args.backup_command = None  # owui_ops.migrate.take_backup's option: the built-in dump only
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.verify_only:
        try:
            compared = compare(args)
        except Fail as failure:
            say(f"ERROR: {failure}")
            return failure.code
        print(json.dumps(compared, sort_keys=True))
        if compared["changed_tables"] and not (args.mark_rolled_back and args.force):
            return EXIT_VERIFY
        return EXIT_OK
    try:
        result = move(args)
    except Fail as failure:
        say(f"ERROR: {failure}")
        return failure.code
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        for name, table in result.get("tables", {}).items():
            extra = (f"  {len(table['problems'])} problem(s)" if "problems" in table else
                     f"  {table['seconds']}s  checksum {'equal' if table['equal'] else 'DIFFERENT'}")
            print(f"{name:<28} {table['rows']:>8} rows{extra}")
        for p in result.get("problems", []):
            print(f"CANNOT MOVE {p['table']}.{p['column']} at {p['row']}: {p['problem']}")
    if result.get("problems"):
        return EXIT_CANNOT
    return EXIT_OK
