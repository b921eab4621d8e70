"""The staging and prod stack files, run through the real program under mocks."""

from __future__ import annotations

from sqlalchemy.engine import make_url

from tests.conftest import env_of, label, run_program, stack_config, stack_secrets, unsecret


def run(stack: str, tls_pair, **changes):
    values = stack_config(stack)
    secrets, secret_keys = stack_secrets(stack, tls_pair)
    values.update(secrets)
    values.update(changes)
    return run_program(stack, values, secret_keys)


def test_staging_provisions_postgres_role_and_database(tls_pair):
    mocks = run("staging", tls_pair)
    role = mocks.of_type("pulumi-python:dynamic/postgresql:Role")
    database = mocks.of_type("pulumi-python:dynamic/postgresql:Database")
    assert len(role) == 1 and len(database) == 1
    assert role[0].inputs["name"] == "openwebui_staging"
    assert database[0].inputs["revokePublicConnect"] is True
    assert database[0].inputs["allowDrop"] is False
    # The admin password is never a resource input.
    for resource in mocks.resources:
        assert "admin-pw-123456" not in repr(resource.inputs)
    url = make_url(env_of(mocks.containers("app")[0])["DATABASE_URL"])
    assert url.drivername == "postgresql"
    assert url.host == "host.docker.internal" and url.database == "openwebui_staging"
    assert url.query["sslmode"] == "require"
    assert len(url.password) == 32


def test_staging_migration_waits_for_database(tls_pair):
    mocks = run("staging", tls_pair)
    names = [r.name for r in mocks.resources]
    assert names.index("database-database") < names.index("migration-upgrade")


def test_prod_is_mysql_behind_a_private_registry_with_redis_and_two_replicas(tls_pair):
    mocks = run("prod", tls_pair)
    apps = mocks.containers("app")
    assert len(apps) == 2
    assert len(mocks.containers("redis")) == 1
    env = env_of(apps[0])
    assert env["WEBSOCKET_MANAGER"] == "redis"
    assert env["REDIS_URL"].startswith("redis://:") and env["REDIS_URL"] == env["WEBSOCKET_REDIS_URL"]
    assert env_of(apps[1])["WEBUI_SECRET_KEY"] == env["WEBUI_SECRET_KEY"]
    url = make_url(env["DATABASE_URL"])
    assert url.drivername == "mysql+pymysql" and url.query["charset"] == "utf8mb4"
    user = mocks.of_type("pulumi-python:dynamic/mysql:User")[0]
    assert user.inputs["accountHost"] == "172.30.30.0/255.255.255.0"
    assert label(apps[0], "openwebui.image") == "registry.example.com/acme/open-webui-next:v1.4.2-slim"
    ports = mocks.containers("proxy")[0].inputs["ports"]
    assert {(p["external"], p["ip"]) for p in ports} == {(80, "203.0.113.10"), (443, "203.0.113.10")}


def test_prod_private_registry_credentials_are_secret(tls_pair):
    mocks = run("prod", tls_pair)
    provider = mocks.of_type("pulumi:providers:docker")
    assert len(provider) == 1
    auth = unsecret(provider[0].inputs["registryAuth"])
    assert "token-123" in repr(auth)
    assert "token-123" not in repr(mocks.of_type("docker:index/remoteImage:RemoteImage"))


def test_prod_uses_provided_certificate(tls_pair):
    mocks = run("prod", tls_pair)
    assert mocks.of_type("pulumi-python:dynamic/tls:SelfSignedCertificate") == []
    env = env_of(mocks.containers("proxy")[0])
    assert env["TLS_CERTIFICATE"] == tls_pair["certificate_pem"]
    assert "TLS_PRIVATE_KEY" in env


def test_database_ca_file_is_mounted_read_only_where_the_url_points(tls_pair):
    mocks = run("prod", tls_pair)
    ca = "/etc/ssl/certs/ca-certificates.crt"
    for app in mocks.containers("app"):
        mounts = [m for m in app.inputs["mounts"] if m["type"] == "bind"]
        assert mounts == [{"type": "bind", "source": ca, "target": ca, "readOnly": True}]
        assert make_url(env_of(app)["DATABASE_URL"]).query["ssl_ca"] == ca
    migration = mocks.named("migration-upgrade")
    assert unsecret(migration.inputs["environment"])["OWUI_DATABASE_CA_FILE"] == ca


def test_every_docker_command_and_random_resource_is_on_a_declared_provider(tls_pair):
    """No default provider: the program declares the three providers first, so the engine starts their plugins
    while the program is still declaring (__main__.py, bench/results.md)."""
    for stack in ("dev", "staging", "prod"):
        mocks = run(stack, tls_pair)
        declared = {r.typ.split(":")[-1]: r.name for r in mocks.resources if r.typ.startswith("pulumi:providers:")}
        assert declared == {"docker": "docker", "command": "command", "random": "random"}, stack
        used = [r for r in mocks.resources if r.typ.split(":")[0] in declared]
        assert {r.typ.split(":")[0] for r in used} == {"docker", "command", "random"}, stack
        for resource in used:
            package = resource.typ.split(":")[0]
            assert f"pulumi:providers:{package}::{package}::" in resource.provider, (stack, resource.name)
