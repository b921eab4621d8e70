"""DATABASE_URL building: encoding round-trips, scheme normalisation, TLS and timeout query arguments."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from components.db_url import (
    DatabaseUrlError,
    build_database_url,
    mask_url,
    normalise_kind,
    normalise_postgres_scheme,
    ssl_query,
    validate_mysql_host,
    validate_mysql_identifier,
    validate_pg_identifier,
)

HOSTILE_PASSWORD = "p@ss:w/rd%#'\"\\ü ?&="


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
@pytest.mark.parametrize(
    "password",
    [HOSTILE_PASSWORD, "p@ss:w/rd%#'\"\\ü", "%41%", "a b", "日本語パス", "+plus+", "x;DROP DATABASE y;--"],
)
def test_password_round_trips_through_make_url(kind: str, password: str) -> None:
    url = build_database_url(kind, host="db.example", port=6000, name="openwebui", user="u@x:y", password=password)
    parsed = make_url(url)
    assert parsed.password == password
    assert parsed.username == "u@x:y"
    assert parsed.host == "db.example"
    assert parsed.port == 6000
    assert parsed.database == "openwebui"


def test_password_is_percent_encoded_not_raw() -> None:
    url = build_database_url("postgresql", host="h", name="d", user="u", password="a@b:c/d")
    # The raw '@' would split the authority at the wrong place.
    assert "a@b" not in url
    assert make_url(url).host == "h"


def test_sqlite_default_and_explicit_path() -> None:
    assert build_database_url("sqlite") == "sqlite:////app/backend/data/webui.db"
    url = build_database_url("sqlite", sqlite_path="/data/x y.db")
    assert make_url(url).database == "/data/x y.db"


@pytest.mark.parametrize("bad", [dict(sqlite_path="rel/webui.db"), dict(host="h"), dict(connect_timeout=5)])
def test_sqlite_rejects_server_settings(bad: dict) -> None:
    with pytest.raises(DatabaseUrlError):
        build_database_url("sqlite", **bad)


def test_postgres_url_shape_with_tls_and_timeout() -> None:
    url = build_database_url(
        "postgres",
        host="127.0.0.1",
        port=5432,
        name="open-web",
        user="open_webui",
        password="pw",
        ssl_mode="verify-full",
        ssl_ca_path="/certs/ca.pem",
        connect_timeout=7,
    )
    assert url.startswith("postgresql://")
    parsed = make_url(url)
    assert parsed.drivername == "postgresql"
    assert dict(parsed.query) == {"sslmode": "verify-full", "sslrootcert": "/certs/ca.pem", "connect_timeout": "7"}


def test_mysql_url_shape() -> None:
    url = build_database_url("mariadb", host="h", name="openwebui", user="u", password="pw", connect_timeout=3)
    parsed = make_url(url)
    assert parsed.drivername == "mysql+pymysql"
    assert parsed.port == 3306
    assert dict(parsed.query) == {"charset": "utf8mb4", "connect_timeout": "3"}


@pytest.mark.parametrize(
    ("mode", "ca", "expected"),
    [
        (None, None, {}),
        ("disable", None, {}),
        ("require", None, {"ssl_check_hostname": "false"}),
        ("require", "/ca.pem", {"ssl_check_hostname": "false", "ssl_ca": "/ca.pem"}),
        ("verify-ca", "/ca.pem", {"ssl_check_hostname": "false", "ssl_ca": "/ca.pem"}),
        ("verify-full", "/ca.pem", {"ssl_ca": "/ca.pem"}),
        (None, "/ca.pem", {"ssl_ca": "/ca.pem"}),
    ],
)
def test_mysql_ssl_query(mode: str | None, ca: str | None, expected: dict) -> None:
    assert ssl_query("mysql", mode, ca) == expected
    # Never both: PyMySQL drops the CA when ssl_verify_cert comes with it.
    assert "ssl_verify_cert" not in ssl_query("mysql", mode, ca)


def test_mysql_ssl_query_is_what_sqlalchemy_hands_pymysql() -> None:
    """The PyMySQL dialect turns our query into the ssl dict PyMySQL builds its SSLContext from."""
    from sqlalchemy.dialects.mysql.pymysql import MySQLDialect_pymysql

    url = make_url(
        build_database_url("mysql", host="h", name="d", user="u", password="p", ssl_mode="verify-ca",
                           ssl_ca_path="/ca.pem")
    )
    _, kwargs = MySQLDialect_pymysql().create_connect_args(url)
    assert kwargs["ssl"] == {"ca": "/ca.pem", "check_hostname": False}
    assert kwargs["charset"] == "utf8mb4"


@pytest.mark.parametrize(
    ("kind", "mode"), [("postgresql", "verify-full"), ("postgresql", "verify-ca"), ("mysql", "verify-ca")]
)
def test_verify_modes_need_a_ca(kind: str, mode: str) -> None:
    with pytest.raises(DatabaseUrlError, match="CA file"):
        ssl_query(kind, mode, None)


@pytest.mark.parametrize("path", ["relative/ca.pem", "/a b/ca.pem", "/a&b=c", "/x%20", "/x#y", "/x?y"])
def test_ca_paths_open_webui_would_corrupt_are_refused(path: str) -> None:
    with pytest.raises(DatabaseUrlError, match="CA file path"):
        ssl_query("postgresql", "verify-full", path)


def test_unknown_modes_and_kinds() -> None:
    with pytest.raises(DatabaseUrlError):
        ssl_query("postgresql", "sometimes", None)
    with pytest.raises(DatabaseUrlError, match="MySQL TLS mode"):
        ssl_query("mysql", "allow", None)
    assert ssl_query("mysql", "prefer", None) == {"ssl_check_hostname": "false"}
    with pytest.raises(DatabaseUrlError, match="unknown database type"):
        normalise_kind("oracle")


def test_normalise_postgres_scheme_only_touches_the_scheme() -> None:
    assert normalise_postgres_scheme("postgres://u:p@h/d") == "postgresql://u:p@h/d"
    assert normalise_postgres_scheme("postgresql://u:postgres://@h/d") == "postgresql://u:postgres://@h/d"
    assert normalise_postgres_scheme("mysql://postgres://") == "mysql://postgres://"


def test_mask_url_hides_the_password() -> None:
    url = build_database_url("postgresql", host="h", name="d", user="u", password=HOSTILE_PASSWORD)
    masked = mask_url(url)
    assert "***" in masked
    assert make_url(masked).password == "***"
    assert "rd" not in masked.split("@")[0]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(host=None, user="u"), "host"),
        (dict(host="h", user=None), "user"),
        (dict(host="h", user="u", port=70000), "port"),
        (dict(host="h", user="u", connect_timeout=0), "timeout"),
        (dict(host="h", user="u", password="a\x00b"), "NUL"),
    ],
)
def test_server_url_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(DatabaseUrlError, match=match):
        build_database_url("postgresql", name="d", **kwargs)


@pytest.mark.parametrize("name", ["openwebui", "open-web", "_x", "A1$"])
def test_pg_identifier_accepts(name: str) -> None:
    assert validate_pg_identifier(name) is None


@pytest.mark.parametrize(
    "name", ['x"; DROP DATABASE y; --', "", "1abc", "pg_role", "public", "a" * 64, "naïve", "a b", "a;b"]
)
def test_pg_identifier_rejects(name: str) -> None:
    assert validate_pg_identifier(name, what="database name")


@pytest.mark.parametrize("name", ["x`; DROP DATABASE y; --", "", "a" * 65, "mysql", "123", "a b", "a'b"])
def test_mysql_identifier_rejects(name: str) -> None:
    assert validate_mysql_identifier(name)


def test_mysql_user_name_length_limit() -> None:
    assert validate_mysql_identifier("u" * 32, max_len=32) is None
    assert validate_mysql_identifier("u" * 33, max_len=32)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "172.18.%", "172.18.0.0/255.255.0.0", "db-1.internal"])
def test_mysql_host_accepts(host: str) -> None:
    assert validate_mysql_host(host) is None


def test_mysql_host_any_needs_explicit_permission() -> None:
    assert "anywhere" in (validate_mysql_host("%") or "")
    assert validate_mysql_host("%", allow_any_host=True) is None
    assert validate_mysql_host("a'b")
