"""The failing examples the config fuzz suite found (test_config_fuzz.py), kept as plain tests.

Each one failed before its fix: a traceback or `(stack)` instead of the key, a key named differently from how
it was written, a value accepted by the config model that the policy pack or a provider's check() refused
later, or a control character that passed a `$`-anchored regex.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_config_fuzz import ABSENT, base_values, engine_form, load, outcome, with_value

from components.config import ConfigError
from components.db_url import validate_mysql_host, validate_mysql_identifier, validate_pg_identifier
from components.images import parse_image_ref


def problems(stack: str, key: str, value: Any) -> dict[str, str]:
    try:
        load(stack, with_value(base_values(stack), key, value))
    except ConfigError as err:
        return dict(err.problems)
    return {}


@pytest.mark.parametrize("stack,key,value,named,fragment", [
    # A malformed port inside publicUrl was reported against `(stack)` (urlsplit raised in a validator).
    ("dev", "publicUrl", "https://localhost:8443\x0c", "publicUrl", "U+000C"),
    ("dev", "publicUrl", "https://localhost:99999", "publicUrl", "port"),
    ("dev", "publicUrl", "https://localhost:08443", "publicUrl", "port"),
    ("dev", "publicUrl", "https://localhost:8443?", "publicUrl", "origin only"),
    ("dev", "publicUrl", "https://user:pw@localhost:8443", "publicUrl", "credentials"),
    # Newlines passed `$`-anchored patterns (`$` matches before a final newline).
    ("dev", "app.jwtExpiresIn", "1d\n", "app.jwtExpiresIn", "U+000A"),
    ("dev", "proxy.clientMaxBodySize", "100M\n", "proxy.clientMaxBodySize", "U+000A"),
    ("dev", "app.extraEnv", {"RAG_TOP_K\n": "5"}, "app.extraEnv", "U+000A"),
    ("dev", "database.host", "a\n.example.com", "database.host", "U+000A"),
    ("dev", "image", "openwebui-local/open-webui:0.12.4\n", "image", "U+000A"),
    # Values that were never checked carried control characters into container env.
    ("dev", "app.name", "Open\u2028WebUI", "app.name", "U+2028"),
    ("dev", "admin.name", "Admin\x00", "admin.name", "U+0000"),
    ("dev", "app.extraEnv", {"RAG_TOP_K": "5\r\nENABLE_SIGNUP=true"}, "app.extraEnv", "U+000D"),
    ("prod", "app.openaiBaseUrl", "https://api.example.com/v1\t", "app.openaiBaseUrl", "U+0009"),
    ("dev", "adminPassword", "a-long-admin-password\n", "adminPassword", "U+000A"),
    # Database identifiers only the providers' check() refused, late.
    ("staging", "database.name", "openwebui\n", "database.name", "U+000A"),
    ("staging", "database.name", "a" * 64, "database.name", "63 bytes"),
    ("staging", "database.user", 'x"; DROP DATABASE y; --', "database.user", "may contain only"),
    ("staging", "database.user", "pg_monitor", "database.user", "pg_"),
    ("prod", "database.user", "u" * 33, "database.user", "32 characters"),
    ("prod", "database.name", "mysql", "database.name", "system schema"),
    ("prod", "database.userHost", "%.%", "database.userHost", "anywhere"),
    ("staging", "database.sslMode", "verify-full", "database.sslCaFile", "CA certificate"),
    ("prod", "database.sslCaFile", "/etc/ssl/my ca.pem", "database.sslCaFile", "absolute path"),
    # Server fields were reported against `database`, not the key to fill in.
    ("staging", "database.host", ABSENT, "database.host", "server's name or IP"),
    ("staging", "database.adminUser", ABSENT, "database.adminUser", "create databases"),
    # A conflict between two keys named only one of them, so changing the other named nothing.
    ("prod", "imageVariant", ABSENT, "imageVariant", "open-webui-next"),
    ("dev", "proxy.httpsPort", 9443, "proxy.httpsPort", "differs"),
    ("prod", "database.type", "sqlite", "database.type", "SQLite"),
    # An unknown key was reported camel-cased, or split over two lines.
    ("dev", "proxy.http_port", 80, "proxy.http_port", "not a known setting"),
    ("dev", "app", {"A\nB": "x"}, 'app."A\\nB"', "not a known setting"),
    # Counts: int() took " 2\n", "1_0" and non-ASCII digits; pydantic took `true` as 1.
    ("dev", "replicas", " 1\n", "replicas", "whole number"),
    ("dev", "replicas", "1_0", "replicas", "whole number"),
    ("dev", "uvicornWorkers", "\uff12", "uvicornWorkers", "whole number"),
    ("dev", "resources.app.cpus", True, "resources.app.cpus", "number"),
    # Accepted here, refused by the pack at preview (CIS 5.12, 5.14, 5.8, JWT bound, strong secrets, pinning).
    ("staging", "resources.app.cpus", 1e-9, "resources.app.cpus", "greater than or equal to 0.01"),
    ("prod", "proxy.bindIp", "0.0.0.0", "proxy.bindIp", "every host interface"),
    ("prod", "proxy.bindIp", "203.0.113.11", "proxy.bindIp", "allowedHostIps"),
    ("dev", "proxy.httpPort", 80, "proxy.httpPort", "privileged port"),
    ("prod", "app.jwtExpiresIn", "4w", "app.jwtExpiresIn", "within 7d"),
    ("prod", "adminPassword", "x" * 40, "adminPassword", "repeats"),
    ("staging", "image", "openwebui-local/open-webui:0.12.4" + "x" * 60, "image", "floats"),
    # The certificate/host mismatch was reported on tlsCertificate only, so changing publicUrl named nothing.
    ("prod", "publicUrl", "https://chat.example.com" + "x" * 60, "publicUrl", "certificate in tlsCertificate"),
    # Production refuses privilege-granting defaults and upstream Open WebUI on MySQL.
    ("prod", "app.defaultUserRole", "user", "app.defaultUserRole", "pending"),
    ("dev", "app.defaultUserRole", "admin", "app.defaultUserRole", "admin"),
    ("prod", "image", "ghcr.io/open-webui/open-webui:v0.12.4", "image", "cannot use MySQL"),
])
def test_found_example_is_refused_by_key(stack, key, value, named, fragment):
    found = problems(stack, key, value)
    assert named in found, found
    assert fragment in found[named]
    assert "(stack)" not in found
    # And the fuzz suite's own judgement agrees.
    assert outcome(stack, key, value, run=False) == "rejected"


@pytest.mark.parametrize("stack,key,value", [
    # A partial resources object made the other limit a required key.
    ("dev", "resources.app.cpus", 2),
    ("staging", "resources.backup.memoryMb", 1024),
    # A spelling the model accepts must reach the containers verbatim and pass the pack.
    ("dev", "app.name", "Open WebUI 'chat'; `x` $(y)"),
    ("dev", "admin.name", "Zoë Ñandú"),
])
def test_found_example_is_accepted_and_deploys(stack, key, value):
    assert outcome(stack, key, value, run=True) == "accepted"


@pytest.mark.parametrize("bad", ["openwebui\n", "open\nwebui", "openwebui\r", "name\x00"])
def test_identifier_rules_refuse_line_breaks(bad):
    # The same functions run in the providers' check(): they must not be fooled by a trailing newline.
    assert validate_pg_identifier(bad) is not None
    assert validate_mysql_identifier(bad) is not None
    assert validate_mysql_host(bad + "%") is not None


def test_image_reference_with_trailing_newline_is_not_a_reference():
    with pytest.raises(ValueError):
        parse_image_ref("registry.example.com/acme/open-webui-next:v1.4.2-slim\n")


def test_engine_form_keeps_objects_as_json():
    # The suite hands values over as the engine does; a regression here would hide every nested case.
    assert engine_form({"database": {"port": 1}, "replicas": 2}) == {
        "openwebui:database": '{"port": 1}', "openwebui:replicas": "2"}
