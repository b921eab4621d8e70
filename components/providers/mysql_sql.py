"""MySQL/MariaDB statements the providers run, as pure functions returning ``(query, params)``.

Identifiers are backtick-quoted (a backtick inside is doubled, as MySQL's own quote_identifier does); account
names, hosts and passwords are ``%s`` parameters escaped by PyMySQL using the server's SQL mode. Because
PyMySQL formats the query with ``%``, a literal ``%`` inside a quoted identifier is doubled as well.
"""

from __future__ import annotations

from typing import Final

Statement = tuple[str, tuple[str, ...]]

DEFAULT_CHARSET: Final = "utf8mb4"
DEFAULT_COLLATION: Final = "utf8mb4_unicode_ci"

# Privileges for an application that runs its own migrations on its own schema (the usual MySQL setup for
# Open WebUI grants ALL on its database; this is ALL minus GRANT OPTION, which ALL never includes anyway).
# Server-wide privileges are never given.
APP_PRIVILEGES: Final = "ALL PRIVILEGES"

_CHARSET_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


def quote_ident(name: str) -> str:
    """Backtick-quote a MySQL identifier for a statement that PyMySQL will %-format."""
    if "\x00" in name:
        raise ValueError("a MySQL identifier cannot contain NUL")
    return "`" + name.replace("`", "``").replace("%", "%%") + "`"


def _charset_word(value: str, what: str) -> str:
    # Character set and collation names cannot be parameters; allow only their real alphabet.
    if not value or not set(value.lower()) <= _CHARSET_CHARS:
        raise ValueError(f"invalid {what} {value!r}")
    return value


def create_database(database: str, charset: str = DEFAULT_CHARSET, collation: str = DEFAULT_COLLATION) -> Statement:
    return (
        f"CREATE DATABASE {quote_ident(database)} CHARACTER SET {_charset_word(charset, 'charset')} "
        f"COLLATE {_charset_word(collation, 'collation')}",
        (),
    )


def alter_database_charset(
    database: str, charset: str = DEFAULT_CHARSET, collation: str = DEFAULT_COLLATION
) -> Statement:
    """Changes the default for new tables only; existing tables keep theirs."""
    return (
        f"ALTER DATABASE {quote_ident(database)} CHARACTER SET {_charset_word(charset, 'charset')} "
        f"COLLATE {_charset_word(collation, 'collation')}",
        (),
    )


def drop_database(database: str) -> Statement:
    return (f"DROP DATABASE {quote_ident(database)}", ())


def create_user(user: str, host: str, password: str, require_ssl: bool = False) -> Statement:
    tls = " REQUIRE SSL" if require_ssl else ""
    return (f"CREATE USER %s@%s IDENTIFIED BY %s{tls}", (user, host, password))


def alter_user_password(user: str, host: str, password: str) -> Statement:
    return ("ALTER USER %s@%s IDENTIFIED BY %s", (user, host, password))


def alter_user_require(user: str, host: str, require_ssl: bool) -> Statement:
    return (f"ALTER USER %s@%s REQUIRE {'SSL' if require_ssl else 'NONE'}", (user, host))


def rename_user(user: str, old_host: str, new_host: str) -> Statement:
    """Moves the account, its password and its grants to another host pattern."""
    return ("RENAME USER %s@%s TO %s@%s", (user, old_host, user, new_host))


def drop_user(user: str, host: str) -> Statement:
    return ("DROP USER %s@%s", (user, host))


def grant_pattern(database: str) -> str:
    """The database name as a GRANT pattern that matches only itself.

    In database-level GRANTs ``_`` and ``%`` are wildcards: ``GRANT ... ON `open_webui`.*`` would also cover a
    database named ``openXwebui``. Escaping them with a backslash makes the grant exact.
    """
    return database.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")


def grant_database(database: str, user: str, host: str, privileges: str = APP_PRIVILEGES) -> Statement:
    """Privileges on ``database``.* only. ``privileges`` is a fixed word list, never user text."""
    if privileges != APP_PRIVILEGES and not all(p.strip().replace(" ", "").isalpha() for p in privileges.split(",")):
        raise ValueError(f"invalid privilege list {privileges!r}")
    return (f"GRANT {privileges} ON {quote_ident(grant_pattern(database))}.* TO %s@%s", (user, host))


def revoke_database(database: str, user: str, host: str) -> Statement:
    return (f"REVOKE ALL PRIVILEGES ON {quote_ident(grant_pattern(database))}.* FROM %s@%s", (user, host))


# Read-only queries.

USER_EXISTS: Final = "SELECT plugin, authentication_string FROM mysql.user WHERE User = %s AND Host = %s"
USER_HOSTS: Final = "SELECT Host FROM mysql.user WHERE User = %s"
USER_SSL_TYPE: Final = "SELECT ssl_type FROM mysql.user WHERE User = %s AND Host = %s"
DATABASE_INFO: Final = (
    "SELECT SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME "
    "FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s"
)
TABLE_COUNT: Final = "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s"
# Database-level grants of an account; the Db column holds the database name with _ and % escaped as patterns.
DB_GRANTS: Final = "SELECT Db FROM mysql.db WHERE User = %s AND Host = %s"
