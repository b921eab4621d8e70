"""Open WebUI env rules, the secrets rules and the remediation that marks credentials secret."""

from __future__ import annotations

import copy
from typing import Any

import openwebui_policies as op
import pytest
from policies import policy
from policy_helpers import (
    UNKNOWN_LIST,
    UNKNOWN_STR,
    fake_secret,
    make_app,
    pack_config,
    resource_args,
    secret,
    set_env,
    violations,
)
from pulumi_policy import EnforcementLevel, Secret
from pulumi_policy.deserialize import serialize_properties

from deploy import secret_sig as sig


def run(policy_name: str, props: dict[str, Any], environment: str = "prod", config: dict | None = None) -> list[str]:
    found: list[str] = []
    merged = {**pack_config(environment, policy_name), **(config or {})}
    policy(policy_name).validate(resource_args(props, config=merged), lambda message, urn=None: found.append(message))
    return found


def with_labels(props: dict[str, Any], **values: str | None) -> dict[str, Any]:
    props = copy.deepcopy(props)
    kept = [item for item in props["labels"] if item["label"] not in {f"openwebui.{k}" for k in values}]
    kept += [{"label": f"openwebui.{k}", "value": v} for k, v in values.items() if v is not None]
    props["labels"] = kept
    return props


# --- env rules: each rejects its bad values ----------------------------------------------------------

BAD_ENV = [
    ("openwebui-disable-signup", "ENABLE_SIGNUP", ["true", "True", "", "0", "yes"]),
    ("openwebui-disable-signup", "ENABLE_OAUTH_SIGNUP", ["true", "TRUE"]),
    ("openwebui-disable-signup", "ENABLE_LDAP", ["true"]),
    ("openwebui-disable-signup", "WEBUI_AUTH", ["false", "False"]),
    ("openwebui-disable-signup", "WEBUI_AUTH_TRUSTED_EMAIL_HEADER", ["X-Forwarded-Email"]),
    ("openwebui-disable-startup-migrations", "ENABLE_DB_MIGRATIONS", ["true", ""]),
    ("openwebui-disable-pip-frontmatter-installs", "ENABLE_PIP_INSTALL_FRONTMATTER_REQUIREMENTS", ["true", "1"]),
    ("openwebui-require-secure-cookies", "WEBUI_SESSION_COOKIE_SECURE", ["false", ""]),
    ("openwebui-require-secure-cookies", "WEBUI_AUTH_COOKIE_SECURE", ["false"]),
    ("openwebui-require-secure-cookies", "WEBUI_SESSION_COOKIE_SAME_SITE", ["lax", "none", ""]),
    ("openwebui-require-secure-cookies", "WEBUI_AUTH_COOKIE_SAME_SITE", ["lax"]),
    ("openwebui-restrict-cors-origin", "CORS_ALLOW_ORIGIN",
     ["*", "", "http://chat.example.com", "https://chat.example.com;*", "https://chat.example.com/path"]),
    ("openwebui-restrict-forwarded-ips", "FORWARDED_ALLOW_IPS", ["*", "", "172.30.30.2,*", "0.0.0.0/0"]),
    ("openwebui-require-https-url", "WEBUI_URL",
     ["http://chat.example.com", "", "chat.example.com", "https://", "https://chat example.com"]),
    ("openwebui-bound-jwt-lifetime", "JWT_EXPIRES_IN", ["-1", "0", "", "8d", "2w", "30d", "forever", "7d-1"]),
]


@pytest.mark.parametrize("name,key,value", [(n, k, v) for n, k, values in BAD_ENV for v in values])
def test_bad_env_value_rejected(good_app, name, key, value):
    found = run(name, set_env(good_app, key, value))
    assert found and any(key in message for message in found)


REQUIRED = [
    ("openwebui-disable-signup", "ENABLE_SIGNUP"), ("openwebui-disable-signup", "WEBUI_ADMIN_EMAIL"),
    ("openwebui-disable-startup-migrations", "ENABLE_DB_MIGRATIONS"),
    ("openwebui-disable-pip-frontmatter-installs", "ENABLE_PIP_INSTALL_FRONTMATTER_REQUIREMENTS"),
    ("openwebui-require-secure-cookies", "WEBUI_SESSION_COOKIE_SECURE"),
    ("openwebui-require-secure-cookies", "WEBUI_AUTH_COOKIE_SAME_SITE"),
    ("openwebui-restrict-cors-origin", "CORS_ALLOW_ORIGIN"),
    ("openwebui-restrict-forwarded-ips", "FORWARDED_ALLOW_IPS"),
    ("openwebui-require-https-url", "WEBUI_URL"),
    ("openwebui-bound-jwt-lifetime", "JWT_EXPIRES_IN"),
]


@pytest.mark.parametrize("name,key", REQUIRED)
def test_missing_safe_setting_rejected(good_app, name, key):
    found = run(name, set_env(good_app, key, None))
    assert any(f"{key} is not set" in message for message in found)


@pytest.mark.parametrize("key,value", [("ENABLE_SIGNUP", "FALSE"), ("JWT_EXPIRES_IN", "12h"),
                                       ("JWT_EXPIRES_IN", "1h30m"), ("JWT_EXPIRES_IN", "1w"),
                                       ("FORWARDED_ALLOW_IPS", "172.30.30.0/24"),
                                       ("WEBUI_URL", "https://Chat.Example.com:8443"),
                                       ("WEBUI_SESSION_COOKIE_SAME_SITE", "Strict")])
def test_other_safe_spellings_pass(good_app, key, value):
    name = {"ENABLE_SIGNUP": "openwebui-disable-signup", "JWT_EXPIRES_IN": "openwebui-bound-jwt-lifetime",
            "FORWARDED_ALLOW_IPS": "openwebui-restrict-forwarded-ips", "WEBUI_URL": "openwebui-require-https-url",
            "WEBUI_SESSION_COOKIE_SAME_SITE": "openwebui-require-secure-cookies"}[key]
    assert run(name, set_env(good_app, key, value)) == []


def test_duplicate_key_with_a_bad_value_is_caught(good_app):
    props = copy.deepcopy(good_app)
    props["envs"].append("ENABLE_SIGNUP=true")  # Docker's env is a set: either copy may win
    assert run("openwebui-disable-signup", props)


def test_app_rules_apply_only_to_app_containers(good_app):
    proxy_like = with_labels(set_env(good_app, "ENABLE_SIGNUP", "true"), role="proxy")
    assert run("openwebui-disable-signup", proxy_like) == []
    unlabelled = with_labels(set_env(good_app, "ENABLE_SIGNUP", "true"), role=UNKNOWN_STR)
    assert run("openwebui-disable-signup", unlabelled) == []


def test_signup_config_allows_oauth_and_ldap(good_app):
    props = set_env(set_env(good_app, "ENABLE_OAUTH_SIGNUP", "true"), "ENABLE_LDAP", "true")
    assert len(run("openwebui-disable-signup", props)) == 2
    assert run("openwebui-disable-signup", props, config={"allowOauthSignup": True, "allowLdap": True}) == []


def test_headless_admin_required_unless_configured_off(good_app):
    props = set_env(good_app, "WEBUI_ADMIN_EMAIL", None)
    assert run("openwebui-disable-signup", props)
    assert run("openwebui-disable-signup", props, config={"requireHeadlessAdmin": False}) == []


def test_jwt_bound_applies_per_environment(good_app):
    dev_app = with_labels(set_env(good_app, "JWT_EXPIRES_IN", "-1"), environment="dev")
    assert run("openwebui-bound-jwt-lifetime", dev_app, "dev") == []  # dev.json enforces in prod only
    assert run("openwebui-bound-jwt-lifetime", dev_app, "dev", config={"enforceInEnvironments": ["dev", "prod"]})
    staging_app = with_labels(set_env(good_app, "JWT_EXPIRES_IN", "-1"), environment="staging")
    assert run("openwebui-bound-jwt-lifetime", staging_app, "staging")  # staging.json enforces there too
    unlabelled = with_labels(set_env(good_app, "JWT_EXPIRES_IN", "-1"), environment=None)
    assert run("openwebui-bound-jwt-lifetime", unlabelled, "dev")  # no label: the strict rule


def test_jwt_maximum_from_config(good_app):
    props = set_env(good_app, "JWT_EXPIRES_IN", "2d")
    assert run("openwebui-bound-jwt-lifetime", props) == []
    assert run("openwebui-bound-jwt-lifetime", props, config={"maxExpiresIn": "1d"})


@pytest.mark.parametrize("text,seconds", [("7d", 604800), ("1h30m", 5400), ("500ms", 0.5), ("1w", 604800),
                                          ("-1", None), ("0", None), ("", None), ("7", None), ("7d x", None),
                                          ("1.5h", 5400)])
def test_duration_seconds(text, seconds):
    assert op.duration_seconds(text) == seconds


# --- unknowns: no false violation, known bad still fails ---------------------------------------------


def test_unknown_secret_items_do_not_hide_a_known_bad_value(good_app):
    props = set_env(good_app, "ENABLE_SIGNUP", "true")
    props["envs"] = [UNKNOWN_STR if isinstance(item, dict) else item for item in props["envs"]]
    found = run("openwebui-disable-signup", props)
    assert any("ENABLE_SIGNUP" in message for message in found)
    # WEBUI_ADMIN_PASSWORD may be one of the unknown items: it is not reported missing.
    assert not any("WEBUI_ADMIN_PASSWORD" in message for message in found)


def test_unknown_item_does_not_excuse_a_missing_plain_key(good_app):
    props = set_env(good_app, "ENABLE_SIGNUP", None)
    props["envs"].append(UNKNOWN_STR)
    assert run("openwebui-disable-signup", props)


def test_wholly_unknown_env_is_not_judged(good_app):
    props = copy.deepcopy(good_app)
    props["envs"] = UNKNOWN_LIST
    for name in ("openwebui-disable-signup", "openwebui-require-secure-cookies", "openwebui-require-strong-secrets"):
        assert run(name, props) == []


# --- labels ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("labels", [{"role": None}, {"role": "worker"}, {"environment": "production"},
                                    {"environment": None}, {"image": None}, {"image": ""}])
def test_labels_required(good_app, labels):
    assert run("openwebui-declare-container-labels", with_labels(good_app, **labels))


def test_labels_missing_entirely(good_app):
    props = copy.deepcopy(good_app)
    del props["labels"]
    assert len(run("openwebui-declare-container-labels", props)) == 3


# --- strong secrets ----------------------------------------------------------------------------------

WEAK = [
    ("WEBUI_SECRET_KEY", "t0p-s3cr3t"), ("WEBUI_SECRET_KEY", "x" * 64), ("WEBUI_SECRET_KEY", fake_secret("s", 20)),
    ("WEBUI_SECRET_KEY", "changeme-" + fake_secret("s", 40)), ("REDIS_PASSWORD", "secret"),
    ("OAUTH_SESSION_TOKEN_ENCRYPTION_KEY", "short"), ("WEBUI_ADMIN_PASSWORD", "admin"),
    ("WEBUI_ADMIN_PASSWORD", "Pa55word"), ("DATABASE_URL", "postgresql://u:password@db:5432/x"),
    ("DATABASE_URL", "mysql+pymysql://u@db/x"), ("DATABASE_URL", "postgresql://u:short1@db/x"),
    ("REDIS_URL", "redis://openwebui-redis:6379/0"), ("WEBSOCKET_REDIS_URL", "redis://:changeme@r:6379/0"),
]


@pytest.mark.parametrize("key,value", WEAK)
def test_weak_secrets_rejected_without_echoing_them(good_app, key, value):
    props = set_env(good_app, key, None)
    props["envs"].append(secret(f"{key}={value}"))
    found = run("openwebui-require-strong-secrets", props)
    assert found and all(key in message for message in found)
    # (short values such as "secret" are ordinary words of the message itself)
    assert not any(value in message for message in found if len(value) >= 8)


def test_secret_strength_applies_to_every_role(good_app):
    props = copy.deepcopy(good_app)
    props["envs"] = ["REDIS_PASSWORD=secret"]
    props = with_labels(props, role="redis")
    assert run("openwebui-require-strong-secrets", props)


def test_sqlite_database_url_needs_no_password(good_app):
    assert run("openwebui-require-strong-secrets", set_env(good_app, "DATABASE_URL", "sqlite:////data/webui.db")) == []


def test_url_encoded_password_is_decoded_before_judging(good_app):
    password = "p%40ss%3Aw%2Frd" + fake_secret("x", 20)
    props = set_env(good_app, "DATABASE_URL", f"postgresql://u:{password}@db:5432/x")
    assert run("openwebui-require-strong-secrets", props) == []
    assert run("openwebui-require-strong-secrets", props, config={"minPasswordLength": 60})


def test_unknown_secrets_are_not_judged(good_app):
    props = copy.deepcopy(good_app)
    props["envs"] = [UNKNOWN_STR if isinstance(item, dict) else item for item in props["envs"]]
    assert run("openwebui-require-strong-secrets", props) == []


# --- the remediation: secrets must be Pulumi secrets --------------------------------------------------


def remediate(props: dict[str, Any]) -> Any:
    return op.remediate_mark_secret_envs(resource_args(props, keep_secrets=True))


def test_validation_cannot_tell_secret_from_plain(good_app):
    """Why this is a remediation: Analyze hands validations the same props either way."""
    plain = set_env(good_app, "WEBUI_SECRET_KEY", fake_secret("webui", 64))
    as_secret = set_env(good_app, "WEBUI_SECRET_KEY", None)
    as_secret["envs"].append(secret(f"WEBUI_SECRET_KEY={fake_secret('webui', 64)}"))
    seen = [sorted(resource_args(p).props["envs"]["__target"]) for p in (plain, as_secret)]
    assert seen[0] == seen[1]


def test_remediation_wraps_plain_credentials(good_app):
    props = set_env(good_app, "WEBUI_SECRET_KEY", fake_secret("webui", 64))
    props["envs"].append("MY_SERVICE_API_KEY=" + fake_secret("k", 40))
    new = remediate(props)
    assert new is not None
    wrapped = {item.value.partition("=")[0] for item in new["envs"] if isinstance(item, Secret)}
    assert {"WEBUI_SECRET_KEY", "MY_SERVICE_API_KEY", "DATABASE_URL"} <= wrapped
    assert not any(isinstance(item, Secret) and item.value.startswith("ENABLE_SIGNUP=") for item in new["envs"])
    # What goes back to the engine: the secret envelope, other props untouched.
    wire = serialize_properties(new)
    assert any(isinstance(item, dict) and item.get(sig.KEY) for item in wire["envs"])
    assert wire["user"] == good_app["user"]


def test_remediation_leaves_secret_and_unknown_items_alone(good_app):
    assert remediate(good_app) is None
    props = copy.deepcopy(good_app)
    props["envs"] = [UNKNOWN_STR if isinstance(item, dict) else item for item in props["envs"]]
    assert remediate(props) is None
    whole = copy.deepcopy(good_app)
    whole["envs"] = secret(["WEBUI_SECRET_KEY=" + fake_secret("w", 64)])
    assert remediate(whole) is None


def test_remediation_policy_is_a_remediation_only():
    pol = policy("openwebui-mark-secret-envs-as-secrets")
    assert pol.enforcement_level is EnforcementLevel.REMEDIATE
    assert pol.has_remediation() and not pol.has_validation()


def test_remediation_ignores_other_types():
    assert op.remediate_mark_secret_envs(
        resource_args({"name": "x", "envs": ["WEBUI_SECRET_KEY=a"]}, resource_type="docker:index/network:Network",
                      keep_secrets=True)) is None


def test_make_app_is_good_for_every_environment():
    for environment in ("dev", "staging", "prod"):
        for name in ("openwebui-disable-signup", "openwebui-require-strong-secrets", "openwebui-bound-jwt-lifetime"):
            assert violations(policy(name).validate, make_app(environment),
                              config=pack_config(environment, name)) == [], (environment, name)
