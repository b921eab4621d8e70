"""The ops package's pure parts: the one DATABASE_URL parser agrees with SQLAlchemy's, masking, scrubbing,
MySQL option quoting."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from components.db_url import build_database_url
from owui_ops import dburl, errors
from owui_ops.dump import option_value

URLS = [
    build_database_url("postgresql", host="db", port=5433, name="open-web", user="u@x", password="p@ss:w/rd%#'\"\\ ü",
                       ssl_mode="verify-full", ssl_ca_path="/certs/ca.pem", connect_timeout=7),
    build_database_url("mysql", host="127.0.0.1", name="openwebui", user="app", password="a b?c&d=e#f",
                       ssl_mode="verify-ca", ssl_ca_path="/ca.pem"),
    build_database_url("sqlite", sqlite_path="/app/backend/data/webui.db"),
    "postgresql://u:p@[::1]:5432/d",
    "postgresql://u@h/d",
]


@pytest.mark.parametrize("url", URLS)
def test_the_parser_parses_like_sqlalchemy(url: str) -> None:
    plain, real = dburl.parse(url), make_url(url)
    assert (plain.username, plain.password, plain.host, plain.port, plain.database) == (
        real.username, real.password, real.host, real.port, real.database)
    assert plain.query == dict(real.query)
    assert plain.get_backend_name() == real.get_backend_name()


@pytest.mark.parametrize("url", URLS[:2])
def test_the_parser_masks_the_password(url: str) -> None:
    masked = dburl.parse(url).render_as_string(hide_password=True)
    assert ":***@" in masked
    assert make_url(masked).password == "***"


def test_unsupported_schemes_and_bad_ports_are_refused() -> None:
    with pytest.raises(dburl.DatabaseUrlError):
        dburl.parse("oracle://u:p@h/d").kind  # noqa: B018
    with pytest.raises(dburl.DatabaseUrlError):
        dburl.parse("postgresql://u:p@h:port/d")
    with pytest.raises(dburl.DatabaseUrlError):
        dburl.parse("no scheme at all")


def test_scrub_hides_raw_and_encoded_forms() -> None:
    errors.remember_secret("p@ss w%")
    text = errors.scrub("a p@ss w% b p%40ss%20w%25 c p%40ss+w%25")
    assert "p@ss" not in text and "p%40ss" not in text


@pytest.mark.parametrize("value", ['a"b', "a\\b", "a#b c", "x'y"])
def test_mysql_option_values_are_quoted(value: str) -> None:
    quoted = option_value(value)
    assert quoted.startswith('"') and quoted.endswith('"')
    inner = quoted[1:-1]
    # Unescaping gives the value back; no bare quote ends it early.
    assert inner.replace('\\"', '"').replace("\\\\", "\\") == value
    assert '"' not in inner.replace('\\"', "")
