"""The one DATABASE_URL parser: standard library only, parsing as SQLAlchemy's make_url does.

The tools image has no SQLAlchemy, and the backup, restore and migration commands all need the URL's parts
(libpq environment, a MySQL option file, the SQLite path), so this parser serves all of them and the Pulumi
program's masking (components/db_url.py). user, password and database are percent-decoded, the query is a
dict (tests/unit/test_dburl.py checks agreement with SQLAlchemy on hostile passwords).
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from typing import Optional

# Scheme spellings (SQLAlchemy backend names) mapped to the three database kinds the stack supports.
_KINDS = {"sqlite": "sqlite", "postgres": "postgresql", "postgresql": "postgresql", "mysql": "mysql",
          "mariadb": "mysql"}
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}


class DatabaseUrlError(ValueError):
    """DATABASE_URL cannot be parsed, or names a database type the stack does not support."""


def normalise_postgres_scheme(url: str) -> str:
    """Rewrite a leading ``postgres://`` (Heroku style) to ``postgresql://``; only the scheme is touched, unlike
    Open WebUI's substring replace (open_webui/env.py)."""
    if url.startswith("postgres://"):
        return "postgresql://" + url[len("postgres://"):]
    return url


@dataclass(frozen=True)
class DbUrl:
    raw: str
    drivername: str
    username: Optional[str] = None
    password: Optional[str] = None
    host: Optional[str] = None
    port: Optional[int] = None
    database: Optional[str] = None
    query: dict[str, str] = field(default_factory=dict)

    def get_backend_name(self) -> str:
        return self.drivername.split("+", 1)[0]

    @property
    def kind(self) -> str:
        """sqlite, postgresql or mysql (DatabaseUrlError for anything else)."""
        name = self.get_backend_name().lower()
        if name not in _KINDS:
            raise DatabaseUrlError(f"unsupported database type {name!r} in DATABASE_URL")
        return _KINDS[name]

    @property
    def path(self) -> Optional[str]:
        """The SQLite file (sqlite:////abs/path.db -> /abs/path.db)."""
        return self.database

    @property
    def server_host(self) -> str:
        return self.host or "localhost"

    @property
    def server_port(self) -> int:
        return self.port or DEFAULT_PORTS.get(self.kind, 0)

    def describe(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite {self.path}"
        return f"{self.kind} {self.username}@{self.server_host}:{self.server_port}/{self.database}"

    def render_as_string(self, hide_password: bool = True) -> str:
        if not hide_password or self.password is None:
            return self.raw
        scheme, rest = self.raw.split("://", 1)
        userinfo, hostpart = rest.split("@", 1) if "@" in rest.split("/", 1)[0] else ("", rest)
        return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{hostpart}"


def parse(raw: str) -> DbUrl:
    raw = raw.strip()
    parts = urllib.parse.urlsplit(raw)
    if not parts.scheme or "://" not in raw:
        raise DatabaseUrlError("DATABASE_URL has no scheme (expected sqlite:///, postgresql:// or mysql+pymysql://)")
    userinfo, at, hostport = parts.netloc.rpartition("@")
    user, colon, password = userinfo.partition(":")
    port = ""
    if hostport.startswith("["):  # [IPv6]:port
        host, _, rest = hostport[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = hostport.partition(":")
    try:
        number = int(port) if port else None
    except ValueError:
        raise DatabaseUrlError("DATABASE_URL has an invalid port") from None
    return DbUrl(
        raw=raw, drivername=parts.scheme,
        username=urllib.parse.unquote(user) if at and user else None,
        password=urllib.parse.unquote(password) if at and colon else None,
        host=urllib.parse.unquote(host) or None, port=number,
        database=urllib.parse.unquote(parts.path[1:]) if len(parts.path) > 1 else None,
        query=dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True)),
    )


def mask(url: str) -> str:
    """The URL with its password replaced by ``***`` (for logs and error messages)."""
    try:
        return parse(normalise_postgres_scheme(url)).render_as_string(hide_password=True)
    except ValueError:  # an unparsable URL may still hold a password: show only its scheme
        return url.split("://", 1)[0] + "://***"
