"""The database guard as a Pulumi dynamic resource (type ``pulumi-python:dynamic/database:Kind``).

It holds the stack's ``database.type`` (and, for a server, where the database is) and refuses, in ``check`` — which
the engine calls at preview and before any step of ``up`` — a change of the type that would start the app on an
empty database or drop what was written since a move:

- sqlite -> postgresql/mysql: allowed only when the new database holds a completed, verified move of this stack's
  data (the record ``owui_ops move-database`` writes in the same transaction that ends the move,
  owui_ops/movedb.py RECORD, state ``moved``). Otherwise the failure names ``openwebui:database.type`` and the
  exact command to run (``scripts/owui move-database STACK --to STACK_FILE``).
- postgresql/mysql -> sqlite: allowed only after ``scripts/owui move-database STACK --rollback`` checked the server
  for writes made since the move and set the record's state to ``rolled-back``; the SQLite file, kept in the data
  volume, is what the app then runs on again.
- anything else (server to server): refused; the move copies from the stack's SQLite.

A stack that was deployed has data: the migration step creates the schema and pins the admin account in it, so the
old inputs (``olds``) being there is the test. The record is read with the admin connection the PostgreSQL/MySQL
providers use (the admin password from the secret config ``openwebui:databaseAdminPassword``, see _common.py), and
only when the type changes: an unchanged stack costs no connection.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, Resource, UpdateResult

from components.providers._common import (
    AdminPasswordProvider,
    ConfigKeys,
    ProvisioningError,
    first_line,
    is_unknown,
    normalise_ints,
)
from components.stack_file import NAMESPACE

# owui_ops/movedb.py RECORD (the ops package does not import components, nor the reverse: one name, two readers).
RECORD = "owui_move_record"
TYPE_KEY = f"{NAMESPACE}:database.type"
SERVER_PROPS = ("host", "port", "adminUser", "name", "sslMode", "sslCa", "connectTimeout")
ADMIN_ENV = {"postgresql": "OWUI_PG_ADMIN_PASSWORD", "mysql": "OWUI_MYSQL_ADMIN_PASSWORD"}


def _server(props: dict[str, Any]) -> str:
    return f"{props.get('type')} {props.get('host')}:{props.get('port')}/{props.get('name')}"


class DatabaseKindProvider(AdminPasswordProvider):
    """Check refuses what the module docstring lists; create/update only record the inputs."""

    def admin_password_for(self, kind: str) -> str:
        self.admin_password_env = ADMIN_ENV.get(kind, self.admin_password_env)
        return self.admin_password()

    def read_record(self, props: dict[str, Any]) -> dict[str, Any] | None:
        """The newest move record in the database `props` names, None when there is none (no database, no
        table). Raises ProvisioningError when the server cannot be asked."""
        password = self.admin_password_for(props["type"])
        query = (f"SELECT stack, source_kind, state, moved_at FROM {RECORD} "  # noqa: S608 - a constant name
                 "ORDER BY moved_at DESC, id DESC LIMIT 1")
        try:
            with self._connect(props, password) as cursor:
                cursor.execute(query)
                row = cursor.fetchone()
        except ProvisioningError:
            raise
        except Exception as exc:  # noqa: BLE001 - the driver's errors, worded without secrets
            text = first_line(exc).replace(password, "***")
            if "does not exist" in text or "doesn't exist" in text or "Unknown database" in text:
                return None
            raise ProvisioningError(f"cannot read the move record on {_server(props)}: {text}") from None
        if row is None:
            return None
        return {"stack": row[0], "source_kind": row[1], "state": row[2], "moved_at": row[3]}

    @contextlib.contextmanager
    def _connect(self, props: dict[str, Any], password: str) -> Iterator[Any]:
        timeout = int(props.get("connectTimeout") or 10)
        if props["type"] == "postgresql":
            import psycopg2

            params: dict[str, Any] = {"host": props["host"], "port": int(props.get("port") or 5432),
                                      "user": props.get("adminUser") or "postgres", "password": password,
                                      "dbname": props["name"], "connect_timeout": timeout,
                                      "application_name": "openwebui-pulumi"}
            if props.get("sslMode"):
                params["sslmode"] = props["sslMode"]
            if props.get("sslCa"):
                params["sslrootcert"] = props["sslCa"]
            conn = psycopg2.connect(**params)
        else:
            import pymysql

            ssl = {"ca": props["sslCa"]} if props.get("sslCa") else None
            conn = pymysql.connect(host=props["host"], port=int(props.get("port") or 3306),
                                   user=props.get("adminUser") or "root", password=password,
                                   database=props["name"], connect_timeout=timeout, ssl=ssl)
        try:
            with conn.cursor() as cursor:
                yield cursor
        finally:
            conn.close()

    def refusal(self, olds: dict[str, Any], news: dict[str, Any]) -> str | None:
        """Why this change of database.type must not happen now (None: it may)."""
        old, new, stack = olds.get("type"), news.get("type"), news.get("stack")
        move = news.get("moveCommand") or f"scripts/owui move-database {stack} --to <stack file>"
        rollback = f"scripts/owui move-database {stack} --rollback"
        try:
            if old == "sqlite" and new in ("postgresql", "mysql"):
                record = self.read_record(news)
                if record and record["state"] == "moved" and record["source_kind"] == "sqlite" \
                        and record["stack"] == stack:
                    return None
                found = (f"the move record there is {record['state']!r} for stack {record['stack']!r}" if record
                         else f"{_server(news)} holds no completed move of this stack")
                return (f"{TYPE_KEY}: stack {stack} has data in SQLite; switching it to {new} would start the app on "
                        f"an empty database ({found}). Move the data first: `{move}`, then run up again. Nothing "
                        "was created or removed; the SQLite database stays as it is")
            if old in ("postgresql", "mysql") and new == "sqlite":
                record = self.read_record(olds)
                if record and record["state"] == "rolled-back" and record["stack"] == stack:
                    return None
                return (f"{TYPE_KEY}: switching stack {stack} from {old} back to sqlite would run the app on the "
                        "SQLite file as it was before the move. Check the server for newer writes and record the "
                        f"rollback first: `{rollback}`, then run up again. Nothing was created or removed")
        except ProvisioningError as exc:
            return f"{TYPE_KEY}: changing {old} -> {new} needs the move record, which cannot be read: {exc}"
        return (f"{TYPE_KEY}: stack {stack} runs on {old}; moving its data to {new} is not supported "
                "(move-database copies from the stack's SQLite). Nothing was created or removed")

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        news = normalise_ints(news)
        failures: list[CheckFailure] = []
        old, new = (olds or {}).get("type"), news.get("type")
        if old and new and old != new and not any(is_unknown(v) for v in news.values()):
            why = self.refusal(normalise_ints(dict(olds)), news)
            if why:
                failures.append(CheckFailure("type", why))
        return CheckResult(news, failures)

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(f"{props.get('stack')}-database", props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        keys = ("type", *SERVER_PROPS)
        changed = [k for k in keys if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(news)


class DatabaseKind(Resource, module="database", name="Kind"):
    """The stack's database.type as the engine last deployed it (see the module docstring)."""

    def __init__(self, resource_name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None):
        provider = DatabaseKindProvider(ConfigKeys().admin_password, ADMIN_ENV["postgresql"])
        super().__init__(provider, resource_name, props, opts)
