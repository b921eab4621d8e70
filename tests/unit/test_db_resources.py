"""The dynamic resources as the engine sees them: type tokens, camelCase props, secrets, no admin password,
and a provider that a separate process (the engine's dynamic-provider host) can unpickle."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pulumi
import pytest

from components.providers.mysql import MysqlDatabase, MysqlDatabaseArgs, MysqlServer, MysqlUser, MysqlUserArgs
from components.providers.postgresql import (
    PostgresDatabase,
    PostgresDatabaseArgs,
    PostgresRole,
    PostgresRoleArgs,
    PostgresRoleProvider,
    PostgresServer,
)
from tests.conftest import RecordingMocks, is_secret_input

ROOT = Path(__file__).resolve().parents[2]
APP_PASSWORD = "App-Pw-123"


@pytest.fixture()
def mocks():
    recorder = RecordingMocks()
    pulumi.runtime.set_mocks(recorder, project="openwebui", stack="test", preview=False)
    yield recorder


def _declare_all() -> tuple:
    pg_server = PostgresServer(host="db", admin_user="owui_admin", ssl_mode="verify-full", ssl_root_cert="/ca.pem")
    password = pulumi.Output.secret(APP_PASSWORD)
    role = PostgresRole("owui-db-role", PostgresRoleArgs(server=pg_server, name="openwebui", password=password,
                                                        database="openwebui"))
    db = PostgresDatabase("owui-db", PostgresDatabaseArgs(server=pg_server, name="openwebui", owner=role.name,
                                                          revoke_public_connect=True),
                          pulumi.ResourceOptions(depends_on=[role]))
    my_server = MysqlServer(host="db", admin_user="owui_admin")
    mdb = MysqlDatabase("owui-mdb", MysqlDatabaseArgs(server=my_server, name="openwebui"))
    user = MysqlUser("owui-mdb-user", MysqlUserArgs(server=my_server, name="openwebui", account_host="172.18.%",
                                                    password=password, database=mdb.name))
    return role, db, mdb, user


@pulumi.runtime.test
def test_types_props_and_secrets(mocks: RecordingMocks):
    role, db, _, user = _declare_all()

    def check(_):
        types = {r.name: r.typ for r in mocks.resources}
        assert types == {
            "owui-db-role": "pulumi-python:dynamic/postgresql:Role",
            "owui-db": "pulumi-python:dynamic/postgresql:Database",
            "owui-mdb": "pulumi-python:dynamic/mysql:Database",
            "owui-mdb-user": "pulumi-python:dynamic/mysql:User",
        }
        role_inputs = mocks.named("owui-db-role").inputs
        assert is_secret_input(role_inputs["password"])
        assert {"name", "host", "port", "adminUser", "sslMode", "sslRootCert", "connectTimeout"} <= set(role_inputs)
        # The pickled provider is stored as a secret too (it carries no password, but may carry paths).
        assert is_secret_input(role_inputs["__provider"])
        assert mocks.named("owui-db").inputs["revokePublicConnect"] is True
        assert mocks.named("owui-db").inputs["allowDrop"] is False
        assert mocks.named("owui-mdb-user").inputs["accountHost"] == "172.18.%"
        for recorded in mocks.resources:
            flat = repr(recorded.inputs)
            assert "adminPassword" not in flat.replace("openwebui:databaseAdminPassword", "")
            assert "owui-test-admin" not in flat

    return pulumi.Output.all(role.urn, db.urn, user.urn).apply(check)


@pulumi.runtime.test
def test_python_attributes_are_snake_case_and_password_stays_secret(mocks: RecordingMocks):
    role, db, _, user = _declare_all()

    def check(args):
        secret_flags, owner = args
        assert all(secret_flags)
        assert owner == "openwebui"

    secrets = pulumi.Output.all(
        pulumi.Output.from_input(role.password).is_secret(), pulumi.Output.from_input(user.password).is_secret()
    )
    return pulumi.Output.all(secrets, db.owner).apply(check)


def test_provider_unpickles_in_a_fresh_process() -> None:
    """The engine runs `python -m pulumi.dynamic` in the project dir; our provider must load there by reference."""
    from pulumi.dynamic.dynamic import serialize_provider

    blob = serialize_provider(PostgresRoleProvider("openwebui:databaseAdminPassword", "OWUI_PG_ADMIN_PASSWORD"))
    code = (
        "import base64, sys, dill; p = dill.loads(base64.b64decode(sys.stdin.read())); "
        "print(type(p).__module__, type(p).__name__, p.admin_password_key)"
    )
    out = subprocess.run([sys.executable, "-c", code], input=blob, cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["components.providers.postgresql", "PostgresRoleProvider", "openwebui:databaseAdminPassword"]
    assert len(base64.b64decode(blob)) < 2000  # by reference, not the whole module's code
