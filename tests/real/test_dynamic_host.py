"""The providers inside Pulumi's real dynamic-provider host (`python -m pulumi.dynamic`, what the engine's
pulumi-resource-pulumi-python plugin runs in the project directory), spoken to over gRPC like the engine does:
Configure with the secret stack config, then Check/Create/Read/Delete against the real PostgreSQL server.

This covers what calling the methods directly cannot: the provider is unpickled by reference in another process,
configure() receives the admin password the way the engine sends it (namespaced key, secret-wrapped), and an
error the engine shows (the host's traceback) carries no password.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from components.providers._common import ConfigKeys
from components.providers.postgresql import PostgresRoleProvider
from deploy import secret_sig as sig

from .conftest import PgServer

ROOT = Path(__file__).resolve().parents[2]
URN = "urn:pulumi:test::openwebui::pulumi-python:dynamic/postgresql:Role::owui-db-role"


def _struct(values: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(values)
    return message


def _dict(message: struct_pb2.Struct) -> dict[str, Any]:
    from google.protobuf.json_format import MessageToDict

    return MessageToDict(message)


@pytest.fixture()
def host() -> Iterator[provider_pb2_grpc.ResourceProviderStub]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OWUI_PG_ADMIN", "OWUI_MYSQL_ADMIN"))}
    env["PULUMI_PROJECT"] = "openwebui"
    proc = subprocess.Popen([sys.executable, "-u", "-m", "pulumi.dynamic"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline().strip())
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=30)
        yield provider_pb2_grpc.ResourceProviderStub(channel)
        channel.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _configure(stub: provider_pb2_grpc.ResourceProviderStub, admin_password: str) -> None:
    # As the engine does for dynamic providers: every config key, namespace kept, secrets wrapped.
    args = {"openwebui:databaseAdminPassword": {sig.KEY: sig.SECRET, "value": admin_password},
            "openwebui:database": '{"type": "postgresql"}'}
    stub.Configure(provider_pb2.ConfigureRequest(args=_struct(args), acceptSecrets=True))


def _props(pg: PgServer, role: str, **over: Any) -> dict[str, Any]:
    provider = PostgresRoleProvider("openwebui:databaseAdminPassword", "OWUI_PG_ADMIN_PASSWORD")
    return {"__provider": serialize_provider(provider), "host": pg.host, "port": pg.port,
            "adminUser": pg.admin_user, "maintenanceDb": "postgres", "connectTimeout": 5, "name": role,
            "password": "Host-App-Pw-1", "adoptExisting": False, "configKeys": ConfigKeys().as_input(), **over}


def test_lifecycle_through_the_dynamic_provider_host(host: Any, pg: PgServer) -> None:
    _configure(host, pg.admin_password)
    role = pg.role()
    props = _props(pg, role)

    check = host.Check(provider_pb2.CheckRequest(urn=URN, olds=_struct({}), news=_struct(props)))
    assert list(check.failures) == []
    bad = host.Check(provider_pb2.CheckRequest(urn=URN, olds=_struct({}), news=_struct({**props, "name": 'x";--'})))
    assert [f.property for f in bad.failures] == ["name"]
    assert bad.failures[0].reason.startswith("openwebui:database.user: ")

    created = host.Create(provider_pb2.CreateRequest(urn=URN, properties=_struct(props)))
    assert created.id == f"postgresql://{pg.host}:{pg.port}/roles/{role}"
    assert pg.query("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (role,)) == [(True,)]

    read = host.Read(provider_pb2.ReadRequest(id=created.id, urn=URN, properties=created.properties))
    assert _dict(read.properties)["passwordInSync"] is True

    host.Delete(provider_pb2.DeleteRequest(id=created.id, urn=URN, properties=created.properties))
    assert pg.query("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)) == []


def test_errors_through_the_host_name_the_key_and_hold_no_password(host: Any, pg: PgServer) -> None:
    wrong = "Wrong-Admin-Pw-in-host-9"
    _configure(host, wrong)
    with pytest.raises(grpc.RpcError) as info:
        host.Create(provider_pb2.CreateRequest(urn=URN, properties=_struct(_props(pg, pg.role()))))
    details = info.value.details()  # what `pulumi up` prints
    assert "rejected the password of the admin user" in details and "openwebui:databaseAdminPassword" in details
    assert wrong not in details and "Host-App-Pw-1" not in details
    assert "During handling of the above exception" not in details  # no chained driver exception


def test_mysql_database_through_the_dynamic_provider_host(host: Any, my: Any) -> None:
    from components.providers.mysql import MysqlDatabaseProvider

    _configure(host, my.admin_password)
    database = my.db()
    provider = MysqlDatabaseProvider("openwebui:databaseAdminPassword", "OWUI_MYSQL_ADMIN_PASSWORD")
    props = {"__provider": serialize_provider(provider), "host": my.host, "port": my.port,
             "adminUser": my.admin_user, "connectTimeout": 5, "name": database, "charset": "utf8mb4",
             "collation": "utf8mb4_unicode_ci", "allowDrop": True, "adoptExisting": False,
             "configKeys": ConfigKeys().as_input()}
    urn = "urn:pulumi:test::openwebui::pulumi-python:dynamic/mysql:Database::owui-db"
    created = host.Create(provider_pb2.CreateRequest(urn=urn, properties=_struct(props)))
    assert created.id == f"mysql://{my.host}:{my.port}/databases/{database}"
    read = host.Read(provider_pb2.ReadRequest(id=created.id, urn=urn, properties=created.properties))
    assert _dict(read.properties)["collation"] == "utf8mb4_unicode_ci"
    host.Delete(provider_pb2.DeleteRequest(id=created.id, urn=urn, properties=created.properties))
    assert my.query("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (database,)) == []
