"""Uploads in an S3-compatible object store (`storage.provider: s3`, `storage.s3.*`, secret `s3SecretAccessKey`):
validated by the config model with every error naming its key; the app's environment as Open WebUI 0.12.4 reads it
(backend/open_webui/config.py STORAGE_PROVIDER, S3_*); the secret key never in a plain value."""

from __future__ import annotations

from typing import Any

import pytest

from components.app_env import app_settings
from components.config import ConfigError, load_settings
from tests.mocks import OBJECT_STORE_SECRET, object_store_config, stack_config

SWARM = {"target": "swarm", "swarm": {"subnet": "10.215.10.0/24"}}


def swarm_values(**changes: Any) -> dict[str, Any]:
    store, _ = object_store_config("http://10.213.0.1:8333")
    values = {**stack_config("dev"), **SWARM, **store}
    values.update(changes)
    return values


def s3(**changes: Any) -> dict[str, Any]:
    base = swarm_values()["storage"]
    return {**base, "s3": {**base["s3"], **changes}}


def problems(values: dict[str, Any], stack: str = "dev") -> str:
    with pytest.raises(ConfigError) as raised:
        load_settings(values, stack=stack)
    return str(raised.value)


def test_a_swarm_stack_with_an_object_store_is_accepted_and_sets_what_upstream_reads() -> None:
    settings, secrets = load_settings(swarm_values(), stack="dev")
    assert secrets.s3_secret_access_key == OBJECT_STORE_SECRET
    env = app_settings(settings)
    assert {k: v for k, v in env.items() if k.startswith(("S3_", "STORAGE_"))} == {
        "STORAGE_PROVIDER": "s3", "S3_ENDPOINT_URL": "http://10.213.0.1:8333", "S3_BUCKET_NAME": "openwebui-uploads",
        "S3_REGION_NAME": "eu-central-1", "S3_ACCESS_KEY_ID": "AKIAOWUITEST", "S3_ADDRESSING_STYLE": "path",
        "S3_KEY_PREFIX": "prod"}
    assert OBJECT_STORE_SECRET not in repr(env)


def test_local_uploads_leave_the_environment_as_it_was() -> None:
    settings, _ = load_settings(stack_config("dev"), stack="dev")
    assert not [k for k in app_settings(settings) if k.startswith(("S3_", "STORAGE_"))]


@pytest.mark.parametrize("key,value,expected", [
    ("endpointUrl", "ftp://s3.example.com", "scheme must be https or http"),
    ("endpointUrl", "https://user:pw@s3.example.com", "credentials do not belong in the URL"),
    ("endpointUrl", "https://s3.example.com/bucket", "scheme://host[:port] only"),
    ("endpointUrl", "https://s3.example.com:99999", "port"),
    ("bucket", "Uploads", "is not an S3 bucket name"),
    ("bucket", "a", "is not an S3 bucket name"),
    ("bucket", "a..b", "is not an S3 bucket name"),
    ("region", "EU Central", "is not a region name"),
    ("accessKeyId", "key with spaces", "is not an access key id"),
    ("keyPrefix", "/leading", "is not a key prefix"),
    ("keyPrefix", "a//b", "is not a key prefix"),
    ("addressingStyle", "dns", "must be one of"),
])
def test_a_bad_s3_value_is_refused_naming_its_key(key: str, value: str, expected: str) -> None:
    text = problems(swarm_values(storage=s3(**{key: value})))
    assert f"openwebui:storage.s3.{key}" in text and expected in text, text
    assert OBJECT_STORE_SECRET not in text


@pytest.mark.parametrize("missing", ["endpointUrl", "bucket", "accessKeyId"])
def test_a_missing_s3_value_is_named(missing: str) -> None:
    storage = s3()
    del storage["s3"][missing]
    assert f"openwebui:storage.s3.{missing}: is required" in problems(swarm_values(storage=storage))


def test_the_secret_key_is_required_secret_and_one_line() -> None:
    values = swarm_values()
    del values["s3SecretAccessKey"]
    assert "openwebui:s3SecretAccessKey: storage.provider is s3" in problems(values)
    with pytest.raises(ConfigError) as raised:
        load_settings(swarm_values(), stack="dev", is_secret=lambda key: key != "s3SecretAccessKey")
    assert "openwebui:s3SecretAccessKey: holds a credential in plain text" in str(raised.value)
    text = problems(swarm_values(s3SecretAccessKey="abc\ndef"))
    assert "openwebui:s3SecretAccessKey: contains a control" in text and "abc" not in text


def test_combinations_name_every_key_involved() -> None:
    assert "openwebui:storage.s3: storage.provider is s3" in problems(swarm_values(storage={"provider": "s3"}))
    text = problems({**swarm_values(storage={"s3": s3()["s3"]}), "s3SecretAccessKey": OBJECT_STORE_SECRET})
    assert "openwebui:storage.s3.bucket: storage.s3 is used only with storage.provider: s3" in text
    assert "openwebui:storage.provider:" in text
    # On one daemon the key would be in a container's environment.
    docker = {k: v for k, v in swarm_values().items() if k not in ("target", "swarm")}
    text = problems(docker)
    assert "openwebui:storage.provider: uploads in S3 need target: swarm" in text and "openwebui:target:" in text
    values = {**stack_config("dev"), "s3SecretAccessKey": OBJECT_STORE_SECRET}
    assert "openwebui:s3SecretAccessKey: is set but storage.provider is not s3" in problems(values)


def test_prod_needs_https_to_the_store(tls_pair: dict[str, str]) -> None:
    from tests.conftest import stack_secrets

    secrets, _ = stack_secrets("prod", tls_pair)
    store, _ = object_store_config("http://s3.example.com")
    values = {**stack_config("prod"), **secrets, **store, "target": "swarm"}
    assert "openwebui:storage.s3.endpointUrl: prod sends uploads to the object store over https only" in \
        problems(values, stack="prod")
    store, _ = object_store_config()
    load_settings({**values, **store}, stack="prod")


def test_scaled_out_prod_swarm_needs_the_store_and_dev_may_keep_uploads_local(tls_pair: dict[str, str]) -> None:
    from tests.conftest import stack_secrets

    secrets, _ = stack_secrets("prod", tls_pair)
    text = problems({**stack_config("prod"), **secrets, "target": "swarm"}, stack="prod")
    assert "openwebui:storage.provider: prod on a swarm with 2 replicas keeps uploads off the node" in text
    assert "openwebui:replicas: prod on a swarm with 2 replicas" in text
    values = {**stack_config("dev"), **SWARM, "replicas": 2, "database": {
        "type": "postgresql", "host": "db.example.com", "adminUser": "owui_admin"},
        "databaseAdminPassword": "admin-pw-123456"}
    load_settings(values, stack="dev")
