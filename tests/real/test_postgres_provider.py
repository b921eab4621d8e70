"""The PostgreSQL dynamic providers against a real server: lifecycle, drift, rotation, retention, errors, TLS."""

from __future__ import annotations

import subprocess
from typing import Any

import psycopg2
import pytest
from psycopg2 import sql
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from components.db_url import build_database_url
from components.providers import pg_sql
from components.providers._common import ProvisioningError
from components.providers.postgresql import PostgresDatabaseProvider, PostgresRoleProvider
from tests.ports import free_port

from .conftest import HOSTILE_PASSWORDS, PgServer, configured, silent_server, unique


def providers(pg: PgServer, admin_password: str | None = None) -> tuple[PostgresRoleProvider, PostgresDatabaseProvider]:
    pw = admin_password or pg.admin_password
    return (configured(PostgresRoleProvider("openwebui:databaseAdminPassword", "OWUI_UNSET_TEST_ENV"), pw),
            configured(PostgresDatabaseProvider("openwebui:databaseAdminPassword", "OWUI_UNSET_TEST_ENV"), pw))


def role_props(pg: PgServer, role: str, password: str, database: str | None, **over: Any) -> dict[str, Any]:
    return pg.props(**{"name": role, "password": password, "database": database, "adoptExisting": False, **over})


def db_props(pg: PgServer, database: str, owner: str, **over: Any) -> dict[str, Any]:
    base = {"name": database, "owner": owner, "revokePublicConnect": False, "allowDrop": False, "adoptExisting": False}
    return pg.props(**{**base, **over})


def provision(pg: PgServer, password: str = "initial-Pw-1", **db_over: Any) -> tuple[dict, dict, str, str]:
    """Create role + database through the providers; return their outputs."""
    role_p, db_p = providers(pg)
    role, database = pg.role(), pg.db()
    role_out = role_p.create(role_p.check({}, role_props(pg, role, password, database)).inputs).outs
    db_out = db_p.create(db_p.check({}, db_props(pg, database, role, **db_over)).inputs).outs
    return role_out, db_out, role, database


def app_url(pg: PgServer, role: str, password: str, database: str, **kw: Any) -> str:
    return build_database_url("postgresql", host=pg.host, port=pg.port, name=database, user=role,
                              password=password, connect_timeout=5, **kw)


def whoami(url: str) -> tuple[str, str]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return tuple(conn.execute(text("SELECT current_user, current_database()")).one())
    finally:
        engine.dispose()


def can_login(pg: PgServer, role: str, password: str, database: str) -> bool:
    try:
        psycopg2.connect(host=pg.host, port=pg.port, user=role, password=password, dbname=database,
                         connect_timeout=5).close()
        return True
    except psycopg2.OperationalError as exc:
        assert "password authentication failed" in str(exc) or "not permitted to log in" in str(exc)
        return False


def test_create_read_and_drop(pg: PgServer) -> None:
    role_out, db_out, role, database = provision(pg, allowDrop=True)
    assert role_out["passwordInSync"] is True and role_out["adopted"] is False
    assert db_out["created"] is True and db_out["encoding"] == "UTF8"
    owner, encoding = pg.query("SELECT pg_get_userbyid(datdba), pg_encoding_to_char(encoding) FROM pg_database "
                               "WHERE datname = %s", (database,))[0]
    assert (owner, encoding) == (role, "UTF8")
    attrs = pg.query("SELECT rolsuper, rolcreatedb, rolcreaterole, rolcanlogin FROM pg_roles WHERE rolname = %s",
                     (role,))[0]
    assert attrs == (False, False, False, True)
    # The password is stored as a SCRAM verifier computed on the client.
    assert pg.query("SELECT rolpassword LIKE 'SCRAM-SHA-256$%%' FROM pg_authid WHERE rolname = %s", (role,))[0][0]
    assert whoami(app_url(pg, role, "initial-Pw-1", database)) == (role, database)

    role_p, db_p = providers(pg)
    assert role_p.read("id", role_out).outs["passwordInSync"] is True
    assert db_p.read("id", db_out).id == "id"
    db_p.delete("id", db_out)
    assert pg.query("SELECT 1 FROM pg_database WHERE datname = %s", (database,)) == []
    role_p.delete("id", role_out)
    assert pg.query("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)) == []


def test_refresh_sees_out_of_band_drops(pg: PgServer) -> None:
    role_out, db_out, role, database = provision(pg)
    role_p, db_p = providers(pg)
    pg.query(sql.SQL("DROP DATABASE {}").format(sql.Identifier(database)))
    assert db_p.read("id", db_out).id == ""  # an empty id removes the resource from the state
    pg.query(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
    assert role_p.read("id", role_out).id == ""


def test_password_changed_out_of_band_is_drift_and_up_repairs_it(pg: PgServer) -> None:
    role_out, _, role, database = provision(pg)
    role_p, _ = providers(pg)
    pg.query(sql.SQL("ALTER ROLE {} PASSWORD 'someone-else'").format(sql.Identifier(role)))
    refreshed = role_p.read("id", role_out).outs
    assert refreshed["passwordInSync"] is False
    diff = role_p.diff("id", refreshed, {k: v for k, v in role_out.items() if k not in ("passwordInSync", "adopted")})
    assert diff.changes is True and diff.replaces == []
    repaired = role_p.update("id", refreshed, role_out).outs
    assert repaired["passwordInSync"] is True
    assert can_login(pg, role, "initial-Pw-1", database)
    # Login disabled out of band is drift too.
    pg.query(sql.SQL("ALTER ROLE {} NOLOGIN").format(sql.Identifier(role)))
    assert role_p.read("id", repaired).outs["passwordInSync"] is False


def test_rotation_keeps_data_old_password_stops_working(pg: PgServer) -> None:
    role_out, _, role, database = provision(pg)
    old_url = app_url(pg, role, "initial-Pw-1", database)
    engine = create_engine(old_url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE kept (v text)"))
        conn.execute(text("INSERT INTO kept VALUES ('still here')"))
    engine.dispose()

    role_p, _ = providers(pg)
    new = {**role_out, "password": "rotated-Pw-2"}
    assert role_p.diff("id", role_out, new).replaces == []
    role_p.update("id", role_out, new)

    assert not can_login(pg, role, "initial-Pw-1", database)
    engine = create_engine(app_url(pg, role, "rotated-Pw-2", database), poolclass=NullPool)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT v FROM kept")).scalar_one() == "still here"
    engine.dispose()


def test_delete_retains_database_and_a_new_deployment_takes_it_back(pg: PgServer) -> None:
    role_out, db_out, role, database = provision(pg)
    engine = create_engine(app_url(pg, role, "initial-Pw-1", database), poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE chat (id int)"))
        conn.execute(text("INSERT INTO chat VALUES (42)"))
    engine.dispose()
    role_p, db_p = providers(pg)

    db_p.delete("id", db_out)  # allowDrop false: retained
    role_p.delete("id", role_out)  # still owns the database: kept, login disabled
    assert pg.query("SELECT 1 FROM pg_database WHERE datname = %s", (database,)) == [(1,)]
    assert pg.query("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (role,)) == [(False,)]

    # `pulumi up` again with the same names: both are recognised (marker / ownership) and reused.
    again = role_p.create(role_props(pg, role, "new-deploy-Pw-3", database)).outs
    assert again["adopted"] is True
    db_again = db_p.create(db_props(pg, database, role)).outs
    assert db_again["created"] is False
    engine = create_engine(app_url(pg, role, "new-deploy-Pw-3", database), poolclass=NullPool)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id FROM chat")).scalar_one() == 42
    engine.dispose()


def test_a_foreign_role_is_not_taken_over(pg: PgServer) -> None:
    role = pg.role()
    pg.query(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'theirs'").format(sql.Identifier(role)))
    role_p, _ = providers(pg)
    with pytest.raises(ProvisioningError, match="openwebui:database.adoptExisting") as info:
        role_p.create(role_props(pg, role, "mine-Pw-1", None))
    assert "already exists" in str(info.value)
    assert pg.query("SELECT rolpassword LIKE 'SCRAM%%' FROM pg_authid WHERE rolname = %s", (role,))[0][0]


def test_revoke_connect_from_public(pg: PgServer) -> None:
    _, db_out, _, database = provision(pg, revokePublicConnect=True)
    other = pg.role()
    pg.query(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'other-Pw-1'").format(sql.Identifier(other)))
    assert not _connects(pg, other, "other-Pw-1", database)
    _, db_p = providers(pg)
    assert db_p.read("id", db_out).outs["revokePublicConnect"] is True
    db_p.update("id", db_out, {**db_out, "revokePublicConnect": False})
    assert _connects(pg, other, "other-Pw-1", database)


def _connects(pg: PgServer, role: str, password: str, database: str) -> bool:
    try:
        psycopg2.connect(host=pg.host, port=pg.port, user=role, password=password, dbname=database).close()
        return True
    except psycopg2.OperationalError as exc:
        assert "permission denied for database" in str(exc)
        return False


def test_hostile_passwords_connect_through_the_built_url(pg: PgServer) -> None:
    role_p, db_p = providers(pg)
    role, database = pg.role(), pg.db()
    out = role_p.create(role_props(pg, role, HOSTILE_PASSWORDS[0], database)).outs
    db_p.create(db_props(pg, database, role))
    for password in HOSTILE_PASSWORDS:
        new = {**out, "password": password}
        role_p.update("id", out, new)
        out = new
        assert whoami(app_url(pg, role, password, database)) == (role, database), password
        assert role_p.read("id", out).outs["passwordInSync"] is True


def test_hostile_identifier_is_refused_by_check_or_created_literally(pg: PgServer) -> None:
    canary = pg.db()
    pg.query(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(canary)))
    hostile = f'x"; DROP DATABASE {canary}; --'
    role_p, db_p = providers(pg)
    failures = role_p.check({}, role_props(pg, hostile, "pw", hostile)).failures
    assert {f.property for f in failures} == {"name", "database"}
    assert any(f.reason.startswith("openwebui:database.user: ") for f in failures)
    assert db_p.check({}, db_props(pg, hostile, "r")).failures[0].reason.startswith("openwebui:database.name: ")

    # Below the validation the builders still quote: the name is created literally and nothing else runs.
    pg.created_dbs.append(hostile)
    pg.query(pg_sql.create_database(hostile, pg.admin_user))
    names = {r[0] for r in pg.query("SELECT datname FROM pg_database")}
    assert hostile in names and canary in names


def test_unreachable_server_names_the_server_and_the_keys(pg: PgServer) -> None:
    role_p, _ = providers(pg)
    port = free_port()
    with pytest.raises(ProvisioningError) as info:
        role_p.create(role_props(pg, pg.role(), "pw-Unreach", None, port=port))
    message = str(info.value)
    assert f"cannot reach PostgreSQL server 127.0.0.1:{port}" in message
    assert "openwebui:database.host" in message and "openwebui:database.port" in message


def test_connect_timeout_is_honoured(pg: PgServer) -> None:
    role_p, _ = providers(pg)
    with silent_server() as port, pytest.raises(ProvisioningError) as info:
        role_p.read("id", role_props(pg, "r", "pw", None, port=port, connectTimeout=2))
    assert "timeout expired" in str(info.value)


def test_wrong_admin_password_is_clear_and_not_echoed(pg: PgServer) -> None:
    wrong = "Wrong-Admin-Pw-%s" % unique()
    role_p, _ = providers(pg, admin_password=wrong)
    role = pg.role()
    with pytest.raises(ProvisioningError) as info:
        role_p.create(role_props(pg, role, "app-Pw-1", None))
    message = str(info.value)
    assert "rejected the password of the admin user 'owui_admin'" in message
    assert "openwebui:databaseAdminPassword" in message
    assert wrong not in message and "app-Pw-1" not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_admin_without_create_privileges_creates_nothing(pg: PgServer) -> None:
    weak = pg.role()
    pg.query(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'weak-Pw-1'").format(sql.Identifier(weak)))
    role_p, db_p = providers(pg, admin_password="weak-Pw-1")
    role = pg.role()
    with pytest.raises(ProvisioningError, match="may not create roles") as info:
        role_p.create(role_props(pg, role, "app-Pw-1", pg.db(), adminUser=weak))
    assert "openwebui:database.adminUser" in str(info.value)
    assert pg.query("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)) == []
    # CREATEROLE but no CREATEDB: refused before the role exists (nothing half-created).
    pg.query(sql.SQL("ALTER ROLE {} CREATEROLE").format(sql.Identifier(weak)))
    with pytest.raises(ProvisioningError, match="may not create databases"):
        role_p.create(role_props(pg, role, "app-Pw-1", pg.db(), adminUser=weak))
    assert pg.query("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)) == []


def test_non_superuser_admin_like_managed_postgres(pg: PgServer) -> None:
    admin = pg.role()
    pg.query(sql.SQL("CREATE ROLE {} LOGIN CREATEROLE CREATEDB PASSWORD 'managed-Pw-1'").format(sql.Identifier(admin)))
    role_p, db_p = providers(pg, admin_password="managed-Pw-1")
    role, database = pg.role(), pg.db()
    role_out = role_p.create(role_props(pg, role, "app-Pw-1", database, adminUser=admin)).outs
    db_out = db_p.create(db_props(pg, database, role, adminUser=admin, revokePublicConnect=True, allowDrop=True)).outs
    assert whoami(app_url(pg, role, "app-Pw-1", database)) == (role, database)
    db_p.delete("id", db_out)
    role_p.delete("id", role_out)
    assert pg.query("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)) == []


def test_database_with_foreign_tables_is_refused_before_anything_is_created(pg: PgServer) -> None:
    database = pg.db()
    pg.query(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    pg.query('CREATE TABLE "user" (id text primary key, api_key text)', dbname=database)  # a table made by hand
    role_p, db_p = providers(pg)
    role = pg.role()
    with pytest.raises(ProvisioningError, match="openwebui:database.adoptExisting") as info:
        role_p.create(role_props(pg, role, "app-Pw-1", database))
    assert "holds 1 table" in str(info.value) and "openwebui:database.name" in str(info.value)
    assert pg.query("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)) == []

    # The operator opts in: the role is made and the database changes hands.
    role_p.create(role_props(pg, role, "app-Pw-1", database, adoptExisting=True))
    with pytest.raises(ProvisioningError, match="adoptExisting"):
        db_p.create(db_props(pg, database, role))
    out = db_p.create(db_props(pg, database, role, adoptExisting=True)).outs
    assert out["created"] is False
    assert pg.query("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (database,)) == [(role,)]


def test_tls_required_by_the_server(pg: PgServer, tls_ca: str) -> None:
    role_out, _, role, database = provision(pg)
    pg.query(sql.SQL("GRANT owui_tls_required TO {}").format(sql.Identifier(role)))  # pg_hba: hostnossl reject
    with pytest.raises(Exception, match="no pg_hba.conf entry|pg_hba.conf rejects"):
        whoami(app_url(pg, role, "initial-Pw-1", database, ssl_mode="disable"))
    url = app_url(pg, role, "initial-Pw-1", database, ssl_mode="verify-full", ssl_ca_path=tls_ca)
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).scalar_one() is True
    engine.dispose()
    # The provider's own password check follows the TLS settings too.
    role_p, _ = providers(pg)
    tls_props = {**role_out, "sslMode": "verify-full", "sslRootCert": tls_ca}
    assert role_p.read("id", tls_props).outs["passwordInSync"] is True


def test_provider_verifies_the_server_certificate(pg: PgServer, tls_ca: str, tmp_path) -> None:
    role_p, _ = providers(pg)
    ok = role_props(pg, "owui_t_none", "pw", None, sslMode="verify-full", sslRootCert=tls_ca)
    assert role_p.read("id", ok).id == ""  # connected over verified TLS; the role just does not exist
    other_ca = tmp_path / "other-ca.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "1", "-subj", "/CN=not the server's CA", "-keyout", str(tmp_path / "k.pem"),
                    "-out", str(other_ca)], check=True, capture_output=True)
    with pytest.raises(ProvisioningError, match="TLS to PostgreSQL server") as info:
        role_p.read("id", {**ok, "sslRootCert": str(other_ca)})
    assert "openwebui:database.sslCaFile" in str(info.value)


def test_renamed_app_role_takes_the_tables_along(pg: PgServer) -> None:
    """A new role name means a new role (replace); the database's update hands it the old role's tables."""
    role_out, db_out, old_role, database = provision(pg)
    engine = create_engine(app_url(pg, old_role, "initial-Pw-1", database), poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE chat (id int)"))
    engine.dispose()
    role_p, db_p = providers(pg)
    new_role = pg.role()
    new_out = role_p.create(role_props(pg, new_role, "new-Pw-2", database)).outs  # create before delete
    db_p.update("id", db_out, {**db_out, "owner": new_role})
    role_p.delete("id", role_out)
    assert pg.query("SELECT 1 FROM pg_roles WHERE rolname = %s", (old_role,)) == []  # dropped, nothing left
    assert pg.query("SELECT tableowner FROM pg_tables WHERE tablename = 'chat'", dbname=database) == [(new_role,)]
    engine = create_engine(app_url(pg, new_role, "new-Pw-2", database), poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE chat ADD COLUMN title text"))  # the new role can migrate it
    engine.dispose()
    assert new_out["passwordInSync"] is True
