"""SQL builders and provider logic that need no server: quoting, parameters, diff, check, secrets handling."""

from __future__ import annotations

import base64
import pickle

import dill
import pytest
from psycopg2 import sql

from components.providers import mysql_sql, pg_sql
from components.providers._common import AdminPasswordProvider, ConfigKeys, ProvisioningError, lookup_config, scrub
from components.providers.mysql import MysqlUserProvider, native_password_hash
from components.providers.postgresql import PostgresDatabaseProvider, PostgresRoleProvider

HOSTILE = 'x"; DROP DATABASE y; --'
HOSTILE_MY = "x`; DROP DATABASE y; --"


def render(composed: sql.Composable) -> str:
    """Render a psycopg2 Composed the way PostgreSQL quotes (no connection needed for the structure)."""
    if isinstance(composed, sql.Composed):
        return "".join(render(part) for part in composed.seq)
    if isinstance(composed, sql.SQL):
        return composed.string
    if isinstance(composed, sql.Identifier):
        return ".".join('"' + s.replace('"', '""') + '"' for s in composed.strings)
    if isinstance(composed, sql.Literal):
        return "'" + str(composed.wrapped).replace("'", "''") + "'"
    raise TypeError(composed)


def parts(composed: sql.Composed) -> list[sql.Composable]:
    out: list[sql.Composable] = []
    for part in composed.seq:
        out.extend(parts(part) if isinstance(part, sql.Composed) else [part])
    return out


# --- PostgreSQL builders -----------------------------------------------------------------------------------


def test_pg_hostile_name_is_one_identifier() -> None:
    stmt = pg_sql.create_database(HOSTILE, "owner")
    identifiers = [p for p in parts(stmt) if isinstance(p, sql.Identifier)]
    assert [i.strings for i in identifiers] == [(HOSTILE,), ("owner",)]
    # The fixed SQL text contains no user data at all.
    fixed = "".join(p.string for p in parts(stmt) if isinstance(p, sql.SQL))
    assert "DROP" not in fixed
    assert render(stmt) == (
        'CREATE DATABASE "x""; DROP DATABASE y; --" WITH OWNER "owner" ENCODING \'UTF8\' TEMPLATE template0'
    )


def test_pg_role_password_is_a_literal_never_sql_text() -> None:
    verifier = "SCRAM-SHA-256$4096:c2FsdA==$a2V5:c2VydmVy"
    stmt = pg_sql.create_role("app", verifier)
    literals = [p for p in parts(stmt) if isinstance(p, sql.Literal)]
    assert [lit.wrapped for lit in literals] == [verifier]
    assert "NOSUPERUSER" in render(stmt) and "LOGIN" in render(stmt)
    assert render(pg_sql.alter_role_password("app", verifier)).startswith('ALTER ROLE "app" WITH LOGIN PASSWORD')


@pytest.mark.parametrize(
    ("builder", "expected"),
    [
        (lambda: pg_sql.revoke_public_connect("d"), 'REVOKE CONNECT, TEMPORARY ON DATABASE "d" FROM PUBLIC'),
        (lambda: pg_sql.grant_public_connect("d"), 'GRANT CONNECT, TEMPORARY ON DATABASE "d" TO PUBLIC'),
        (lambda: pg_sql.grant_connect("d", "r"), 'GRANT CONNECT, TEMPORARY ON DATABASE "d" TO "r"'),
        (lambda: pg_sql.alter_database_owner("d", "r"), 'ALTER DATABASE "d" OWNER TO "r"'),
        (lambda: pg_sql.drop_database("d"), 'DROP DATABASE "d"'),
        (lambda: pg_sql.drop_role("r"), 'DROP ROLE "r"'),
        (lambda: pg_sql.disable_login("r"), 'ALTER ROLE "r" WITH NOLOGIN PASSWORD NULL'),
        (lambda: pg_sql.grant_role_to_current_user("r"), 'GRANT "r" TO CURRENT_USER'),
        (lambda: pg_sql.reassign_owned('o"ld', "new"), 'REASSIGN OWNED BY "o""ld" TO "new"'),
        (lambda: pg_sql.comment_on_role("r", "it's"), "COMMENT ON ROLE \"r\" IS 'it''s'"),
    ],
)
def test_pg_statements(builder, expected: str) -> None:
    assert render(builder()) == expected


def test_pg_queries_take_values_as_parameters() -> None:
    for query in (pg_sql.ROLE_INFO, pg_sql.DATABASE_INFO, pg_sql.ROLE_OWNS_DATABASES):
        assert query.count("%s") == 1


# --- MySQL builders ----------------------------------------------------------------------------------------


def test_mysql_hostile_name_is_one_quoted_identifier() -> None:
    query, params = mysql_sql.create_database(HOSTILE_MY)
    assert query == "CREATE DATABASE `x``; DROP DATABASE y; --` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    assert params == ()


def test_mysql_percent_in_identifier_survives_pymysql_formatting() -> None:
    query, params = mysql_sql.grant_database("a%b", "u", "h")
    # PyMySQL does `query % escaped_params`: the doubled %% must come back as one %.
    formatted = query % tuple(repr(p) for p in params)
    assert "`a\\%b`.*" in formatted


def test_mysql_grant_escapes_wildcards_so_it_matches_only_that_database() -> None:
    query, params = mysql_sql.grant_database("open_webui", "app", "172.18.%")
    assert "`open\\_webui`.*" in query
    assert params == ("app", "172.18.%")
    assert mysql_sql.grant_pattern("a_b%c\\d") == "a\\_b\\%c\\\\d"


def test_mysql_account_and_password_are_parameters() -> None:
    query, params = mysql_sql.create_user("app", "172.18.%", "p'w\"\\", require_ssl=True)
    assert query == "CREATE USER %s@%s IDENTIFIED BY %s REQUIRE SSL"
    assert params == ("app", "172.18.%", "p'w\"\\")
    assert mysql_sql.rename_user("u", "a", "b") == ("RENAME USER %s@%s TO %s@%s", ("u", "a", "u", "b"))
    assert mysql_sql.alter_user_require("u", "h", False)[0].endswith("REQUIRE NONE")


def test_mysql_charset_cannot_inject() -> None:
    with pytest.raises(ValueError):
        mysql_sql.create_database("d", charset="utf8mb4; DROP DATABASE y")
    with pytest.raises(ValueError):
        mysql_sql.grant_database("d", "u", "h", privileges="ALL; DROP DATABASE y")
    with pytest.raises(ValueError):
        mysql_sql.quote_ident("a\x00b")


def test_native_password_hash_matches_mysql_password_function() -> None:
    # SELECT PASSWORD('password') on MySQL 5.7 / MariaDB.
    assert native_password_hash("password") == "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19"


# --- Provider logic ----------------------------------------------------------------------------------------

SERVER = {"host": "db", "port": 5432, "adminUser": "owui_admin", "maintenanceDb": "postgres",
          "sslMode": None, "sslRootCert": None, "connectTimeout": 10}


def role_props(**over) -> dict:
    return {**SERVER, "name": "openwebui", "password": "pw", "database": "openwebui", "adoptExisting": False,
            "configKeys": ConfigKeys().as_input(), **over}


def test_check_rejects_hostile_names_naming_the_config_key() -> None:
    provider = PostgresRoleProvider("openwebui:databaseAdminPassword", "X")
    result = provider.check({}, role_props(name=HOSTILE, database=HOSTILE))
    reasons = {f.property: f.reason for f in result.failures}
    assert reasons["name"].startswith("openwebui:database.user: ")
    assert reasons["database"].startswith("openwebui:database.name: ")


def test_check_uses_the_key_names_it_is_given() -> None:
    keys = ConfigKeys(user="openwebui:db.appUser").as_input()
    result = PostgresRoleProvider("k", "X").check({}, role_props(name="1bad", configKeys=keys))
    assert result.failures[0].reason.startswith("openwebui:db.appUser: ")


@pytest.mark.parametrize(
    ("over", "prop"),
    [(dict(port=0), "port"), (dict(host=""), "host"), (dict(sslMode="sometimes"), "sslMode"),
     (dict(sslMode="verify-full"), "sslRootCert"), (dict(password=""), "password"),
     (dict(connectTimeout=0), "connectTimeout")],
)
def test_check_server_settings(over: dict, prop: str) -> None:
    failures = PostgresRoleProvider("k", "X").check({}, role_props(**over)).failures
    assert prop in {f.property for f in failures}


def test_check_skips_unknown_values_during_preview() -> None:
    from components.providers._common import UNKNOWN

    assert PostgresRoleProvider("k", "X").check({}, role_props(password=UNKNOWN, name=UNKNOWN)).failures == []


def test_mysql_check_refuses_any_host_unless_allowed() -> None:
    provider = MysqlUserProvider("k", "X")
    base = {"host": "db", "port": 3306, "adminUser": "a", "sslMode": None, "sslCa": None, "connectTimeout": 5,
            "name": "app", "password": "pw", "database": "openwebui", "configKeys": {}}
    failures = provider.check({}, {**base, "accountHost": "%", "allowAnyHost": False}).failures
    assert [f.property for f in failures] == ["accountHost"]
    assert failures[0].reason.startswith("openwebui:database.userHost: ")
    assert provider.check({}, {**base, "accountHost": "%", "allowAnyHost": True}).failures == []
    too_long = provider.check({}, {**base, "accountHost": "h", "name": "u" * 33}).failures
    assert [f.property for f in too_long] == ["name"]


def test_role_diff_replaces_on_identity_and_updates_on_password() -> None:
    provider = PostgresRoleProvider("k", "X")
    olds = {**role_props(), "passwordInSync": True}
    assert provider.diff("id", olds, role_props()).changes is False
    rotated = provider.diff("id", olds, role_props(password="new"))
    assert rotated.changes is True and rotated.replaces == []
    renamed = provider.diff("id", olds, role_props(name="other"))
    assert renamed.replaces == ["name"]
    moved = provider.diff("id", olds, role_props(host="db2"))
    assert moved.replaces == ["host"]
    drifted = provider.diff("id", {**olds, "passwordInSync": False}, role_props())
    assert drifted.changes is True and drifted.replaces == []


def test_database_diff() -> None:
    provider = PostgresDatabaseProvider("k", "X")
    base = {**SERVER, "name": "d", "owner": "r", "revokePublicConnect": True, "allowDrop": False,
            "adoptExisting": False, "configKeys": {}}
    assert provider.diff("id", base, dict(base)).changes is False
    assert provider.diff("id", base, {**base, "owner": "r2"}).replaces == []
    assert provider.diff("id", base, {**base, "revokePublicConnect": False}).changes is True
    assert provider.diff("id", base, {**base, "name": "d2"}).replaces == ["name"]


def test_mysql_user_diff_host_change_is_an_update() -> None:
    provider = MysqlUserProvider("k", "X")
    base = {"host": "db", "port": 3306, "name": "app", "accountHost": "10.0.0.%", "password": "pw",
            "database": "d", "passwordInSync": True, "grantInSync": True}
    result = provider.diff("id", base, {**base, "accountHost": "10.1.0.%"})
    assert result.changes is True and result.replaces == []
    assert provider.diff("id", base, {**base, "name": "app2"}).replaces == ["name"]
    assert provider.diff("id", {**base, "grantInSync": False}, dict(base)).changes is True


def test_admin_password_from_stack_config_then_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from pulumi.dynamic import ConfigureRequest
    from pulumi.dynamic.config import Config

    monkeypatch.delenv("OWUI_TEST_ADMIN_PW", raising=False)
    provider = PostgresRoleProvider("openwebui:databaseAdminPassword", "OWUI_TEST_ADMIN_PW")
    with pytest.raises(ProvisioningError, match="openwebui:databaseAdminPassword") as info:
        provider.admin_password()
    assert "OWUI_TEST_ADMIN_PW" in str(info.value)
    monkeypatch.setenv("OWUI_TEST_ADMIN_PW", "from-env")
    assert provider.admin_password() == "from-env"
    provider.configure(ConfigureRequest(Config({"openwebui:databaseAdminPassword": "from-config"}, "openwebui")))
    assert provider.admin_password() == "from-config"


def test_configured_admin_password_is_never_pickled() -> None:
    """The provider object is pickled into the state with every resource: it must not carry the password."""
    from pulumi.dynamic import ConfigureRequest
    from pulumi.dynamic.config import Config
    from pulumi.dynamic.dynamic import serialize_provider

    provider = PostgresRoleProvider("openwebui:databaseAdminPassword", "X")
    provider.configure(ConfigureRequest(Config({"openwebui:databaseAdminPassword": "s3cret-admin"}, "p")))
    blob = base64.b64decode(serialize_provider(provider))
    assert b"s3cret-admin" not in blob
    assert dill.loads(blob)._admin_password is None
    restored = pickle.loads(pickle.dumps(provider))
    assert restored.admin_password_key == "openwebui:databaseAdminPassword"
    assert isinstance(restored, AdminPasswordProvider)


def test_lookup_config_walks_structured_values() -> None:
    from pulumi.dynamic.config import Config

    config = Config({"openwebui:database": '{"admin": {"password": "x"}}', "openwebui:flat": "y"}, "openwebui")
    assert lookup_config(config, "openwebui:database.admin.password") == "x"
    assert lookup_config(config, "openwebui:flat") == "y"
    assert lookup_config(config, "openwebui:database.missing") is None


def test_scrub_removes_raw_and_encoded_secrets() -> None:
    secret = "p@ss:w/rd%#"
    text = f"failed for {secret} and postgresql://u:p%40ss%3Aw%2Frd%25%23@h/d"
    cleaned = scrub(text, secret)
    assert secret not in cleaned and "p%40ss" not in cleaned
