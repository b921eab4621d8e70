"""MySQL/MariaDB database and user as Pulumi dynamic resources.

Types:
  ``pulumi-python:dynamic/mysql:Database``  MysqlDatabase  utf8mb4 / utf8mb4_unicode_ci (any Unicode text)
  ``pulumi-python:dynamic/mysql:User``      MysqlUser      'user'@'account host' with privileges on that database only

Use (components/database.py)::

    server = MysqlServer(host="db.internal", admin_user="owui_admin", ssl_mode="verify-full", ssl_ca="/etc/owui/ca.pem")
    db = MysqlDatabase("owui-db", MysqlDatabaseArgs(server=server, name="openwebui"), opts)
    user = MysqlUser("owui-db-user", MysqlUserArgs(server=server, name="openwebui", account_host="172.18.%",
                     password=random_password.result, database=db.name), ResourceOptions(depends_on=[db]))

Why the grant belongs to the user resource and is not a separate Grant resource: in MySQL a grant is part of the
account ('user'@'host' + database); the account exists only to use that one database, a host change moves the
grants with it (RENAME USER), and creating user and grant in one step lets a failed GRANT roll the user back, so
nothing half-made is left. A separate resource would add an ordering and a state with no independent meaning.

The grant is exact: ``_`` and ``%`` in the database name are escaped, because GRANT treats them as wildcards
(``open_webui`` would otherwise also match ``openXwebui``).

The admin password comes from the secret stack config (``admin_password_key``, default
``openwebui:databaseAdminPassword``) or ``OWUI_MYSQL_ADMIN_PASSWORD``; never an input or output (_common.py).
The account host ``%`` is refused unless ``allow_any_host``. App passwords must be printable ASCII: PyMySQL sends
a str password as Latin-1, so a non-ASCII one could never log in through DATABASE_URL.
``require_ssl`` adds REQUIRE SSL to the account so
the server itself refuses plain-text logins (PyMySQL would silently fall back to plain text on a server without
TLS; the provider's own admin connection checks the cipher instead).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from components.db_url import MYSQL_SSL_MODES, validate_mysql_host, validate_mysql_identifier
from components.providers import mysql_sql
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
from components.providers.postgresql import _snake

DEFAULT_ADMIN_PASSWORD_ENV = "OWUI_MYSQL_ADMIN_PASSWORD"

# MySQL error numbers (server and client) that deserve their own message.
ER_DBACCESS_DENIED = 1044
ER_ACCESS_DENIED = 1045
ER_SPECIFIC_ACCESS_DENIED = 1227
ER_CANNOT_USER = 1396
ER_TABLEACCESS_DENIED = 1142
ER_NONEXISTING_GRANT = 1141
CR_CONN_HOST_ERROR = 2003
CR_SERVER_LOST = 2013


@dataclass(frozen=True, kw_only=True)
class MysqlServer:
    """How the provider reaches the server as its admin. No secrets here.

    ssl_mode: disable | prefer | require | verify-ca | verify-full (None: no TLS unless ssl_ca is set, then
        verify-full). require/verify-*: the provider refuses a connection that did not negotiate TLS.
    ssl_ca: CA file on the machine running pulumi.
    """

    host: str
    port: int = 3306
    admin_user: str = "root"
    ssl_mode: str | None = None
    ssl_ca: str | None = None
    connect_timeout: int = 10

    def as_props(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "adminUser": self.admin_user,
            "sslMode": self.ssl_mode,
            "sslCa": self.ssl_ca,
            "connectTimeout": self.connect_timeout,
        }


@dataclass(frozen=True, kw_only=True)
class MysqlDatabaseArgs:
    """Inputs of MysqlDatabase. allow_drop: delete drops it with its data (default False: retained).
    adopt_existing: use a database that already exists and holds tables."""

    server: MysqlServer
    name: str
    charset: str = mysql_sql.DEFAULT_CHARSET
    collation: str = mysql_sql.DEFAULT_COLLATION
    allow_drop: bool = False
    adopt_existing: bool = False
    config_keys: ConfigKeys = field(default_factory=ConfigKeys)
    admin_password_key: str | None = None
    admin_password_env: str = DEFAULT_ADMIN_PASSWORD_ENV


@dataclass(frozen=True, kw_only=True)
class MysqlUserArgs:
    """Inputs of MysqlUser.

    account_host: where the app connects from, e.g. the Docker network ``172.18.%``; ``%`` needs allow_any_host.
    password: the app password; pass a secret Output (pulumi-random).
    database: the only database the user gets privileges on; pass ``db.name``.
    require_ssl: REQUIRE SSL on the account.
    adopt_existing: take over an existing 'name'@'account_host' (its password is reset).
    """

    server: MysqlServer
    name: str
    account_host: str
    password: pulumi.Input[str]
    database: pulumi.Input[str]
    require_ssl: bool = False
    allow_any_host: bool = False
    adopt_existing: bool = False
    config_keys: ConfigKeys = field(default_factory=ConfigKeys)
    admin_password_key: str | None = None
    admin_password_env: str = DEFAULT_ADMIN_PASSWORD_ENV


# ---------------------------------------------------------------------------------------------------------
# Connections and errors


def _server_label(props: dict[str, Any]) -> str:
    return f"MySQL server {props.get('host')}:{_int(props.get('port'))}"


def _ssl_params(props: dict[str, Any]) -> dict[str, Any] | None:
    mode, ca = props.get("sslMode"), props.get("sslCa")
    if mode in (None, "") and ca:
        mode = "verify-full"
    if mode in (None, "", "disable"):
        return None
    if mode in ("prefer", "require") and not ca:
        return {"check_hostname": False}  # encrypted, not verified (like libpq's require)
    params: dict[str, Any] = {"ca": ca}
    if mode != "verify-full":
        params["check_hostname"] = False
    return params


def _connect(props: dict[str, Any], user: str, password: str, database: str | None = None) -> Any:
    import pymysql

    conn = pymysql.connect(
        host=props["host"],
        port=int(props.get("port") or 3306),
        user=user,
        # Bytes: PyMySQL would encode a str as Latin-1, which breaks non-ASCII admin passwords.
        password=password.encode("utf-8"),
        database=database,
        connect_timeout=int(props.get("connectTimeout") or 10),
        # PyMySQL's connect_timeout covers only the TCP connect; the handshake read would wait forever on a
        # server that accepts and never answers. Bound the reads while connecting, then lift the bound so
        # long statements (DROP DATABASE of a big schema) are not cut off.
        read_timeout=int(props.get("connectTimeout") or 10),
        ssl=_ssl_params(props),
        charset="utf8mb4",
        autocommit=True,
    )
    if hasattr(conn, "_read_timeout"):
        conn._read_timeout = None
    if _ssl_params(props) is not None and props.get("sslMode") != "prefer":
        # PyMySQL quietly stays in plain text when the server offers no TLS: refuse that downgrade.
        with conn.cursor() as cur:
            cur.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
            row = cur.fetchone()
        if not row or not row[1]:
            conn.close()
            raise _TlsMissing()
    return conn


class _TlsMissing(Exception):
    pass


def _code(exc: Exception) -> int | None:
    args = getattr(exc, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def _classify_connect_error(exc: Exception, props: dict[str, Any], user: str, keys: ConfigKeys, env: str,
                            *secrets: str | None) -> ProvisioningError:
    where = _server_label(props)
    if isinstance(exc, _TlsMissing):
        return ProvisioningError(
            f"{where} did not negotiate TLS although {keys.ssl_mode} asks for it; enable TLS on the server"
        )
    text = first_line(Exception(scrub(str(exc.args[1] if len(exc.args) > 1 else exc), *secrets)))
    code = _code(exc)
    low = text.lower()
    if code == ER_ACCESS_DENIED:
        return ProvisioningError(
            f"{where} denied access to the admin user {user!r} (wrong password, or the account does not allow "
            f"this client host or requires TLS): check {keys.admin_password} (or {env}) and {keys.admin_user}"
        )
    if "ssl" in low or "certificate" in low or "tls" in low:
        return ProvisioningError(f"TLS to {where} failed: {text} (check {keys.ssl_mode} and {keys.ssl_ca})")
    if code in (CR_CONN_HOST_ERROR, CR_SERVER_LOST) or "can't connect" in low or "timed out" in low:
        return ProvisioningError(
            f"cannot reach {where} (check {keys.host} and {keys.port}, and that the server is running): {text}"
        )
    return ProvisioningError(f"{where}: {text}")


def _classify_sql_error(exc: Exception, props: dict[str, Any], keys: ConfigKeys, *secrets: str | None
                        ) -> ProvisioningError:
    code = _code(exc)
    raw = exc.args[1] if len(getattr(exc, "args", ())) > 1 else str(exc)
    text = first_line(Exception(scrub(str(raw), *secrets)))
    where = _server_label(props)
    if code in (ER_DBACCESS_DENIED, ER_SPECIFIC_ACCESS_DENIED, ER_TABLEACCESS_DENIED, ER_ACCESS_DENIED):
        return ProvisioningError(
            f"the admin user {props.get('adminUser')!r} on {where} lacks a privilege: {text}. It needs CREATE, "
            f"DROP, CREATE USER and GRANT OPTION on the app database (see {keys.admin_user})"
        )
    return ProvisioningError(f"{where}: {text}")


@contextlib.contextmanager
def _admin(provider: AdminPasswordProvider, props: dict[str, Any]) -> Iterator[Any]:
    import pymysql

    keys = ConfigKeys.from_input(props.get("configKeys"))
    password = provider.admin_password()
    user = props.get("adminUser") or "root"
    try:
        conn = _connect(props, user, password)
    except (pymysql.Error, _TlsMissing, OSError) as exc:
        raise _classify_connect_error(
            exc, props, user, keys, provider.admin_password_env, password, props.get("password")
        ) from None
    try:
        yield conn
    except pymysql.Error as exc:
        raise _classify_sql_error(exc, props, keys, password, props.get("password")) from None
    finally:
        conn.close()


def _run(conn: Any, statement: mysql_sql.Statement) -> None:
    query, params = statement
    with conn.cursor() as cur:
        cur.execute(query, params)


def _fetchone(conn: Any, query: str, params: tuple[Any, ...]) -> Any:
    with conn.cursor() as cur:
        cur.execute(query, params)
        return cur.fetchone()


def native_password_hash(password: str) -> str:
    """mysql_native_password's stored form: '*' + upper hex SHA1(SHA1(password))."""
    return "*" + hashlib.sha1(hashlib.sha1(password.encode("utf-8")).digest()).hexdigest().upper()


# ---------------------------------------------------------------------------------------------------------
# Validation


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
    mode = props.get("sslMode")
    if mode is not None and not is_unknown(mode) and mode not in MYSQL_SSL_MODES:
        failures.append(
            CheckFailure("sslMode", f"{keys.ssl_mode}: {mode!r} is not one of {', '.join(MYSQL_SSL_MODES)}")
        )
    if mode in ("verify-ca", "verify-full") and not props.get("sslCa"):
        failures.append(CheckFailure("sslCa", f"{keys.ssl_ca}: TLS mode {mode} needs the server's CA file"))


def _check_ident(props: dict[str, Any], prop: str, key: str, what: str, failures: list[CheckFailure],
                 max_len: int = 64) -> None:
    value = props.get(prop)
    if is_unknown(value):
        return
    problem = validate_mysql_identifier(value if isinstance(value, str) else None, what=what, max_len=max_len)
    if problem:
        failures.append(CheckFailure(prop, f"{key}: {problem}"))


def _changed(olds: dict[str, Any], news: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    return [n for n in names if olds.get(n) != news.get(n)]


_SERVER_IDENTITY = ("host", "port")
_CONNECTION_SETTINGS = ("adminUser", "sslMode", "sslCa", "connectTimeout", "configKeys")


# ---------------------------------------------------------------------------------------------------------
# Database


class MysqlDatabaseProvider(AdminPasswordProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        keys = ConfigKeys.from_input(news.get("configKeys"))
        failures: list[CheckFailure] = []
        _check_server(news, keys, failures)
        _check_ident(news, "name", keys.name, "database name", failures)
        for prop in ("charset", "collation"):
            value = news.get(prop)
            try:
                mysql_sql._charset_word(cast(str, value), prop)
            except ValueError as exc:
                failures.append(CheckFailure(prop, str(exc)))
        return CheckResult(normalise_ints(news), failures)

    def create(self, props: dict[str, Any]) -> CreateResult:
        keys = ConfigKeys.from_input(props.get("configKeys"))
        database = props["name"]
        where = _server_label(props)
        charset = props.get("charset") or mysql_sql.DEFAULT_CHARSET
        collation = props.get("collation") or mysql_sql.DEFAULT_COLLATION
        with _admin(self, props) as conn:
            info = _fetchone(conn, mysql_sql.DATABASE_INFO, (database,))
            created = info is None
            if created:
                _run(conn, mysql_sql.create_database(database, charset, collation))
            else:
                tables = int(_fetchone(conn, mysql_sql.TABLE_COUNT, (database,))[0])
                if tables and not props.get("adoptExisting"):
                    raise ProvisioningError(
                        f"the database {database!r} on {where} already exists and holds {tables} table(s); "
                        f"Open WebUI's migrations would collide with tables made by hand or by another deployment. "
                        f"Point {keys.name} at a new or empty database, or set {keys.adopt}=true to use it"
                    )
                if (info[1], info[2]) != (charset, collation):
                    _run(conn, mysql_sql.alter_database_charset(database, charset, collation))
                note(f"adopted the existing database {database!r} on {where}")
        outs = {**normalise_ints(props), "charset": charset, "collation": collation, "created": created}
        return CreateResult(f"mysql://{props['host']}:{_int(props['port'])}/databases/{database}", outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with _admin(self, props) as conn:
            info = _fetchone(conn, mysql_sql.DATABASE_INFO, (props["name"],))
        if info is None:
            return ReadResult("", {})
        return ReadResult(id_, {**normalise_ints(props), "charset": info[1], "collation": info[2]})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = _changed(olds, news, ("name", *_SERVER_IDENTITY))
        updates = _changed(olds, news, ("charset", "collation", "allowDrop", "adoptExisting", *_CONNECTION_SETTINGS))
        return DiffResult(changes=bool(replaces or updates), replaces=replaces, delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        if (olds.get("charset"), olds.get("collation")) != (news.get("charset"), news.get("collation")):
            with _admin(self, news) as conn:
                _run(conn, mysql_sql.alter_database_charset(news["name"], news["charset"], news["collation"]))
        return UpdateResult({**normalise_ints(news), "created": olds.get("created")})

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
            if _fetchone(conn, mysql_sql.DATABASE_INFO, (database,)) is None:
                return
            _run(conn, mysql_sql.drop_database(database))
        note(f"dropped the database {database!r} on {where} ({keys.allow_drop} is true)")


class MysqlDatabase(Resource, module="mysql", name="Database"):
    """A utf8mb4 MySQL/MariaDB database (type ``pulumi-python:dynamic/mysql:Database``).

    Outputs: ``name``, ``host``, ``port``, ``charset``, ``collation``, ``allow_drop``, ``created``.
    """

    name: pulumi.Output[str]
    host: pulumi.Output[str]
    port: pulumi.Output[int]
    charset: pulumi.Output[str]
    collation: pulumi.Output[str]
    allow_drop: pulumi.Output[bool]
    created: pulumi.Output[bool | None]

    def __init__(self, resource_name: str, args: MysqlDatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        keys = args.config_keys
        provider = MysqlDatabaseProvider(args.admin_password_key or keys.admin_password, args.admin_password_env)
        props = {
            **args.server.as_props(),
            "name": args.name,
            "charset": args.charset,
            "collation": args.collation,
            "allowDrop": args.allow_drop,
            "adoptExisting": args.adopt_existing,
            "configKeys": keys.as_input(),
            "created": None,
        }
        super().__init__(provider, resource_name, props, opts)

    def translate_output_property(self, prop: str) -> str:
        return _snake(prop)


# ---------------------------------------------------------------------------------------------------------
# User (+ its grant)


class MysqlUserProvider(AdminPasswordProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        keys = ConfigKeys.from_input(news.get("configKeys"))
        failures: list[CheckFailure] = []
        _check_server(news, keys, failures)
        _check_ident(news, "name", keys.user, "user name", failures, max_len=32)
        _check_ident(news, "database", keys.name, "database name", failures)
        host = news.get("accountHost")
        if not is_unknown(host):
            problem = validate_mysql_host(host, allow_any_host=bool(news.get("allowAnyHost")))
            if problem:
                failures.append(CheckFailure("accountHost", f"{keys.account_host}: {problem}"))
        password = news.get("password")
        if not is_unknown(password):
            if not isinstance(password, str) or not password:
                failures.append(CheckFailure("password", f"{keys.password}: the application password is empty"))
            elif not password.isascii() or not password.isprintable():
                # PyMySQL (Open WebUI's MySQL driver, 1.1 and 1.2) encodes a str password as Latin-1, while the
                # server hashes what we send in utf8mb4: any non-ASCII password could never log in.
                failures.append(CheckFailure(
                    "password", f"{keys.password}: MySQL app passwords must be printable ASCII (PyMySQL sends "
                    "passwords as Latin-1, so other characters never match)"))
        return CheckResult(normalise_ints(news), failures)

    def create(self, props: dict[str, Any]) -> CreateResult:
        import pymysql

        keys = ConfigKeys.from_input(props.get("configKeys"))
        user, host, password, database = props["name"], props["accountHost"], props["password"], props["database"]
        where = _server_label(props)
        with _admin(self, props) as conn:
            existing = _fetchone(conn, mysql_sql.USER_EXISTS, (user, host))
            if existing is not None and not props.get("adoptExisting"):
                raise ProvisioningError(
                    f"the account '{user}'@'{host}' already exists on {where}: choose another {keys.user} or "
                    f"{keys.account_host}, or set {keys.adopt}=true to take it over (its password will be reset)"
                )
            if existing is None:
                _run(conn, mysql_sql.create_user(user, host, password, bool(props.get("requireSsl"))))
            else:
                _run(conn, mysql_sql.alter_user_password(user, host, password))
                _run(conn, mysql_sql.alter_user_require(user, host, bool(props.get("requireSsl"))))
            try:
                _run(conn, mysql_sql.grant_database(database, user, host))
            except pymysql.Error:
                if existing is None:
                    # MySQL DDL autocommits: undo the CREATE USER by hand so no half-made account remains.
                    _run(conn, mysql_sql.drop_user(user, host))
                raise
        if existing is not None:
            note(f"adopted the existing account '{user}'@'{host}' on {where} and reset its password")
        outs = {**normalise_ints(props), "passwordInSync": True, "grantInSync": True, "adopted": existing is not None}
        return CreateResult(f"mysql://{props['host']}:{_int(props['port'])}/users/{user}@{host}", outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        user, host = props["name"], props["accountHost"]
        with _admin(self, props) as conn:
            row = _fetchone(conn, mysql_sql.USER_EXISTS, (user, host))
            if row is None:
                return ReadResult("", {})
            with conn.cursor() as cur:
                cur.execute(mysql_sql.DB_GRANTS, (user, host))
                grants = {r[0] for r in cur.fetchall()}
            ssl_type = (_fetchone(conn, mysql_sql.USER_SSL_TYPE, (user, host)) or [""])[0]
        plugin, auth_string = row
        in_sync = self._password_matches(props, plugin, auth_string)
        grant_ok = mysql_sql.grant_pattern(props.get("database") or "") in grants
        outs = {
            **normalise_ints(props),
            "passwordInSync": in_sync,
            "grantInSync": grant_ok,
            "requireSsl": (ssl_type or "").upper() not in ("", "NONE"),
        }
        return ReadResult(id_, outs)

    def _password_matches(self, props: dict[str, Any], plugin: str, auth_string: str | None) -> bool | None:
        import pymysql

        password = props.get("password")
        if not password:
            return None
        if plugin in ("mysql_native_password", "") and auth_string:
            # Exact and independent of where the provider connects from (the account host may not match us).
            return auth_string == native_password_hash(password)
        # Other plugins (caching_sha2_password, ed25519...): log in as the app user.
        try:
            _connect(props, props["name"], password).close()
            return True
        except pymysql.Error as exc:
            if _code(exc) == ER_ACCESS_DENIED:
                return False
            note(f"could not verify the password of '{props['name']}': {scrub(first_line(exc), password)}")
            return None
        except _TlsMissing:
            return None

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = _changed(olds, news, ("name", *_SERVER_IDENTITY))
        updates = _changed(
            olds, news,
            ("password", "accountHost", "database", "requireSsl", "allowAnyHost", "adoptExisting",
             *_CONNECTION_SETTINGS),
        )
        drifted = olds.get("passwordInSync") is False or olds.get("grantInSync") is False
        return DiffResult(changes=bool(replaces or updates or drifted), replaces=replaces, delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        import pymysql

        user = news["name"]
        old_host, host = olds["accountHost"], news["accountHost"]
        old_db, database = olds.get("database"), news["database"]
        with _admin(self, news) as conn:
            if _fetchone(conn, mysql_sql.USER_EXISTS, (user, old_host)) is None:
                keys = ConfigKeys.from_input(news.get("configKeys"))
                raise ProvisioningError(
                    f"the account '{user}'@'{old_host}' no longer exists on {_server_label(news)}: run "
                    f"`pulumi refresh` so it is created again (see {keys.user})"
                )
            if old_host != host:
                _run(conn, mysql_sql.rename_user(user, old_host, host))  # keeps password and grants
            if olds.get("password") != news.get("password") or olds.get("passwordInSync") is not True:
                _run(conn, mysql_sql.alter_user_password(user, host, news["password"]))
            if bool(olds.get("requireSsl")) != bool(news.get("requireSsl")):
                _run(conn, mysql_sql.alter_user_require(user, host, bool(news.get("requireSsl"))))
            if old_db and old_db != database:
                try:
                    _run(conn, mysql_sql.revoke_database(old_db, user, host))
                except pymysql.Error as exc:
                    if _code(exc) != ER_NONEXISTING_GRANT:
                        raise
            if old_db != database or olds.get("grantInSync") is not True:
                _run(conn, mysql_sql.grant_database(database, user, host))
        return UpdateResult({**normalise_ints(news), "passwordInSync": True, "grantInSync": True,
                             "adopted": olds.get("adopted")})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        user, host = props["name"], props["accountHost"]
        with _admin(self, props) as conn:
            if _fetchone(conn, mysql_sql.USER_EXISTS, (user, host)) is not None:
                _run(conn, mysql_sql.drop_user(user, host))


class MysqlUser(Resource, module="mysql", name="User"):
    """'name'@'account_host' with privileges on one database (type ``pulumi-python:dynamic/mysql:User``).

    Outputs: ``name``, ``account_host``, ``password`` (secret), ``database``, ``require_ssl``,
    ``password_in_sync`` / ``grant_in_sync`` (False after refresh when changed out of band; the next ``up``
    repairs them), ``adopted``.
    """

    name: pulumi.Output[str]
    account_host: pulumi.Output[str]
    password: pulumi.Output[str]
    database: pulumi.Output[str]
    require_ssl: pulumi.Output[bool]
    password_in_sync: pulumi.Output[bool | None]
    grant_in_sync: pulumi.Output[bool | None]
    adopted: pulumi.Output[bool | None]

    def __init__(self, resource_name: str, args: MysqlUserArgs, opts: pulumi.ResourceOptions | None = None):
        keys = args.config_keys
        provider = MysqlUserProvider(args.admin_password_key or keys.admin_password, args.admin_password_env)
        props = {
            **args.server.as_props(),
            "name": args.name,
            "accountHost": args.account_host,
            "password": pulumi.Output.secret(args.password),
            "database": args.database,
            "requireSsl": args.require_ssl,
            "allowAnyHost": args.allow_any_host,
            "adoptExisting": args.adopt_existing,
            "configKeys": keys.as_input(),
            "passwordInSync": None,
            "grantInSync": None,
            "adopted": None,
        }
        secret_opts = pulumi.ResourceOptions(additional_secret_outputs=["password"])
        super().__init__(provider, resource_name, props, pulumi.ResourceOptions.merge(opts, secret_opts))

    def translate_output_property(self, prop: str) -> str:
        return _snake(prop)
