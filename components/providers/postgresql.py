"""PostgreSQL login role and database as Pulumi dynamic resources.

Types (what policies and ``pulumi stack`` show):
  ``pulumi-python:dynamic/postgresql:Role``      PostgresRole      a LOGIN role with a SCRAM password
  ``pulumi-python:dynamic/postgresql:Database``  PostgresDatabase  a UTF8 database owned by that role

Use (components/database.py)::

    server = PostgresServer(host="db.internal", admin_user="owui_admin", ssl_mode="verify-full",
                            ssl_root_cert="/etc/owui/pg-ca.pem")
    role = PostgresRole("owui-db-role", PostgresRoleArgs(server=server, name="openwebui",
                        password=random_password.result, database="openwebui"), opts)
    db = PostgresDatabase("owui-db", PostgresDatabaseArgs(server=server, name="openwebui", owner=role.name),
                          ResourceOptions(parent=..., depends_on=[role]))

The admin password is read from the secret stack config key ``admin_password_key`` (default
``openwebui:databaseAdminPassword``) or the environment variable ``OWUI_PG_ADMIN_PASSWORD``; it is never an
input or output (see _common.py). The app password is an input the program passes as a secret (pulumi-random)
and an output declared in ``additional_secret_outputs``.

Lifecycle:
- Role: create refuses to take over a role it did not create (unless ``adopt_existing``) and checks, before
  creating anything, that the admin may create roles and that the target database is not a foreign,
  non-empty one. Read notices a dropped role (the resource disappears on refresh) and a password changed out
  of band (it logs in as the role: ``password_in_sync`` turns false, and the next ``up`` resets it). Update
  rotates the password with ALTER ROLE; data is untouched. Delete drops the role, or, while a retained database
  still belongs to it, keeps it with NOLOGIN and says so.
- Database: create makes it (UTF8, template0, owner = the role) or adopts one that is empty or already owned by
  the role; a database holding other people's tables is refused unless ``adopt_existing``. Update changes the
  owner or the PUBLIC CONNECT revoke. Delete never drops unless ``allow_drop`` is true: by default the database
  is retained and a message says so.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from components.db_url import PG_SSL_MODES, validate_pg_identifier
from components.providers import pg_sql
from components.providers._common import (
    AdminPasswordProvider,
    ConfigKeys,
    ProvisioningError,
    _int,
    first_line,
    is_unknown,
    normalise_ints,
    note,
    scrub,
)

DEFAULT_ADMIN_PASSWORD_ENV = "OWUI_PG_ADMIN_PASSWORD"
APPLICATION_NAME = "openwebui-pulumi"


@dataclass(frozen=True, kw_only=True)
class PostgresServer:
    """How the provider (on the machine running ``pulumi``) reaches the server as its admin. No secrets here.

    ssl_mode: libpq sslmode (disable/allow/prefer/require/verify-ca/verify-full); None = libpq's default.
    ssl_root_cert: CA file on the machine running pulumi (for verify-ca/verify-full).
    """

    host: str
    port: int = 5432
    admin_user: str = "postgres"
    maintenance_db: str = "postgres"
    ssl_mode: str | None = None
    ssl_root_cert: str | None = None
    connect_timeout: int = 10

    def as_props(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "adminUser": self.admin_user,
            "maintenanceDb": self.maintenance_db,
            "sslMode": self.ssl_mode,
            "sslRootCert": self.ssl_root_cert,
            "connectTimeout": self.connect_timeout,
        }


@dataclass(frozen=True, kw_only=True)
class PostgresRoleArgs:
    """Inputs of PostgresRole.

    name: role name (validated: letters, digits, _ $ -; <= 63 bytes).
    password: the app password; pass a secret Output (pulumi-random). Stored as a SCRAM verifier server-side.
    database: the database this role is for; checked before the role is created, so a foreign, non-empty
        database fails the deployment before anything exists on the server.
    adopt_existing: take over a role/database that this stack did not create (its password is reset).
    """

    server: PostgresServer
    name: str
    password: pulumi.Input[str]
    database: str | None = None
    adopt_existing: bool = False
    config_keys: ConfigKeys = field(default_factory=ConfigKeys)
    admin_password_key: str | None = None  # default: config_keys.admin_password
    admin_password_env: str = DEFAULT_ADMIN_PASSWORD_ENV


@dataclass(frozen=True, kw_only=True)
class PostgresDatabaseArgs:
    """Inputs of PostgresDatabase.

    owner: the role name; pass ``role.name`` so the database waits for the role.
    revoke_public_connect: REVOKE CONNECT, TEMPORARY ... FROM PUBLIC (other roles on the server cannot connect).
    allow_drop: delete (destroy, replace) drops the database with its data. Default False: it is retained.
    adopt_existing: use a database that already holds tables not owned by ``owner`` (ownership is moved).
    """

    server: PostgresServer
    name: str
    owner: pulumi.Input[str]
    revoke_public_connect: bool = False
    allow_drop: bool = False
    adopt_existing: bool = False
    config_keys: ConfigKeys = field(default_factory=ConfigKeys)
    admin_password_key: str | None = None
    admin_password_env: str = DEFAULT_ADMIN_PASSWORD_ENV


# ---------------------------------------------------------------------------------------------------------
# Connections and errors


def _server_label(props: dict[str, Any]) -> str:
    return f"PostgreSQL server {props.get('host')}:{_int(props.get('port'))}"


def _classify_connect_error(exc: Exception, props: dict[str, Any], user: str, keys: ConfigKeys, env: str,
                            *secrets: str | None) -> ProvisioningError:
    text = scrub(str(exc), *secrets)
    where = _server_label(props)
    low = text.lower()
    if "password authentication failed" in low or "password must be" in low:
        return ProvisioningError(
            f"{where} rejected the password of the admin user {user!r}: check {keys.admin_password} "
            f"(or {env}) and {keys.admin_user}"
        )
    if "no pg_hba.conf entry" in low or "pg_hba.conf rejects" in low:
        return ProvisioningError(
            f"{where} does not accept connections from this machine as {user!r} (pg_hba.conf): "
            f"{first_line(Exception(text))}. If the entry needs TLS, set {keys.ssl_mode}"
        )
    if "ssl" in low or "certificate" in low:
        return ProvisioningError(
            f"TLS to {where} failed: {first_line(Exception(text))} (check {keys.ssl_mode} and {keys.ssl_ca})"
        )
    if "does not exist" in low:
        return ProvisioningError(f"{where}: {first_line(Exception(text))} (check {keys.admin_user})")
    return ProvisioningError(
        f"cannot reach {where} (check {keys.host} and {keys.port}, and that the server is running): "
        f"{first_line(Exception(text))}"
    )


def _connect(props: dict[str, Any], user: str, password: str, dbname: str) -> Any:
    import psycopg2  # imported here: the provider object is pickled, the driver is not

    params: dict[str, Any] = {
        "host": props["host"],
        "port": int(props.get("port") or 5432),
        "user": user,
        "password": password,
        "dbname": dbname,
        "connect_timeout": int(props.get("connectTimeout") or 10),
        "application_name": APPLICATION_NAME,
    }
    if props.get("sslMode"):
        params["sslmode"] = props["sslMode"]
    if props.get("sslRootCert"):
        params["sslrootcert"] = props["sslRootCert"]
    return psycopg2.connect(**params)


@contextlib.contextmanager
def _admin(provider: AdminPasswordProvider, props: dict[str, Any], dbname: str | None = None) -> Iterator[Any]:
    """An autocommit admin connection; errors become ProvisioningError without secrets or driver chains."""
    import psycopg2

    keys = ConfigKeys.from_input(props.get("configKeys"))
    password = provider.admin_password()
    user = props.get("adminUser") or "postgres"
    try:
        conn = _connect(props, user, password, dbname or props.get("maintenanceDb") or "postgres")
    except psycopg2.Error as exc:
        raise _classify_connect_error(
            exc, props, user, keys, provider.admin_password_env, password, props.get("password")
        ) from None
    conn.autocommit = True
    try:
        yield conn
    except psycopg2.Error as exc:
        raise _classify_sql_error(exc, props, user, keys, password, props.get("password")) from None
    finally:
        conn.close()


def _classify_sql_error(exc: Exception, props: dict[str, Any], user: str, keys: ConfigKeys,
                        *secrets: str | None) -> ProvisioningError:
    code = getattr(exc, "pgcode", None)
    text = first_line(Exception(scrub(str(exc), *secrets)))
    where = _server_label(props)
    if code == "42501":  # insufficient_privilege
        return ProvisioningError(
            f"the admin user {user!r} on {where} lacks a privilege: {text}. Give it CREATEROLE and CREATEDB "
            f"(or use a superuser) in {keys.admin_user}"
        )
    if code == "55006":  # object_in_use
        return ProvisioningError(f"{where}: {text}. Stop Open WebUI (and other sessions) first, then retry")
    return ProvisioningError(f"{where}: {text}")


def _is_auth_failure(exc: Exception) -> bool:
    return "password authentication failed" in str(exc).lower()


def _admin_privileges(conn: Any) -> tuple[bool, bool, bool]:
    with conn.cursor() as cur:
        cur.execute(pg_sql.ADMIN_PRIVILEGES)
        row = cur.fetchone()
    return (bool(row[0]), bool(row[1]), bool(row[2])) if row else (False, False, False)


def _role_info(conn: Any, role: str) -> tuple[str, bool, bool, str | None] | None:
    with conn.cursor() as cur:
        cur.execute(pg_sql.ROLE_INFO, (role,))
        row: tuple[str, bool, bool, str | None] | None = cur.fetchone()  # the columns of pg_sql.ROLE_INFO
    return row


def _database_info(conn: Any, database: str) -> tuple[str, str, str, str | None, bool] | None:
    with conn.cursor() as cur:
        cur.execute(pg_sql.DATABASE_INFO, (database,))
        row: tuple[str, str, str, str | None, bool] | None = cur.fetchone()  # the columns of pg_sql.DATABASE_INFO
    return row


def _user_object_count(provider: AdminPasswordProvider, props: dict[str, Any], database: str) -> int:
    keys = ConfigKeys.from_input(props.get("configKeys"))
    try:
        with _admin(provider, props, dbname=database) as conn, conn.cursor() as cur:
            cur.execute(pg_sql.USER_OBJECT_COUNT, ())
            return int(cur.fetchone()[0])
    except ProvisioningError as exc:
        raise ProvisioningError(
            f"cannot inspect the existing database {database!r} on {_server_label(props)} to see whether it is "
            f"empty: {exc}. Point {keys.name} at a new or empty database, or set {keys.adopt}=true"
        ) from None


@contextlib.contextmanager
def _transaction(conn: Any) -> Iterator[Any]:
    """One transaction on an autocommit connection: everything or nothing (CREATE ROLE + COMMENT + GRANT)."""
    conn.autocommit = False
    try:
        with conn.cursor() as cur:
            yield cur
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.autocommit = True


def _verifier(conn: Any, password: str, role: str) -> str:
    from psycopg2.extensions import encrypt_password

    verifier: str = encrypt_password(password, role, scope=conn, algorithm="scram-sha-256")
    return verifier


# ---------------------------------------------------------------------------------------------------------
# Input validation shared by both resources


def _check_server(props: dict[str, Any], keys: ConfigKeys, failures: list[CheckFailure]) -> None:
    host = props.get("host")
    if not is_unknown(host) and (not isinstance(host, str) or not host.strip()):
        failures.append(CheckFailure("host", f"{keys.host}: the database server host is empty"))
    port = props.get("port")
    if not is_unknown(port):
        try:
            if not 0 < int(cast(Any, port)) < 65536:
                raise ValueError
        except (TypeError, ValueError):
            failures.append(CheckFailure("port", f"{keys.port}: {port!r} is not a TCP port (1-65535)"))
    admin = props.get("adminUser")
    if not is_unknown(admin):
        problem = validate_pg_identifier(admin, what="admin user") if admin not in ("postgres",) else None
        if problem:
            failures.append(CheckFailure("adminUser", f"{keys.admin_user}: {problem}"))
    mode = props.get("sslMode")
    if mode is not None and not is_unknown(mode) and mode not in PG_SSL_MODES:
        failures.append(CheckFailure("sslMode", f"{keys.ssl_mode}: {mode!r} is not one of {', '.join(PG_SSL_MODES)}"))
    if mode in ("verify-ca", "verify-full") and not props.get("sslRootCert"):
        failures.append(CheckFailure("sslRootCert", f"{keys.ssl_ca}: sslmode {mode} needs the server's CA file"))
    timeout = props.get("connectTimeout")
    if timeout is not None and not is_unknown(timeout):
        try:
            if not 0 < int(timeout) <= 3600:
                raise ValueError
        except (TypeError, ValueError):
            failures.append(CheckFailure("connectTimeout", f"connect timeout {timeout!r} must be 1-3600 seconds"))


def _check_name(props: dict[str, Any], prop: str, key: str, what: str, failures: list[CheckFailure]) -> None:
    value = props.get(prop)
    if is_unknown(value):
        return
    problem = validate_pg_identifier(value if isinstance(value, str) else None, what=what)
    if problem:
        failures.append(CheckFailure(prop, f"{key}: {problem}"))


def _changed(olds: dict[str, Any], news: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    return [n for n in names if olds.get(n) != news.get(n)]


_SERVER_IDENTITY = ("host", "port")
_CONNECTION_SETTINGS = ("adminUser", "maintenanceDb", "sslMode", "sslRootCert", "connectTimeout", "configKeys")


# ---------------------------------------------------------------------------------------------------------
# Role


class PostgresRoleProvider(AdminPasswordProvider):
    """CRUD for a PostgreSQL LOGIN role. Methods build their own connections (the provider is pickled)."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        keys = ConfigKeys.from_input(news.get("configKeys"))
        failures: list[CheckFailure] = []
        _check_server(news, keys, failures)
        _check_name(news, "name", keys.user, "role name", failures)
        if news.get("database") is not None:
            _check_name(news, "database", keys.name, "database name", failures)
        password = news.get("password")
        if not is_unknown(password):
            if not isinstance(password, str) or not password:
                failures.append(CheckFailure("password", f"{keys.password}: the application password is empty"))
            elif "\x00" in password:
                failures.append(CheckFailure("password", f"{keys.password}: the password contains a NUL character"))
        return CheckResult(normalise_ints(news), failures)

    def create(self, props: dict[str, Any]) -> CreateResult:
        keys = ConfigKeys.from_input(props.get("configKeys"))
        role, password = props["name"], props["password"]
        where = _server_label(props)
        database = props.get("database")
        adopt = bool(props.get("adoptExisting"))
        with _admin(self, props) as conn:
            superuser, createrole, _ = _admin_privileges(conn)
            if not (superuser or createrole):
                raise ProvisioningError(
                    f"the admin user {props.get('adminUser')!r} on {where} may not create roles: grant it "
                    f"CREATEROLE (ALTER ROLE ... CREATEROLE CREATEDB) or use another admin in {keys.admin_user}"
                )
            existing = _role_info(conn, role)
            ours = existing is not None and existing[3] == pg_sql.MANAGED_MARKER
            if existing is not None and not (ours or adopt):
                raise ProvisioningError(
                    f"a role {role!r} already exists on {where} and was not created by this stack: choose another "
                    f"{keys.user}, or set {keys.adopt}=true to take it over (its password will be reset)"
                )
            if existing is not None and existing[2]:
                raise ProvisioningError(
                    f"the role {role!r} on {where} is a superuser; refusing to use it as the application role "
                    f"(choose another {keys.user})"
                )
            if database:
                self._preflight_database(conn, props, keys, database, role, adopt)
            # All or nothing: if any statement fails, the role does not exist afterwards.
            with _transaction(conn) as cur:
                verifier = _verifier(conn, password, role)
                if existing is None:
                    cur.execute(pg_sql.create_role(role, verifier))
                else:
                    cur.execute(pg_sql.alter_role_password(role, verifier))
                cur.execute(pg_sql.comment_on_role(role, pg_sql.MANAGED_MARKER))
                if not superuser:
                    # Needed by CREATE DATABASE ... OWNER on servers where the admin is not a superuser.
                    cur.execute(pg_sql.grant_role_to_current_user(role))
        if existing is not None:
            note(f"adopted the existing role {role!r} on {where} and reset its password")
        outs = {**normalise_ints(props), "passwordInSync": True, "adopted": existing is not None}
        return CreateResult(f"postgresql://{props['host']}:{_int(props['port'])}/roles/{role}", outs)

    def _preflight_database(self, conn: Any, props: dict[str, Any], keys: ConfigKeys, database: str, role: str,
                            adopt: bool) -> None:
        """Refuse before creating the role when the database step would refuse anyway (nothing half-created)."""
        info = _database_info(conn, database)
        if info is None:
            superuser, _, createdb = _admin_privileges(conn)
            if not (superuser or createdb):
                raise ProvisioningError(
                    f"the admin user {props.get('adminUser')!r} on {_server_label(props)} may not create databases: "
                    f"grant it CREATEDB or use another admin in {keys.admin_user}"
                )
            return
        if info[1] == role or info[3] == pg_sql.MANAGED_MARKER or adopt:
            return  # ours (from this stack, maybe under an earlier role name), or the operator said so
        count = _user_object_count(self, props, database)
        if count:
            raise _foreign_database_error(props, keys, database, info[1], count)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        role = props["name"]
        with _admin(self, props) as conn:
            info = _role_info(conn, role)
        if info is None:
            return ReadResult("", {})  # gone: refresh removes it from the state
        in_sync: bool | None
        if not info[1]:
            in_sync = False  # login was disabled out of band
        else:
            in_sync = self._password_works(props, role, props.get("password"))
        return ReadResult(id_, {**normalise_ints(props), "passwordInSync": in_sync})

    def _password_works(self, props: dict[str, Any], role: str, password: str | None) -> bool | None:
        """Log in as the role: True works, False wrong password, None cannot tell (pg_hba, network...)."""
        import psycopg2

        if not password:
            return None
        dbname = props.get("database") or props.get("maintenanceDb") or "postgres"
        try:
            _connect(props, role, password, dbname).close()
            return True
        except psycopg2.Error as exc:
            if _is_auth_failure(exc):
                return False
            note(
                f"could not verify the password of role {role!r} on {_server_label(props)}: "
                f"{first_line(Exception(scrub(str(exc), password)))}"
            )
            return None

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = _changed(olds, news, ("name", *_SERVER_IDENTITY))
        updates = _changed(olds, news, ("password", "database", "adoptExisting", *_CONNECTION_SETTINGS))
        drifted = olds.get("passwordInSync") is False
        changes = bool(replaces or updates or drifted)
        return DiffResult(changes=changes, replaces=replaces, delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        role = news["name"]
        if olds.get("password") != news.get("password") or olds.get("passwordInSync") is not True:
            with _admin(self, news) as conn, _transaction(conn) as cur:
                if _role_info(conn, role) is None:
                    keys = ConfigKeys.from_input(news.get("configKeys"))
                    raise ProvisioningError(
                        f"the role {role!r} no longer exists on {_server_label(news)}: run `pulumi refresh` "
                        f"so it is created again (see {keys.user})"
                    )
                cur.execute(pg_sql.alter_role_password(role, _verifier(conn, news["password"], role)))
        return UpdateResult({**normalise_ints(news), "passwordInSync": True, "adopted": olds.get("adopted", False)})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        import psycopg2

        role = props["name"]
        where = _server_label(props)
        with _admin(self, props) as conn:
            if _role_info(conn, role) is None:
                return
            with conn.cursor() as cur:
                cur.execute(pg_sql.ROLE_OWNS_DATABASES, (role,))
                owned = [r[0] for r in cur.fetchall()]
            if not owned:
                try:
                    with conn.cursor() as cur:
                        cur.execute(pg_sql.drop_role(role))
                    return
                except psycopg2.errors.DependentObjectsStillExist as exc:
                    reason = first_line(exc)
            else:
                reason = f"it owns the retained database(s) {', '.join(owned)}"
            with conn.cursor() as cur:
                cur.execute(pg_sql.disable_login(role))
        note(
            f"kept the role {role!r} on {where} with login disabled because {reason}; a later deployment with "
            f"the same role name takes it over. To remove it: REASSIGN OWNED BY / DROP OWNED BY, then DROP ROLE"
        )


class PostgresRole(Resource, module="postgresql", name="Role"):
    """A PostgreSQL LOGIN role (type ``pulumi-python:dynamic/postgresql:Role``).

    Outputs: ``name``, ``password`` (secret), ``host``, ``port``, ``database``, ``password_in_sync``
    (False after refresh when someone changed the password or disabled login; None when it cannot be checked),
    ``adopted`` (True when an existing role was taken over).
    """

    name: pulumi.Output[str]
    password: pulumi.Output[str]
    host: pulumi.Output[str]
    port: pulumi.Output[int]
    database: pulumi.Output[str | None]
    password_in_sync: pulumi.Output[bool | None]
    adopted: pulumi.Output[bool | None]

    def __init__(self, resource_name: str, args: PostgresRoleArgs, opts: pulumi.ResourceOptions | None = None):
        keys = args.config_keys
        provider = PostgresRoleProvider(args.admin_password_key or keys.admin_password, args.admin_password_env)
        props = {
            **args.server.as_props(),
            "name": args.name,
            "password": pulumi.Output.secret(args.password),
            "database": args.database,
            "adoptExisting": args.adopt_existing,
            "configKeys": keys.as_input(),
            "passwordInSync": None,
            "adopted": None,
        }
        secret_opts = pulumi.ResourceOptions(additional_secret_outputs=["password"])
        super().__init__(provider, resource_name, props, pulumi.ResourceOptions.merge(opts, secret_opts))

    def translate_output_property(self, prop: str) -> str:
        return _snake(prop)


# ---------------------------------------------------------------------------------------------------------
# Database


def _foreign_database_error(props: dict[str, Any], keys: ConfigKeys, database: str, owner: str,
                            count: int) -> ProvisioningError:
    return ProvisioningError(
        f"the database {database!r} on {_server_label(props)} already exists, holds {count} table(s)/object(s) "
        f"and belongs to {owner!r}, not to this stack's role. Open WebUI's migrations would collide with tables "
        f"created by hand. Point {keys.name} at a new or empty database, empty it, or set {keys.adopt}=true to "
        f"take it over (ownership of the database moves to the app role; tables keep their owners)"
    )


class PostgresDatabaseProvider(AdminPasswordProvider):
    """CRUD for a PostgreSQL database owned by the app role."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        keys = ConfigKeys.from_input(news.get("configKeys"))
        failures: list[CheckFailure] = []
        _check_server(news, keys, failures)
        _check_name(news, "name", keys.name, "database name", failures)
        _check_name(news, "owner", keys.user, "owner role", failures)
        return CheckResult(normalise_ints(news), failures)

    def create(self, props: dict[str, Any]) -> CreateResult:
        import psycopg2

        keys = ConfigKeys.from_input(props.get("configKeys"))
        database, owner = props["name"], props["owner"]
        where = _server_label(props)
        with _admin(self, props) as conn:
            superuser, _, createdb = _admin_privileges(conn)
            if _role_info(conn, owner) is None:
                raise ProvisioningError(f"the owner role {owner!r} does not exist on {where} (see {keys.user})")
            info = _database_info(conn, database)
            created = info is None
            if info is None:
                if not (superuser or createdb):
                    raise ProvisioningError(
                        f"the admin user {props.get('adminUser')!r} on {where} may not create databases: grant it "
                        f"CREATEDB or use another admin in {keys.admin_user}"
                    )
                with conn.cursor() as cur:
                    cur.execute(pg_sql.create_database(database, owner))  # not transactional in PostgreSQL
            elif info[1] != owner and info[3] != pg_sql.MANAGED_MARKER and not props.get("adoptExisting"):
                count = _user_object_count(self, props, database)
                if count:
                    raise _foreign_database_error(props, keys, database, info[1], count)
            try:
                with _transaction(conn) as cur:
                    if info is not None and info[1] != owner:
                        cur.execute(pg_sql.alter_database_owner(database, owner))
                    cur.execute(pg_sql.comment_on_database(database, pg_sql.MANAGED_MARKER))
                    cur.execute(pg_sql.grant_connect(database, owner))
                    if props.get("revokePublicConnect"):
                        cur.execute(pg_sql.revoke_public_connect(database))
            except psycopg2.Error:
                if created:
                    # Roll back our own CREATE DATABASE: it is empty, nothing is lost.
                    with conn.cursor() as cur:
                        cur.execute(pg_sql.drop_database(database))
                raise
            encoding = (_database_info(conn, database) or [None, None, None])[2]
        if info is not None and info[1] != owner and info[3] == pg_sql.MANAGED_MARKER:
            # Our database under an earlier app role: its tables follow the database to the new owner.
            with _admin(self, props) as conn:
                previous = _role_info(conn, info[1])
            # Only from an app role this stack made: REASSIGN OWNED also moves the old role's databases,
            # so it must never run for an admin or another application's role.
            if previous is not None and previous[3] == pg_sql.MANAGED_MARKER:
                with _admin(self, props, dbname=database) as conn, conn.cursor() as cur:
                    cur.execute(pg_sql.reassign_owned(info[1], owner))
        if not created:
            note(f"adopted the existing database {database!r} on {where} (owner now {owner!r})")
        outs = {**normalise_ints(props), "encoding": encoding, "created": created}
        return CreateResult(f"postgresql://{props['host']}:{_int(props['port'])}/databases/{database}", outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with _admin(self, props) as conn:
            info = _database_info(conn, props["name"])
        if info is None:
            return ReadResult("", {})
        return ReadResult(
            id_, {**normalise_ints(props), "owner": info[1], "encoding": info[2], "revokePublicConnect": not info[4]}
        )

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = _changed(olds, news, ("name", *_SERVER_IDENTITY))
        updates = _changed(
            olds, news, ("owner", "revokePublicConnect", "allowDrop", "adoptExisting", *_CONNECTION_SETTINGS)
        )
        return DiffResult(changes=bool(replaces or updates), replaces=replaces, delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        database, owner, old_owner = news["name"], news["owner"], olds.get("owner")
        old_role_exists = False
        with _admin(self, news) as conn, _transaction(conn) as cur:
            if old_owner != owner:
                cur.execute(pg_sql.alter_database_owner(database, owner))
                cur.execute(pg_sql.grant_connect(database, owner))
                previous = _role_info(conn, old_owner) if old_owner else None
                # Only from an app role this stack made (REASSIGN OWNED also moves its databases).
                old_role_exists = previous is not None and previous[3] == pg_sql.MANAGED_MARKER
            if bool(olds.get("revokePublicConnect")) != bool(news.get("revokePublicConnect")):
                if news.get("revokePublicConnect"):
                    cur.execute(pg_sql.revoke_public_connect(database))
                else:
                    cur.execute(pg_sql.grant_public_connect(database))
        if old_owner != owner and old_role_exists:
            # The app role was replaced (renamed): its tables must follow, or the new role cannot migrate them
            # and the old role cannot be dropped.
            with _admin(self, news, dbname=database) as conn, conn.cursor() as cur:
                cur.execute(pg_sql.reassign_owned(str(old_owner), owner))
        return UpdateResult({**normalise_ints(news), "encoding": olds.get("encoding"), "created": olds.get("created")})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        keys = ConfigKeys.from_input(props.get("configKeys"))
        database = props["name"]
        where = _server_label(props)
        if not props.get("allowDrop"):
            note(
                f"retained the database {database!r} on {where} with its data ({keys.allow_drop} is false). "
                f"Drop it by hand if you really want it gone"
            )
            return
        with _admin(self, props) as conn:
            if _database_info(conn, database) is None:
                return
            with conn.cursor() as cur:
                cur.execute(pg_sql.drop_database(database))
        note(f"dropped the database {database!r} on {where} ({keys.allow_drop} is true)")


class PostgresDatabase(Resource, module="postgresql", name="Database"):
    """A UTF8 PostgreSQL database owned by the app role (type ``pulumi-python:dynamic/postgresql:Database``).

    Outputs: ``name``, ``owner``, ``host``, ``port``, ``encoding``, ``revoke_public_connect``, ``allow_drop``,
    ``created`` (False when an existing database was adopted).
    """

    name: pulumi.Output[str]
    owner: pulumi.Output[str]
    host: pulumi.Output[str]
    port: pulumi.Output[int]
    encoding: pulumi.Output[str | None]
    revoke_public_connect: pulumi.Output[bool]
    allow_drop: pulumi.Output[bool]
    created: pulumi.Output[bool | None]

    def __init__(self, resource_name: str, args: PostgresDatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        keys = args.config_keys
        provider = PostgresDatabaseProvider(args.admin_password_key or keys.admin_password, args.admin_password_env)
        props = {
            **args.server.as_props(),
            "name": args.name,
            "owner": args.owner,
            "revokePublicConnect": args.revoke_public_connect,
            "allowDrop": args.allow_drop,
            "adoptExisting": args.adopt_existing,
            "configKeys": keys.as_input(),
            "encoding": None,
            "created": None,
        }
        super().__init__(provider, resource_name, props, opts)

    def translate_output_property(self, prop: str) -> str:
        return _snake(prop)


def _snake(name: str) -> str:
    """camelCase state keys (what policies see) -> snake_case Python attributes."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)
