"""The staging stack (external PostgreSQL) deployed on real Docker against the real server.

The program provisions the database and its role on the PostgreSQL server started by
scripts/db-servers (the host, reached from the containers as host.docker.internal), migrates it in
a one-shot container, and starts the app behind nginx.
"""

from __future__ import annotations

import time

import pytest

from tests.e2e.checks import Client
from tests.e2e.harness import RealDeployment, containers_of, remove_stack
from tests.engine.servers import pg_from_env
from tests.prerequisites import require
from tests.slot import Slot

pytestmark = [pytest.mark.e2e, pytest.mark.docker, pytest.mark.realdb]

SLOT = Slot("staging-e2e", 19443, 19080, "172.30.120.0/24")
STACK, DATABASE = SLOT.stack, SLOT.database
# scripts/db-servers' PostgreSQL, administered from this machine.
SERVER = pg_from_env()


def _cleanup() -> None:
    remove_stack(STACK, SLOT.network, SLOT.volume)
    SERVER.run(f'DROP DATABASE IF EXISTS "{DATABASE}"')
    SERVER.run(f'DROP ROLE IF EXISTS "{DATABASE}"')


@pytest.fixture(scope="module")
def staging(docker_engine, tmp_path_factory):
    require(["pg_isready", "-h", "127.0.0.1"], "the PostgreSQL test server")
    backups = tmp_path_factory.mktemp("backups")
    values = SLOT.values("staging", backups)
    _cleanup()
    deployment = RealDeployment(STACK, values, secret_keys=("databaseAdminPassword",))
    started = time.monotonic()
    deployment.up()
    print(f"staging deploy from nothing to healthy: {time.monotonic() - started:.1f}s")
    deployment.ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    deployment.ca_file.write_text(deployment.ca_certificate)
    deployment.client = Client(SLOT.url, deployment.ca_file)
    deployment.admin_email = values["admin"]["email"]
    deployment.backups = backups
    deployment.client.wait_healthy()
    yield deployment
    deployment.destroy()
    _cleanup()


def test_app_serves_https_and_runs_on_postgresql(staging):
    assert staging.client.get("/health/db").status_code == 200
    assert staging.client.signin(staging.admin_email, staging.admin_password).status_code == 200
    users = SERVER.run('SELECT email, role FROM "user"', dbname=DATABASE)
    assert ("admin@example.com", "admin") in users


def test_database_owned_by_app_role_and_closed_to_public(staging):
    owner, encoding = SERVER.run(
        "SELECT pg_get_userbyid(datdba), pg_encoding_to_char(encoding) FROM pg_database "
        f"WHERE datname = '{DATABASE}'")[0]
    assert owner == DATABASE and encoding == "UTF8"
    public = SERVER.run(f"SELECT has_database_privilege('public', '{DATABASE}', 'CONNECT')")
    assert public == [(False,)]


def test_url_encoded_password_with_hostile_characters_connects(staging):
    password = staging.output("secrets-database-password", "result")
    assert any(c in password for c in "@:/%#?&"), "the generated password should exercise encoding"
    env = {e.split("=", 1)[0]: e.split("=", 1)[1]
           for e in containers_of(STACK, "app")[0]["Config"]["Env"]}
    from sqlalchemy.engine import make_url

    url = make_url(env["DATABASE_URL"])
    assert url.password == password and url.host == "host.docker.internal"
    # ... and the app reached PostgreSQL through exactly this URL:
    assert staging.client.get("/health/db").status_code == 200


def test_signup_refused(staging):
    assert staging.client.signup("someone@example.com").status_code == 403


def test_migration_took_a_pg_dump_first(staging):
    dumps = list(staging.backups.rglob("*.pgdump"))
    assert dumps, list(staging.backups.rglob("*"))
    assert dumps[0].stat().st_size > 0


def test_destroy_keeps_database_and_new_deploy_finds_data(staging):
    token = staging.client.token(staging.admin_email, staging.admin_password)
    created = staging.client.post("/api/v1/auths/add", headers=staging.client.auth(token), json={
        "name": "Bob", "email": "bob@example.com", "password": "Bob-password-12345", "role": "user"})
    assert created.status_code == 200, created.text
    staging.destroy()
    assert containers_of(STACK, all_states=True) == []
    assert SERVER.run(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'") == [(1,)]
    staging.up()
    staging.ca_file.write_text(staging.ca_certificate)
    staging.client.wait_healthy()
    assert staging.client.signin("bob@example.com", "Bob-password-12345").status_code == 200
