"""Bad stack config stops the program with the key named, before any resource is declared."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pulumi
import pytest

from components.config import ConfigError, load_settings, validate_tls_pair
from tests.conftest import RecordingMocks, run_program, stack_config, stack_secrets


def problems_for(stack: str, changes: dict[str, Any], secrets: dict[str, Any] | None = None,
                 plain: tuple[str, ...] = (), tls: dict | None = None) -> dict[str, str]:
    values = stack_config(stack)
    secret_values, _ = stack_secrets(stack, tls or {}) if stack != "dev" else ({}, ())
    values.update(secret_values)
    values.update(secrets or {})
    for key, value in changes.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    try:
        load_settings(values, stack=stack, is_secret=lambda key: key not in plain)
    except ConfigError as err:
        return dict(err.problems)
    return {}


def test_stack_files_are_valid(tls_pair):
    for stack in ("dev", "staging", "prod"):
        assert problems_for(stack, {}, tls=tls_pair) == {}


@pytest.mark.parametrize("stack,changes,key,fragment", [
    ("dev", {"publicUrl": None}, "publicUrl", "required"),
    ("dev", {"publicUrl": "http://localhost:8443"}, "publicUrl", "https://"),
    ("dev", {"publicUrl": "https://my host:8443"}, "publicUrl", "hostname"),
    ("dev", {"publicUrl": "https://localhost:8443/chat"}, "publicUrl", "no path"),
    ("dev", {"replicas": "two"}, "replicas", "whole number"),
    ("dev", {"replicas": 0}, "replicas", "greater than or equal to 1"),
    ("dev", {"proxy": {"httpsPort": 70000, "httpPort": 8080}}, "proxy.httpsPort", "between 1 and 65535"),
    ("dev", {"proxy": {"bindIp": "localhost"}}, "proxy.bindIp", "not an IP address"),
    ("dev", {"proxy": {"clientMaxBodySize": "lots"}}, "proxy.clientMaxBodySize", "nginx size"),
    ("dev", {"database": {"type": "oracle"}}, "database.type", "'sqlite', 'postgresql' or 'mysql'"),
    ("dev", {"database": {"type": "postgresql", "adminUser": "a"}}, "database.host", "server's name or IP"),
    ("dev", {"database": {"type": "sqlite", "host": "db host"}}, "database.host", "not a hostname"),
    ("dev", {"database": {"type": "sqlite", "pasword": "x"}}, "database.pasword", "not a known setting"),
    ("dev", {"imageTag": "x"}, "imageTag", "not a known setting"),
    ("dev", {"image": "Not An Image"}, "image", "not an image reference"),
    ("dev", {"app": {"extraEnv": {"ENABLE_SIGNUP": "true"}}}, "app.extraEnv", "set by the program"),
    ("dev", {"app": {"jwtExpiresIn": "forever"}}, "app.jwtExpiresIn", "duration"),
    ("dev", {"admin": {"email": "not-an-email"}}, "admin.email", "e-mail"),
    ("dev", {"network": {"subnet": "8.8.8.0/24"}}, "network.subnet", "private"),
    ("dev", {"replicas": 2}, "replicas", "SQLite"),
    ("staging", {"database": {"type": "postgresql", "host": "127.0.0.1", "adminUser": "a",
                              "port": 0}}, "database.port", "between 1 and 65535"),
    ("prod", {"image": "registry.example.com/acme/open-webui-next:latest"}, "image", "floats"),
    ("prod", {"image": "registry.example.com/acme/open-webui-next:main"}, "image", "floats"),
    ("prod", {"image": "registry.example.com/acme/open-webui-next"}, "image", "floats"),
    ("prod", {"imageVariant": "upstream"}, "database.type", "open-webui-next"),
    ("prod", {"tls": {"mode": "self-signed"}}, "tls.mode", "real certificate"),
    ("prod", {"redis": {"enabled": False}}, "redis.enabled", "need Redis"),
])
def test_bad_value_names_key(stack, changes, key, fragment, tls_pair):
    problems = problems_for(stack, changes, tls=tls_pair)
    assert key in problems, problems
    assert fragment in problems[key]


def test_secret_in_plain_text_is_refused(tls_pair):
    problems = problems_for("staging", {}, plain=("databaseAdminPassword",), tls=tls_pair)
    assert "--secret databaseAdminPassword" in problems["databaseAdminPassword"]


def test_missing_database_admin_password(tls_pair):
    problems = problems_for("staging", {"databaseAdminPassword": None}, tls=tls_pair)
    assert "databaseAdminPassword" in problems


def test_certificate_must_match_key(tls_pair):
    from components.providers.selfsigned import generate_certificate
    other = generate_certificate("chat.example.com", 90)
    problems = problems_for("prod", {"tlsPrivateKey": other["private_key_pem"]}, tls=tls_pair)
    assert "does not match" in problems["tlsPrivateKey"]
    # The key itself never appears in a message.
    assert "PRIVATE KEY" not in str(problems)


def test_expired_certificate_and_wrong_host():
    from components.providers.selfsigned import generate_certificate
    old = generate_certificate("chat.example.com", 1,
                               now=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc))
    problems = dict(validate_tls_pair(old["certificate_pem"], old["private_key_pem"],
                                      "chat.example.com"))
    assert "expired on 2020-01-02" in problems["tlsCertificate"]
    other_host = generate_certificate("other.example.com", 30)
    problems = dict(validate_tls_pair(other_host["certificate_pem"], other_host["private_key_pem"],
                                      "chat.example.com"))
    assert "not chat.example.com" in problems["tlsCertificate"]


def test_all_problems_reported_at_once():
    problems = problems_for("dev", {"publicUrl": "http://x", "replicas": "x", "foo": 1})
    assert {"publicUrl", "replicas", "foo"} <= set(problems)


def test_config_error_declares_nothing():
    values = stack_config("dev")
    values["publicUrl"] = "http://localhost:8443"
    mocks = RecordingMocks()
    with pytest.raises(pulumi.RunError) as raised:
        run_program("dev", values, mocks=mocks)
    assert mocks.resources == []
    assert "openwebui:publicUrl" in str(raised.value)
    assert "https://" in str(raised.value)


def test_config_error_message_format():
    with pytest.raises(ConfigError) as raised:
        load_settings({"publicUrl": "ftp://x", "image": "a:1"}, stack="dev")
    assert str(raised.value).startswith("invalid stack configuration:")
    assert "openwebui:publicUrl:" in str(raised.value)
