"""The MySQL dynamic providers against a real MariaDB: lifecycle, drift, rotation, retention, errors, TLS."""

from __future__ import annotations

from typing import Any

import pymysql
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from components.db_url import build_database_url
from components.providers import mysql_sql
from components.providers._common import ProvisioningError
from components.providers.mysql import MysqlDatabaseProvider, MysqlUserProvider
from tests.ports import free_port

from .conftest import HOSTILE_PASSWORDS, MyServer, configured, silent_server, unique


def providers(my: MyServer, admin_password: str | None = None) -> tuple[MysqlDatabaseProvider, MysqlUserProvider]:
    pw = admin_password or my.admin_password
    return (configured(MysqlDatabaseProvider("openwebui:databaseAdminPassword", "OWUI_UNSET_TEST_ENV"), pw),
            configured(MysqlUserProvider("openwebui:databaseAdminPassword", "OWUI_UNSET_TEST_ENV"), pw))


def db_props(my: MyServer, database: str, **over: Any) -> dict[str, Any]:
    base = {"name": database, "charset": "utf8mb4", "collation": "utf8mb4_unicode_ci", "allowDrop": False,
            "adoptExisting": False}
    return my.props(**{**base, **over})


def user_props(my: MyServer, user: str, password: str, database: str, **over: Any) -> dict[str, Any]:
    base = {"name": user, "accountHost": "127.0.0.1", "password": password, "database": database,
            "requireSsl": False, "allowAnyHost": False, "adoptExisting": False}
    return my.props(**{**base, **over})


def provision(my: MyServer, password: str = "initial-Pw-1", **db_over: Any) -> tuple[dict, dict, str, str]:
    db_p, user_p = providers(my)
    database, user = my.db(), my.user()
    db_out = db_p.create(db_p.check({}, db_props(my, database, **db_over)).inputs).outs
    user_out = user_p.create(user_p.check({}, user_props(my, user, password, database)).inputs).outs
    return db_out, user_out, database, user


def app_url(my: MyServer, user: str, password: str, database: str, **kw: Any) -> str:
    return build_database_url("mysql", host=my.host, port=my.port, name=database, user=user, password=password,
                              connect_timeout=5, **kw)


def run(url: str, *statements: str) -> list[Any]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        results = []
        with engine.begin() as conn:
            for statement in statements:
                result = conn.execute(text(statement))
                results.append(result.fetchall() if result.returns_rows else None)
        return results
    finally:
        engine.dispose()


def can_login(my: MyServer, user: str, password: str, **kw: Any) -> bool:
    try:
        pymysql.connect(host=my.host, port=my.port, user=user, password=password, connect_timeout=5, **kw).close()
        return True
    except pymysql.err.OperationalError as exc:
        assert exc.args[0] == 1045, exc
        return False


def test_create_read_and_drop(my: MyServer) -> None:
    db_out, user_out, database, user = provision(my, allowDrop=True)
    assert db_out["created"] is True
    assert my.query("SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA "
                    "WHERE SCHEMA_NAME = %s", (database,)) == [("utf8mb4", "utf8mb4_unicode_ci")]
    grants = [g[0] for g in my.query(f"SHOW GRANTS FOR '{user}'@'127.0.0.1'")]
    assert any(f"ON `{mysql_sql.grant_pattern(database)}`.*" in g for g in grants), grants
    assert not any("ON *.*" in g and "USAGE" not in g for g in grants), grants
    rows = run(app_url(my, user, "initial-Pw-1", database),
               "CREATE TABLE t (v VARCHAR(10))", "INSERT INTO t VALUES ('😀')", "SELECT v FROM t")
    assert rows[-1] == [("😀",)]  # utf8mb4 end to end

    db_p, user_p = providers(my)
    read = user_p.read("id", user_out).outs
    assert (read["passwordInSync"], read["grantInSync"]) == (True, True)
    user_p.delete("id", user_out)
    assert my.query("SELECT 1 FROM mysql.user WHERE User = %s", (user,)) == []
    db_p.delete("id", db_out)
    assert my.query("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (database,)) == []


def test_grant_is_exact_despite_underscore_wildcards(my: MyServer) -> None:
    _, _, database, user = provision(my)
    lookalike = database.replace("_", "X")  # 'owui_t_ab' -> 'owuiXtXab' matches an unescaped GRANT pattern
    my.created_dbs.append(lookalike)
    with pytest.raises(Exception, match="Access denied|1044"):
        run(app_url(my, user, "initial-Pw-1", database), f"CREATE DATABASE `{lookalike}`")


def test_refresh_sees_out_of_band_drops(my: MyServer) -> None:
    db_out, user_out, database, user = provision(my)
    db_p, user_p = providers(my)
    my.query("REVOKE ALL PRIVILEGES ON `" + mysql_sql.grant_pattern(database) + "`.* FROM %s@%s", (user, "127.0.0.1"))
    read = user_p.read("id", user_out).outs
    assert read["grantInSync"] is False
    assert user_p.diff("id", read, user_out).changes is True
    user_p.update("id", read, user_out)
    assert user_p.read("id", user_out).outs["grantInSync"] is True

    my.query("DROP USER %s@%s", (user, "127.0.0.1"))
    assert user_p.read("id", user_out).id == ""
    my.query(f"DROP DATABASE `{database}`")
    assert db_p.read("id", db_out).id == ""


def test_password_changed_out_of_band_is_drift_and_up_repairs_it(my: MyServer) -> None:
    _, user_out, _, user = provision(my)
    _, user_p = providers(my)
    my.query("ALTER USER %s@%s IDENTIFIED BY 'someone-else'", (user, "127.0.0.1"))
    refreshed = user_p.read("id", user_out).outs
    assert refreshed["passwordInSync"] is False
    diff = user_p.diff("id", refreshed, user_out)
    assert diff.changes is True and diff.replaces == []
    user_p.update("id", refreshed, user_out)
    assert can_login(my, user, "initial-Pw-1")


def test_rotation_keeps_data_old_password_stops_working(my: MyServer) -> None:
    _, user_out, database, user = provision(my)
    run(app_url(my, user, "initial-Pw-1", database), "CREATE TABLE kept (v VARCHAR(20))",
        "INSERT INTO kept VALUES ('still here')")
    _, user_p = providers(my)
    new = {**user_out, "password": "rotated-Pw-2"}
    assert user_p.diff("id", user_out, new).replaces == []
    user_p.update("id", user_out, new)
    assert not can_login(my, user, "initial-Pw-1")
    assert run(app_url(my, user, "rotated-Pw-2", database), "SELECT v FROM kept") == [[("still here",)]]


def test_host_change_moves_the_account_with_its_grants(my: MyServer) -> None:
    _, user_out, database, user = provision(my)
    my.created_users.append((user, "127.0.0.%"))
    _, user_p = providers(my)
    new = {**user_out, "accountHost": "127.0.0.%"}
    assert user_p.diff("id", user_out, new).replaces == []
    user_p.update("id", user_out, new)
    assert my.query("SELECT Host FROM mysql.user WHERE User = %s", (user,)) == [("127.0.0.%",)]
    assert run(app_url(my, user, "initial-Pw-1", database), "SELECT DATABASE()") == [[(database,)]]


def test_delete_retains_database_unless_allowed(my: MyServer) -> None:
    db_out, user_out, database, user = provision(my)
    run(app_url(my, user, "initial-Pw-1", database), "CREATE TABLE chat (id INT)", "INSERT INTO chat VALUES (42)")
    db_p, user_p = providers(my)
    user_p.delete("id", user_out)
    db_p.delete("id", db_out)
    assert my.query(f"SELECT id FROM `{database}`.chat") == [(42,)]
    # A later deployment must opt in to reuse a database that holds tables...
    with pytest.raises(ProvisioningError, match="openwebui:database.adoptExisting"):
        db_p.create(db_props(my, database))
    out = db_p.create(db_props(my, database, adoptExisting=True, allowDrop=True)).outs
    assert out["created"] is False
    # ...and only allowDrop lets a delete take the data.
    db_p.delete("id", out)
    assert my.query("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (database,)) == []


def test_existing_account_is_not_taken_over(my: MyServer) -> None:
    _, user_out, database, user = provision(my)
    _, user_p = providers(my)
    with pytest.raises(ProvisioningError, match="already exists") as info:
        user_p.create(user_props(my, user, "other-Pw", database))
    assert "openwebui:database.adoptExisting" in str(info.value)
    assert can_login(my, user, "initial-Pw-1")


MYSQL_HOSTILE_PASSWORDS = [p for p in HOSTILE_PASSWORDS if p.isascii()] + ["p@ss:w/rd%#'\"\\ ?&="]


def test_hostile_passwords_connect_through_the_built_url(my: MyServer) -> None:
    _, user_out, database, user = provision(my, password=MYSQL_HOSTILE_PASSWORDS[0])
    _, user_p = providers(my)
    out = user_out
    for password in MYSQL_HOSTILE_PASSWORDS:
        new = {**out, "password": password}
        user_p.update("id", out, new)
        out = new
        assert run(app_url(my, user, password, database), "SELECT CURRENT_USER()") == [[(f"{user}@127.0.0.1",)]]
        assert user_p.read("id", out).outs["passwordInSync"] is True


def test_non_ascii_app_password_is_refused_because_pymysql_sends_latin1(my: MyServer) -> None:
    _, user_p = providers(my)
    failures = user_p.check({}, user_props(my, "u", "pässwort", "d")).failures
    assert [f.property for f in failures] == ["password"]
    assert "openwebui:database.password" in failures[0].reason and "ASCII" in failures[0].reason
    # The reason, pinned: created over utf8mb4, a non-ASCII password does not log in through the URL. If a
    # PyMySQL release fixes this, this fails and the rule above can go.
    user = my.user()
    database = my.db()
    my.query(f"CREATE DATABASE `{database}`")
    my.query("CREATE USER %s@'127.0.0.1' IDENTIFIED BY %s", (user, "pässwort"))
    my.query(f"GRANT ALL ON `{database}`.* TO %s@'127.0.0.1'", (user,))
    with pytest.raises(Exception, match="1045|Access denied"):
        run(app_url(my, user, "pässwort", database), "SELECT 1")


def test_non_ascii_admin_password_works(my: MyServer) -> None:
    admin = my.user()
    my.query("CREATE USER %s@'127.0.0.1' IDENTIFIED BY %s", (admin, "admin-pässwort-日本"))
    my.query("GRANT ALL PRIVILEGES ON *.* TO %s@'127.0.0.1' WITH GRANT OPTION", (admin,))
    db_p, _ = providers(my, admin_password="admin-pässwort-日本")
    database = my.db()
    assert db_p.create(db_props(my, database, adminUser=admin)).outs["created"] is True


def test_hostile_identifier_is_refused_by_check_or_created_literally(my: MyServer) -> None:
    canary = my.db()
    my.query(f"CREATE DATABASE `{canary}`")
    hostile = f"x`; DROP DATABASE {canary}; --"
    db_p, user_p = providers(my)
    assert db_p.check({}, db_props(my, hostile)).failures[0].reason.startswith("openwebui:database.name: ")
    failures = user_p.check({}, user_props(my, "x'; DROP USER root; --", "pw", hostile)).failures
    assert {f.property for f in failures} == {"name", "database"}
    my.created_dbs.append(hostile)
    query, params = mysql_sql.create_database(hostile)
    my.query(query, params)
    names = {r[0] for r in my.query("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")}
    assert hostile in names and canary in names


def test_any_host_needs_explicit_permission(my: MyServer) -> None:
    _, user_p = providers(my)
    failures = user_p.check({}, user_props(my, "u", "pw", "d", accountHost="%")).failures
    assert failures and failures[0].reason.startswith("openwebui:database.userHost: ")


def test_tls_required_on_the_account(my: MyServer, tls_ca: str) -> None:
    db_p, user_p = providers(my)
    database, user = my.db(), my.user()
    db_p.create(db_props(my, database))
    out = user_p.create(user_props(my, user, "tls-Pw-1", database, requireSsl=True)).outs
    with pytest.raises(Exception, match="1045|Access denied"):
        run(app_url(my, user, "tls-Pw-1", database), "SELECT 1")
    url = app_url(my, user, "tls-Pw-1", database, ssl_mode="verify-full", ssl_ca_path=tls_ca)
    cipher = run(url, "SHOW SESSION STATUS LIKE 'Ssl_cipher'")[0][0][1]
    assert cipher
    assert user_p.read("id", out).outs["requireSsl"] is True


def test_provider_admin_connection_over_verified_tls(my: MyServer, tls_ca: str, tmp_path) -> None:
    import subprocess

    db_p, _ = providers(my)
    ok = db_props(my, "owui_t_none", sslMode="verify-full", sslCa=tls_ca)
    assert db_p.read("id", ok).id == ""
    other_ca = tmp_path / "other-ca.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "1", "-subj", "/CN=not the server's CA", "-keyout", str(tmp_path / "k.pem"),
                    "-out", str(other_ca)], check=True, capture_output=True)
    with pytest.raises(ProvisioningError, match="TLS to MySQL server") as info:
        db_p.read("id", {**ok, "sslCa": str(other_ca)})
    assert "openwebui:database.sslCaFile" in str(info.value)


def test_unreachable_server_and_timeout(my: MyServer) -> None:
    db_p, _ = providers(my)
    port = free_port()
    with pytest.raises(ProvisioningError) as info:
        db_p.create(db_props(my, my.db(), port=port))
    assert f"cannot reach MySQL server 127.0.0.1:{port}" in str(info.value)
    assert "openwebui:database.host" in str(info.value)
    with silent_server() as port, pytest.raises(ProvisioningError, match="cannot reach MySQL server") as info:
        db_p.read("id", db_props(my, "d", port=port, connectTimeout=2))
    assert "timed out" in str(info.value)


def test_wrong_admin_password_is_clear_and_not_echoed(my: MyServer) -> None:
    wrong = "Wrong-Admin-Pw-%s" % unique()
    db_p, user_p = providers(my, admin_password=wrong)
    with pytest.raises(ProvisioningError) as info:
        user_p.create(user_props(my, my.user(), "app-Pw-1", "d"))
    message = str(info.value)
    assert "denied access to the admin user 'owui_admin'" in message
    assert "openwebui:databaseAdminPassword" in message
    assert wrong not in message and "app-Pw-1" not in message


def test_admin_without_privileges_and_grant_failure_rolls_back_the_user(my: MyServer) -> None:
    weak = my.user()
    my.query("CREATE USER %s@'127.0.0.1' IDENTIFIED BY 'weak-Pw-1'", (weak,))
    db_p, user_p = providers(my, admin_password="weak-Pw-1")
    database = my.db()
    with pytest.raises(ProvisioningError, match="lacks a privilege") as info:
        db_p.create(db_props(my, database, adminUser=weak))
    assert "openwebui:database.adminUser" in str(info.value)

    # May create users but not grant on the database: the GRANT fails after CREATE USER, which is undone.
    my.query("GRANT CREATE USER ON *.* TO %s@'127.0.0.1'", (weak,))
    providers(my)[0].create(db_props(my, database))
    user = my.user()
    with pytest.raises(ProvisioningError, match="lacks a privilege"):
        user_p.create(user_props(my, user, "app-Pw-1", database, adminUser=weak))
    assert my.query("SELECT 1 FROM mysql.user WHERE User = %s", (user,)) == []
