"""Component behaviour that does not depend on a database server."""

from __future__ import annotations

import base64
import os

from cryptography.fernet import Fernet

from components.images import parse_image_ref
from components.migration import parse_revision
from components.proxy import NginxConfigArgs, render_nginx_conf
from components.secrets import fernet_key_from_password
from tests.conftest import is_secret_input, run_program, stack_config, unsecret


def test_fernet_key_from_a_generated_password_is_valid_and_stable():
    for _ in range(50):
        password = base64.b64encode(os.urandom(48)).decode()
        key = fernet_key_from_password(password)
        assert len(key) == 44 and key == fernet_key_from_password(password)
        Fernet(key).decrypt(Fernet(key).encrypt(b"token"))
    assert fernet_key_from_password("a") != fernet_key_from_password("b")


def test_no_random_bytes_resource_whose_id_would_be_the_secret():
    # pulumi-random keeps a RandomBytes' value as its plain-text id (docs/provider-contract.md R11).
    mocks = run_program("dev", stack_config("dev"))
    assert mocks.of_type("random:index/randomBytes:RandomBytes") == []


def test_secrets_reach_containers_only_as_secrets():
    mocks = run_program("dev", stack_config("dev"))
    app = mocks.containers("app")[0]
    assert is_secret_input(app.inputs["envs"])
    migration = mocks.named("migration-upgrade")
    environment = migration.inputs["environment"]
    assert is_secret_input(environment) or is_secret_input(environment["DATABASE_URL"])
    # Nothing secret in the command line itself.
    assert "WEBUI_SECRET_KEY=" not in migration.inputs["create"]
    for password in mocks.of_type("random:index/randomPassword:RandomPassword"):
        assert password.inputs["length"] >= 24


def test_app_waits_for_migration_and_migration_for_image():
    mocks = run_program("dev", stack_config("dev"))
    names = [r.name for r in mocks.resources]
    assert names.index("migration-upgrade") < names.index("webui-app-0") < names.index("proxy-nginx")


def test_migration_reruns_only_on_relevant_change():
    first = run_program("dev", stack_config("dev")).named("migration-upgrade").inputs["triggers"]
    again = run_program("dev", stack_config("dev")).named("migration-upgrade").inputs["triggers"]
    assert unsecret(first) == unsecret(again)
    values = stack_config("dev")
    values["image"] = "openwebui-local/open-webui:0.12.3"
    changed = run_program("dev", values).named("migration-upgrade").inputs["triggers"]
    assert unsecret(changed) != unsecret(first)


def test_data_volume_is_named_for_the_stack():
    # Retention on destroy is a resource option mocks cannot see; tests/e2e destroys and finds the data.
    mocks = run_program("dev", stack_config("dev"))
    volume = mocks.of_type("docker:index/volume:Volume")[0]
    assert volume.inputs["name"] == "openwebui-dev-data"


def test_proxy_publishes_on_configured_ip_and_app_on_private_network_only():
    mocks = run_program("dev", stack_config("dev"))
    proxy = mocks.containers("proxy")[0]
    network = proxy.inputs["networksAdvanced"][0]
    assert network["ipv4Address"] == "172.30.10.2"
    app = mocks.containers("app")[0]
    assert app.inputs["networksAdvanced"][0]["aliases"] == ["openwebui-app"]
    assert "ports" not in app.inputs


def test_nginx_conf_intermediate():
    conf = render_nginx_conf(NginxConfigArgs(server_name="chat.example.com", public_port=443))
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in conf
    assert "ECDHE-ECDSA-AES128-GCM-SHA256" in conf and "DHE-RSA" not in conf.replace("ECDHE-RSA", "")
    assert "server_tokens off;" in conf
    assert "return 301 https://$host$request_uri;" in conf
    assert 'Strict-Transport-Security "max-age=63072000; includeSubDomains" always' in conf
    assert "client_max_body_size 100M;" in conf
    for endpoint in ("signin", "signup", "ldap"):
        block = conf.split(f"location = /api/v1/auths/{endpoint}")[1].split("}")[0]
        assert "limit_req zone=auth" in block
    assert 'proxy_set_header X-Forwarded-Email "";' in conf
    assert "${" not in conf
    # A header set in a location would cancel the server-level ones.
    for location in conf.split("\n        location ")[1:]:
        assert "add_header" not in location.split("}")[0]
        assert "proxy_set_header" not in location.split("}")[0]


def test_nginx_conf_modern_and_port_suffix():
    conf = render_nginx_conf(NginxConfigArgs(server_name="localhost", public_port=8443,
                                             tls_profile="modern", client_max_body_size="1G"))
    assert "ssl_protocols TLSv1.3;" in conf and "ssl_ciphers" not in conf
    assert "return 301 https://$host:8443$request_uri;" in conf
    assert "client_max_body_size 1G;" in conf


def test_parse_revision_reads_last_json_line():
    assert parse_revision('noise\n{"current": "abc", "heads": ["abc"]}\n') == "abc"
    assert parse_revision("no json here") == "unknown"


def test_image_tag_rules():
    pinned = ["a/b:v1.2.3-slim", "a/b:git-abc1234-slim", "a/b:0.12.4", "a/b@sha256:" + "a" * 64]
    floating = ["a/b", "a/b:latest", "a/b:main", "a/b:slim", "a/b:main-slim"]
    assert not any(parse_image_ref(ref).floating for ref in pinned)
    assert all(parse_image_ref(ref).floating for ref in floating)


def test_every_container_gets_a_pids_limit():
    mocks = run_program("dev", stack_config("dev"))
    limits = [c for c in mocks.of_type("command:local:Command") if c.name.endswith("-pids-limit")]
    assert len(limits) == len(mocks.containers())
    for limit in limits:
        assert "docker update --pids-limit" in limit.inputs["create"]
