"""The project's dynamic providers under the real engine (Automation API inline programs, file:// backend).

What only the engine shows: the admin password reaching ``configure()`` from secret stack config, what the
state stores (ciphertext only), idempotence of a second run, drift found by ``refresh`` and repaired by ``up``,
and what ``destroy`` keeps. Real PostgreSQL and MariaDB servers from scripts/db-servers.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable

import pulumi
import pytest
from pulumi import automation as auto

from components.providers.mysql import MysqlDatabase, MysqlDatabaseArgs, MysqlServer, MysqlUser, MysqlUserArgs
from components.providers.postgresql import (
    PostgresDatabase,
    PostgresDatabaseArgs,
    PostgresRole,
    PostgresRoleArgs,
    PostgresServer,
)
from components.providers.selfsigned import SelfSignedCertificate
from tests.engine.lite import Engine, LiteStack, changes, pickled_providers, plaintext_outside_secrets
from tests.engine.servers import My, Pg, unique

pytestmark = [pytest.mark.engine, pytest.mark.realdb]

ADMIN_KEY = "openwebui:databaseAdminPassword"


def app_password() -> str:
    # Printable ASCII: the MySQL provider refuses anything else (PyMySQL sends passwords as Latin-1).
    return "App-" + secrets.token_urlsafe(18)


def postgres_program(pg: Pg, name: str, password: str) -> Callable[[], None]:
    def program() -> None:
        server = PostgresServer(host=pg.host, port=pg.port, admin_user=pg.admin_user, connect_timeout=5)
        role = PostgresRole("app-role", PostgresRoleArgs(
            server=server, name=name, password=pulumi.Output.secret(password), database=name))
        PostgresDatabase("app-db", PostgresDatabaseArgs(server=server, name=name, owner=role.name),
                         pulumi.ResourceOptions(depends_on=[role]))
        cert = SelfSignedCertificate("tls", hostname="chat.example.com", validity_days=30)
        pulumi.export("caCertificate", cert.ca_certificate_pem)
        pulumi.export("privateKey", cert.private_key_pem)

    return program


def assert_no_plaintext(stack: LiteStack, *values: str) -> None:
    """The stored checkpoint holds none of the values; decrypted, each sits only inside a secret envelope."""
    stored = stack.stored_state()
    for value in values:
        assert value not in stored, "a secret is stored in plain text in the checkpoint"
    resources = stack.resources()
    assert plaintext_outside_secrets(resources, list(values)) == []
    for blob in pickled_providers(resources):
        for value in values:
            assert value.encode() not in blob, "a secret was pickled into a dynamic provider"


def assert_nothing_to_do(stack: LiteStack) -> None:
    preview = stack.stack.preview()
    assert changes(preview.change_summary) == {}, preview.change_summary
    assert set(preview.change_summary) == {"same"}


def pg_owner(pg: Pg, database: str) -> str | None:
    rows = pg.run("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (database,))
    return rows[0][0] if rows else None


def test_postgres_role_database_and_certificate_lifecycle(engine: Engine, pg: Pg) -> None:
    name = unique()
    pg.roles.append(name)
    pg.databases.append(name)
    password = app_password()
    stack = engine.stack("pg", postgres_program(pg, name, password))
    stack.set_secret(ADMIN_KEY, pg.admin_password)

    # 1. Create. The engine's environment has no OWUI_PG_ADMIN_PASSWORD: configure() got it from the config.
    up = stack.stack.up(on_output=stack.collect)
    assert up.summary.resource_changes == {"create": 4}  # the stack, the role, the database, the certificate
    assert pg.can_login(name, password, name)
    assert pg_owner(pg, name) == name
    private_key = up.outputs["privateKey"]
    assert private_key.secret and "PRIVATE KEY" in private_key.value
    assert_no_plaintext(stack, password, pg.admin_password, private_key.value)

    # 2. A second run changes nothing.
    assert_nothing_to_do(stack)
    again = stack.stack.up()
    assert changes(again.summary.resource_changes) == {}

    # 3. Password changed out of band: refresh notices, the next up resets it.
    from psycopg2 import sql
    pg.run(sql.SQL("ALTER ROLE {} PASSWORD %s").format(sql.Identifier(name)), ("changed-" + password,))
    assert not pg.can_login(name, password, name)
    stack.stack.refresh()
    assert stack.outputs_of("app-role")["passwordInSync"] is False
    preview = stack.stack.preview()
    assert changes(preview.change_summary) == {"update": 1}
    repaired = stack.stack.up()
    assert changes(repaired.summary.resource_changes) == {"update": 1}
    assert pg.can_login(name, password, name)
    assert stack.outputs_of("app-role")["passwordInSync"] is True

    # 4. Role dropped out of band (as its error message tells an operator to): refresh forgets it and sees the
    #    database's new owner; the next up creates the role again and gives the database back.
    pg.run(sql.SQL("REASSIGN OWNED BY {} TO CURRENT_USER").format(sql.Identifier(name)))
    pg.run(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
    pg.run(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))
    refreshed = stack.stack.refresh()
    assert refreshed.summary.resource_changes.get("delete") == 1
    assert stack.resource("app-role") is None
    assert stack.outputs_of("app-db")["owner"] == pg.admin_user
    repaired = stack.stack.up()
    assert changes(repaired.summary.resource_changes) == {"create": 1, "update": 1}
    assert pg.can_login(name, password, name)
    assert pg_owner(pg, name) == name
    assert_nothing_to_do(stack)

    # 5. Destroy keeps the database (allowDrop is false) and says so; the role stays, without login.
    stack.take_output()
    stack.stack.destroy(on_output=stack.collect)
    said = stack.take_output()
    assert f"retained the database '{name}'" in said
    assert f"kept the role '{name}'" in said
    assert pg_owner(pg, name) == name
    assert not pg.can_login(name, password, name)
    for value in (password, pg.admin_password):
        assert value not in said


def test_mysql_database_and_user_lifecycle(engine: Engine, my: My) -> None:
    name = unique()
    host = "127.0.0.1"  # the account the tests (on this machine) log in as
    my.databases.append(name)
    my.users.append((name, host))
    password = app_password()

    def program() -> None:
        server = MysqlServer(host=my.host, port=my.port, admin_user=my.admin_user, connect_timeout=5)
        db = MysqlDatabase("app-db", MysqlDatabaseArgs(server=server, name=name))
        MysqlUser("app-user", MysqlUserArgs(server=server, name=name, account_host=host,
                                            password=pulumi.Output.secret(password), database=db.name),
                  pulumi.ResourceOptions(depends_on=[db]))

    stack = engine.stack("mysql", program)
    stack.set_secret(ADMIN_KEY, my.admin_password)

    up = stack.stack.up()
    assert up.summary.resource_changes == {"create": 3}  # the stack, the database, the user
    assert my.can_login(name, password, name)
    assert_no_plaintext(stack, password, my.admin_password)
    assert_nothing_to_do(stack)
    assert changes(stack.stack.up().summary.resource_changes) == {}

    # Password changed out of band.
    my.run("ALTER USER %s@%s IDENTIFIED BY %s", (name, host, "changed-" + password))
    assert not my.can_login(name, password, name)
    stack.stack.refresh()
    assert stack.outputs_of("app-user")["passwordInSync"] is False
    assert changes(stack.stack.preview().change_summary) == {"update": 1}
    assert changes(stack.stack.up().summary.resource_changes) == {"update": 1}
    assert my.can_login(name, password, name)

    # User dropped out of band.
    my.run("DROP USER %s@%s", (name, host))
    refreshed = stack.stack.refresh()
    assert refreshed.summary.resource_changes.get("delete") == 1
    assert stack.resource("app-user") is None
    assert changes(stack.stack.up().summary.resource_changes) == {"create": 1}
    assert my.can_login(name, password, name)
    assert_nothing_to_do(stack)

    # Destroy: the user goes, the database (allowDrop false) stays and the output says so.
    stack.stack.destroy(on_output=stack.collect)
    said = stack.take_output()
    assert f"retained the database '{name}'" in said
    assert my.run("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (name,))
    assert not my.run("SELECT 1 FROM mysql.user WHERE User = %s", (name,))
    assert password not in said and my.admin_password not in said


def test_admin_password_is_read_from_secret_stack_config(engine: Engine, pg: Pg) -> None:
    name = unique()
    pg.roles.append(name)
    pg.databases.append(name)
    stack = engine.stack("pg-admin", postgres_program(pg, name, app_password()))

    wrong = "wrong-" + secrets.token_urlsafe(12)
    stack.set_secret(ADMIN_KEY, wrong)
    with pytest.raises(auto.errors.CommandError) as failed:
        stack.stack.up(on_output=stack.collect)
    said = str(failed.value) + stack.take_output()
    assert "rejected the password of the admin user" in said
    assert ADMIN_KEY in said
    assert wrong not in said
    assert not pg.run("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,))

    stack.set_secret(ADMIN_KEY, pg.admin_password)
    assert changes(stack.stack.up().summary.resource_changes).get("create", 0) >= 2
    assert pg.run("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,))
    # The engine keeps a dynamic provider's config (the whole stack config) as the inputs of its provider
    # resource: the admin password is in the state after all, as ciphertext.
    stored = json.loads(stack.stored_state())
    provider = [r for r in stored["checkpoint"]["latest"]["resources"]
                if r["type"] == "pulumi:providers:pulumi-python"]
    assert len(provider) == 1 and "ciphertext" in provider[0]["inputs"][ADMIN_KEY]
