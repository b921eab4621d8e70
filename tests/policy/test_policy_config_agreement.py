"""The new Open WebUI policies, and the config model agreeing with the pack (what one accepts, the other does)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openwebui_policies import (
    WEAK_SECRETS,
    validate_default_user_role,
    validate_mysql_needs_next_image,
    weak_secret_problem,
)
from policy_helpers import make_app, pack_config, set_env, violations

from components.config import pack_rules, weak_password_problem

MIGRATION = "command:local:Command"


@pytest.mark.parametrize("environment,role,refused", [
    ("prod", "pending", False), ("prod", "user", True), ("prod", "admin", True),
    ("dev", "user", False), ("dev", "admin", True), ("staging", "admin", True),
])
def test_default_user_role(environment, role, refused):
    props = set_env(make_app(environment), "DEFAULT_USER_ROLE", role)
    found = violations(validate_default_user_role, props,
                       config=pack_config(environment, "openwebui-restrict-default-user-role"))
    assert bool(found) == refused, found


def test_default_user_role_absent_is_upstreams_pending():
    props = set_env(make_app("prod"), "DEFAULT_USER_ROLE", None)
    assert violations(validate_default_user_role, props,
                      config=pack_config("prod", "openwebui-restrict-default-user-role")) == []


@pytest.mark.parametrize("image,url,refused", [
    ("ghcr.io/open-webui/open-webui:v0.12.4", "mysql+pymysql://u:p@db/x", True),
    ("openwebui-local/open-webui:0.12.4", "mysql+pymysql://u:p@db/x", True),
    ("registry.example.com/acme/open-webui-next:v1.4.2-slim", "mysql+pymysql://u:p@db/x", False),
    ("ghcr.io/open-webui/open-webui:v0.12.4", "postgresql://u:p@db/x", False),
])
def test_mysql_needs_the_next_image_on_the_app(image, url, refused):
    props = set_env(make_app("prod"), "DATABASE_URL", url)
    props["labels"] = [item if item["label"] != "openwebui.image" else {**item, "value": image}
                       for item in props["labels"]]
    assert bool(violations(validate_mysql_needs_next_image, props)) == refused


@pytest.mark.parametrize("image,database,refused", [
    ("ghcr.io/open-webui/open-webui:v0.12.4", "mysql", True),
    ("registry.example.com/acme/open-webui-next:v1.4.2-slim", "mysql", False),
    ("ghcr.io/open-webui/open-webui:v0.12.4", "sqlite", False),
])
def test_mysql_needs_the_next_image_on_the_migration(image, database, refused):
    # The migration command's environment is plain and known at preview, unlike the app's DATABASE_URL.
    props = {"create": "run-migration", "environment": {"OWUI_APP_IMAGE": image, "OWUI_DATABASE_TYPE": database}}
    found = violations(validate_mysql_needs_next_image, props, resource_type=MIGRATION, name="migration-upgrade")
    assert bool(found) == refused


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_config_reads_the_same_pack_config(environment):
    rules = pack_rules(environment)
    assert list(rules.allowed_roles) == pack_config(environment, "openwebui-restrict-default-user-role")["allowedRoles"]
    assert rules.jwt_max == pack_config(environment, "openwebui-bound-jwt-lifetime")["maxExpiresIn"]
    allowed = pack_config(environment, "docker-container-bind-ports-to-allowed-ips")["allowedHostIps"]
    assert sorted(map(str, rules.allowed_host_ips)) == sorted(allowed)


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(st.one_of(st.sampled_from(sorted(WEAK_SECRETS)).map(lambda w: w * 4),
                 st.sampled_from(sorted(WEAK_SECRETS)), st.text(min_size=0, max_size=40),
                 st.text(alphabet="ab", min_size=16, max_size=30)))
def test_an_admin_password_the_config_accepts_the_pack_accepts(password):
    min_length = pack_config("prod", "openwebui-require-strong-secrets")["minPasswordLength"]
    if weak_password_problem(password) is None:
        assert weak_secret_problem(password, min_length) is None
