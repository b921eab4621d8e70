"""Build Open WebUI's DATABASE_URL and validate database identifiers.

Pure functions (no Pulumi import), so the config model, the database component and the tests share them.

Why SQLAlchemy's ``URL.create``: every part (user, password, database, query values) is percent-encoded by
SQLAlchemy itself, so a password such as ``p@ss:w/rd%#'"\\ü`` survives ``make_url`` unchanged. Open WebUI reads
only ``DATABASE_URL`` reliably: its ``DATABASE_TYPE/USER/PASSWORD/...`` variables are joined WITHOUT encoding.

What Open WebUI 0.12.4 does with the URL (open_webui/env.py, internal/db.py):
- ``postgres://`` is rewritten by substring replace; we emit ``postgresql://`` so nothing is rewritten.
- For PostgreSQL it pops ``sslmode/sslrootcert/sslcert/sslkey/sslcrl`` from the query and re-appends them
  *decoded* (``k=v`` joined by ``&``): a CA path with ``&``, ``=``, ``%``, ``#``, ``?`` or a space would be
  corrupted, so such paths are refused here.
- The sync engine uses psycopg2, the async one psycopg 3: both speak libpq, so ``connect_timeout`` and the
  ssl parameters are libpq's.
- MySQL goes through SQLAlchemy's PyMySQL dialect, which turns ``ssl_ca``/``ssl_check_hostname`` into PyMySQL's
  ``ssl`` dict. ``ssl_verify_cert`` must NOT be combined with ``ssl_ca`` there: PyMySQL then rebuilds its ssl
  settings without the CA. So for MySQL the modes map to: prefer/require -> ``ssl_check_hostname=false`` (TLS,
  no verification unless a CA is given; PyMySQL falls back to plain text when the server offers no TLS, so
  "require" is only enforced by REQUIRE SSL on the account), verify-ca -> ``ssl_ca`` + ``ssl_check_hostname=false``,
  verify-full -> ``ssl_ca`` (chain and host name checked).
"""

from __future__ import annotations

import re
from typing import Final

from sqlalchemy.engine import URL

from owui_ops import dburl
from owui_ops.dburl import normalise_postgres_scheme as normalise_postgres_scheme  # re-exported for callers

KINDS: Final = ("sqlite", "postgresql", "mysql")
DEFAULT_SQLITE_PATH: Final = "/app/backend/data/webui.db"
DEFAULT_PORTS: Final = {"postgresql": 5432, "mysql": 3306}

PG_SSL_MODES: Final = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
MYSQL_SSL_MODES: Final = ("disable", "prefer", "require", "verify-ca", "verify-full")

# Spellings users bring from other tools and guides (DATABASE_TYPE values, URL schemes) mapped to our three kinds.
_KIND_ALIASES: Final = {
    "sqlite": "sqlite",
    "sqlite3": "sqlite",
    "postgres": "postgresql",
    "postgresql": "postgresql",
    "postgresql+psycopg2": "postgresql",
    "pg": "postgresql",
    "mysql": "mysql",
    "mysql+pymysql": "mysql",
    "mariadb": "mysql",
}

# A CA path must survive Open WebUI's decode-and-reappend of ssl query parameters.
_SAFE_PATH = re.compile(r"^/[A-Za-z0-9._/+-]*\Z")


class DatabaseUrlError(ValueError):
    """A database setting cannot be turned into a working DATABASE_URL; the message says which and why."""


def normalise_kind(kind: str) -> str:
    """Map a user-given database type (``postgres``, ``mysql+pymysql``, ``mariadb``...) to one of KINDS."""
    key = (kind or "").strip().lower()
    if key not in _KIND_ALIASES:
        raise DatabaseUrlError(f"unknown database type {kind!r}: use one of {', '.join(KINDS)}")
    return _KIND_ALIASES[key]


def ssl_query(kind: str, ssl_mode: str | None, ssl_ca_path: str | None) -> dict[str, str]:
    """The URL query arguments that select TLS behaviour for ``kind``."""
    kind = normalise_kind(kind)
    if kind == "sqlite":
        if ssl_mode or ssl_ca_path:
            raise DatabaseUrlError("TLS settings do not apply to sqlite")
        return {}
    if ssl_ca_path is not None and not _SAFE_PATH.match(ssl_ca_path):
        raise DatabaseUrlError(
            f"CA file path {ssl_ca_path!r} must be absolute and use only letters, digits and ._/+- "
            "(Open WebUI re-appends it to the URL without encoding)"
        )
    mode = (ssl_mode or "").strip().lower() or None
    if kind == "postgresql":
        if mode is not None and mode not in PG_SSL_MODES:
            raise DatabaseUrlError(f"unknown PostgreSQL sslmode {ssl_mode!r}: use one of {', '.join(PG_SSL_MODES)}")
        if mode in ("verify-ca", "verify-full") and not ssl_ca_path:
            raise DatabaseUrlError(f"sslmode {mode} needs a CA file (the server's CA certificate)")
        query: dict[str, str] = {}
        if mode:
            query["sslmode"] = mode
        if ssl_ca_path and mode != "disable":
            query["sslrootcert"] = ssl_ca_path
        return query
    # mysql
    if mode is not None and mode not in MYSQL_SSL_MODES:
        raise DatabaseUrlError(
            f"unsupported MySQL TLS mode {ssl_mode!r}: use one of {', '.join(MYSQL_SSL_MODES)} "
        )
    if mode in (None, "disable"):
        if ssl_ca_path and mode is None:
            # A CA alone means the operator wants verified TLS.
            mode = "verify-full"
        else:
            return {}
    if mode in ("verify-ca", "verify-full") and not ssl_ca_path:
        raise DatabaseUrlError(f"TLS mode {mode} needs a CA file (the server's CA certificate)")
    if mode == "verify-full":
        return {"ssl_ca": ssl_ca_path or ""}
    query = {"ssl_check_hostname": "false"}
    if ssl_ca_path:
        query["ssl_ca"] = ssl_ca_path
    return query


def build_database_url(
    kind: str,
    *,
    host: str | None = None,
    port: int | None = None,
    name: str = "openwebui",
    user: str | None = None,
    password: str | None = None,
    sqlite_path: str | None = None,
    ssl_mode: str | None = None,
    ssl_ca_path: str | None = None,
    connect_timeout: int | None = None,
) -> str:
    """Return Open WebUI's DATABASE_URL, with the password in clear (encoded): treat the result as a secret.

    - sqlite: ``sqlite:////app/backend/data/webui.db`` (``sqlite_path`` absolute, default DEFAULT_SQLITE_PATH).
    - postgresql: ``postgresql://user:pw@host:port/name?sslmode=..&sslrootcert=..&connect_timeout=..``
    - mysql: ``mysql+pymysql://user:pw@host:port/name?charset=utf8mb4&ssl_ca=..&connect_timeout=..``
    """
    kind = normalise_kind(kind)
    if kind == "sqlite":
        if host or user or password:
            raise DatabaseUrlError("sqlite takes only a file path (no host, user or password)")
        path = sqlite_path or DEFAULT_SQLITE_PATH
        if not path.startswith("/"):
            raise DatabaseUrlError(f"sqlite path {path!r} must be absolute (inside the container)")
        if connect_timeout is not None or ssl_mode or ssl_ca_path:
            raise DatabaseUrlError("connect timeout and TLS settings do not apply to sqlite")
        return URL.create("sqlite", database=path).render_as_string(hide_password=False)

    if not host:
        raise DatabaseUrlError(f"{kind} needs a host")
    if not user:
        raise DatabaseUrlError(f"{kind} needs a user")
    if not name:
        raise DatabaseUrlError(f"{kind} needs a database name")
    if password is not None and "\x00" in password:
        raise DatabaseUrlError("the password contains a NUL character, which no database driver accepts")
    if port is not None and not 0 < int(port) < 65536:
        raise DatabaseUrlError(f"port {port} is outside 1-65535")
    if connect_timeout is not None and not 0 < int(connect_timeout) <= 3600:
        raise DatabaseUrlError(f"connect timeout {connect_timeout} must be 1-3600 seconds")

    query = ssl_query(kind, ssl_mode, ssl_ca_path)
    if kind == "mysql":
        # utf8mb4: MySQL's "utf8" is 3-byte and loses emoji; the database is created utf8mb4 too.
        query = {"charset": "utf8mb4", **query}
    if connect_timeout is not None:
        query["connect_timeout"] = str(int(connect_timeout))

    drivername = "postgresql" if kind == "postgresql" else "mysql+pymysql"
    url = URL.create(
        drivername,
        username=user,
        password=password,
        host=host,
        port=int(port) if port is not None else DEFAULT_PORTS[kind],
        database=name,
        query=query,
    )
    return url.render_as_string(hide_password=False)


def mask_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (for logs and error messages): the ops package's parser,
    the one every tool reading DATABASE_URL uses."""
    return dburl.mask(url)


# ---------------------------------------------------------------------------------------------------------
# Identifier validation (used by the config model and by the providers' check()).
# Quoting with the drivers' tools is always done as well; these rules keep names portable across psql,
# pg_dump, mysqldump, Open WebUI's URL handling and shell scripts, and turn mistakes into config errors.

# `\Z`, not `$`: `$` also matches before a final newline, and "name\n" would pass.
_PG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$-]*\Z")
_MYSQL_NAME = re.compile(r"^[A-Za-z0-9_$-]+\Z")
_PG_RESERVED_ROLES = frozenset({"public", "none", "current_user", "session_user", "current_role"})


def validate_pg_identifier(name: str | None, *, what: str = "name") -> str | None:
    """Return why ``name`` is not acceptable as a PostgreSQL database or role name, or None if it is."""
    if not name:
        return f"the {what} is empty"
    if len(name.encode("utf-8")) > 63:
        return f"the {what} {name!r} is longer than 63 bytes (PostgreSQL would truncate it silently)"
    if not _PG_NAME.match(name):
        return (
            f"the {what} {name!r} may contain only letters, digits, '_', '$' and '-', "
            "and must start with a letter or '_'"
        )
    if name.lower().startswith("pg_"):
        return f"the {what} {name!r} starts with 'pg_', which PostgreSQL reserves"
    if name.lower() in _PG_RESERVED_ROLES:
        return f"the {what} {name!r} is a reserved word in PostgreSQL role syntax"
    return None


def validate_mysql_identifier(name: str | None, *, what: str = "name", max_len: int = 64) -> str | None:
    """Return why ``name`` is not acceptable as a MySQL/MariaDB database or user name, or None.

    Use ``max_len=32`` for user names (MySQL 5.7+/8 limit; MariaDB allows 80).
    """
    if not name:
        return f"the {what} is empty"
    if len(name) > max_len:
        return f"the {what} {name!r} is longer than {max_len} characters"
    if not _MYSQL_NAME.match(name):
        return f"the {what} {name!r} may contain only letters, digits, '_', '$' and '-'"
    if name.isdigit():
        return f"the {what} {name!r} consists of digits only, which MySQL confuses with numbers"
    if name.lower() in {"mysql", "information_schema", "performance_schema", "sys"}:
        return f"the {what} {name!r} is a MySQL system schema"
    return None


_MYSQL_HOST = re.compile(r"^[A-Za-z0-9._:%/-]+\Z")


def validate_mysql_host(host: str | None, *, allow_any_host: bool = False) -> str | None:
    """Return why ``host`` is not acceptable as the host part of a MySQL account, or None.

    Accepts host names, IPs, ``%`` wildcards (``172.18.%``) and netmasks (``172.18.0.0/255.255.0.0``).
    A bare ``%`` (any host) only with ``allow_any_host``: an account should be reachable from the app's hosts only.
    """
    if not host:
        return "the account host is empty"
    if len(host) > 255:
        return "the account host is longer than 255 characters"
    if not _MYSQL_HOST.match(host):
        return f"the account host {host!r} may contain only letters, digits and . _ : % / -"
    if host.strip("%.") == "" and not allow_any_host:
        return (
            f"the account host {host!r} lets the user connect from anywhere; restrict it to the app's network "
            "(e.g. '172.18.%') or allow it explicitly"
        )
    return None
